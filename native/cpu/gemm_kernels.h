// Internal to the GEMM engine: what each instruction-set file (gemm_kernels_*.cc) provides to the
// driver (gemm.cc). One KernelSet per (ISA, accumulator type).
#pragma once
#include <cstdint>

namespace dl4ts {
namespace gemm_detail {

template <typename T>
struct KernelSet {
  const char* isa;
  int mr, nr;       // micro-tile (register block)
  int64_t mc, kc, nc;  // cache blocks: A block mc x kc (L2), B block kc x nc (L3), B sliver kc x nr (L1)
  // Packs `rows` lines (rows of A, or columns of B) of a source block into slivers of R = mr (A)
  // or R = nr (B) lines: sliver s holds dst[s*R*kc + p*R + i] = src(s*R + i, p), zero-padded past
  // `rows`. Line i, depth p of the source is at src + (i*lineStride + p*depthStride) elements of
  // `dtype` (converted to T).
  void (*packA)(const void* src, int32_t dtype, int64_t lineStride, int64_t depthStride, int64_t rows, int64_t kc,
                T* dst);
  void (*packB)(const void* src, int32_t dtype, int64_t lineStride, int64_t depthStride, int64_t rows, int64_t kc,
                T* dst);
  // C[mc x nc] (strides rsc, csc) = alpha * packedA @ packedB + beta * C; beta == 0 does not read C.
  void (*macro)(int64_t mc, int64_t nc, int64_t kc, T alpha, const T* pa, const T* pb, T beta, T* c, int64_t rsc,
                int64_t csc);
  // Matrix-vector helpers (N == 1 products skip packing): sum_p a[p] * x[p] over contiguous a of
  // `dtype`, and y[i] += s * a[i] over contiguous a.
  T (*dot)(int64_t k, const void* a, int32_t dtype, const T* x);
  void (*axpy)(int64_t m, T s, const void* a, int32_t dtype, T* y);
};

// nullptr when the ISA is not compiled in.
const KernelSet<float>* avx512KernelsF32();
const KernelSet<double>* avx512KernelsF64();
const KernelSet<float>* avx2KernelsF32();
const KernelSet<double>* avx2KernelsF64();
const KernelSet<float>* genericKernelsF32();
const KernelSet<double>* genericKernelsF64();

}  // namespace gemm_detail
}  // namespace dl4ts
