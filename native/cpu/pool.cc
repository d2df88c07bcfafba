// 2-D pooling over NCHW, parallel over the N*C planes.
//   pool2d(op, x: T[N,C,H,W], out: T[N,C,oh,ow], kh, kw, sh, sw, ph, pw, dh, dw, countIncludePad)
//   pool2dGrad(op, x, gradOut: T[N,C,oh,ow], gradIn: T[N,C,H,W], ...same)   (gradIn overwritten)
// op "max": the largest in-bounds element of the window (padding never wins); ties pick the first
// in row-major window order; a NaN wins (the first NaN). The gradient goes to that element.
// op "avg": the window mean, dividing by kh*kw when countIncludePad, else by the number of
// in-bounds elements. Every window must hold at least one in-bounds element (checked up front).
// Computed in float32 (double for DOUBLE); the gradient accumulates per plane and rounds once.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "conv_common.h"
#include "parallel.h"
#include "registry.h"

namespace dl4ts {

namespace {

enum PoolOp { POOL_MAX, POOL_AVG };

struct PoolGeometry {
  int64_t N, C, H, W, oh, ow;
  Window2d w;
  PoolOp op;
  bool countIncludePad;
  // In-bounds taps of each output row / column: i in [rowLo[oy], rowHi[oy]), j in [colLo[ox], colHi[ox]).
  std::vector<int64_t> rowLo, rowHi, colLo, colHi;
  // Output columns whose kernel column j reads inside the image: ox in [jLo[j], jHi[j]).
  std::vector<int64_t> jLo, jHi;
};

PoolOp parseOp(const Napi::CallbackInfo& info, const char* opName) {
  if (info.Length() < 1 || !info[0].IsString()) throwError(info.Env(), opName, "'op' must be the string max or avg");
  const std::string s = info[0].As<Napi::String>().Utf8Value();
  if (s == "max") return POOL_MAX;
  if (s == "avg") return POOL_AVG;
  throwError(info.Env(), opName, "unknown op '" + s + "', expected max or avg");
}

bool parseFlag(const Napi::CallbackInfo& info, size_t index, const char* opName) {
  if (index >= info.Length() || info[index].IsUndefined()) return false;
  if (info[index].IsBoolean()) return info[index].As<Napi::Boolean>().Value();
  if (info[index].IsNumber()) return info[index].As<Napi::Number>().DoubleValue() != 0;
  throwError(info.Env(), opName, "'countIncludePad' must be a boolean or a number");
}

// Rows (or columns) of the window at output position o that fall inside [0, in): i in [lo, hi).
inline void windowTaps(int64_t o, int64_t in, int64_t s, int64_t p, int64_t d, int64_t k, int64_t& lo, int64_t& hi) {
  const int64_t start = o * s - p;  // input index of tap 0
  lo = start >= 0 ? 0 : (-start + d - 1) / d;
  hi = start > in - 1 ? 0 : std::min<int64_t>(k, (in - 1 - start) / d + 1);
  if (hi < lo) hi = lo;
}

// Fills the tap ranges and checks that no window lies entirely in the padding.
void computeTaps(Napi::Env env, const char* opName, PoolGeometry& g, const Tensor& x) {
  const Window2d& w = g.w;
  g.rowLo.resize(g.oh);
  g.rowHi.resize(g.oh);
  g.colLo.resize(g.ow);
  g.colHi.resize(g.ow);
  for (int64_t o = 0; o < g.oh; ++o) {
    windowTaps(o, g.H, w.sh, w.ph, w.dh, w.kh, g.rowLo[o], g.rowHi[o]);
    if (g.rowLo[o] >= g.rowHi[o]) {
      throwError(env, opName, "the window of output row " + std::to_string(o) + " lies entirely in the padding (x " +
                                  x.describe() + ", " + w.describe() + ")");
    }
  }
  g.jLo.resize(w.kw);
  g.jHi.resize(w.kw);
  for (int64_t j = 0; j < w.kw; ++j) validRange(g.ow, g.W, w.sw, w.pw, j * w.dw, g.jLo[j], g.jHi[j]);
  for (int64_t o = 0; o < g.ow; ++o) {
    windowTaps(o, g.W, w.sw, w.pw, w.dw, w.kw, g.colLo[o], g.colHi[o]);
    if (g.colLo[o] >= g.colHi[o]) {
      throwError(env, opName, "the window of output column " + std::to_string(o) + " lies entirely in the padding (x " +
                                  x.describe() + ", " + w.describe() + ")");
    }
  }
}

// Checks x [N,C,H,W] and y [N,C,oh,ow] (out or gradOut) and the op's parameters.
PoolGeometry validate(Napi::Env env, const char* opName, PoolOp op, const Tensor& x, const Tensor& y, const char* yName,
                      const Window2d& w, bool countIncludePad) {
  if (x.rank != 4) throwError(env, opName, "x must be [N,C,H,W]; got " + x.describe());
  if (!isFloating(x.dtype)) throwError(env, opName, "x " + x.describe() + " must be DOUBLE, FLOAT, HALF or BFLOAT16");
  if (y.dtype != x.dtype) {
    throwError(env, opName, std::string(yName) + " " + y.describe() + " and x " + x.describe() + " differ in dtype");
  }
  PoolGeometry g{x.shape[0], x.shape[1], x.shape[2], x.shape[3], 0, 0, w, op, countIncludePad, {}, {}, {}, {}, {}, {}};
  g.oh = windowOut(env, opName, "height", g.H, w.kh, w.sh, w.ph, w.dh, w, x);
  g.ow = windowOut(env, opName, "width", g.W, w.kw, w.sw, w.pw, w.dw, w, x);
  if (y.rank != 4 || y.shape[0] != g.N || y.shape[1] != g.C || y.shape[2] != g.oh || y.shape[3] != g.ow) {
    throwError(env, opName, std::string(yName) + " must be " + shapeString({g.N, g.C, g.oh, g.ow}) +
                                " = [N,C,oh,ow] for x " + x.describe() + " with " + w.describe() + "; got " +
                                y.describe());
  }
  if (g.N * g.C > 0) computeTaps(env, opName, g, x);
  return g;
}

int64_t planeGrain(int64_t workPerPlane) { return std::max<int64_t>(1, 65536 / std::max<int64_t>(1, workPerPlane)); }

// Finds the max tap of the window at (oy, ox) in plane xp: returns its offset in the plane
// (y * xs2 + x * xs3) and value. At least one tap is in bounds (validated).
template <typename E>
inline void windowMax(const typename E::S* xp, const int64_t* xs, const PoolGeometry& g, int64_t oy, int64_t ox,
                      int64_t& bestY, int64_t& bestX, typename E::A& best) {
  const Window2d& w = g.w;
  const int64_t ilo = g.rowLo[oy], ihi = g.rowHi[oy], jlo = g.colLo[ox], jhi = g.colHi[ox];
  const int64_t y0 = oy * w.sh - w.ph, x0 = ox * w.sw - w.pw;
  bool found = false;
  bestY = bestX = 0;
  best = typename E::A(0);
  for (int64_t i = ilo; i < ihi; ++i) {
    const int64_t iy = y0 + i * w.dh;
    for (int64_t j = jlo; j < jhi; ++j) {
      const int64_t ix = x0 + j * w.dw;
      const typename E::A v = E::load(xp + iy * xs[2] + ix * xs[3]);
      if (!found || (!std::isnan(best) && (v > best || std::isnan(v)))) {
        found = true;
        best = v;
        bestY = iy;
        bestX = ix;
      }
    }
  }
}

// Forward, one output row at a time: for each in-bounds tap row i and kernel column j, the output
// columns whose input column is inside the image form one range [jLo[j], jHi[j]), and the input
// columns they read advance by sw: a unit-stride inner loop the compiler vectorises (sw == 1).
// acc holds ow values of the compute type.
// Running max where a NaN wins and stays; ties keep the value either way.
template <typename A>
inline A maxUpdate(A a, A v) {
  return (a == a) && (v > a || v != v) ? v : a;
}

template <typename E>
void poolForward(const Tensor& x, const Tensor& out, const PoolGeometry& g, int64_t begin, int64_t end,
                 typename E::A* __restrict acc) {
  using S = typename E::S;
  using A = typename E::A;
  const Window2d& w = g.w;
  const int64_t* xs = x.strides;
  const int64_t* os = out.strides;
  const bool isMax = g.op == POOL_MAX;
  for (int64_t nc = begin; nc < end; ++nc) {
    const int64_t n = nc / g.C, c = nc % g.C;
    const S* xp = (const S*)x.data + n * xs[0] + c * xs[1];
    S* op = (S*)out.data + n * os[0] + c * os[1];
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      const A init = isMax ? -std::numeric_limits<A>::infinity() : A(0);
      for (int64_t ox = 0; ox < g.ow; ++ox) acc[ox] = init;
      const int64_t y0 = oy * w.sh - w.ph;
      for (int64_t i = g.rowLo[oy]; i < g.rowHi[oy]; ++i) {
        const S* row = xp + (y0 + i * w.dh) * xs[2];
        for (int64_t j = 0; j < w.kw; ++j) {
          const int64_t shift = j * w.dw - w.pw;  // input column = ox*sw + shift
          const int64_t lo = g.jLo[j], hi = g.jHi[j];
          if (lo >= hi) continue;
          if (w.sw == 1 && xs[3] == 1) {  // contiguous input row: vectorised
            const S* __restrict r = row + (lo + shift);  // input of output column lo
            A* __restrict a = acc + lo;
            const int64_t len = hi - lo;
            if (isMax) {
              for (int64_t k = 0; k < len; ++k) a[k] = maxUpdate(a[k], E::load(r + k));
            } else {
              for (int64_t k = 0; k < len; ++k) a[k] += E::load(r + k);
            }
          } else if (isMax) {
            for (int64_t ox = lo; ox < hi; ++ox) acc[ox] = maxUpdate(acc[ox], E::load(row + (ox * w.sw + shift) * xs[3]));
          } else {
            for (int64_t ox = lo; ox < hi; ++ox) acc[ox] += E::load(row + (ox * w.sw + shift) * xs[3]);
          }
        }
      }
      if (isMax) {
        for (int64_t ox = 0; ox < g.ow; ++ox) E::store(op + oy * os[2] + ox * os[3], acc[ox]);
      } else {
        const int64_t rows = g.rowHi[oy] - g.rowLo[oy];
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const int64_t count = g.countIncludePad ? w.kh * w.kw : rows * (g.colHi[ox] - g.colLo[ox]);
          E::store(op + oy * os[2] + ox * os[3], acc[ox] / (A)count);
        }
      }
    }
  }
}

