// AVX-512 micro-kernels for the GEMM engine (FP32 and FP64), compiled through function-level
// target attributes so the addon needs no global -m flags; gemm.cc picks them at run time only
// when the CPU (and OS) supports AVX-512F/BW/VL/DQ.
//
// Register block 6 x 32 FP32 / 6 x 16 FP64: 12 zmm accumulators, 2 B vectors, 1 broadcast.
// Chosen by measurement on Zen 5 (EPYC, 2 x 512-bit FMA pipes, 48 KiB L1D, 1 MiB L2): 6x32 ran
// fastest at n = 1024 and 2048 (~200 GFLOP/s on one core, ~90% of its measured FMA-loop peak),
// ahead of 8x32, 12x32, 14x32 (the largest tile that fits the 32 registers), 8x48, 6x48, 6x64. Blocks: kc = 256 keeps the B
// sliver (256 x 32 x 4 B = 32 KiB) in L1; mc = 144 keeps the A block (144 KiB FP32) well inside
// L2; nc = 4096 bounds the packed B block (4 MiB) in L3. The DL4TS_* macros below override them
// at build time for tuning.
#if defined(__x86_64__) || defined(__i386__)
// GCC 12 reports the deliberately undefined pass-through operands of _mm512_cvtph_ps,
// _mm512_cvtepu16_epi32, _mm512_slli_epi32 and _mm512_reduce_add_* as uninitialised once they
// are inlined (a known false positive); silence it for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#define DL4TS_GEMM_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")))
#define DL4TS_GEMM_F16C 1
#include "gemm_kernel_impl.h"

#ifndef DL4TS_AVX512_SMR
#define DL4TS_AVX512_SMR 6
#endif
#ifndef DL4TS_AVX512_SNV
#define DL4TS_AVX512_SNV 2
#endif
#ifndef DL4TS_AVX512_DMR
#define DL4TS_AVX512_DMR 6
#endif
#ifndef DL4TS_AVX512_DNV
#define DL4TS_AVX512_DNV 2
#endif
#ifndef DL4TS_GEMM_S_MC
#define DL4TS_GEMM_S_MC 144
#endif
#ifndef DL4TS_GEMM_S_KC
#define DL4TS_GEMM_S_KC 256
#endif
#ifndef DL4TS_GEMM_S_NC
#define DL4TS_GEMM_S_NC 4096
#endif
#ifndef DL4TS_GEMM_D_MC
#define DL4TS_GEMM_D_MC 144
#endif
#ifndef DL4TS_GEMM_D_KC
#define DL4TS_GEMM_D_KC 256
#endif
#ifndef DL4TS_GEMM_D_NC
#define DL4TS_GEMM_D_NC 2048
#endif

namespace dl4ts {
namespace gemm_detail {
namespace {

struct Avx512F32 {
  using T = float;
  using Reg = __m512;
  static constexpr int L = 16;
  static DL4TS_GEMM_INLINE Reg zero() { return _mm512_setzero_ps(); }
  static DL4TS_GEMM_INLINE Reg load(const T* p) { return _mm512_load_ps(p); }
  static DL4TS_GEMM_INLINE Reg bcast(const T* p) { return _mm512_set1_ps(*p); }
  static DL4TS_GEMM_INLINE Reg set1(T v) { return _mm512_set1_ps(v); }
  static DL4TS_GEMM_INLINE Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static DL4TS_GEMM_INLINE Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
  static DL4TS_GEMM_INLINE Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  static DL4TS_GEMM_INLINE __mmask16 mask(int n) { return n >= L ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }
  static DL4TS_GEMM_INLINE Reg loadN(const T* p, int n) {
    return n >= L ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(mask(n), p);
  }
  static DL4TS_GEMM_INLINE void storeN(T* p, Reg v, int n) {
    if (n >= L) _mm512_storeu_ps(p, v);
    else _mm512_mask_storeu_ps(p, mask(n), v);
  }
  static DL4TS_GEMM_INLINE T hsum(Reg v) { return _mm512_reduce_add_ps(v); }
  static DL4TS_GEMM_INLINE Reg loadu(FromSame, const float* p) { return _mm512_loadu_ps(p); }
  static DL4TS_GEMM_INLINE Reg loadu(FromF32, const float* p) { return _mm512_loadu_ps(p); }
  static DL4TS_GEMM_INLINE Reg loadu(FromF16, const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)p));
  }
  static DL4TS_GEMM_INLINE Reg loadu(FromBF16, const uint16_t* p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)p)), 16));
  }
};

struct Avx512F64 {
  using T = double;
  using Reg = __m512d;
  static constexpr int L = 8;
  static DL4TS_GEMM_INLINE Reg zero() { return _mm512_setzero_pd(); }
  static DL4TS_GEMM_INLINE Reg load(const T* p) { return _mm512_load_pd(p); }
  static DL4TS_GEMM_INLINE Reg bcast(const T* p) { return _mm512_set1_pd(*p); }
  static DL4TS_GEMM_INLINE Reg set1(T v) { return _mm512_set1_pd(v); }
  static DL4TS_GEMM_INLINE Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_pd(a, b, c); }
  static DL4TS_GEMM_INLINE Reg mul(Reg a, Reg b) { return _mm512_mul_pd(a, b); }
  static DL4TS_GEMM_INLINE Reg add(Reg a, Reg b) { return _mm512_add_pd(a, b); }
  static DL4TS_GEMM_INLINE __mmask8 mask(int n) { return n >= L ? (__mmask8)0xff : (__mmask8)((1u << n) - 1); }
  static DL4TS_GEMM_INLINE Reg loadN(const T* p, int n) {
    return n >= L ? _mm512_loadu_pd(p) : _mm512_maskz_loadu_pd(mask(n), p);
  }
  static DL4TS_GEMM_INLINE void storeN(T* p, Reg v, int n) {
    if (n >= L) _mm512_storeu_pd(p, v);
    else _mm512_mask_storeu_pd(p, mask(n), v);
  }
  static DL4TS_GEMM_INLINE T hsum(Reg v) { return _mm512_reduce_add_pd(v); }
  static DL4TS_GEMM_INLINE Reg loadu(FromSame, const double* p) { return _mm512_loadu_pd(p); }
  static DL4TS_GEMM_INLINE Reg loadu(FromF64, const double* p) { return _mm512_loadu_pd(p); }
};

}  // namespace

const KernelSet<float>* avx512KernelsF32() {
  static const KernelSet<float> ks = makeKernelSet<Avx512F32, DL4TS_AVX512_SMR, DL4TS_AVX512_SNV>(
      "avx512", DL4TS_GEMM_S_MC, DL4TS_GEMM_S_KC, DL4TS_GEMM_S_NC);
  return &ks;
}
const KernelSet<double>* avx512KernelsF64() {
  static const KernelSet<double> ks = makeKernelSet<Avx512F64, DL4TS_AVX512_DMR, DL4TS_AVX512_DNV>(
      "avx512", DL4TS_GEMM_D_MC, DL4TS_GEMM_D_KC, DL4TS_GEMM_D_NC);
  return &ks;
}

}  // namespace gemm_detail
}  // namespace dl4ts

#else
#include "gemm_kernels.h"
namespace dl4ts {
namespace gemm_detail {
const KernelSet<float>* avx512KernelsF32() { return nullptr; }
const KernelSet<double>* avx512KernelsF64() { return nullptr; }
}  // namespace gemm_detail
}  // namespace dl4ts
#endif
