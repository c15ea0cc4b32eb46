#include "first_touch.hpp"

#include <atomic>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace philoxinit {
namespace detail {

namespace {
std::atomic<int> g_mode{int(FirstTouch::hugepage_populate)};
#if defined(__linux__)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels answer EINVAL and we stop asking
#endif
constexpr uintptr_t kHuge = uintptr_t(2) << 20;

uintptr_t page_size() {
  static const uintptr_t size = [] {
    const long s = sysconf(_SC_PAGESIZE);
    return s > 0 ? uintptr_t(s) : uintptr_t(4096);
  }();
  return size;
}

// Asked once, on a page of our own: does this kernel know MADV_POPULATE_WRITE? (Errors on a
// caller's buffer later say nothing about the kernel: a file mapping may refuse it.)
bool populate_supported() {
  static const bool supported = [] {
    void* p = mmap(nullptr, page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    const bool ok = madvise(p, page_size(), MADV_POPULATE_WRITE) == 0;
    munmap(p, page_size());
    return ok;
  }();
  return supported;
}

bool resident(uintptr_t page) {
  unsigned char vec = 0;
  if (mincore(reinterpret_cast<void*>(page), page_size(), &vec) != 0) return true;  // unknown: leave it
  return vec & 1;
}
#endif
}  // namespace

void set_first_touch(FirstTouch mode) { g_mode.store(int(mode)); }
FirstTouch first_touch() { return FirstTouch(g_mode.load()); }

bool prepare_output(void* data, uint64_t bytes) {
#if defined(__linux__)
  const FirstTouch mode = first_touch();
  if (bytes < kFreshBytes || mode == FirstTouch::off) return false;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data), end = begin + bytes;
  const uintptr_t first = (begin + kHuge - 1) & ~(kHuge - 1), last = end & ~(kHuge - 1);
  // A refusal (no THP in this kernel, a file mapping) leaves ordinary pages: nothing to do.
  if ((mode == FirstTouch::hugepage || mode == FirstTouch::hugepage_populate) && first < last &&
      !resident(first))
    (void)madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
  return (mode == FirstTouch::populate || mode == FirstTouch::hugepage_populate) &&
         populate_supported();
#else
  (void)data;
  (void)bytes;
  return false;
#endif
}

void prefault_range(void* data, uint64_t bytes) {
#if defined(__linux__)
  if (bytes == 0) return;
  const uintptr_t mask = page_size() - 1;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data) & ~mask;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes + mask) & ~mask;
  // A failure (a mapping that refuses it) just leaves the faults to the fill's own writes.
  (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace detail
}  // namespace philoxinit
