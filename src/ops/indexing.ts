import { needsGrad, record } from '../autodiff/tape.js';
import { type DataType, defaultFloatType } from '../ndarray/dtype.js';
import { NDArray } from '../ndarray/ndarray.js';
import { formatShape, normalizeAxis } from '../ndarray/shape.js';
import { binaryRaw } from './binary.js';
import { arange } from './create.js';
import { reduceRaw } from './reduce.js';
import { commonBackend, describe, emptyLike, outputLike } from './util.js';
import { unaryRaw } from './unary.js';
import { expandDims } from './views.js';

function checkIndices(op: string, indices: NDArray): void {
  if (indices.dtype !== 'INT32' && indices.dtype !== 'INT64') throw new Error(`${op}: indices must be INT32 or INT64, got ${describe(indices)}`);
}

/** x.shape[:axis] + indices.shape + x.shape[axis+1:]: the shape gather gives and scatterAdd takes. */
function gatheredShape(shape: readonly number[], indices: NDArray, axis: number): number[] {
  return [...shape.slice(0, axis), ...indices.shape, ...shape.slice(axis + 1)];
}

function gatherRaw(x: NDArray, indices: NDArray, axis: number): NDArray {
  const out = outputLike(x, gatheredShape(x.shape, indices, axis));
  if (out.size > 0) x.backend.gather(x, indices, out, axis);
  return out;
}

/** zeros of `shape` with `updates` scatter-added at `indices` along `axis`. */
function scatterIntoZeros(updates: NDArray, indices: NDArray, shape: readonly number[], axis: number): NDArray {
  const out = emptyLike(updates, shape);
  if (updates.size > 0) updates.backend.scatterAdd(out, indices, updates, axis);
  return out;
}

/**
 * Takes the slices of x at `indices` along `axis` (numpy's take, ND4J's gather). Negative or
 * out-of-range indices are errors. Differentiable in x: the gradient scatter-adds into zeros.
 */
export function gather(x: NDArray, indices: NDArray, axis = 0): NDArray {
  checkIndices('gather', indices);
  commonBackend('gather', [x, indices]);
  const ax = normalizeAxis(axis, x.rank, 'gather');
  const out = gatherRaw(x, indices, ax);
  if (needsGrad([x])) {
    const shape = [...x.shape];
    record(out, 'gather', [x], [indices], (g, [idx]) => [scatterIntoZeros(g, idx!, shape, ax)]);
  }
  return out;
}

/**
 * A copy of target with `updates` added at `indices` along `axis` (duplicates accumulate);
 * updates has shape target.shape[:axis] + indices.shape + target.shape[axis+1:]. Differentiable in
 * target (gradient g) and updates (gradient: g gathered at indices).
 */
export function scatterAdd(target: NDArray, indices: NDArray, updates: NDArray, axis = 0): NDArray {
  checkIndices('scatterAdd', indices);
  const backend = commonBackend('scatterAdd', [target, indices, updates]);
  const ax = normalizeAxis(axis, target.rank, 'scatterAdd');
  if (updates.dtype !== target.dtype) throw new Error(`scatterAdd: updates ${describe(updates)} differ in dtype from the target ${describe(target)}`);
  const expected = gatheredShape(target.shape, indices, ax);
  if (updates.rank !== expected.length || updates.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`scatterAdd: updates ${describe(updates)} must have shape ${formatShape(expected)} for target ${describe(target)}, indices ${describe(indices)} and axis ${ax}`);
  }
  const out = unaryRaw('identity', target);
  if (updates.size > 0) backend.scatterAdd(out, indices, updates, ax);
  if (needsGrad([target, updates])) {
    record(out, 'scatterAdd', [target, updates], [indices], (g, [idx], needs) => [needs[0] ? g : null, needs[1] ? gatherRaw(g, idx!, ax) : null]);
  }
  return out;
}

export interface OneHotOptions {
  /** Default: the default float type. */
  dtype?: DataType;
}

/** indices.shape + [depth]: 1 at each index, 0 elsewhere. Indices must lie in [0, depth). */
export function oneHot(indices: NDArray, depth: number, options: OneHotOptions = {}): NDArray {
  checkIndices('oneHot', indices);
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`oneHot: depth must be a positive integer, got ${depth}`);
  if (indices.size > 0) {
    const all = indices.shape.map((_, i) => i);
    const lo = extreme('min', indices, all);
    const hi = extreme('max', indices, all);
    if (lo < 0 || hi >= depth) {
      throw new Error(`oneHot: index ${lo < 0 ? lo : hi} is out of range [0, ${depth}) (indices ${describe(indices)})`);
    }
  }
  // Compare each index with 0..depth-1 by broadcasting: no depth x depth identity matrix is built.
  const classes = arange(depth, undefined, 1, { dtype: indices.dtype, backend: indices.backend });
  const column = expandDims(indices, -1);
  const hits = binaryRaw('eq', column, classes);
  const out = unaryRaw('identity', hits, options.dtype ?? defaultFloatType());
  for (const t of [classes, column, hits]) t.close();
  return out;
}

function extreme(op: 'min' | 'max', x: NDArray, axes: readonly number[]): number {
  const r = reduceRaw(op, x, axes, false);
  try {
    return r.item();
  } finally {
    r.close();
  }
}
