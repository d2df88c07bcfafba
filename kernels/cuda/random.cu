// random(dist, out, seed, stream, p1, p2): stateless Philox4x32-10 per element, exactly the
// scheme of native/cpu/API.md ("Random"), native/cpu/random.cc and src/random/philox.ts.
// The launcher prepends #define DIST_<uniform|normal|truncnormal|bernoulli> 1 and TOUT DT_<type>.
// Element i (row-major index in out) draws the block with key (seedLo, seedHi) and counter
// (i mod 2^32, floor(i / 2^32), stream, attempt). The double arithmetic uses explicit _rn
// intrinsics so the compiler cannot contract it into FMAs (the CPU build does not contract):
// uniform and bernoulli are then bit-identical to the CPU; normal/truncnormal go through CUDA's
// double log (1 ulp) and cos (2 ulp), so a double result may differ in its last bits.
#include "common.cuh"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define TWO_PI (2.0 * 3.14159265358979323846)  // == 2 * Math.PI
#define MAX_ATTEMPTS 65536u                     // truncnormal redraws, as the CPU

struct Words {
  u32 w0, w1, w2, w3;
};

__device__ __forceinline__ Words philox4x32(u32 c0, u32 c1, u32 c2, u32 c3, u32 k0, u32 k1) {
#pragma unroll
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += PHILOX_W0;
      k1 += PHILOX_W1;
    }
    const u32 hi0 = __umulhi(PHILOX_M0, c0), lo0 = PHILOX_M0 * c0;
    const u32 hi1 = __umulhi(PHILOX_M1, c2), lo1 = PHILOX_M1 * c2;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
  }
  Words w = {c0, c1, c2, c3};
  return w;
}

// ((a >> 5) * 2^26 + (b >> 6) + 0.5) / 2^53, left to right in double.
__device__ __forceinline__ double unit53(u32 a, u32 b) {
  return __ddiv_rn(__dadd_rn(__dadd_rn(__dmul_rn((double)(a >> 5), 67108864.0), (double)(b >> 6)), 0.5), 9007199254740992.0);
}

// sqrt(-2 ln u1) * cos(2 pi u2)
__device__ __forceinline__ double normalOf(const Words& w) {
  const double u1 = unit53(w.w0, w.w1), u2 = unit53(w.w2, w.w3);
  return __dmul_rn(__dsqrt_rn(__dmul_rn(-2.0, log(u1))), cos(__dmul_rn(TWO_PI, u2)));
}

__device__ __forceinline__ double sample(u64 i, u32 stream, u32 k0, u32 k1, double p1, double p2) {
  const u32 lo = (u32)i, hi = (u32)(i >> 32);
  const Words w = philox4x32(lo, hi, stream, 0u, k0, k1);
#if defined(DIST_uniform)
  return __dadd_rn(p1, __dmul_rn(__dsub_rn(p2, p1), unit53(w.w0, w.w1)));
#elif defined(DIST_bernoulli)
  return unit53(w.w0, w.w1) < p1 ? 1.0 : 0.0;
#elif defined(DIST_normal)
  return __dadd_rn(p1, __dmul_rn(p2, normalOf(w)));
#elif defined(DIST_truncnormal)
  double z = normalOf(w);
  for (u32 attempt = 1; fabs(z) > 2.0 && attempt < MAX_ATTEMPTS; ++attempt) z = normalOf(philox4x32(lo, hi, stream, attempt, k0, k1));
  if (fabs(z) > 2.0) z = 0.0;  // unreachable in practice
  return __dadd_rn(p1, __dmul_rn(p2, z));
#else
#error "random.cu: define DIST_uniform, DIST_normal, DIST_truncnormal or DIST_bernoulli"
#endif
}

extern "C" __global__ void random_contig(TOUT::S* y, i64 n, u32 seedLo, u32 seedHi, u32 stream, double p1, double p2) {
  GRID_STRIDE(i, n) y[i] = TOUT::store(sample((u64)i, stream, seedLo, seedHi, p1, p2));
}

extern "C" __global__ void random_strided(TOUT::S* y, TensorDesc yd, i64 n, u32 seedLo, u32 seedHi, u32 stream, double p1, double p2) {
  GRID_STRIDE(i, n) y[offsetOf(yd, i)] = TOUT::store(sample((u64)i, stream, seedLo, seedHi, p1, p2));
}
