import type { ReduceOp } from '../backend/backend.js';
import { needsGrad, record } from '../autodiff/tape.js';
import { pickSaved, savedByRole, type SavedValues } from '../autodiff/saved.js';
import { isFloating } from '../ndarray/dtype.js';
import { NDArray } from '../ndarray/ndarray.js';
import { contiguousStrides, normalizeAxes, normalizeAxis, sizeOf, type Shape } from '../ndarray/shape.js';
import { broadcastRef, floatTypeOf, outputLike, reshapedRef } from './util.js';
import { binaryRaw, div, mul, sub } from './binary.js';
import { unaryRaw } from './unary.js';

type Axes = number | readonly number[] | undefined;

/** Shape with the reduced axes kept as size 1. */
function keptShape(shape: Shape, axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** Runs a reduction kernel (no autograd). The result has the kept-dims shape, or drops the axes. */
export function reduceRaw(op: ReduceOp, x: NDArray, axes: readonly number[], keepDims: boolean, ddof = 0): NDArray {
  const kept = keptShape(x.shape, axes);
  const shape = keepDims ? kept : x.shape.filter((_, i) => !axes.includes(i));
  const dtype = op === 'argmax' || op === 'argmin' ? 'INT64' : op === 'any' || op === 'all' ? 'BOOL' : x.dtype;
  const out = NDArray.uninitialized(shape, dtype, x.backend);
  x.backend.reduce(op, x, reshapedRef(out, kept, contiguousStrides(kept)), axes, ddof);
  return out;
}

/** g (reduced over `axes`, kept or not) viewed as broadcastable against x's shape. */
function expandGrad(g: NDArray, xShape: Shape, axes: readonly number[]): NDArray {
  const kept = keptShape(xShape, axes);
  const c = g.isContiguous ? g : g.dup();
  return c.view(kept, contiguousStrides(kept), c.offset);
}

/** A reduction's gradient from g (broadcastable against x), the saved x and y it reads, x's shape, the count n and ddof. */
type ReduceGrad = (g: NDArray, v: SavedValues<'x' | 'y'>, xShape: Shape, n: number, ddof: number) => NDArray;

interface ReduceDef {
  /** The values the gradient reads (only these are saved; y arrives broadcastable against x). */
  readonly reads: readonly ('x' | 'y')[];
  readonly grad: ReduceGrad;
}

/** Gradients of the differentiable reductions; g and y broadcast against x. */
const REDUCE_GRADS: Partial<Record<ReduceOp, ReduceDef>> = {
  sum: { reads: [], grad: (g, _v, shape) => broadcastTo0(g, shape) },
  mean: { reads: [], grad: (g, _v, shape, n) => broadcastTo0(unaryRaw('mulScalar', g, g.dtype, 1 / n), shape) },
  prod: { reads: ['x', 'y'], grad: (g, v) => div(mul(g, v.y), v.x) },
  max: { reads: ['x', 'y'], grad: (g, v, shape) => mul(g, unaryRaw('identity', binaryRaw('eq', v.x, broadcastTo0(v.y, shape)), v.x.dtype)) },
  min: { reads: ['x', 'y'], grad: (g, v, shape) => mul(g, unaryRaw('identity', binaryRaw('eq', v.x, broadcastTo0(v.y, shape)), v.x.dtype)) },
  variance: { reads: ['x'], grad: (g, v, _shape, n, ddof) => mul(g, unaryRaw('mulScalar', sub(v.x, mean(v.x, axesOfBroadcast(g, v.x), true)), v.x.dtype, 2 / (n - ddof))) },
  std: { reads: ['x', 'y'], grad: (g, v, shape, n, ddof) => div(mul(g, sub(v.x, mean(v.x, axesOfBroadcast(g, v.x), true))), unaryRaw('mulScalar', broadcastTo0(v.y, shape), v.x.dtype, n - ddof)) },
  norm1: { reads: ['x'], grad: (g, v) => mul(g, unaryRaw('sign', v.x)) },
  norm2: { reads: ['x', 'y'], grad: (g, v, shape) => div(mul(g, v.x), broadcastTo0(v.y, shape)) },
  logsumexp: { reads: ['x', 'y'], grad: (g, v) => mul(g, unaryRaw('exp', sub(v.x, v.y))) },
};

/** A kept-dims array materialised to x's shape (so later kernels see plain contiguous data). */
function broadcastTo0(g: NDArray, shape: Shape): NDArray {
  const out = outputLike(g, shape);
  g.backend.unary('identity', broadcastRef(g, shape), out);
  return out;
}

function axesOfBroadcast(g: NDArray, x: NDArray): number[] {
  return x.shape.flatMap((d, i) => (g.shape[i] === 1 && d !== 1 ? [i] : []));
}

/** A differentiable reduction over `axes` (all when undefined). */
export function reduce(op: ReduceOp, x: NDArray, axes: Axes, keepDims = false, ddof = 0): NDArray {
  const ax = normalizeAxes(axes, x.rank, op);
  const needsFloat = op === 'mean' || op === 'variance' || op === 'std' || op === 'norm2' || op === 'logsumexp';
  // Summing booleans counts them (INT64, as numpy); kept as BOOL the result would only say whether any was true.
  const counts = (op === 'sum' || op === 'prod' || op === 'norm1') && x.dtype === 'BOOL';
  const input = needsFloat && !isFloating(x.dtype) ? unaryRaw('identity', x, floatTypeOf(x)) : counts ? unaryRaw('identity', x, 'INT64') : x;
  const y = reduceRaw(op, input, ax, keepDims, ddof);
  const d = REDUCE_GRADS[op];
  if (d && needsGrad([x])) {
    const n = sizeOf(ax.map((a) => x.shape[a]!));
    const shape = input.shape;
    record(y, op, [x], pickSaved(d.reads, { x: input, y }), (g, saved) => {
      const v = savedByRole(d.reads, saved);
      const expanded = d.reads.includes('y') ? { x: v.x, y: expandGrad(v.y, shape, ax) } : v;
      return [d.grad(expandGrad(g, shape, ax), expanded, shape, n, ddof)];
    });
  }
  return y;
}

export const sum = (x: NDArray, axes?: Axes, keepDims = false): NDArray => reduce('sum', x, axes, keepDims);
export const mean = (x: NDArray, axes?: Axes, keepDims = false): NDArray => reduce('mean', x, axes, keepDims);
export const prod = (x: NDArray, axes?: Axes, keepDims = false): NDArray => reduce('prod', x, axes, keepDims);
export const max = (x: NDArray, axes?: Axes, keepDims = false): NDArray => reduce('max', x, axes, keepDims);
export const min = (x: NDArray, axes?: Axes, keepDims = false): NDArray => reduce('min', x, axes, keepDims);
export const variance = (x: NDArray, axes?: Axes, keepDims = false, ddof = 0): NDArray => reduce('variance', x, axes, keepDims, ddof);
export const std = (x: NDArray, axes?: Axes, keepDims = false, ddof = 0): NDArray => reduce('std', x, axes, keepDims, ddof);
export const norm1 = (x: NDArray, axes?: Axes, keepDims = false): NDArray => reduce('norm1', x, axes, keepDims);
export const norm2 = (x: NDArray, axes?: Axes, keepDims = false): NDArray => reduce('norm2', x, axes, keepDims);
export const logSumExp = (x: NDArray, axes?: Axes, keepDims = false): NDArray => reduce('logsumexp', x, axes, keepDims);
export const any = (x: NDArray, axes?: Axes, keepDims = false): NDArray => reduce('any', x, axes, keepDims);
export const all = (x: NDArray, axes?: Axes, keepDims = false): NDArray => reduce('all', x, axes, keepDims);

/** Index of the largest value along `axis` (over the flattened array when undefined); INT64. */
export function argmax(x: NDArray, axis?: number, keepDims = false): NDArray {
  return argReduce('argmax', x, axis, keepDims);
}

export function argmin(x: NDArray, axis?: number, keepDims = false): NDArray {
  return argReduce('argmin', x, axis, keepDims);
}

function argReduce(op: 'argmax' | 'argmin', x: NDArray, axis: number | undefined, keepDims: boolean): NDArray {
  const axes = axis === undefined ? normalizeAxes(undefined, x.rank, op) : [normalizeAxis(axis, x.rank, op)];
  return reduceRaw(op, x, axes, keepDims);
}

/** Sums g over the axes that broadcasting added or stretched, so it matches `shape` (the adjoint of broadcasting). */
export function sumToShape(g: NDArray, shape: Shape): NDArray {
  if (g.rank === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const summed = reduceRaw('sum', g, axes, true);
  return summed.view(shape, contiguousStrides(shape), 0);
}
