// The fill driver: the one dispatch point (which ISA's kernels run), the threading over
// block-aligned chunks, and the public functions of core.hpp.
#include <algorithm>
#include <cstdint>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "kernels.hpp"
#include "simd_scalar.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace philoxinit {
namespace detail {
namespace {

// A chunk is the unit of work a thread takes and the interval at which the calling thread
// polls for interrupts; a piece is what one gen_words + transform pass handles, sized so the
// words stay in L1.
constexpr uint64_t kChunk = uint64_t(1) << 16;
constexpr size_t kPiece = 1024;
constexpr uint64_t kStreamBytes = uint64_t(16) << 20;

bool cpu_has_avx2() {
#if defined(PXI_HAVE_AVX2) && (defined(__x86_64__) || defined(__i386__))
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

bool cpu_has_avx512() {
#if defined(PXI_HAVE_AVX512) && (defined(__x86_64__) || defined(__i386__))
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         cpu_has_avx2();
#else
  return false;
#endif
}

bool cpu_has_avx512bf16() {
#if defined(PXI_HAVE_AVX512BF16) && (defined(__x86_64__) || defined(__i386__))
  return cpu_has_avx512() && __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

const KernelTable* table_for(Isa isa) {
  switch (isa) {
    case Isa::avx512:
#ifdef PXI_HAVE_AVX512BF16
      if (cpu_has_avx512bf16()) return kernels_avx512bf16();
#endif
#ifdef PXI_HAVE_AVX512
      return cpu_has_avx512() ? kernels_avx512() : nullptr;
#else
      return nullptr;
#endif
    case Isa::avx2:
#ifdef PXI_HAVE_AVX2
      return cpu_has_avx2() ? kernels_avx2() : nullptr;
#else
      return nullptr;
#endif
    case Isa::scalar:
      return &kernels_scalar();
  }
  return nullptr;
}

Isa detect_best() {
  if (table_for(Isa::avx512)) return Isa::avx512;
  if (table_for(Isa::avx2)) return Isa::avx2;
  return Isa::scalar;
}

std::atomic<const KernelTable*> g_kernels{nullptr};
std::atomic<int> g_threads{0};

// The single dispatch point: every fill reads the kernel table here.
const KernelTable& kernels() {
  const KernelTable* k = g_kernels.load(std::memory_order_acquire);
  if (!k) {
    k = table_for(detect_best());
    g_kernels.store(k, std::memory_order_release);
  }
  return *k;
}

int hardware_threads() {
#ifdef _OPENMP
  return std::max(1, omp_get_max_threads());
#else
  return 1;
#endif
}

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  const int t = g_threads.load();
  return t > 0 ? t : hardware_threads();
}

// Polls the interrupt callback from the calling thread at most every 20 ms: the callback may
// need the GIL, and a fill must not fight other Python threads for it chunk by chunk. A fill
// shorter than 20 ms never polls.
class InterruptPoller {
 public:
  explicit InterruptPoller(const Interrupt* interrupt)
      : interrupt_(interrupt && interrupt->poll ? interrupt : nullptr),
        next_(std::chrono::steady_clock::now() + kInterval) {}
  bool operator()() {
    if (!interrupt_) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_) return false;
    next_ = now + kInterval;
    return interrupt_->poll(interrupt_->context);
  }

 private:
  static constexpr std::chrono::milliseconds kInterval{20};
  const Interrupt* interrupt_;
  std::chrono::steady_clock::time_point next_;
};

// Runs body(begin, end) over [0, n) in chunks. Small fills stay on the calling thread; the
// result never depends on how chunks are spread over threads, because every element is a
// function of its own index.
template <class Body>
Status for_each_chunk(uint64_t n, const FillOptions& opt, Body&& body) {
  const uint64_t chunks = (n + kChunk - 1) / kChunk;
  const int threads = int(std::min<uint64_t>(uint64_t(resolve_threads(opt.threads)), chunks));
  InterruptPoller interrupted(opt.interrupt);
  if (threads <= 1) {
    for (uint64_t c = 0; c < chunks; ++c) {
      if (interrupted()) return Status::interrupted;
      body(c * kChunk, std::min(n, (c + 1) * kChunk));
    }
    return Status::ok;
  }
#ifdef _OPENMP
  std::atomic<uint64_t> next{0};
  std::atomic<bool> stop{false};
#pragma omp parallel num_threads(threads)
  {
    const bool caller = omp_get_thread_num() == 0;
    for (;;) {
      if (caller && interrupted()) stop.store(true, std::memory_order_relaxed);
      if (stop.load(std::memory_order_relaxed)) break;
      const uint64_t c = next.fetch_add(1, std::memory_order_relaxed);
      if (c >= chunks) break;
      body(c * kChunk, std::min(n, (c + 1) * kChunk));
    }
  }
  return stop.load() ? Status::interrupted : Status::ok;
#else
  return for_each_chunk(n, FillOptions{1, opt.interrupt}, body);
#endif
}

size_t element_size(DType dtype) {
  switch (dtype) {
    case DType::f64:
      return 8;
    case DType::f32:
      return 4;
    case DType::f16:
    case DType::bf16:
      return 2;
  }
  return 0;
}

void check_range(uint64_t n, const StreamPos& pos) {
  if (pos.run_starts) {
    if (pos.run_length == 0 || pos.run_count > UINT64_MAX / pos.run_length ||
        pos.run_count * pos.run_length != n)
      throw InvalidArgument("the runs do not cover the buffer");
    for (uint64_t r = 0; r < pos.run_count; ++r) {
      const uint64_t start = pos.run_starts[r];
      if (start > kMaxElementIndex || pos.offset > kMaxElementIndex - start ||
          pos.run_length > kMaxElementIndex - start - pos.offset)
        throw InvalidArgument("offset + global index must be <= 2**62");
    }
    return;
  }
  if (pos.offset > kMaxElementIndex || n > kMaxElementIndex - pos.offset)
    throw InvalidArgument("offset + size must be <= 2**62");
}

// Calls segment(local, global, count) for the pieces of [begin, end) that are contiguous in
// the stream: one for a plain fill, one per run (or part of a run) for a shard.
template <class Segment>
void for_each_segment(uint64_t begin, uint64_t end, const StreamPos& pos, Segment&& segment) {
  if (!pos.run_starts) {
    segment(begin, pos.offset + begin, end - begin);
    return;
  }
  for (uint64_t p = begin; p < end;) {
    const uint64_t r = p / pos.run_length, within = p - r * pos.run_length;
    const uint64_t count = std::min(end - p, pos.run_length - within);
    segment(p, pos.offset + pos.run_starts[r] + within, count);
    p += count;
  }
}

// Runs transform32 / transform64 over the fill, piece by piece. A 32-bit-family fill of
// kStreamBytes or more (beyond what the caches keep) writes with non-temporal stores: its pieces
// are cut so that all but a segment's first start on a 64-byte line. Smaller fills use plain
// stores and stay cached for whoever reads them next.
template <class Transform32, class Transform64>
Status fill_with(void* out, DType dtype, uint64_t n, const StreamPos& pos,
                 const FillOptions& opt, Transform32&& t32, Transform64&& t64) {
  check_range(n, pos);
  const KernelTable& k = kernels();
  char* base = static_cast<char*>(out);
  const size_t esize = element_size(dtype);
  const bool streaming = dtype != DType::f64 && n * esize >= kStreamBytes &&
                         reinterpret_cast<uintptr_t>(base) % esize == 0;
  return for_each_chunk(n, opt, [&](uint64_t begin, uint64_t end) {
    alignas(64) uint32_t words[2 * kPiece];
    for_each_segment(begin, end, pos, [&](uint64_t local, uint64_t global, uint64_t count) {
      for (uint64_t i = 0; i < count;) {
        char* dst = base + (local + i) * esize;
        const size_t misalign = streaming ? (reinterpret_cast<uintptr_t>(dst) & 63) / esize : 0;
        const size_t m = size_t(std::min<uint64_t>(kPiece - misalign, count - i));
        if (dtype == DType::f64) {
          k.gen_words(words, 2 * (global + i), 2 * m, pos.seed, pos.stream);
          t64(words, reinterpret_cast<double*>(dst), m);
        } else {
          k.gen_words(words, global + i, m, pos.seed, pos.stream);
          t32(k, words, dst, m, streaming && misalign == 0);
        }
        i += m;
      }
    });
    if (streaming) k.stream_fence();
  });
}

}  // namespace
}  // namespace detail

