// softmax(x, out, axis, log) and softmaxGrad(y, g, out, axis, log), parallel over rows.
//
// A row is the run of elements along `axis`; every row is shifted by its max before exp (a NaN
// anywhere in a row makes the whole row NaN). Three layouts:
//  - direct rows: FLOAT/DOUBLE, stride 1 along the axis in every tensor: SIMD kernels in place;
//  - columns: FLOAT/DOUBLE, axis not innermost but another dim has stride 1 in every tensor
//    (e.g. channels of NCHW): blocks of adjacent rows are processed together with column kernels,
//    reading memory in its contiguous order;
//  - generic: any strides, HALF/BFLOAT16: each row is converted chunk by chunk into a float
//    (double for DOUBLE) buffer, processed by the same kernels and stored back rounded.
// out may be the same view as an input (in place): every pass reads an element before writing it.
#include <algorithm>
#include <cmath>
#include <string>

#include "dimlist.h"
#include "parallel.h"
#include "registry.h"
#include "rowkernels.h"
#include "runs.h"
#include "tensor.h"

namespace dl4ts {
namespace {

constexpr int64_t kChunk = 1024;   // generic path buffer (elements)
constexpr int64_t kColMax = 512;   // widest column block
constexpr int64_t kRowsPerCall = 8;
constexpr int kFlushRows = 128;    // float column sums are folded into double this often

template <class CT>
inline CT maxNaN(CT a, CT b) {
  if (a != a) return a;
  if (b != b) return b;
  return b > a ? b : a;
}

// Shared geometry of K same-shaped tensors around one axis.
template <int K>
struct AxisPlan {
  int64_t n = 0;      // row length
  int64_t as[K];      // strides along the axis
  DimList<K> outer;   // the other dims (rows)
  int64_t rows = 0;
  bool direct = false;   // FLOAT/DOUBLE rows with stride 1 along the axis
  bool columns = false;  // FLOAT/DOUBLE, the innermost other dim has stride 1 everywhere
  int64_t colW = 0, colBlock = 0, nb = 0;
  DimList<K> outer2;  // the other dims without the column dim
};

template <int K>
void planAxis(AxisPlan<K>& pl, const Tensor* const (&ts)[K], int axis) {
  const Tensor& t0 = *ts[0];
  pl.n = t0.shape[axis];
  for (int k = 0; k < K; ++k) pl.as[k] = ts[k]->strides[axis];
  for (int d = 0; d < t0.rank; ++d) {
    if (d == axis) continue;
    int64_t st[K];
    for (int k = 0; k < K; ++k) st[k] = ts[k]->strides[d];
    pl.outer.push(t0.shape[d], st);
  }
  pl.rows = pl.outer.numel();
  if (pl.rows == 0 || pl.n == 0) return;  // nothing to do (and no block sizes to derive)
  pl.outer.dropOnes();
  pl.outer.sortByStride(0);
  pl.outer.coalesce();
  const bool simdType = t0.dtype == FLOAT || t0.dtype == DOUBLE;
  bool axisUnit = true, colUnit = pl.outer.n > 0;
  for (int k = 0; k < K; ++k) {
    axisUnit = axisUnit && (pl.as[k] == 1 || pl.n == 1);
    if (pl.outer.n > 0) colUnit = colUnit && pl.outer.st[k][pl.outer.n - 1] == 1;
  }
  pl.direct = simdType && axisUnit;
  pl.columns = simdType && !pl.direct && colUnit && pl.n > 1;
  if (pl.columns) {
    pl.colW = pl.outer.shape[pl.outer.n - 1];
    pl.outer2 = pl.outer;
    pl.outer2.n--;
    const int64_t o2 = pl.outer2.numel();
    const int64_t want = 2 * threadCount();
    int64_t cb = kColMax;
    if (o2 * ((pl.colW + kColMax - 1) / kColMax) < want) {  // narrower blocks so every thread has work
      const int64_t perO2 = (want + o2 - 1) / o2;
      cb = ((pl.colW + perO2 - 1) / perO2 + 15) / 16 * 16;
      cb = std::max<int64_t>(16, std::min(cb, kColMax));
    }
    pl.colBlock = std::min(cb, pl.colW);
    pl.nb = (pl.colW + pl.colBlock - 1) / pl.colBlock;
  }
}

// Parallel loop over rows (direct/generic) or column blocks, with a grain of ~16K elements.
template <int K, class RowFn, class ColFn>
void forEachRow(const AxisPlan<K>& pl, RowFn&& rowFn, ColFn&& colFn) {
  if (pl.columns) {
    const int64_t units = pl.outer2.numel() * pl.nb;
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, pl.n * pl.colBlock));
    parallelFor(units, grain, [&](int64_t b, int64_t e) {
      for (int64_t u = b; u < e; ++u) {
        int64_t off[K];
        pl.outer2.offsets(u / pl.nb, off);
        const int64_t j0 = (u % pl.nb) * pl.colBlock;
        for (int k = 0; k < K; ++k) off[k] += j0;  // column stride is 1 in every tensor
        colFn(off, std::min(pl.colBlock, pl.colW - j0));
      }
    });
    return;
  }
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, pl.n));
  parallelFor(pl.rows, grain, [&](int64_t b, int64_t e) {
    DimCursor<K> cur;
    cur.seek(pl.outer, b);
    for (int64_t r = b; r < e; ++r, cur.next()) rowFn(cur.off);
  });
}

