// random(dist, out, seedLo, seedHi, stream, p1, p2): stateless Philox4x32-10 per element.
//
// Element i (row-major index in out) draws the block with key (seedLo, seedHi) and counter
// (i mod 2^32, floor(i / 2^32), stream, attempt), attempt = 0 unless truncnormal redraws. Values
// are computed in double and stored in out's dtype (storeFromDouble rules), so the result does
// not depend on the thread count, the ISA or out's strides.
#include <algorithm>
#include <cmath>
#include <string>

#include "parallel.h"
#include "philox.h"
#include "registry.h"
#include "tensor.h"

// The clones below have FMA; contracting p1 + (p2 - p1) * u into one would round differently from
// the baseline build and from the CUDA kernels (kernels/cuda/random.cu).
#pragma GCC optimize("fp-contract=off")

namespace dl4ts {

namespace {

enum class Dist { Uniform, Normal, TruncNormal, Bernoulli };

constexpr double kTwoPi = 2.0 * 3.14159265358979323846;  // == 2 * Math.PI in JavaScript
constexpr uint32_t kMaxAttempts = 1u << 16;  // truncnormal: P(|z| > 2)^65536 is zero in practice

inline double normalOf(double u1, double u2) { return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2); }

// Uniform and Bernoulli draws of one block straight into a contiguous FLOAT or DOUBLE output (dropout
// masks, initialisation): the same double arithmetic as the general loop, vectorised by the clones
// below (the baseline build converts the 32-bit words one at a time).
template <typename O>
inline void simpleBlock(bool bernoulli, int m, const uint32_t* w0, const uint32_t* w1, double p1, double p2, O* o) {
  if (bernoulli) {
    for (int l = 0; l < m; ++l) o[l] = (O)(philox::unit53(w0[l], w1[l]) < p1 ? 1.0 : 0.0);
  } else {
    for (int l = 0; l < m; ++l) o[l] = (O)(p1 + (p2 - p1) * philox::unit53(w0[l], w1[l]));
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void simpleBlockFloat(bool bernoulli, int m, const uint32_t* w0,
                                                                                  const uint32_t* w1, double p1, double p2,
                                                                                  float* o) {
  simpleBlock<float>(bernoulli, m, w0, w1, p1, p2, o);
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void simpleBlockDouble(bool bernoulli, int m, const uint32_t* w0,
                                                                                   const uint32_t* w1, double p1, double p2,
                                                                                   double* o) {
  simpleBlock<double>(bernoulli, m, w0, w1, p1, p2, o);
}

uint32_t parseU32(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name) {
  const int64_t v = parseInt(info, index, op, name);
  if (v < 0 || v > 0xffffffffLL) throwError(info.Env(), op, std::string("'") + name + "' must be an integer in [0, 2^32)");
  return (uint32_t)v;
}

Napi::Value Random(const Napi::CallbackInfo& info) {
  const char* op = "random";
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throwError(env, op, "'dist' must be a string");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  Dist dist;
  if (name == "uniform") dist = Dist::Uniform;
  else if (name == "normal") dist = Dist::Normal;
  else if (name == "truncnormal") dist = Dist::TruncNormal;
  else if (name == "bernoulli") dist = Dist::Bernoulli;
  else throwError(env, op, "unknown dist '" + name + "' (uniform, normal, truncnormal, bernoulli)");
  Tensor out = parseTensor(info, 1, op, "out");
  const uint32_t seedLo = parseU32(info, 2, op, "seedLo");
  const uint32_t seedHi = parseU32(info, 3, op, "seedHi");
  const uint32_t stream = parseU32(info, 4, op, "stream");
  // Defaults: uniform [0, 1), normal/truncnormal mean 0 std 1, bernoulli p = 0.5.
  auto param = [&](size_t i, const char* pname, double dflt) {
    if (i >= info.Length() || info[i].IsUndefined()) return dflt;
    const double v = parseNumber(info, i, op, pname);
    if (std::isnan(v)) throwError(env, op, std::string("'") + pname + "' is NaN");
    return v;
  };
  const double p1 = param(5, "p1", dist == Dist::Bernoulli ? 0.5 : 0.0);
  const double p2 = param(6, "p2", 1.0);
  if (dist == Dist::Bernoulli && !(p1 >= 0.0 && p1 <= 1.0)) throwError(env, op, "bernoulli p1 must be in [0, 1], got " + std::to_string(p1));
  if ((dist == Dist::Normal || dist == Dist::TruncNormal) && !(p2 >= 0.0)) {
    throwError(env, op, name + " p2 (standard deviation) must be >= 0, got " + std::to_string(p2));
  }

  const int64_t n = out.numel();
  if (n == 0) return env.Undefined();
  const int64_t esz = (int64_t)out.itemSize();
  const bool contig = out.contiguous();
  const bool simple = contig && (dist == Dist::Uniform || dist == Dist::Bernoulli);
  // ~1.6 ns an element on one core: a second thread pays for its wake-up from 32k elements on.
  parallelFor(n, 32768, [&](int64_t b, int64_t e) {
    using philox::kBlock;
    uint32_t w0[kBlock], w1[kBlock], w2[kBlock], w3[kBlock];
    double v[kBlock];
    StridedCursor cur;
    cur.seek(out, b);
    for (int64_t i0 = b; i0 < e; i0 += kBlock) {
      const int m = (int)std::min<int64_t>(kBlock, e - i0);
      philox::block((uint64_t)i0, m, stream, 0, seedLo, seedHi, w0, w1, w2, w3);
      if (simple && out.dtype == FLOAT) {
        simpleBlockFloat(dist == Dist::Bernoulli, m, w0, w1, p1, p2, (float*)out.data + i0);
        continue;
      }
      if (simple && out.dtype == DOUBLE) {
        simpleBlockDouble(dist == Dist::Bernoulli, m, w0, w1, p1, p2, (double*)out.data + i0);
        continue;
      }
      switch (dist) {
        case Dist::Uniform:
          for (int l = 0; l < m; ++l) v[l] = p1 + (p2 - p1) * philox::unit53(w0[l], w1[l]);
          break;
        case Dist::Bernoulli:
          for (int l = 0; l < m; ++l) v[l] = philox::unit53(w0[l], w1[l]) < p1 ? 1.0 : 0.0;
          break;
        case Dist::Normal:
          for (int l = 0; l < m; ++l) v[l] = p1 + p2 * normalOf(philox::unit53(w0[l], w1[l]), philox::unit53(w2[l], w3[l]));
          break;
        default:
          for (int l = 0; l < m; ++l) {
            double z = normalOf(philox::unit53(w0[l], w1[l]), philox::unit53(w2[l], w3[l]));
            const uint64_t i = (uint64_t)(i0 + l);
            for (uint32_t attempt = 1; std::fabs(z) > 2.0 && attempt < kMaxAttempts; ++attempt) {
              const philox::Words r = philox::philox4x32((uint32_t)i, (uint32_t)(i >> 32), stream, attempt, seedLo, seedHi);
              z = normalOf(philox::unit53(r.w[0], r.w[1]), philox::unit53(r.w[2], r.w[3]));
            }
            if (std::fabs(z) > 2.0) z = 0.0;  // unreachable in practice (see kMaxAttempts)
            v[l] = p1 + p2 * z;
          }
      }
      if (contig && out.dtype == FLOAT) {
        float* o = (float*)out.data + i0;
        for (int l = 0; l < m; ++l) o[l] = (float)v[l];
      } else if (contig && out.dtype == DOUBLE) {
        double* o = (double*)out.data + i0;
        for (int l = 0; l < m; ++l) o[l] = v[l];
      } else if (contig) {
        for (int l = 0; l < m; ++l) storeFromDouble(out.data + (i0 + l) * esz, out.dtype, v[l]);
      } else {
        for (int l = 0; l < m; ++l, cur.next()) storeFromDouble(out.data + cur.off * esz, out.dtype, v[l]);
      }
    }
  });
  return env.Undefined();
}

}  // namespace

DL4TS_EXPORT("random", Random);

}  // namespace dl4ts
