// The C++ core's own tests: Random123 known answers, and every ISA against the scalar path
// (bit for bit) at odd starts, odd lengths and counter wraps. Built with
// -DPHILOXINIT_BUILD_TESTS=ON; .ci/run builds it with ASan/UBSan.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "philoxinit/core.hpp"
#include "philoxinit/philox.hpp"
#include "../src/kernels.hpp"

using namespace philoxinit;

static int failures = 0;
static int checks = 0;
#define CHECK(cond, ...)                                  \
  do {                                                    \
    ++checks;                                             \
    if (!(cond)) {                                        \
      ++failures;                                         \
      std::printf("FAIL %s:%d: ", __FILE__, __LINE__);    \
      std::printf(__VA_ARGS__);                           \
      std::printf("\n");                                  \
    }                                                     \
  } while (0)

static void test_kat() {
  std::ifstream in(PXI_KAT_FILE);
  CHECK(bool(in), "cannot open %s", PXI_KAT_FILE);
  std::string line;
  int cases = 0;
  while (std::getline(in, line)) {
    if (line.rfind("philox4x32", 0) != 0) continue;
    std::istringstream s(line);
    std::string name;
    int rounds;
    uint32_t v[10];
    s >> name >> rounds;
    for (auto& x : v) s >> std::hex >> x;
    const Block4x32 b = philox4x32(v, v[4], v[5], rounds);
    for (int j = 0; j < 4; ++j) CHECK(b.v[j] == v[6 + j], "KAT %s word %d", line.c_str(), j);
    ++cases;
  }
  CHECK(cases >= 6, "only %d KAT lines", cases);
}

static std::vector<unsigned char> fill_bytes(int which, DType dtype, uint64_t n, uint64_t offset,
                                             int threads) {
  const size_t esize = dtype == DType::f64 ? 8 : dtype == DType::f32 ? 4 : 2;
  std::vector<unsigned char> buf(n * esize + 16, 0xAB);
  const StreamPos pos{0x123456789abcdef0ull, 0xfedcba9876543210ull, offset};
  const FillOptions opt{threads, nullptr};
  switch (which) {
    case 0: fill_uniform(buf.data(), dtype, n, -0.3, 1.7, pos, opt); break;
    case 1: fill_normal(buf.data(), dtype, n, 0.25, 1.5, pos, opt); break;
    case 2: fill_trunc_normal(buf.data(), dtype, n, 0.0, 1.0, -2.0, 2.0, pos, opt); break;
    case 3: fill_trunc_normal(buf.data(), dtype, n, 1.0, 2.0, 7.0, 17.0, pos, opt); break;
    case 4: fill_trunc_normal(buf.data(), dtype, n, 0.0, 1.0, -INFINITY, -9.0, pos, opt); break;
    case 5: fill_uniform(buf.data(), dtype, n, -3e38, 3.1e38, pos, opt); break;  // float32(high - low) = inf
  }
  for (size_t i = n * esize; i < buf.size(); ++i) CHECK(buf[i] == 0xAB, "wrote past the end");
  return buf;
}

static void test_isas_agree() {
  const Isa isas[] = {Isa::avx2, Isa::avx512};
  const uint64_t offsets[] = {0, 1, 3, 5, 4ull * 0xffffffffull - 7, (uint64_t(1) << 61) + 3};
  const uint64_t sizes[] = {1, 7, 33, 1000, 4099, 70001};
  const DType dtypes[] = {DType::f32, DType::f64, DType::f16, DType::bf16};
  for (Isa isa : isas) {
    try {
      set_isa(isa);
    } catch (const InvalidArgument&) {
      std::printf("skip: %s not available here\n", isa_name(isa));
      continue;
    }
    for (uint64_t off : offsets)
      for (uint64_t n : sizes) {
        std::vector<uint32_t> a(n), b(n);
        set_isa(isa);
        random_raw(a.data(), n, StreamPos{7, 9, off});
        set_isa(Isa::scalar);
        random_raw(b.data(), n, StreamPos{7, 9, off});
        CHECK(a == b, "%s raw words differ at offset %llu n %llu", isa_name(isa),
              (unsigned long long)off, (unsigned long long)n);
        for (int which = 0; which < 6; ++which)
          for (DType dt : dtypes) {
            set_isa(isa);
            const auto x = fill_bytes(which, dt, n, off, 2);
            set_isa(Isa::scalar);
            const auto y = fill_bytes(which, dt, n, off, 1);
            CHECK(x == y, "%s dist %d dtype %d offset %llu n %llu differs from scalar",
                  isa_name(isa), which, int(dt), (unsigned long long)off, (unsigned long long)n);
          }
      }
  }
  set_isa(best_isa());
}