// Backward into a per-plane accumulator (H*W of the compute type; `share` holds ow values):
// max sends each upstream gradient to its window's first max (NaN wins), avg spreads it evenly
// over the counted taps, row by row like the forward pass.
template <typename E>
void poolBackward(const Tensor& x, const Tensor& gout, const Tensor& gin, const PoolGeometry& g, int64_t begin,
                  int64_t end, typename E::A* acc, typename E::A* share) {
  using S = typename E::S;
  using A = typename E::A;
  const Window2d& w = g.w;
  const int64_t* xs = x.strides;
  const int64_t* gs = gout.strides;
  const int64_t* is = gin.strides;
  for (int64_t nc = begin; nc < end; ++nc) {
    const int64_t n = nc / g.C, c = nc % g.C;
    const S* xp = (const S*)x.data + n * xs[0] + c * xs[1];
    const S* gp = (const S*)gout.data + n * gs[0] + c * gs[1];
    for (int64_t k = 0; k < g.H * g.W; ++k) acc[k] = A(0);
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      if (g.op == POOL_MAX) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          int64_t by, bx;
          A best;
          windowMax<E>(xp, xs, g, oy, ox, by, bx, best);
          acc[by * g.W + bx] += E::load(gp + oy * gs[2] + ox * gs[3]);
        }
        continue;
      }
      const int64_t rows = g.rowHi[oy] - g.rowLo[oy];
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const int64_t count = g.countIncludePad ? w.kh * w.kw : rows * (g.colHi[ox] - g.colLo[ox]);
        share[ox] = E::load(gp + oy * gs[2] + ox * gs[3]) / (A)count;
      }
      const int64_t y0 = oy * w.sh - w.ph;
      for (int64_t i = g.rowLo[oy]; i < g.rowHi[oy]; ++i) {
        A* row = acc + (y0 + i * w.dh) * g.W;
        for (int64_t j = 0; j < w.kw; ++j) {
          const int64_t shift = j * w.dw - w.pw;
          if (w.sw == 1) {
            const int64_t lo = g.jLo[j], len = g.jHi[j] - lo;
            if (len <= 0) continue;
            A* __restrict r = row + (lo + shift);
            const A* __restrict sh = share + lo;
            for (int64_t k = 0; k < len; ++k) r[k] += sh[k];
          } else {
            for (int64_t ox = g.jLo[j]; ox < g.jHi[j]; ++ox) row[ox * w.sw + shift] += share[ox];
          }
        }
      }
    }
    S* ip = (S*)gin.data + n * is[0] + c * is[1];
    for (int64_t y = 0; y < g.H; ++y)
      for (int64_t xx = 0; xx < g.W; ++xx) E::store(ip + y * is[2] + xx * is[3], acc[y * g.W + xx]);
  }
}

}  // namespace

