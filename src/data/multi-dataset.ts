import type { NDArray } from '../ndarray/ndarray.js';
import { formatShape } from '../ndarray/shape.js';
import { scopeChildren } from '../ndarray/scope.js';
import { DataSet } from './dataset.js';

/**
 * Several feature and label arrays over the same examples (DL4J's MultiDataSet), for networks
 * with several inputs or outputs. Mask lists, when given, hold one entry (or null) per array.
 * Owns its arrays: close() closes them.
 */
export class MultiDataSet {
  readonly features: NDArray[];
  readonly labels: NDArray[];
  readonly featuresMasks: (NDArray | null)[] | null;
  readonly labelsMasks: (NDArray | null)[] | null;

  constructor(features: readonly NDArray[], labels: readonly NDArray[], featuresMasks?: readonly (NDArray | null)[] | null, labelsMasks?: readonly (NDArray | null)[] | null) {
    if (features.length === 0) throw new Error('MultiDataSet: at least one features array is required');
    const n = features[0]!.shape[0];
    const check = (kind: string, list: readonly (NDArray | null)[] | null | undefined, expectedLength?: number): void => {
      if (!list) return;
      if (expectedLength !== undefined && list.length !== expectedLength) {
        throw new Error(`MultiDataSet: ${kind} has ${list.length} entries, expected ${expectedLength} (one per array)`);
      }
      list.forEach((a, i) => {
        if (a && a.shape[0] !== n) throw new Error(`MultiDataSet: ${kind}[${i}] ${formatShape(a.shape)} has ${a.shape[0]} examples, features[0] has ${n}`);
      });
    };
    check('features', features);
    check('labels', labels);
    check('featuresMasks', featuresMasks, features.length);
    check('labelsMasks', labelsMasks, labels.length);
    this.features = [...features];
    this.labels = [...labels];
    this.featuresMasks = featuresMasks ? [...featuresMasks] : null;
    this.labelsMasks = labelsMasks ? [...labelsMasks] : null;
  }

  get numExamples(): number {
    return this.features[0]!.shape[0]!;
  }

  get numFeatureArrays(): number {
    return this.features.length;
  }

  get numLabelsArrays(): number {
    return this.labels.length;
  }

  /** A MultiDataSet holding one DataSet's arrays (shared, not copied: close only one of the two). */
  static fromDataSet(ds: DataSet): MultiDataSet {
    return new MultiDataSet([ds.features], [ds.labels], ds.featuresMask ? [ds.featuresMask] : null, ds.labelsMask ? [ds.labelsMask] : null);
  }

  /** The single-input, single-output view as a DataSet (shared arrays); an error for several arrays. */
  toDataSet(): DataSet {
    if (this.features.length !== 1 || this.labels.length !== 1) {
      throw new Error(`MultiDataSet.toDataSet: needs exactly one features and one labels array, has ${this.features.length} and ${this.labels.length}`);
    }
    return new DataSet(this.features[0]!, this.labels[0]!, this.featuresMasks?.[0] ?? null, this.labelsMasks?.[0] ?? null);
  }

  /** Returning a MultiDataSet from scope() keeps its arrays. */
  [scopeChildren](): Iterable<NDArray | null> {
    return [...this.features, ...this.labels, ...(this.featuresMasks ?? []), ...(this.labelsMasks ?? [])];
  }

  /** A MultiDataSet of fn applied to each array (masks included, absent masks stay absent). */
  map(fn: (a: NDArray) => NDArray): MultiDataSet {
    const masks = (list: readonly (NDArray | null)[] | null): (NDArray | null)[] | null => list && list.map((m) => (m ? fn(m) : null));
    return new MultiDataSet(this.features.map(fn), this.labels.map(fn), masks(this.featuresMasks), masks(this.labelsMasks));
  }

  close(): void {
    for (const list of [this.features, this.labels, this.featuresMasks ?? [], this.labelsMasks ?? []]) {
      for (const a of list) a?.close();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
