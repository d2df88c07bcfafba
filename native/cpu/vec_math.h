// Math on `Vf` (simd.h) and the matching double overloads, so that op formulas in unary_ops.h and
// binary_ops.h are written once as templates over T = Vf (float32, vectorised) or T = double.
//
// Float32 transcendentals (exp, log, log1p, expm1, tanh) are Cephes-style range reduction plus
// minimax polynomials: a few ulp (max relative error ~3e-7), subnormal results and inf/NaN handled.
// Doubles use the C library. Functions without a vector formula (sin, cos, pow, fmod, erfc) call
// the C library lane by lane; gelu/geluGrad lanes are evaluated in double, which keeps their tails
// accurate in float32.
//
// Not a normal header: included by ew_isa_*.cc inside an instruction-set namespace after simd.h.

// ---- double overloads ----------------------------------------------------------------------
inline double vfma(double a, double b, double c) { return a * b + c; }
inline double vmax(double a, double b) { return a > b ? a : b; }
inline double vmin(double a, double b) { return a < b ? a : b; }
inline double vabs(double a) { return std::fabs(a); }
inline double vsqrt(double a) { return std::sqrt(a); }
inline double vfloor(double a) { return std::floor(a); }
inline double vceil(double a) { return std::ceil(a); }
inline double vrint(double a) { return std::nearbyint(a); }
inline bool visnan(double a) { return a != a; }
inline double vsel(bool m, double a, double b) { return m ? a : b; }
inline double vexp(double x) { return std::exp(x); }
inline double vlog(double x) { return std::log(x); }
inline double vlog1p(double x) { return std::log1p(x); }
inline double vexpm1(double x) { return std::expm1(x); }
inline double vtanh(double x) { return std::tanh(x); }
inline double vsin(double x) { return std::sin(x); }
inline double vcos(double x) { return std::cos(x); }
inline double vpow(double x, double y) { return std::pow(x, y); }
inline double vfmod(double x, double y) { return std::fmod(x, y); }

// Below -40 both underflow to -0/0 anyway; the guard keeps x = -inf from giving inf * 0 = NaN.
inline double geluD(double x) { return x < -40.0 ? -0.0 : 0.5 * x * std::erfc(-x * 0.70710678118654752440); }
inline double geluGradD(double x) {
  if (x < -40.0) return -0.0;
  return 0.5 * std::erfc(-x * 0.70710678118654752440) + x * std::exp(-0.5 * x * x) * 0.39894228040143267794;
}
inline double vgelu(double x) { return geluD(x); }
inline double vgeluGrad(double x) { return geluGradD(x); }

// ---- float32 vectors -----------------------------------------------------------------------
constexpr float kInfF = __builtin_inff();
constexpr float kNanF = __builtin_nanf("");

// exp(x) * 2^K. K > 0 keeps full precision where exp(x) alone would be subnormal; the caller
// multiplies by 2^-K at the very end so that only the final product is rounded into that range.
template <int K>
inline Vf vexpScaled(Vf x) {
  // Clamp so that n + K stays in [-150, 192]: below the lower bound the result is < 2^-150 (rounds
  // to 0), above 89 it is > FLT_MAX. Constant first keeps NaN (vmin/vmax return the second operand).
  constexpr float lo = -104.0f - (float)K * 0.693147181f;
  x = vmax(Vf(lo), vmin(Vf(89.0f), x));
  Vf n = vrint(x * Vf(1.44269504088896341f));
  Vf r = vfma(n, Vf(-0.693359375f), x);  // x - n*ln2 in two parts (Cody-Waite); n*C1 is exact
  r = vfma(n, Vf(2.12194440e-4f), r);
  Vf p = Vf(1.9875691500E-4f);
  p = vfma(p, r, Vf(1.3981999507E-3f));
  p = vfma(p, r, Vf(8.3334519073E-3f));
  p = vfma(p, r, Vf(4.1665795894E-2f));
  p = vfma(p, r, Vf(1.6666665459E-1f));
  p = vfma(p, r, Vf(5.0000001201E-1f));
  Vf y = vfma(p, r * r, r) + Vf(1.0f);
  // Scale by 2^(n+K) as two normal factors, so that overflow and subnormal results round once.
  Vf e = n + Vf((float)K);
  Vf e1 = vfloor(e * Vf(0.5f));
  return y * vpow2i(e1) * vpow2i(e - e1);
}
inline Vf vexp(Vf x) { return vexpScaled<0>(x); }

