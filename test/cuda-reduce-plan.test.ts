/**
 * The CUDA reductions' pure planning (src/backend/cuda/reduce-plan.ts), runnable without a GPU:
 * kept/reduced axis layouts of arbitrary views against offsets enumerated here with plain loops,
 * softmax row layouts likewise, and launch plans against the device limits and the kernels'
 * index arithmetic (every (output, TAD position) visited exactly once).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  planReduceLaunch, planRowLaunch, reduceLayout, rowLayout, type LaunchLimits, type ReduceLayout,
} from '../src/backend/cuda/reduce-plan.js';
import { Rng, unravel } from './helpers.js';

const H100: LaunchLimits = { multiprocessors: 132, maxBlock: 512, maxGrid: 65535 };

/** Row-major multi-indices of a shape. */
function* indices(shape: readonly number[]): Generator<number[]> {
  const n = shape.reduce((a, b) => a * b, 1);
  for (let lin = 0; lin < n; lin++) yield unravel(lin, shape);
}

const dot = (idx: readonly number[], strides: readonly number[]): number => idx.reduce((s, v, d) => s + v * strides[d]!, 0);

/** Offsets of a merged group's elements in row-major order. */
function groupOffsets(shape: readonly number[], strides: readonly number[]): number[] {
  return [...indices(shape)].map((i) => dot(i, strides));
}

/** A random view: random extents (some 1), a random axis permutation of a padded contiguous buffer, random steps. */
function randomView(rng: Rng, rank: number): { shape: number[]; strides: number[] } {
  const shape = Array.from({ length: rank }, () => (rng.next() < 0.2 ? 1 : rng.int(2, 5)));
  const steps = shape.map(() => (rng.next() < 0.25 ? 2 : 1));
  const perm = Array.from({ length: rank }, (_, i) => i).sort(() => rng.next() - 0.5);
  // Contiguous strides of the stepped, permuted buffer, then mapped back to the view's axes.
  const storage = perm.map((d) => shape[d]! * steps[d]!);
  const st = new Array<number>(rank);
  let s = 1;
  for (let k = rank - 1; k >= 0; k--) {
    st[perm[k]!] = s * steps[perm[k]!]!;
    s *= storage[k]!;
  }
  if (rank > 0 && rng.next() < 0.2) st[rng.int(0, rank)] = 0; // a broadcast axis
  return { shape, strides: st };
}

/** Strides of a contiguous buffer holding `shape` with its axes in a random order (an out view). */
function permutedContiguous(shape: readonly number[], rng: Rng): number[] {
  const perm = shape.map((_, i) => i).sort(() => rng.next() - 0.5);
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let k = perm.length - 1; k >= 0; k--) {
    st[perm[k]!] = s;
    s *= shape[perm[k]!]!;
  }
  return st;
}

/**
 * Checks a layout against the definition: output o (row-major over the kept axes in x's order) must
 * reduce exactly the x offsets of its elements, and write to its own out offset. With `ordered`,
 * TAD position j must be the row-major position over the reduced axes in their original order.
 */
