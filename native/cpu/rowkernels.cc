// Vector traits per ISA and run-time selection of the rowkernels.h tables.
#include "rowkernels.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "dtype.h"

// GCC 12 reports its own _mm512_undefined_ps() placeholders as maybe-uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace dl4ts {

// ------------------------------------------------------------------------------------------
// Portable scalar traits (also the reference semantics for the vector ones).
namespace isa_scalar {
template <class S_>
struct VS {
  using S = S_;
  using T = S_;
  static constexpr int W = 1;
  static T load(const S* p) { return *p; }
  static void store(S* p, T v) { *p = v; }
  static T set1(S v) { return v; }
  static T zero() { return 0; }
  static T add(T a, T b) { return a + b; }
  static T sub(T a, T b) { return a - b; }
  static T mul(T a, T b) { return a * b; }
  static T fma(T a, T b, T c) { return a * b + c; }
  static T abs(T a) { return std::fabs(a); }
  static T max(T a, T b) { return a > b ? a : b; }
  static T min(T a, T b) { return a < b ? a : b; }
  static T keepNaN(T acc, T x) { return x != x ? x : acc; }
  static bool hasNaN(T v) { return v != v; }
  static double hsumd(T v) { return v; }
  static S hmax(T v) { return v; }
  static S hmin(T v) { return v; }
  static T exp(T v) { return std::exp(v); }
};
using VF = VS<float>;
using VD = VS<double>;
#include "rowkernels_impl.h"
}  // namespace isa_scalar

// Lane-wise helpers shared by the vector traits (plain code, no ISA requirement).
template <class S, int W>
static inline double laneSum(const S* t) {
  double s = 0;
  for (int i = 0; i < W; ++i) s += t[i];
  return s;
}
template <class S, int W, bool IsMax>
static inline S laneExtreme(const S* t) {
  S m = t[0];
  for (int i = 1; i < W; ++i) m = IsMax ? (t[i] > m ? t[i] : m) : (t[i] < m ? t[i] : m);
  return m;
}

// Cephes expf constants; the result is scaled by 2^n in two halves so subnormal results survive.
#define DL4TS_EXPF_CONSTANTS                                                           \
  static constexpr float kLo = -104.0f, kHi = 89.0f, kLog2e = 1.44269504088896341f; \
  static constexpr float kC1 = 0.693359375f, kC2 = -2.12194440e-4f;                 \
  static constexpr float kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f, kP2 = 8.3334519073e-3f, \
                         kP3 = 4.1665795894e-2f, kP4 = 1.6666665459e-1f, kP5 = 5.0000001201e-1f;

// exp for double: x = k ln2 + r (ln2 split as in fdlibm, exact k*hi for |k| < 2^11), degree-13
// Taylor polynomial on |r| <= ln2/2 (truncation < 1e-17), result scaled by 2^k in two halves.
#define DL4TS_EXPD_CONSTANTS                                                                  \
  static constexpr double kLo = -746.0, kHi = 710.0, kLog2e = 1.4426950408889634074;       \
  static constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
static constexpr double kExpTaylor[14] = {1.0,         1.0,          1.0 / 2,        1.0 / 6,         1.0 / 24,
                                          1.0 / 120,   1.0 / 720,    1.0 / 5040,     1.0 / 40320,     1.0 / 362880,
                                          1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0};

