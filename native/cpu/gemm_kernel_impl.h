// Internal to the GEMM engine: the packing routines, the register-blocked micro-kernel and the
// macro-kernel (the jr/ir loops of BLIS), written once over a SIMD traits type and compiled by
// each gemm_kernels_<isa>.cc with its own target attribute.
//
// Include it after defining DL4TS_GEMM_TARGET (e.g. __attribute__((target("avx2,fma")))) and the
// traits. Everything here has internal linkage (anonymous namespace), so each ISA's copy stays in
// its translation unit: the linker can never hand an AVX-512 instantiation to a caller that runs
// on a CPU without it.
//
// Traits V provide: T (scalar), Reg (vector register), L (lanes), and static always-inline
// functions zero(), load(const T*) (aligned), bcast(const T*), fma(a, b, c) = a*b + c,
// mul(a, b), set1(T), loadN(const T*, int n) (first min(n, L) lanes, rest 0, unaligned),
// storeN(T*, Reg, int n) (first min(n, L) lanes, unaligned), add(a, b), hsum(Reg) (sum of the
// lanes), and loadu(tag, p): L elements from p unaligned, converted to T, for the tags FromSame
// (T itself) and, for float traits, FromF32 / FromF16 / FromBF16, for double traits FromF64.
#pragma once
#ifndef DL4TS_GEMM_TARGET
#error "define DL4TS_GEMM_TARGET before including gemm_kernel_impl.h"
#endif

#include <cstdint>

#include "dtype.h"
#include "gemm_kernels.h"

#define DL4TS_GEMM_INLINE DL4TS_GEMM_TARGET inline __attribute__((always_inline))