function checkLayout(shape: number[], xs: number[], os: number[], red: Set<number>, ordered: boolean, lay: ReduceLayout): void {
  const keptAxes = shape.map((_, d) => d).filter((d) => !red.has(d));
  const redAxes = shape.map((_, d) => d).filter((d) => red.has(d));
  assert.equal(lay.numOut, keptAxes.reduce((n, d) => n * shape[d]!, 1));
  assert.equal(lay.L, redAxes.reduce((n, d) => n * shape[d]!, 1));
  assert.equal(lay.keptShape.reduce((a, b) => a * b, 1), lay.numOut);
  assert.equal(lay.redShape.reduce((a, b) => a * b, 1), lay.L);
  // Reference: per output, (x offset of kept part, out offset) and the TAD's x offsets in order.
  const ref = new Map<string, { tad: number[] }>();
  for (const k of indices(keptAxes.map((d) => shape[d]!))) {
    const full = new Array<number>(shape.length).fill(0);
    keptAxes.forEach((d, i) => (full[d] = k[i]!));
    const tad: number[] = [];
    for (const r of indices(redAxes.map((d) => shape[d]!))) {
      redAxes.forEach((d, i) => (full[d] = r[i]!));
      tad.push(dot(full, xs));
    }
    redAxes.forEach((d) => (full[d] = 0));
    const key = `${dot(full, xs)}|${dot(full, os)}`;
    // Outputs may coincide only through broadcast (stride 0) axes; they then have identical TADs.
    ref.set(key, { tad });
  }
  const keptX = groupOffsets(lay.keptShape, lay.keptX);
  const keptO = groupOffsets(lay.keptShape, lay.keptOut);
  const redX = groupOffsets(lay.redShape, lay.redX);
  const seenOut = new Set<number>();
  for (let o = 0; o < lay.numOut; o++) {
    const r = ref.get(`${keptX[o]}|${keptO[o]}`);
    assert.ok(r, `output ${o}: (x ${keptX[o]}, out ${keptO[o]}) is not an output of the view`);
    const tad = redX.map((v) => v + keptX[o]!);
    if (ordered) assert.deepEqual(tad, r.tad);
    else assert.deepEqual([...tad].sort((a, b) => a - b), [...r.tad].sort((a, b) => a - b));
    seenOut.add(keptO[o]!);
  }
  if (!os.some((s, d) => s === 0 && shape[d]! > 1 && !red.has(d))) assert.equal(seenOut.size, lay.numOut, 'every output written once');
}

describe('cuda reduce plan: axis layout', () => {
  it('contiguous [3,4,5] over every axis subset merges into at most one kept and one reduced run where possible', () => {
    const shape = [3, 4, 5];
    const xs = [20, 5, 1];
    for (let mask = 0; mask < 8; mask++) {
      const red = new Set([0, 1, 2].filter((d) => mask & (1 << d)));
      // out: contiguous over the kept-dims shape
      const kept = shape.map((d, i) => (red.has(i) ? 1 : d));
      const os = [kept[1]! * kept[2]!, kept[2]!, 1];
      for (const ordered of [false, true]) {
        const lay = reduceLayout(shape, xs, os, red, ordered);
        checkLayout(shape, xs, os, red, ordered, lay);
      }
    }
    // Reducing the last axis leaves one contiguous TAD per output; reducing the first, kept axes merge.
    assert.deepEqual(reduceLayout([3, 4, 5], [20, 5, 1], [4, 1, 1], new Set([2]), false).redX, [1]);
    const first = reduceLayout([3, 4, 5], [20, 5, 1], [20, 5, 1], new Set([0]), false);
    assert.deepEqual([first.keptShape, first.keptX, first.redShape, first.redX], [[20], [1], [3], [20]]);
  });

  it('random permuted, stepped and broadcast views: every output gets exactly its elements (argmax order kept)', () => {
    const rng = new Rng(7);
    for (let t = 0; t < 300; t++) {
      const rank = rng.int(0, 5);
      const x = randomView(rng, rank);
      const red = new Set(x.shape.map((_, d) => d).filter(() => rng.next() < 0.5));
      const os = permutedContiguous(x.shape.map((d, i) => (red.has(i) ? 1 : d)), rng);
      const ordered = rng.next() < 0.5;
      const lay = reduceLayout(x.shape, x.strides, os, red, ordered);
      checkLayout(x.shape, x.strides, os, red, ordered, lay);
    }
  });

  it('the reduced axes of argmax keep their order even when strides would reorder them', () => {
    // x is a transposed [4, 3] view (strides [1, 4]); argmax over both axes counts row-major over (4, 3).
    const lay = reduceLayout([4, 3], [1, 4], [1, 1], new Set([0, 1]), true);
    assert.deepEqual(groupOffsets(lay.redShape, lay.redX), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    const sorted = reduceLayout([4, 3], [1, 4], [1, 1], new Set([0, 1]), false);
    assert.deepEqual(groupOffsets(sorted.redShape, sorted.redX), range(12));
  });
});

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * Emulates the kernels' index arithmetic for a plan (reduce.cu: rows_warp, rows_block, cols) and
 * counts how often each (output, position) is visited; also checks the launch limits.
 */
function checkCoverage(layout: ReduceLayout, lim: LaunchLimits): void {
  const p = planReduceLaunch(layout, lim);
  const { numOut, L } = layout;
  assert.ok(p.block >= 1 && p.block <= lim.maxBlock, `block ${p.block}`);
  assert.ok(p.grid >= 1 && p.grid <= lim.maxGrid, `grid ${p.grid}`);
  assert.ok(p.parts >= 1 && p.parts <= 65535, `parts ${p.parts}`);
  if (p.kind !== 'cols') assert.equal(p.block % 32, 0, 'warp-merging kernels need whole warps');
  if (p.kind === 'warp') assert.equal(p.parts, 1);
  if (numOut * L > 2e6) return; // the limits above are all that is checked for big cases
  const visits = new Uint8Array(numOut * L);
  const P = p.parts;
  for (let q = 0; q < P; q++) {
    const start = Math.floor((L * q) / P);
    const end = Math.floor((L * (q + 1)) / P);
    for (let b = 0; b < p.grid; b++) {
      if (p.kind === 'warp') {
        const wpb = p.block / 32;
        for (let w = 0; w < wpb; w++) for (let o = b * wpb + w; o < numOut; o += p.grid * wpb) for (let lane = 0; lane < 32; lane++) for (let j = lane; j < L; j += 32) visits[o * L + j]!++;
      } else if (p.kind === 'block') {
        for (let o = b; o < numOut; o += p.grid) for (let t = 0; t < p.block; t++) for (let j = start + t; j < end; j += p.block) visits[o * L + j]!++;
      } else {
        const bx = p.bx;
        const by = p.block / bx;
        assert.equal(bx * by, p.block);
        assert.equal(Math.log2(bx) % 1, 0, 'bx is a power of two');
        assert.equal(Math.log2(by) % 1, 0, 'by is a power of two (tree merge)');
        assert.ok(p.block <= 1024, 'the cols kernel stages at most 1024 states');
        for (let o0 = b * bx; o0 < numOut; o0 += p.grid * bx) {
          for (let t = 0; t < p.block; t++) {
            const o = o0 + (t % bx);
            if (o < numOut) for (let j = start + Math.floor(t / bx); j < end; j += by) visits[o * L + j]!++;
          }
        }
      }
    }
  }
  const bad = visits.findIndex((v) => v !== 1);
  assert.equal(bad, -1, `${p.kind} plan (block ${p.block}, grid ${p.grid}, parts ${P}, bx ${p.bx}): (output ${Math.floor(bad / L)}, position ${bad % L}) visited ${visits[bad]} times`);
}

function contiguousLayout(shape: number[], red: number[]): ReduceLayout {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    st[d] = s;
    s *= shape[d]!;
  }
  return reduceLayout(shape, st, st.map(() => 1), new Set(red), false);
}

