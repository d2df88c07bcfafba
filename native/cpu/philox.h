// Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3", SC'11), the
// counter-based generator of Random123: 10 rounds of two 32x32->64 multiplies with the key bumped
// by the Weyl constants between rounds. Stateless: the output depends only on (counter, key).
// src/random/philox.ts implements the same function and element mapping in TypeScript.
#pragma once
#include <cstdint>

namespace dl4ts {
namespace philox {

constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // round multipliers
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // Weyl key increments
constexpr int kRounds = 10;

struct Words {
  uint32_t w[4];
};

inline Words philox4x32(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  for (int r = 0; r < kRounds; ++r) {
    if (r > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    const uint64_t p0 = (uint64_t)kM0 * c0, p1 = (uint64_t)kM1 * c2;
    const uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    const uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
  }
  return Words{{c0, c1, c2, c3}};
}

// The same for n <= kBlock consecutive element indices first, first+1, ... (counter words 0/1
// are the low/high halves of the index; words 2/3 are stream and attempt), written lane-wise so
// the compiler vectorises it. Outputs words into w0..w3.
constexpr int kBlock = 64;
void block(uint64_t first, int n, uint32_t stream, uint32_t attempt, uint32_t k0, uint32_t k1, uint32_t* w0, uint32_t* w1,
           uint32_t* w2, uint32_t* w3);
void blockPortable(uint64_t first, int n, uint32_t stream, uint32_t attempt, uint32_t k0, uint32_t k1, uint32_t* w0, uint32_t* w1,
                   uint32_t* w2, uint32_t* w3);

// u = ((a >> 5) * 2^26 + (b >> 6) + 0.5) / 2^53, evaluated left to right in double exactly as
// API.md (and philox.ts) write it: 53 random bits, in (0, 1) except that the largest value
// rounds to 1.0 in double arithmetic (probability 2^-53).
inline double unit53(uint32_t a, uint32_t b) {
  return ((double)(a >> 5) * 67108864.0 + (double)(b >> 6) + 0.5) / 9007199254740992.0;
}

}  // namespace philox
}  // namespace dl4ts