namespace dl4ts {
namespace gemm_detail {
namespace {

// ---- element conversion while packing ---------------------------------------------------------

struct FromF32 {
  using Src = float;
  static DL4TS_GEMM_INLINE float get(const float* p) { return *p; }
};
struct FromF64 {
  using Src = double;
  static DL4TS_GEMM_INLINE double get(const double* p) { return *p; }
};
struct FromF16 {
  using Src = uint16_t;
#ifdef DL4TS_GEMM_F16C  // the ISA file's target includes F16C: one vcvtph2ps per element
  static DL4TS_GEMM_INLINE float get(const uint16_t* p) { return _cvtsh_ss(*p); }
#else
  static DL4TS_GEMM_INLINE float get(const uint16_t* p) { return halfToFloat(*p); }
#endif
};
// Tag for a vector load of the accumulator type itself.
struct FromSame {};
struct FromBF16 {
  using Src = uint16_t;
  static DL4TS_GEMM_INLINE float get(const uint16_t* p) { return bf16ToFloat(*p); }
};

// Packs `rows` lines into slivers of R lines (see KernelSet::packA). Three paths: lines contiguous
// (ls == 1: a row-major B or column-major A, a straight copy per depth step), depth contiguous
// (ds == 1: row-major A or a transposed B, read each line once and scatter into the sliver), and
// any strides.
template <typename T, int R, typename C>
DL4TS_GEMM_TARGET void packLines(const typename C::Src* src, int64_t ls, int64_t ds, int64_t rows, int64_t kc,
                                 T* dst) {
  for (int64_t s = 0; s < rows; s += R, src += R * ls, dst += R * kc) {
    const int r = rows - s < R ? (int)(rows - s) : R;
    if (ls == 1 && r == R) {
      for (int64_t p = 0; p < kc; ++p) {
        const typename C::Src* sp = src + p * ds;
        T* d = dst + p * R;
#pragma GCC unroll 8
        for (int i = 0; i < R; ++i) d[i] = (T)C::get(sp + i);
      }
      continue;
    }
    if (ds == 1) {
      // Blocks of 16 depth steps keep the R source lines' cache lines live while writing.
      int64_t p0 = 0;
      for (; p0 + 16 <= kc; p0 += 16) {
        for (int i = 0; i < r; ++i) {
          const typename C::Src* si = src + i * ls + p0;
          T* d = dst + p0 * R + i;
#pragma GCC unroll 16
          for (int p = 0; p < 16; ++p) d[p * R] = (T)C::get(si + p);
        }
      }
      for (int i = 0; i < r; ++i) {
        const typename C::Src* si = src + i * ls;
        for (int64_t p = p0; p < kc; ++p) dst[p * R + i] = (T)C::get(si + p);
      }
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        const typename C::Src* sp = src + p * ds;
        T* d = dst + p * R;
        for (int i = 0; i < r; ++i) d[i] = (T)C::get(sp + i * ls);
      }
    }
    if (r < R) {
      for (int64_t p = 0; p < kc; ++p) {
        T* d = dst + p * R;
        for (int i = r; i < R; ++i) d[i] = T(0);
      }
    }
  }
}

template <typename T, int R>
DL4TS_GEMM_TARGET void packAny(const void* src, int32_t dtype, int64_t ls, int64_t ds, int64_t rows, int64_t kc,
                               T* dst) {
  if constexpr (sizeof(T) == 8) {
    packLines<T, R, FromF64>((const double*)src, ls, ds, rows, kc, dst);
  } else {
    switch (dtype) {
      case HALF: packLines<T, R, FromF16>((const uint16_t*)src, ls, ds, rows, kc, dst); break;
      case BFLOAT16: packLines<T, R, FromBF16>((const uint16_t*)src, ls, ds, rows, kc, dst); break;
      default: packLines<T, R, FromF32>((const float*)src, ls, ds, rows, kc, dst); break;
    }
  }
}

// ---- matrix-vector helpers ------------------------------------------------------------------------

template <class V, class C>
DL4TS_GEMM_TARGET typename V::T dotT(int64_t k, const typename C::Src* a, const typename V::T* x) {
  using T = typename V::T;
  using Reg = typename V::Reg;
  constexpr int L = V::L;
  Reg s0 = V::zero(), s1 = V::zero(), s2 = V::zero(), s3 = V::zero();
  int64_t p = 0;
  for (; p + 4 * L <= k; p += 4 * L) {
    s0 = V::fma(V::loadu(C(), a + p), V::loadu(FromSame(), x + p), s0);
    s1 = V::fma(V::loadu(C(), a + p + L), V::loadu(FromSame(), x + p + L), s1);
    s2 = V::fma(V::loadu(C(), a + p + 2 * L), V::loadu(FromSame(), x + p + 2 * L), s2);
    s3 = V::fma(V::loadu(C(), a + p + 3 * L), V::loadu(FromSame(), x + p + 3 * L), s3);
  }
  for (; p + L <= k; p += L) s0 = V::fma(V::loadu(C(), a + p), V::loadu(FromSame(), x + p), s0);
  T sum = V::hsum(V::add(V::add(s0, s1), V::add(s2, s3)));
  for (; p < k; ++p) sum += (T)C::get(a + p) * x[p];
  return sum;
}

template <class V, class C>
DL4TS_GEMM_TARGET void axpyT(int64_t m, typename V::T s, const typename C::Src* a, typename V::T* y) {
  using Reg = typename V::Reg;
  constexpr int L = V::L;
  const Reg vs = V::set1(s);
  int64_t i = 0;
  for (; i + L <= m; i += L) V::storeN(y + i, V::fma(vs, V::loadu(C(), a + i), V::loadu(FromSame(), y + i)), L);
  for (; i < m; ++i) y[i] += s * (typename V::T)C::get(a + i);
}

template <class V>
DL4TS_GEMM_TARGET typename V::T dotAny(int64_t k, const void* a, int32_t dtype, const typename V::T* x) {
  if constexpr (sizeof(typename V::T) == 8) {
    return dotT<V, FromF64>(k, (const double*)a, x);
  } else {
    switch (dtype) {
      case HALF: return dotT<V, FromF16>(k, (const uint16_t*)a, x);
      case BFLOAT16: return dotT<V, FromBF16>(k, (const uint16_t*)a, x);
      default: return dotT<V, FromF32>(k, (const float*)a, x);
    }
  }
}

template <class V>
DL4TS_GEMM_TARGET void axpyAny(int64_t m, typename V::T s, const void* a, int32_t dtype, typename V::T* y) {
  if constexpr (sizeof(typename V::T) == 8) {
    axpyT<V, FromF64>(m, s, (const double*)a, y);
  } else {
    switch (dtype) {
      case HALF: axpyT<V, FromF16>(m, s, (const uint16_t*)a, y); break;
      case BFLOAT16: axpyT<V, FromBF16>(m, s, (const uint16_t*)a, y); break;
      default: axpyT<V, FromF32>(m, s, (const float*)a, y); break;
    }
  }
}

// ---- micro-kernel -------------------------------------------------------------------------------

// C[m x n] (m <= MR, n <= NR = NV*L) = alpha * (a sliver) @ (b sliver) + beta * C over depth kc.
// The MR x NV accumulators live in registers; each depth step loads NV vectors of B and
// broadcasts MR scalars of A. Rows past m are computed on the zero padding and never stored.
template <class V, int MR, int NV>
DL4TS_GEMM_INLINE void microKernel(int64_t kc, const typename V::T* __restrict a, const typename V::T* __restrict b,
                                   typename V::T* c, int64_t rsc, int64_t csc, int m, int n, typename V::T alpha,
                                   typename V::T beta) {
  using T = typename V::T;
  using Reg = typename V::Reg;
  constexpr int L = V::L;
  constexpr int NR = NV * L;
  // Fetch the C tile while the depth loop runs (rows of C are a large stride apart).
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
    if (i < m) {
      const T* ci = c + i * rsc;
      __builtin_prefetch(ci, 1, 3);
      __builtin_prefetch(ci + (n - 1) * csc, 1, 3);
    }
  }
  Reg acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();

#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    Reg bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = V::load(b + j * L);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      const Reg ai = V::bcast(a + i);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = V::fma(ai, bv[j], acc[i][j]);
    }
    a += MR;
    b += NR;
  }

  const Reg va = V::set1(alpha);
  if (csc == 1) {
    const Reg vb = V::set1(beta);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      if (i < m) {
        T* ci = c + i * rsc;
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) {
          const int cnt = n - j * L;
          if (cnt > 0) {
            Reg r = V::mul(acc[i][j], va);
            if (beta == T(1)) r = V::add(r, V::loadN(ci + j * L, cnt));
            else if (beta != T(0)) r = V::fma(vb, V::loadN(ci + j * L, cnt), r);
            V::storeN(ci + j * L, r, cnt);
          }
        }
      }
    }
  } else {
    alignas(64) T tile[MR * NR];
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) V::storeN(tile + i * NR + j * L, V::mul(acc[i][j], va), L);
    for (int i = 0; i < m; ++i) {
      T* ci = c + i * rsc;
      const T* ti = tile + i * NR;
      if (beta == T(0)) {
        for (int j = 0; j < n; ++j) ci[j * csc] = ti[j];
      } else {
        for (int j = 0; j < n; ++j) ci[j * csc] = ti[j] + beta * ci[j * csc];
      }
    }
  }
}

