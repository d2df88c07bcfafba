/**
 * The caching allocator of the CUDA backend is plain TypeScript over a raw allocator, so it is
 * tested here without a GPU, over a simulated address space that records every driver call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CachingAllocator, type AllocatorLimits, type Block, type GraphMemory } from '../src/backend/cuda/allocator.js';
import { Rng } from './helpers.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** A driver stand-in: segments at increasing addresses, a capacity, and counts of its calls. */
class FakeDriver {
  readonly segments = new Map<number, number>();
  allocs = 0;
  frees = 0;
  private nextBase = 1 << 20;

  constructor(private readonly capacity = Infinity) {}

  get reserved(): number {
    let total = 0;
    for (const size of this.segments.values()) total += size;
    return total;
  }

  alloc(bytes: number): number | null {
    if (this.reserved + bytes > this.capacity) return null;
    this.allocs++;
    const base = this.nextBase;
    this.nextBase += bytes + MiB; // a gap, so blocks of different segments never touch
    this.segments.set(base, bytes);
    return base;
  }

  free(ptr: number): void {
    assert.ok(this.segments.delete(ptr), `driver free of an unknown segment 0x${ptr.toString(16)}`);
    this.frees++;
  }
}

function setup(limits: AllocatorLimits = { maxCache: 8 * GiB, maxCacheableLength: GiB }, capacity = Infinity) {
  const driver = new FakeDriver(capacity);
  const allocator = new CachingAllocator('test allocator', { alloc: (b) => driver.alloc(b), free: (p) => driver.free(p) }, () => limits);
  return { driver, allocator };
}

/** The bookkeeping agrees with the driver, and live blocks are disjoint and inside driver segments. */
function checkInvariants(allocator: CachingAllocator, driver: FakeDriver, live: ReadonlyMap<Block, number>): void {
  const s = allocator.stats();
  assert.equal(s.reservedBytes, driver.reserved, 'reserved bytes = bytes the driver handed out');
  assert.equal(s.allocatedBytes + s.cachedBytes + s.graphBytes, s.reservedBytes, 'allocated + cached + held for graphs = reserved');
  assert.equal(s.blocks, live.size);
  const blocks = [...live].sort((x, y) => x[0].ptr - y[0].ptr);
  let allocated = 0;
  for (let i = 0; i < blocks.length; i++) {
    const [b, requested] = blocks[i]!;
    assert.ok(b.size >= requested, `block of ${b.size} bytes for a request of ${requested}`);
    allocated += b.size;
    if (i > 0) assert.ok(blocks[i - 1]![0].ptr + blocks[i - 1]![0].size <= b.ptr, 'live blocks overlap');
    const inside = [...driver.segments].some(([base, size]) => b.ptr >= base && b.ptr + b.size <= base + size);
    assert.ok(inside, `block 0x${b.ptr.toString(16)} lies outside every driver segment`);
  }
  assert.equal(allocated, s.allocatedBytes);
}

test('allocator: random allocations and frees keep the bookkeeping exact and blocks disjoint', () => {
  const { driver, allocator } = setup({ maxCache: 3 * GiB, maxCacheableLength: 512 * MiB });
  const rng = new Rng(7);
  const live = new Map<Block, number>();
  const sizes = [1, 100, 511, 513, 4096, 300_000, MiB, MiB + 1, 3 * MiB, 64 * MiB, 289 * MiB, 600 * MiB];
  for (let step = 0; step < 4000; step++) {
    if (live.size > 0 && (rng.next() < 0.45 || live.size > 60)) {
      const victims = [...live.keys()];
      const b = victims[rng.int(0, victims.length)]!;
      allocator.free(b);
      live.delete(b);
    } else {
      const bytes = sizes[rng.int(0, sizes.length)]! + rng.int(0, 3) * 512;
      live.set(allocator.alloc(bytes), bytes);
    }
    if (step % 50 === 0) checkInvariants(allocator, driver, live);
  }
  for (const b of live.keys()) allocator.free(b);
  live.clear();
  checkInvariants(allocator, driver, live);
  assert.ok(allocator.stats().cachedBytes <= 3 * GiB, 'the cache respects maxCache');
  allocator.emptyCache();
  assert.equal(driver.segments.size, 0, 'emptyCache returns every free segment');
  assert.equal(allocator.stats().reservedBytes, 0);
});

