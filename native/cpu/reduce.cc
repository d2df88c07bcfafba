// reduce(op, x, out, axes, ddof): reductions along axes with TAD-level parallelism.
//
// The index space is split into kept dims (one output each) and reduced dims (the TAD). Unit
// dims are dropped, dims are reordered by stride (not the reduced ones for argmax/argmin, whose
// index is row-major over the reduced axes) and merged where the strides allow. Then:
//  - runs mode: each TAD is walked as runs of its innermost reduced dim; FLOAT/DOUBLE runs with
//    stride 1 go straight to the SIMD kernels (rowkernels.h), anything else is converted into
//    a small buffer of the compute type first;
//  - columns mode (innermost kept dim contiguous, reduced dims outer): blocks of up to 4096
//    adjacent outputs are accumulated with vectorised column kernels, several rows per call;
//    also used for tiny TADs (<= 16 elements) with many outputs, gathering each TAD position
//    across a block of outputs (strided) instead of paying per-output overhead.
// Parallelism is over outputs (or column blocks); when there are too few of those for the
// threads and the TADs are long, each TAD is also cut into P parts whose partial states are
// combined afterwards (two-pass ops such as variance and logsumexp do this pass by pass).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "dimlist.h"
#include "parallel.h"
#include "registry.h"
#include "rowkernels.h"
#include "runs.h"
#include "tensor.h"

