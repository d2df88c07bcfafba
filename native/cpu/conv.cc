// Convolution support: im2col / col2im over NCHW with stride, padding and dilation, parallel over
// the N*C planes (each plane owns a disjoint block of rows of cols, and one plane of x).
//   im2col(x: T[N,C,H,W], cols: T[N, C*kh*kw, oh*ow], kh, kw, sh, sw, ph, pw, dh, dw)
//     cols[n, (c*kh + i)*kw + j, oy*ow + ox] = x[n, c, oy*sh - ph + i*dh, ox*sw - pw + j*dw] (0 outside)
//   col2im(cols, x, ...same) : x = the sum of the columns back onto the image (overwrites x; the
//     adjoint of im2col), accumulated in float32 (double for DOUBLE) and rounded once.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "conv_common.h"
#include "parallel.h"
#include "registry.h"

namespace dl4ts {

namespace {

struct Geometry {
  int64_t N, C, H, W, oh, ow;
  Window2d w;
};

// Validates x [N,C,H,W] against cols [N, C*kh*kw, oh*ow] for op (im2col or col2im).
Geometry validate(Napi::Env env, const char* op, const Tensor& x, const Tensor& cols, const Window2d& w,
                  bool requireFloating) {
  if (x.rank != 4) throwError(env, op, "x must be [N,C,H,W]; got " + x.describe());
  if (cols.dtype != x.dtype) throwError(env, op, "cols " + cols.describe() + " and x " + x.describe() + " differ in dtype");
  if (requireFloating && !isFloating(x.dtype)) {
    throwError(env, op, "x " + x.describe() + " must be DOUBLE, FLOAT, HALF or BFLOAT16");
  }
  Geometry g{x.shape[0], x.shape[1], x.shape[2], x.shape[3], 0, 0, w};
  g.oh = windowOut(env, op, "height", g.H, w.kh, w.sh, w.ph, w.dh, w, x);
  g.ow = windowOut(env, op, "width", g.W, w.kw, w.sw, w.pw, w.dw, w, x);
  int64_t rows, cells;
  if (__builtin_mul_overflow(g.C, w.kh * w.kw, &rows) || __builtin_mul_overflow(g.oh, g.ow, &cells)) {
    throwError(env, op, "cols would be too large for x " + x.describe() + " with " + w.describe());
  }
  if (cols.rank != 3 || cols.shape[0] != g.N || cols.shape[1] != rows || cols.shape[2] != cells) {
    throwError(env, op, "cols must be " + shapeString({g.N, rows, cells}) + " = [N, C*kh*kw, oh*ow] for x " +
                            x.describe() + " with " + w.describe() + "; got " + cols.describe());
  }
  return g;
}

int64_t planeGrain(int64_t workPerPlane) { return std::max<int64_t>(1, 65536 / std::max<int64_t>(1, workPerPlane)); }

template <typename U>
void im2colPlanes(const Tensor& x, const Tensor& cols, const Geometry& g, int64_t begin, int64_t end) {
  const Window2d& w = g.w;
  const int64_t* xs = x.strides;
  const int64_t* cs = cols.strides;
  for (int64_t nc = begin; nc < end; ++nc) {
    const int64_t n = nc / g.C, c = nc % g.C;
    const U* xp = (const U*)x.data + n * xs[0] + c * xs[1];
    for (int64_t i = 0; i < w.kh; ++i) {
      for (int64_t j = 0; j < w.kw; ++j) {
        U* row = (U*)cols.data + n * cs[0] + ((c * w.kh + i) * w.kw + j) * cs[1];
        int64_t xlo, xhi;  // output columns whose input column is inside the image
        validRange(g.ow, g.W, w.sw, w.pw, j * w.dw, xlo, xhi);
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          U* dst = row + oy * g.ow * cs[2];
          const int64_t iy = oy * w.sh - w.ph + i * w.dh;
          if (iy < 0 || iy >= g.H) {
            for (int64_t ox = 0; ox < g.ow; ++ox) dst[ox * cs[2]] = U(0);
            continue;
          }
          const U* src = xp + iy * xs[2];
          const int64_t shift = j * w.dw - w.pw;  // input column = ox*sw + shift
          for (int64_t ox = 0; ox < xlo; ++ox) dst[ox * cs[2]] = U(0);
          if (xhi > xlo && cs[2] == 1 && w.sw == 1 && xs[3] == 1) {
            std::memcpy(dst + xlo, src + (xlo + shift), (size_t)(xhi - xlo) * sizeof(U));
          } else {
            for (int64_t ox = xlo; ox < xhi; ++ox) dst[ox * cs[2]] = src[(ox * w.sw + shift) * xs[3]];
          }
          for (int64_t ox = xhi; ox < g.ow; ++ox) dst[ox * cs[2]] = U(0);
        }
      }
    }
  }
}

template <typename E>
void col2imPlanes(const Tensor& cols, const Tensor& x, const Geometry& g, int64_t begin, int64_t end,
                  typename E::A* acc) {
  using S = typename E::S;
  using A = typename E::A;
  const Window2d& w = g.w;
  const int64_t* xs = x.strides;
  const int64_t* cs = cols.strides;
  for (int64_t nc = begin; nc < end; ++nc) {
    const int64_t n = nc / g.C, c = nc % g.C;
    for (int64_t k = 0; k < g.H * g.W; ++k) acc[k] = A(0);
    for (int64_t i = 0; i < w.kh; ++i) {
      for (int64_t j = 0; j < w.kw; ++j) {
        const S* row = (const S*)cols.data + n * cs[0] + ((c * w.kh + i) * w.kw + j) * cs[1];
        int64_t xlo, xhi;
        validRange(g.ow, g.W, w.sw, w.pw, j * w.dw, xlo, xhi);
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          const int64_t iy = oy * w.sh - w.ph + i * w.dh;
          if (iy < 0 || iy >= g.H) continue;
          const S* src = row + oy * g.ow * cs[2];
          A* dst = acc + iy * g.W;
          const int64_t shift = j * w.dw - w.pw;
          for (int64_t ox = xlo; ox < xhi; ++ox) dst[ox * w.sw + shift] += E::load(src + ox * cs[2]);
        }
      }
    }
    S* xp = (S*)x.data + n * xs[0] + c * xs[1];
    for (int64_t y = 0; y < g.H; ++y)
      for (int64_t xx = 0; xx < g.W; ++xx) E::store(xp + y * xs[2] + xx * xs[3], acc[y * g.W + xx]);
  }
}

}  // namespace

