// The packed, cache-blocked GEMM engine (BLIS-style) behind `matmul`. Pure C++ (no N-API), so
// other kernels (convolution via im2col, dense layers) can call it directly.
//
//   C = alpha * A @ B + beta * C      A: M x K, B: K x N, C: M x N
//
// Every operand is a strided view: element (i, j) lives at data + i*rs + j*cs elements, with any
// non-negative strides (transposes and broadcasts need no copy; packing reads the strides).
// Element types: all DOUBLE (computed in double), or FLOAT/HALF/BFLOAT16 in any mix for A and B
// (converted to float32 while packing, accumulated in float32); C FLOAT, or HALF/BFLOAT16
// (accumulated in a float32 scratch and rounded to nearest even once at the end).
// beta == 0 never reads C (NaN garbage in C does not propagate); alpha == 0 or K == 0 never reads
// A or B. Callers validate shapes, dtypes and bounds and make sure C overlaps neither A nor B;
// the engine trusts them.
#pragma once
#include <cstdint>

namespace dl4ts {

struct GemmOperand {
  const void* data;  // element (0, 0)
  int32_t dtype;
  int64_t rs, cs;  // row and column strides, in elements
};

struct GemmOutput {
  void* data;
  int32_t dtype;
  int64_t rs, cs;
};

// One matrix product. `parallel` lets it split the work over the thread pool (parallel.h); it
// runs serially anyway when called from inside a pool task or when the product is small.
// Never throws; returns false only if its scratch memory could not be allocated.
bool gemm(int64_t M, int64_t N, int64_t K, double alpha, const GemmOperand& A, const GemmOperand& B, double beta,
          const GemmOutput& C, bool parallel = true);

// Batched products over leading (batch) dimensions: item `idx` (a multi-index over `shape`) uses
// A.data + sum(idx[d] * aStrides[d]) and likewise for B and C. Strides may be 0 (broadcast A or
// B; C must not be broadcast). Parallel over the batch when it is large or the matrices small,
// otherwise over the blocks of each product.
constexpr int GEMM_MAX_BATCH_RANK = 32;
struct GemmBatch {
  int rank = 0;
  int64_t shape[GEMM_MAX_BATCH_RANK] = {};
  int64_t aStrides[GEMM_MAX_BATCH_RANK] = {};
  int64_t bStrides[GEMM_MAX_BATCH_RANK] = {};
  int64_t cStrides[GEMM_MAX_BATCH_RANK] = {};
};
bool gemmBatched(const GemmBatch& batch, int64_t M, int64_t N, int64_t K, double alpha, const GemmOperand& A,
                 const GemmOperand& B, double beta, const GemmOutput& C);

// The instruction set of the micro-kernels in use: "avx512", "avx2" or "generic". The environment
// variable DL4TS_GEMM_ISA (avx512|avx2|generic) caps the choice (for testing the fallbacks).
const char* gemmIsa();

}  // namespace dl4ts
