// Splitting a loop over threads: the helper the attention kernels, the fits and the planner use.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace chronoscale {

// `requested` threads, or one per hardware thread when `requested` <= 0.
inline int ThreadCount(int requested) {
  if (requested > 0) return requested;
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

// fn(begin, end, thread_index) over [0, n) split into up to `threads` contiguous ranges; the
// calling thread takes the first range. Inline when threads <= 1. The first exception a range
// throws is rethrown here after every thread has joined.
template <typename Fn>
void ParallelFor(int64_t n, int threads, Fn&& fn) {
  if (n <= 0) return;
  const int64_t t = std::max<int64_t>(1, std::min<int64_t>(threads, n));
  if (t == 1) {
    fn(int64_t{0}, n, 0);
    return;
  }
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(t));
  auto run = [&](int64_t i) {
    try {
      fn(i * n / t, (i + 1) * n / t, static_cast<int>(i));
    } catch (...) {
      errors[static_cast<std::size_t>(i)] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(t - 1));
  for (int64_t i = 1; i < t; ++i) pool.emplace_back(run, i);
  run(0);
  for (auto& th : pool) th.join();
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

// fn(block) for every block in [0, blocks), handed out to up to `threads` threads one block at a
// time (dynamic: uneven blocks balance). What a block writes must be its own; the caller merges
// the blocks in order afterwards, so the result does not depend on the thread count or timing.
template <typename Fn>
void ParallelBlocks(int64_t blocks, int threads, Fn&& fn) {
  std::atomic<int64_t> next{0};
  ParallelFor(std::min<int64_t>(blocks, threads), threads, [&](int64_t, int64_t, int) {
    for (int64_t b = next++; b < blocks; b = next++) fn(b);
  });
}

}  // namespace chronoscale
