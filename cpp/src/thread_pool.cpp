// See thread_pool.hpp. One region at a time; a second caller runs its work alone instead of
// waiting, so concurrent fills from several Python threads never block each other.
#include "thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#ifdef PXI_THREADS
#include <condition_variable>
#include <mutex>
#include <vector>
#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif
#endif

namespace philoxinit {
namespace detail {

namespace {

int env_threads() {
  const char* s = std::getenv("OMP_NUM_THREADS");
  if (!s) return 0;
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);  // "4,2" (nested lists): the first level counts
  return (end != s && v > 0 && v <= 4096) ? int(v) : 0;
}

}  // namespace

bool threads_built() {
#ifdef PXI_THREADS
  return true;
#else
  return false;
#endif
}

int hardware_threads() {
#ifdef PXI_THREADS
  static const int n = [] {
    if (const int e = env_threads()) return e;
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
    return std::max(1, int(std::thread::hardware_concurrency()));
  }();
  return n;
#else
  return 1;
#endif
}

#ifdef PXI_THREADS
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

constexpr int kDefaultSpinUs = 20;  // bench_threads: 20 us as fast as 100 for back-to-back fills; less core held from torch after a fill
std::atomic<int> g_spin_us{kDefaultSpinUs};

// word_: generation << 16 | number of participating threads, read in one load, so a worker
// late for one region never mistakes which region it was asked to; ticket_ then lets it in
// only while that region is still open.
class Pool {
 public:
  void run(int threads, void (*task)(void*, int), void* context) {
    std::unique_lock<std::mutex> region(region_mutex_, std::try_to_lock);
    if (!region.owns_lock()) {
      task(context, 0);
      return;
    }
    threads = std::min(threads, 1 << 15);
    grow(threads - 1);
    task_ = task;
    context_ = context;
    const uint64_t generation = (word_.load(std::memory_order_relaxed) >> 16) + 1;
    ticket_.store((generation & kIdMask) << 32, std::memory_order_relaxed);
    {
      // Under the mutex so that a worker between its last check and its wait cannot miss it.
      std::lock_guard<std::mutex> lock(sleep_mutex_);
      word_.store(generation << 16 | uint64_t(threads), std::memory_order_release);
    }
    if (sleepers_.load(std::memory_order_acquire) > 0) wake_.notify_all();
    task(context, 0);
    // Close the region: a worker that wakes only now (its chunks all taken) stays out, so a
    // sleeping worker's wake-up latency never delays the caller; wait for those inside.
    ticket_.fetch_or(kClosed, std::memory_order_acq_rel);
    for (int spins = 0; (ticket_.load(std::memory_order_acquire) & kActiveMask) != 0; ++spins) {
      if (spins < 4096) cpu_relax();
      else std::this_thread::yield();
    }
  }

  bool awake() const { return sleepers_.load(std::memory_order_relaxed) == 0 && !workers_.empty(); }

 private:
  void grow(int workers) {
    while (int(workers_.size()) < workers) {
      // The generation before this region's: a worker that starts late still joins it.
      const int index = int(workers_.size()) + 1;
      const uint64_t seen = word_.load(std::memory_order_relaxed) >> 16;
      workers_.emplace_back([this, index, seen] { work(index, seen); });
    }
  }

  void work(int index, uint64_t seen) {
    for (;;) {
      uint64_t word = word_.load(std::memory_order_acquire);
      if ((word >> 16) == seen) {
        const auto until = std::chrono::steady_clock::now() +
                           std::chrono::microseconds(g_spin_us.load(std::memory_order_relaxed));
        for (int spins = 0; ((word = word_.load(std::memory_order_acquire)) >> 16) == seen; ++spins) {
          if ((spins & 63) == 0 && std::chrono::steady_clock::now() >= until) {
            std::unique_lock<std::mutex> lock(sleep_mutex_);
            sleepers_.fetch_add(1, std::memory_order_acq_rel);
            wake_.wait(lock, [&] { return (word_.load(std::memory_order_acquire) >> 16) != seen; });
            sleepers_.fetch_sub(1, std::memory_order_acq_rel);
            continue;
          }
          cpu_relax();
        }
      }
      seen = word >> 16;
      if (index < int(word & 0xffff) && join(seen)) {
        task_(context_, index);
        ticket_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }

  // Enters the open region `generation`; false once the caller closed it.
  bool join(uint64_t generation) {
    uint64_t t = ticket_.load(std::memory_order_acquire);
    while ((t >> 32) == (generation & kIdMask))
      if (ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) return true;
    return false;
  }

  // ticket_: the open region's id (31 bits) << 32 | workers inside it; kClosed once closed.
  static constexpr uint64_t kIdMask = (uint64_t(1) << 31) - 1;
  static constexpr uint64_t kClosed = uint64_t(1) << 63;
  static constexpr uint64_t kActiveMask = (uint64_t(1) << 32) - 1;

  std::mutex region_mutex_;
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> word_{0};
  std::atomic<uint64_t> ticket_{kClosed};
  std::atomic<int> sleepers_{0};
  void (*task_)(void*, int) = nullptr;
  void* context_ = nullptr;
  std::vector<std::thread> workers_;
};

// Never destroyed: workers may still be waiting when the process exits. A forked child starts
// a new pool (the parent's workers do not exist there).
std::atomic<Pool*> g_pool{nullptr};
std::mutex g_pool_mutex;

Pool& pool() {
  Pool* p = g_pool.load(std::memory_order_acquire);
  if (p) return *p;
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  p = g_pool.load(std::memory_order_acquire);
  if (!p) {
#if defined(__linux__)
    static const bool registered = [] {
      pthread_atfork(nullptr, nullptr, [] { g_pool.store(nullptr, std::memory_order_release); });
      return true;
    }();
    (void)registered;
#endif
    p = new Pool;
    g_pool.store(p, std::memory_order_release);
  }
  return *p;
}

}  // namespace

void run_parallel(int threads, void (*task)(void*, int), void* context) {
  if (threads <= 1) return task(context, 0);
  pool().run(threads, task, context);
}

bool pool_awake() {
  const Pool* p = g_pool.load(std::memory_order_acquire);
  return p && p->awake();
}

void set_spin_microseconds(int us) { g_spin_us.store(us < 0 ? kDefaultSpinUs : us); }
int spin_microseconds() { return g_spin_us.load(std::memory_order_relaxed); }

#else  // no threads in this build

void run_parallel(int, void (*task)(void*, int), void* context) { task(context, 0); }
bool pool_awake() { return false; }
void set_spin_microseconds(int) {}
int spin_microseconds() { return 0; }

#endif

}  // namespace detail
}  // namespace philoxinit
