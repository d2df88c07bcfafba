// adamStep(p, g, m, v, ...): one fused Adam step in place over contiguous arrays, the rule of
// native/cpu/updater.cc (Backend.adamStep):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p = decay p - alpha (m / (sqrt(v) + eps))
// The launcher prepends #define T_DT DT_FLOAT or DT_DOUBLE. Every operation goes through a _rn
// intrinsic, so NVRTC cannot contract it into an FMA: the CPU build does not contract either, so
// both backends round the same way.
#include "common.cuh"

typedef T_DT::S T;

__device__ __forceinline__ float mulRn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mulRn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float addRn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double addRn(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ float subRn(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ double subRn(double a, double b) { return __dsub_rn(a, b); }
__device__ __forceinline__ float divRn(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ double divRn(double a, double b) { return __ddiv_rn(a, b); }
__device__ __forceinline__ float sqrtRn(float a) { return __fsqrt_rn(a); }
__device__ __forceinline__ double sqrtRn(double a) { return __dsqrt_rn(a); }

extern "C" __global__ void adam_step(T* p, const T* g, T* m, T* v, i64 n, double beta1, double beta2, double epsilon,
                                     double alpha, double decay) {
  // Coefficients rounded to T once, as the CPU backend does.
  const T b1 = (T)beta1, c1 = (T)__dsub_rn(1.0, beta1), b2 = (T)beta2, c2 = (T)__dsub_rn(1.0, beta2);
  const T eps = (T)epsilon, a = (T)alpha, d = (T)decay;
  GRID_STRIDE(i, n) {
    const T gi = g[i];
    const T mi = addRn(mulRn(b1, m[i]), mulRn(c1, gi));
    const T vi = addRn(mulRn(b2, v[i]), mulRn(c2, mulRn(gi, gi)));
    m[i] = mi;
    v[i] = vi;
    p[i] = subRn(mulRn(d, p[i]), mulRn(a, divRn(mi, addRn(sqrtRn(vi), eps))));
  }
}
