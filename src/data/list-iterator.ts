import { DataSet } from './dataset.js';
import { applyPreProcessor, iterateDataSets, type DataSetIterator, type DataSetPreProcessor } from './iterator.js';

/**
 * Minibatches over examples held in memory (DL4J's ListDataSetIterator): from one DataSet, or a
 * list of DataSets that is merged once. Batches are copies; the source stays owned by the caller.
 */
export class ListDataSetIterator implements DataSetIterator {
  private readonly source: DataSet;
  private readonly ownsSource: boolean;
  private cursor = 0;
  readonly batch: number;
  readonly resetSupported = true;
  readonly asyncSupported = true;
  preProcessor: DataSetPreProcessor | null = null;

  constructor(data: DataSet | readonly DataSet[], batch = 10) {
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`ListDataSetIterator: batch must be a positive integer, got ${batch}`);
    if (data instanceof DataSet) {
      this.source = data;
      this.ownsSource = false;
    } else {
      this.source = DataSet.merge(data);
      this.ownsSource = true;
    }
    this.batch = batch;
  }

  get numExamples(): number {
    return this.source.numExamples;
  }

  get inputColumns(): number {
    return this.source.numInputs;
  }

  get totalOutcomes(): number {
    return this.source.numOutcomes;
  }

  hasNext(): boolean {
    return this.cursor < this.source.numExamples;
  }

  next(): DataSet {
    if (!this.hasNext()) throw new Error(`ListDataSetIterator.next: no more data (${this.source.numExamples} examples consumed); call reset()`);
    const end = Math.min(this.cursor + this.batch, this.source.numExamples);
    const ds = this.source.slice(this.cursor, end);
    this.cursor = end;
    return applyPreProcessor(ds, this.preProcessor);
  }

  reset(): void {
    this.cursor = 0;
  }

  [Symbol.iterator](): Iterator<DataSet> {
    return iterateDataSets(this);
  }

  /** Closes the merged copy this iterator made from a list (a DataSet passed in is left alone). */
  close(): void {
    if (this.ownsSource) this.source.close();
  }
}