static Napi::Value Pool2d(const Napi::CallbackInfo& info) {
  const char* opName = "pool2d";
  Napi::Env env = info.Env();
  const PoolOp op = parseOp(info, opName);
  Tensor x = parseTensor(info, 1, opName, "x");
  Tensor out = parseTensor(info, 2, opName, "out");
  const Window2d w = parseWindow(info, 3, opName);
  const bool cip = parseFlag(info, 11, opName);
  const PoolGeometry g = validate(env, opName, op, x, out, "out", w, cip);
  if (!noBroadcast(out)) throwError(env, opName, "out " + out.describe() + " must not be broadcast (stride 0)");
  if (out.numel() == 0) return env.Undefined();
  const int64_t grain = planeGrain(g.oh * g.ow * w.kh * w.kw);
  bool ok = true;
  dispatchFloating(x.dtype, [&](auto e) {
    using E = decltype(e);
    using A = typename E::A;
    std::atomic<bool> fine{true};
    parallelFor(g.N * g.C, grain, [&](int64_t b, int64_t en) {
      A* acc = (A*)std::malloc((size_t)g.ow * sizeof(A));
      if (!acc) {
        fine = false;
        return;
      }
      poolForward<E>(x, out, g, b, en, acc);
      std::free(acc);
    });
    ok = fine;
  });
  if (!ok) throwError(env, opName, "out of host memory for a row buffer of out " + out.describe());
  return env.Undefined();
}

