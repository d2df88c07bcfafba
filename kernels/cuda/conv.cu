// Convolution support over NCHW (src/backend/cuda/conv.ts), as native/cpu/conv.cc and pool.cc.
// The launcher prepends one of
//   #define KIND_IM2COL 1, ELEM <raw type>   im2col (raw element copies of 1, 2, 4 or 8 bytes)
//   #define KIND_COL2IM 1, T DT_<float type>  col2im
//   #define KIND_POOL 1, T DT_<float type>, POOL_MAX or POOL_AVG 1
//                                            pool2d, and pool2d_argmax + pool2d_grad_max or pool2d_grad_avg
// Every kernel writes each output element once (gather formulations, no atomics) and sums in the
// order the CPU does, so results are bit-identical to the CPU backend. Sums run in T::C (float for
// FLOAT/HALF/BFLOAT16, double for DOUBLE) and round once on store.
// The launcher guarantees H + 2*ph, W + 2*pw, H*W, C*kh*kw and oh*ow below 2^31, so window
// coordinates are int; element offsets are i64.
#include "common.cuh"

// The window geometry, passed as int parameters in this order by every kernel.
#define GEOM_PARAMS int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int oh, int ow
#define GEOM_ARGS kh, kw, sh, sw, ph, pw, dh, dw, oh, ow

// Splits `linear` (row-major over [A, B, C, D]) into its four coordinates; I is u32 when the
// space has fewer than 2^32 elements (cheap divisions), else u64.
template <class I>
__device__ __forceinline__ void split4(I linear, I b, I c, I d, I& i0, I& i1, I& i2, I& i3) {
  i3 = linear % d;
  linear /= d;
  i2 = linear % c;
  linear /= c;
  i1 = linear % b;
  i0 = linear / b;
}

// Window taps i in [lo, hi) of output position o whose input index o*s - p + i*d lies in [0, in)
// (pool.cc's windowTaps).
__device__ __forceinline__ void windowTaps(int o, int in, int s, int p, int d, int k, int& lo, int& hi) {
  const int start = o * s - p;
  lo = start >= 0 ? 0 : (-start + d - 1) / d;
  const int reach = start > in - 1 ? 0 : (in - 1 - start) / d + 1;
  hi = reach < k ? reach : k;
  if (hi < lo) hi = lo;
}

#ifdef KIND_IM2COL
// cols[n, (c*kh + i)*kw + j, oy*ow + ox] = x[n, c, oy*sh - ph + i*dh, ox*sw - pw + j*dw] (0 outside).
template <class I>
__device__ __forceinline__ void im2colBody(const ELEM* x, const TensorDesc& xd, ELEM* cols, const TensorDesc& cd, GEOM_PARAMS, i64 n) {
  const int H = (int)xd.shape[2], W = (int)xd.shape[3];
  const I R = (I)cd.shape[1];
  GRID_STRIDE(lin, n) {
    I nn, row, oy, ox;
    split4<I>((I)lin, R, (I)oh, (I)ow, nn, row, oy, ox);
    const int j = (int)row % kw, t = (int)row / kw;
    const int i = t % kh, c = t / kh;
    const int iy = (int)oy * sh - ph + i * dh, ix = (int)ox * sw - pw + j * dw;
    ELEM v = (ELEM)0;
    if (iy >= 0 && iy < H && ix >= 0 && ix < W)
      v = x[(i64)nn * xd.strides[0] + (i64)c * xd.strides[1] + (i64)iy * xd.strides[2] + (i64)ix * xd.strides[3]];
    cols[(i64)nn * cd.strides[0] + (i64)row * cd.strides[1] + ((i64)oy * ow + (i64)ox) * cd.strides[2]] = v;
  }
}

extern "C" __global__ void im2col(const ELEM* x, TensorDesc xd, ELEM* cols, TensorDesc cd, GEOM_PARAMS, i64 n) {
  if (n <= 0xffffffffLL) im2colBody<u32>(x, xd, cols, cd, GEOM_ARGS, n);
  else im2colBody<u64>(x, xd, cols, cd, GEOM_ARGS, n);
}
#endif

