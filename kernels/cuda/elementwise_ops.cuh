// The math of every elementwise op, for compute type float or double. Names match the Backend
// interface's op names (src/backend/backend.ts), prefixed u_ (unary) or b_ (binary).
#pragma once

#define MATH1(name, f32, f64) \
  __device__ __forceinline__ float name(float x) { return f32(x); } \
  __device__ __forceinline__ double name(double x) { return f64(x); }
MATH1(m_exp, expf, exp)
MATH1(m_log, logf, log)
MATH1(m_log1p, log1pf, log1p)
MATH1(m_expm1, expm1f, expm1)
MATH1(m_sqrt, sqrtf, sqrt)
MATH1(m_rsqrt, rsqrtf, rsqrt)
MATH1(m_sin, sinf, sin)
MATH1(m_cos, cosf, cos)
MATH1(m_tanh, tanhf, tanh)
MATH1(m_erf, erff, erf)
MATH1(m_floor, floorf, floor)
MATH1(m_ceil, ceilf, ceil)
MATH1(m_rint, rintf, rint)
MATH1(m_fabs, fabsf, fabs)
__device__ __forceinline__ float m_pow(float x, float y) { return powf(x, y); }
__device__ __forceinline__ double m_pow(double x, double y) { return pow(x, y); }
__device__ __forceinline__ float m_fmod(float x, float y) { return fmodf(x, y); }
__device__ __forceinline__ double m_fmod(double x, double y) { return fmod(x, y); }

#define SELU_SCALE 1.0507009873554804934193349852946
#define SELU_ALPHA 1.6732632423543772848170429916717
#define INV_SQRT2 0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794

template <class T> __device__ __forceinline__ T sigmoid_(T x) { return T(1) / (T(1) + m_exp(-x)); }
template <class T> __device__ __forceinline__ bool isnan_(T x) { return x != x; }

// ---- unary: f(x, alpha, beta) ----
template <class T> __device__ __forceinline__ T u_identity(T x, T, T) { return x; }
template <class T> __device__ __forceinline__ T u_neg(T x, T, T) { return -x; }
template <class T> __device__ __forceinline__ T u_abs(T x, T, T) { return m_fabs(x); }
template <class T> __device__ __forceinline__ T u_sign(T x, T, T) { return isnan_(x) ? x : T((x > T(0)) - (x < T(0))); }
template <class T> __device__ __forceinline__ T u_exp(T x, T, T) { return m_exp(x); }
template <class T> __device__ __forceinline__ T u_log(T x, T, T) { return m_log(x); }
template <class T> __device__ __forceinline__ T u_log1p(T x, T, T) { return m_log1p(x); }
template <class T> __device__ __forceinline__ T u_expm1(T x, T, T) { return m_expm1(x); }
template <class T> __device__ __forceinline__ T u_sqrt(T x, T, T) { return m_sqrt(x); }
template <class T> __device__ __forceinline__ T u_rsqrt(T x, T, T) { return T(1) / m_sqrt(x); }
template <class T> __device__ __forceinline__ T u_square(T x, T, T) { return x * x; }
template <class T> __device__ __forceinline__ T u_reciprocal(T x, T, T) { return T(1) / x; }
template <class T> __device__ __forceinline__ T u_sin(T x, T, T) { return m_sin(x); }
template <class T> __device__ __forceinline__ T u_cos(T x, T, T) { return m_cos(x); }
template <class T> __device__ __forceinline__ T u_tanh(T x, T, T) { return m_tanh(x); }
template <class T> __device__ __forceinline__ T u_sigmoid(T x, T, T) { return sigmoid_(x); }
template <class T> __device__ __forceinline__ T u_relu(T x, T, T) { return x > T(0) ? x : (isnan_(x) ? x : T(0)); }
template <class T> __device__ __forceinline__ T u_leakyrelu(T x, T a, T) { return x > T(0) ? x : a * x; }
template <class T> __device__ __forceinline__ T u_elu(T x, T a, T) { return x > T(0) ? x : a * m_expm1(x); }
template <class T> __device__ __forceinline__ T u_selu(T x, T, T) { return T(SELU_SCALE) * (x > T(0) ? x : T(SELU_ALPHA) * m_expm1(x)); }
template <class T> __device__ __forceinline__ T u_gelu(T x, T, T) { return T(0.5) * x * (T(1) + m_erf(x * T(INV_SQRT2))); }
template <class T> __device__ __forceinline__ T u_swish(T x, T, T) { return x * sigmoid_(x); }
template <class T> __device__ __forceinline__ T u_softplus(T x, T, T) { return x > T(0) ? x + m_log1p(m_exp(-x)) : m_log1p(m_exp(x)); }
template <class T> __device__ __forceinline__ T u_hardtanh(T x, T lo, T hi) { return x < lo ? lo : x > hi ? hi : x; }
template <class T> __device__ __forceinline__ T u_hardsigmoid(T x, T, T) { T y = T(0.2) * x + T(0.5); return y < T(0) ? T(0) : y > T(1) ? T(1) : y; }
template <class T> __device__ __forceinline__ T u_floor(T x, T, T) { return m_floor(x); }
template <class T> __device__ __forceinline__ T u_ceil(T x, T, T) { return m_ceil(x); }
template <class T> __device__ __forceinline__ T u_round(T x, T, T) { return m_rint(x); }
template <class T> __device__ __forceinline__ T u_not(T x, T, T) { return x == T(0) ? T(1) : T(0); }
template <class T> __device__ __forceinline__ T u_pow(T x, T p, T) { return m_pow(x, p); }
template <class T> __device__ __forceinline__ T u_clip(T x, T lo, T hi) { return x < lo ? lo : x > hi ? hi : x; }
template <class T> __device__ __forceinline__ T u_addScalar(T x, T a, T) { return x + a; }
template <class T> __device__ __forceinline__ T u_mulScalar(T x, T a, T) { return x * a; }
template <class T> __device__ __forceinline__ T u_rsubScalar(T x, T a, T) { return a - x; }
template <class T> __device__ __forceinline__ T u_rdivScalar(T x, T a, T) { return a / x; }
template <class T> __device__ __forceinline__ T u_fill(T, T a, T) { return a; }

