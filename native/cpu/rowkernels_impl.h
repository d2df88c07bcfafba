// Kernel bodies for rowkernels.h, written once against a vector-traits type and included by
// rowkernels.cc inside one namespace per ISA (each under its own `#pragma GCC target`), after
// that namespace has defined VF (float) and VD (double) traits with:
//   S, T, W, load, store, set1, zero, add, sub, mul, fma(a,b,c)=a*b+c, abs,
//   max(a,b)/min(a,b) with SSE semantics (b when either is NaN), keepNaN(acc, x) (lanes of x that
//   are NaN replace acc), hasNaN(v), hsumd(v) (lane sum in double), hmax/hmin(v), exp(v).
// No include guard on purpose.

// Each accumulator lane adds at most kLaneTerms values before the set is folded into a double, so
// the error bound is the same for every vector width.
constexpr int64_t kLaneTerms = 64;

template <class V, class F>
inline double sumMap(const typename V::S* x, int64_t n, const F& f) {
  using T = typename V::T;
  constexpr int W = V::W;
  double total = 0;
  int64_t i = 0;
  while (n - i >= 4 * W) {
    const int64_t end = i + std::min<int64_t>(kLaneTerms * 4 * W, ((n - i) / (4 * W)) * (4 * W));
    T a0 = V::zero(), a1 = a0, a2 = a0, a3 = a0;
    for (; i < end; i += 4 * W) {
      a0 = f.acc(a0, V::load(x + i));
      a1 = f.acc(a1, V::load(x + i + W));
      a2 = f.acc(a2, V::load(x + i + 2 * W));
      a3 = f.acc(a3, V::load(x + i + 3 * W));
    }
    total += V::hsumd(V::add(V::add(a0, a1), V::add(a2, a3)));
  }
  if (n - i >= W) {
    T a = V::zero();
    for (; i + W <= n; i += W) a = f.acc(a, V::load(x + i));
    total += V::hsumd(a);
  }
  for (; i < n; ++i) total += (double)f.scalar(x[i]);
  return total;
}

template <class V>
struct FId {
  using T = typename V::T;
  using S = typename V::S;
  T acc(T a, T x) const { return V::add(a, x); }
  S scalar(S x) const { return x; }
};
template <class V>
struct FAbs {
  using T = typename V::T;
  using S = typename V::S;
  T acc(T a, T x) const { return V::add(a, V::abs(x)); }
  S scalar(S x) const { return std::fabs(x); }
};
template <class V>
struct FSq {
  using T = typename V::T;
  using S = typename V::S;
  T acc(T a, T x) const { return V::fma(x, x, a); }
  S scalar(S x) const { return x * x; }
};
template <class V>
struct FExp {
  using T = typename V::T;
  using S = typename V::S;
  T c;
  S cs;
  T acc(T a, T x) const { return V::add(a, V::exp(V::sub(x, c))); }
  S scalar(S x) const { return std::exp(x - cs); }
};

template <class V>
double kSum(const typename V::S* x, int64_t n) { return sumMap<V>(x, n, FId<V>()); }
template <class V>
double kSumAbs(const typename V::S* x, int64_t n) { return sumMap<V>(x, n, FAbs<V>()); }
template <class V>
double kSumSq(const typename V::S* x, int64_t n) { return sumMap<V>(x, n, FSq<V>()); }
template <class V>
double kSumExp(const typename V::S* x, int64_t n, typename V::S c) {
  FExp<V> f;
  f.c = V::set1(c);
  f.cs = c;
  return sumMap<V>(x, n, f);
}