#if defined(KIND_COL2IM) || defined(KIND_POOL)
typedef T::S S;
typedef T::C A;
#endif

#ifdef KIND_COL2IM
// x[n, c, y, xx] = sum over taps (i, j), in the CPU's order, of the column entries that im2col
// copied from this pixel: oy = (y + ph - i*dh) / sh and ox = (xx + pw - j*dw) / sw when exact.
template <class I>
__device__ __forceinline__ void col2imBody(const S* cols, const TensorDesc& cd, S* x, const TensorDesc& xd, GEOM_PARAMS, i64 n) {
  const I C = (I)xd.shape[1], H = (I)xd.shape[2], W = (I)xd.shape[3];
  GRID_STRIDE(lin, n) {
    I nn, c, yy, xx;
    split4<I>((I)lin, C, H, W, nn, c, yy, xx);
    const S* base = cols + (i64)nn * cd.strides[0];
    A acc = A(0);
    for (int i = 0; i < kh; ++i) {
      const int ty = (int)yy + ph - i * dh;
      if (ty < 0) break;  // decreases with i
      if (ty % sh) continue;
      const int oy = ty / sh;
      if (oy >= oh) continue;
      for (int j = 0; j < kw; ++j) {
        const int tx = (int)xx + pw - j * dw;
        if (tx < 0) break;
        if (tx % sw) continue;
        const int ox = tx / sw;
        if (ox >= ow) continue;
        const i64 row = ((i64)c * kh + i) * kw + j;
        acc += T::load(base[row * cd.strides[1] + ((i64)oy * ow + ox) * cd.strides[2]]);
      }
    }
    x[(i64)nn * xd.strides[0] + (i64)c * xd.strides[1] + (i64)yy * xd.strides[2] + (i64)xx * xd.strides[3]] = T::store((double)acc);
  }
}

extern "C" __global__ void col2im(const S* cols, TensorDesc cd, S* x, TensorDesc xd, GEOM_PARAMS, i64 n) {
  if (n <= 0xffffffffLL) col2imBody<u32>(cols, cd, x, xd, GEOM_ARGS, n);
  else col2imBody<u64>(cols, cd, x, xd, GEOM_ARGS, n);
}
#endif

#ifdef KIND_POOL
__device__ __forceinline__ const S* planeOf(const S* p, const TensorDesc& d, i64 nn, i64 c) {
  return p + nn * d.strides[0] + c * d.strides[1];
}

// The largest in-bounds tap of window (oy, ox), first in row-major window order on ties; the first
// NaN wins (pool.cc's windowMax). Every window has an in-bounds tap (checked by the launcher).
__device__ __forceinline__ A windowMax(const S* xp, const TensorDesc& xd, int H, int W, int oy, int ox, GEOM_PARAMS, int& bestY,
                                       int& bestX) {
  int ilo, ihi, jlo, jhi;
  windowTaps(oy, H, sh, ph, dh, kh, ilo, ihi);
  windowTaps(ox, W, sw, pw, dw, kw, jlo, jhi);
  const int y0 = oy * sh - ph, x0 = ox * sw - pw;
  bool found = false;
  A best = A(0);
  bestY = bestX = 0;
  for (int i = ilo; i < ihi; ++i) {
    const int iy = y0 + i * dh;
    const S* row = xp + (i64)iy * xd.strides[2];
    for (int j = jlo; j < jhi; ++j) {
      const int ix = x0 + j * dw;
      const A v = T::load(row[(i64)ix * xd.strides[3]]);
      if (!found || (best == best && (v > best || v != v))) {
        found = true;
        best = v;
        bestY = iy;
        bestX = ix;
      }
    }
  }
  return best;
}

__device__ __forceinline__ int windowCount(int oy, int ox, int H, int W, GEOM_PARAMS, int countIncludePad) {
  if (countIncludePad) return kh * kw;
  int ilo, ihi, jlo, jhi;
  windowTaps(oy, H, sh, ph, dh, kh, ilo, ihi);
  windowTaps(ox, W, sw, pw, dw, kw, jlo, jhi);
  return (ihi - ilo) * (jhi - jlo);
}

