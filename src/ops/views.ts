import { isGradEnabled, needsGrad, record } from '../autodiff/tape.js';
import { type DataType } from '../ndarray/dtype.js';
import { resolveIndex, type IndexSpec } from '../ndarray/indexing.js';
import { NDArray } from '../ndarray/ndarray.js';
import { broadcastShapes, broadcastStrides, checkShape, contiguousStrides, formatShape, normalizeAxes, normalizeAxis, sizeOf, type Shape } from '../ndarray/shape.js';
import { broadcastRef, describe, emptyLike } from './util.js';
import { castDiff } from './binary.js';
import { checkDataType } from './create.js';
import { sumToShape } from './reduce.js';
import { unaryRaw } from './unary.js';

/** A differentiable view: `backward` maps the view's gradient back to the base's shape. */
function viewOp(op: string, x: NDArray, shape: Shape, strides: readonly number[], offset: number, backward: (g: NDArray) => NDArray): NDArray {
  const v = x.view(shape, strides, offset);
  if (needsGrad([x])) record(v, op, [x], [], (g) => [backward(g)]);
  return v;
}

/** A contiguous copy (differentiable). */
export function dup(x: NDArray): NDArray {
  const y = unaryRaw('identity', x);
  if (needsGrad([x])) record(y, 'dup', [x], [], (g) => [g]);
  return y;
}

export function cast(x: NDArray, dtype: DataType): NDArray {
  checkDataType('cast', dtype);
  return x.dtype === dtype ? dup(x) : castDiff(x, dtype);
}

/** Resolves one -1 and checks the element count. */
function inferShape(x: NDArray, shape: readonly number[]): number[] {
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1) throw new Error(`reshape: only one dimension may be -1, got ${formatShape(shape)}`);
  const known = sizeOf(shape.filter((d) => d !== -1));
  const out = shape.map((d) => (d === -1 ? (known === 0 ? 0 : x.size / known) : d));
  const cannot = (): Error => new Error(`reshape: cannot reshape ${describe(x)} (${x.size} elements) to ${formatShape(shape)}`);
  // A -1 that does not divide evenly is a size mismatch, not an invalid shape of the caller's.
  if (unknown === 1 && !out.every(Number.isInteger)) throw cannot();
  checkShape(out, 'reshape');
  if (sizeOf(out) !== x.size || !out.every(Number.isInteger)) throw cannot();
  return out;
}

/** Strides for viewing x as `shape` without copying, or null when its layout does not allow it (numpy's rule). */
function reshapeStrides(x: NDArray, shape: readonly number[]): number[] | null {
  if (x.isContiguous || x.size === 0) return contiguousStrides(shape);
  const oldDims = x.shape.filter((d) => d !== 1);
  const oldStrides = x.strides.filter((_, i) => x.shape[i] !== 1);
  const out = new Array<number>(shape.length).fill(1);
  let oi = 0;
  let oj = 1;
  let ni = 0;
  let nj = 1;
  while (ni < shape.length && oi < oldDims.length) {
    let np = shape[ni]!;
    let op = oldDims[oi]!;
    while (np !== op) {
      if (np < op) np *= shape[nj++]!;
      else op *= oldDims[oj++]!;
    }
    for (let k = oi; k < oj - 1; k++) if (oldStrides[k] !== oldDims[k + 1]! * oldStrides[k + 1]!) return null;
    out[nj - 1] = oldStrides[oj - 1]!;
    for (let k = nj - 1; k > ni; k--) out[k - 1] = out[k]! * shape[k]!;
    ni = nj++;
    oi = oj++;
  }
  return out;
}

/** Same values, another shape (one dimension may be -1); a view when the strides allow, else a copy. */
export function reshape(x: NDArray, shape: readonly number[]): NDArray {
  const target = inferShape(x, shape);
  const strides = reshapeStrides(x, target);
  const base = strides ? x : dup(x);
  const s = strides ?? contiguousStrides(target);
  return viewOp('reshape', base, target, s, base.offset, (g) => reshape(g, base.shape));
}