template <class V>
void kCentered(const typename V::S* x, int64_t n, typename V::S c, double* s1, double* s2) {
  using T = typename V::T;
  using S = typename V::S;
  constexpr int W = V::W;
  const T cv = V::set1(c);
  double t1 = 0, t2 = 0;
  int64_t i = 0;
  while (n - i >= 2 * W) {
    const int64_t end = i + std::min<int64_t>(kLaneTerms * 2 * W, ((n - i) / (2 * W)) * (2 * W));
    T a0 = V::zero(), a1 = a0, b0 = a0, b1 = a0;
    for (; i < end; i += 2 * W) {
      T d0 = V::sub(V::load(x + i), cv), d1 = V::sub(V::load(x + i + W), cv);
      a0 = V::add(a0, d0);
      a1 = V::add(a1, d1);
      b0 = V::fma(d0, d0, b0);
      b1 = V::fma(d1, d1, b1);
    }
    t1 += V::hsumd(V::add(a0, a1));
    t2 += V::hsumd(V::add(b0, b1));
  }
  for (; i < n; ++i) {
    S d = x[i] - c;
    t1 += d;
    t2 += (double)d * d;
  }
  *s1 += t1;
  *s2 += t2;
}

template <class V>
double kDot(const typename V::S* a, const typename V::S* b, int64_t n) {
  using T = typename V::T;
  constexpr int W = V::W;
  double total = 0;
  int64_t i = 0;
  while (n - i >= 4 * W) {
    const int64_t end = i + std::min<int64_t>(kLaneTerms * 4 * W, ((n - i) / (4 * W)) * (4 * W));
    T a0 = V::zero(), a1 = a0, a2 = a0, a3 = a0;
    for (; i < end; i += 4 * W) {
      a0 = V::fma(V::load(a + i), V::load(b + i), a0);
      a1 = V::fma(V::load(a + i + W), V::load(b + i + W), a1);
      a2 = V::fma(V::load(a + i + 2 * W), V::load(b + i + 2 * W), a2);
      a3 = V::fma(V::load(a + i + 3 * W), V::load(b + i + 3 * W), a3);
    }
    total += V::hsumd(V::add(V::add(a0, a1), V::add(a2, a3)));
  }
  for (; i < n; ++i) total += (double)a[i] * b[i];
  return total;
}

// Max (IsMax) or min with NaN winning; n >= 1.
template <class V, bool IsMax>
typename V::S kExtreme(const typename V::S* x, int64_t n) {
  using T = typename V::T;
  using S = typename V::S;
  constexpr int W = V::W;
  if (n < W) {
    S m = x[0];
    for (int64_t i = 0; i < n; ++i) {
      if (x[i] != x[i]) return x[i];
      if (IsMax ? x[i] > m : x[i] < m) m = x[i];
    }
    return m;
  }
  T m0 = V::load(x), m1 = m0, m2 = m0, m3 = m0;
  T nan = V::keepNaN(V::zero(), m0);
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    T v0 = V::load(x + i), v1 = V::load(x + i + W), v2 = V::load(x + i + 2 * W), v3 = V::load(x + i + 3 * W);
    nan = V::keepNaN(V::keepNaN(nan, v0), v1);
    nan = V::keepNaN(V::keepNaN(nan, v2), v3);
    m0 = IsMax ? V::max(m0, v0) : V::min(m0, v0);
    m1 = IsMax ? V::max(m1, v1) : V::min(m1, v1);
    m2 = IsMax ? V::max(m2, v2) : V::min(m2, v2);
    m3 = IsMax ? V::max(m3, v3) : V::min(m3, v3);
  }
  for (; i + W <= n; i += W) {
    T v = V::load(x + i);
    nan = V::keepNaN(nan, v);
    m0 = IsMax ? V::max(m0, v) : V::min(m0, v);
  }
  if (i < n) {  // overlapping last vector: max/min are idempotent
    T v = V::load(x + n - W);
    nan = V::keepNaN(nan, v);
    m1 = IsMax ? V::max(m1, v) : V::min(m1, v);
  }
  if (V::hasNaN(nan)) return std::numeric_limits<S>::quiet_NaN();
  T m = IsMax ? V::max(V::max(m0, m1), V::max(m2, m3)) : V::min(V::min(m0, m1), V::min(m2, m3));
  return IsMax ? V::hmax(m) : V::hmin(m);
}
template <class V>
typename V::S kMax(const typename V::S* x, int64_t n) { return kExtreme<V, true>(x, n); }
template <class V>
typename V::S kMin(const typename V::S* x, int64_t n) { return kExtreme<V, false>(x, n); }

