// Throughput of the core's fills per ISA and thread count, without Python in the way:
//   bench_core [elements] [repeats] [isa,isa,...]
// Prints G values/s for raw words, uniform, normal and trunc_normal float32 (and a plain
// std::fill of the same buffer) for each ISA this CPU runs. A small buffer (default 2^16,
// L2-resident) measures the kernels' compute rate; 2^26 and up measures what reaches DRAM.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "philoxinit/core.hpp"

using namespace philoxinit;

static double best_seconds(int repeats, const std::function<void()>& f) {
  f();
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 0) : (uint64_t(1) << 16);
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  const std::string only = argc > 3 ? std::string(",") + argv[3] + "," : std::string();
  // small buffers: repeat the fill enough times that each timing is ~10 ms or more
  const int inner = int(std::max<uint64_t>(1, (uint64_t(1) << 24) / n));
  std::vector<float> buf(n);
  std::vector<uint32_t> raw(n);
  std::vector<uint16_t> half(n);
  const StreamPos pos{42, 7, 0};
  std::printf("n=%llu inner=%d %s\n", (unsigned long long)n, inner, build_info().c_str());
  const int thread_counts[] = {1, default_threads()};
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512}) {
    if (!only.empty() && only.find(std::string(",") + isa_name(isa) + ",") == std::string::npos) continue;
    try {
      set_isa(isa);
    } catch (const InvalidArgument&) {
      continue;
    }
    for (int threads : thread_counts) {
      const FillOptions opt{threads, nullptr};
      auto rate = [&](const std::function<void()>& f) {
        return double(n) * inner / best_seconds(repeats, [&] { for (int i = 0; i < inner; ++i) f(); }) / 1e9;
      };
      const double fill = rate([&] { fill_constant(buf.data(), DType::f32, n, 1.0, opt); });
      const double words = rate([&] { random_raw(raw.data(), n, pos, opt); });
      const double uni = rate([&] { fill_uniform(buf.data(), DType::f32, n, -1.0, 1.0, pos, opt); });
      const double nor = rate([&] { fill_normal(buf.data(), DType::f32, n, 0.0, 1.0, pos, opt); });
      const double tru = rate([&] { fill_trunc_normal(buf.data(), DType::f32, n, 0.0, 1.0, -2.0, 2.0, pos, opt); });
      const double uni_bf16 = rate([&] { fill_uniform(half.data(), DType::bf16, n, -1.0, 1.0, pos, opt); });
      const double nor_bf16 = rate([&] { fill_normal(half.data(), DType::bf16, n, 0.0, 1.0, pos, opt); });
      const double nor_f16 = rate([&] { fill_normal(half.data(), DType::f16, n, 0.0, 1.0, pos, opt); });
      std::printf("%-7s threads=%d  fill %.3f  words %.3f  uniform %.3f  normal %.3f  trunc %.3f  "
                  "uniform-bf16 %.3f  normal-bf16 %.3f  normal-f16 %.3f G/s\n",
                  isa_name(isa), threads, fill, words, uni, nor, tru, uni_bf16, nor_bf16, nor_f16);
    }
  }
  return 0;
}
