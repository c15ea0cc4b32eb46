// philoxinit C++ core: fills buffers with Philox4x32-10 based uniform, normal and truncated
// normal values. No Python here: the binding converts arguments and calls these functions.
// The stream contract these functions implement is docs/stream.md.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace philoxinit {

enum class DType : int { f32 = 0, f64 = 1, f16 = 2, bf16 = 3 };
enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2 };
enum class Status : int { ok = 0, interrupted = 1 };

// Where the stream lives and which elements to produce: element i of the buffer is element
// (offset + i) of stream `stream` under `seed`. A shard of a bigger tensor is a sequence of
// equal runs: with run_starts set, element i is element
// offset + run_starts[i / run_length] + i % run_length, and the buffer holds
// run_count * run_length elements.
struct StreamPos {
  uint64_t seed = 0;
  uint64_t stream = 0;
  uint64_t offset = 0;
  const uint64_t* run_starts = nullptr;
  uint64_t run_count = 0;
  uint64_t run_length = 0;
};

// Polled from the calling thread between chunks of a long fill; returning true stops the fill
// (already finished chunks stay written, the rest of the buffer keeps its old contents).
struct Interrupt {
  bool (*poll)(void* context) = nullptr;
  void* context = nullptr;
};

struct FillOptions {
  int threads = 0;  // 0: the process default (set_default_threads)
  const Interrupt* interrupt = nullptr;
};

// Thrown for parameters the contract does not allow; the buffer is not touched then.
struct InvalidArgument : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

constexpr uint64_t kMaxElementIndex = uint64_t(1) << 62;

Status random_raw(uint32_t* out, uint64_t n, const StreamPos& pos, const FillOptions& opt = {});
Status fill_uniform(void* out, DType dtype, uint64_t n, double low, double high,
                    const StreamPos& pos, const FillOptions& opt = {});
Status fill_normal(void* out, DType dtype, uint64_t n, double mean, double stddev,
                   const StreamPos& pos, const FillOptions& opt = {});
Status fill_trunc_normal(void* out, DType dtype, uint64_t n, double mean, double stddev, double a,
                         double b, const StreamPos& pos, const FillOptions& opt = {});
Status fill_constant(void* out, DType dtype, uint64_t n, double value,
                     const FillOptions& opt = {});

// Many fills in one parallel pass: a model's hundreds of tensors, small ones packed together
// into shared chunks. Job j writes exactly what the single call of its dist would write.
// Every job is checked first; InvalidArgument for any leaves every buffer untouched.
enum class Dist : int { uniform = 0, normal = 1, trunc_normal = 2, constant = 3 };
struct FillJob {
  void* out = nullptr;
  DType dtype = DType::f32;
  uint64_t n = 0;
  Dist dist = Dist::uniform;
  double params[4] = {0, 0, 0, 0};  // (low, high) / (mean, std) / (mean, std, a, b) / (value)
  StreamPos pos;                    // unused for constant
};
Status fill_batch(const FillJob* jobs, uint64_t count, const FillOptions& opt = {});


// Threads and ISA.
int default_threads();
void set_default_threads(int threads);  // <= 0: back to the hardware default
bool openmp_enabled();  // historic name: whether this build runs fills on several threads
Isa best_isa();          // the best ISA this CPU and build support
Isa active_isa();        // what fills use now
void set_isa(Isa isa);   // throws InvalidArgument if the CPU or build lacks it
const char* isa_name(Isa isa);
std::string build_info();  // compiler, flags, OpenMP

}  // namespace philoxinit