template <class V>
double kExpStore(const typename V::S* x, typename V::S* y, int64_t n, typename V::S c) {
  using T = typename V::T;
  using S = typename V::S;
  constexpr int W = V::W;
  const T cv = V::set1(c);
  double total = 0;
  int64_t i = 0;
  while (n - i >= 2 * W) {
    const int64_t end = i + std::min<int64_t>(kLaneTerms * 2 * W, ((n - i) / (2 * W)) * (2 * W));
    T a0 = V::zero(), a1 = a0;
    for (; i < end; i += 2 * W) {
      T e0 = V::exp(V::sub(V::load(x + i), cv)), e1 = V::exp(V::sub(V::load(x + i + W), cv));
      V::store(y + i, e0);
      V::store(y + i + W, e1);
      a0 = V::add(a0, e0);
      a1 = V::add(a1, e1);
    }
    total += V::hsumd(V::add(a0, a1));
  }
  for (; i < n; ++i) {
    S e = std::exp(x[i] - c);
    y[i] = e;
    total += e;
  }
  return total;
}

template <class V>
void kScale(const typename V::S* x, typename V::S* y, int64_t n, typename V::S s) {
  constexpr int W = V::W;
  const typename V::T sv = V::set1(s);
  int64_t i = 0;
  for (; i + W <= n; i += W) V::store(y + i, V::mul(V::load(x + i), sv));
  for (; i < n; ++i) y[i] = x[i] * s;
}

template <class V>
void kSubTwo(const typename V::S* x, typename V::S* y, int64_t n, typename V::S a, typename V::S b) {
  constexpr int W = V::W;
  const typename V::T av = V::set1(a), bv = V::set1(b);
  int64_t i = 0;
  for (; i + W <= n; i += W) V::store(y + i, V::sub(V::sub(V::load(x + i), av), bv));
  for (; i < n; ++i) y[i] = (x[i] - a) - b;
}

template <class V>
void kSoftmaxGrad(const typename V::S* y, const typename V::S* g, typename V::S* out, int64_t n, typename V::S s) {
  constexpr int W = V::W;
  const typename V::T sv = V::set1(s);
  int64_t i = 0;
  for (; i + W <= n; i += W) V::store(out + i, V::mul(V::load(y + i), V::sub(V::load(g + i), sv)));
  for (; i < n; ++i) out[i] = y[i] * (g[i] - s);
}

template <class V>
void kLogSoftmaxGrad(const typename V::S* y, const typename V::S* g, typename V::S* out, int64_t n, typename V::S s) {
  constexpr int W = V::W;
  const typename V::T sv = V::set1(s);
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    typename V::T e = V::exp(V::load(y + i));
    V::store(out + i, V::sub(V::load(g + i), V::mul(e, sv)));
  }
  for (; i < n; ++i) out[i] = g[i] - std::exp(y[i]) * s;
}

// ---- column kernels ----
// Op is a functor with vector step(acc, x, j) and scalar sstep(acc, x, j) (j = column, for c[j]).
template <class V, class Op>
inline void colFold(typename V::S* acc, const typename V::S* row, int64_t rs, int64_t nr, int64_t w, const Op& op) {
  using T = typename V::T;
  using S = typename V::S;
  constexpr int W = V::W;
  int64_t j = 0;
  for (; j + W <= w; j += W) {
    T a = V::load(acc + j), b = op.identity(a);
    const S* p = row + j;
    int64_t r = 0;
    for (; r + 2 <= nr; r += 2, p += 2 * rs) {  // two chains hide the add latency
      a = op.step(a, V::load(p), j);
      b = op.step(b, V::load(p + rs), j);
    }
    if (r < nr) a = op.step(a, V::load(p), j);
    V::store(acc + j, op.merge(a, b));
  }
  for (; j < w; ++j) {
    S a = acc[j];
    const S* p = row + j;
    for (int64_t r = 0; r < nr; ++r, p += rs) a = op.sstep(a, *p, j);
    acc[j] = a;
  }
}

