import type { BinaryOp, UnaryOp } from '../backend/backend.js';
import { needsGrad, record } from '../autodiff/tape.js';
import { pickSaved, savedByRole, type SavedValues } from '../autodiff/saved.js';
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

/** How a unary op's gradient is formed from g and the saved input x and output y it reads. */
type UnaryGrad = (g: NDArray, v: SavedValues<'x' | 'y'>, alpha: number, beta: number) => NDArray;

interface UnaryDef {
  readonly grad: UnaryGrad | null;
  /** The values the gradient reads (only these are saved for backward). */
  readonly reads: readonly ('x' | 'y')[];
  /** Integer inputs are computed in the default float type (exp of INT32 is FLOAT). */
  readonly math: boolean;
}

const noGradOp: UnaryDef = { grad: null, reads: [], math: false };

const def = (math: boolean, reads: readonly ('x' | 'y')[], grad: UnaryGrad): UnaryDef => ({ math, reads, grad });

/** A fused activation gradient kernel: `a` the forward input (or output), `b` the upstream gradient. */
const fused = (op: BinaryOp, math: boolean, useOutput = false): UnaryDef =>
  def(math, [useOutput ? 'y' : 'x'], (g, v, alpha, beta) => binaryRaw(op, useOutput ? v.y : v.x, g, g.dtype, alpha, beta));

/** Each unary op's gradient, next to its name; the kernels live in the backend. */
const UNARY: Partial<Record<UnaryOp, UnaryDef>> = {
  neg: def(false, [], (g) => unaryRaw('neg', g)),
  abs: def(false, ['x'], (g, v) => mul(g, unaryRaw('sign', v.x))),
  sign: noGradOp,
  exp: def(true, ['y'], (g, v) => mul(g, v.y)),
  log: def(true, ['x'], (g, v) => div(g, v.x)),
  log1p: def(true, ['x'], (g, v) => div(g, unaryRaw('addScalar', v.x, v.x.dtype, 1))),
  expm1: def(true, ['y'], (g, v) => mul(g, unaryRaw('addScalar', v.y, v.y.dtype, 1))),
  sqrt: def(true, ['y'], (g, v) => div(unaryRaw('mulScalar', g, g.dtype, 0.5), v.y)),
  rsqrt: def(true, ['y'], (g, v) => mul(unaryRaw('mulScalar', g, g.dtype, -0.5), unaryRaw('pow', v.y, v.y.dtype, 3))),
  square: def(false, ['x'], (g, v) => mul(g, unaryRaw('mulScalar', v.x, v.x.dtype, 2))),
  reciprocal: def(true, ['y'], (g, v) => mul(unaryRaw('neg', g), unaryRaw('square', v.y))),
  sin: def(true, ['x'], (g, v) => mul(g, unaryRaw('cos', v.x))),
  cos: def(true, ['x'], (g, v) => mul(unaryRaw('neg', g), unaryRaw('sin', v.x))),
  tanh: fused('tanhGrad', true, true),
  sigmoid: fused('sigmoidGrad', true, true),
  relu: fused('reluGrad', false),
  leakyrelu: fused('leakyreluGrad', true),
  elu: fused('eluGrad', true),
  selu: fused('seluGrad', true),
  gelu: fused('geluGrad', true),
  swish: fused('swishGrad', true),
  softplus: fused('softplusGrad', true),
  hardtanh: fused('hardtanhGrad', true),
  hardsigmoid: fused('hardsigmoidGrad', true),
  floor: noGradOp,
  ceil: noGradOp,
  round: noGradOp,
  pow: def(true, ['x'], (g, v, p) => mul(g, unaryRaw('mulScalar', unaryRaw('pow', v.x, v.x.dtype, p - 1), v.x.dtype, p))),
  clip: fused('hardtanhGrad', false),
  addScalar: def(false, [], (g) => g),
  mulScalar: def(false, [], (g, _v, a) => unaryRaw('mulScalar', g, g.dtype, a)),
  rsubScalar: def(false, [], (g) => unaryRaw('neg', g)),
  rdivScalar: def(true, ['x', 'y'], (g, v) => unaryRaw('neg', div(mul(g, v.y), v.x))),
};

/** A differentiable unary op. */
export function unary(op: UnaryOp, x: NDArray, alpha = 0, beta = 0): NDArray {
  const d = UNARY[op];
  if (!d) throw new Error(`unary: '${op}' is not a differentiable unary op`);
  const input = d.math && x.dtype !== floatTypeOf(x) ? unaryRaw('identity', x, floatTypeOf(x)) : x;
  const y = unaryRaw(op, input, input.dtype, alpha, beta);
  const { grad, reads } = d;
  if (grad && needsGrad([x])) {
    record(y, op, [x], pickSaved(reads, { x: input, y }), (g, saved) => [grad(g, savedByRole(reads, saved), alpha, beta)]);
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