namespace dl4ts {
namespace {

const char* const OP = "reduce";

enum class Op { Sum, Mean, Prod, Max, Min, ArgMax, ArgMin, Var, Std, Norm1, Norm2, LogSumExp, Any, All };
enum class Prim { Sum, SumAbs, SumSq, Centered, SumExp, Max, Min, ArgMax, ArgMin, Prod, Any, All };

bool parseOp(const std::string& s, Op& op) {
  static const struct {
    const char* name;
    Op op;
  } ops[] = {{"sum", Op::Sum},       {"mean", Op::Mean},     {"prod", Op::Prod},   {"max", Op::Max},
             {"min", Op::Min},       {"argmax", Op::ArgMax}, {"argmin", Op::ArgMin}, {"variance", Op::Var},
             {"std", Op::Std},       {"norm1", Op::Norm1},   {"norm2", Op::Norm2}, {"logsumexp", Op::LogSumExp},
             {"any", Op::Any},       {"all", Op::All}};
  for (const auto& o : ops)
    if (s == o.name) {
      op = o.op;
      return true;
    }
  return false;
}

// Passes each op needs; the second pass (if any) is shifted by a per-output constant c derived
// from the first (the mean for variance, the max for logsumexp).
int passesOf(Op op, Prim (&p)[2]) {
  switch (op) {
    case Op::Sum:
    case Op::Mean: p[0] = Prim::Sum; return 1;
    case Op::Prod: p[0] = Prim::Prod; return 1;
    case Op::Max: p[0] = Prim::Max; return 1;
    case Op::Min: p[0] = Prim::Min; return 1;
    case Op::ArgMax: p[0] = Prim::ArgMax; return 1;
    case Op::ArgMin: p[0] = Prim::ArgMin; return 1;
    case Op::Var:
    case Op::Std: p[0] = Prim::Sum; p[1] = Prim::Centered; return 2;
    case Op::Norm1: p[0] = Prim::SumAbs; return 1;
    case Op::Norm2: p[0] = Prim::SumSq; return 1;
    case Op::LogSumExp: p[0] = Prim::Max; p[1] = Prim::SumExp; return 2;
    case Op::Any: p[0] = Prim::Any; return 1;
    default: p[0] = Prim::All; return 1;
  }
}

template <class CT>
inline bool isNaN(CT v) {
  if constexpr (std::is_floating_point_v<CT>) return v != v;
  else return false;
}

// Partial state of one prim over part of a TAD.
template <class CT>
struct Acc {
  double s1 = 0, s2 = 0;
  CT v = 0;
  int64_t idx = 0;
  bool has = false;  // v/idx set (max, min, arg)
  bool flag = false;  // any / all
  void init(Prim p) {
    s1 = p == Prim::Prod ? 1.0 : 0.0;
    s2 = 0;
    v = 0;
    idx = 0;
    has = false;
    flag = p == Prim::All;
  }
};

template <class CT>
inline bool improves(bool isMax, CT cand, CT cur) {
  if (isNaN(cur)) return false;
  if (isNaN(cand)) return true;
  return isMax ? cand > cur : cand < cur;
}

// Folds a later partial state b into a (parts are in increasing TAD order).
template <class CT>
void combine(Prim p, Acc<CT>& a, const Acc<CT>& b) {
  switch (p) {
    case Prim::Prod: a.s1 *= b.s1; break;
    case Prim::Max:
    case Prim::Min:
    case Prim::ArgMax:
    case Prim::ArgMin:
      if (b.has && (!a.has || improves(p == Prim::Max || p == Prim::ArgMax, b.v, a.v))) {
        a.v = b.v;
        a.idx = b.idx;
        a.has = true;
      }
      break;
    case Prim::Any: a.flag = a.flag || b.flag; break;
    case Prim::All: a.flag = a.flag && b.flag; break;
    default:
      a.s1 += b.s1;
      a.s2 += b.s2;
  }
}

// Scalar version of consume (INT64 exact comparisons, and chunks too short for the kernels).
template <class CT>
bool consumeScalar(Prim p, Acc<CT>& a, const CT* x, int64_t n, int64_t start, CT c) {
  switch (p) {
    case Prim::Sum: {
      double t = 0;
      for (int64_t j = 0; j < n; ++j) t += (double)x[j];
      a.s1 += t;
      return true;
    }
    case Prim::SumAbs: {
      double t = 0;
      for (int64_t j = 0; j < n; ++j) t += std::fabs((double)x[j]);
      a.s1 += t;
      return true;
    }
    case Prim::SumSq: {
      double t = 0;
      for (int64_t j = 0; j < n; ++j) t += (double)x[j] * (double)x[j];
      a.s1 += t;
      return true;
    }
    case Prim::Centered:
      for (int64_t j = 0; j < n; ++j) {
        const CT d = x[j] - c;
        a.s1 += (double)d;
        a.s2 += (double)d * (double)d;
      }
      return true;
    case Prim::SumExp:
      if constexpr (std::is_floating_point_v<CT>) {
        if (!std::isfinite(c)) return false;  // the result is c itself
        double t = 0;
        for (int64_t j = 0; j < n; ++j) t += std::exp(x[j] - c);
        a.s1 += t;
      }
      return true;
    case Prim::Max:
    case Prim::Min:
    case Prim::ArgMax:
    case Prim::ArgMin: {
      const bool isMax = p == Prim::Max || p == Prim::ArgMax;
      for (int64_t j = 0; j < n; ++j) {
        if (!a.has || improves(isMax, x[j], a.v)) {
          a.v = x[j];
          a.idx = start + j;
          a.has = true;
          if (isNaN(a.v)) return false;
        }
      }
      return true;
    }
    case Prim::Prod: {
      double pr = a.s1;
      for (int64_t j = 0; j < n; ++j) pr *= (double)x[j];
      a.s1 = pr;
      return true;
    }
    case Prim::Any:
      for (int64_t j = 0; j < n; ++j)
        if (x[j] != 0) {
          a.flag = true;
          return false;
        }
      return true;
    case Prim::All:
      for (int64_t j = 0; j < n; ++j)
        if (x[j] == 0) {
          a.flag = false;
          return false;
        }
      return true;
  }
  return true;
}

// Consumes a contiguous chunk x[0..n) of TAD positions start..start+n; false = nothing more needed.
template <class CT>
bool consume(Prim p, Acc<CT>& a, const CT* x, int64_t n, int64_t start, CT c) {
  if constexpr (std::is_same_v<CT, int64_t>) {
    return consumeScalar<CT>(p, a, x, n, start, c);
  } else {
    if (n < 32 || p == Prim::Prod || p == Prim::Any || p == Prim::All) return consumeScalar<CT>(p, a, x, n, start, c);
    const RowKernels<CT>& k = rowKernels<CT>();
    switch (p) {
      case Prim::Sum: a.s1 += k.sum(x, n); return true;
      case Prim::SumAbs: a.s1 += k.sumAbs(x, n); return true;
      case Prim::SumSq: a.s1 += k.sumSq(x, n); return true;
      case Prim::Centered: k.centered(x, n, c, &a.s1, &a.s2); return true;
      case Prim::SumExp:
        if (!std::isfinite(c)) return false;  // the result is c itself
        a.s1 += k.sumExp(x, n, c);
        return true;
      case Prim::Max:
      case Prim::Min: {
        CT m = p == Prim::Max ? k.max(x, n) : k.min(x, n);
        if (!a.has || improves(p == Prim::Max, m, a.v)) a.v = m;
        a.has = true;
        return !isNaN(a.v);
      }
      default: {  // ArgMax / ArgMin: vector max, then find its first position in this chunk
        const bool isMax = p == Prim::ArgMax;
        CT m = isMax ? k.max(x, n) : k.min(x, n);
        if (!a.has || improves(isMax, m, a.v)) {
          int64_t j = 0;
          if (isNaN(m)) {
            while (j < n - 1 && !isNaN(x[j])) ++j;
          } else {
            while (j < n - 1 && !(x[j] == m)) ++j;
          }
          a.v = m;
          a.idx = start + j;
          a.has = true;
        }
        return !isNaN(a.v);
      }
    }
  }
}

constexpr int64_t kChunk = 1024;        // conversion buffer (elements)
constexpr int64_t kDirectChunk = 16384;  // direct runs are handed over in pieces this size
constexpr int64_t kColBlock = 4096;      // outputs per column block (whole rows where possible)
constexpr int64_t kColSmall = 256;       // column scratch kept on the stack up to this width
constexpr int kColFlush = 128;           // rows summed in CT before folding into double

struct Ctx {
  Op op;
  Prim prims[2];
  int npass;
  double ddof;
  Tensor x, out;
  size_t xsz, osz;
  DimList<2> kept;  // st[0]: x strides, st[1]: out strides
  DimList<1> red;   // st[0]: x strides
  int64_t numOut = 0, L = 0;
  bool columns = false;
  bool direct = false;  // runs / rows can be read in place as CT
  // innermost reduced dim (size, x stride) and the reduced dims outside it
  int64_t inN = 1, inS = 0;
  DimList<1> redOuter;
  // columns mode: the innermost kept dim (x stride colXs, 1 unless the TADs are tiny) is the
  // column index; rows are TAD positions, walked as runs of the innermost reduced dim
  int64_t colW = 1, colXs = 1, colOs = 0;
  DimList<2> keptOuter;
};

// Walks TAD positions [s, e) of the TAD at xb, handing chunks of CT values to f(ptr, n, start).
template <class CT, class F>
void streamTad(const Ctx& cx, const char* xb, int64_t s, int64_t e, CT* buf, F&& f) {
  if (s >= e) return;
  const int64_t inN = cx.inN;
  int64_t k = s % inN;
  DimCursor<1> cur;
  cur.seek(cx.redOuter, s / inN);
  int64_t pos = s, m = 0, bufStart = s;
  while (pos < e) {
    const char* p = xb + cur.off[0] * (int64_t)cx.xsz;
    const int64_t len = std::min(inN - k, e - pos);
    if (cx.direct) {
      const CT* row = (const CT*)p + k;
      for (int64_t o = 0; o < len; o += kDirectChunk) {
        if (!f(row + o, std::min(kDirectChunk, len - o), pos + o)) return;
      }
    } else {
      for (int64_t j = 0; j < len;) {
        const int64_t take = std::min(len - j, kChunk - m);
        gatherRun<CT>(buf + m, p + (k + j) * cx.inS * (int64_t)cx.xsz, take, cx.inS, cx.x.dtype);
        m += take;
        j += take;
        if (m == kChunk) {
          if (!f((const CT*)buf, m, bufStart)) return;
          bufStart += m;
          m = 0;
        }
      }
    }
    pos += len;
    k = 0;
    cur.next();
  }
  if (m) f((const CT*)buf, m, bufStart);
}

template <class CT>
void runsPass(const Ctx& cx, Prim p, const char* xb, int64_t s, int64_t e, CT c, Acc<CT>& a, CT* buf) {
  a.init(p);
  streamTad<CT>(cx, xb, s, e, buf, [&](const CT* v, int64_t n, int64_t start) { return consume<CT>(p, a, v, n, start, c); });
}

// Per-task column state. Widths up to kColSmall live on the stack; wider blocks are allocated
// (nothrow) per task, falling back to kColSmall-wide sub-blocks if that fails.
template <class CT>
struct ColScratch {
  static constexpr size_t kPer = 5 * sizeof(CT) + 3 * sizeof(double) + 1;
  int64_t cap = 0;
  CT *a1, *a2, *v, *row, *cs;
  double *d1, *d2;
  int64_t* idx;
  bool* flag;
  std::unique_ptr<char[]> heap;
  alignas(64) char small[kColSmall * kPer + 10 * 64];

