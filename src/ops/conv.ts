import type { Conv2dGeometry, DirectConvolution, PoolOp } from '../backend/backend.js';
import { dtypeSize } from '../ndarray/dtype.js';
import { needsGrad, record } from '../autodiff/tape.js';
import { NDArray } from '../ndarray/ndarray.js';
import { formatShape } from '../ndarray/shape.js';
import { add } from './binary.js';
import { matmul } from './linalg.js';
import { commonBackend, describe, outputLike, requireFloating } from './util.js';
import { reshape } from './views.js';

/** A 2-D size: one number for both axes, or [height, width]. */
export type Size2 = number | readonly [number, number];

export interface ConvWindowOptions {
  /** Default 1. */
  stride?: Size2;
  /** Zero padding on each side; default 0. */
  padding?: Size2;
  /** Default 1. */
  dilation?: Size2;
}

export interface Pool2dOptions extends ConvWindowOptions {
  kernel: Size2;
  /** Default: the kernel size (non-overlapping windows). */
  stride?: Size2;
  /** Average pooling: divide by the whole window (true, default) or by its in-bounds part only. */
  countIncludePad?: boolean;
}

function pair(op: string, name: string, v: Size2, min: number): [number, number] {
  const p: readonly number[] = typeof v === 'number' ? [v, v] : v;
  if (p.length !== 2 || !p.every((d) => Number.isInteger(d) && d >= min)) {
    throw new Error(`${op}: ${name} must be an integer >= ${min} or a pair [h, w] of them, got ${JSON.stringify(v)}`);
  }
  return [p[0]!, p[1]!];
}

/** The kernel-call geometry of a kh x kw window with the given options. */
export function convGeometry(kernel: Size2, options: ConvWindowOptions = {}, op = 'conv2d'): Conv2dGeometry {
  const [kh, kw] = pair(op, 'kernel', kernel, 1);
  const [sh, sw] = pair(op, 'stride', options.stride ?? 1, 1);
  const [ph, pw] = pair(op, 'padding', options.padding ?? 0, 0);
  const [dh, dw] = pair(op, 'dilation', options.dilation ?? 1, 1);
  return { kh, kw, sh, sw, ph, pw, dh, dw };
}

/** Output height and width of a window sliding over an H x W image; throws when the window does not fit. */
export function convOutputSize(op: string, h: number, w: number, g: Conv2dGeometry): [number, number] {
  const spanH = g.dh * (g.kh - 1) + 1;
  const spanW = g.dw * (g.kw - 1) + 1;
  const padH = h + 2 * g.ph;
  const padW = w + 2 * g.pw;
  if (spanH > padH || spanW > padW) {
    throw new Error(`${op}: the ${g.kh}x${g.kw} kernel (dilation ${g.dh}x${g.dw}, span ${spanH}x${spanW}) is larger than the padded input ${padH}x${padW} (input ${h}x${w}, padding ${g.ph}x${g.pw})`);
  }
  return [Math.floor((padH - spanH) / g.sh) + 1, Math.floor((padW - spanW) / g.sw) + 1];
}

function checkImage(op: string, x: NDArray): [number, number, number, number] {
  if (x.rank !== 4) throw new Error(`${op}: expected an input of shape [N, C, H, W], got ${describe(x)}`);
  return x.shape as unknown as [number, number, number, number];
}

/** im2col without autograd: [N, C, H, W] to [N, C*kh*kw, oh*ow] (row c*kh*kw + i*kw + j, column y*ow + x). */
function im2colRaw(x: NDArray, g: Conv2dGeometry): NDArray {
  const [n, c, h, w] = checkImage('im2col', x);
  const [oh, ow] = convOutputSize('im2col', h, w, g);
  const cols = outputLike(x, [n, c * g.kh * g.kw, oh * ow]);
  if (cols.size > 0) x.backend.im2col(x, cols, g);
  return cols;
}

/**
 * The adjoint of im2col: sums the columns [N, C*kh*kw, oh*ow] back into an image of `imageShape`
 * [N, C, H, W] (overlapping windows add up). Differentiable: being linear, its gradient is im2col
 * of the image gradient (so transposed convolutions train through it).
 */
export function col2im(cols: NDArray, imageShape: readonly number[], g: Conv2dGeometry): NDArray {
  if (imageShape.length !== 4) throw new Error(`col2im: the image shape must be [N, C, H, W], got ${formatShape(imageShape)}`);
  const [n, c, h, w] = imageShape as [number, number, number, number];
  const [oh, ow] = convOutputSize('col2im', h, w, g);
  const expected = [n, c * g.kh * g.kw, oh * ow];
  if (cols.rank !== 3 || cols.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`col2im: columns ${describe(cols)} do not match image ${formatShape(imageShape)} with a ${g.kh}x${g.kw} kernel (expected ${formatShape(expected)})`);
  }
  const img = outputLike(cols, imageShape);
  if (img.size > 0) cols.backend.col2im(cols, img, g);
  if (needsGrad([cols])) record(img, 'col2im', [cols], [], (gr) => [im2col(gr, g)]);
  return img;
}