template <class V, int Kind>  // 0 add, 1 abs, 2 square
struct ColSumOp {
  using T = typename V::T;
  using S = typename V::S;
  T identity(T) const { return V::zero(); }
  T step(T a, T x, int64_t) const { return Kind == 0 ? V::add(a, x) : Kind == 1 ? V::add(a, V::abs(x)) : V::fma(x, x, a); }
  S sstep(S a, S x, int64_t) const { return a + (Kind == 0 ? x : Kind == 1 ? std::fabs(x) : x * x); }
  T merge(T a, T b) const { return V::add(a, b); }
};
template <class V>
struct ColExpOp {
  using T = typename V::T;
  using S = typename V::S;
  const S* c;
  T identity(T) const { return V::zero(); }
  T step(T a, T x, int64_t j) const { return V::add(a, V::exp(V::sub(x, V::load(c + j)))); }
  S sstep(S a, S x, int64_t j) const { return a + std::exp(x - c[j]); }
  T merge(T a, T b) const { return V::add(a, b); }
};
template <class V, bool IsMax>
struct ColExtremeOp {
  using T = typename V::T;
  using S = typename V::S;
  T identity(T a) const { return a; }
  // max(x, a) keeps a when either is NaN (so a NaN acc stays); then NaN lanes of x win.
  T step(T a, T x, int64_t) const { return V::keepNaN(IsMax ? V::max(x, a) : V::min(x, a), x); }
  S sstep(S a, S x, int64_t) const { return (x != x || (IsMax ? x > a : x < a)) ? x : a; }
  T merge(T a, T b) const { return V::keepNaN(V::keepNaN(IsMax ? V::max(a, b) : V::min(a, b), a), b); }
};

template <class V>
void kColAdd(typename V::S* acc, const typename V::S* row, int64_t rs, int64_t nr, int64_t w) { colFold<V>(acc, row, rs, nr, w, ColSumOp<V, 0>()); }
template <class V>
void kColAbs(typename V::S* acc, const typename V::S* row, int64_t rs, int64_t nr, int64_t w) { colFold<V>(acc, row, rs, nr, w, ColSumOp<V, 1>()); }
template <class V>
void kColSq(typename V::S* acc, const typename V::S* row, int64_t rs, int64_t nr, int64_t w) { colFold<V>(acc, row, rs, nr, w, ColSumOp<V, 2>()); }
template <class V>
void kColExp(typename V::S* acc, const typename V::S* row, int64_t rs, int64_t nr, const typename V::S* c, int64_t w) {
  ColExpOp<V> op;
  op.c = c;
  colFold<V>(acc, row, rs, nr, w, op);
}
template <class V>
void kColMax(typename V::S* acc, const typename V::S* row, int64_t rs, int64_t nr, int64_t w) { colFold<V>(acc, row, rs, nr, w, ColExtremeOp<V, true>()); }
template <class V>
void kColMin(typename V::S* acc, const typename V::S* row, int64_t rs, int64_t nr, int64_t w) { colFold<V>(acc, row, rs, nr, w, ColExtremeOp<V, false>()); }

template <class V>
void kColCentered(typename V::S* a1, typename V::S* a2, const typename V::S* row, int64_t rs, int64_t nr, const typename V::S* c,
                  int64_t w) {
  using T = typename V::T;
  using S = typename V::S;
  constexpr int W = V::W;
  int64_t j = 0;
  for (; j + W <= w; j += W) {
    const T cv = V::load(c + j);
    T s1 = V::load(a1 + j), s2 = V::load(a2 + j);
    const S* p = row + j;
    for (int64_t r = 0; r < nr; ++r, p += rs) {
      T d = V::sub(V::load(p), cv);
      s1 = V::add(s1, d);
      s2 = V::fma(d, d, s2);
    }
    V::store(a1 + j, s1);
    V::store(a2 + j, s2);
  }
  for (; j < w; ++j) {
    S s1 = a1[j], s2 = a2[j];
    const S* p = row + j;
    for (int64_t r = 0; r < nr; ++r, p += rs) {
      S d = *p - c[j];
      s1 += d;
      s2 += d * d;
    }
    a1[j] = s1;
    a2[j] = s2;
  }
}

