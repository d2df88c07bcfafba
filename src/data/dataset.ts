import { NDArray } from '../ndarray/ndarray.js';
import { scopeChildren, type HoldsArrays } from '../ndarray/scope.js';
import { interval } from '../ndarray/indexing.js';
import { formatShape } from '../ndarray/shape.js';
import { array } from '../ops/create.js';
import { concat } from '../ops/join.js';
import { gather } from '../ops/indexing.js';
import { dup } from '../ops/views.js';
import { permutation } from './rng.js';

/** The two halves of DataSet.splitTestAndTrain (DL4J's SplitTestAndTrain). */
export interface SplitTestAndTrain {
  train: DataSet;
  test: DataSet;
}

const NAMES = ['features', 'labels', 'featuresMask', 'labelsMask'] as const;
type ArrayName = (typeof NAMES)[number];

/**
 * Features and labels of a set of examples along axis 0, with optional masks (DL4J's DataSet).
 * The DataSet owns its arrays: close() closes them, and the mutating methods (shuffle, and
 * normalizers' transform) replace them with new arrays and close the old ones.
 */
export class DataSet implements HoldsArrays {
  features: NDArray;
  labels: NDArray;
  featuresMask: NDArray | null;
  labelsMask: NDArray | null;

  constructor(features: NDArray, labels: NDArray, featuresMask?: NDArray | null, labelsMask?: NDArray | null) {
    const n = features.shape[0];
    if (features.rank < 1 || labels.rank < 1) {
      throw new Error(`DataSet: features and labels need a leading example axis, got features ${formatShape(features.shape)} and labels ${formatShape(labels.shape)}`);
    }
    const check = (name: string, a: NDArray | null | undefined): void => {
      if (a && a.shape[0] !== n) throw new Error(`DataSet: ${name} ${formatShape(a.shape)} has ${a.shape[0]} examples, features ${formatShape(features.shape)} has ${n}`);
    };
    check('labels', labels);
    check('featuresMask', featuresMask);
    check('labelsMask', labelsMask);
    this.features = features;
    this.labels = labels;
    this.featuresMask = featuresMask ?? null;
    this.labelsMask = labelsMask ?? null;
  }
  /** Returning a DataSet from scope() keeps its arrays. */
  [scopeChildren](): Iterable<NDArray | null> {
    return [this.features, this.labels, this.featuresMask, this.labelsMask];
  }


  get numExamples(): number {
    return this.features.shape[0]!;
  }

  /** Size of axis 1 of the features (the feature count of 2-D data, channels of images). */
  get numInputs(): number {
    return this.features.shape[1] ?? 1;
  }

  /** Size of axis 1 of the labels (the class count of one-hot labels). */
  get numOutcomes(): number {
    return this.labels.shape[1] ?? 1;
  }

  hasMaskArrays(): boolean {
    return this.featuresMask !== null || this.labelsMask !== null;
  }

  /** Replaces one array, closing the previous one unless it is the same. */
  setArray(name: ArrayName, value: NDArray | null): void {
    const old = this[name];
    if (old && old !== value) old.close();
    if (name === 'features' || name === 'labels') {
      if (!value) throw new Error(`DataSet.setArray: ${name} cannot be null`);
      this[name] = value;
    } else {
      this[name] = value;
    }
  }

  /** A DataSet of fn applied to each array (masks included, absent masks stay absent). */
  map(fn: (a: NDArray) => NDArray): DataSet {
    const m = (a: NDArray | null): NDArray | null => (a ? fn(a) : null);
    return new DataSet(fn(this.features), fn(this.labels), m(this.featuresMask), m(this.labelsMask));
  }

