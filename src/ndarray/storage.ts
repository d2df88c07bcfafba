import type { Backend, BackendBuffer } from '../backend/backend.js';
import type { DataType } from './dtype.js';

/**
 * One allocation on a backend, shared by an array and its views. Each open array handle holds one
 * reference; the buffer goes back to the backend when the last is released. `version` counts in-place
 * writes, so autograd can refuse gradients computed from values that were overwritten.
 */
/** Live bytes of one dtype on one backend. */
interface Tally {
  bytes: number;
}

export class Storage {
  private refs = 1;
  version = 0;
  /** Live bytes by backend name, then dtype (memoryReport): one counter object each, found without building keys. */
  static readonly liveBytes = new Map<string, Map<DataType, Tally>>();
  static liveCount = 0;
  private readonly tally: Tally;

  constructor(
    readonly backend: Backend,
    readonly buffer: BackendBuffer,
    readonly dtype: DataType,
    readonly bytes: number,
  ) {
    Storage.liveCount++;
    let byType = Storage.liveBytes.get(backend.name);
    if (!byType) Storage.liveBytes.set(backend.name, (byType = new Map()));
    let tally = byType.get(dtype);
    if (!tally) byType.set(dtype, (tally = { bytes: 0 }));
    tally.bytes += bytes;
    this.tally = tally;
  }

  static allocate(backend: Backend, dtype: DataType, bytes: number, zeroed: boolean): Storage {
    return new Storage(backend, backend.alloc(bytes, zeroed), dtype, bytes);
  }

  get released(): boolean {
    return this.refs === 0;
  }

  retain(): void {
    if (this.refs === 0) throw new Error('dl4ts: cannot share storage that was already released');
    this.refs++;
  }

  release(): void {
    if (this.refs === 0) return;
    if (--this.refs === 0) {
      this.backend.free(this.buffer);
      Storage.liveCount--;
      this.tally.bytes -= this.bytes;
    }
  }
}

export const OpenHandles = { count: 0 };