inline Vf vlog(Vf x) {
  Vf e;
  Vf m = vfrexp(x, e);  // [1, 2)
  Mf big = m > Vf(1.41421356237f);
  m = vsel(big, m * Vf(0.5f), m);
  e = vsel(big, e + Vf(1.0f), e);
  Vf f = m - Vf(1.0f);  // exact, in [-0.293, 0.415)
  Vf z = f * f;
  Vf y = Vf(7.0376836292E-2f);
  y = vfma(y, f, Vf(-1.1514610310E-1f));
  y = vfma(y, f, Vf(1.1676998740E-1f));
  y = vfma(y, f, Vf(-1.2420140846E-1f));
  y = vfma(y, f, Vf(1.4249322787E-1f));
  y = vfma(y, f, Vf(-1.6668057665E-1f));
  y = vfma(y, f, Vf(2.0000714765E-1f));
  y = vfma(y, f, Vf(-2.4999993993E-1f));
  y = vfma(y, f, Vf(3.3333331174E-1f));
  y = y * f * z;
  y = vfma(e, Vf(-2.12194440e-4f), y);
  y = vfma(z, Vf(-0.5f), y);
  Vf r = vfma(e, Vf(0.693359375f), f + y);
  r = vsel(x == Vf(kInfF), x, r);
  r = vsel(x == Vf(0.0f), Vf(-kInfF), r);
  r = vsel(x < Vf(0.0f), Vf(kNanF), r);
  return vsel(visnan(x), x, r);
}

// log1p(t) = log(u) * t / (u - 1) with u = 1 + t rounded (Goldberg), exact when u == 1.
inline Vf vlog1p(Vf t) {
  Vf u = t + Vf(1.0f);
  Vf d = u - Vf(1.0f);
  Vf r = vlog(u) * (t / d);
  r = vsel(d == Vf(0.0f), t, r);
  return vsel(t == Vf(kInfF), t, r);
}

// expm1: Taylor polynomial to x^9 for |x| < 0.5 (relative truncation error < 1e-8), exp(x) - 1
// beyond, where the subtraction loses at most a factor 1.6 of exp's accuracy.
inline Vf vexpm1(Vf x) {
  Vf p = Vf(2.75573192e-6f);  // 1/9!
  p = vfma(p, x, Vf(2.48015873e-5f));
  p = vfma(p, x, Vf(1.98412698e-4f));
  p = vfma(p, x, Vf(1.38888889e-3f));
  p = vfma(p, x, Vf(8.33333333e-3f));
  p = vfma(p, x, Vf(4.16666667e-2f));
  p = vfma(p, x, Vf(1.66666667e-1f));
  p = vfma(p, x, Vf(0.5f));
  Vf small = vfma(p * x, x, x);
  Vf large = vexp(x) - Vf(1.0f);
  return vsel(vabs(x) < Vf(0.5f), small, large);
}

inline Vf vtanh(Vf x) {
  Vf ax = vabs(x);
  Vf z = x * x;
  Vf p = Vf(-5.70498872745E-3f);
  p = vfma(p, z, Vf(2.06390887954E-2f));
  p = vfma(p, z, Vf(-5.37397155531E-2f));
  p = vfma(p, z, Vf(1.33314422036E-1f));
  p = vfma(p, z, Vf(-3.33332819422E-1f));
  Vf small = vfma(p * z, x, x);
  Vf large = Vf(1.0f) - Vf(2.0f) / (vexp(ax + ax) + Vf(1.0f));
  large = vsel(x < Vf(0.0f), -large, large);
  return vsel(ax < Vf(0.625f), small, large);
}

