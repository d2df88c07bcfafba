// Reductions along axes (src/backend/cuda/reduce.ts). The launcher prepends
//   #define OP_<op> 1       sum mean prod max min argmax argmin variance std norm1 norm2 logsumexp any all
//   #define TIN DT_<type>   input type;  #define TOUT DT_<type>  output type
//   #define ACC float|double|i64   accumulation type (i64 with ACC_EXACT: INT64 max/min/argmax/argmin)
//   #define ENTRY_<name> 1  the one entry compiled into this module (first-use compiles stay small)
// Each output reduces its TAD (the positions along the reduced axes). Kernels get the kept axes
// (x strides `kx`, out strides `ky`) and the reduced axes (`rd`, x strides), merged by the launcher.
// A thread folds its positions into a local state in increasing position order; states then merge
// across lanes, warps and (split TADs) blocks. Order-sensitive results (first occurrence for
// argmax/argmin) carry the TAD position, so merging in any order gives the CPU's answer.
#include "common.cuh"

#define FULL_MASK 0xffffffffu
#define PART_BYTES 32  // bytes per partial state in the launcher's scratch buffer (reduce.ts)

typedef ACC A;

__device__ __forceinline__ bool nanA(float v) { return v != v; }
__device__ __forceinline__ bool nanA(double v) { return v != v; }
__device__ __forceinline__ bool nanA(i64) { return false; }
__device__ __forceinline__ float absA(float v) { return fabsf(v); }
__device__ __forceinline__ double absA(double v) { return fabs(v); }
__device__ __forceinline__ float expA(float v) { return expf(v); }
__device__ __forceinline__ double expA(double v) { return exp(v); }
__device__ __forceinline__ float infA(float) { return __int_as_float(0x7f800000); }
__device__ __forceinline__ double infA(double) { return __longlong_as_double(0x7ff0000000000000LL); }
__device__ __forceinline__ double nanD() { return __longlong_as_double(0x7ff8000000000000LL); }

__device__ __forceinline__ A loadA(const TIN::S* __restrict__ x, i64 off) {
#ifdef ACC_EXACT
  return x[off];
#else
  return (A)TIN::load(x[off]);
#endif
}

// ---------------------------------------------------------------------------------------------
// Per-op state. Loc: what a thread accumulates; St: the mergeable summary (the same type unless a
// cheaper per-thread form exists). stOut turns the merged state into the stored output.
// ---------------------------------------------------------------------------------------------

#if defined(OP_sum) || defined(OP_mean) || defined(OP_norm1) || defined(OP_norm2)
struct St { A s; };
typedef St Loc;
__device__ __forceinline__ void stInit(St& a) { a.s = A(0); }
__device__ __forceinline__ void locAdd(Loc& a, A v, i64) {
#if defined(OP_norm1)
  a.s += absA(v);
#elif defined(OP_norm2)
  a.s += v * v;
#else
  a.s += v;
#endif
}
__device__ __forceinline__ void stMerge(St& a, const St& b) { a.s += b.s; }
__device__ __forceinline__ St stShfl(const St& a, int d) { St r; r.s = __shfl_down_sync(FULL_MASK, a.s, d); return r; }
__device__ __forceinline__ TOUT::S stOut(const St& a, i64 L, double) {
#if defined(OP_mean)
  return TOUT::store((double)a.s / (double)L);
#elif defined(OP_norm2)
  return TOUT::store(sqrt((double)a.s));
#else
  return TOUT::store((double)a.s);
#endif
}
#endif

#if defined(OP_prod)
// Products accumulate in double for every type, as on the CPU (float overflows too early).
struct St { double p; };
typedef St Loc;
__device__ __forceinline__ void stInit(St& a) { a.p = 1.0; }
__device__ __forceinline__ void locAdd(Loc& a, A v, i64) { a.p *= (double)v; }
__device__ __forceinline__ void stMerge(St& a, const St& b) { a.p *= b.p; }
__device__ __forceinline__ St stShfl(const St& a, int d) { St r; r.p = __shfl_down_sync(FULL_MASK, a.p, d); return r; }
__device__ __forceinline__ TOUT::S stOut(const St& a, i64, double) { return TOUT::store(a.p); }
#endif

#if defined(OP_max) || defined(OP_min) || defined(OP_argmax) || defined(OP_argmin)
#if defined(OP_max) || defined(OP_argmax)
#define BETTER(v, w) ((v) > (w))
#else
#define BETTER(v, w) ((v) < (w))
#endif
#endif