// ------------------------------------------------------------------------------------------
// softmax

template <class CT>
void softmaxImpl(const Tensor& x, const Tensor& out, int axis, bool log) {
  AxisPlan<2> pl;
  const Tensor* const ts[2] = {&x, &out};
  planAxis<2>(pl, ts, axis);
  if (pl.n == 0 || pl.rows == 0) return;
  const RowKernels<CT>& k = rowKernels<CT>();
  const int64_t n = pl.n, xsz = (int64_t)x.itemSize(), osz = (int64_t)out.itemSize();

  auto rowFn = [&](const int64_t (&off)[2]) {
    if (pl.direct) {
      const CT* xr = (const CT*)x.data + off[0];
      CT* orow = (CT*)out.data + off[1];
      const CT m = k.max(xr, n);
      if (log) {
        const double s = k.sumExp(xr, n, m);
        k.subTwo(xr, orow, n, m, (CT)std::log(s));
      } else {
        const double s = k.expStore(xr, orow, n, m);
        k.scale(orow, orow, n, (CT)(1.0 / s));
      }
      return;
    }
    CT buf[kChunk];
    const char* xb = x.data + off[0] * xsz;
    char* ob = out.data + off[1] * osz;
    const int64_t xs = pl.as[0], os = pl.as[1];
    CT m = 0;
    for (int64_t i = 0; i < n; i += kChunk) {
      const int64_t len = std::min(kChunk, n - i);
      gatherRun<CT>(buf, xb + i * xs * xsz, len, xs, x.dtype);
      const CT cm = k.max(buf, len);
      m = i == 0 ? cm : maxNaN(m, cm);
    }
    double s = 0;
    for (int64_t i = 0; i < n; i += kChunk) {
      const int64_t len = std::min(kChunk, n - i);
      gatherRun<CT>(buf, xb + i * xs * xsz, len, xs, x.dtype);
      s += k.sumExp(buf, len, m);
    }
    const CT ls = (CT)std::log(s), inv = (CT)(1.0 / s);
    for (int64_t i = 0; i < n; i += kChunk) {
      const int64_t len = std::min(kChunk, n - i);
      gatherRun<CT>(buf, xb + i * xs * xsz, len, xs, x.dtype);
      if (log) {
        k.subTwo(buf, buf, len, m, ls);
      } else {
        k.expStore(buf, buf, len, m);
        k.scale(buf, buf, len, inv);
      }
      scatterRun<CT>(ob + i * os * osz, buf, len, os, out.dtype);
    }
  };

  auto colFn = [&](const int64_t (&off)[2], int64_t w) {
    CT m[kColMax], acc[kColMax], t[kColMax];
    double sum[kColMax];
    const CT* xb = (const CT*)x.data + off[0];
    CT* ob = (CT*)out.data + off[1];
    const int64_t xs = pl.as[0], os = pl.as[1];
    std::copy(xb, xb + w, m);
    for (int64_t r = 0; r < n; r += kRowsPerCall) k.colMax(m, xb + r * xs, xs, std::min(kRowsPerCall, n - r), w);
    std::fill(acc, acc + w, (CT)0);
    std::fill(sum, sum + w, 0.0);
    int cnt = 0;
    for (int64_t r = 0; r < n; r += kRowsPerCall) {
      const int64_t nr = std::min(kRowsPerCall, n - r);
      k.colExp(acc, xb + r * xs, xs, nr, m, w);
      if ((cnt += (int)nr) >= kFlushRows || r + nr >= n) {
        for (int64_t j = 0; j < w; ++j) {
          sum[j] += acc[j];
          acc[j] = 0;
        }
        cnt = 0;
      }
    }
    for (int64_t j = 0; j < w; ++j) t[j] = log ? (CT)std::log(sum[j]) : (CT)(1.0 / sum[j]);
    for (int64_t r = 0; r < n; ++r) {
      if (log) k.colSub2Store(xb + r * xs, ob + r * os, m, t, w);
      else k.colExpMulStore(xb + r * xs, ob + r * os, m, t, w);
    }
  };
  forEachRow<2>(pl, rowFn, colFn);
}