template <class V, int MR, int NV>
DL4TS_GEMM_TARGET void macroKernel(int64_t mc, int64_t nc, int64_t kc, typename V::T alpha, const typename V::T* pa,
                                   const typename V::T* pb, typename V::T beta, typename V::T* c, int64_t rsc,
                                   int64_t csc) {
  constexpr int NR = NV * V::L;
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int n = nc - jr < NR ? (int)(nc - jr) : NR;
    for (int64_t ir = 0; ir < mc; ir += MR) {
      const int m = mc - ir < MR ? (int)(mc - ir) : MR;
      microKernel<V, MR, NV>(kc, pa + ir * kc, pb + jr * kc, c + ir * rsc + jr * csc, rsc, csc, m, n, alpha, beta);
    }
  }
}

template <class V, int MR, int NV>
KernelSet<typename V::T> makeKernelSet(const char* isa, int64_t mc, int64_t kc, int64_t nc) {
  using T = typename V::T;
  constexpr int NR = NV * V::L;
  return KernelSet<T>{isa,
                      MR,
                      NR,
                      (mc + MR - 1) / MR * MR,
                      kc,
                      (nc + NR - 1) / NR * NR,
                      &packAny<T, MR>,
                      &packAny<T, NR>,
                      &macroKernel<V, MR, NV>,
                      &dotAny<V>,
                      &axpyAny<V>};
}

}  // namespace
}  // namespace gemm_detail
}  // namespace dl4ts
