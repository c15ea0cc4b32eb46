// The fill threads: one process-wide pool of std::threads that spin briefly after a parallel
// region and then sleep, so they do not take cores from another runtime (torch's OpenMP pool)
// between fills. The calling thread is worker 0 of every region.
#pragma once
#include <cstdint>

namespace philoxinit {
namespace detail {

// Runs task(context, worker) for worker = 0 .. threads-1 (worker 0 on the calling thread) and
// returns when every call has returned. Falls back to one call on the calling thread when
// threads <= 1, when the build has no threads, or while another thread's region holds the pool
// (callers split their work dynamically, so the result never depends on how many ran).
void run_parallel(int threads, void (*task)(void* context, int worker), void* context);

// True when a region now would find its workers awake (spinning) rather than asleep.
bool pool_awake();

// How long (microseconds) workers keep spinning after a region before they sleep; <0 restores
// the default. For benchmarks of the wait policy (cpp/bench/bench_threads.cpp).
void set_spin_microseconds(int us);
int spin_microseconds();

// The threads a fill uses by default: OMP_NUM_THREADS if set, else the CPUs this process may
// run on; 1 in a build without threads.
int hardware_threads();
bool threads_built();

}  // namespace detail
}  // namespace philoxinit
