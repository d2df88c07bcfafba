/**
 * A caching allocator over a raw allocator (device memory here; the same logic serves any address
 * space with pointer arithmetic). Freed blocks go to a free pool and are reused best-fit; a large
 * block is split and the rest stays pooled; neighbouring free blocks of one segment merge again.
 * Limits follow ND4J: blocks above `maxCacheableLength` are returned to the driver at once, and the
 * pool never holds more than `maxCache` bytes of whole free segments. Out of memory empties the pool
 * and retries once before a clear error.
 *
 * A captured graph (see beginCapture) rewrites the memory it recorded on every replay, behind the
 * allocator's back, so that memory is the graph's until it is released.
 */
import { ExactSizeCache } from '../exact-size-cache.js';

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
  /** Bytes of free blocks that captured graphs keep for their replays (neither allocated nor cached). */
  graphBytes: number;
}

interface Segment {
  readonly base: number;
  readonly size: number;
  readonly cacheable: boolean;
  /** Made for requests up to SMALL bytes; only those share it. */
  readonly small: boolean;
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
  /** Free and waiting in a quick list by its exact size, outside the pool (neighbours do not merge with it). */
  quick: boolean;
  /** The captured graph that uses this block: when freed, it waits in that graph's memory. */
  owner: GraphBlocks | null;
}

/** The memory a captured graph uses, released when the graph is. */
export interface GraphMemory {
  /** Bytes of the blocks it holds. */
  readonly bytes: number;
}

/**
 * Every block handed out or freed while a graph was captured. Those freed stay here (reused by the
 * capture itself, never by others) until release, so replays never write into another array.
 */
class GraphBlocks implements GraphMemory {
  readonly members = new Set<InternalBlock>();
  readonly free: InternalBlock[] = [];

  get bytes(): number {
    let total = 0;
    for (const b of this.members) total += b.size;
    return total;
  }

  /** Removes and returns the smallest free block of at least `size` bytes. */
  takeBestFit(size: number): InternalBlock | null {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.size >= size && (best < 0 || b.size < this.free[best]!.size)) best = i;
    }
    return best < 0 ? null : this.free.splice(best, 1)[0]!;
  }
}

const SMALL = 1 << 20; // requests up to 1 MiB share 2 MiB segments
const SMALL_SEGMENT = 2 << 20;
/** Bytes of freed small blocks kept unmerged by exact size (the sizes a training step frees, it asks again). */
const QUICK_LIMIT = 256 << 20;
const LARGE_SEGMENT_ROUND = 2 << 20;
const ALIGN = 512;

/** Free and in its pool: neither kept for a captured graph nor in a quick list. */
const inPool = (b: InternalBlock): boolean => b.free && !b.owner && !b.quick;

/** Joins b into a, its predecessor in one segment. */
function join(a: InternalBlock, b: InternalBlock): InternalBlock {
  a.size += b.size;
  a.next = b.next;
  if (b.next) b.next.prev = a;
  return a;
}

/** Free blocks sorted by size, then address: best fit and removal by binary search. */
class FreePool {
  private readonly blocks: InternalBlock[] = [];

  get all(): readonly InternalBlock[] {
    return this.blocks;
  }

  insert(b: InternalBlock): void {
    this.blocks.splice(this.lowerBound(b.size, b.ptr), 0, b);
  }

  remove(b: InternalBlock): void {
    const i = this.lowerBound(b.size, b.ptr);
    if (this.blocks[i] !== b) throw new Error(`allocator: free block 0x${b.ptr.toString(16)} (${b.size} bytes) is missing from its pool`);
    this.blocks.splice(i, 1);
  }

  /** Removes and returns the smallest block of at least `size` bytes. */
  takeBestFit(size: number): InternalBlock | null {
    const i = this.lowerBound(size, 0);
    const b = this.blocks[i];
    if (!b) return null;
    this.blocks.splice(i, 1);
    return b;
  }

