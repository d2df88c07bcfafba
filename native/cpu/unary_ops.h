// Unary op formulas, written once for T = Vf (float32 vector) and T = double: UOp<U_x>::f(x, alpha,
// beta). Semantics follow API.md; NaN propagates through every op except relu-like selections that
// API.md defines by comparison (not(x): NaN is truthy -> 0).
//
// Not a normal header: included by ew_isa_*.cc inside an instruction-set namespace after
// vec_math.h.

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

template <int OP>
struct UOp;

#define DL4TS_UOP(name, expr)                       \
  template <>                                       \
  struct UOp<U_##name> {                            \
    template <class T>                              \
    static inline T f(T x, T alpha, T beta) {       \
      (void)x;                                      \
      (void)alpha;                                  \
      (void)beta;                                   \
      return expr;                                  \
    }                                               \
  };

DL4TS_UOP(Identity, x)
DL4TS_UOP(Neg, -x)
DL4TS_UOP(Abs, vabs(x))
DL4TS_UOP(Sign, vsel(x > T(0.0), T(1.0), vsel(x < T(0.0), T(-1.0), x)))  // keeps +-0 and NaN
DL4TS_UOP(Exp, vexp(x))
DL4TS_UOP(Log, vlog(x))
DL4TS_UOP(Log1p, vlog1p(x))
DL4TS_UOP(Expm1, vexpm1(x))
DL4TS_UOP(Sqrt, vsqrt(x))
DL4TS_UOP(Rsqrt, T(1.0) / vsqrt(x))
DL4TS_UOP(Square, x * x)
DL4TS_UOP(Reciprocal, T(1.0) / x)
DL4TS_UOP(Sin, vsin(x))
DL4TS_UOP(Cos, vcos(x))
DL4TS_UOP(Tanh, vtanh(x))
DL4TS_UOP(Sigmoid, vsigmoid(x))
DL4TS_UOP(Relu, vmax(T(0.0), x))
DL4TS_UOP(LeakyRelu, vsel(x > T(0.0), x, alpha * x))
DL4TS_UOP(Elu, vsel(x > T(0.0), x, alpha * vexpm1(x)))
DL4TS_UOP(Selu, T(kSeluScale) * vsel(x > T(0.0), x, T(kSeluAlpha) * vexpm1(x)))
DL4TS_UOP(Gelu, vgelu(x))
DL4TS_UOP(Swish, vswish(x))
DL4TS_UOP(Softplus, vmax(T(0.0), x) + vlog1p(vexp(-vabs(x))))  // stable for any x
DL4TS_UOP(HardTanh, vmin(beta, vmax(alpha, x)))
DL4TS_UOP(HardSigmoid, vmin(T(1.0), vmax(T(0.0), x * T(0.2) + T(0.5))))
DL4TS_UOP(Floor, vfloor(x))
DL4TS_UOP(Ceil, vceil(x))
DL4TS_UOP(Round, vrint(x))  // half to even
DL4TS_UOP(Not, vsel(x == T(0.0), T(1.0), T(0.0)))
DL4TS_UOP(Pow, vpow(x, alpha))
DL4TS_UOP(Clip, vmin(beta, vmax(alpha, x)))
DL4TS_UOP(AddScalar, x + alpha)
DL4TS_UOP(MulScalar, x * alpha)
DL4TS_UOP(RsubScalar, alpha - x)
DL4TS_UOP(RdivScalar, alpha / x)
DL4TS_UOP(Fill, alpha)

#undef DL4TS_UOP
