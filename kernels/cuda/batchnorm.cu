// Fused batch normalization (Backend.batchNorm): x is a packed [N, C, S] view (S = H*W for images,
// T for sequences, 1 for features) normalized per channel c over its M = N*S values, with the
// biased variance. Statistics accumulate in A (float, or double for DOUBLE). Sums are shifted by
// the channel's first value, which keeps sum-of-squares cancellation small when |mean| >> std.
// One launch per phase: partial sums per (channel, slice), a per-channel finish, an elementwise apply.
// The launcher prepends #define T_DT DT_FLOAT (or DOUBLE, HALF, BFLOAT16) and ENTRY_<name>.
#include "common.cuh"

typedef T_DT::S T;
typedef T_DT::C A;

#define BN_THREADS 256

// Block-wide sums of K values per thread; thread 0 gets the totals.
template <int K>
__device__ __forceinline__ void blockSum(A (&v)[K]) {
  __shared__ A part[K][BN_THREADS / 32];
  for (int k = 0; k < K; ++k)
    for (int o = 16; o > 0; o >>= 1) v[k] += __shfl_down_sync(0xffffffffu, v[k], o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0)
    for (int k = 0; k < K; ++k) part[k][warp] = v[k];
  __syncthreads();
  if (warp == 0) {
    for (int k = 0; k < K; ++k) {
      v[k] = lane < (int)(blockDim.x >> 5) ? part[k][lane] : (A)0;
      for (int o = 16; o > 0; o >>= 1) v[k] += __shfl_down_sync(0xffffffffu, v[k], o);
    }
  }
}

// The two sums of channel c over its P slices (written by the *_partial kernels).
__device__ __forceinline__ void sumSlices(const A* parts, i64 c, i64 P, A& s1, A& s2) {
  s1 = 0;
  s2 = 0;
  for (i64 p = 0; p < P; ++p) {
    s1 += parts[(c * P + p) * 2];
    s2 += parts[(c * P + p) * 2 + 1];
  }
}

__device__ __forceinline__ i64 elementOf(i64 idx, i64 c, i64 C, i64 S) {
  const i64 n = idx / S;
  return (n * C + c) * S + (idx - n * S);
}

#ifdef ENTRY_bn_stats_partial
// Block (c, p) sums (x - shift) and (x - shift)^2 over its slice of channel c.
// Grid (channels, P); blocks loop over channels when there are more than the grid's width.
extern "C" __global__ void bn_stats_partial(const T* x, A* parts, i64 N, i64 C, i64 S, i64 P) {
  const i64 p = blockIdx.y, M = N * S;
  const i64 chunk = (M + P - 1) / P, start = p * chunk, end = start + chunk < M ? start + chunk : M;
  for (i64 c = blockIdx.x; c < C; c += gridDim.x) {
    const A shift = T_DT::load(x[c * S]);
    A v[2] = {0, 0};
    for (i64 i = start + threadIdx.x; i < end; i += blockDim.x) {
      const A d = T_DT::load(x[elementOf(i, c, C, S)]) - shift;
      v[0] += d;
      v[1] += d * d;
    }
    blockSum<2>(v);
    if (threadIdx.x == 0) {
      parts[(c * P + p) * 2] = v[0];
      parts[(c * P + p) * 2 + 1] = v[1];
    }
    __syncthreads();  // the shared partials are reused by the next channel
  }
}
#endif

#ifdef ENTRY_bn_stats_finish
// One thread per channel: mean and 1/sqrt(var + eps) for the apply and backward kernels, and the
// running averages updated in place: running = decay * running + (1 - decay) * batch.
extern "C" __global__ void bn_stats_finish(const T* x, const A* parts, A* mean, A* invStd, T* runMean, T* runVar,
                                           i64 N, i64 C, i64 S, i64 P, double eps, double decay) {
  const i64 c = (i64)blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  A s1, s2;
  sumSlices(parts, c, P, s1, s2);
  const A m = (A)(N * S);
  const A d = s1 / m;
  A var = s2 / m - d * d;
  if (var < (A)0) var = 0;
  const A mu = T_DT::load(x[c * S]) + d;
  mean[c] = mu;
  invStd[c] = (A)1 / sqrt(var + (A)eps);
  runMean[c] = T_DT::store((double)T_DT::load(runMean[c]) * decay + (double)mu * (1.0 - decay));
  runVar[c] = T_DT::store((double)T_DT::load(runVar[c]) * decay + (double)var * (1.0 - decay));
}
#endif

#ifdef ENTRY_bn_apply
// y = (x - mean) * invStd * gamma + beta, elementwise.
extern "C" __global__ void bn_apply(const T* x, T* y, const A* mean, const A* invStd, const T* gamma, const T* beta,
                                    i64 total, i64 C, i64 S) {
  GRID_STRIDE(i, total) {
    const i64 c = (i / S) % C;
    const A xh = (T_DT::load(x[i]) - mean[c]) * invStd[c];
    y[i] = T_DT::store(xh * T_DT::load(gamma[c]) + T_DT::load(beta[c]));
  }
}
#endif

#ifdef ENTRY_bn_grad_partial
// Grid (channels, P): block (c, p) sums dy and dy * xhat over its slice of channel c.
extern "C" __global__ void bn_grad_partial(const T* x, const T* dy, const A* mean, const A* invStd, A* parts,
                                           i64 N, i64 C, i64 S, i64 P) {
  const i64 p = blockIdx.y, M = N * S;
  const i64 chunk = (M + P - 1) / P, start = p * chunk, end = start + chunk < M ? start + chunk : M;
  for (i64 c = blockIdx.x; c < C; c += gridDim.x) {
    const A mu = mean[c], is = invStd[c];
    A v[2] = {0, 0};
    for (i64 i = start + threadIdx.x; i < end; i += blockDim.x) {
      const i64 e = elementOf(i, c, C, S);
      const A g = T_DT::load(dy[e]);
      v[0] += g;
      v[1] += g * (T_DT::load(x[e]) - mu) * is;
    }
    blockSum<2>(v);
    if (threadIdx.x == 0) {
      parts[(c * P + p) * 2] = v[0];
      parts[(c * P + p) * 2 + 1] = v[1];
    }
    __syncthreads();
  }
}
#endif

#ifdef ENTRY_bn_grad_finish
// One thread per channel: dbeta = sum dy, dgamma = sum dy * xhat (kept in A for bn_grad_apply too).
extern "C" __global__ void bn_grad_finish(const A* parts, A* sums, T* dgamma, T* dbeta, i64 C, i64 P) {
  const i64 c = (i64)blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  A s1, s2;
  sumSlices(parts, c, P, s1, s2);
  sums[c * 2] = s1;
  sums[c * 2 + 1] = s2;
  dbeta[c] = T_DT::store(s1);
  dgamma[c] = T_DT::store(s2);
}
#endif

#ifdef ENTRY_bn_grad_apply
// dx = gamma * invStd * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M), elementwise.
extern "C" __global__ void bn_grad_apply(const T* x, const T* dy, T* dx, const A* mean, const A* invStd, const T* gamma,
                                         const A* sums, i64 total, i64 C, i64 S, i64 M) {
  GRID_STRIDE(i, total) {
    const i64 c = (i / S) % C;
    const A is = invStd[c], m = (A)M;
    const A xh = (T_DT::load(x[i]) - mean[c]) * is;
    const A g = T_DT::load(dy[i]) - sums[c * 2] / m - xh * (sums[c * 2 + 1] / m);
    dx[i] = T_DT::store(T_DT::load(gamma[c]) * is * g);
  }
}
#endif
