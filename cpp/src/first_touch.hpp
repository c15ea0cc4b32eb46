// Fresh memory: a buffer nobody has written yet (after torch's to_empty, np.empty) costs a page
// fault and the kernel's zeroing per 4 KiB page on first write, several times the fill itself.
// Large outputs ask for transparent huge pages and have each chunk's pages faulted in by one
// system call just before the chunk is filled. Where the kernel lacks either, nothing happens.
#pragma once
#include <cstddef>
#include <cstdint>

namespace philoxinit {
namespace detail {

enum class FirstTouch : int {
  off = 0,                 // plain first-write faults
  hugepage = 1,            // madvise(MADV_HUGEPAGE) on the untouched 2 MiB-aligned interior
  populate = 2,            // MADV_POPULATE_WRITE per chunk, in the thread that fills it
  hugepage_populate = 3,   // both
};

// The policy fills use (default: what measured best here, see docs/performance.md). For the
// benchmarks in cpp/bench.
void set_first_touch(FirstTouch mode);
FirstTouch first_touch();

// Outputs of at least this many bytes get the treatment.
constexpr uint64_t kFreshBytes = uint64_t(4) << 20;

// Called once per large output before any thread writes it: asks for huge pages when its
// first page is not yet resident. Returns whether per-chunk pre-faulting should run.
bool prepare_output(void* data, uint64_t bytes);

// Pre-faults [data, data + bytes) for writing (whole pages inside it and the pages its ends
// touch); silently nothing where unsupported.
void prefault_range(void* data, uint64_t bytes);

}  // namespace detail
}  // namespace philoxinit
