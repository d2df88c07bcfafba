// SIMD kernels over contiguous rows of float or double, shared by reductions and softmax.
// One implementation (rowkernels_impl.h) is compiled three times: for AVX-512, for AVX2+FMA and
// as portable scalar code; rowKernels<T>() returns the table for the best ISA this CPU supports
// (checked once with __builtin_cpu_supports; DL4TS_CPU_ISA=avx512|avx2|scalar may lower it).
//
// Accuracy: every sum-like kernel keeps several vector accumulators in T, folds them into a
// double after at most 64 terms per lane and returns the
// double total, so float sums of millions of terms stay within a few ulp of the exact sum.
// max/min return NaN if any element is NaN (NaN wins). exp is a vectorised Cephes-style
// polynomial for float (about 1 ulp, subnormal results kept) and a degree-13 one for double
// (1-2 ulp); the scalar table uses std::exp.
#pragma once
#include <cstdint>

namespace dl4ts {

template <class T>
struct RowKernels {
  // --- reductions of one contiguous run (n >= 0; max/min need n >= 1) ---
  double (*sum)(const T* x, int64_t n);
  double (*sumAbs)(const T* x, int64_t n);
  double (*sumSq)(const T* x, int64_t n);
  // s1 += sum(x - c), s2 += sum((x - c)^2)
  void (*centered)(const T* x, int64_t n, T c, double* s1, double* s2);
  double (*sumExp)(const T* x, int64_t n, T c);  // sum exp(x - c)
  T (*max)(const T* x, int64_t n);
  T (*min)(const T* x, int64_t n);
  double (*dot)(const T* a, const T* b, int64_t n);
  // --- row transforms (y may equal x exactly) ---
  double (*expStore)(const T* x, T* y, int64_t n, T c);  // y = exp(x - c); returns sum y
  void (*scale)(const T* x, T* y, int64_t n, T s);        // y = x * s
  void (*subTwo)(const T* x, T* y, int64_t n, T a, T b);  // y = (x - a) - b
  void (*softmaxGrad)(const T* y, const T* g, T* out, int64_t n, T s);     // out = y * (g - s)
  void (*logSoftmaxGrad)(const T* y, const T* g, T* out, int64_t n, T s);  // out = g - exp(y) * s
  // --- column kernels: for each j < w, fold rows row[r*rs + j], r < nr, into acc[j]
  //     (reductions over outer axes; several rows per call so acc is loaded/stored once) ---
  void (*colAdd)(T* acc, const T* row, int64_t rs, int64_t nr, int64_t w);
  void (*colAbs)(T* acc, const T* row, int64_t rs, int64_t nr, int64_t w);
  void (*colSq)(T* acc, const T* row, int64_t rs, int64_t nr, int64_t w);
  // a1 += d, a2 += d^2 with d = row - c[j]
  void (*colCentered)(T* a1, T* a2, const T* row, int64_t rs, int64_t nr, const T* c, int64_t w);
  void (*colExp)(T* acc, const T* row, int64_t rs, int64_t nr, const T* c, int64_t w);  // acc += exp(row - c[j])
  void (*colMax)(T* acc, const T* row, int64_t rs, int64_t nr, int64_t w);  // NaN wins
  void (*colMin)(T* acc, const T* row, int64_t rs, int64_t nr, int64_t w);
  // --- one-row column transforms for softmax over non-innermost axes (y may equal x) ---
  void (*colExpMulStore)(const T* x, T* y, const T* c, const T* s, int64_t w);  // y = exp(x - c[j]) * s[j]
  void (*colSub2Store)(const T* x, T* y, const T* a, const T* b, int64_t w);    // y = (x - a[j]) - b[j]
  void (*colDot)(T* acc, const T* a, const T* b, int64_t w);                    // acc += a * b
  void (*colSoftmaxGrad)(const T* y, const T* g, T* out, const T* s, int64_t w);     // out = y * (g - s[j])
  void (*colLogSoftmaxGrad)(const T* y, const T* g, T* out, const T* s, int64_t w);  // out = g - exp(y) * s[j]
};

template <class T>
const RowKernels<T>& rowKernels();
template <>
const RowKernels<float>& rowKernels<float>();
template <>
const RowKernels<double>& rowKernels<double>();

// HALF <-> float for contiguous runs (F16C when available; float -> HALF rounds to nearest even
// like floatToHalf, NaNs stay NaN but may keep a different payload).
void halfRowToFloat(const uint16_t* src, float* dst, int64_t n);
void floatRowToHalf(const float* src, uint16_t* dst, int64_t n);

const char* rowKernelIsa();  // "avx512", "avx2" or "scalar"

}  // namespace dl4ts