#if defined(OP_max) || defined(OP_min)
// Value only: NaN wins and stays; equal values are interchangeable.
struct St { A v; };
typedef St Loc;
__device__ __forceinline__ void stInit(St& a) {
#if defined(ACC_EXACT) && defined(OP_max)
  a.v = -9223372036854775807LL - 1;
#elif defined(ACC_EXACT)
  a.v = 9223372036854775807LL;
#elif defined(OP_max)
  a.v = -infA(A(0));
#else
  a.v = infA(A(0));
#endif
}
__device__ __forceinline__ void locAdd(Loc& a, A v, i64) {
  if ((BETTER(v, a.v) || nanA(v)) && !nanA(a.v)) a.v = v;
}
__device__ __forceinline__ void stMerge(St& a, const St& b) { locAdd(a, b.v, 0); }
__device__ __forceinline__ St stShfl(const St& a, int d) { St r; r.v = __shfl_down_sync(FULL_MASK, a.v, d); return r; }
#if defined(ACC_EXACT)
// INT64 values stay exact (the output is INT64, x's type).
__device__ __forceinline__ TOUT::S stOut(const St& a, i64, double) { return a.v; }
#else
__device__ __forceinline__ TOUT::S stOut(const St& a, i64, double) { return TOUT::store((double)a.v); }
#endif
#endif

#if defined(OP_argmax) || defined(OP_argmin)
struct St { A v; i64 i; };  // value and its TAD position; i < 0: nothing seen yet
typedef St Loc;
// Whether (v at i) replaces (w at j): NaN beats any number; equal values keep the first position.
__device__ __forceinline__ bool beats(A v, i64 i, A w, i64 j) {
  const bool vn = nanA(v), wn = nanA(w);
  if (vn || wn) return vn && (!wn || i < j);
  if (v != w) return BETTER(v, w);
  return i < j;
}
__device__ __forceinline__ void stInit(St& a) { a.v = A(0); a.i = -1; }
__device__ __forceinline__ void locAdd(Loc& a, A v, i64 j) {
  if (a.i < 0 || beats(v, j, a.v, a.i)) { a.v = v; a.i = j; }
}
__device__ __forceinline__ void stMerge(St& a, const St& b) {
  if (b.i >= 0 && (a.i < 0 || beats(b.v, b.i, a.v, a.i))) a = b;
}
__device__ __forceinline__ St stShfl(const St& a, int d) {
  St r;
  r.v = __shfl_down_sync(FULL_MASK, a.v, d);
  r.i = __shfl_down_sync(FULL_MASK, a.i, d);
  return r;
}
__device__ __forceinline__ TOUT::S stOut(const St& a, i64, double) { return (TOUT::S)a.i; }
#endif

#if defined(OP_variance) || defined(OP_std)
// Per thread: sums of x - k, k the thread's first value (shifted data keeps the subtraction
// stable); merged as (count, mean, M2) with Chan's formula.
struct St { A mean; A m2; i64 n; };
struct Loc { A k; A s1; A s2; i64 n; };
#define HAS_LOC 1
__device__ __forceinline__ void stInit(St& a) { a.mean = A(0); a.m2 = A(0); a.n = 0; }
__device__ __forceinline__ void locInit(Loc& a) { a.k = A(0); a.s1 = A(0); a.s2 = A(0); a.n = 0; }
__device__ __forceinline__ void locAdd(Loc& a, A v, i64) {
  if (a.n == 0) a.k = v;
  const A d = v - a.k;
  a.s1 += d;
  a.s2 += d * d;
  ++a.n;
}
// A batch without the per-value first-value test.
#define HAS_BATCH 1
__device__ __forceinline__ void locAddBatch(Loc& a, const A* v, int U) {
  if (a.n == 0) a.k = v[0];
  A s1 = A(0), s2 = A(0);
#pragma unroll
  for (int u = 0; u < U; ++u) {
    const A d = v[u] - a.k;
    s1 += d;
    s2 += d * d;
  }
  a.s1 += s1;
  a.s2 += s2;
  a.n += U;
}
__device__ __forceinline__ St locDone(const Loc& a) {
  St r;
  stInit(r);
  if (a.n > 0) {
    const A n = (A)a.n;
    r.n = a.n;
    r.mean = a.k + a.s1 / n;
    const A m2 = a.s2 - a.s1 * (a.s1 / n);
    r.m2 = m2 < A(0) ? A(0) : m2;  // rounding can go below zero; NaN stays NaN
  }
  return r;
}
__device__ __forceinline__ void stMerge(St& a, const St& b) {
  if (b.n == 0) return;
  if (a.n == 0) { a = b; return; }
  const i64 n = a.n + b.n;
  const A fb = (A)b.n / (A)n;
  const A d = b.mean - a.mean;
  a.mean += d * fb;
  a.m2 += b.m2 + d * d * (A)a.n * fb;
  a.n = n;
}
__device__ __forceinline__ St stShfl(const St& a, int d) {
  St r;
  r.mean = __shfl_down_sync(FULL_MASK, a.mean, d);
  r.m2 = __shfl_down_sync(FULL_MASK, a.m2, d);
  r.n = __shfl_down_sync(FULL_MASK, a.n, d);
  return r;
}
__device__ __forceinline__ TOUT::S stOut(const St& a, i64 L, double ddof) {
  const double den = (double)L - ddof;
  double v = den > 0.0 ? (double)a.m2 / den : nanD();
#if defined(OP_std)
  v = sqrt(v);
#endif
  return TOUT::store(v);
}
#endif

