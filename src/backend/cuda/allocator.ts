/**
 * A caching allocator over a raw allocator (device memory here; the same logic serves any address
 * space with pointer arithmetic). Freed blocks go to a free pool and are reused best-fit; a large
 * block is split and the rest stays pooled; neighbouring free blocks of one segment merge again.
 * Limits follow ND4J: blocks above `maxCacheableLength` are returned to the driver at once, and the
 * pool never holds more than `maxCache` bytes of whole free segments. Out of memory empties the pool
 * and retries once before a clear error.
 */
export interface RawAllocator {
  /** Returns null when the memory is exhausted; throws for other failures. */
  alloc(bytes: number): number | null;
  free(ptr: number): void;
}

export interface AllocatorLimits {
  maxCache: number;
  maxCacheableLength: number;
}

export interface AllocatorStats {
  /** Bytes in blocks handed out. */
  allocatedBytes: number;
  /** Bytes held in free blocks for reuse. */
  cachedBytes: number;
  /** Bytes reserved from the driver (allocated + cached). */
  reservedBytes: number;
  peakAllocatedBytes: number;
  hits: number;
  misses: number;
  /** Blocks handed out now. */
  blocks: number;
}

interface Segment {
  readonly base: number;
  readonly size: number;
  readonly cacheable: boolean;
}

export interface Block {
  readonly ptr: number;
  readonly size: number;
}

interface InternalBlock extends Block {
  ptr: number;
  size: number;
  readonly segment: Segment;
  prev: InternalBlock | null;
  next: InternalBlock | null;
  free: boolean;
}

const SMALL = 1 << 20; // requests up to 1 MiB share 2 MiB segments
const SMALL_SEGMENT = 2 << 20;
const LARGE_SEGMENT_ROUND = 2 << 20;
const ALIGN = 512;

export class CachingAllocator {
  private readonly pool: InternalBlock[] = []; // free blocks sorted by size, then address
  private readonly live = new Map<number, InternalBlock>();
  private s: AllocatorStats = { allocatedBytes: 0, cachedBytes: 0, reservedBytes: 0, peakAllocatedBytes: 0, hits: 0, misses: 0, blocks: 0 };

  constructor(
    private readonly name: string,
    private readonly raw: RawAllocator,
    private readonly limits: () => AllocatorLimits,
  ) {}

  stats(): AllocatorStats {
    return { ...this.s };
  }

  /** Starts a new peak measurement from the bytes in use now. */
  resetPeak(): void {
    this.s.peakAllocatedBytes = this.s.allocatedBytes;
  }

  alloc(bytes: number): Block {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    const found = this.takeFromPool(size);
    if (found) {
      this.s.hits++;
      return this.handOut(found, size);
    }
    this.s.misses++;
    const { maxCacheableLength } = this.limits();
    const cacheable = size <= maxCacheableLength;
    const segSize = !cacheable ? size : size <= SMALL ? SMALL_SEGMENT : Math.ceil(size / LARGE_SEGMENT_ROUND) * LARGE_SEGMENT_ROUND;
    let base = this.raw.alloc(segSize);
    if (base === null) {
      this.emptyCache();
      base = this.raw.alloc(segSize);
    }
    if (base === null) {
      throw new Error(
        `${this.name}: out of memory allocating ${size} bytes (${segSize} reserved for it); ${this.s.allocatedBytes} bytes in use, ${this.s.cachedBytes} cached (the cache was emptied and the allocation retried)`,
      );
    }
    this.s.reservedBytes += segSize;
    const segment: Segment = { base, size: segSize, cacheable };
    const block: InternalBlock = { ptr: base, size: segSize, segment, prev: null, next: null, free: true };
    return this.handOut(block, size);
  }