  explicit ColScratch(int64_t want) {
    char* mem = small;
    cap = kColSmall;
    if (want > kColSmall) {
      heap.reset(new (std::nothrow) char[(size_t)want * kPer + 10 * 64]);  // 9 arrays, each rounded up to 64 bytes
      if (heap) {
        mem = heap.get();
        cap = want;
      }
    }
    auto take = [&](size_t bytes) {
      char* p = mem;
      mem += (bytes + 63) & ~(size_t)63;
      return p;
    };
    d1 = (double*)take(cap * sizeof(double));
    d2 = (double*)take(cap * sizeof(double));
    idx = (int64_t*)take(cap * sizeof(int64_t));
    a1 = (CT*)take(cap * sizeof(CT));
    a2 = (CT*)take(cap * sizeof(CT));
    v = (CT*)take(cap * sizeof(CT));
    row = (CT*)take(cap * sizeof(CT));
    cs = (CT*)take(cap * sizeof(CT));
    flag = (bool*)take(cap);
  }
};

inline bool isSumLike(Prim p) {
  return p == Prim::Sum || p == Prim::SumAbs || p == Prim::SumSq || p == Prim::Centered || p == Prim::SumExp;
}

// Scalar column update over nr rows (stride rs): narrow blocks, INT64, and the prims without
// column kernels. rstart is the TAD position of the first row (for arg indices).
template <class CT>
inline void colScalar(Prim p, ColScratch<CT>& s, const CT* row, int64_t rs, int64_t nr, const CT* c, int64_t w, int64_t rstart) {
  for (int64_t r = 0; r < nr; ++r, row += rs) {
    switch (p) {
      case Prim::Sum:
        for (int64_t j = 0; j < w; ++j) s.a1[j] += row[j];
        break;
      case Prim::SumAbs:
        for (int64_t j = 0; j < w; ++j) s.a1[j] += row[j] < 0 ? -row[j] : row[j];
        break;
      case Prim::SumSq:
        for (int64_t j = 0; j < w; ++j) s.a1[j] += row[j] * row[j];
        break;
      case Prim::Centered:
        for (int64_t j = 0; j < w; ++j) {
          const CT d = row[j] - c[j];
          s.a1[j] += d;
          s.a2[j] += d * d;
        }
        break;
      case Prim::SumExp:
        if constexpr (std::is_floating_point_v<CT>) {
          for (int64_t j = 0; j < w; ++j) s.a1[j] += std::exp(row[j] - c[j]);
        }
        break;
      case Prim::Max:
      case Prim::Min:
      case Prim::ArgMax:
      case Prim::ArgMin: {
        const bool isMax = p == Prim::Max || p == Prim::ArgMax;
        for (int64_t j = 0; j < w; ++j) {
          if (improves(isMax, row[j], s.v[j])) {
            s.v[j] = row[j];
            s.idx[j] = rstart + r;
          }
        }
        break;
      }
      case Prim::Prod:
        for (int64_t j = 0; j < w; ++j) s.d1[j] *= (double)row[j];
        break;
      case Prim::Any:
        for (int64_t j = 0; j < w; ++j) s.flag[j] = s.flag[j] || row[j] != 0;
        break;
      case Prim::All:
        for (int64_t j = 0; j < w; ++j) s.flag[j] = s.flag[j] && row[j] != 0;
        break;
    }
  }
}

// Rows per column-kernel call: enough to amortise the accumulator traffic, few enough that the
// rows stay separate prefetch streams.
inline int64_t rowsPerCall(int64_t w) { return w >= 512 ? 8 : std::min<int64_t>(64, std::max<int64_t>(8, 2048 / std::max<int64_t>(w, 1))); }

// One prim over TAD positions (rows) [r0, r1) for the w columns (<= s.cap) starting at xb,
// shifted by c[0..w) in second passes. Results stay in s; colAcc() reads them out.
template <class CT>
void colsPass(const Ctx& cx, Prim p, const char* xb, int64_t w, int64_t r0, int64_t r1, const CT* c, ColScratch<CT>& s) {
  const bool sumLike = isSumLike(p);
  const int64_t xsz = (int64_t)cx.xsz;
  for (int64_t j = 0; j < w; ++j) {
    s.a1[j] = s.a2[j] = 0;
    s.d1[j] = p == Prim::Prod ? 1.0 : 0.0;
    s.d2[j] = 0;
    s.flag[j] = p == Prim::All;
  }
  if (p == Prim::SumExp) {  // exp(x - c) with non-finite c is ignored by finalize: avoid the work
    bool anyFinite = false;
    for (int64_t j = 0; j < w && !anyFinite; ++j) anyFinite = std::isfinite((double)c[j]);
    if (!anyFinite) r1 = r0;
  }
  if (r1 <= r0) return;
  const int64_t inN = cx.inN, rs = cx.inS;
  int64_t k = r0 % inN;
  DimCursor<1> cur;
  cur.seek(cx.redOuter, r0 / inN);
  const bool extreme = p == Prim::Max || p == Prim::Min || p == Prim::ArgMax || p == Prim::ArgMin;
  if (extreme) {  // start from the first row (re-reading it later changes nothing)
    const char* first = xb + (cur.off[0] + k * rs) * xsz;
    if (cx.direct) std::memcpy(s.v, first, w * sizeof(CT));
    else gatherRun<CT>(s.v, first, w, cx.colXs, cx.x.dtype);
    for (int64_t j = 0; j < w; ++j) s.idx[j] = r0;
  }
  const bool useKernels = !std::is_same_v<CT, int64_t> && w >= 16 &&
                          (sumLike || p == Prim::Max || p == Prim::Min);
  const int64_t R = cx.direct ? rowsPerCall(w) : 1;
  int64_t cnt = 0;
  auto flush = [&] {
    for (int64_t j = 0; j < w; ++j) {
      s.d1[j] += s.a1[j];
      s.d2[j] += s.a2[j];
      s.a1[j] = s.a2[j] = 0;
    }
    cnt = 0;
  };
  for (int64_t r = r0; r < r1;) {
    const char* base = xb + (cur.off[0] + k * rs) * xsz;
    const int64_t len = std::min(inN - k, r1 - r);
    for (int64_t t = 0; t < len;) {
      const int64_t nr = std::min(R, len - t);
      const CT* row = (const CT*)(base + t * rs * xsz);
      int64_t stride = rs;
      if (!cx.direct) {  // nr == 1: convert (and gather, for strided columns) the row first
        gatherRun<CT>(s.row, (const char*)row, w, cx.colXs, cx.x.dtype);
        row = s.row;
        stride = 0;
      }
      if (useKernels) {
        if constexpr (!std::is_same_v<CT, int64_t>) {
          const RowKernels<CT>& kk = rowKernels<CT>();
          switch (p) {
            case Prim::Sum: kk.colAdd(s.a1, row, stride, nr, w); break;
            case Prim::SumAbs: kk.colAbs(s.a1, row, stride, nr, w); break;
            case Prim::SumSq: kk.colSq(s.a1, row, stride, nr, w); break;
            case Prim::Centered: kk.colCentered(s.a1, s.a2, row, stride, nr, c, w); break;
            case Prim::SumExp: kk.colExp(s.a1, row, stride, nr, c, w); break;
            case Prim::Max: kk.colMax(s.v, row, stride, nr, w); break;
            default: kk.colMin(s.v, row, stride, nr, w); break;
          }
        }
      } else {
        colScalar<CT>(p, s, row, stride, nr, c, w, r + t);
      }
      t += nr;
      if (sumLike && (cnt += nr) >= kColFlush) flush();
    }
    r += len;
    k = 0;
    cur.next();
  }
  if (sumLike) flush();
}

template <class CT>
Acc<CT> colAcc(Prim p, const ColScratch<CT>& s, int64_t j, bool anyRows) {
  Acc<CT> a;
  a.init(p);
  a.s1 = s.d1[j];
  a.s2 = s.d2[j];
  a.flag = s.flag[j];
  if (anyRows && (p == Prim::Max || p == Prim::Min || p == Prim::ArgMax || p == Prim::ArgMin)) {
    a.v = s.v[j];
    a.idx = p == Prim::Max || p == Prim::Min ? 0 : s.idx[j];
    a.has = true;
  }
  return a;
}

// Shift for the second pass, from the first pass's combined state.
template <class CT>
CT shiftOf(const Ctx& cx, const Acc<CT>& a) {
  if (cx.op == Op::LogSumExp) return a.v;
  return (CT)(a.s1 / (double)cx.L);  // mean for variance / std
}

template <class CT>
void finalizeStore(const Ctx& cx, const Acc<CT>& a, CT c, char* o) {
  const int32_t od = cx.out.dtype;
  const double L = (double)cx.L;
  double v = 0;
  switch (cx.op) {
    case Op::Sum:
    case Op::Norm1:
    case Op::Prod: v = a.s1; break;
    case Op::Mean: v = a.s1 / L; break;
    case Op::Norm2: v = std::sqrt(a.s1); break;
    case Op::Var:
    case Op::Std: {
      const double den = L - cx.ddof;
      double ss = a.s2 - a.s1 * a.s1 / L;  // corrected two-pass
      if (ss < 0) ss = 0;
      v = den > 0 ? ss / den : std::numeric_limits<double>::quiet_NaN();
      if (cx.op == Op::Std) v = std::sqrt(v);
      break;
    }
    case Op::LogSumExp: v = std::isfinite((double)c) ? (double)c + std::log(a.s1) : (double)c; break;
    case Op::Max:
    case Op::Min:
      if constexpr (std::is_same_v<CT, int64_t>) {
        if (od == INT64) {
          *(int64_t*)o = a.v;
          return;
        }
      }
      storeAs<CT>(o, od, a.v);
      return;
    case Op::ArgMax:
    case Op::ArgMin: *(int64_t*)o = a.idx; return;
    case Op::Any:
    case Op::All: *(uint8_t*)o = a.flag ? 1 : 0; return;
  }
  storeAs<double>(o, od, v);
}

template <class CT>
void reduceImpl(Ctx& cx) {
  const int threads = threadCount();
  const int64_t xsz = (int64_t)cx.xsz, osz = (int64_t)cx.osz;
  const int64_t L = cx.L;
  const int64_t colBlock = std::min(kColBlock, cx.colW);
  const int64_t nb = cx.columns ? (cx.colW + colBlock - 1) / colBlock : 1;
  const int64_t units1 = cx.columns ? cx.keptOuter.numel() * nb : cx.numOut;
  const int64_t work = cx.numOut * L;
  // Waking the pool costs ~5-10 us, about a 64K-element sum: below 128K elements stay serial.
  constexpr int64_t kSerialWork = 1 << 17, kGrainWork = 1 << 16;
  // Parts per TAD: only when there are too few units to balance the threads, each part >= 16K elements.
  int64_t P = 1;
  if (threads > 1 && units1 < 4 * threads && work >= kSerialWork) {
    P = std::min<int64_t>(threads, std::max<int64_t>(1, work / (units1 * 16384)));
    P = std::min(P, L);
  }

  if (P == 1) {
    const int64_t perUnit = std::max<int64_t>(1, work / units1);
    const int64_t grain = work < kSerialWork ? units1 : std::max<int64_t>(1, kGrainWork / perUnit);
    if (!cx.columns) {
      parallelFor(cx.numOut, grain, [&](int64_t b, int64_t e) {
        CT buf[kChunk];
        DimCursor<2> kc;
        kc.seek(cx.kept, b);
        for (int64_t o = b; o < e; ++o, kc.next()) {
          const char* xb = cx.x.data + kc.off[0] * xsz;
          Acc<CT> a;
          CT c = 0;
          runsPass<CT>(cx, cx.prims[0], xb, 0, L, c, a, buf);
          if (cx.npass == 2) {
            c = shiftOf<CT>(cx, a);
            runsPass<CT>(cx, cx.prims[1], xb, 0, L, c, a, buf);
          }
          finalizeStore<CT>(cx, a, c, cx.out.data + kc.off[1] * osz);
        }
      });
    } else {
      parallelFor(units1, grain, [&](int64_t b, int64_t e) {
        ColScratch<CT> s(colBlock);
        for (int64_t u = b; u < e; ++u) {
          const int64_t o2 = u / nb, jb = (u % nb) * colBlock, wb = std::min(colBlock, cx.colW - jb);
          int64_t off[2];
          cx.keptOuter.offsets(o2, off);
          for (int64_t j0 = jb; j0 < jb + wb; j0 += s.cap) {  // sub-blocks only if the scratch is smaller
            const int64_t w = std::min(s.cap, jb + wb - j0);
            const char* xb = cx.x.data + (off[0] + j0 * cx.colXs) * xsz;
            for (int64_t j = 0; j < w; ++j) s.cs[j] = 0;
            colsPass<CT>(cx, cx.prims[0], xb, w, 0, L, s.cs, s);
            if (cx.npass == 2) {
              for (int64_t j = 0; j < w; ++j) s.cs[j] = shiftOf<CT>(cx, colAcc<CT>(cx.prims[0], s, j, true));
              colsPass<CT>(cx, cx.prims[1], xb, w, 0, L, s.cs, s);
            }
            const Prim last = cx.prims[cx.npass - 1];
            for (int64_t j = 0; j < w; ++j) {
              finalizeStore<CT>(cx, colAcc<CT>(last, s, j, true), s.cs[j], cx.out.data + (off[1] + (j0 + j) * cx.colOs) * osz);
            }
          }
        }
      });
    }
    return;
  }

  // Few units, long TADs: P parts per TAD, partial states combined per pass.
  const int64_t numOut = cx.numOut;
  std::vector<Acc<CT>> parts((size_t)(numOut * P)), fin((size_t)numOut);
  std::vector<CT> cvals((size_t)numOut, (CT)0);
  for (int pass = 0; pass < cx.npass; ++pass) {
    const Prim p = cx.prims[pass];
    if (!cx.columns) {
      parallelFor(numOut * P, 1, [&](int64_t b, int64_t e) {
        CT buf[kChunk];
        for (int64_t u = b; u < e; ++u) {
          const int64_t o = u / P, q = u % P;
          int64_t off[2];
          cx.kept.offsets(o, off);
          runsPass<CT>(cx, p, cx.x.data + off[0] * xsz, L * q / P, L * (q + 1) / P, cvals[o], parts[u], buf);
        }
      });
    } else {
      parallelFor(units1 * P, 1, [&](int64_t b, int64_t e) {
        ColScratch<CT> s(colBlock);
        for (int64_t u = b; u < e; ++u) {
          const int64_t unit = u / P, q = u % P;
          const int64_t o2 = unit / nb, jb = (unit % nb) * colBlock, wb = std::min(colBlock, cx.colW - jb);
          const int64_t r0 = L * q / P, r1 = L * (q + 1) / P;
          int64_t off[2];
          cx.keptOuter.offsets(o2, off);
          for (int64_t j0 = jb; j0 < jb + wb; j0 += s.cap) {
            const int64_t w = std::min(s.cap, jb + wb - j0);
            const int64_t ob = o2 * cx.colW + j0;  // first output of the sub-block
            colsPass<CT>(cx, p, cx.x.data + (off[0] + j0 * cx.colXs) * xsz, w, r0, r1, &cvals[ob], s);
            for (int64_t j = 0; j < w; ++j) parts[(ob + j) * P + q] = colAcc<CT>(p, s, j, r1 > r0);
          }
        }
      });
    }
    for (int64_t o = 0; o < numOut; ++o) {
      Acc<CT> a = parts[o * P];
      for (int64_t q = 1; q < P; ++q) combine<CT>(p, a, parts[o * P + q]);
      fin[o] = a;
      if (pass + 1 < cx.npass) cvals[o] = shiftOf<CT>(cx, a);
    }
  }
  for (int64_t o = 0; o < numOut; ++o) {
    int64_t off[2];
    cx.kept.offsets(o, off);
    finalizeStore<CT>(cx, fin[o], cvals[o], cx.out.data + off[1] * osz);
  }
}

// Outputs of reductions over zero elements.
void fillEmpty(const Ctx& cx) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  double v = 0;
  switch (cx.op) {
    case Op::Prod:
    case Op::All: v = 1; break;
    case Op::Mean:
    case Op::Var:
    case Op::Std: v = nan; break;
    case Op::LogSumExp: v = -std::numeric_limits<double>::infinity(); break;
    default: v = 0;
  }
  DimCursor<2> kc;
  kc.seek(cx.kept, 0);
  for (int64_t o = 0; o < cx.numOut; ++o, kc.next()) storeAs<double>(cx.out.data + kc.off[1] * (int64_t)cx.osz, cx.out.dtype, v);
}

Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throwError(env, OP, "'op' must be a string");
  const std::string opName = info[0].As<Napi::String>().Utf8Value();
  Ctx cx;
  if (!parseOp(opName, cx.op)) throwError(env, OP, "unknown op '" + opName + "'");
  const std::string opd = std::string(OP) + " " + opName;
  const char* op = opd.c_str();
  cx.x = parseTensor(info, 1, op, "x");
  cx.out = parseTensor(info, 2, op, "out");
  std::vector<int64_t> axes = parseIntArray(info, 3, op, "axes");
  cx.ddof = 0;
  if (info.Length() > 4 && !info[4].IsUndefined()) {
    cx.ddof = parseNumber(info, 4, op, "ddof");
    if (!std::isfinite(cx.ddof)) throwError(env, op, "'ddof' must be finite");
  }
  const Tensor& x = cx.x;
  const Tensor& out = cx.out;