// out[n, c, oy, ox] = max or mean of the window.
template <class I>
__device__ __forceinline__ void poolBody(const S* x, const TensorDesc& xd, S* out, const TensorDesc& od, GEOM_PARAMS, int countIncludePad,
                                         i64 n) {
  const int H = (int)xd.shape[2], W = (int)xd.shape[3];
  const I C = (I)xd.shape[1];
  GRID_STRIDE(lin, n) {
    I nn, c, oy, ox;
    split4<I>((I)lin, C, (I)oh, (I)ow, nn, c, oy, ox);
    const S* xp = planeOf(x, xd, (i64)nn, (i64)c);
    A r;
#ifdef POOL_MAX
    int by, bx;
    r = windowMax(xp, xd, H, W, (int)oy, (int)ox, GEOM_ARGS, by, bx);
    (void)countIncludePad;
#else
    int ilo, ihi, jlo, jhi;
    windowTaps((int)oy, H, sh, ph, dh, kh, ilo, ihi);
    windowTaps((int)ox, W, sw, pw, dw, kw, jlo, jhi);
    const int y0 = (int)oy * sh - ph, x0 = (int)ox * sw - pw;
    A sum = A(0);
    for (int i = ilo; i < ihi; ++i) {
      const S* row = xp + (i64)(y0 + i * dh) * xd.strides[2];
      for (int j = jlo; j < jhi; ++j) sum += T::load(row[(i64)(x0 + j * dw) * xd.strides[3]]);
    }
    r = sum / (A)(countIncludePad ? kh * kw : (ihi - ilo) * (jhi - jlo));
#endif
    out[(i64)nn * od.strides[0] + (i64)c * od.strides[1] + (i64)oy * od.strides[2] + (i64)ox * od.strides[3]] = T::store((double)r);
  }
}

extern "C" __global__ void pool2d(const S* x, TensorDesc xd, S* out, TensorDesc od, GEOM_PARAMS, int countIncludePad, i64 n) {
  if (n <= 0xffffffffLL) poolBody<u32>(x, xd, out, od, GEOM_ARGS, countIncludePad, n);
  else poolBody<u64>(x, xd, out, od, GEOM_ARGS, countIncludePad, n);
}

// Visits the windows (oy, ox) that hold input pixel (yy, xx) as a tap, in row-major order (the
// order the CPU accumulates them): the tap i = (yy + ph - oy*sh) / dh, so descending i gives
// ascending oy. f(oy, ox) is called for each.
template <class F>
__device__ __forceinline__ void forWindowsOf(int yy, int xx, GEOM_PARAMS, F f) {
  for (int i = kh - 1; i >= 0; --i) {
    const int ty = yy + ph - i * dh;
    if (ty < 0 || ty % sh) continue;
    const int oy = ty / sh;
    if (oy >= oh) break;  // ascends as i descends
    for (int j = kw - 1; j >= 0; --j) {
      const int tx = xx + pw - j * dw;
      if (tx < 0 || tx % sw) continue;
      const int ox = tx / sw;
      if (ox >= ow) break;
      f(oy, ox);
    }
  }
}

#ifdef POOL_MAX
// arg[n, c, oy, ox] (contiguous) = plane offset y*W + x of the window's max tap.
template <class I>
__device__ __forceinline__ void argmaxBody(const S* x, const TensorDesc& xd, int* arg, GEOM_PARAMS, i64 n) {
  const int H = (int)xd.shape[2], W = (int)xd.shape[3];
  const I C = (I)xd.shape[1];
  GRID_STRIDE(lin, n) {
    I nn, c, oy, ox;
    split4<I>((I)lin, C, (I)oh, (I)ow, nn, c, oy, ox);
    int by, bx;
    windowMax(planeOf(x, xd, (i64)nn, (i64)c), xd, H, W, (int)oy, (int)ox, GEOM_ARGS, by, bx);
    arg[lin] = by * W + bx;
  }
}

