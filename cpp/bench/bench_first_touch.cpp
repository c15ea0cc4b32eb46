// Fresh memory: what a fill into a buffer nobody has written yet costs under each first-touch
// policy (cpp/src/first_touch.hpp), against the floors:
//   bench_first_touch [float32 elements, default 2^27] [rounds, default 5]
// Every round allocates a new buffer with malloc (large: its own mmap, as torch's and NumPy's
// allocators get), fills it uniform float32 on the default threads, frees it. The modes run
// interleaved round by round; medians and bests in G values/s.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "first_touch.hpp"
#include "philoxinit/core.hpp"

using namespace philoxinit;

static double seconds(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// What torch's zero_() does on fresh memory: a plain parallel memset.
static void parallel_memset(float* p, uint64_t n, int threads) {
  std::vector<std::thread> pool;
  const uint64_t per = (n + threads - 1) / threads;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back([=] { std::memset(p + t * per, 0, sizeof(float) * (std::min(n, (t + 1) * per) - std::min(n, t * per))); });
  std::memset(p, 0, sizeof(float) * std::min(n, per));
  for (auto& th : pool) th.join();
}

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 0) : (uint64_t(1) << 27);
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  const int threads = default_threads();
  const StreamPos pos{1, 2, 0};
  struct Mode {
    std::string name;
    std::function<void(float*)> run;
    bool fresh;
    std::vector<double> rates;
  };
  using detail::FirstTouch;
  auto fill_with = [&](FirstTouch mode) {
    return [&, mode](float* p) {
      detail::set_first_touch(mode);
      fill_uniform(p, DType::f32, n, -1, 1, pos);
    };
  };
  std::vector<Mode> modes = {
      {"memset, fresh (torch zero_ floor)", [&](float* p) { parallel_memset(p, n, threads); }, true, {}},
      {"fill, fresh, off", fill_with(FirstTouch::off), true, {}},
      {"fill, fresh, hugepage", fill_with(FirstTouch::hugepage), true, {}},
      {"fill, fresh, populate", fill_with(FirstTouch::populate), true, {}},
      {"fill, fresh, hugepage+populate", fill_with(FirstTouch::hugepage_populate), true, {}},
      {"fill, pre-touched", fill_with(FirstTouch::off), false, {}},
  };
  std::printf("n=%llu (%.0f MiB) threads=%d\n", (unsigned long long)n, n * 4.0 / (1 << 20), threads);
  for (int r = 0; r < rounds; ++r) {
    for (Mode& m : modes) {
      float* p = static_cast<float*>(std::malloc(n * sizeof(float)));
      if (!p) return 1;
      if (!m.fresh) parallel_memset(p, n, threads);
      m.rates.push_back(double(n) / seconds([&] { m.run(p); }) / 1e9);
      std::free(p);
    }
  }
  for (Mode& m : modes) {
    std::sort(m.rates.begin(), m.rates.end());
    std::printf("%-36s median %6.3f  best %6.3f G values/s (%5.1f GB/s best)\n", m.name.c_str(),
                m.rates[m.rates.size() / 2], m.rates.back(), m.rates.back() * 4);
  }
  return 0;
}
