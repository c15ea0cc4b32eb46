// The pool's wait policy: small and medium fills called back to back (as a Python loop over a
// model's tensors calls them) and with idle gaps between calls, for several spin times:
//   bench_threads [rounds, default 5]
// G values/s, best of rounds, uniform float32, default threads. Spin 0 = workers sleep at once.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "philoxinit/core.hpp"
#include "thread_pool.hpp"

using namespace philoxinit;

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  const StreamPos pos{1, 2, 0};
  std::vector<float> buf(uint64_t(1) << 20);
  std::printf("threads=%d; columns: elements per fill / idle gap between fills\n", default_threads());
  const uint64_t sizes[] = {uint64_t(1) << 12, uint64_t(1) << 14, uint64_t(1) << 16, uint64_t(1) << 20};
  const int gaps_us[] = {0, 100};
  std::printf("%-10s", "spin_us");
  for (uint64_t n : sizes)
    for (int gap : gaps_us) std::printf(" %8llu/%-4d", (unsigned long long)n, gap);
  std::printf("\n");
  for (int spin : {0, 20, 50, 200, 1000}) {
    detail::set_spin_microseconds(spin);
    std::printf("%-10d", spin);
    for (uint64_t n : sizes) {
      for (int gap : gaps_us) {
        const int calls = int(std::max<uint64_t>(20, (uint64_t(1) << 24) / n / (gap ? 16 : 1)));
        double best = 0;
        for (int r = 0; r < rounds; ++r) {
          double busy = 0;
          for (int c = 0; c < calls; ++c) {
            if (gap) {
              const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(gap);
              while (std::chrono::steady_clock::now() < until) std::this_thread::yield();
            }
            const auto t0 = std::chrono::steady_clock::now();
            fill_uniform(buf.data(), DType::f32, n, -1, 1, pos);
            busy += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          }
          best = std::max(best, double(n) * calls / busy / 1e9);
        }
        std::printf(" %13.3f", best);
      }
    }
    std::printf("\n");
  }
  detail::set_spin_microseconds(-1);
  // Single thread for reference.
  std::printf("%-10s", "1 thread");
  for (uint64_t n : sizes) {
    const int calls = int(std::max<uint64_t>(20, (uint64_t(1) << 24) / n));
    double best = 0;
    for (int r = 0; r < rounds; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int c = 0; c < calls; ++c) fill_uniform(buf.data(), DType::f32, n, -1, 1, pos, FillOptions{1, nullptr});
      best = std::max(best, double(n) * calls / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 1e9);
    }
    std::printf(" %13.3f %13s", best, "");
  }
  std::printf("\n");
  return 0;
}