#if defined(OP_logsumexp)
// Running max m and s = sum exp(x - m), rescaled when m grows. -inf values add nothing; a NaN
// makes m NaN for good; a non-finite m is the result itself (as the CPU's two-pass form).
struct St { A m; A s; };
typedef St Loc;
__device__ __forceinline__ void stInit(St& a) { a.m = -infA(A(0)); a.s = A(0); }
__device__ __forceinline__ void locAdd(Loc& a, A v, i64) {
  if (nanA(a.m)) return;
  if (nanA(v)) { a.m = v; return; }
  if (v > a.m) {
    a.s = a.s * expA(a.m - v) + A(1);
    a.m = v;
  } else if (v != -infA(A(0))) {
    a.s += expA(v - a.m);
  }
}
// A batch: one rescale to the batch's max, then independent exps (the same sums as one by one).
#define HAS_BATCH 1
__device__ __forceinline__ void locAddBatch(Loc& a, const A* v, int U) {
  if (nanA(a.m)) return;
  A bm = v[0];
  bool nan = false;
#pragma unroll
  for (int u = 0; u < U; ++u) {
    nan |= nanA(v[u]);
    bm = v[u] > bm ? v[u] : bm;
  }
  if (nan) { a.m = (A)nanD(); return; }
  if (bm > a.m) {
    a.s *= expA(a.m - bm);  // m = -inf: s is 0 and stays 0
    a.m = bm;
  }
  if (a.m == -infA(A(0))) return;  // only -inf so far
  A t = A(0);
#pragma unroll
  for (int u = 0; u < U; ++u) t += expA(v[u] - a.m);
  a.s += t;
}
__device__ __forceinline__ void stMerge(St& a, const St& b) {
  if (nanA(a.m)) return;
  if (nanA(b.m) || a.m == -infA(A(0))) { a = b; return; }
  if (b.m == -infA(A(0))) return;
  if (a.m >= b.m) {
    a.s += b.s * expA(b.m - a.m);
  } else {
    a.s = a.s * expA(a.m - b.m) + b.s;
    a.m = b.m;
  }
}
__device__ __forceinline__ St stShfl(const St& a, int d) {
  St r;
  r.m = __shfl_down_sync(FULL_MASK, a.m, d);
  r.s = __shfl_down_sync(FULL_MASK, a.s, d);
  return r;
}
__device__ __forceinline__ TOUT::S stOut(const St& a, i64, double) {
  const double m = (double)a.m;
  return TOUT::store(m - m == 0.0 ? m + log((double)a.s) : m);
}
#endif

#if defined(OP_any) || defined(OP_all)
struct St { int f; };
typedef St Loc;
#if defined(OP_any)
__device__ __forceinline__ void stInit(St& a) { a.f = 0; }
__device__ __forceinline__ void locAdd(Loc& a, A v, i64) { a.f |= (v != A(0)); }
__device__ __forceinline__ void stMerge(St& a, const St& b) { a.f |= b.f; }
#else
__device__ __forceinline__ void stInit(St& a) { a.f = 1; }
__device__ __forceinline__ void locAdd(Loc& a, A v, i64) { a.f &= (v != A(0)); }
__device__ __forceinline__ void stMerge(St& a, const St& b) { a.f &= b.f; }
#endif
__device__ __forceinline__ St stShfl(const St& a, int d) { St r; r.f = __shfl_down_sync(FULL_MASK, a.f, d); return r; }
__device__ __forceinline__ TOUT::S stOut(const St& a, i64, double) { return TOUT::store(a.f ? 1.0 : 0.0); }
#endif

