// Philox4x32-10 over blocks of consecutive element indices (see philox.h). No N-API here, so
// it can also be linked into standalone known-answer tests. An AVX-512 version (16 lanes, even
// and odd 32x32->64 products with vpmuludq) is used when the CPU has it, else the portable lane
// loop (compiled for AVX2 and baseline by target_clones). All versions give identical words.
#include <immintrin.h>

#include "philox.h"

// GCC 12 reports its own _mm512_undefined_* placeholders as maybe-uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace dl4ts {

namespace philox {

namespace {

__attribute__((target_clones("avx2", "default")))
void blockLanes(uint64_t first, int n, uint32_t stream, uint32_t attempt, uint32_t k0, uint32_t k1, uint32_t* w0, uint32_t* w1,
           uint32_t* w2, uint32_t* w3) {
  uint32_t c0[kBlock], c1[kBlock], c2[kBlock], c3[kBlock];
  for (int l = 0; l < n; ++l) {
    const uint64_t i = first + (uint64_t)l;
    c0[l] = (uint32_t)i;
    c1[l] = (uint32_t)(i >> 32);
    c2[l] = stream;
    c3[l] = attempt;
  }
  uint32_t a0 = k0, a1 = k1;
  for (int r = 0; r < kRounds; ++r) {
    if (r > 0) {
      a0 += kW0;
      a1 += kW1;
    }
    for (int l = 0; l < n; ++l) {
      const uint64_t p0 = (uint64_t)kM0 * c0[l], p1 = (uint64_t)kM1 * c2[l];
      const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ a0;
      const uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ a1;
      c1[l] = (uint32_t)p1;
      c3[l] = (uint32_t)p0;
      c0[l] = n0;
      c2[l] = n2;
    }
  }
  for (int l = 0; l < n; ++l) {
    w0[l] = c0[l];
    w1[l] = c1[l];
    w2[l] = c2[l];
    w3[l] = c3[l];
  }
}

// hi and lo 32-bit halves of m * c for 16 uint32 lanes.
__attribute__((target("avx512f"))) inline void mulHiLo(__m512i c, __m512i m, __m512i& hi, __m512i& lo) {
  const __m512i even = _mm512_mul_epu32(c, m);                          // lanes 0,2,..: 64-bit products
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(c, 32), m);  // lanes 1,3,..
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
  lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

__attribute__((target("avx512f"))) void blockAvx512(uint64_t first, int n, uint32_t stream, uint32_t attempt, uint32_t k0, uint32_t k1,
                                                   uint32_t* w0, uint32_t* w1, uint32_t* w2, uint32_t* w3) {
  const __m512i m0 = _mm512_set1_epi32((int)kM0), m1 = _mm512_set1_epi32((int)kM1);
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int l0 = 0; l0 < n; l0 += 16) {
    const uint64_t base = first + (uint64_t)l0;
    // counter words 0/1 = low/high halves of base + lane (carry into the high word per lane)
    const __m512i lo = _mm512_add_epi32(_mm512_set1_epi32((int)(uint32_t)base), lane);
    const __mmask16 carry = _mm512_cmplt_epu32_mask(lo, _mm512_set1_epi32((int)(uint32_t)base));
    __m512i c0 = lo;
    __m512i c1 = _mm512_mask_add_epi32(_mm512_set1_epi32((int)(uint32_t)(base >> 32)), carry,
                                       _mm512_set1_epi32((int)(uint32_t)(base >> 32)), _mm512_set1_epi32(1));
    __m512i c2 = _mm512_set1_epi32((int)stream), c3 = _mm512_set1_epi32((int)attempt);
    uint32_t a0 = k0, a1 = k1;
    for (int r = 0; r < kRounds; ++r) {
      if (r > 0) {
        a0 += kW0;
        a1 += kW1;
      }
      __m512i hi0, lo0, hi1, lo1;
      mulHiLo(c0, m0, hi0, lo0);
      mulHiLo(c2, m1, hi1, lo1);
      // 0x96 = a ^ b ^ c
      c0 = _mm512_ternarylogic_epi32(hi1, c1, _mm512_set1_epi32((int)a0), 0x96);
      c2 = _mm512_ternarylogic_epi32(hi0, c3, _mm512_set1_epi32((int)a1), 0x96);
      c1 = lo1;
      c3 = lo0;
    }
    const int m = n - l0 < 16 ? n - l0 : 16;
    const __mmask16 keep = (__mmask16)((1u << m) - 1u);
    _mm512_mask_storeu_epi32(w0 + l0, keep, c0);
    _mm512_mask_storeu_epi32(w1 + l0, keep, c1);
    _mm512_mask_storeu_epi32(w2 + l0, keep, c2);
    _mm512_mask_storeu_epi32(w3 + l0, keep, c3);
  }
}

using BlockFn = void (*)(uint64_t, int, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t*, uint32_t*, uint32_t*, uint32_t*);

BlockFn pickBlock() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") ? blockAvx512 : blockLanes;
}

}  // namespace

void block(uint64_t first, int n, uint32_t stream, uint32_t attempt, uint32_t k0, uint32_t k1, uint32_t* w0, uint32_t* w1,
           uint32_t* w2, uint32_t* w3) {
  static const BlockFn fn = pickBlock();
  fn(first, n, stream, attempt, k0, k1, w0, w1, w2, w3);
}

// Portable version, for tests that compare the implementations.
void blockPortable(uint64_t first, int n, uint32_t stream, uint32_t attempt, uint32_t k0, uint32_t k1, uint32_t* w0, uint32_t* w1,
                   uint32_t* w2, uint32_t* w3) {
  blockLanes(first, n, stream, attempt, k0, k1, w0, w1, w2, w3);
}

}  // namespace philox

}  // namespace dl4ts