  bool isRed[MAX_RANK] = {};
  for (int64_t a : axes) {
    const int d = normalizeAxis(env, op, a, x.rank);
    if (isRed[d]) throwError(env, op, "axis " + std::to_string(a) + " is listed twice");
    isRed[d] = true;
  }
  bool shapeOk = out.rank == x.rank;
  for (int d = 0; shapeOk && d < x.rank; ++d) shapeOk = out.shape[d] == (isRed[d] ? 1 : x.shape[d]);
  if (!shapeOk) {
    std::string exp = "[";
    for (int d = 0; d < x.rank; ++d) exp += (d ? "," : "") + std::to_string(isRed[d] ? 1 : x.shape[d]);
    throwError(env, op, "out " + out.describe() + " must have shape " + exp + "] for x " + x.describe());
  }
  const bool argOp = cx.op == Op::ArgMax || cx.op == Op::ArgMin;
  if (argOp) requireDtype(env, op, out, "out", out.dtype == INT64, "INT64");
  if (cx.op == Op::Any || cx.op == Op::All) requireDtype(env, op, out, "out", out.dtype == BOOL, "BOOL");

  for (int d = 0; d < x.rank; ++d) {
    if (isRed[d]) cx.red.push(x.shape[d], {x.strides[d]});
    else cx.kept.push(x.shape[d], {x.strides[d], out.strides[d]});
  }
  cx.L = cx.red.numel();
  cx.numOut = cx.kept.numel();
  if (cx.L == 0 && (argOp || cx.op == Op::Max || cx.op == Op::Min)) {
    throwError(env, op, "cannot take " + opName + " over an empty axis (x " + x.describe() + ")");
  }
  if (cx.numOut == 0) return env.Undefined();
  cx.xsz = x.itemSize();
  cx.osz = out.itemSize();
  cx.npass = passesOf(cx.op, cx.prims);
  if (cx.L == 0) {
    fillEmpty(cx);
    return env.Undefined();
  }

