import type { NDArray } from '../ndarray/ndarray.js';
import { formatShape } from '../ndarray/shape.js';
import { array } from '../ops/create.js';
import { max, mean, min, variance } from '../ops/reduce.js';
import { DataSet } from './dataset.js';
import type { DataSetIterator } from './iterator.js';

/** What normalizers fit on: one DataSet, or every batch of an iterator (reset before and after). */
export type FitSource = DataSet | DataSetIterator;

/** The axes statistics reduce over: all but the feature axis 1 (axis 0 alone for 1-D features). */
export function statAxes(x: NDArray): number[] {
  if (x.rank <= 1) return [0];
  return [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2)];
}

export function featureCount(x: NDArray): number {
  return x.rank <= 1 ? 1 : x.shape[1]!;
}

/** Per-feature values as an array shaped to broadcast against x ([1, f, 1, ...]), in x's dtype. */
export function broadcastStat(values: readonly number[], x: NDArray, op: string): NDArray {
  const f = featureCount(x);
  if (values.length !== f) throw new Error(`${op}: fitted on ${values.length} features, got features ${formatShape(x.shape)} with ${f}`);
  const shape = x.rank <= 1 ? [1] : x.shape.map((_, i) => (i === 1 ? f : 1));
  return array(values as number[], shape, { dtype: x.dtype, backend: x.backend });
}

function reduceToNumbers(fn: (x: NDArray, axes: number[]) => NDArray, x: NDArray): number[] {
  const r = fn(x, statAxes(x));
  try {
    return r.toFlatArray();
  } finally {
    r.close();
  }
}

/** Which array of a DataSet a normalizer fits and transforms. */
export type NormalizedArray = 'features' | 'labels';

/** Visits the chosen array of each batch of the source. */
export function forEachBatch(source: FitSource, op: string, which: NormalizedArray, visit: (x: NDArray) => void): void {
  if (source instanceof DataSet) {
    visit(source[which]);
    return;
  }
  if (source.resetSupported) source.reset();
  let batches = 0;
  while (source.hasNext()) {
    const ds = source.next();
    try {
      visit(ds[which]);
    } finally {
      ds.close();
    }
    batches++;
  }
  if (source.resetSupported) source.reset();
  if (batches === 0) throw new Error(`${op}.fit: the iterator returned no data`);
}

/** Per-column (axis 1) mean and population std, combining batches with Chan et al.'s parallel update (float64). */
export function meanStd(source: FitSource, op: string, which: NormalizedArray = 'features'): { mean: number[]; std: number[]; count: number } {
  let count = 0;
  let mu: number[] = [];
  let m2: number[] = [];
  forEachBatch(source, op, which, (x) => {
    const n = x.size / featureCount(x);
    const bm = reduceToNumbers((a, ax) => mean(a, ax), x);
    const bv = reduceToNumbers((a, ax) => variance(a, ax), x);
    if (count === 0) {
      mu = bm;
      m2 = bv.map((v) => v * n);
      count = n;
      return;
    }
    if (bm.length !== mu.length) throw new Error(`${op}.fit: batches differ in feature count (${mu.length} vs ${bm.length})`);
    const total = count + n;
    for (let i = 0; i < mu.length; i++) {
      const d = bm[i]! - mu[i]!;
      mu[i] = mu[i]! + (d * n) / total;
      m2[i] = m2[i]! + bv[i]! * n + (d * d * count * n) / total;
    }
    count = total;
  });
  return { mean: mu, std: m2.map((v) => Math.sqrt(v / count)), count };
}

/** Per-column (axis 1) minimum and maximum over all batches. */
export function minMax(source: FitSource, op: string, which: NormalizedArray = 'features'): { min: number[]; max: number[] } {
  const acc = { min: [] as number[], max: [] as number[], seen: false };
  forEachBatch(source, op, which, (x) => {
    const bl = reduceToNumbers((a, ax) => min(a, ax), x);
    const bh = reduceToNumbers((a, ax) => max(a, ax), x);
    if (!acc.seen) {
      acc.min = bl;
      acc.max = bh;
      acc.seen = true;
      return;
    }
    if (bl.length !== acc.min.length) throw new Error(`${op}.fit: batches differ in feature count (${acc.min.length} vs ${bl.length})`);
    for (let i = 0; i < bl.length; i++) {
      acc.min[i] = Math.min(acc.min[i]!, bl[i]!);
      acc.max[i] = Math.max(acc.max[i]!, bh[i]!);
    }
  });
  return { min: acc.min, max: acc.max };
}