// ---- binary: f(a, b, alpha, beta); activation gradients take a = x (or y), b = g ----
template <class T> __device__ __forceinline__ T b_add(T a, T b, T, T) { return a + b; }
template <class T> __device__ __forceinline__ T b_sub(T a, T b, T, T) { return a - b; }
template <class T> __device__ __forceinline__ T b_mul(T a, T b, T, T) { return a * b; }
template <class T> __device__ __forceinline__ T b_div(T a, T b, T, T) { return a / b; }
template <class T> __device__ __forceinline__ T b_pow(T a, T b, T, T) { return m_pow(a, b); }
template <class T> __device__ __forceinline__ T b_max(T a, T b, T, T) { return isnan_(a) || isnan_(b) ? a + b : a > b ? a : b; }
template <class T> __device__ __forceinline__ T b_min(T a, T b, T, T) { return isnan_(a) || isnan_(b) ? a + b : a < b ? a : b; }
template <class T> __device__ __forceinline__ T b_mod(T a, T b, T, T) { T r = m_fmod(a, b); return (r != T(0) && ((r < T(0)) != (b < T(0)))) ? r + b : r; }
template <class T> __device__ __forceinline__ T b_squaredDifference(T a, T b, T, T) { T d = a - b; return d * d; }
template <class T> __device__ __forceinline__ T b_eq(T a, T b, T, T) { return a == b; }
template <class T> __device__ __forceinline__ T b_ne(T a, T b, T, T) { return a != b; }
template <class T> __device__ __forceinline__ T b_lt(T a, T b, T, T) { return a < b; }
template <class T> __device__ __forceinline__ T b_le(T a, T b, T, T) { return a <= b; }
template <class T> __device__ __forceinline__ T b_gt(T a, T b, T, T) { return a > b; }
template <class T> __device__ __forceinline__ T b_ge(T a, T b, T, T) { return a >= b; }
template <class T> __device__ __forceinline__ T b_and(T a, T b, T, T) { return (a != T(0)) && (b != T(0)); }
template <class T> __device__ __forceinline__ T b_or(T a, T b, T, T) { return (a != T(0)) || (b != T(0)); }
template <class T> __device__ __forceinline__ T b_xor(T a, T b, T, T) { return (a != T(0)) != (b != T(0)); }
template <class T> __device__ __forceinline__ T b_reluGrad(T x, T g, T, T) { return x > T(0) ? g : T(0); }
template <class T> __device__ __forceinline__ T b_leakyreluGrad(T x, T g, T a, T) { return x > T(0) ? g : a * g; }
template <class T> __device__ __forceinline__ T b_eluGrad(T x, T g, T a, T) { return x > T(0) ? g : g * a * m_exp(x); }
template <class T> __device__ __forceinline__ T b_seluGrad(T x, T g, T, T) { return x > T(0) ? g * T(SELU_SCALE) : g * T(SELU_SCALE * SELU_ALPHA) * m_exp(x); }
template <class T> __device__ __forceinline__ T b_geluGrad(T x, T g, T, T) {
  T cdf = T(0.5) * (T(1) + m_erf(x * T(INV_SQRT2)));
  T pdf = T(INV_SQRT_2PI) * m_exp(T(-0.5) * x * x);
  return g * (cdf + x * pdf);
}
template <class T> __device__ __forceinline__ T b_swishGrad(T x, T g, T, T) { T s = sigmoid_(x); return g * (s + x * s * (T(1) - s)); }
template <class T> __device__ __forceinline__ T b_softplusGrad(T x, T g, T, T) { return g * sigmoid_(x); }
template <class T> __device__ __forceinline__ T b_hardtanhGrad(T x, T g, T lo, T hi) { return x > lo && x < hi ? g : T(0); }
template <class T> __device__ __forceinline__ T b_hardsigmoidGrad(T x, T g, T, T) { return x > T(-2.5) && x < T(2.5) ? T(0.2) * g : T(0); }
template <class T> __device__ __forceinline__ T b_sigmoidGrad(T y, T g, T, T) { return g * y * (T(1) - y); }
template <class T> __device__ __forceinline__ T b_tanhGrad(T y, T g, T, T) { return g * ((T(1) - y) * (T(1) + y)); }  // no cancellation near |y| = 1