inline Vf vsin(Vf x) { return lanewise(x, [](float v) { return std::sin(v); }); }
inline Vf vcos(Vf x) { return lanewise(x, [](float v) { return std::cos(v); }); }
inline Vf vpow(Vf x, Vf y) { return lanewise2(x, y, [](float a, float b) { return std::pow(a, b); }); }
inline Vf vfmod(Vf x, Vf y) { return lanewise2(x, y, [](float a, float b) { return std::fmod(a, b); }); }
#if DL4TS_SIMD == 1
// Portable build (no FMA for the exact t^2 split below): evaluate in double, lane by lane.
inline Vf vgelu(Vf x) { return lanewise(x, [](float v) { return (float)geluD(v); }); }
inline Vf vgeluGrad(Vf x) { return lanewise(x, [](float v) { return (float)geluGradD(v); }); }
#else
// Gaussian tail for t = min(|x|, 20): Phi(-t) = exp(-t^2/2) * R(t) with R(t) = erfcx(t/sqrt2)/2, a
// polynomial in w = 1/(1 + 0.3t) fitted for relative error (3.1e-7 in float32 over [0, 20]).
// exp(-t^2/2) uses t^2 = hi + lo split exactly with FMA, and comes back scaled by 2^64 (es) so that
// tails far into the subnormal range stay accurate.
inline void gaussTail(Vf x, Vf& t, Vf& es, Vf& r) {
  t = vmin(Vf(20.0f), vabs(x));  // constant first: NaN stays NaN
  Vf w = Vf(1.0f) / vfma(t, Vf(0.3f), Vf(1.0f));
  r = Vf(-0.020863549783825874f);
  r = vfma(r, w, Vf(0.11382602155208588f));
  r = vfma(r, w, Vf(-0.23173537850379944f));
  r = vfma(r, w, Vf(0.19690947234630585f));
  r = vfma(r, w, Vf(-0.08415587991476059f));
  r = vfma(r, w, Vf(0.09904612600803375f));
  r = vfma(r, w, Vf(0.0772119015455246f));
  r = vfma(r, w, Vf(0.11055100709199905f));
  r = vfma(r, w, Vf(0.11951876431703568f));
  r = vfma(r, w, Vf(0.11969172954559326f));
  r = vfma(r, w, Vf(-2.051031913197221e-07f));
  Vf hi = t * t;
  Vf lo = vfma(t, t, -hi);
  es = vexpScaled<64>(hi * Vf(-0.5f)) * vfma(lo, Vf(-0.5f), Vf(1.0f));
}
// gelu = x * Phi(x): x * (1 - Phi(-x)) for x >= 0, -t * Phi(-t) below.
inline Vf vgelu(Vf x) {
  Vf t, es, r;
  gaussTail(x, t, es, r);
  Vf pos = x * (Vf(1.0f) - (es * Vf(5.42101086242752217e-20f)) * r);
  Vf neg = ((-t * r) * es) * Vf(5.42101086242752217e-20f);
  return vsel(x >= Vf(0.0f), pos, neg);
}
// geluGrad = Phi(x) + x * phi(x) = 1 + e*(t/sqrt(2pi) - R) for x >= 0, e*(R - t/sqrt(2pi)) below.
inline Vf vgeluGrad(Vf x) {
  Vf t, es, r;
  gaussTail(x, t, es, r);
  Vf d = vfma(t, Vf(-0.398942280401432678f), r);  // R - t/sqrt(2pi)
  Vf pos = vfma(-(es * Vf(5.42101086242752217e-20f)), d, Vf(1.0f));
  Vf neg = (es * d) * Vf(5.42101086242752217e-20f);
  return vsel(x >= Vf(0.0f), pos, neg);
}
#endif

// ---- sigmoid family, shared by unary and binary ops ---------------------------------------
// With e = exp(-|x|) and r = 1/(1+e): sigmoid = r (x >= 0) or e*r (x < 0); 1 - sigmoid = e*r or r.
// No overflow, and results that are tiny keep their accuracy: for float32, e is carried scaled by
// 2^64 (vexpScaled) and the scale is removed by the last multiplication.
inline double vexpNegScaled(double x) { return std::exp(x); }
inline double unscaleExp(double v) { return v; }
inline Vf vexpNegScaled(Vf x) { return vexpScaled<64>(x); }
inline Vf unscaleExp(Vf v) { return v * Vf(5.42101086242752217e-20f); }  // 2^-64

template <class T>
inline T vsigmoid(T x) {
  T es = vexpNegScaled(-vabs(x));
  T r = T(1.0) / (T(1.0) + unscaleExp(es));
  return vsel(x >= T(0.0), r, unscaleExp(es * r));
}
template <class T>
inline T vswish(T x) {  // x * sigmoid(x)
  T es = vexpNegScaled(-vabs(x));
  T r = T(1.0) / (T(1.0) + unscaleExp(es));
  return vsel(x >= T(0.0), x * r, unscaleExp((x * r) * es));
}
template <class T>
inline T vswishGrad(T x) {  // s + x*s*(1-s) = s * (1 + x*(1-s))
  T es = vexpNegScaled(-vabs(x));
  T e = unscaleExp(es);
  T r = T(1.0) / (T(1.0) + e);
  return vsel(x >= T(0.0), r * (T(1.0) + x * (e * r)), unscaleExp((es * r) * (T(1.0) + x * r)));
}
