// AVX2 + FMA micro-kernels for the GEMM engine (6 x 16 FP32, 6 x 8 FP64: 12 accumulators of the
// 16 ymm registers), compiled through function-level target attributes; used when the CPU has
// AVX2 and FMA but not AVX-512F.
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define DL4TS_GEMM_TARGET __attribute__((target("avx2,fma,f16c")))
#define DL4TS_GEMM_F16C 1
#include "gemm_kernel_impl.h"

namespace dl4ts {
namespace gemm_detail {
namespace {

struct Avx2F32 {
  using T = float;
  using Reg = __m256;
  static constexpr int L = 8;
  static DL4TS_GEMM_INLINE Reg zero() { return _mm256_setzero_ps(); }
  static DL4TS_GEMM_INLINE Reg load(const T* p) { return _mm256_load_ps(p); }
  static DL4TS_GEMM_INLINE Reg bcast(const T* p) { return _mm256_broadcast_ss(p); }
  static DL4TS_GEMM_INLINE Reg set1(T v) { return _mm256_set1_ps(v); }
  static DL4TS_GEMM_INLINE Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static DL4TS_GEMM_INLINE Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  static DL4TS_GEMM_INLINE Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static DL4TS_GEMM_INLINE __m256i mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static DL4TS_GEMM_INLINE Reg loadN(const T* p, int n) {
    return n >= L ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask(n));
  }
  static DL4TS_GEMM_INLINE void storeN(T* p, Reg v, int n) {
    if (n >= L) _mm256_storeu_ps(p, v);
    else _mm256_maskstore_ps(p, mask(n), v);
  }
  static DL4TS_GEMM_INLINE T hsum(Reg v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static DL4TS_GEMM_INLINE Reg loadu(FromSame, const float* p) { return _mm256_loadu_ps(p); }
  static DL4TS_GEMM_INLINE Reg loadu(FromF32, const float* p) { return _mm256_loadu_ps(p); }
  static DL4TS_GEMM_INLINE Reg loadu(FromF16, const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p));
  }
  static DL4TS_GEMM_INLINE Reg loadu(FromBF16, const uint16_t* p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p)), 16));
  }
};

struct Avx2F64 {
  using T = double;
  using Reg = __m256d;
  static constexpr int L = 4;
  static DL4TS_GEMM_INLINE Reg zero() { return _mm256_setzero_pd(); }
  static DL4TS_GEMM_INLINE Reg load(const T* p) { return _mm256_load_pd(p); }
  static DL4TS_GEMM_INLINE Reg bcast(const T* p) { return _mm256_broadcast_sd(p); }
  static DL4TS_GEMM_INLINE Reg set1(T v) { return _mm256_set1_pd(v); }
  static DL4TS_GEMM_INLINE Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_pd(a, b, c); }
  static DL4TS_GEMM_INLINE Reg mul(Reg a, Reg b) { return _mm256_mul_pd(a, b); }
  static DL4TS_GEMM_INLINE Reg add(Reg a, Reg b) { return _mm256_add_pd(a, b); }
  static DL4TS_GEMM_INLINE __m256i mask(int n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static DL4TS_GEMM_INLINE Reg loadN(const T* p, int n) {
    return n >= L ? _mm256_loadu_pd(p) : _mm256_maskload_pd(p, mask(n));
  }
  static DL4TS_GEMM_INLINE void storeN(T* p, Reg v, int n) {
    if (n >= L) _mm256_storeu_pd(p, v);
    else _mm256_maskstore_pd(p, mask(n), v);
  }
  static DL4TS_GEMM_INLINE T hsum(Reg v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
  static DL4TS_GEMM_INLINE Reg loadu(FromSame, const double* p) { return _mm256_loadu_pd(p); }
  static DL4TS_GEMM_INLINE Reg loadu(FromF64, const double* p) { return _mm256_loadu_pd(p); }
};

}  // namespace

const KernelSet<float>* avx2KernelsF32() {
  static const KernelSet<float> ks = makeKernelSet<Avx2F32, 6, 2>("avx2", 144, 256, 4080);
  return &ks;
}
const KernelSet<double>* avx2KernelsF64() {
  static const KernelSet<double> ks = makeKernelSet<Avx2F64, 6, 2>("avx2", 72, 256, 2040);
  return &ks;
}

}  // namespace gemm_detail
}  // namespace dl4ts

#else
#include "gemm_kernels.h"
namespace dl4ts {
namespace gemm_detail {
const KernelSet<float>* avx2KernelsF32() { return nullptr; }
const KernelSet<double>* avx2KernelsF64() { return nullptr; }
}  // namespace gemm_detail
}  // namespace dl4ts
#endif