extern "C" __global__ void pool2d_argmax(const S* x, TensorDesc xd, int* arg, GEOM_PARAMS, i64 n) {
  if (n <= 0xffffffffLL) argmaxBody<u32>(x, xd, arg, GEOM_ARGS, n);
  else argmaxBody<u64>(x, xd, arg, GEOM_ARGS, n);
}

// gradIn[n, c, y, x] = sum of gradOut over the windows whose max tap (arg) is this pixel.
template <class I>
__device__ __forceinline__ void gradMaxBody(const int* arg, const S* gout, const TensorDesc& gd, S* gin, const TensorDesc& id, GEOM_PARAMS,
                                            i64 n) {
  const I C = (I)id.shape[1], H = (I)id.shape[2], W = (I)id.shape[3];
  GRID_STRIDE(lin, n) {
    I nn, c, yy, xx;
    split4<I>((I)lin, C, H, W, nn, c, yy, xx);
    const i64 plane = (i64)nn * (i64)C + (i64)c;
    const int* ap = arg + plane * oh * ow;
    const S* gp = planeOf(gout, gd, (i64)nn, (i64)c);
    const int me = (int)yy * (int)W + (int)xx;
    A acc = A(0);
    forWindowsOf((int)yy, (int)xx, GEOM_ARGS, [&](int oy, int ox) {
      if (ap[(i64)oy * ow + ox] == me) acc += T::load(gp[(i64)oy * gd.strides[2] + (i64)ox * gd.strides[3]]);
    });
    gin[(i64)nn * id.strides[0] + (i64)c * id.strides[1] + (i64)yy * id.strides[2] + (i64)xx * id.strides[3]] = T::store((double)acc);
  }
}

extern "C" __global__ void pool2d_grad_max(const int* arg, const S* gout, TensorDesc gd, S* gin, TensorDesc id, GEOM_PARAMS, i64 n) {
  if (n <= 0xffffffffLL) gradMaxBody<u32>(arg, gout, gd, gin, id, GEOM_ARGS, n);
  else gradMaxBody<u64>(arg, gout, gd, gin, id, GEOM_ARGS, n);
}
#endif

#ifdef POOL_AVG
// gradIn[n, c, y, x] = sum over the windows holding this pixel of gradOut / the window's count.
template <class I>
__device__ __forceinline__ void gradAvgBody(const S* gout, const TensorDesc& gd, S* gin, const TensorDesc& id, GEOM_PARAMS, int countIncludePad,
                                            i64 n) {
  const I C = (I)id.shape[1], H = (I)id.shape[2], W = (I)id.shape[3];
  GRID_STRIDE(lin, n) {
    I nn, c, yy, xx;
    split4<I>((I)lin, C, H, W, nn, c, yy, xx);
    const S* gp = planeOf(gout, gd, (i64)nn, (i64)c);
    A acc = A(0);
    forWindowsOf((int)yy, (int)xx, GEOM_ARGS, [&](int oy, int ox) {
      const A gv = T::load(gp[(i64)oy * gd.strides[2] + (i64)ox * gd.strides[3]]);
      acc += gv / (A)windowCount(oy, ox, (int)H, (int)W, GEOM_ARGS, countIncludePad);
    });
    gin[(i64)nn * id.strides[0] + (i64)c * id.strides[1] + (i64)yy * id.strides[2] + (i64)xx * id.strides[3]] = T::store((double)acc);
  }
}

extern "C" __global__ void pool2d_grad_avg(const S* gout, TensorDesc gd, S* gin, TensorDesc id, GEOM_PARAMS, int countIncludePad, i64 n) {
  if (n <= 0xffffffffLL) gradAvgBody<u32>(gout, gd, gin, id, GEOM_ARGS, countIncludePad, n);
  else gradAvgBody<u64>(gout, gd, gin, id, GEOM_ARGS, countIncludePad, n);
}
#endif
#endif
