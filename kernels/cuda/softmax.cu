// Softmax / log-softmax along one axis and their gradients (src/backend/cuda/reduce.ts). The
// launcher prepends #define T DT_<type> (DOUBLE, FLOAT, HALF or BFLOAT16; computed in T::C) and
// #define ENTRY_<name> 1 (the one entry compiled into the module).
// A row is n elements at a fixed stride; the outer descriptors walk the rows (other axes) of each
// operand. Outputs may be an input exactly: every pass that writes runs after all reads of the
// passes before it (a barrier or warp shuffle separates them), and writes only what its own
// thread has just read.
//   softmax:     y = exp(x - m) / s,  m = max(x), s = sum exp(x - m)
//   logSoftmax:  y = (x - m) - log(s)
//   softmaxGrad: out = y * (g - sum(g * y));  logSoftmaxGrad: out = g - exp(y) * sum(g)
// m and s are computed literally (two passes), so rows with NaN, +inf or only -inf give NaN as
// the CPU backend does (m ignores NaN here, but exp(NaN - m) then makes s NaN).
#include "common.cuh"

#define FULL_MASK 0xffffffffu
#define RU 4  // loads in flight per thread in the row loops
typedef T::C C;

__device__ __forceinline__ float expC(float v) { return expf(v); }
__device__ __forceinline__ double expC(double v) { return exp(v); }
__device__ __forceinline__ float logC(float v) { return logf(v); }
__device__ __forceinline__ double logC(double v) { return log(v); }
__device__ __forceinline__ C negInf() { return -(C)__int_as_float(0x7f800000); }
__device__ __forceinline__ C maxC(C a, C b) { return b > a ? b : a; }

// ---- row passes over positions t, t + step, ... < n ----

__device__ __forceinline__ C rowMax(const T::S* xr, i64 sx, i64 n, i64 t, i64 step) {
  C m = negInf();
  i64 j = t;
  for (; j + (RU - 1) * step < n; j += RU * step) {
    C v[RU];
#pragma unroll
    for (int u = 0; u < RU; ++u) v[u] = T::load(xr[(j + u * step) * sx]);
#pragma unroll
    for (int u = 0; u < RU; ++u) m = maxC(m, v[u]);
  }
  for (; j < n; j += step) m = maxC(m, T::load(xr[j * sx]));
  return m;
}

__device__ __forceinline__ C rowSumExp(const T::S* xr, i64 sx, i64 n, i64 t, i64 step, C m) {
  C s = C(0);
  i64 j = t;
  for (; j + (RU - 1) * step < n; j += RU * step) {
    C v[RU];
#pragma unroll
    for (int u = 0; u < RU; ++u) v[u] = T::load(xr[(j + u * step) * sx]);
#pragma unroll
    for (int u = 0; u < RU; ++u) s += expC(v[u] - m);
  }
  for (; j < n; j += step) s += expC(T::load(xr[j * sx]) - m);
  return s;
}

__device__ __forceinline__ void rowWrite(const T::S* xr, i64 sx, T::S* yr, i64 sy, i64 n, i64 t, i64 step, C m, C s, int logOut) {
  if (logOut) {
    const C ls = logC(s);
    for (i64 j = t; j < n; j += step) yr[j * sy] = T::store((double)((T::load(xr[j * sx]) - m) - ls));
  } else {
    const C inv = C(1) / s;
    for (i64 j = t; j < n; j += step) yr[j * sy] = T::store((double)(expC(T::load(xr[j * sx]) - m) * inv));
  }
}

// Row sum of the gradient: sum(g) (log) or sum(g * y).
__device__ __forceinline__ C rowGradSum(const T::S* yr, i64 sy, const T::S* gr, i64 sg, i64 n, i64 t, i64 step, int logOut) {
  C s = C(0);
  i64 j = t;
  for (; j + (RU - 1) * step < n; j += RU * step) {
    C g[RU], y[RU];
#pragma unroll
    for (int u = 0; u < RU; ++u) {
      g[u] = T::load(gr[(j + u * step) * sg]);
      y[u] = logOut ? C(1) : T::load(yr[(j + u * step) * sy]);
    }
#pragma unroll
    for (int u = 0; u < RU; ++u) s += g[u] * y[u];
  }
  for (; j < n; j += step) s += T::load(gr[j * sg]) * (logOut ? C(1) : T::load(yr[j * sy]));
  return s;
}