test('allocator: a repeated training-step pattern is served from the cache after its first round', () => {
  // The convolution step of bench:gpu: output, workspace, input gradient, workspace, filter gradient,
  // workspace (each workspace freed at once), then the step's arrays are released.
  const { driver, allocator } = setup();
  const ws = 289 * MiB + 12_345;
  const round = (): void => {
    const y = allocator.alloc(64 * MiB);
    allocator.free(allocator.alloc(ws));
    const dx = allocator.alloc(64 * MiB);
    allocator.free(allocator.alloc(ws / 2));
    const dw = allocator.alloc(147_456);
    allocator.free(allocator.alloc(ws));
    for (const b of [y, dx, dw]) allocator.free(b);
  };
  const x = allocator.alloc(64 * MiB);
  round();
  const { misses, hits } = allocator.stats();
  const driverCalls = driver.allocs + driver.frees;
  for (let i = 0; i < 200; i++) round();
  assert.equal(allocator.stats().misses, misses, 'no cache misses after the first round');
  assert.equal(driver.allocs + driver.frees, driverCalls, 'no driver calls after the first round');
  assert.equal(allocator.stats().hits - hits, 200 * 6);
  allocator.free(x);
  checkInvariants(allocator, driver, new Map());
});

test('allocator: freed neighbours merge, so one large request fits where several small ones were', () => {
  const { driver, allocator } = setup();
  const parts = [10, 20, 30, 40].map((m) => allocator.alloc(m * MiB));
  assert.equal(driver.allocs, 4);
  const whole = allocator.alloc(100 * MiB);
  allocator.free(whole);
  // Free in an order that merges with the next block, then the previous one.
  const pieces = [allocator.alloc(30 * MiB), allocator.alloc(30 * MiB), allocator.alloc(40 * MiB)];
  const callsBefore = driver.allocs;
  for (const i of [1, 0, 2]) allocator.free(pieces[i]!);
  const again = allocator.alloc(100 * MiB);
  assert.equal(driver.allocs, callsBefore, 'the merged 100 MiB block is reused');
  assert.equal(again.ptr, pieces[0]!.ptr);
  allocator.free(again);
  for (const p of parts) allocator.free(p);
  checkInvariants(allocator, driver, new Map());
});

test('allocator: blocks above maxCacheableLength go back to the driver; the cache stays under maxCache', () => {
  const { driver, allocator } = setup({ maxCache: 100 * MiB, maxCacheableLength: 64 * MiB });
  const big = allocator.alloc(65 * MiB);
  allocator.free(big);
  assert.equal(driver.frees, 1, 'an uncacheable block is freed at once');
  assert.equal(allocator.stats().cachedBytes, 0);
  const blocks = [40, 40, 40].map((m) => allocator.alloc(m * MiB));
  for (const b of blocks) allocator.free(b);
  assert.ok(allocator.stats().cachedBytes <= 100 * MiB, `cached ${allocator.stats().cachedBytes} bytes`);
  assert.equal(driver.frees, 2, 'one whole segment was returned to respect maxCache');
  checkInvariants(allocator, driver, new Map());
});

test('allocator: out of memory empties the cache, retries once, then names the request and the usage', () => {
  const { driver, allocator } = setup(undefined, 256 * MiB);
  const kept = allocator.alloc(100 * MiB);
  allocator.free(allocator.alloc(100 * MiB)); // cached, not in use
  const fits = allocator.alloc(150 * MiB); // needs the cached segment's memory back
  assert.equal(driver.segments.size, 2);
  assert.throws(() => allocator.alloc(200 * MiB), (e: Error) =>
    /out of memory allocating 209715200 bytes/.test(e.message) && /262144000 bytes in use/.test(e.message) && /0 cached/.test(e.message));
  checkInvariants(allocator, driver, new Map<Block, number>([[kept, 100 * MiB], [fits, 150 * MiB]]));
  assert.throws(() => allocator.free({ ptr: 12345, size: 512 }), /free of an address that is not allocated/);
  allocator.free(fits);
  assert.throws(() => allocator.free(fits), /free of an address that is not allocated/);
  allocator.free(kept);
});

const overlaps = (a: Block, b: Block): boolean => a.ptr < b.ptr + b.size && b.ptr < a.ptr + a.size;