void requireFloatingSame(Napi::Env env, const char* op, const Tensor& a, const char* an, const Tensor& b, const char* bn) {
  requireSameShape(env, op, a, b);
  if (a.dtype != b.dtype) {
    throwError(env, op, std::string("'") + bn + "' has dtype " + dtypeName(b.dtype) + " but '" + an + "' has " + dtypeName(a.dtype));
  }
  requireDtype(env, op, a, an, isFloating(a.dtype), "a floating type (DOUBLE, FLOAT, HALF, BFLOAT16)");
}

bool parseLogFlag(const Napi::CallbackInfo& info, size_t index, const char* op) {
  if (index >= info.Length() || info[index].IsUndefined()) return false;
  const int64_t v = parseInt(info, index, op, "log");
  if (v != 0 && v != 1) throwError(info.Env(), op, "'log' must be 0 (softmax) or 1 (log-softmax)");
  return v == 1;
}

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const char* op = "softmax";
  Napi::Env env = info.Env();
  Tensor x = parseTensor(info, 0, op, "x");
  Tensor out = parseTensor(info, 1, op, "out");
  const int64_t axisArg = parseInt(info, 2, op, "axis");
  const bool log = parseLogFlag(info, 3, op);
  requireFloatingSame(env, op, x, "x", out, "out");
  const int axis = normalizeAxis(env, op, axisArg, x.rank);
  if (x.dtype == DOUBLE) softmaxImpl<double>(x, out, axis, log);
  else softmaxImpl<float>(x, out, axis, log);
  return env.Undefined();
}

// ------------------------------------------------------------------------------------------
// softmaxGrad: softmax out = y * (g - sum(g * y)); log-softmax out = g - exp(y) * sum(g)

