/**
 * Freed buffers kept by exact size and handed out again without a search, a split or a merge: the
 * sizes a loop frees are the sizes it asks for next. The CPU backend keeps small native buffers this
 * way (an N-API allocation costs more than a small op) and the CUDA allocator its small blocks.
 */
export class ExactSizeCache<T> {
  private readonly bySize = new Map<number, T[]>();
  private cachedBytes = 0;
  private cachedCount = 0;

  /** Keeps items of 1..`maxItemBytes` bytes, at most `maxBytes` in all. */
  constructor(
    private readonly maxItemBytes: number,
    private readonly maxBytes: number,
  ) {}

  /** A kept item of exactly `bytes` bytes, if any. */
  take(bytes: number): T | undefined {
    const item = this.bySize.get(bytes)?.pop();
    if (item !== undefined) {
      this.cachedBytes -= bytes;
      this.cachedCount--;
    }
    return item;
  }

  /** Keeps `item` (of `bytes` bytes); false when it is too large or the cache is full (the caller frees it). */
  give(item: T, bytes: number): boolean {
    if (bytes === 0 || bytes > this.maxItemBytes || this.cachedBytes + bytes > this.maxBytes) return false;
    let list = this.bySize.get(bytes);
    if (!list) this.bySize.set(bytes, (list = []));
    list.push(item);
    this.cachedBytes += bytes;
    this.cachedCount++;
    return true;
  }

  /** Removes and returns every kept item. */
  drain(): T[] {
    const all = [...this.bySize.values()].flat();
    this.bySize.clear();
    this.cachedBytes = 0;
    this.cachedCount = 0;
    return all;
  }

  get bytes(): number {
    return this.cachedBytes;
  }

  get count(): number {
    return this.cachedCount;
  }
}