  private lowerBound(size: number, ptr: number): number {
    let lo = 0;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.blocks[mid]!;
      if (m.size < size || (m.size === size && m.ptr < ptr)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export class CachingAllocator {
  // Small requests live in small segments and large ones in large segments, so big blocks are not
  // fragmented by small ones; each kind has its own pool.
  private readonly smallPool = new FreePool();
  private readonly largePool = new FreePool();
  private readonly live = new Map<number, InternalBlock>();
  /** Freed small blocks by exact size: taken back without a search, a split or a merge. */
  private readonly quick = new ExactSizeCache<InternalBlock>(SMALL, QUICK_LIMIT);
  private s: AllocatorStats = { allocatedBytes: 0, cachedBytes: 0, reservedBytes: 0, peakAllocatedBytes: 0, hits: 0, misses: 0, blocks: 0, graphBytes: 0 };
  private capture: GraphBlocks | null = null;

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

  /** From now until endCapture, every block handed out or freed belongs to the graph being captured. */
  beginCapture(): void {
    if (this.capture) throw new Error(`${this.name}: a graph capture is already in progress`);
    this.capture = new GraphBlocks();
  }

  /** Ends the capture; the graph's blocks stay reserved for it until releaseGraph. */
  endCapture(): GraphMemory {
    const g = this.capture;
    if (!g) throw new Error(`${this.name}: no graph capture is in progress`);
    this.capture = null;
    return g;
  }

  /** The graph is gone: its free blocks return to the pool, its live ones become ordinary blocks. */
  releaseGraph(memory: GraphMemory): void {
    const g = memory as GraphBlocks;
    // A free block still owned is not in the pool, so neighbours merge only once both are released.
    for (const b of g.members) if (!b.free) b.owner = null;
    g.members.clear();
    for (const b of g.free.splice(0)) {
      b.owner = null;
      this.s.graphBytes -= b.size;
      this.recycle(b);
    }
  }

  alloc(bytes: number): Block {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    const g = this.capture;
    const reused = g?.takeBestFit(size);
    if (reused) {
      this.s.hits++;
      this.s.graphBytes -= reused.size;
      return this.handOut(reused, reused.size);
    }
    const block = this.allocFromPool(size);
    if (g) {
      block.owner = g;
      g.members.add(block);
    }
    return block;
  }

  private allocFromPool(size: number): InternalBlock {
    const quick = this.quick.take(size);
    if (quick) quick.quick = false;
    const pool = size <= SMALL ? this.smallPool : this.largePool;
    let found = quick ?? pool.takeBestFit(size);
    if (!found && size <= SMALL && this.quick.count > 0) {
      // The free memory may all sit in quick lists of other sizes: merge them before asking the driver.
      this.flushQuick();
      found = pool.takeBestFit(size);
    }
    if (found) {
      this.s.hits++;
      this.s.cachedBytes -= found.size;
      return this.handOut(found, size);
    }
    this.s.misses++;
    const { maxCacheableLength } = this.limits();
    const cacheable = size <= maxCacheableLength;
    const segSize = !cacheable ? size : size <= SMALL ? SMALL_SEGMENT : Math.ceil(size / LARGE_SEGMENT_ROUND) * LARGE_SEGMENT_ROUND;
    let base = this.raw.alloc(segSize);
    if (base === null && this.capture) {
      // Returning memory to the driver waits for the GPU, which a capture cannot do.
      throw new Error(`${this.name}: out of memory allocating ${size} bytes during a graph capture; ${this.s.allocatedBytes} bytes in use, ${this.s.cachedBytes} cached`);
    }
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
    const segment: Segment = { base, size: segSize, cacheable, small: size <= SMALL };
    const block: InternalBlock = { ptr: base, size: segSize, segment, prev: null, next: null, free: true, quick: false, owner: null };
    return this.handOut(block, size);
  }

  free(block: Block): void {
    const b = this.live.get(block.ptr);
    if (!b) throw new Error(`${this.name}: free of an address that is not allocated (0x${block.ptr.toString(16)})`);
    this.live.delete(b.ptr);
    const size = b.size;
    this.s.allocatedBytes -= size;
    this.s.blocks--;
    b.free = true;
    const holder = b.owner ?? this.capture;
    if (holder) {
      if (!b.owner) {
        b.owner = holder;
        holder.members.add(b);
      }
      holder.free.push(b);
      this.s.graphBytes += size;
      return;
    }
    this.recycle(b);
  }

  /** Returns a free block to a quick list, the pool or the driver. */
  private recycle(b: InternalBlock): void {
    const size = b.size;
    if (!b.segment.cacheable) {
      this.raw.free(b.segment.base);
      this.s.reservedBytes -= b.segment.size;
      return;
    }
    this.s.cachedBytes += size;
    if (b.segment.small && this.quick.give(b, size)) {
      b.quick = true;
      return;
    }
    this.pool(b);
    this.trim(this.limits().maxCache);
  }

  /** Puts a free block (counted as cached) into the pool, merged with its free neighbours there. */
  private pool(b: InternalBlock): void {
    // Free neighbours leave the pool (before their size changes) and absorb or join this block.
    let merged = b;
    const prev = b.prev;
    if (prev && inPool(prev)) {
      this.poolOf(prev).remove(prev);
      merged = join(prev, merged);
    }
    const next = merged.next;
    if (next && inPool(next)) {
      this.poolOf(next).remove(next);
      merged = join(merged, next);
    }
    this.poolOf(merged).insert(merged);
  }

  /** Moves every quick-listed block into the pool, merging what can merge. */
  private flushQuick(): void {
    for (const b of this.quick.drain()) {
      b.quick = false;
      this.pool(b);
    }
  }

  /** Returns every wholly free segment to the driver. */
  emptyCache(): void {
    this.trim(0);
  }

  private poolOf(b: InternalBlock): FreePool {
    return b.segment.small ? this.smallPool : this.largePool;
  }

  private handOut(block: InternalBlock, size: number): InternalBlock {
    // Split when the remainder is worth keeping: any remainder of a small segment, 1 MiB+ of a large one.
    const rest = block.size - size;
    if (rest >= (block.segment.small ? ALIGN : SMALL)) {
      const tail: InternalBlock = { ptr: block.ptr + size, size: rest, segment: block.segment, prev: block, next: block.next, free: true, quick: false, owner: null };
      if (block.next) block.next.prev = tail;
      block.next = tail;
      block.size = size;
      this.poolOf(tail).insert(tail);
      this.s.cachedBytes += rest;
    }
    block.free = false;
    this.live.set(block.ptr, block);
    this.s.allocatedBytes += block.size;
    this.s.blocks++;
    if (this.s.allocatedBytes > this.s.peakAllocatedBytes) this.s.peakAllocatedBytes = this.s.allocatedBytes;
    return block;
  }

  /** Frees whole free segments, largest first, until at most `limit` bytes are cached. */
  private trim(limit: number): void {
    if (this.s.cachedBytes <= limit) return;
    this.flushQuick();
    const whole = [...this.smallPool.all, ...this.largePool.all].filter((b) => b.prev === null && b.next === null).sort((x, y) => y.size - x.size);
    for (const b of whole) {
      if (this.s.cachedBytes <= limit) break;
      this.poolOf(b).remove(b);
      this.s.cachedBytes -= b.size;
      this.s.reservedBytes -= b.segment.size;
      this.raw.free(b.segment.base);
    }
  }
}