__device__ __forceinline__ void rowGradWrite(const T::S* yr, i64 sy, const T::S* gr, i64 sg, T::S* outr, i64 so, i64 n, i64 t, i64 step, C s, int logOut) {
  for (i64 j = t; j < n; j += step) {
    const C y = T::load(yr[j * sy]), g = T::load(gr[j * sg]);
    outr[j * so] = T::store((double)(logOut ? g - expC(y) * s : y * (g - s)));
  }
}

// ---- warp and block combination: every thread gets the result ----

__device__ __forceinline__ C warpAllMax(C v) {
#pragma unroll
  for (int d = 16; d > 0; d >>= 1) v = maxC(v, __shfl_xor_sync(FULL_MASK, v, d));
  return v;
}
// Summed towards lane 0 and broadcast, so every lane uses the same (identically rounded) sum.
__device__ __forceinline__ C warpAllSum(C v) {
#pragma unroll
  for (int d = 16; d > 0; d >>= 1) v += __shfl_down_sync(FULL_MASK, v, d);
  return __shfl_sync(FULL_MASK, v, 0);
}

// blockDim % 32 == 0; sm holds 33 values; isMax picks max, else sum.
__device__ __forceinline__ C blockAll(C v, C* sm, bool isMax) {
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = isMax ? warpAllMax(v) : warpAllSum(v);
  if (lane == 0) sm[w] = v;
  __syncthreads();
  if (w == 0) {
    const C e = isMax ? negInf() : C(0);
    v = lane < nw ? sm[lane] : e;
    v = isMax ? warpAllMax(v) : warpAllSum(v);
    if (lane == 0) sm[32] = v;
  }
  __syncthreads();
  v = sm[32];
  __syncthreads();  // sm is reused by the next call
  return v;
}

// One value per thread (tx, ty) = (threadIdx.x % bx, threadIdx.x / bx) combined over the ty
// slices of each row in slice order, so every thread of the row gets the same result.
__device__ __forceinline__ C sliceAll(C v, C* sm, int bx, bool isMax) {
  const int by = blockDim.x / bx;
  if (by == 1) return v;
  const int tx = threadIdx.x % bx;
  sm[threadIdx.x] = v;
  __syncthreads();
  if ((int)threadIdx.x < bx) {
    C r = sm[tx];
    for (int k = 1; k < by; ++k) r = isMax ? maxC(r, sm[tx + k * bx]) : r + sm[tx + k * bx];
    sm[tx] = r;  // other threads read only slots >= bx here
  }
  __syncthreads();
  v = sm[tx];
  __syncthreads();  // sm is reused by the next call
  return v;
}

// ---- forward ----

#define FWD_PARAMS const T::S *x, TensorDesc xd, i64 sx, T::S *y, TensorDesc yd, i64 sy, i64 rows, i64 n, int logOut

#if defined(ENTRY_softmax_warp)
// One warp per row (rows up to about a thousand elements).
extern "C" __global__ void softmax_warp(FWD_PARAMS) {
  const int lane = threadIdx.x & 31;
  const i64 wpb = blockDim.x >> 5;
  for (i64 r = (i64)blockIdx.x * wpb + (threadIdx.x >> 5); r < rows; r += (i64)gridDim.x * wpb) {
    const T::S* xr = x + offsetOf(xd, r);
    const C m = warpAllMax(rowMax(xr, sx, n, lane, 32));
    const C s = warpAllSum(rowSumExp(xr, sx, n, lane, 32, m));
    rowWrite(xr, sx, y + offsetOf(yd, r), sy, n, lane, 32, m, s, logOut);
  }
}
#endif

