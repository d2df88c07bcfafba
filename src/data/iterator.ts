import type { DataSet } from './dataset.js';

/** Transforms each DataSet an iterator returns, in place (DL4J's DataSetPreProcessor; normalizers are ones). */
export interface DataSetPreProcessor {
  preProcess(ds: DataSet): void;
}

/**
 * A source of DataSet minibatches (DL4J's DataSetIterator). `next()` returns a new DataSet the
 * caller owns (close it when done). Iterating with for..of resets first when reset is supported.
 */
export interface DataSetIterator extends Iterable<DataSet> {
  next(): DataSet;
  hasNext(): boolean;
  reset(): void;
  readonly resetSupported: boolean;
  /** Whether wrapping in an AsyncDataSetIterator makes sense (false for already-prefetching iterators). */
  readonly asyncSupported: boolean;
  /** The minibatch size. */
  readonly batch: number;
  /** Feature count (size of axis 1 of the features). */
  readonly inputColumns: number;
  /** Label count (size of axis 1 of the labels; classes for classification). */
  readonly totalOutcomes: number;
  preProcessor: DataSetPreProcessor | null;
}

/** The for..of protocol shared by the iterators: reset when possible, then next() until exhausted. */
export function* iterateDataSets(it: DataSetIterator): Generator<DataSet, void, undefined> {
  if (it.resetSupported) it.reset();
  while (it.hasNext()) yield it.next();
}

/** Applies the iterator's pre-processor (if any) to a freshly built DataSet. */
export function applyPreProcessor(ds: DataSet, pre: DataSetPreProcessor | null): DataSet {
  if (pre) pre.preProcess(ds);
  return ds;
}