  cx.red.dropOnes();
  cx.kept.dropOnes();
  if (!argOp) cx.red.sortByStride(0);
  cx.red.coalesce();
  cx.kept.sortByStride(0);
  cx.kept.coalesce();

  // Compute type: float for FLOAT/HALF/BFLOAT16, exact int64 for INT64 comparisons, else double.
  const bool exactInt = x.dtype == INT64 && (argOp || cx.op == Op::Max || cx.op == Op::Min);
  const int ct = exactInt ? 2 : (x.dtype == FLOAT || x.dtype == HALF || x.dtype == BFLOAT16) ? 1 : 0;
  const int32_t ctDtype = ct == 2 ? INT64 : ct == 1 ? FLOAT : DOUBLE;

  if (cx.red.n > 0) {
    cx.inN = cx.red.shape[cx.red.n - 1];
    cx.inS = cx.red.st[0][cx.red.n - 1];
  }
  cx.redOuter = cx.red;
  if (cx.redOuter.n > 0) cx.redOuter.n--;
  // Columns mode when the innermost kept dim is contiguous and the reduced ones are not, or when
  // TADs are tiny and many (one strided gather per TAD position beats per-output overhead).
  const bool redInnerUnit = cx.red.n > 0 && cx.red.st[0][cx.red.n - 1] == 1;
  const bool keptInnerUnit = cx.kept.n > 0 && cx.kept.st[0][cx.kept.n - 1] == 1;
  const bool tinyTads = cx.L <= 16 && cx.kept.n > 0 && cx.kept.shape[cx.kept.n - 1] >= 64;
  cx.columns = (!redInnerUnit && keptInnerUnit) || tinyTads;
  if (cx.columns) {
    cx.colW = cx.kept.shape[cx.kept.n - 1];
    cx.colXs = cx.kept.st[0][cx.kept.n - 1];
    cx.colOs = cx.kept.st[1][cx.kept.n - 1];
    cx.keptOuter = cx.kept;
    cx.keptOuter.n--;
    cx.direct = x.dtype == ctDtype && cx.colXs == 1;
  } else {
    cx.direct = x.dtype == ctDtype && cx.inS == 1 && cx.inN >= 64;
  }

  if (ct == 2) reduceImpl<int64_t>(cx);
  else if (ct == 1) reduceImpl<float>(cx);
  else reduceImpl<double>(cx);
  return env.Undefined();
}

}  // namespace

DL4TS_EXPORT("reduce", Reduce);

}  // namespace dl4ts