describe('cuda reduce plan: launches', () => {
  it('chooses the kernel by layout: warp for short rows, block (split) for long ones, cols for outer axes', () => {
    assert.equal(planReduceLaunch(contiguousLayout([1000, 100], [1]), H100).kind, 'warp');
    const full = planReduceLaunch(contiguousLayout([64 * 1024 * 1024], [0]), H100);
    assert.equal(full.kind, 'block');
    assert.ok(full.parts >= H100.multiprocessors, `a full sum of 64M values runs on every SM (parts ${full.parts})`);
    const col = planReduceLaunch(contiguousLayout([1 << 20, 64], [0]), H100);
    assert.equal(col.kind, 'cols');
    assert.ok(col.parts > 1, 'few long columns are split');
    assert.equal(planReduceLaunch(contiguousLayout([64, 1 << 20], [0]), H100).parts, 1);
    assert.equal(planReduceLaunch(contiguousLayout([1 << 20, 2], [1]), H100).kind, 'cols');
  });

  it('every (output, position) is visited exactly once, within the limits', () => {
    const shapes: [number[], number[]][] = [
      [[7], [0]], [[1], [0]], [[33, 65], [1]], [[33, 65], [0]], [[5, 3000], [1]], [[3000, 5], [0]], [[3, 40000], [1]],
      [[40000, 3], [0]], [[2, 3, 4, 5], [0, 2]], [[100000], [0]], [[17, 1], [1]], [[4, 5], []], [[9, 300, 7], [0, 1]],
      [[64 * 1024 * 1024], [0]], [[1 << 20, 64], [0]], [[64, 1 << 20], [0]], [[8, 1 << 22], [1]],
    ];
    const limits: LaunchLimits[] = [H100, { multiprocessors: 2, maxBlock: 32, maxGrid: 3 }, { multiprocessors: 8, maxBlock: 1024, maxGrid: 7 }];
    for (const lim of limits) for (const [shape, red] of shapes) checkCoverage(contiguousLayout(shape, red), lim);
    const rng = new Rng(11);
    for (let t = 0; t < 200; t++) {
      const x = randomView(rng, rng.int(1, 4));
      const red = new Set(x.shape.map((_, d) => d).filter(() => rng.next() < 0.5));
      checkCoverage(reduceLayout(x.shape, x.strides, x.shape.map(() => 1), red, false), limits[t % 3]!);
    }
  });
});

