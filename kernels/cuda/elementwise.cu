// Elementwise kernels. The launcher prepends the kind, op and types, e.g.
//   #define KIND_UNARY / #define OP u_exp / #define TIN DT_FLOAT / #define TOUT DT_FLOAT
// so each (op, types) pair is its own small module: one op = one kernel.
#include "common.cuh"
#include "elementwise_ops.cuh"

typedef TIN::C C;

#ifdef KIND_UNARY
extern "C" __global__ void unary_contig(const TIN::S* x, TOUT::S* y, i64 n, double alpha, double beta) {
  const C a = (C)alpha, b = (C)beta;
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
