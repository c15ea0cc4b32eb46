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

#include <vector>

#include "first_touch.hpp"
#include "thread_pool.hpp"

namespace philoxinit {
namespace detail {
namespace {

// A chunk is the unit of work a thread takes and the interval at which the calling thread
// polls for interrupts; a piece is what one gen_words + transform pass handles, sized so the
// words stay in L1.
constexpr uint64_t kChunk = uint64_t(1) << 16;
constexpr uint64_t kMinChunk = uint64_t(1) << 12;
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

int resolve_threads(int requested) {
  if (!threads_built()) return 1;
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

// When the last fill ended (steady_clock ticks), so that a loop of small fills, which never
// wakes the pool by itself, wakes it once and then finds it awake.
std::atomic<std::chrono::steady_clock::rep> g_last_fill_end{0};

// The chunk length for `total` elements on `threads` threads: kChunk, smaller for small fills
// so that both cores get work (at least kMinChunk, a few microseconds of kernel time each).
uint64_t chunk_length(uint64_t total, int threads) {
  if (threads <= 1) return kChunk;
  const uint64_t c = total / (uint64_t(threads) * 4);
  return std::max(kMinChunk, std::min(kChunk, c) & ~uint64_t(63));
}

// Runs body(begin, end) over [0, total) in chunks, on the pool. The result never depends on
// how chunks are spread over threads, because every element is a function of its own index.
template <class Body>
Status for_each_chunk(uint64_t total, const FillOptions& opt, Body&& body) {
  const int requested = resolve_threads(opt.threads);
  const uint64_t chunk = chunk_length(total, requested);
  const uint64_t chunks = (total + chunk - 1) / chunk;
  int threads = int(std::min<uint64_t>(uint64_t(requested), chunks));
  // A fill under one chunk per thread takes the second thread only while the pool is awake,
  // or when the last fill ended less than a spin time ago (a loop over a model's tensors: the
  // first wake keeps the worker spinning for the next). Waking a worker for an isolated small
  // fill costs more than it gains, and a worker that is not running now may be preempted
  // mid-chunk and make the caller wait (cpp/bench/bench_threads.cpp, docs/performance.md).
  using Clock = std::chrono::steady_clock;
  const Clock::duration since_last_fill =
      Clock::now().time_since_epoch() - Clock::duration(g_last_fill_end.load(std::memory_order_relaxed));
  if (threads > 1 && total < kChunk * uint64_t(threads) && !pool_awake() &&
      since_last_fill > std::chrono::microseconds(spin_microseconds()))
    threads = 1;
  const struct Stamp {
    ~Stamp() {
      g_last_fill_end.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                            std::memory_order_relaxed);
    }
  } stamp;
  InterruptPoller interrupted(opt.interrupt);
  if (threads <= 1) {
    for (uint64_t c = 0; c < chunks; ++c) {
      if (interrupted()) return Status::interrupted;
      body(c * chunk, std::min(total, (c + 1) * chunk));
    }
    return Status::ok;
  }
  struct Region {
    Body& body;
    InterruptPoller& interrupted;
    uint64_t total, chunk, chunks;
    std::atomic<uint64_t> next{0};
    std::atomic<bool> stop{false};
  } region{body, interrupted, total, chunk, chunks};
  run_parallel(threads, [](void* context, int worker) {
    Region& r = *static_cast<Region*>(context);
    for (;;) {
      if (worker == 0 && r.interrupted()) r.stop.store(true, std::memory_order_relaxed);
      if (r.stop.load(std::memory_order_relaxed)) break;
      const uint64_t c = r.next.fetch_add(1, std::memory_order_relaxed);
      if (c >= r.chunks) break;
      r.body(c * r.chunk, std::min(r.total, (c + 1) * r.chunk));
    }
  }, &region);
  return region.stop.load() ? Status::interrupted : Status::ok;
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

// One job of a batch after its checks: the kernel constants of its distribution, and how its
// memory is written (non-temporal stores, pre-faulting).
struct PreparedJob {
  char* base;
  DType dtype;
  uint64_t n;
  Dist dist;
  StreamPos pos;
  UniformParams uniform;
  NormalParams normal;
  TruncParams trunc;
  double value;
  bool streaming;
  bool prefault;
};

PreparedJob prepare(const FillJob& job) {
  PreparedJob p{};
  p.base = static_cast<char*>(job.out);
  p.dtype = job.dtype;
  p.n = job.n;
  p.dist = job.dist;
  p.pos = job.pos;
  switch (job.dist) {
    case Dist::uniform:
      p.uniform = make_uniform_params(job.dtype, job.params[0], job.params[1]);
      check_range(job.n, job.pos);
      if (job.params[0] == job.params[1]) {
        p.dist = Dist::constant;
        p.value = job.params[0];
      }
      break;
    case Dist::normal:
      p.normal = make_normal_params(job.dtype, job.params[0], job.params[1]);
      check_range(job.n, job.pos);
      break;
    case Dist::trunc_normal:
      p.trunc = make_trunc_params(job.dtype, job.params[0], job.params[1], job.params[2], job.params[3]);
      check_range(job.n, job.pos);
      break;
    case Dist::constant:
      p.value = job.params[0];
      break;
    default:
      throw InvalidArgument("unknown distribution");
  }
  if (element_size(job.dtype) == 0) throw InvalidArgument("unknown dtype");
  if (job.n && !job.out) throw InvalidArgument("null output buffer");
  const size_t esize = element_size(job.dtype);
  p.streaming = p.dist != Dist::constant && job.dtype != DType::f64 && job.n * esize >= kStreamBytes &&
                reinterpret_cast<uintptr_t>(p.base) % esize == 0;
  return p;
}

template <class T>
void fill_typed(void* out, uint64_t begin, uint64_t end, T value) {
  std::fill(static_cast<T*>(out) + begin, static_cast<T*>(out) + end, value);
}

void constant_range(const PreparedJob& j, uint64_t begin, uint64_t end) {
  switch (j.dtype) {
    case DType::f64: return fill_typed<double>(j.base, begin, end, j.value);
    case DType::f32: return fill_typed<float>(j.base, begin, end, float(j.value));
    case DType::f16: return fill_typed<uint16_t>(j.base, begin, end, float_to_half(float(j.value)));
    case DType::bf16: return fill_typed<uint16_t>(j.base, begin, end, float_to_bfloat16(float(j.value)));
  }
}

// Elements [begin, end) of one job, piece by piece. A 32-bit-family fill of kStreamBytes or
// more (beyond what the caches keep) writes with non-temporal stores: its pieces are cut so
// that all but a segment's first start on a 64-byte line. Smaller fills use plain stores and
// stay cached for whoever reads them next.
void fill_range(const KernelTable& k, const PreparedJob& j, uint64_t begin, uint64_t end) {
  const size_t esize = element_size(j.dtype);
  if (j.prefault) prefault_range(j.base + begin * esize, (end - begin) * esize);
  if (j.dist == Dist::constant) return constant_range(j, begin, end);
  alignas(64) uint32_t words[2 * kPiece];
  for_each_segment(begin, end, j.pos, [&](uint64_t local, uint64_t global, uint64_t count) {
    for (uint64_t i = 0; i < count;) {
      char* dst = j.base + (local + i) * esize;
      const size_t misalign = j.streaming ? (reinterpret_cast<uintptr_t>(dst) & 63) / esize : 0;
      const size_t m = size_t(std::min<uint64_t>(kPiece - misalign, count - i));
      const bool stream = j.streaming && misalign == 0;
      if (j.dtype == DType::f64) {
        k.gen_words(words, 2 * (global + i), 2 * m, j.pos.seed, j.pos.stream);
        double* d = reinterpret_cast<double*>(dst);
        switch (j.dist) {
          case Dist::uniform: uniform64(words, d, m, j.uniform); break;
          case Dist::normal: normal64(words, d, m, j.normal); break;
          default: trunc64(words, d, m, j.trunc); break;
        }
      } else {
        k.gen_words(words, global + i, m, j.pos.seed, j.pos.stream);
        switch (j.dist) {
          case Dist::uniform: k.uniform32(words, dst, m, j.dtype, stream, j.uniform); break;
          case Dist::normal: k.normal32(words, dst, m, j.dtype, stream, j.normal); break;
          default: k.trunc32(words, dst, m, j.dtype, stream, j.trunc); break;
        }
      }
      i += m;
    }
  });
  if (j.streaming) k.stream_fence();
}

// The driver of every fill: the jobs laid end to end in one element space, cut into chunks
// that may span several small jobs, spread over the pool.
Status run_jobs(std::vector<PreparedJob>& jobs, const FillOptions& opt) {
  const KernelTable& k = kernels();
  std::vector<uint64_t> ends(jobs.size());  // ends[j]: where job j stops in the joint space
  uint64_t total = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    total += jobs[j].n;
    ends[j] = total;
  }
  for (PreparedJob& j : jobs) j.prefault = prepare_output(j.base, j.n * element_size(j.dtype));
  return for_each_chunk(total, opt, [&](uint64_t begin, uint64_t end) {
    size_t j = size_t(std::upper_bound(ends.begin(), ends.end(), begin) - ends.begin());
    for (; j < jobs.size() && begin < end; ++j) {
      const uint64_t start = ends[j] - jobs[j].n, stop = std::min(end, ends[j]);
      if (stop > begin) fill_range(k, jobs[j], begin - start, stop - start);
      begin = stop;
    }
  });
}

Status run_one(const FillJob& job, const FillOptions& opt) {
  std::vector<PreparedJob> jobs{prepare(job)};
  return run_jobs(jobs, opt);
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

namespace {
FillJob make_job(void* out, DType dtype, uint64_t n, Dist dist, const StreamPos& pos,
                 std::initializer_list<double> params) {
  FillJob job;
  job.out = out;
  job.dtype = dtype;
  job.n = n;
  job.dist = dist;
  job.pos = pos;
  std::copy(params.begin(), params.end(), job.params);
  return job;
}
}  // namespace

Status fill_uniform(void* out, DType dtype, uint64_t n, double low, double high,
                    const StreamPos& pos, const FillOptions& opt) {
  return run_one(make_job(out, dtype, n, Dist::uniform, pos, {low, high}), opt);
}

Status fill_normal(void* out, DType dtype, uint64_t n, double mean, double stddev,
                   const StreamPos& pos, const FillOptions& opt) {
  return run_one(make_job(out, dtype, n, Dist::normal, pos, {mean, stddev}), opt);
}

Status fill_trunc_normal(void* out, DType dtype, uint64_t n, double mean, double stddev,
                         double a, double b, const StreamPos& pos, const FillOptions& opt) {
  return run_one(make_job(out, dtype, n, Dist::trunc_normal, pos, {mean, stddev, a, b}), opt);
}

Status fill_constant(void* out, DType dtype, uint64_t n, double value, const FillOptions& opt) {
  return run_one(make_job(out, dtype, n, Dist::constant, StreamPos{}, {value}), opt);
}

Status fill_batch(const FillJob* jobs, uint64_t count, const FillOptions& opt) {
  std::vector<PreparedJob> prepared;
  prepared.reserve(size_t(count));
  for (uint64_t j = 0; j < count; ++j) {
    try {
      prepared.push_back(prepare(jobs[j]));
    } catch (const InvalidArgument& e) {
      throw InvalidArgument("job " + std::to_string(j) + ": " + e.what());
    }
  }
  return run_jobs(prepared, opt);
}

int default_threads() { return resolve_threads(0); }
void set_default_threads(int threads) { g_threads.store(threads > 0 ? threads : 0); }

bool openmp_enabled() { return threads_built(); }

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
  s += threads_built() ? "; threads=pool (spins briefly, then sleeps)" : "; threads=no";
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
