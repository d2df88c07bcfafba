// Fused optimizer steps: one pass over the parameter, its gradient and its state instead of a dozen
// elementwise calls (each of which streams the whole parameter through memory once).
//
//   adamStep(p, g, m, v, beta1, beta2, epsilon, alpha, decay)   all in place except g:
//     m = beta1 * m + (1 - beta1) * g
//     v = beta2 * v + (1 - beta2) * g^2
//     p = decay * p - alpha * (m / (sqrt(v) + epsilon))
//
// The operations run in the arrays' dtype (FLOAT in float32, DOUBLE in double), each rounded, in
// the order of the front end's chain of elementwise ops, so a fused step gives the values the unfused
// one did (and the CUDA kernel, kernels/cuda/updater.cu, the same values again).
#include <cmath>
#include <cstdint>
#include <string>

#include "parallel.h"
#include "registry.h"
#include "tensor.h"

// GCC contracts a * b + c into an FMA where the target has one (the AVX2/AVX-512 clones below),
// which rounds once instead of twice: keep every operation rounded.
#pragma GCC optimize("fp-contract=off")

namespace dl4ts {

namespace {

// Elements per thread. The loop is memory-bound: a second core measured no faster up to the 392k
// parameters of the benchmark MLP (and slower within a training step), so only large
// parameters are split.
constexpr int64_t ADAM_GRAIN = 1 << 20;

template <typename T>
struct AdamCoefficients {
  T b1, c1, b2, c2, eps, alpha, decay;
};

template <typename T>
__attribute__((always_inline)) inline void adamLoop(T* __restrict p, const T* __restrict g, T* __restrict m,
                                                     T* __restrict v, int64_t n, const AdamCoefficients<T>& k) {
  const T b1 = k.b1, c1 = k.c1, b2 = k.b2, c2 = k.c2, eps = k.eps, alpha = k.alpha, decay = k.decay;
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i];
    const T mi = b1 * m[i] + c1 * gi;
    const T vi = b2 * v[i] + c2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    p[i] = decay * p[i] - alpha * (mi / (std::sqrt(vi) + eps));
  }
}

// The same loop compiled for AVX-512 (16 floats a step); the baseline build only has SSE2.
template <typename T>
__attribute__((target("avx512f,avx512vl,avx512dq"))) void adamLoopAvx512(T* p, const T* g, T* m, T* v, int64_t n,
                                                                        const AdamCoefficients<T>& k) {
  adamLoop<T>(p, g, m, v, n, k);
}

template <typename T>
__attribute__((target("avx2"))) void adamLoopAvx2(T* p, const T* g, T* m, T* v, int64_t n,
                                                  const AdamCoefficients<T>& k) {
  adamLoop<T>(p, g, m, v, n, k);
}

template <typename T>
void adamLoopBase(T* p, const T* g, T* m, T* v, int64_t n, const AdamCoefficients<T>& k) {
  adamLoop<T>(p, g, m, v, n, k);
}

enum class LoopIsa { Base, Avx2, Avx512 };

LoopIsa loopIsa() {
  static const LoopIsa chosen = [] {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
      return LoopIsa::Avx512;
    if (__builtin_cpu_supports("avx2")) return LoopIsa::Avx2;
#endif
    return LoopIsa::Base;
  }();
  return chosen;
}

template <typename T>
void adamRun(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, double beta1, double beta2,
             double epsilon, double alpha, double decay) {
  // Coefficients rounded to T once, as the front end's scalar operands were.
  const AdamCoefficients<T> k{(T)beta1, (T)(1 - beta1), (T)beta2, (T)(1 - beta2), (T)epsilon, (T)alpha, (T)decay};
  T* pd = (T*)p.data;
  const T* gd = (const T*)g.data;
  T* md = (T*)m.data;
  T* vd = (T*)v.data;
  const LoopIsa isa = loopIsa();
  parallelFor(p.numel(), ADAM_GRAIN, [&](int64_t b, int64_t e) {
    if (isa == LoopIsa::Avx512) adamLoopAvx512<T>(pd + b, gd + b, md + b, vd + b, e - b, k);
    else if (isa == LoopIsa::Avx2) adamLoopAvx2<T>(pd + b, gd + b, md + b, vd + b, e - b, k);
    else adamLoopBase<T>(pd + b, gd + b, md + b, vd + b, e - b, k);
  });
}

Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  const char* op = "adamStep";
  Napi::Env env = info.Env();
  const Tensor p = parseTensor(info, 0, op, "p");
  const Tensor g = parseTensor(info, 1, op, "g");
  const Tensor m = parseTensor(info, 2, op, "m");
  const Tensor v = parseTensor(info, 3, op, "v");
  const double beta1 = parseNumber(info, 4, op, "beta1");
  const double beta2 = parseNumber(info, 5, op, "beta2");
  const double epsilon = parseNumber(info, 6, op, "epsilon");
  const double alpha = parseNumber(info, 7, op, "alpha");
  const double decay = parseNumber(info, 8, op, "decay");
  requireDtype(env, op, p, "p", p.dtype == FLOAT || p.dtype == DOUBLE, "FLOAT or DOUBLE");
  const Tensor* others[] = {&g, &m, &v};
  const char* names[] = {"g", "m", "v"};
  for (int i = 0; i < 3; ++i) {
    const Tensor& t = *others[i];
    if (t.dtype != p.dtype) {
      throwError(env, op, std::string(names[i]) + " is " + t.describe() + " but p is " + p.describe() +
                              " (expected one dtype for all four)");
    }
    requireSameShape(env, op, p, t);
  }
  const Tensor* all[] = {&p, &g, &m, &v};
  const char* allNames[] = {"p", "g", "m", "v"};
  for (int i = 0; i < 4; ++i) {
    if (!all[i]->contiguous()) {
      throwError(env, op, std::string(allNames[i]) + " " + all[i]->describe() + " must be contiguous");
    }
  }
  // p, m and v are written: each must be its own memory (g may not alias them either, as it is read
  // after they are written within a vector step).
  for (int i = 0; i < 4; ++i) {
    for (int j = i + 1; j < 4; ++j) {
      if (overlaps(*all[i], *all[j])) {
        throwError(env, op, std::string(allNames[i]) + " and " + allNames[j] + " overlap (expected four separate arrays)");
      }
    }
  }
  if (p.dtype == FLOAT) adamRun<float>(p, g, m, v, beta1, beta2, epsilon, alpha, decay);
  else adamRun<double>(p, g, m, v, beta1, beta2, epsilon, alpha, decay);
  return env.Undefined();
}

}  // namespace

DL4TS_EXPORT("adamStep", AdamStep);

}  // namespace dl4ts