// ------------------------------------------------------------------------------------------
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
namespace isa_avx2 {
struct VF {
  using S = float;
  using T = __m256;
  static constexpr int W = 8;
  DL4TS_EXPF_CONSTANTS
  static T load(const S* p) { return _mm256_loadu_ps(p); }
  static void store(S* p, T v) { _mm256_storeu_ps(p, v); }
  static T set1(S v) { return _mm256_set1_ps(v); }
  static T zero() { return _mm256_setzero_ps(); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T abs(T a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  static T min(T a, T b) { return _mm256_min_ps(a, b); }
  static T keepNaN(T acc, T x) { return _mm256_blendv_ps(acc, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q)); }
  static bool hasNaN(T v) { return _mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)) != 0; }
  static double hsumd(T v) {
    alignas(32) float t[8];
    _mm256_store_ps(t, v);
    return laneSum<float, 8>(t);
  }
  static S hmax(T v) {
    alignas(32) float t[8];
    _mm256_store_ps(t, v);
    return laneExtreme<float, 8, true>(t);
  }
  static S hmin(T v) {
    alignas(32) float t[8];
    _mm256_store_ps(t, v);
    return laneExtreme<float, 8, false>(t);
  }
  static T exp(T x) {
    x = _mm256_max_ps(_mm256_set1_ps(kLo), _mm256_min_ps(_mm256_set1_ps(kHi), x));  // NaN passes
    T fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    T r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kC1), x);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kC2), r);
    T p = _mm256_set1_ps(kP0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP5));
    T y = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
    __m256i n = _mm256_cvtps_epi32(fx);
    __m256i n1 = _mm256_srai_epi32(n, 1), n2 = _mm256_sub_epi32(n, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    T s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    T s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
  }
};
struct VD {
  using S = double;
  using T = __m256d;
  static constexpr int W = 4;
  static T load(const S* p) { return _mm256_loadu_pd(p); }
  static void store(S* p, T v) { _mm256_storeu_pd(p, v); }
  static T set1(S v) { return _mm256_set1_pd(v); }
  static T zero() { return _mm256_setzero_pd(); }
  static T add(T a, T b) { return _mm256_add_pd(a, b); }
  static T sub(T a, T b) { return _mm256_sub_pd(a, b); }
  static T mul(T a, T b) { return _mm256_mul_pd(a, b); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_pd(a, b, c); }
  static T abs(T a) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), a); }
  static T max(T a, T b) { return _mm256_max_pd(a, b); }
  static T min(T a, T b) { return _mm256_min_pd(a, b); }
  static T keepNaN(T acc, T x) { return _mm256_blendv_pd(acc, x, _mm256_cmp_pd(x, x, _CMP_UNORD_Q)); }
  static bool hasNaN(T v) { return _mm256_movemask_pd(_mm256_cmp_pd(v, v, _CMP_UNORD_Q)) != 0; }
  static double hsumd(T v) {
    alignas(32) double t[4];
    _mm256_store_pd(t, v);
    return laneSum<double, 4>(t);
  }
  static S hmax(T v) {
    alignas(32) double t[4];
    _mm256_store_pd(t, v);
    return laneExtreme<double, 4, true>(t);
  }
  static S hmin(T v) {
    alignas(32) double t[4];
    _mm256_store_pd(t, v);
    return laneExtreme<double, 4, false>(t);
  }
  DL4TS_EXPD_CONSTANTS
  static T exp(T x) {
    x = _mm256_max_pd(_mm256_set1_pd(kLo), _mm256_min_pd(_mm256_set1_pd(kHi), x));  // NaN passes
    const T k = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    T r = _mm256_fnmadd_pd(k, _mm256_set1_pd(kLn2Hi), x);
    r = _mm256_fnmadd_pd(k, _mm256_set1_pd(kLn2Lo), r);
    T p = _mm256_set1_pd(kExpTaylor[13]);
    for (int i = 12; i >= 0; --i) p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(kExpTaylor[i]));
    const __m128i k32 = _mm256_cvtpd_epi32(k);  // |k| <= 1077 (NaN gives INT_MIN; p is NaN anyway)
    const __m128i k1 = _mm_srai_epi32(k32, 1), k2 = _mm_sub_epi32(k32, k1);
    const __m256i bias = _mm256_set1_epi64x(1023);
    const T s1 = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(k1), bias), 52));
    const T s2 = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(k2), bias), 52));
    return _mm256_mul_pd(_mm256_mul_pd(p, s1), s2);
  }
};
#include "rowkernels_impl.h"

static void halfRow(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(src + i))));
  for (; i < n; ++i) dst[i] = halfToFloat(src[i]);
}
static void toHalfRow(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128((__m128i*)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  for (; i < n; ++i) dst[i] = floatToHalf(src[i]);
}
}  // namespace isa_avx2
#pragma GCC pop_options