#ifndef HAS_LOC
__device__ __forceinline__ void locInit(Loc& a) { stInit(a); }
__device__ __forceinline__ St locDone(const Loc& a) { return a; }
#endif

static_assert(sizeof(St) <= PART_BYTES, "partial state larger than the launcher's scratch slot");

// ---------------------------------------------------------------------------------------------
// Walking TADs and merging states.
// ---------------------------------------------------------------------------------------------

// Offset of TAD position `lin` (< 2^32) of a descriptor of rank >= 2, with 32-bit division.
__device__ __forceinline__ i64 offset32(const TensorDesc& d, u32 lin) {
  if (d.rank == 2) {  // the common case (e.g. N and H*W of NCHW): one division
    const u32 n = (u32)d.shape[1];
    const u32 q = lin / n;
    return (i64)q * d.strides[0] + (i64)(lin - q * n) * d.strides[1];
  }
  i64 off = 0;
  for (int k = d.rank - 1; k > 0; --k) {
    const u32 n = (u32)d.shape[k];
    const u32 q = lin / n;
    off += (i64)(lin - q * n) * d.strides[k];
    lin = q;
  }
  return off + (i64)lin * d.strides[0];
}

// Loads in flight per thread before they are folded (memory-level parallelism): 32 bytes, 4 to 16
// loads; at most 8 with double accumulators (1-byte types), whose states cost twice the registers.
#ifndef UNROLL
#define UNROLL (sizeof(TIN::S) >= 8 ? 4 : (sizeof(TIN::S) == 4 || sizeof(A) == 8) ? 8 : 16)
#endif

// Folds U values at positions j, j + step, ... into loc, in order.
__device__ __forceinline__ void addBatch(Loc& loc, const A* v, int U, i64 j, i64 step) {
#ifdef HAS_BATCH
  locAddBatch(loc, v, U);
#else
#pragma unroll
  for (int u = 0; u < U; ++u) locAdd(loc, v[u], j + u * step);
#endif
}

// Folds positions start + t, start + t + step, ... (< end) of the TAD at xb into loc, in order.
__device__ __forceinline__ void walk(Loc& loc, const TIN::S* __restrict__ xb, const TensorDesc& rd, i64 start, i64 end, i64 t, i64 step) {
  constexpr int U = UNROLL;
  i64 j = start + t;
  A v[U];
  if (rd.rank <= 1) {
    const i64 s = rd.strides[0];  // rank 0 (a single position): the launcher's padding stride 0
    for (; j + (U - 1) * step < end; j += U * step) {
#pragma unroll
      for (int u = 0; u < U; ++u) v[u] = loadA(xb, (j + u * step) * s);
      addBatch(loc, v, U, j, step);
    }
    for (; j < end; j += step) locAdd(loc, loadA(xb, j * s), j);
  } else if (end <= 0xffffffffLL) {
    // Offsets first, then U independent loads (a load per division would leave one in flight).
    for (; j + (U - 1) * step < end; j += U * step) {
#pragma unroll
      for (int u = 0; u < U; ++u) v[u] = loadA(xb, offset32(rd, (u32)(j + u * step)));
      addBatch(loc, v, U, j, step);
    }
    for (; j < end; j += step) locAdd(loc, loadA(xb, offset32(rd, (u32)j)), j);
  } else {
    for (; j < end; j += step) locAdd(loc, loadA(xb, offsetOf(rd, j)), j);
  }
}

// Lane 0 gets the merge of the warp's 32 states; every lane must call it.
__device__ __forceinline__ St warpMerge(St a) {
#pragma unroll
  for (int d = 16; d > 0; d >>= 1) {
    const St b = stShfl(a, d);
    stMerge(a, b);
  }
  return a;
}

// Thread 0 gets the merge of the block's states; every thread must call it (blockDim % 32 == 0).
__device__ __forceinline__ St blockMerge(St a, St* sm) {
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
  a = warpMerge(a);
  if (lane == 0) sm[w] = a;
  __syncthreads();
  if (w == 0) {
    if (lane < nw) a = sm[lane];
    else stInit(a);
    a = warpMerge(a);
  }
  __syncthreads();  // sm is reused by the next call
  return a;
}

// ---------------------------------------------------------------------------------------------
// Entries. parts (grid.y > 1 only with a scratch buffer): block (o, q) reduces part q of TAD o,
// positions [L*q/P, L*(q+1)/P), and stores its state at part[o*P + q] for reduce_finish.
// ---------------------------------------------------------------------------------------------

