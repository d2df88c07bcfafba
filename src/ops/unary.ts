import type { BinaryOp, UnaryOp } from '../backend/backend.js';
import { needsGrad, record } from '../autodiff/tape.js';
import type { DataType } from '../ndarray/dtype.js';
import { NDArray } from '../ndarray/ndarray.js';
import { floatTypeOf, outputLike } from './util.js';
import { mul, div, binaryRaw } from './binary.js';

/** Runs a unary kernel into a new array of `dtype` (no autograd). */
export function unaryRaw(op: UnaryOp, x: NDArray, dtype: DataType = x.dtype, alpha = 0, beta = 0): NDArray {
  const out = outputLike(x, x.shape, dtype);
  x.backend.unary(op, x, out, alpha, beta);
  return out;
}

/** How a unary op's gradient is formed from g, the input x and the output y. */
type UnaryGrad = (g: NDArray, x: NDArray, y: NDArray, alpha: number, beta: number) => NDArray;

/** A fused activation gradient kernel: `a` the forward input (or output), `b` the upstream gradient. */
const fused = (op: BinaryOp, useOutput = false): UnaryGrad => (g, x, y, alpha, beta) => binaryRaw(op, useOutput ? y : x, g, g.dtype, alpha, beta);

interface UnaryDef {
  readonly grad: UnaryGrad | null;
  /** Integer inputs are computed in the default float type (exp of INT32 is FLOAT). */
  readonly math: boolean;
}

const noGradOp: UnaryDef = { grad: null, math: false };

/** Each unary op's gradient, next to its name; the kernels live in the backend. */
const UNARY: Partial<Record<UnaryOp, UnaryDef>> = {
  neg: { math: false, grad: (g) => unaryRaw('neg', g) },
  abs: { math: false, grad: (g, x) => mul(g, unaryRaw('sign', x)) },
  sign: noGradOp,
  exp: { math: true, grad: (g, _x, y) => mul(g, y) },
  log: { math: true, grad: (g, x) => div(g, x) },
  log1p: { math: true, grad: (g, x) => div(g, unaryRaw('addScalar', x, x.dtype, 1)) },
  expm1: { math: true, grad: (g, _x, y) => mul(g, unaryRaw('addScalar', y, y.dtype, 1)) },
  sqrt: { math: true, grad: (g, _x, y) => div(unaryRaw('mulScalar', g, g.dtype, 0.5), y) },
  rsqrt: { math: true, grad: (g, _x, y) => mul(unaryRaw('mulScalar', g, g.dtype, -0.5), unaryRaw('pow', y, y.dtype, 3)) },
  square: { math: false, grad: (g, x) => mul(g, unaryRaw('mulScalar', x, x.dtype, 2)) },
  reciprocal: { math: true, grad: (g, _x, y) => mul(unaryRaw('neg', g), unaryRaw('square', y)) },
  sin: { math: true, grad: (g, x) => mul(g, unaryRaw('cos', x)) },
  cos: { math: true, grad: (g, x) => mul(unaryRaw('neg', g), unaryRaw('sin', x)) },
  tanh: { math: true, grad: fused('tanhGrad', true) },
  sigmoid: { math: true, grad: fused('sigmoidGrad', true) },
  relu: { math: false, grad: fused('reluGrad') },
  leakyrelu: { math: true, grad: fused('leakyreluGrad') },
  elu: { math: true, grad: fused('eluGrad') },
  selu: { math: true, grad: fused('seluGrad') },
  gelu: { math: true, grad: fused('geluGrad') },
  swish: { math: true, grad: fused('swishGrad') },
  softplus: { math: true, grad: fused('softplusGrad') },
  hardtanh: { math: true, grad: fused('hardtanhGrad') },
  hardsigmoid: { math: true, grad: fused('hardsigmoidGrad') },
  floor: noGradOp,
  ceil: noGradOp,
  round: noGradOp,
  pow: { math: true, grad: (g, x, _y, p) => mul(g, unaryRaw('mulScalar', unaryRaw('pow', x, x.dtype, p - 1), x.dtype, p)) },
  clip: { math: false, grad: fused('hardtanhGrad') },
  addScalar: { math: false, grad: (g) => g },
  mulScalar: { math: false, grad: (g, _x, _y, a) => unaryRaw('mulScalar', g, g.dtype, a) },
  rsubScalar: { math: false, grad: (g) => unaryRaw('neg', g) },
  rdivScalar: { math: true, grad: (g, x, y) => unaryRaw('neg', div(mul(g, y), x)) },
};

