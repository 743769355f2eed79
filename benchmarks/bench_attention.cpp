// FAVOR+ against exact attention (naive softmax and blocked flash) over the sequence length, to
// find the crossover length beyond which random features are faster on this machine. fp32, one
// batch, 1 head, head dim 64, m 256, non-causal (and causal variants), every hardware thread.
//
//   build/benchmarks/bench_attention --benchmark_min_time=0.2
//
// The crossover is the first L where BM_Attention/favor/L is faster than flash/L (and
// softmax/L); docs/attention.md records the measured value.
#include <benchmark/benchmark.h>

#include <chronoscale/attention.h>

namespace {

using namespace chronoscale;

void RunKernel(benchmark::State& state, AttentionKernel kernel, bool causal) {
  const int64_t seq = state.range(0);
  SyntheticOptions so;
  so.seq = seq;
  so.dim = 64;
  so.tau = 0.125;
  HeadTensor<float> q, k, v, out;
  MakeSyntheticInputs(so, &q, &k, &v);
  AttentionOptions o;
  o.kernel = kernel;
  o.causal = causal;
  o.features = 256;
  RandomFeatureMap map;
  const RandomFeatureMap* map_ptr = nullptr;
  if (IsRandomFeature(kernel)) {
    map = DrawRandomFeatures(o, so.dim, 1, ScaledSecondMoment(q, k));
    map_ptr = &map;
  }
  Attention(o, q, k, v, &out, map_ptr);
  for (auto _ : state) {
    Attention(o, q, k, v, &out, map_ptr);
    benchmark::DoNotOptimize(out.data[0].data());
    benchmark::ClobberMemory();
  }
  state.counters["L"] = static_cast<double>(seq);
}

void Lengths(benchmark::internal::Benchmark* b) {
  for (int64_t l = 256; l <= 8192; l *= 2) b->Arg(l);
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}
void ShortLengths(benchmark::internal::Benchmark* b) {
  for (int64_t l = 256; l <= 4096; l *= 2) b->Arg(l);
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

void BM_Favor(benchmark::State& s) { RunKernel(s, AttentionKernel::kFavor, false); }
void BM_FavorOrth(benchmark::State& s) { RunKernel(s, AttentionKernel::kFavorOrth, false); }
void BM_Flash(benchmark::State& s) { RunKernel(s, AttentionKernel::kFlash, false); }
void BM_Softmax(benchmark::State& s) { RunKernel(s, AttentionKernel::kSoftmax, false); }
void BM_FavorCausal(benchmark::State& s) { RunKernel(s, AttentionKernel::kFavor, true); }
void BM_FlashCausal(benchmark::State& s) { RunKernel(s, AttentionKernel::kFlash, true); }

BENCHMARK(BM_Favor)->Apply(Lengths);
BENCHMARK(BM_FavorOrth)->Apply(ShortLengths);
BENCHMARK(BM_Flash)->Apply(Lengths);
BENCHMARK(BM_Softmax)->Apply(ShortLengths);
BENCHMARK(BM_FavorCausal)->Apply(Lengths);
BENCHMARK(BM_FlashCausal)->Apply(Lengths);

}  // namespace

BENCHMARK_MAIN();