  free(block: Block): void {
    const b = this.live.get(block.ptr);
    if (!b) throw new Error(`${this.name}: free of an address that is not allocated (0x${block.ptr.toString(16)})`);
    this.live.delete(b.ptr);
    this.s.allocatedBytes -= b.size;
    this.s.blocks--;
    b.free = true;
    if (!b.segment.cacheable) {
      this.raw.free(b.segment.base);
      this.s.reservedBytes -= b.segment.size;
      return;
    }
    let merged = b;
    if (merged.prev?.free) merged = this.merge(merged.prev, merged);
    if (merged.next?.free) merged = this.merge(merged, merged.next);
    this.insert(merged);
    this.s.cachedBytes += b.size;
    this.trim(this.limits().maxCache);
  }

  /** Returns every wholly free segment to the driver. */
  emptyCache(): void {
    this.trim(0);
  }

  private handOut(block: InternalBlock, size: number): Block {
    // Split when the remainder is worth keeping: any remainder of a small segment, 1 MiB+ of a large one.
    const rest = block.size - size;
    if (rest >= (block.segment.size === SMALL_SEGMENT ? ALIGN : SMALL)) {
      const tail: InternalBlock = { ptr: block.ptr + size, size: rest, segment: block.segment, prev: block, next: block.next, free: true };
      if (block.next) block.next.prev = tail;
      block.next = tail;
      block.size = size;
      this.insert(tail);
      this.s.cachedBytes += rest;
    }
    block.free = false;
    this.live.set(block.ptr, block);
    this.s.allocatedBytes += block.size;
    this.s.blocks++;
    if (this.s.allocatedBytes > this.s.peakAllocatedBytes) this.s.peakAllocatedBytes = this.s.allocatedBytes;
    return block;
  }

  private merge(a: InternalBlock, b: InternalBlock): InternalBlock {
    // a precedes b in the same segment; a is absorbed or already free in the pool.
    for (const x of [a, b]) {
      const i = this.pool.indexOf(x);
      if (i >= 0) this.pool.splice(i, 1);
    }
    a.size += b.size;
    a.next = b.next;
    if (b.next) b.next.prev = a;
    return a;
  }

  private lowerBound(size: number, ptr: number): number {
    let lo = 0;
    let hi = this.pool.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.pool[mid]!;
      if (m.size < size || (m.size === size && m.ptr < ptr)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private insert(b: InternalBlock): void {
    this.pool.splice(this.lowerBound(b.size, b.ptr), 0, b);
  }

  private takeFromPool(size: number): InternalBlock | null {
    const i = this.lowerBound(size, 0);
    const b = this.pool[i];
    if (!b) return null;
    // Small requests never take from large segments, so big blocks are not fragmented by small ones.
    if (size <= SMALL && b.segment.size !== SMALL_SEGMENT) {
      const j = this.pool.findIndex((x, k) => k >= i && x.segment.size === SMALL_SEGMENT);
      if (j < 0) return null;
      const s = this.pool[j]!;
      this.pool.splice(j, 1);
      this.s.cachedBytes -= s.size;
      return s;
    }
    if (size > SMALL && b.segment.size === SMALL_SEGMENT) {
      const j = this.pool.findIndex((x, k) => k >= i && x.segment.size !== SMALL_SEGMENT);
      if (j < 0) return null;
      const s = this.pool[j]!;
      this.pool.splice(j, 1);
      this.s.cachedBytes -= s.size;
      return s;
    }
    this.pool.splice(i, 1);
    this.s.cachedBytes -= b.size;
    return b;
  }

  /** Frees whole free segments, largest first, until at most `limit` bytes are cached. */
  private trim(limit: number): void {
    if (this.s.cachedBytes <= limit) return;
    const whole = this.pool.filter((b) => b.prev === null && b.next === null).sort((x, y) => y.size - x.size);
    for (const b of whole) {
      if (this.s.cachedBytes <= limit) break;
      this.pool.splice(this.pool.indexOf(b), 1);
      this.s.cachedBytes -= b.size;
      this.s.reservedBytes -= b.segment.size;
      this.raw.free(b.segment.base);
    }
  }
}