static Napi::Value Pool2dGrad(const Napi::CallbackInfo& info) {
  const char* opName = "pool2dGrad";
  Napi::Env env = info.Env();
  const PoolOp op = parseOp(info, opName);
  Tensor x = parseTensor(info, 1, opName, "x");
  Tensor gout = parseTensor(info, 2, opName, "gradOut");
  Tensor gin = parseTensor(info, 3, opName, "gradIn");
  const Window2d w = parseWindow(info, 4, opName);
  const bool cip = parseFlag(info, 12, opName);
  const PoolGeometry g = validate(env, opName, op, x, gout, "gradOut", w, cip);
  bool same = gin.rank == 4 && gin.dtype == x.dtype;
  for (int d = 0; same && d < 4; ++d) same = gin.shape[d] == x.shape[d];
  if (!same) throwError(env, opName, "gradIn " + gin.describe() + " must match x " + x.describe() + " in shape and dtype");
  if (!noBroadcast(gin)) throwError(env, opName, "gradIn " + gin.describe() + " must not be broadcast (stride 0)");
  if (gin.numel() == 0) return env.Undefined();
  const int64_t grain = planeGrain(g.oh * g.ow * w.kh * w.kw + g.H * g.W);
  bool ok = true;
  dispatchFloating(x.dtype, [&](auto e) {
    using E = decltype(e);
    using A = typename E::A;
    std::atomic<bool> fine{true};
    parallelFor(g.N * g.C, grain, [&](int64_t b, int64_t en) {
      A* acc = (A*)std::malloc((size_t)(g.H * g.W + g.ow) * sizeof(A));
      if (!acc) {
        fine = false;
        return;
      }
      poolBackward<E>(x, gout, gin, g, b, en, acc, acc + g.H * g.W);
      std::free(acc);
    });
    ok = fine;
  });
  if (!ok) throwError(env, opName, "out of host memory for an accumulation plane of gradIn " + gin.describe());
  return env.Undefined();
}

DL4TS_EXPORT("pool2d", Pool2d);
DL4TS_EXPORT("pool2dGrad", Pool2dGrad);

}  // namespace dl4ts
