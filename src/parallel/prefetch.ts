/**
 * The main thread's side of ParallelWrapper's data path: minibatches read from the iterator and
 * packed (values read back once, ready to transfer) up to `capacity` ahead of the workers.
 */
import type { DataSet } from '../data/dataset.js';
import type { MultiDataSet } from '../data/multi-dataset.js';
import type { BatchIterator } from '../nn/training-core.js';
import { packBatch, type PackedBatch } from './transfer.js';

export class BatchPrefetcher {
  private queue: PackedBatch[] = [];

  constructor(
    private readonly data: BatchIterator<DataSet | MultiDataSet>,
    private readonly capacity: number,
    private readonly owner: string,
  ) {}

  /** Drops what is buffered and rewinds the iterator for epoch `epoch` (0-based within this fit). */
  startEpoch(epoch: number): void {
    this.queue = [];
    if (this.data.resetSupported) this.data.reset();
    else if (epoch > 0) throw new Error(`${this.owner}: the iterator does not support reset, so it cannot be used for more than one epoch`);
  }

  /** Reads ahead until `capacity` batches wait (or the data ends). */
  fill(): void {
    while (this.queue.length < this.capacity && this.data.hasNext()) this.queue.push(this.read());
  }

  /** Up to `n` batches in iterator order (fewer only at the end of the data). */
  take(n: number): PackedBatch[] {
    while (this.queue.length < n && this.data.hasNext()) this.queue.push(this.read());
    return this.queue.splice(0, n);
  }

  /** Whether another batch follows (buffered or still in the iterator). */
  hasMore(): boolean {
    return this.queue.length > 0 || this.data.hasNext();
  }

  /** Forgets buffered batches (plain buffers: nothing to close). */
  clear(): void {
    this.queue = [];
  }

  private read(): PackedBatch {
    const ds = this.data.next();
    try {
      return packBatch(ds);
    } finally {
      ds.close();
    }
  }
}
