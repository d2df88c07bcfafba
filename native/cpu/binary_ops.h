// Binary op formulas, written once for T = Vf (float32 vector) and T = double:
// BOp<B_x>::f(a, b, alpha, beta). Comparisons and logical ops return 1/0 in T (stored as BOOL).
// Activation gradients take a = forward input x (or output y for sigmoidGrad/tanhGrad), b = g.
//
// Not a normal header: included by ew_isa_*.cc inside an instruction-set namespace after
// unary_ops.h.

template <int OP>
struct BOp;

#define DL4TS_BOP(name, expr)                         \
  template <>                                         \
  struct BOp<B_##name> {                              \
    template <class T>                                \
    static inline T f(T a, T b, T alpha, T beta) {    \
      (void)alpha;                                    \
      (void)beta;                                     \
      return expr;                                    \
    }                                                 \
  };

template <class T>
inline T bool01(decltype(T(0.0) < T(0.0)) m) {
  return vsel(m, T(1.0), T(0.0));
}

// Floored modulo (result has the divisor's sign), from the truncated fmod.
template <class T>
inline T flooredMod(T a, T b) {
  T r = vfmod(a, b);
  auto fix = (r != T(0.0)) & ((r < T(0.0)) ^ (b < T(0.0)));
  return vsel(fix, r + b, r);
}

DL4TS_BOP(Add, a + b)
DL4TS_BOP(Sub, a - b)
DL4TS_BOP(Mul, a * b)
DL4TS_BOP(Div, a / b)
DL4TS_BOP(Pow, vpow(a, b))
DL4TS_BOP(Max, vsel(visnan(a), a, vmax(a, b)))  // NaN from either side wins
DL4TS_BOP(Min, vsel(visnan(a), a, vmin(a, b)))
DL4TS_BOP(Mod, flooredMod(a, b))
DL4TS_BOP(SquaredDifference, (a - b) * (a - b))
DL4TS_BOP(Eq, bool01<T>(a == b))
DL4TS_BOP(Ne, bool01<T>(a != b))
DL4TS_BOP(Lt, bool01<T>(a < b))
DL4TS_BOP(Le, bool01<T>(a <= b))
DL4TS_BOP(Gt, bool01<T>(a > b))
DL4TS_BOP(Ge, bool01<T>(a >= b))
DL4TS_BOP(And, bool01<T>((a != T(0.0)) & (b != T(0.0))))
DL4TS_BOP(Or, bool01<T>((a != T(0.0)) | (b != T(0.0))))
DL4TS_BOP(Xor, bool01<T>((a != T(0.0)) ^ (b != T(0.0))))
DL4TS_BOP(ReluGrad, vsel(a > T(0.0), b, T(0.0)))
DL4TS_BOP(LeakyReluGrad, vsel(a > T(0.0), b, alpha * b))
DL4TS_BOP(EluGrad, vsel(a > T(0.0), b, b * (alpha * vexp(a))))
DL4TS_BOP(SeluGrad, vsel(a > T(0.0), b * T(kSeluScale), b * (T(kSeluScale * kSeluAlpha) * vexp(a))))
DL4TS_BOP(GeluGrad, b * vgeluGrad(a))
DL4TS_BOP(SwishGrad, b * vswishGrad(a))
DL4TS_BOP(SoftplusGrad, b * vsigmoid(a))
DL4TS_BOP(HardTanhGrad, vsel((a > alpha) & (a < beta), b, T(0.0)))
DL4TS_BOP(HardSigmoidGrad, vsel((a > T(-2.5)) & (a < T(2.5)), b * T(0.2), T(0.0)))
DL4TS_BOP(SigmoidGrad, b * (a * (T(1.0) - a)))
DL4TS_BOP(TanhGrad, b * ((T(1.0) - a) * (T(1.0) + a)))  // no cancellation near |y| = 1

#undef DL4TS_BOP
