// Portable micro-kernels for the GEMM engine (4 x 8 over plain arrays; the compiler vectorises
// what the baseline instruction set allows). Used on CPUs without AVX2/FMA and on other
// architectures.
#define DL4TS_GEMM_TARGET
#include "gemm_kernel_impl.h"

namespace dl4ts {
namespace gemm_detail {
namespace {

// A "register" of 4 lanes as a plain array.
template <typename TT>
struct Generic {
  using T = TT;
  static constexpr int L = 4;
  struct Reg {
    T v[L];
  };
  static inline Reg zero() { return Reg{{T(0), T(0), T(0), T(0)}}; }
  static inline Reg load(const T* p) { return Reg{{p[0], p[1], p[2], p[3]}}; }
  static inline Reg bcast(const T* p) { return Reg{{*p, *p, *p, *p}}; }
  static inline Reg set1(T x) { return Reg{{x, x, x, x}}; }
  static inline Reg fma(Reg a, Reg b, Reg c) {
    for (int i = 0; i < L; ++i) c.v[i] += a.v[i] * b.v[i];
    return c;
  }
  static inline Reg mul(Reg a, Reg b) {
    for (int i = 0; i < L; ++i) a.v[i] *= b.v[i];
    return a;
  }
  static inline Reg add(Reg a, Reg b) {
    for (int i = 0; i < L; ++i) a.v[i] += b.v[i];
    return a;
  }
  static inline Reg loadN(const T* p, int n) {
    Reg r = zero();
    for (int i = 0; i < L && i < n; ++i) r.v[i] = p[i];
    return r;
  }
  static inline void storeN(T* p, Reg r, int n) {
    for (int i = 0; i < L && i < n; ++i) p[i] = r.v[i];
  }
  static inline T hsum(Reg r) { return (r.v[0] + r.v[1]) + (r.v[2] + r.v[3]); }
  static inline Reg loadu(FromSame, const T* p) { return load(p); }
  template <class C>
  static inline Reg loadu(C, const typename C::Src* p) {
    return Reg{{(T)C::get(p), (T)C::get(p + 1), (T)C::get(p + 2), (T)C::get(p + 3)}};
  }
};

}  // namespace

const KernelSet<float>* genericKernelsF32() {
  static const KernelSet<float> ks = makeKernelSet<Generic<float>, 4, 2>("generic", 128, 256, 4096);
  return &ks;
}
const KernelSet<double>* genericKernelsF64() {
  static const KernelSet<double> ks = makeKernelSet<Generic<double>, 4, 2>("generic", 128, 256, 2048);
  return &ks;
}

}  // namespace gemm_detail
}  // namespace dl4ts