export function permute(x: NDArray, axes: readonly number[]): NDArray {
  const ax = axes.map((a) => normalizeAxis(a, x.rank, 'permute'));
  if (ax.length !== x.rank || new Set(ax).size !== x.rank) {
    throw new Error(`permute: [${axes.join(', ')}] is not a permutation of the ${x.rank} axes of ${describe(x)}`);
  }
  const inverse = new Array<number>(ax.length);
  ax.forEach((a, i) => (inverse[a] = i));
  return viewOp('permute', x, ax.map((a) => x.shape[a]!), ax.map((a) => x.strides[a]!), x.offset, (g) => permute(g, inverse));
}

/** Reverses the axes. */
export function transpose(x: NDArray): NDArray {
  return permute(x, x.shape.map((_, i) => x.rank - 1 - i));
}

/** Swaps the last two axes (matrix transpose of a batch). */
export function transposeLast2(x: NDArray): NDArray {
  if (x.rank < 2) throw new Error(`transpose: ${describe(x)} has fewer than 2 axes`);
  const axes = x.shape.map((_, i) => i);
  [axes[x.rank - 2], axes[x.rank - 1]] = [axes[x.rank - 1]!, axes[x.rank - 2]!];
  return permute(x, axes);
}

/** A view selected by index specs (point, interval, all, newAxis). */
export function getView(x: NDArray, specs: readonly IndexSpec[]): NDArray {
  const r = resolveIndex(x.shape, x.strides, x.offset, specs);
  return viewOp('get', x, r.shape, r.strides, r.offset, (g) => {
    const full = emptyLike(g, x.shape);
    const slot = resolveIndex(full.shape, full.strides, full.offset, specs);
    g.backend.unary('identity', g, { buffer: full.buffer, dtype: full.dtype, offset: slot.offset, shape: slot.shape, strides: slot.strides });
    return full;
  });
}

export function broadcastTo(x: NDArray, shape: Shape): NDArray {
  const target = broadcastShapes(x.shape, shape, 'broadcastTo');
  if (target.length !== shape.length || target.some((d, i) => d !== shape[i])) {
    throw new Error(`broadcastTo: ${describe(x)} cannot be broadcast to ${formatShape(shape)}`);
  }
  return viewOp('broadcastTo', x, target, broadcastStrides(x.shape, x.strides, target), x.offset, (g) => sumToShape(g, x.shape));
}

/** Drops size-1 axes (all of them, or the given ones, which must have size 1). */
export function squeeze(x: NDArray, axis?: number | readonly number[]): NDArray {
  const axes = axis === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normalizeAxes(axis, x.rank, 'squeeze');
  for (const a of axes) if (x.shape[a] !== 1) throw new Error(`squeeze: axis ${a} of ${describe(x)} has size ${x.shape[a]}, not 1`);
  const keep = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  return viewOp('squeeze', x, keep.map((i) => x.shape[i]!), keep.map((i) => x.strides[i]!), x.offset, (g) => reshape(g, x.shape));
}

/** Inserts a size-1 axis at `axis` (negative counts from the end of the result). */
export function expandDims(x: NDArray, axis: number): NDArray {
  const a = normalizeAxis(axis, x.rank + 1, 'expandDims');
  const shape = [...x.shape.slice(0, a), 1, ...x.shape.slice(a)];
  const strides = [...x.strides.slice(0, a), 0, ...x.strides.slice(a)];
  return viewOp('expandDims', x, shape, strides, x.offset, (g) => reshape(g, x.shape));
}

/** Writes `value` (broadcast, cast to target's type) into target in place. */
export function assign(target: NDArray, value: NDArray | number): void {
  if (target.requiresGrad && isGradEnabled()) throw new Error(`assign: ${describe(target)} requires grad; in-place writes would break its gradient (assign inside noGrad)`);
  if (typeof value === 'number') {
    target.backend.unary('fill', target, target, value, 0);
  } else {
    if (value.backend !== target.backend) throw new Error(`assign: source is on ${value.backend.name}, target on ${target.backend.name}`);
    const shape = broadcastShapes(value.shape, target.shape, 'assign');
    if (shape.length !== target.rank || shape.some((d, i) => d !== target.shape[i])) {
      throw new Error(`assign: ${describe(value)} does not broadcast to the target ${describe(target)}`);
    }
    target.backend.unary('identity', broadcastRef(value, target.shape), target);
  }
  target.bumpVersion();
}
