// Philox4x32-10 (Salmon et al., SC'11; Random123 philox.h): the scalar definition that every
// SIMD path must reproduce word for word.
#pragma once
#include <cstdint>

namespace philoxinit {

constexpr uint32_t kPhiloxM0 = 0xD2511F53u;  // round multipliers
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;  // Weyl key increments (golden ratio, sqrt(3)-1)
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;
constexpr int kPhiloxRounds = 10;

struct Block4x32 {
  uint32_t v[4];
};

inline void philox_round(uint32_t ctr[4], uint32_t k0, uint32_t k1) {
  const uint64_t p0 = uint64_t(kPhiloxM0) * ctr[0];
  const uint64_t p1 = uint64_t(kPhiloxM1) * ctr[2];
  const uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0);
  const uint32_t hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
  const uint32_t c1 = ctr[1], c3 = ctr[3];
  ctr[0] = hi1 ^ c1 ^ k0;
  ctr[1] = lo1;
  ctr[2] = hi0 ^ c3 ^ k1;
  ctr[3] = lo0;
}

// rounds is a parameter only so the Random123 7-round known-answer vectors can be checked too.
inline Block4x32 philox4x32(const uint32_t counter[4], uint32_t k0, uint32_t k1,
                            int rounds = kPhiloxRounds) {
  Block4x32 b{{counter[0], counter[1], counter[2], counter[3]}};
  for (int r = 0; r < rounds; ++r) {
    if (r > 0) {
      k0 += kPhiloxW0;
      k1 += kPhiloxW1;
    }
    philox_round(b.v, k0, k1);
  }
  return b;
}

// Block b of stream s under seed: counter (b lo, b hi, s lo, s hi), key (seed lo, seed hi).
inline Block4x32 philox_block(uint64_t block, uint64_t seed, uint64_t stream) {
  const uint32_t ctr[4] = {uint32_t(block), uint32_t(block >> 32), uint32_t(stream),
                           uint32_t(stream >> 32)};
  return philox4x32(ctr, uint32_t(seed), uint32_t(seed >> 32));
}

}  // namespace philoxinit
