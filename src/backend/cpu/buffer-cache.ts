/**
 * Small native buffers kept by exact size when freed and handed out again. Allocating through the
 * addon costs about 2 us of N-API work (an external value with a finalizer), more than a small op's
 * kernel; the sizes a loop frees are the sizes it asks for next. Large buffers are not kept here:
 * their cost is memory, which native/cpu/block_cache.cc recycles.
 */
export const MAX_CACHED_BUFFER = 64 * 1024;
const MAX_CACHED_BYTES = 32 * 1024 * 1024;

export class BufferCache<T> {
  private readonly bySize = new Map<number, T[]>();
  private cachedBytes = 0;
  private cachedCount = 0;

  /** A kept buffer of exactly `bytes` bytes (contents undefined), if any. */
  take(bytes: number): T | undefined {
    const b = this.bySize.get(bytes)?.pop();
    if (b) {
      this.cachedBytes -= bytes;
      this.cachedCount--;
    }
    return b;
  }

  /** Keeps `b` (of `bytes` bytes) for reuse; false when it is too large or the cache is full (the caller frees it). */
  give(b: T, bytes: number): boolean {
    if (bytes === 0 || bytes > MAX_CACHED_BUFFER || this.cachedBytes + bytes > MAX_CACHED_BYTES) return false;
    let list = this.bySize.get(bytes);
    if (!list) this.bySize.set(bytes, (list = []));
    list.push(b);
    this.cachedBytes += bytes;
    this.cachedCount++;
    return true;
  }

  get bytes(): number {
    return this.cachedBytes;
  }

  get count(): number {
    return this.cachedCount;
  }
}