// A fill of 16 MiB or more writes with non-temporal stores (fill.cpp: kStreamBytes); it must
// equal the same elements written by smaller, plain-store fills, for any alignment of the
// buffer.
static void test_streaming_fill_equals_plain_fills() {
  const DType dtypes[] = {DType::f32, DType::bf16, DType::f16};
  for (Isa isa : {Isa::avx2, Isa::avx512}) {
  try {
    set_isa(isa);
  } catch (const InvalidArgument&) {
    continue;
  }
  for (DType dt : dtypes) {
    const size_t esize = dt == DType::f32 ? 4 : 2;
    const uint64_t n = (uint64_t(16) << 20) / esize + 1001, piece = uint64_t(1) << 20;
    for (size_t shift : {size_t(0), size_t(1), size_t(7)}) {
      std::vector<unsigned char> big((n + 64) * esize, 0xAB), small((n + 64) * esize, 0xCD);
      for (int which = 0; which < 3; ++which) {
        const StreamPos pos{11, 12, 5};
        void* a = big.data() + shift * esize;
        if (which == 0) fill_uniform(a, dt, n, -2.0, 0.5, pos, FillOptions{2, nullptr});
        if (which == 1) fill_normal(a, dt, n, 0.0, 0.02, pos, FillOptions{2, nullptr});
        if (which == 2) fill_trunc_normal(a, dt, n, 0.0, 1.0, -2.0, 2.0, pos, FillOptions{2, nullptr});
        for (uint64_t s0 = 0; s0 < n; s0 += piece) {
          const uint64_t m = std::min(piece, n - s0);
          void* b = small.data() + (shift + s0) * esize;
          const StreamPos at{11, 12, 5 + s0};
          if (which == 0) fill_uniform(b, dt, m, -2.0, 0.5, at);
          if (which == 1) fill_normal(b, dt, m, 0.0, 0.02, at);
          if (which == 2) fill_trunc_normal(b, dt, m, 0.0, 1.0, -2.0, 2.0, at);
        }
        CHECK(std::memcmp(big.data() + shift * esize, small.data() + shift * esize, n * esize) == 0,
              "%s streaming fill differs from plain fills: dtype %d dist %d shift %zu",
              isa_name(isa), int(dt), which, shift);
        CHECK(big[0] == 0xAB || shift == 0, "wrote before the buffer");
        CHECK(big[(n + shift) * esize] == 0xAB, "wrote past the buffer");
      }
    }
  }
  }
  set_isa(best_isa());
}