describe('cuda softmax plan', () => {
  it('row layouts give every row its elements, per operand', () => {
    const rng = new Rng(5);
    for (let t = 0; t < 200; t++) {
      const rank = rng.int(1, 5);
      const a = randomView(rng, rank);
      const b = randomView(rng, rank);
      const bs = a.shape.map((_, d) => b.strides[d] ?? 1);
      const axis = rng.int(0, rank);
      const rl = rowLayout(a.shape, [a.strides, bs], axis);
      assert.equal(rl.n, a.shape[axis]);
      assert.equal(rl.rows * rl.n, a.shape.reduce((x, y) => x * y, 1));
      // Reference: pairs (a offset, b offset) of each row's first element, and the row elements.
      const others = a.shape.map((_, d) => d).filter((d) => d !== axis);
      const want: string[] = [];
      for (const k of indices(others.map((d) => a.shape[d]!))) {
        const full = new Array<number>(rank).fill(0);
        others.forEach((d, i) => (full[d] = k[i]!));
        const row: string[] = [];
        for (let j = 0; j < rl.n; j++) {
          full[axis] = j;
          row.push(`${dot(full, a.strides)}:${dot(full, bs)}`);
        }
        want.push(row.join(','));
      }
      const oa = groupOffsets(rl.outerShape, rl.outer[0]!);
      const ob = groupOffsets(rl.outerShape, rl.outer[1]!);
      const got = oa.map((base, r) => range(rl.n).map((j) => `${base + j * rl.rowStride[0]!}:${ob[r]! + j * rl.rowStride[1]!}`).join(','));
      assert.deepEqual([...got].sort(), [...want].sort());
    }
  });

  it('launches: warp rows, block rows, one thread per row for outer axes and very short rows', () => {
    const plan = (shape: number[], axis: number) => {
      const st = new Array<number>(shape.length);
      let s = 1;
      for (let d = shape.length - 1; d >= 0; d--) {
        st[d] = s;
        s *= shape[d]!;
      }
      return planRowLaunch(rowLayout(shape, [st, st], axis), H100);
    };
    assert.equal(plan([512, 1000], 1).kind, 'warp');
    assert.equal(plan([8, 50000], 1).kind, 'block');
    assert.equal(plan([64, 1000, 49], 1).kind, 'cols');
    assert.equal(plan([100000, 2], 1).kind, 'cols');
    for (const p of [plan([512, 1000], 1), plan([8, 50000], 1), plan([64, 1000, 49], 1), plan([100000, 2], 1), plan([3, 7], 1)]) {
      assert.ok(p.block % 32 === 0 && p.block <= H100.maxBlock && p.grid >= 1 && p.grid <= H100.maxGrid);
      // cols: bx rows per block, block / bx threads per row (a power of two: the kernel splits rows evenly)
      if (p.kind === 'cols') assert.ok(p.block % p.bx === 0 && Math.log2(p.block / p.bx) % 1 === 0);
    }
    // A long non-last axis is shared by several threads per row; short rows get one thread each.
    const long = plan([64, 1000, 49], 1);
    assert.ok(long.block / long.bx > 1);
    assert.equal(plan([100000, 2], 1).bx, plan([100000, 2], 1).block);
  });
});