  /** A DataSet of the examples at `indices` (copies, in that order). */
  get(indices: number | readonly number[]): DataSet {
    const list = typeof indices === 'number' ? [indices] : indices;
    const n = this.numExamples;
    for (const i of list) {
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`DataSet.get: example index ${i} is out of range for ${n} examples`);
    }
    const idx = array(list as number[], [list.length], { dtype: 'INT32', backend: this.features.backend });
    try {
      return this.map((a) => gather(a, idx, 0));
    } finally {
      idx.close();
    }
  }

  /** A copy of examples [from, to). */
  slice(from: number, to: number): DataSet {
    if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= this.numExamples)) {
      throw new Error(`DataSet.slice: [${from}, ${to}) is not a range within ${this.numExamples} examples`);
    }
    return this.map((a) => {
      const v = a.get(interval(from, to));
      try {
        return dup(v);
      } finally {
        v.close();
      }
    });
  }

  /** A deep copy. */
  copy(): DataSet {
    return this.map((a) => dup(a));
  }

  /** Reorders the examples in place by a seeded permutation (the same for a given seed and size). */
  shuffle(seed: number | bigint = Date.now()): this {
    const shuffled = this.get(permutation(this.numExamples, seed, 'DataSet.shuffle'));
    for (const name of NAMES) this.setArray(name, shuffled[name]);
    return this;
  }

  /**
   * Splits into train and test: `fractionOrCount` in (0, 1) is the train fraction (rounded), an
   * integer >= 1 the number of train examples. With a seed the examples are shuffled first,
   * otherwise the first examples are the train set. Both parts are copies.
   */
  splitTestAndTrain(fractionOrCount: number, seed?: number | bigint): SplitTestAndTrain {
    const n = this.numExamples;
    let numTrain: number;
    if (fractionOrCount > 0 && fractionOrCount < 1) numTrain = Math.round(n * fractionOrCount);
    else if (Number.isInteger(fractionOrCount) && fractionOrCount >= 1 && fractionOrCount < n) numTrain = fractionOrCount;
    else throw new Error(`DataSet.splitTestAndTrain: expected a fraction in (0, 1) or an integer count in [1, ${n}), got ${fractionOrCount}`);
    if (numTrain < 1 || numTrain >= n) {
      throw new Error(`DataSet.splitTestAndTrain: a fraction of ${fractionOrCount} of ${n} examples leaves ${numTrain} for training and ${n - numTrain} for testing; both need at least one`);
    }
    const order = seed === undefined ? null : permutation(n, seed, 'DataSet.splitTestAndTrain');
    if (!order) return { train: this.slice(0, numTrain), test: this.slice(numTrain, n) };
    return { train: this.get(order.slice(0, numTrain)), test: this.get(order.slice(numTrain)) };
  }

  /** Consecutive batches of `size` examples (the last may be smaller), as copies. */
  batchBy(size: number): DataSet[] {
    if (!Number.isInteger(size) || size < 1) throw new Error(`DataSet.batchBy: batch size must be a positive integer, got ${size}`);
    const out: DataSet[] = [];
    for (let i = 0; i < this.numExamples; i += size) out.push(this.slice(i, Math.min(i + size, this.numExamples)));
    return out;
  }

  /** One DataSet per example (each with a leading axis of 1). */
  asList(): DataSet[] {
    return this.batchBy(1);
  }

  /** Concatenates DataSets along the example axis; masks must be present in all or none. */
  static merge(list: readonly DataSet[]): DataSet {
    if (list.length === 0) throw new Error('DataSet.merge: nothing to merge');
    const pick = (name: ArrayName): NDArray | null => {
      const present = list.filter((d) => d[name] !== null).length;
      if (present === 0) return null;
      if (present !== list.length) throw new Error(`DataSet.merge: ${name} is present in ${present} of ${list.length} DataSets; it must be in all or none`);
      const arrays = list.map((d) => d[name]!);
      const inner = formatShape(arrays[0]!.shape.slice(1));
      for (const a of arrays) {
        if (formatShape(a.shape.slice(1)) !== inner) {
          throw new Error(`DataSet.merge: ${name} shapes differ beyond the example axis: ${arrays.map((x) => formatShape(x.shape)).join(', ')}`);
        }
      }
      return concat(arrays, 0);
    };
    return new DataSet(pick('features')!, pick('labels')!, pick('featuresMask'), pick('labelsMask'));
  }

  close(): void {
    for (const name of NAMES) this[name]?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    const m = (a: NDArray | null): string => (a ? formatShape(a.shape) : 'none');
    return `DataSet(${this.numExamples} examples; features ${m(this.features)}, labels ${m(this.labels)}, featuresMask ${m(this.featuresMask)}, labelsMask ${m(this.labelsMask)})`;
  }
}
