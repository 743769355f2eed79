# chronoscale_simd_sources(AVX2 <files> AVX512 <files> [OTHER <files>]): the per-file flags of the
# objects built once per SIMD level and dispatched at run time (the targets themselves stay
# baseline x86-64). Every listed file is optimised with -O3 in every build type; the AVX2 files
# get -mavx2 -mfma, the AVX-512 files the AVX-512 subsets the dispatchers test for.
function(chronoscale_simd_sources)
  cmake_parse_arguments(ARG "" "" "AVX2;AVX512;OTHER;EXTRA" ${ARGN})
  set(options -O3 ${ARG_EXTRA})
  set_source_files_properties(${ARG_OTHER} ${ARG_AVX2} ${ARG_AVX512}
    PROPERTIES COMPILE_OPTIONS "${options}")
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
    set_property(SOURCE ${ARG_AVX2} APPEND PROPERTY COMPILE_OPTIONS -mavx2 -mfma)
    set_property(SOURCE ${ARG_AVX512} APPEND PROPERTY COMPILE_OPTIONS
      -mavx512f -mavx512vl -mavx512dq -mavx512bw -mavx2 -mfma -mprefer-vector-width=512
      # GCC 12's avx512fintrin.h trips these on Eigen's packet code (_mm512_undefined_*).
      $<$<CXX_COMPILER_ID:GNU>:-Wno-uninitialized$<SEMICOLON>-Wno-maybe-uninitialized>)
  endif()
endfunction()