/** A differentiable unary op. */
export function unary(op: UnaryOp, x: NDArray, alpha = 0, beta = 0): NDArray {
  const def = UNARY[op];
  if (!def) throw new Error(`unary: '${op}' is not a differentiable unary op`);
  const input = def.math && x.dtype !== floatTypeOf(x) ? unaryRaw('identity', x, floatTypeOf(x)) : x;
  const y = unaryRaw(op, input, input.dtype, alpha, beta);
  const grad = def.grad;
  if (grad && needsGrad([x])) {
    record(y, op, [x], [input, y], (g, [xs, ys]) => [grad(g, xs!, ys!, alpha, beta)]);
  }
  return y;
}

export const neg = (x: NDArray): NDArray => unary('neg', x);
export const abs = (x: NDArray): NDArray => unary('abs', x);
export const sign = (x: NDArray): NDArray => unary('sign', x);
export const exp = (x: NDArray): NDArray => unary('exp', x);
export const log = (x: NDArray): NDArray => unary('log', x);
export const log1p = (x: NDArray): NDArray => unary('log1p', x);
export const expm1 = (x: NDArray): NDArray => unary('expm1', x);
export const sqrt = (x: NDArray): NDArray => unary('sqrt', x);
export const rsqrt = (x: NDArray): NDArray => unary('rsqrt', x);
export const square = (x: NDArray): NDArray => unary('square', x);
export const reciprocal = (x: NDArray): NDArray => unary('reciprocal', x);
export const sin = (x: NDArray): NDArray => unary('sin', x);
export const cos = (x: NDArray): NDArray => unary('cos', x);
export const tanh = (x: NDArray): NDArray => unary('tanh', x);
export const sigmoid = (x: NDArray): NDArray => unary('sigmoid', x);
export const relu = (x: NDArray): NDArray => unary('relu', x);
export const leakyRelu = (x: NDArray, alpha = 0.01): NDArray => unary('leakyrelu', x, alpha);
export const elu = (x: NDArray, alpha = 1): NDArray => unary('elu', x, alpha);
export const selu = (x: NDArray): NDArray => unary('selu', x);
export const gelu = (x: NDArray): NDArray => unary('gelu', x);
export const swish = (x: NDArray): NDArray => unary('swish', x);
export const softplus = (x: NDArray): NDArray => unary('softplus', x);
export const hardTanh = (x: NDArray, min = -1, max = 1): NDArray => unary('hardtanh', x, min, max);
export const hardSigmoid = (x: NDArray): NDArray => unary('hardsigmoid', x);
export const floor = (x: NDArray): NDArray => unary('floor', x);
export const ceil = (x: NDArray): NDArray => unary('ceil', x);
export const round = (x: NDArray): NDArray => unary('round', x);
/** Elementwise x^p for a number p (see pow for an array exponent). */
export const powScalar = (x: NDArray, p: number): NDArray => unary('pow', x, p);
export const clip = (x: NDArray, min: number, max: number): NDArray => {
  if (!(min <= max)) throw new Error(`clip: min (${min}) must not exceed max (${max})`);
  return unary('clip', x, min, max);
};
/** Logical not: BOOL result. */
export const not = (x: NDArray): NDArray => unaryRaw('not', x, 'BOOL');

/** x + s for a number s (exact: the kernel adds in the array's type). */
export const addScalar = (x: NDArray, s: number): NDArray => unary('addScalar', x, s);

