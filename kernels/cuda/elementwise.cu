// Elementwise kernels. The launcher prepends the kind, op and types, e.g.
//   #define KIND_UNARY / #define OP u_exp / #define TIN DT_FLOAT / #define TOUT DT_FLOAT
// so each (op, types) pair is its own small module: one op = one kernel.
#include "common.cuh"
#include "elementwise_ops.cuh"

typedef TIN::C C;

// Elements per vector step: 16 bytes of input (at most 8 lanes, so a 1-byte output keeps 8-byte stores).
#define LANES (16 / sizeof(TIN::S) > 8 ? 8 : 16 / sizeof(TIN::S))

// LANES elements moved as one aligned unit, so the compiler emits one wide load or store.
template <class S, int N>
struct __align__(sizeof(S) * N) Pack {
  S v[N];
};

__device__ __forceinline__ bool aligned16(const void* p) { return ((u64)p & 15) == 0; }

#ifdef KIND_UNARY
extern "C" __global__ void unary_contig(const TIN::S* x, TOUT::S* y, i64 n, double alpha, double beta) {
  const C a = (C)alpha, b = (C)beta;
  if (aligned16(x) && aligned16(y)) {
    // 16 bytes of input per thread and step: full-width loads for every element size.
    const i64 nv = n / LANES;
    GRID_STRIDE(v, nv) {
      const Pack<TIN::S, LANES> in = *reinterpret_cast<const Pack<TIN::S, LANES>*>(x + v * LANES);
      Pack<TOUT::S, LANES> out;
#pragma unroll
      for (int k = 0; k < LANES; ++k) out.v[k] = TOUT::store((double)OP<C>(TIN::load(in.v[k]), a, b));
      *reinterpret_cast<Pack<TOUT::S, LANES>*>(y + v * LANES) = out;
    }
    for (i64 i = nv * LANES + (i64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x) y[i] = TOUT::store((double)OP<C>(TIN::load(x[i]), a, b));
    return;
  }
  GRID_STRIDE(i, n) y[i] = TOUT::store((double)OP<C>(TIN::load(x[i]), a, b));
}

extern "C" __global__ void unary_strided(const TIN::S* x, TensorDesc xd, TOUT::S* y, TensorDesc yd, i64 n, double alpha, double beta) {
  const C a = (C)alpha, b = (C)beta;
  GRID_STRIDE(i, n) y[offsetOf(yd, i)] = TOUT::store((double)OP<C>(TIN::load(x[offsetOf(xd, i)]), a, b));
}

#endif

#ifdef KIND_COPY
// Same-type copy of any view: raw element moves, exact for every type (INT64 included).
extern "C" __global__ void copy_strided(const TIN::S* x, TensorDesc xd, TIN::S* y, TensorDesc yd, i64 n) {
  GRID_STRIDE(i, n) y[offsetOf(yd, i)] = x[offsetOf(xd, i)];
}

#endif

#ifdef KIND_BINARY
extern "C" __global__ void binary_contig(const TIN::S* a, const TIN::S* b, TOUT::S* y, i64 n, double alpha, double beta) {
  const C p = (C)alpha, q = (C)beta;
  if (aligned16(a) && aligned16(b) && aligned16(y)) {
    const i64 nv = n / LANES;
    GRID_STRIDE(v, nv) {
      const Pack<TIN::S, LANES> pa = *reinterpret_cast<const Pack<TIN::S, LANES>*>(a + v * LANES);
      const Pack<TIN::S, LANES> pb = *reinterpret_cast<const Pack<TIN::S, LANES>*>(b + v * LANES);
      Pack<TOUT::S, LANES> out;
#pragma unroll
      for (int k = 0; k < LANES; ++k) out.v[k] = TOUT::store((double)OP<C>(TIN::load(pa.v[k]), TIN::load(pb.v[k]), p, q));
      *reinterpret_cast<Pack<TOUT::S, LANES>*>(y + v * LANES) = out;
    }
    for (i64 i = nv * LANES + (i64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x) y[i] = TOUT::store((double)OP<C>(TIN::load(a[i]), TIN::load(b[i]), p, q));
    return;
  }
  GRID_STRIDE(i, n) y[i] = TOUT::store((double)OP<C>(TIN::load(a[i]), TIN::load(b[i]), p, q));
}

extern "C" __global__ void binary_strided(const TIN::S* a, TensorDesc ad, const TIN::S* b, TensorDesc bd, TOUT::S* y, TensorDesc yd, i64 n, double alpha, double beta) {
  const C p = (C)alpha, q = (C)beta;
  GRID_STRIDE(i, n) y[offsetOf(yd, i)] = TOUT::store((double)OP<C>(TIN::load(a[offsetOf(ad, i)]), TIN::load(b[offsetOf(bd, i)]), p, q));
}

#endif

#ifdef KIND_WHERE
extern "C" __global__ void where_strided(const unsigned char* c, TensorDesc cd, const TIN::S* a, TensorDesc ad, const TIN::S* b, TensorDesc bd, TIN::S* y, TensorDesc yd, i64 n) {
  GRID_STRIDE(i, n) y[offsetOf(yd, i)] = c[offsetOf(cd, i)] ? a[offsetOf(ad, i)] : b[offsetOf(bd, i)];
}
#endif
