// Thread pool, affinity and system queries for the CPU bench (Linux; other systems fall back to
// unpinned threads and std::thread::hardware_concurrency).
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "bench_internal.h"

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace chronoscale::internal {

std::vector<int> AllowedCpus() {
  std::vector<int> cpus;
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int i = 0; i < CPU_SETSIZE; ++i) {
      if (CPU_ISSET(i, &set)) cpus.push_back(i);
    }
  }
#endif
  if (cpus.empty()) {
    const unsigned n = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i) cpus.push_back(static_cast<int>(i));
  }
  return cpus;
}

void SetCurrentThreadAffinity(const std::vector<int>& cpus) {
#if defined(__linux__)
  if (cpus.empty()) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
#else
  (void)cpus;
#endif
}

bool PinCurrentThread(int cpu) {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
#else
  (void)cpu;
  return false;
#endif
}

ThreadPool::ThreadPool(int num_threads, bool pin) : num_threads_(std::max(1, num_threads)) {
  cpus_ = AllowedCpus();
  // Pin only when there is one CPU per thread; more threads than CPUs run unpinned.
  pinned_ = pin && num_threads_ <= static_cast<int>(cpus_.size());
  if (pinned_) {
    caller_cpus_ = cpus_;
    restore_caller_affinity_ = true;
    pinned_ = PinCurrentThread(cpus_[0]);
  }
  threads_.reserve(num_threads_ - 1);
  for (int i = 1; i < num_threads_; ++i) threads_.emplace_back([this, i] { Worker(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (auto& t : threads_) t.join();
  if (restore_caller_affinity_) SetCurrentThreadAffinity(caller_cpus_);
}

void ThreadPool::Worker(int index) {
  if (pinned_) PinCurrentThread(cpus_[index]);
  uint64_t seen = 0;
  for (;;) {
    generation_.wait(seen);
    const uint64_t now = generation_.load();
    if (now == seen) continue;
    seen = now;
    if (stop_.load()) return;
    (*task_)(index);
    if (pending_.fetch_sub(1) == 1) pending_.notify_one();
  }
}

void ThreadPool::Run(const std::function<void(int)>& fn) {
  task_ = &fn;
  pending_.store(num_threads_ - 1);
  generation_.fetch_add(1);
  generation_.notify_all();
  fn(0);
  for (int p = pending_.load(); p != 0; p = pending_.load()) pending_.wait(p);
}

namespace {

double SysfsSizeBytes(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text.empty()) return 0;
  double scale = 1;
  const char suffix = text.back();
  if (suffix == 'K') scale = 1024;
  if (suffix == 'M') scale = 1024.0 * 1024;
  if (suffix == 'G') scale = 1024.0 * 1024 * 1024;
  if (scale != 1) text.pop_back();
  return std::atof(text.c_str()) * scale;
}

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

SystemInfo QuerySystem() {
  SystemInfo info;
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) == 0) info.hostname = host;
  if (info.hostname.empty()) info.hostname = "unknown-host";
  info.hardware_threads = static_cast<int>(AllowedCpus().size());
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) info.memory_bytes = static_cast<double>(pages) * page;

  // Caches from /sys (level, type, size), then sysconf where /sys says nothing.
  for (int i = 0; i < 8; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    const std::string level = ReadLine(dir + "level");
    if (level.empty()) break;
    const std::string type = ReadLine(dir + "type");
    const double size = SysfsSizeBytes(dir + "size");
    if (level == "1" && type == "Data") info.l1d_bytes = size;
    if (level == "2") info.l2_bytes = size;
    if (level >= "3") info.llc_bytes = std::max(info.llc_bytes, size);
  }
#if defined(_SC_LEVEL1_DCACHE_SIZE)
  if (info.l1d_bytes <= 0) info.l1d_bytes = std::max(0L, sysconf(_SC_LEVEL1_DCACHE_SIZE));
  if (info.l2_bytes <= 0) info.l2_bytes = std::max(0L, sysconf(_SC_LEVEL2_CACHE_SIZE));
  if (info.llc_bytes <= 0) info.llc_bytes = std::max(0L, sysconf(_SC_LEVEL3_CACHE_SIZE));
#endif
  if (info.llc_bytes <= 0) info.llc_bytes = info.l2_bytes;

  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        info.cpu_model = line.substr(colon + 1);
        const auto first = info.cpu_model.find_first_not_of(" \t");
        info.cpu_model = first == std::string::npos ? "" : info.cpu_model.substr(first);
      }
      break;
    }
  }
  if (info.cpu_model.empty()) info.cpu_model = "cpu";
  return info;
}

}  // namespace chronoscale::internal