// One-row column transforms: F(x..., j) for vectors and scalars.
template <class V>
void kColExpMulStore(const typename V::S* x, typename V::S* y, const typename V::S* c, const typename V::S* s, int64_t w) {
  constexpr int W = V::W;
  int64_t j = 0;
  for (; j + W <= w; j += W) V::store(y + j, V::mul(V::exp(V::sub(V::load(x + j), V::load(c + j))), V::load(s + j)));
  for (; j < w; ++j) y[j] = std::exp(x[j] - c[j]) * s[j];
}
template <class V>
void kColSub2Store(const typename V::S* x, typename V::S* y, const typename V::S* a, const typename V::S* b, int64_t w) {
  constexpr int W = V::W;
  int64_t j = 0;
  for (; j + W <= w; j += W) V::store(y + j, V::sub(V::sub(V::load(x + j), V::load(a + j)), V::load(b + j)));
  for (; j < w; ++j) y[j] = (x[j] - a[j]) - b[j];
}
template <class V>
void kColDot(typename V::S* acc, const typename V::S* a, const typename V::S* b, int64_t w) {
  constexpr int W = V::W;
  int64_t j = 0;
  for (; j + W <= w; j += W) V::store(acc + j, V::fma(V::load(a + j), V::load(b + j), V::load(acc + j)));
  for (; j < w; ++j) acc[j] += a[j] * b[j];
}
template <class V>
void kColSoftmaxGrad(const typename V::S* y, const typename V::S* g, typename V::S* out, const typename V::S* s, int64_t w) {
  constexpr int W = V::W;
  int64_t j = 0;
  for (; j + W <= w; j += W) V::store(out + j, V::mul(V::load(y + j), V::sub(V::load(g + j), V::load(s + j))));
  for (; j < w; ++j) out[j] = y[j] * (g[j] - s[j]);
}
template <class V>
void kColLogSoftmaxGrad(const typename V::S* y, const typename V::S* g, typename V::S* out, const typename V::S* s, int64_t w) {
  constexpr int W = V::W;
  int64_t j = 0;
  for (; j + W <= w; j += W) {
    V::store(out + j, V::sub(V::load(g + j), V::mul(V::exp(V::load(y + j)), V::load(s + j))));
  }
  for (; j < w; ++j) out[j] = g[j] - std::exp(y[j]) * s[j];
}

template <class V>
void fillTable(RowKernels<typename V::S>& k) {
  k.sum = kSum<V>;
  k.sumAbs = kSumAbs<V>;
  k.sumSq = kSumSq<V>;
  k.centered = kCentered<V>;
  k.sumExp = kSumExp<V>;
  k.max = kMax<V>;
  k.min = kMin<V>;
  k.dot = kDot<V>;
  k.expStore = kExpStore<V>;
  k.scale = kScale<V>;
  k.subTwo = kSubTwo<V>;
  k.softmaxGrad = kSoftmaxGrad<V>;
  k.logSoftmaxGrad = kLogSoftmaxGrad<V>;
  k.colAdd = kColAdd<V>;
  k.colAbs = kColAbs<V>;
  k.colSq = kColSq<V>;
  k.colCentered = kColCentered<V>;
  k.colExp = kColExp<V>;
  k.colMax = kColMax<V>;
  k.colMin = kColMin<V>;
  k.colExpMulStore = kColExpMulStore<V>;
  k.colSub2Store = kColSub2Store<V>;
  k.colDot = kColDot<V>;
  k.colSoftmaxGrad = kColSoftmaxGrad<V>;
  k.colLogSoftmaxGrad = kColLogSoftmaxGrad<V>;
}

inline void fillTables(RowKernels<float>& f, RowKernels<double>& d) {
  fillTable<VF>(f);
  fillTable<VD>(d);
}