using namespace detail;

Status random_raw(uint32_t* out, uint64_t n, const StreamPos& pos, const FillOptions& opt) {
  check_range(n, pos);
  const KernelTable& k = kernels();
  return for_each_chunk(n, opt, [&](uint64_t begin, uint64_t end) {
    for_each_segment(begin, end, pos, [&](uint64_t local, uint64_t global, uint64_t count) {
      k.gen_words(out + local, global, size_t(count), pos.seed, pos.stream);
    });
  });
}

Status fill_uniform(void* out, DType dtype, uint64_t n, double low, double high,
                    const StreamPos& pos, const FillOptions& opt) {
  const UniformParams p = make_uniform_params(dtype, low, high);
  if (low == high) {
    check_range(n, pos);
    return fill_constant(out, dtype, n, low, opt);
  }
  return fill_with(
      out, dtype, n, pos, opt,
      [&](const KernelTable& k, const uint32_t* w, void* o, size_t m, bool stream) {
        k.uniform32(w, o, m, dtype, stream, p);
      },
      [&](const uint32_t* w, double* o, size_t m) { uniform64(w, o, m, p); });
}

Status fill_normal(void* out, DType dtype, uint64_t n, double mean, double stddev,
                   const StreamPos& pos, const FillOptions& opt) {
  const NormalParams p = make_normal_params(dtype, mean, stddev);
  return fill_with(
      out, dtype, n, pos, opt,
      [&](const KernelTable& k, const uint32_t* w, void* o, size_t m, bool stream) {
        k.normal32(w, o, m, dtype, stream, p);
      },
      [&](const uint32_t* w, double* o, size_t m) { normal64(w, o, m, p); });
}

