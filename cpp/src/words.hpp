// Raw Philox words in stream order, for a run of words that may start and end mid-block.
#pragma once
#include <cstddef>
#include <cstdint>

#include "philoxinit/philox.hpp"

namespace philoxinit {
namespace detail {

inline void scalar_words(uint32_t* dst, uint64_t word, size_t count, uint64_t seed,
                         uint64_t stream) {
  while (count > 0) {
    const Block4x32 b = philox_block(word >> 2, seed, stream);
    for (unsigned j = unsigned(word & 3); j < 4 && count > 0; ++j, --count) *dst++ = b.v[j];
    word = (word | 3) + 1;
  }
}

// Partial blocks at either end go through the scalar block function; whole groups of
// Philox::kBlocks blocks through the SIMD one.
template <class Philox>
inline void simd_words(uint32_t* dst, uint64_t word, size_t count, uint64_t seed,
                       uint64_t stream) {
  const size_t head = size_t((4 - (word & 3)) & 3) < count ? size_t((4 - (word & 3)) & 3) : count;
  scalar_words(dst, word, head, seed, stream);
  dst += head;
  word += head;
  count -= head;
  constexpr size_t kGroup = 4 * Philox::kBlocks;
  for (; count >= kGroup; count -= kGroup, dst += kGroup, word += kGroup)
    Philox::blocks(dst, word >> 2, seed, stream);
  scalar_words(dst, word, count, seed, stream);
}

}  // namespace detail
}  // namespace philoxinit