// ------------------------------------------------------------------------------------------
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx2,fma,f16c")
namespace isa_avx512 {
struct VF {
  using S = float;
  using T = __m512;
  static constexpr int W = 16;
  DL4TS_EXPF_CONSTANTS
  static T load(const S* p) { return _mm512_loadu_ps(p); }
  static void store(S* p, T v) { _mm512_storeu_ps(p, v); }
  static T set1(S v) { return _mm512_set1_ps(v); }
  static T zero() { return _mm512_setzero_ps(); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T abs(T a) { return _mm512_abs_ps(a); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  static T min(T a, T b) { return _mm512_min_ps(a, b); }
  static T keepNaN(T acc, T x) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), acc, x); }
  static bool hasNaN(T v) { return _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) != 0; }
  static double hsumd(T v) {
    alignas(64) float t[16];
    _mm512_store_ps(t, v);
    return laneSum<float, 16>(t);
  }
  static S hmax(T v) {
    alignas(64) float t[16];
    _mm512_store_ps(t, v);
    return laneExtreme<float, 16, true>(t);
  }
  static S hmin(T v) {
    alignas(64) float t[16];
    _mm512_store_ps(t, v);
    return laneExtreme<float, 16, false>(t);
  }
  static T exp(T x) {
    x = _mm512_max_ps(_mm512_set1_ps(kLo), _mm512_min_ps(_mm512_set1_ps(kHi), x));  // NaN passes
    T fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    T r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kC1), x);
    r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kC2), r);
    T p = _mm512_set1_ps(kP0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP5));
    T y = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
    __m512i n = _mm512_cvtps_epi32(fx);
    __m512i n1 = _mm512_srai_epi32(n, 1), n2 = _mm512_sub_epi32(n, n1);
    const __m512i bias = _mm512_set1_epi32(127);
    T s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n1, bias), 23));
    T s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n2, bias), 23));
    return _mm512_mul_ps(_mm512_mul_ps(y, s1), s2);
  }
};
struct VD {
  using S = double;
  using T = __m512d;
  static constexpr int W = 8;
  static T load(const S* p) { return _mm512_loadu_pd(p); }
  static void store(S* p, T v) { _mm512_storeu_pd(p, v); }
  static T set1(S v) { return _mm512_set1_pd(v); }
  static T zero() { return _mm512_setzero_pd(); }
  static T add(T a, T b) { return _mm512_add_pd(a, b); }
  static T sub(T a, T b) { return _mm512_sub_pd(a, b); }
  static T mul(T a, T b) { return _mm512_mul_pd(a, b); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_pd(a, b, c); }
  static T abs(T a) { return _mm512_abs_pd(a); }
  static T max(T a, T b) { return _mm512_max_pd(a, b); }
  static T min(T a, T b) { return _mm512_min_pd(a, b); }
  static T keepNaN(T acc, T x) { return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, x, _CMP_UNORD_Q), acc, x); }
  static bool hasNaN(T v) { return _mm512_cmp_pd_mask(v, v, _CMP_UNORD_Q) != 0; }
  static double hsumd(T v) {
    alignas(64) double t[8];
    _mm512_store_pd(t, v);
    return laneSum<double, 8>(t);
  }
  static S hmax(T v) {
    alignas(64) double t[8];
    _mm512_store_pd(t, v);
    return laneExtreme<double, 8, true>(t);
  }
  static S hmin(T v) {
    alignas(64) double t[8];
    _mm512_store_pd(t, v);
    return laneExtreme<double, 8, false>(t);
  }
  DL4TS_EXPD_CONSTANTS
  static T exp(T x) {
    x = _mm512_max_pd(_mm512_set1_pd(kLo), _mm512_min_pd(_mm512_set1_pd(kHi), x));  // NaN passes
    const T k = _mm512_roundscale_pd(_mm512_mul_pd(x, _mm512_set1_pd(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    T r = _mm512_fnmadd_pd(k, _mm512_set1_pd(kLn2Hi), x);
    r = _mm512_fnmadd_pd(k, _mm512_set1_pd(kLn2Lo), r);
    T p = _mm512_set1_pd(kExpTaylor[13]);
    for (int i = 12; i >= 0; --i) p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(kExpTaylor[i]));
    const __m512i k64 = _mm512_cvtpd_epi64(k);
    const __m512i k1 = _mm512_srai_epi64(k64, 1), k2 = _mm512_sub_epi64(k64, k1);
    const __m512i bias = _mm512_set1_epi64(1023);
    const T s1 = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(k1, bias), 52));
    const T s2 = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(k2, bias), 52));
    return _mm512_mul_pd(_mm512_mul_pd(p, s1), s2);
  }
};
#include "rowkernels_impl.h"

static void halfRow(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)(src + i))));
  for (; i < n; ++i) dst[i] = halfToFloat(src[i]);
}
static void toHalfRow(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_si256((__m256i*)(dst + i), _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  for (; i < n; ++i) dst[i] = floatToHalf(src[i]);
}
}  // namespace isa_avx512
#pragma GCC pop_options

// ------------------------------------------------------------------------------------------
namespace {

enum class Isa { Scalar, Avx2, Avx512 };

struct Tables {
  Isa isa = Isa::Scalar;
  RowKernels<float> f{};
  RowKernels<double> d{};
  void (*half)(const uint16_t*, float*, int64_t) = nullptr;
  void (*toHalf)(const float*, uint16_t*, int64_t) = nullptr;
  Tables() {
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    const char* want = std::getenv("DL4TS_CPU_ISA");
    isa = avx512 ? Isa::Avx512 : avx2 ? Isa::Avx2 : Isa::Scalar;
    if (want && std::strcmp(want, "scalar") == 0) isa = Isa::Scalar;
    if (want && std::strcmp(want, "avx2") == 0 && avx2) isa = Isa::Avx2;
    switch (isa) {
      case Isa::Avx512:
        isa_avx512::fillTables(f, d);
        half = isa_avx512::halfRow;
        toHalf = isa_avx512::toHalfRow;
        break;
      case Isa::Avx2:
        isa_avx2::fillTables(f, d);
        half = isa_avx2::halfRow;
        toHalf = isa_avx2::toHalfRow;
        break;
      default:
        isa_scalar::fillTables(f, d);
        half = [](const uint16_t* s, float* t, int64_t n) {
          for (int64_t i = 0; i < n; ++i) t[i] = halfToFloat(s[i]);
        };
        toHalf = [](const float* s, uint16_t* t, int64_t n) {
          for (int64_t i = 0; i < n; ++i) t[i] = floatToHalf(s[i]);
        };
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

template <>
const RowKernels<float>& rowKernels<float>() { return tables().f; }
template <>
const RowKernels<double>& rowKernels<double>() { return tables().d; }

void halfRowToFloat(const uint16_t* src, float* dst, int64_t n) { tables().half(src, dst, n); }
void floatRowToHalf(const float* src, uint16_t* dst, int64_t n) { tables().toHalf(src, dst, n); }

const char* rowKernelIsa() {
  switch (tables().isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "scalar";
  }
}

}  // namespace dl4ts