#if defined(ENTRY_softmax_block)
// One block per row (long rows).
extern "C" __global__ void softmax_block(FWD_PARAMS) {
  __shared__ C sm[33];
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const T::S* xr = x + offsetOf(xd, r);
    const C m = blockAll(rowMax(xr, sx, n, threadIdx.x, blockDim.x), sm, true);
    const C s = blockAll(rowSumExp(xr, sx, n, threadIdx.x, blockDim.x, m), sm, false);
    rowWrite(xr, sx, y + offsetOf(yd, r), sy, n, threadIdx.x, blockDim.x, m, s, logOut);
  }
}
#endif

#if defined(ENTRY_softmax_cols)
// bx rows per block on adjacent threads (rows adjacent in memory: softmax over a non-last axis,
// or very short rows); each row's elements are split over blockDim.x / bx threads.
extern "C" __global__ void softmax_cols(FWD_PARAMS, int bx) {
  __shared__ C sm[1024];
  const int tx = threadIdx.x % bx, ty = threadIdx.x / bx, by = blockDim.x / bx;
  for (i64 r0 = (i64)blockIdx.x * bx; r0 < rows; r0 += (i64)gridDim.x * bx) {
    const i64 r = r0 + tx;
    const bool live = r < rows;
    const T::S* xr = x + (live ? offsetOf(xd, r) : 0);
    const C m = sliceAll(live ? rowMax(xr, sx, n, ty, by) : negInf(), sm, bx, true);
    const C s = sliceAll(live ? rowSumExp(xr, sx, n, ty, by, m) : C(0), sm, bx, false);
    if (live) rowWrite(xr, sx, y + offsetOf(yd, r), sy, n, ty, by, m, s, logOut);
  }
}
#endif

// ---- gradients ----

#define GRAD_PARAMS                                                                                             \
  const T::S *yv, TensorDesc yd, i64 sy, const T::S *gv, TensorDesc gd, i64 sg, T::S *out, TensorDesc od, i64 so, \
      i64 rows, i64 n, int logOut

#if defined(ENTRY_softmax_grad_warp)
extern "C" __global__ void softmax_grad_warp(GRAD_PARAMS) {
  const int lane = threadIdx.x & 31;
  const i64 wpb = blockDim.x >> 5;
  for (i64 r = (i64)blockIdx.x * wpb + (threadIdx.x >> 5); r < rows; r += (i64)gridDim.x * wpb) {
    const T::S* yr = yv + offsetOf(yd, r);
    const T::S* gr = gv + offsetOf(gd, r);
    const C s = warpAllSum(rowGradSum(yr, sy, gr, sg, n, lane, 32, logOut));
    rowGradWrite(yr, sy, gr, sg, out + offsetOf(od, r), so, n, lane, 32, s, logOut);
  }
}
#endif

#if defined(ENTRY_softmax_grad_block)
extern "C" __global__ void softmax_grad_block(GRAD_PARAMS) {
  __shared__ C sm[33];
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const T::S* yr = yv + offsetOf(yd, r);
    const T::S* gr = gv + offsetOf(gd, r);
    const C s = blockAll(rowGradSum(yr, sy, gr, sg, n, threadIdx.x, blockDim.x, logOut), sm, false);
    rowGradWrite(yr, sy, gr, sg, out + offsetOf(od, r), so, n, threadIdx.x, blockDim.x, s, logOut);
  }
}
#endif

#if defined(ENTRY_softmax_grad_cols)
extern "C" __global__ void softmax_grad_cols(GRAD_PARAMS, int bx) {
  __shared__ C sm[1024];
  const int tx = threadIdx.x % bx, ty = threadIdx.x / bx, by = blockDim.x / bx;
  for (i64 r0 = (i64)blockIdx.x * bx; r0 < rows; r0 += (i64)gridDim.x * bx) {
    const i64 r = r0 + tx;
    const bool live = r < rows;
    const T::S* yr = yv + (live ? offsetOf(yd, r) : 0);
    const T::S* gr = gv + (live ? offsetOf(gd, r) : 0);
    const C s = sliceAll(live ? rowGradSum(yr, sy, gr, sg, n, ty, by, logOut) : C(0), sm, bx, false);
    if (live) rowGradWrite(yr, sy, gr, sg, out + offsetOf(od, r), so, n, ty, by, s, logOut);
  }
}
#endif
