import { keep } from '../ndarray/scope.js';
import type { DataSet } from './dataset.js';
import { applyPreProcessor, iterateDataSets, type DataSetIterator, type DataSetPreProcessor } from './iterator.js';

/** Options of AsyncDataSetIterator. */
export interface AsyncDataSetIteratorOptions {
  /** How many batches to fetch ahead (DL4J's queueSize); default 4. */
  queueSize?: number;
}

/**
 * Prefetches up to `queueSize` batches of another iterator ahead of the consumer (DL4J's
 * AsyncDataSetIterator). Node runs JavaScript on one thread, so the prefetch is done between
 * the consumer's calls: after each next() it schedules fetches with setImmediate, one batch per
 * turn of the event loop. That overlaps batch preparation with whatever the consumer awaits
 * (file or network I/O, a GPU sync, `for await`); a purely synchronous loop of next() calls sees
 * no gain but no harm either, as next() fetches directly when the queue is empty.
 * Prefetched arrays are kept out of memory scopes (they outlive the turn that made them).
 */
export class AsyncDataSetIterator implements DataSetIterator, AsyncIterable<DataSet> {
  private readonly base: DataSetIterator;
  private readonly queueSize: number;
  private readonly queue: DataSet[] = [];
  private pending: NodeJS.Immediate | null = null;
  private failure: unknown = null;
  readonly asyncSupported = false;
  preProcessor: DataSetPreProcessor | null = null;

  constructor(base: DataSetIterator, options: AsyncDataSetIteratorOptions = {}) {
    const q = options.queueSize ?? 4;
    if (!Number.isInteger(q) || q < 1) throw new Error(`AsyncDataSetIterator: queueSize must be a positive integer, got ${q}`);
    this.base = base;
    this.queueSize = q;
    this.schedule();
  }

  get batch(): number {
    return this.base.batch;
  }

  get inputColumns(): number {
    return this.base.inputColumns;
  }

  get totalOutcomes(): number {
    return this.base.totalOutcomes;
  }

  get resetSupported(): boolean {
    return this.base.resetSupported;
  }

  /** Batches fetched and waiting. */
  get queued(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.pending || this.queue.length >= this.queueSize) return;
    this.pending = setImmediate(() => {
      this.pending = null;
      this.fetchOne();
      this.schedule();
    });
  }

  /** Moves one batch from the base into the queue; a base error is kept and rethrown by the next call. */
  private fetchOne(): void {
    if (this.failure !== null || this.queue.length >= this.queueSize) return;
    try {
      if (!this.base.hasNext()) return;
      const ds = this.base.next();
      for (const a of [ds.features, ds.labels, ds.featuresMask, ds.labelsMask]) if (a) keep(a);
      this.queue.push(ds);
    } catch (e) {
      this.failure = e;
    }
  }

  private rethrow(): void {
    if (this.failure === null) return;
    const e = this.failure;
    this.failure = null;
    throw e;
  }

  hasNext(): boolean {
    this.rethrow();
    return this.queue.length > 0 || this.base.hasNext();
  }

  next(): DataSet {
    this.rethrow();
    const ds = this.queue.shift() ?? this.base.next();
    this.schedule();
    return applyPreProcessor(ds, this.preProcessor);
  }

  /** Resolves with the next batch once one is queued (or fetched), yielding to the event loop first. */
  async nextAsync(): Promise<DataSet> {
    if (this.queue.length === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    return this.next();
  }

  /** Drops queued batches (closing them) and resets the base. */
  reset(): void {
    this.stop();
    this.failure = null;
    this.base.reset();
    this.schedule();
  }

  /** Stops prefetching and closes queued batches (DL4J's shutdown); reset() starts again. */
  shutdown(): void {
    this.stop();
  }

  private stop(): void {
    if (this.pending) clearImmediate(this.pending);
    this.pending = null;
    for (const ds of this.queue.splice(0)) ds.close();
  }

  [Symbol.iterator](): Iterator<DataSet> {
    return iterateDataSets(this);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<DataSet, void, undefined> {
    if (this.resetSupported) this.reset();
    while (this.hasNext()) yield await this.nextAsync();
  }
}