template <class CT>
void softmaxGradImpl(const Tensor& y, const Tensor& g, const Tensor& out, int axis, bool log) {
  AxisPlan<3> pl;
  const Tensor* const ts[3] = {&y, &g, &out};
  planAxis<3>(pl, ts, axis);
  if (pl.n == 0 || pl.rows == 0) return;
  const RowKernels<CT>& k = rowKernels<CT>();
  const int64_t n = pl.n, sz = (int64_t)y.itemSize();

  auto rowFn = [&](const int64_t (&off)[3]) {
    if (pl.direct) {
      const CT* yr = (const CT*)y.data + off[0];
      const CT* gr = (const CT*)g.data + off[1];
      CT* orow = (CT*)out.data + off[2];
      if (log) k.logSoftmaxGrad(yr, gr, orow, n, (CT)k.sum(gr, n));
      else k.softmaxGrad(yr, gr, orow, n, (CT)k.dot(gr, yr, n));
      return;
    }
    CT yb[kChunk], gb[kChunk];
    const char* yp = y.data + off[0] * sz;
    const char* gp = g.data + off[1] * sz;
    char* op = out.data + off[2] * sz;
    const int64_t ys = pl.as[0], gs = pl.as[1], os = pl.as[2];
    double s = 0;
    for (int64_t i = 0; i < n; i += kChunk) {
      const int64_t len = std::min(kChunk, n - i);
      gatherRun<CT>(gb, gp + i * gs * sz, len, gs, g.dtype);
      if (log) {
        s += k.sum(gb, len);
      } else {
        gatherRun<CT>(yb, yp + i * ys * sz, len, ys, y.dtype);
        s += k.dot(gb, yb, len);
      }
    }
    for (int64_t i = 0; i < n; i += kChunk) {
      const int64_t len = std::min(kChunk, n - i);
      gatherRun<CT>(yb, yp + i * ys * sz, len, ys, y.dtype);
      gatherRun<CT>(gb, gp + i * gs * sz, len, gs, g.dtype);
      if (log) k.logSoftmaxGrad(yb, gb, yb, len, (CT)s);
      else k.softmaxGrad(yb, gb, yb, len, (CT)s);
      scatterRun<CT>(op + i * os * sz, yb, len, os, out.dtype);
    }
  };

  auto colFn = [&](const int64_t (&off)[3], int64_t w) {
    CT acc[kColMax], s[kColMax];
    double sum[kColMax];
    const CT* yb = (const CT*)y.data + off[0];
    const CT* gb = (const CT*)g.data + off[1];
    CT* ob = (CT*)out.data + off[2];
    const int64_t ys = pl.as[0], gs = pl.as[1], os = pl.as[2];
    std::fill(acc, acc + w, (CT)0);
    std::fill(sum, sum + w, 0.0);
    int cnt = 0;
    for (int64_t r = 0; r < n;) {
      int64_t nr = 1;
      if (log) {
        nr = std::min(kRowsPerCall, n - r);
        k.colAdd(acc, gb + r * gs, gs, nr, w);
      } else {
        k.colDot(acc, yb + r * ys, gb + r * gs, w);
      }
      r += nr;
      if ((cnt += (int)nr) >= kFlushRows || r >= n) {
        for (int64_t j = 0; j < w; ++j) {
          sum[j] += acc[j];
          acc[j] = 0;
        }
        cnt = 0;
      }
    }
    for (int64_t j = 0; j < w; ++j) s[j] = (CT)sum[j];
    for (int64_t r = 0; r < n; ++r) {
      if (log) k.colLogSoftmaxGrad(yb + r * ys, gb + r * gs, ob + r * os, s, w);
      else k.colSoftmaxGrad(yb + r * ys, gb + r * gs, ob + r * os, s, w);
    }
  };
  forEachRow<3>(pl, rowFn, colFn);
}

Napi::Value SoftmaxGrad(const Napi::CallbackInfo& info) {
  const char* op = "softmaxGrad";
  Napi::Env env = info.Env();
  Tensor y = parseTensor(info, 0, op, "y");
  Tensor g = parseTensor(info, 1, op, "g");
  Tensor out = parseTensor(info, 2, op, "out");
  const int64_t axisArg = parseInt(info, 3, op, "axis");
  const bool log = parseLogFlag(info, 4, op);
  requireFloatingSame(env, op, y, "y", g, "g");
  requireFloatingSame(env, op, y, "y", out, "out");
  const int axis = normalizeAxis(env, op, axisArg, y.rank);
  if (y.dtype == DOUBLE) softmaxGradImpl<double>(y, g, out, axis, log);
  else softmaxGradImpl<float>(y, g, out, axis, log);
  return env.Undefined();
}

}  // namespace

DL4TS_EXPORT("softmax", Softmax);
DL4TS_EXPORT("softmaxGrad", SoftmaxGrad);

}  // namespace dl4ts