// Both AVX-512 kernel tables (plain, and with AVX512_BF16 bfloat16 stores; fill.cpp uses the
// second where the CPU has it) against the scalar table on bfloat16 output, including values
// that are float32 subnormals, which VCVTNEPS2BF16 would read as zero.
static void test_avx512_tables_bf16() {
#if defined(PXI_HAVE_AVX512) && (defined(__x86_64__) || defined(__i386__))
  using namespace philoxinit::detail;
  if (best_isa() != Isa::avx512) {
    std::printf("skip: AVX-512 tables (no AVX-512 on this CPU)\n");
    return;
  }
  std::vector<const KernelTable*> tables{kernels_avx512()};
#ifdef PXI_HAVE_AVX512BF16
  if (__builtin_cpu_supports("avx512bf16")) tables.push_back(kernels_avx512bf16());
#endif
  const size_t n = 4099;
  std::vector<uint32_t> words(n);
  random_raw(words.data(), n, StreamPos{21, 22, 3});
  const double stds[] = {1.0, 1e-37, 1e-39, 1e-44};
  for (const KernelTable* t : tables)
    for (double sd : stds) {
        std::vector<uint16_t> a(n, 0xABCD), b(n, 0xABCD), c(n, 0xABCD), d(n, 0xABCD);
        const NormalParams np = make_normal_params(DType::bf16, 0.0, sd);
        t->normal32(words.data(), a.data(), n, DType::bf16, false, np);
        kernels_scalar().normal32(words.data(), b.data(), n, DType::bf16, false, np);
        CHECK(a == b, "AVX-512 table %zu: bf16 normal std %g differs from scalar",
              size_t(t == kernels_avx512() ? 0 : 1), sd);
        const UniformParams up = make_uniform_params(DType::bf16, -sd * 3, sd * 2);
        t->uniform32(words.data(), c.data(), n, DType::bf16, false, up);
        kernels_scalar().uniform32(words.data(), d.data(), n, DType::bf16, false, up);
        CHECK(c == d, "AVX-512 table: bf16 uniform scale %g differs from scalar", sd);
      }
#endif
}

static void test_bad_arguments_leave_buffer() {
  std::vector<float> buf(100, 42.0f);
  bool threw = false;
  try {
    fill_trunc_normal(buf.data(), DType::f32, buf.size(), 0, 1, 2, 1, StreamPos{});
  } catch (const InvalidArgument&) {
    threw = true;
  }
  CHECK(threw, "a > b accepted");
  for (float v : buf) CHECK(v == 42.0f, "buffer changed by a refused call");
}

// A column block of a 2-D tensor filled through runs equals that block of the full fill.
static void test_runs_equal_slices_of_the_full_fill() {
  const uint64_t rows = 37, cols = 301, r0 = 5, r1 = 30, c0 = 17, c1 = 250;
  const StreamPos whole{3, 4, 11};
  std::vector<float> full(rows * cols);
  fill_normal(full.data(), DType::f32, full.size(), 0, 1, whole);
  std::vector<uint64_t> starts;
  for (uint64_t r = r0; r < r1; ++r) starts.push_back(r * cols + c0);
  StreamPos shard = whole;
  shard.run_starts = starts.data();
  shard.run_count = starts.size();
  shard.run_length = c1 - c0;
  std::vector<float> part(starts.size() * (c1 - c0));
  fill_normal(part.data(), DType::f32, part.size(), 0, 1, shard, FillOptions{2, nullptr});
  bool same = true;
  for (uint64_t r = r0; r < r1; ++r)
    for (uint64_t c = c0; c < c1; ++c)
      same = same && part[(r - r0) * (c1 - c0) + (c - c0)] == full[r * cols + c];
  CHECK(same, "shard through runs differs from the full fill");
  std::vector<uint32_t> raw(part.size());
  random_raw(raw.data(), raw.size(), shard);
  std::vector<uint32_t> raw_full(rows * cols);
  random_raw(raw_full.data(), raw_full.size(), whole);
  CHECK(raw[0] == raw_full[r0 * cols + c0] && raw.back() == raw_full[(r1 - 1) * cols + c1 - 1],
        "raw words through runs");
}

int main() {
  std::printf("philoxinit core tests; best ISA %s; %s\n", isa_name(best_isa()), build_info().c_str());
  test_kat();
  test_isas_agree();
  test_streaming_fill_equals_plain_fills();
  test_avx512_tables_bf16();
  test_bad_arguments_leave_buffer();
  test_runs_equal_slices_of_the_full_fill();
  std::printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
