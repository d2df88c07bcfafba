import { needsGrad, record } from '../autodiff/tape.js';
import { promoteTypes } from '../ndarray/dtype.js';
import { all, interval, type IndexSpec } from '../ndarray/indexing.js';
import { NDArray } from '../ndarray/ndarray.js';
import { normalizeAxis, shapesEqual } from '../ndarray/shape.js';
import { full } from './create.js';
import { commonBackend, describe } from './util.js';
import { unaryRaw } from './unary.js';
import { assign, broadcastTo, expandDims, getView, reshape } from './views.js';

/** A view of the box of x starting at `starts` with `shape` (no autograd). */
function box(x: NDArray, starts: readonly number[], shape: readonly number[]): NDArray {
  let offset = x.offset;
  starts.forEach((s, i) => (offset += s * x.strides[i]!));
  return x.view(shape, x.strides, offset);
}

/** Writes `value` into the box of `out` at `starts` (cast to out's type). */
function writeBox(out: NDArray, starts: readonly number[], value: NDArray): void {
  const slot = box(out, starts, value.shape);
  try {
    assign(slot, value);
  } finally {
    slot.close();
  }
}

/** Joins arrays along an existing axis; dtypes promote. The gradient of each input is its slice of g. */
export function concat(arrays: readonly NDArray[], axis = 0): NDArray {
  const first = arrays[0];
  if (!first) throw new Error('concat: expected at least one array');
  if (first.rank === 0) throw new Error(`concat: cannot concatenate 0-d arrays (${describe(first)}); use stack`);
  const ax = normalizeAxis(axis, first.rank, 'concat');
  const backend = commonBackend('concat', arrays);
  let total = 0;
  for (const a of arrays) {
    if (a.rank !== first.rank || a.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new Error(`concat: shapes must match except along axis ${ax}, got ${arrays.map(describe).join(', ')}`);
    }
    total += a.shape[ax]!;
  }
  const dtype = arrays.map((a) => a.dtype).reduce(promoteTypes);
  const shape = first.shape.map((d, i) => (i === ax ? total : d));
  const out = NDArray.uninitialized(shape, dtype, backend);
  const starts: number[][] = [];
  let at = 0;
  for (const a of arrays) {
    const s = first.shape.map((_, i) => (i === ax ? at : 0));
    starts.push(s);
    if (a.size > 0) writeBox(out, s, a);
    at += a.shape[ax]!;
  }
  if (needsGrad(arrays)) {
    const inputs = arrays.map((a) => ({ shape: [...a.shape], dtype: a.dtype }));
    record(out, 'concat', arrays, [], (g, _saved, needs) =>
      inputs.map((a, i) => {
        if (!needs[i]) return null;
        // A fresh empty array for an empty part: kernels refuse zero-size views with broadcast-like strides.
        if (a.shape.includes(0)) return NDArray.empty(a.shape, a.dtype, g.backend);
        const slice = box(g, starts[i]!, a.shape);
        return slice.dtype === a.dtype ? slice : unaryRaw('identity', slice, a.dtype);
      }),
    );
  }
  return out;
}

/** Joins arrays of one shape along a new axis (stack of [a, b] with shape S gives [2, ...S] at axis 0). */
export function stack(arrays: readonly NDArray[], axis = 0): NDArray {
  const first = arrays[0];
  if (!first) throw new Error('stack: expected at least one array');
  for (const a of arrays) {
    if (!shapesEqual(a.shape, first.shape)) throw new Error(`stack: all arrays must have the same shape, got ${arrays.map(describe).join(', ')}`);
  }
  const ax = normalizeAxis(axis, first.rank + 1, 'stack');
  return concat(arrays.map((a) => expandDims(a, ax)), ax);
}

/**
 * Splits x along `axis` into `count` equal parts or parts of the given sizes. The parts are views
 * of x (differentiable through getView).
 */
export function split(x: NDArray, sizesOrCount: number | readonly number[], axis = 0): NDArray[] {
  const ax = normalizeAxis(axis, x.rank, 'split');
  const dim = x.shape[ax]!;
  let sizes: number[];
  if (typeof sizesOrCount === 'number') {
    const count = sizesOrCount;
    if (!Number.isInteger(count) || count < 1 || dim % count !== 0) {
      throw new Error(`split: cannot split axis ${ax} of ${describe(x)} (size ${dim}) into ${count} equal parts`);
    }
    sizes = new Array<number>(count).fill(dim / count);
  } else {
    sizes = [...sizesOrCount];
    if (sizes.length === 0 || !sizes.every((s) => Number.isInteger(s) && s >= 0) || sizes.reduce((p, s) => p + s, 0) !== dim) {
      throw new Error(`split: sizes [${sizes.join(', ')}] must be non-negative integers summing to ${dim} (axis ${ax} of ${describe(x)})`);
    }
  }
  const lead: IndexSpec[] = Array.from({ length: ax }, () => all());
  let at = 0;
  return sizes.map((s) => {
    const part = getView(x, [...lead, interval(at, at + s)]);
    at += s;
    return part;
  });
}

/**
 * Repeats x `reps[i]` times along each axis (numpy's tile; the shorter of x.shape and reps is
 * padded with leading 1s). Built from reshape and broadcast, so autograd sums the copies back.
 */
export function tile(x: NDArray, reps: readonly number[]): NDArray {
  if (!reps.every((r) => Number.isInteger(r) && r >= 0)) throw new Error(`tile: reps [${reps.join(', ')}] must be non-negative integers`);
  const rank = Math.max(x.rank, reps.length);
  const dims = [...new Array<number>(rank - x.rank).fill(1), ...x.shape];
  const rs = [...new Array<number>(rank - reps.length).fill(1), ...reps];
  const spread = reshape(x, dims.flatMap((d) => [1, d]));
  const copies = broadcastTo(spread, dims.flatMap((d, i) => [rs[i]!, d]));
  return reshape(copies, dims.map((d, i) => d * rs[i]!));
}

/**
 * Pads x with `value` (constant padding): widths[i] = [before, after] for each axis. The gradient
 * is the centre slice of g.
 */
export function pad(x: NDArray, widths: readonly (readonly [number, number])[], value = 0): NDArray {
  if (widths.length !== x.rank) throw new Error(`pad: expected ${x.rank} [before, after] pairs for ${describe(x)}, got ${widths.length}`);
  for (const w of widths) {
    if (w.length !== 2 || !w.every((v) => Number.isInteger(v) && v >= 0)) {
      throw new Error(`pad: widths must be pairs of non-negative integers, got ${JSON.stringify(widths)} for ${describe(x)}`);
    }
  }
  const before = widths.map((w) => w[0]);
  const shape = x.shape.map((d, i) => d + widths[i]![0] + widths[i]![1]);
  const out = full(shape, value, { dtype: x.dtype, backend: x.backend });
  if (x.size > 0) writeBox(out, before, x);
  if (needsGrad([x])) {
    const inner = [...x.shape];
    record(out, 'pad', [x], [], (g) => [box(g, before, inner)]);
  }
  return out;
}