test('allocator: what a graph capture allocates or frees is the graph\'s until it is released', () => {
  const { driver, allocator } = setup();
  const input = allocator.alloc(MiB);
  const before = allocator.alloc(4096);
  allocator.beginCapture();
  const t1 = allocator.alloc(8192);
  allocator.free(t1);
  const t2 = allocator.alloc(4096);
  assert.equal(t2.ptr, t1.ptr, 'the capture reuses its own freed block');
  const output = allocator.alloc(2048);
  allocator.free(before);
  allocator.free(t2);
  const memory = allocator.endCapture();
  assert.equal(memory.bytes, t1.size + before.size + output.size);
  assert.equal(allocator.stats().graphBytes, t1.size + before.size);
  const graphBlocks = [t1, before, output];

  const eager = [8192, 4096, 2048, 512, 100_000].flatMap((n) => [allocator.alloc(n), allocator.alloc(n)]);
  for (const e of eager) for (const g of graphBlocks) assert.ok(!overlaps(e, g), `eager block 0x${e.ptr.toString(16)} overlaps the graph's 0x${g.ptr.toString(16)}`);
  allocator.free(output);
  assert.equal(allocator.stats().graphBytes, memory.bytes, 'an output freed after the capture stays with the graph');
  const more = allocator.alloc(2048);
  assert.ok(!graphBlocks.some((g) => overlaps(more, g)));
  checkInvariants(allocator, driver, new Map([[input, MiB], [more, 2048], ...eager.map((e): [Block, number] => [e, e.size])]));

  const cached = allocator.stats().cachedBytes;
  const held = memory.bytes;
  allocator.releaseGraph(memory);
  assert.equal(allocator.stats().graphBytes, 0);
  assert.equal(memory.bytes, 0);
  assert.equal(allocator.stats().cachedBytes, cached + held, 'released blocks return to the cache');
  for (const b of [input, more, ...eager]) allocator.free(b);
  checkInvariants(allocator, driver, new Map());
  allocator.emptyCache();
  assert.equal(driver.segments.size, 0, 'every segment is whole again after the release');
});

test('allocator: random work with graph captures never hands a graph\'s block to anyone else', () => {
  const { driver, allocator } = setup({ maxCache: 2 * GiB, maxCacheableLength: 256 * MiB });
  const rng = new Rng(11);
  const sizes = [1, 700, 4096, 300_000, MiB + 1, 5 * MiB, 300 * MiB];
  const live = new Map<Block, number>();
  const graphs: { memory: GraphMemory; blocks: Set<Block> }[] = [];
  let capturing: Set<Block> | null = null;
  for (let step = 0; step < 3000; step++) {
    const r = rng.next();
    if (capturing === null && r < 0.01) {
      allocator.beginCapture();
      capturing = new Set();
    } else if (capturing !== null && r < 0.03) {
      graphs.push({ memory: allocator.endCapture(), blocks: capturing });
      capturing = null;
    } else if (capturing === null && graphs.length > 0 && r < 0.04) {
      allocator.releaseGraph(graphs.splice(Math.floor(rng.next() * graphs.length), 1)[0]!.memory);
    } else if (live.size > 0 && (r < 0.5 || live.size > 40)) {
      const victims = [...live.keys()];
      const b = victims[Math.floor(rng.next() * victims.length)]!;
      allocator.free(b);
      live.delete(b);
      capturing?.add(b);
    } else {
      const n = sizes[Math.floor(rng.next() * sizes.length)]!;
      const b = allocator.alloc(n);
      if (capturing) capturing.add(b);
      else for (const g of graphs) for (const gb of g.blocks) assert.ok(!overlaps(b, gb), `step ${step}: a graph's block was handed out again`);
      live.set(b, n);
    }
    if (step % 50 === 0) checkInvariants(allocator, driver, live);
  }
  if (capturing) graphs.push({ memory: allocator.endCapture(), blocks: capturing });
  for (const g of graphs) allocator.releaseGraph(g.memory);
  for (const b of live.keys()) allocator.free(b);
  checkInvariants(allocator, driver, new Map());
  assert.equal(allocator.stats().graphBytes, 0);
});

test('allocator: a freed small block is reused by the next request of its size; quick-listed blocks merge before the driver is asked', () => {
  const { driver, allocator } = setup();
  const a = allocator.alloc(4096);
  allocator.free(a);
  const b = allocator.alloc(4000);
  assert.equal(b.ptr, a.ptr, 'the same block comes back for the same rounded size');
  allocator.free(b);
  const many = Array.from({ length: 1000 }, () => allocator.alloc(4096));
  const segments = driver.allocs;
  for (const m of many) allocator.free(m);
  // 1 MiB fits only where 256 of the 4 KiB blocks were, merged again.
  const big = allocator.alloc(MiB);
  assert.equal(driver.allocs, segments, 'no new segment: the freed 4 KiB blocks merged');
  allocator.free(big);
  checkInvariants(allocator, driver, new Map());
  allocator.emptyCache();
  assert.equal(driver.segments.size, 0, 'emptyCache merges quick-listed blocks and returns every segment');
});