/** Unfolds sliding windows into columns [N, C*kh*kw, oh*ow]; differentiable (the gradient is col2im). */
export function im2col(x: NDArray, g: Conv2dGeometry): NDArray {
  const geometry = convGeometry([g.kh, g.kw], { stride: [g.sh, g.sw], padding: [g.ph, g.pw], dilation: [g.dh, g.dw] }, 'im2col');
  const cols = im2colRaw(x, geometry);
  if (needsGrad([x])) {
    const shape = [...x.shape];
    record(cols, 'im2col', [x], [], (gr) => [col2im(gr, shape, geometry)]);
  }
  return cols;
}

/**
 * 2-D convolution (cross-correlation, as DL4J's ConvolutionLayer): x [N, C, H, W], weights
 * [O, C, kh, kw], optional bias [O], giving [N, O, oh, ow]. Built as im2col then one matmul with
 * the weights as [O, C*kh*kw] broadcast over the batch, so its gradients come from those ops.
 */
export function conv2d(x: NDArray, weights: NDArray, bias?: NDArray, options: ConvWindowOptions = {}): NDArray {
  const [n, c] = checkImage('conv2d', x);
  if (weights.rank !== 4) throw new Error(`conv2d: expected weights of shape [O, C, kh, kw], got ${describe(weights)}`);
  const [o, wc, kh, kw] = weights.shape as [number, number, number, number];
  if (wc !== c) throw new Error(`conv2d: the input has ${c} channels (${describe(x)}) but the weights expect ${wc} (${describe(weights)})`);
  requireFloating('conv2d', x);
  requireFloating('conv2d', weights);
  if (x.dtype !== weights.dtype) throw new Error(`conv2d: input and weights differ in dtype: ${describe(x)} and ${describe(weights)}`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== o)) throw new Error(`conv2d: expected a bias of shape [${o}], got ${describe(bias)}`);
  if (bias && bias.dtype !== x.dtype) throw new Error(`conv2d: bias ${describe(bias)} differs in dtype from the input ${describe(x)}`);
  commonBackend('conv2d', bias ? [x, weights, bias] : [x, weights]);
  const g = convGeometry([kh, kw], options, 'conv2d');
  const [oh, ow] = convOutputSize('conv2d', x.shape[2]!, x.shape[3]!, g);
  const direct = x.backend.convolution;
  const y = direct?.supports(x.dtype) && x.size > 0 && weights.size > 0
    ? directConv2d(direct, x, weights, [n, o, oh, ow], g)
    : reshape(matmul(reshape(weights, [o, c * kh * kw]), im2col(x, g)), [n, o, oh, ow]);
  return bias ? add(y, reshape(bias, [o, 1, 1])) : y;
}

/** x itself when packed and 16-byte aligned (what cuDNN's fast algorithms need), else a packed copy. */
function packed(x: NDArray): NDArray {
  return x.isContiguous && (x.offset * dtypeSize(x.dtype)) % 16 === 0 ? x : x.dup();
}

/** conv2d by the backend's own convolution (cuDNN), with its backward passes as the gradient. */
function directConv2d(direct: DirectConvolution, x: NDArray, weights: NDArray, outShape: readonly number[], g: Conv2dGeometry): NDArray {
  const xp = packed(x);
  const wp = packed(weights);
  const y = outputLike(x, outShape);
  if (y.size > 0) direct.forward(xp, wp, y, g);
  if (xp !== x) xp.close();
  if (needsGrad([x, weights])) {
    record(y, 'conv2d', [x, weights], [x, weights], (gy, [xs, ws], needs) => {
      const dyp = packed(gy);
      const xsp = needs[1] ? packed(xs!) : xs!;
      const wsp = needs[0] ? packed(ws!) : ws!;
      const dx = needs[0] ? outputLike(xs!, xs!.shape) : null;
      const dw = needs[1] ? outputLike(ws!, ws!.shape) : null;
      if (dx && dx.size > 0) direct.backwardData(wsp, dyp, dx, g);
      if (dw && dw.size > 0) direct.backwardFilter(xsp, dyp, dw, g);
      for (const t of [dyp, xsp, wsp]) if (t !== gy && t !== xs && t !== ws) t.close();
      return [dx, dw];
    });
  }
  if (wp !== weights) wp.close();
  return y;
}

function pool(op: PoolOp, name: string, x: NDArray, options: Pool2dOptions): NDArray {
  const [n, c, h, w] = checkImage(name, x);
  requireFloating(name, x);
  const g = convGeometry(options.kernel, { ...options, stride: options.stride ?? options.kernel }, name);
  const [oh, ow] = convOutputSize(name, h, w, g);
  const countIncludePad = options.countIncludePad ?? true;
  const out = outputLike(x, [n, c, oh, ow]);
  if (out.size > 0) x.backend.pool2d(op, x, out, g, countIncludePad);
  if (needsGrad([x])) {
    record(out, name, [x], [x], (gr, [xs]) => {
      const dx = outputLike(gr, xs!.shape);
      if (dx.size > 0) gr.backend.pool2dGrad(op, xs!, gr, dx, g, countIncludePad);
      return [dx];
    });
  }
  return out;
}

/** Max over each window of x [N, C, H, W] (padding never wins); the gradient goes to each window's maximum. */
export const maxPool2d = (x: NDArray, options: Pool2dOptions): NDArray => pool('max', 'maxPool2d', x, options);
/** Mean over each window of x [N, C, H, W] (padding counts as zeros when countIncludePad). */
export const avgPool2d = (x: NDArray, options: Pool2dOptions): NDArray => pool('avg', 'avgPool2d', x, options);
