import type { Backend, BackendBuffer } from '../backend/backend.js';
import type { DataType } from './dtype.js';

/**
 * One allocation on a backend, shared by an array and its views. Each open array handle holds one
 * reference; the buffer goes back to the backend when the last is released. `version` counts in-place
 * writes, so autograd can refuse gradients computed from values that were overwritten.
 */
export class Storage {
  private refs = 1;
  version = 0;
  static liveBytes = new Map<string, number>();
  static liveCount = 0;

  constructor(
    readonly backend: Backend,
    readonly buffer: BackendBuffer,
    readonly dtype: DataType,
    readonly bytes: number,
  ) {
    Storage.liveCount++;
    const key = `${backend.name}:${dtype}`;
    Storage.liveBytes.set(key, (Storage.liveBytes.get(key) ?? 0) + bytes);
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
      const key = `${this.backend.name}:${this.dtype}`;
      Storage.liveBytes.set(key, (Storage.liveBytes.get(key) ?? 0) - this.bytes);
    }
  }
}

/** Releases the storage of array handles that were never closed, when they become unreachable. */
export const unreachable = new FinalizationRegistry<Storage>((storage) => {
  OpenHandles.count--;
  storage.release();
});

export const OpenHandles = { count: 0 };