#if defined(ENTRY_reduce_rows_warp)
// One warp per output (short contiguous TADs).
extern "C" __global__ void reduce_rows_warp(const TIN::S* __restrict__ x, TensorDesc kx, TensorDesc rd, TOUT::S* __restrict__ y, TensorDesc ky,
                                            i64 numOut, i64 L, double ddof) {
  const int lane = threadIdx.x & 31;
  const i64 wpb = blockDim.x >> 5;
  for (i64 o = (i64)blockIdx.x * wpb + (threadIdx.x >> 5); o < numOut; o += (i64)gridDim.x * wpb) {
    Loc loc;
    locInit(loc);
    walk(loc, x + offsetOf(kx, o), rd, 0, L, lane, 32);
    const St st = warpMerge(locDone(loc));
    if (lane == 0) y[offsetOf(ky, o)] = stOut(st, L, ddof);
  }
}
#endif

#if defined(ENTRY_reduce_rows_block)
// One block per output, or per part of an output's TAD.
extern "C" __global__ void reduce_rows_block(const TIN::S* __restrict__ x, TensorDesc kx, TensorDesc rd, TOUT::S* __restrict__ y, TensorDesc ky,
                                             St* __restrict__ part, i64 numOut, i64 L, double ddof) {
  __shared__ St sm[32];
  const i64 P = gridDim.y, q = blockIdx.y;
  const i64 start = L * q / P, end = L * (q + 1) / P;
  for (i64 o = blockIdx.x; o < numOut; o += gridDim.x) {
    Loc loc;
    locInit(loc);
    walk(loc, x + offsetOf(kx, o), rd, start, end, threadIdx.x, blockDim.x);
    const St st = blockMerge(locDone(loc), sm);
    if (threadIdx.x == 0) {
      if (part) part[o * P + q] = st;
      else y[offsetOf(ky, o)] = stOut(st, L, ddof);
    }
  }
}
#endif

#if defined(ENTRY_reduce_cols)
// bx adjacent outputs per block x by slices of their TADs (bx, by powers of two, bx * by ==
// blockDim.x): thread (tx, ty) walks positions ty, ty + by, ... of output tx, so a warp reads
// adjacent outputs (coalesced when the innermost kept axis is contiguous in x).
extern "C" __global__ void reduce_cols(const TIN::S* __restrict__ x, TensorDesc kx, TensorDesc rd, TOUT::S* __restrict__ y, TensorDesc ky,
                                       St* __restrict__ part, i64 numOut, i64 L, double ddof, int bx) {
  __shared__ St sm[1024];
  const int tx = threadIdx.x % bx, ty = threadIdx.x / bx, by = blockDim.x / bx;
  const i64 P = gridDim.y, q = blockIdx.y;
  const i64 start = L * q / P, end = L * (q + 1) / P;
  for (i64 o0 = (i64)blockIdx.x * bx; o0 < numOut; o0 += (i64)gridDim.x * bx) {
    const i64 o = o0 + tx;
    Loc loc;
    locInit(loc);
    if (o < numOut) walk(loc, x + offsetOf(kx, o), rd, start, end, ty, by);
    St st = locDone(loc);
    if (by > 1) {  // tree over the slices of each output
      sm[threadIdx.x] = st;
      __syncthreads();
      for (int h = by >> 1; h > 0; h >>= 1) {
        if (ty < h) {
          stMerge(st, sm[threadIdx.x + h * bx]);
          sm[threadIdx.x] = st;
        }
        __syncthreads();
      }
    }
    if (ty == 0 && o < numOut) {
      if (part) part[o * P + q] = st;
      else y[offsetOf(ky, o)] = stOut(st, L, ddof);
    }
  }
}
#endif

#if defined(ENTRY_reduce_finish)
// One warp per output: merges its P partial states and stores the result.
extern "C" __global__ void reduce_finish(const St* __restrict__ part, i64 P, TOUT::S* __restrict__ y, TensorDesc ky, i64 numOut, i64 L, double ddof) {
  const int lane = threadIdx.x & 31;
  const i64 wpb = blockDim.x >> 5;
  for (i64 o = (i64)blockIdx.x * wpb + (threadIdx.x >> 5); o < numOut; o += (i64)gridDim.x * wpb) {
    St st;
    stInit(st);
    for (i64 k = lane; k < P; k += 32) stMerge(st, part[o * P + k]);
    st = warpMerge(st);
    if (lane == 0) y[offsetOf(ky, o)] = stOut(st, L, ddof);
  }
}
#endif
