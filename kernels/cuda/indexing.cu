// gather / scatterAdd along one axis and their index validation (src/backend/cuda/indexing.ts).
// The launcher prepends IDX (int or i64: the index type) and one of
//   #define KIND_CHECK 1                    reset_slot, check_indices
//   #define KIND_GATHER 1, ELEM <raw type>  gather_strided (raw element copies of 1, 2, 4 or 8 bytes)
//   #define KIND_SCATTER 1, T DT_<type>     scatter_add_strided
// Gather and scatter walk one index space: the shape of out (gather) or updates (scatter),
// i.e. x.shape[:axis] + indices.shape + x.shape[axis+1:], coalesced. Three descriptors share that
// shape: "a" strides into x / target (0 on the index dims; the axis offset is v * axStride),
// "b" into out / updates, "c" into indices (0 outside the index dims). Indices are validated by
// check_indices before gather or scatter runs, so those kernels do not bounds-check.
#include "common.cuh"

// Offsets of the row-major element `linear` of the shared shape in three views. I is u32 when the
// space has fewer than 2^32 elements (cheap divisions), else u64. Unrolled so the descriptors are
// indexed statically (no local-memory copy of the parameters).
template <class I>
__device__ __forceinline__ void offsets3(const TensorDesc& a, const TensorDesc& b, const TensorDesc& c, I linear, i64& oa, i64& ob,
                                         i64& oc) {
  oa = ob = oc = 0;
#pragma unroll
  for (int k = MAX_RANK - 1; k >= 0; --k) {
    if (k < a.rank) {
      const I s = (I)a.shape[k];
      const I q = linear / s;
      const i64 r = (i64)(linear - q * s);
      oa += r * a.strides[k];
      ob += r * b.strides[k];
      oc += r * c.strides[k];
      linear = q;
    }
  }
}

#ifdef KIND_CHECK
extern "C" __global__ void reset_slot(u64* firstBad) { *firstBad = ~0ull; }

// firstBad (preset to ~0 by reset_slot) receives the smallest row-major position of an index
// outside [0, bound); negative values compare as huge unsigned numbers.
extern "C" __global__ void check_indices(const IDX* idx, TensorDesc d, i64 n, i64 bound, u64* firstBad) {
  GRID_STRIDE(i, n) {
    const i64 v = (i64)idx[offsetOf(d, i)];
    if ((u64)v >= (u64)bound) {
      atomicMin(firstBad, (u64)i);
      break;  // this thread's later positions are larger
    }
  }
}
#endif

#ifdef KIND_GATHER
template <class I>
__device__ __forceinline__ void gatherBody(const ELEM* x, const TensorDesc& xd, const IDX* idx, const TensorDesc& id, ELEM* out,
                                           const TensorDesc& od, i64 axStride, i64 n) {
  GRID_STRIDE(i, n) {
    i64 xo, oo, io;
    offsets3<I>(xd, od, id, (I)i, xo, oo, io);
    out[oo] = x[xo + (i64)idx[io] * axStride];
  }
}

extern "C" __global__ void gather_strided(const ELEM* x, TensorDesc xd, ELEM* out, TensorDesc od, const IDX* idx, TensorDesc id, i64 axStride,
                                          i64 n) {
  if (n <= 0xffffffffLL) gatherBody<u32>(x, xd, idx, id, out, od, axStride, n);
  else gatherBody<u64>(x, xd, idx, id, out, od, axStride, n);
}
#endif

#ifdef KIND_SCATTER
typedef T::S S;

// Atomic *p = T::store(T::load(*p) + T::load(u)), as the CPU's scatterAdd computes each add.
// FLOAT/DOUBLE: hardware float adds. INT64: wrapping add (two's complement through unsigned).
__device__ __forceinline__ void accumulate(DT_FLOAT, float* p, float u) { atomicAdd(p, u); }
__device__ __forceinline__ void accumulate(DT_DOUBLE, double* p, double u) { atomicAdd(p, u); }
__device__ __forceinline__ void accumulate(DT_INT64, i64* p, i64 u) { atomicAdd((u64*)p, (u64)u); }

// INT32 saturates like the CPU (the add runs in double, the store clamps): a CAS loop.
__device__ __forceinline__ void accumulate(DT_INT32, int* p, int u) {
  int old = *(volatile int*)p;
  for (;;) {
    const int next = DT_INT32::store((double)old + (double)u);
    if (next == old) return;
    const int seen = atomicCAS(p, old, next);
    if (seen == old) return;
    old = seen;
  }
}

// 1- and 2-byte types (HALF, BFLOAT16, UINT8, BOOL): CAS on the aligned 32-bit word holding the
// element (allocations are 512-byte aligned and sized, so the word is inside the buffer; the
// neighbouring bytes are written back unchanged).
template <class E>
__device__ __forceinline__ void accumulate(E, typename E::S* p, typename E::S u) {
  typedef typename E::S N;
  const u64 addr = (u64)p;
  u32* word = (u32*)(addr & ~(u64)3);
  const u32 shift = (u32)(addr & 3) * 8;
  const u32 mask = (sizeof(N) == 1 ? 0xffu : 0xffffu) << shift;
  const typename E::C add = E::load(u);
  u32 old = *(volatile u32*)word;
  for (;;) {
    const N cur = (N)((old & mask) >> shift);
    const N next = E::store((double)(E::load(cur) + add));
    if (next == cur) return;
    const u32 seen = atomicCAS(word, old, (old & ~mask) | ((u32)next << shift));
    if (seen == old) return;
    old = seen;
  }
}

template <class I>
__device__ __forceinline__ void scatterBody(S* target, const TensorDesc& td, const IDX* idx, const TensorDesc& id, const S* upd,
                                            const TensorDesc& ud, i64 axStride, i64 n) {
  GRID_STRIDE(i, n) {
    i64 to, uo, io;
    offsets3<I>(td, ud, id, (I)i, to, uo, io);
    accumulate(T(), target + to + (i64)idx[io] * axStride, upd[uo]);
  }
}

extern "C" __global__ void scatter_add_strided(S* target, TensorDesc td, const S* upd, TensorDesc ud, const IDX* idx, TensorDesc id,
                                               i64 axStride, i64 n) {
  if (n <= 0xffffffffLL) scatterBody<u32>(target, td, idx, id, upd, ud, axStride, n);
  else scatterBody<u64>(target, td, idx, id, upd, ud, axStride, n);
}
#endif