Status fill_trunc_normal(void* out, DType dtype, uint64_t n, double mean, double stddev,
                         double a, double b, const StreamPos& pos, const FillOptions& opt) {
  const TruncParams p = make_trunc_params(dtype, mean, stddev, a, b);
  return fill_with(
      out, dtype, n, pos, opt,
      [&](const KernelTable& k, const uint32_t* w, void* o, size_t m, bool stream) {
        k.trunc32(w, o, m, dtype, stream, p);
      },
      [&](const uint32_t* w, double* o, size_t m) { trunc64(w, o, m, p); });
}

namespace {
template <class T>
Status fill_typed(void* out, uint64_t n, T value, const FillOptions& opt) {
  T* base = static_cast<T*>(out);
  return for_each_chunk(n, opt, [&](uint64_t begin, uint64_t end) {
    std::fill(base + begin, base + end, value);
  });
}
}  // namespace

Status fill_constant(void* out, DType dtype, uint64_t n, double value, const FillOptions& opt) {
  switch (dtype) {
    case DType::f64: return fill_typed<double>(out, n, value, opt);
    case DType::f32: return fill_typed<float>(out, n, float(value), opt);
    case DType::f16: return fill_typed<uint16_t>(out, n, float_to_half(float(value)), opt);
    case DType::bf16: return fill_typed<uint16_t>(out, n, float_to_bfloat16(float(value)), opt);
  }
  return Status::ok;
}

int default_threads() { return resolve_threads(0); }
void set_default_threads(int threads) { g_threads.store(threads > 0 ? threads : 0); }

bool openmp_enabled() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

Isa best_isa() { return detect_best(); }
Isa active_isa() { return kernels().isa; }

void set_isa(Isa isa) {
  const KernelTable* k = table_for(isa);
  if (!k)
    throw InvalidArgument(std::string("ISA '") + isa_name(isa) +
                          "' is not available on this CPU or in this build");
  g_kernels.store(k, std::memory_order_release);
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "unknown";
}

std::string build_info() {
  std::string s = "compiler=";
#if defined(__clang__)
  s += "clang " __clang_version__;
#elif defined(__GNUC__)
  s += "gcc " __VERSION__;
#else
  s += "unknown";
#endif
#ifdef PXI_CXX_FLAGS
  s += "; flags=" PXI_CXX_FLAGS;
#endif
  s += "; openmp=";
#ifdef _OPENMP
  s += std::to_string(_OPENMP);
#else
  s += "no";
#endif
  s += "; kernels=scalar";
#ifdef PXI_HAVE_AVX2
  s += ",avx2";
#endif
#ifdef PXI_HAVE_AVX512
  s += ",avx512";
#endif
#ifdef PXI_HAVE_AVX512BF16
  s += cpu_has_avx512bf16() ? ",avx512bf16 (in use)" : ",avx512bf16 (not on this CPU)";
#endif
  return s;
}

}  // namespace philoxinit
