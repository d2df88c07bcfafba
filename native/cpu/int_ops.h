// Exact int64 formulas for integer-typed inputs (INT32, INT64, UINT8, BOOL are loaded to int64).
// Overflow saturates, and division by zero gives what the double computation followed by
// storeFromDouble would (+-max for x/0, 0 for 0/0 and x mod 0), so that the int64 and double
// domains agree wherever double is exact.
//
// Not a normal header: included by ew_isa_*.cc inside an instruction-set namespace.

// Branch-free so that loops over them vectorise: overflow iff the result's sign differs from both
// operands' (add) or from a's while b's differs too (sub); saturate toward a's sign.
inline int64_t satAdd(int64_t a, int64_t b) {
  const int64_t r = (int64_t)((uint64_t)a + (uint64_t)b);
  const int64_t sat = (a >> 63) ^ INT64_MAX;
  return ((a ^ r) & (b ^ r)) < 0 ? sat : r;
}
inline int64_t satSub(int64_t a, int64_t b) {
  const int64_t r = (int64_t)((uint64_t)a - (uint64_t)b);
  const int64_t sat = (a >> 63) ^ INT64_MAX;
  return ((a ^ b) & (a ^ r)) < 0 ? sat : r;
}
inline int64_t satMul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? (((a < 0) != (b < 0)) ? INT64_MIN : INT64_MAX) : r;
}
inline int64_t satNeg(int64_t a) { return a == INT64_MIN ? INT64_MAX : -a; }
inline int64_t truncDiv(int64_t a, int64_t b) {
  if (b == 0) return a > 0 ? INT64_MAX : a < 0 ? INT64_MIN : 0;
  if (b == -1) return satNeg(a);
  return a / b;
}
inline int64_t flooredModI(int64_t a, int64_t b) {
  if (b == 0 || b == -1) return 0;
  int64_t r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

template <int OP>
struct UOpI {
  static constexpr bool ok = false;
};
template <int OP>
struct BOpI {
  static constexpr bool ok = false;
};

#define DL4TS_UOPI(name, expr)                                      \
  template <>                                                       \
  struct UOpI<U_##name> {                                           \
    static constexpr bool ok = true;                                \
    static inline int64_t f(int64_t x, int64_t alpha, int64_t beta) { \
      (void)x;                                                      \
      (void)alpha;                                                  \
      (void)beta;                                                   \
      return expr;                                                  \
    }                                                               \
  };
#define DL4TS_BOPI(name, expr)                           \
  template <>                                            \
  struct BOpI<B_##name> {                                \
    static constexpr bool ok = true;                     \
    static inline int64_t f(int64_t a, int64_t b) { return expr; } \
  };

DL4TS_UOPI(Identity, x)
DL4TS_UOPI(Neg, satNeg(x))
DL4TS_UOPI(Abs, x < 0 ? satNeg(x) : x)
DL4TS_UOPI(Sign, (int64_t)(x > 0) - (int64_t)(x < 0))
DL4TS_UOPI(Square, satMul(x, x))
DL4TS_UOPI(Relu, x > 0 ? x : 0)
DL4TS_UOPI(Floor, x)
DL4TS_UOPI(Ceil, x)
DL4TS_UOPI(Round, x)
DL4TS_UOPI(Not, x == 0 ? 1 : 0)
DL4TS_UOPI(Clip, (x < alpha ? alpha : x) > beta ? beta : (x < alpha ? alpha : x))
DL4TS_UOPI(HardTanh, (x < alpha ? alpha : x) > beta ? beta : (x < alpha ? alpha : x))
DL4TS_UOPI(AddScalar, satAdd(x, alpha))
DL4TS_UOPI(MulScalar, satMul(x, alpha))
DL4TS_UOPI(RsubScalar, satSub(alpha, x))

DL4TS_BOPI(Add, satAdd(a, b))
DL4TS_BOPI(Sub, satSub(a, b))
DL4TS_BOPI(Mul, satMul(a, b))
DL4TS_BOPI(Div, truncDiv(a, b))
DL4TS_BOPI(Max, a > b ? a : b)
DL4TS_BOPI(Min, a < b ? a : b)
DL4TS_BOPI(Mod, flooredModI(a, b))
DL4TS_BOPI(SquaredDifference, satMul(satSub(a, b), satSub(a, b)))
DL4TS_BOPI(Eq, a == b)
DL4TS_BOPI(Ne, a != b)
DL4TS_BOPI(Lt, a < b)
DL4TS_BOPI(Le, a <= b)
DL4TS_BOPI(Gt, a > b)
DL4TS_BOPI(Ge, a >= b)
DL4TS_BOPI(And, (a != 0) & (b != 0))
DL4TS_BOPI(Or, (a != 0) | (b != 0))
DL4TS_BOPI(Xor, (a != 0) ^ (b != 0))

#undef DL4TS_UOPI
#undef DL4TS_BOPI