static Napi::Value Im2col(const Napi::CallbackInfo& info) {
  const char* op = "im2col";
  Napi::Env env = info.Env();
  Tensor x = parseTensor(info, 0, op, "x");
  Tensor cols = parseTensor(info, 1, op, "cols");
  Window2d w = parseWindow(info, 2, op);
  Geometry g = validate(env, op, x, cols, w, false);
  if (!noBroadcast(cols)) throwError(env, op, "cols " + cols.describe() + " must not be broadcast (stride 0)");
  if (cols.numel() == 0) return env.Undefined();
  const int64_t planes = g.N * g.C;
  const int64_t grain = planeGrain(w.kh * w.kw * g.oh * g.ow);
  auto run = [&](auto tag) {
    using U = decltype(tag);
    parallelFor(planes, grain, [&](int64_t b, int64_t e) { im2colPlanes<U>(x, cols, g, b, e); });
  };
  switch (x.itemSize()) {
    case 1: run(uint8_t()); break;
    case 2: run(uint16_t()); break;
    case 4: run(uint32_t()); break;
    default: run(uint64_t()); break;
  }
  return env.Undefined();
}

static Napi::Value Col2im(const Napi::CallbackInfo& info) {
  const char* op = "col2im";
  Napi::Env env = info.Env();
  Tensor cols = parseTensor(info, 0, op, "cols");
  Tensor x = parseTensor(info, 1, op, "x");
  Window2d w = parseWindow(info, 2, op);
  Geometry g = validate(env, op, x, cols, w, true);
  if (!noBroadcast(x)) throwError(env, op, "x " + x.describe() + " must not be broadcast (stride 0)");
  if (x.numel() == 0) return env.Undefined();
  const int64_t planes = g.N * g.C;
  const int64_t grain = planeGrain(w.kh * w.kw * g.oh * g.ow + g.H * g.W);
  bool ok = true;
  dispatchFloating(x.dtype, [&](auto e) {
    using E = decltype(e);
    using A = typename E::A;
    std::atomic<bool> fine{true};
    parallelFor(planes, grain, [&](int64_t b, int64_t en) {
      A* acc = (A*)std::malloc((size_t)(g.H * g.W) * sizeof(A));
      if (!acc) {
        fine = false;
        return;
      }
      col2imPlanes<E>(cols, x, g, b, en, acc);
      std::free(acc);
    });
    ok = fine;
  });
  if (!ok) throwError(env, op, "out of host memory for an accumulation plane of x " + x.describe());
  return env.Undefined();
}

DL4TS_EXPORT("im2col", Im2col);
DL4TS_EXPORT("col2im", Col2im);

}  // namespace dl4ts
