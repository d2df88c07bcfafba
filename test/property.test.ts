/**
 * Seeded random-shape property tests: arrays of rank 0-4 (size-1 axes common), viewed through
 * random permutations, stepped slices and broadcasts, go through broadcasting binary ops and
 * reductions over random axes; every result must match the float64 reference built here.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../src/index.js';
import type { DataType, NDArray } from '../src/index.js';
import {
  assertArrayClose, broadcastShape, quantizer, randomRef, refBroadcast, refPermute, refReduce, refTake, refZip, Rng, type Ref, type Tolerance,
} from './helpers.js';

const CASES = 200;

function randomShape(rng: Rng, maxRank = 4): number[] {
  const rank = rng.int(0, maxRank + 1);
  return Array.from({ length: rank }, () => (rng.next() < 0.3 ? 1 : rng.int(1, 5)));
}

/** A shape that broadcasts with `shape`: some leading axes dropped, some axes set to 1. */
function compatibleShape(rng: Rng, shape: readonly number[]): number[] {
  const drop = rng.int(0, shape.length + 1);
  return shape.slice(drop).map((d) => (rng.next() < 0.35 ? 1 : d));
}

/**
 * An array of `shape` reached through a random chain of views: a stepped slice of a larger base,
 * then a random permutation, or a broadcast of a smaller array; with its reference.
 */
function randomView(rng: Rng, shape: readonly number[], dtype: DataType, lo: number, hi: number): { x: NDArray; r: Ref } {
  const q = quantizer(dtype);
  const kind = rng.int(0, 4);
  if (kind === 0) {
    const r = randomRef(rng, shape, lo, hi, q);
    return { x: dl.array(r.data, r.shape, { dtype }), r };
  }
  if (kind === 3 && shape.length > 0) {
    // Broadcast from a smaller source: each axis kept or made 1, a leading axis maybe dropped.
    const drop = rng.int(0, 2);
    const small = shape.slice(drop).map((d) => (rng.next() < 0.5 ? 1 : d));
    const r = randomRef(rng, small, lo, hi, q);
    return { x: dl.array(r.data, r.shape, { dtype }).broadcastTo(shape), r: refBroadcast(r, shape) };
  }
  // A permutation p of the final axes: the sliced array has axes in the order that p undoes.
  const perm = rng.shuffle(shape.map((_, i) => i));
  const inverse = new Array<number>(perm.length);
  perm.forEach((a, i) => (inverse[a] = i));
  const slicedShape = inverse.map((i) => shape[i]!);
  // For each axis of the sliced array: a start and a step inside a larger base.
  const steps = slicedShape.map(() => rng.int(1, 4));
  const starts = slicedShape.map(() => rng.int(0, 3));
  const baseShape = slicedShape.map((d, i) => starts[i]! + (d - 1) * steps[i]! + 1 + rng.int(0, 2));
  const base = randomRef(rng, baseShape, lo, hi, q);
  const picks = slicedShape.map((d, i) => Array.from({ length: d }, (_, k) => starts[i]! + k * steps[i]!));
  const sliced = dl.array(base.data, base.shape, { dtype }).get(...slicedShape.map((d, i) => dl.interval(starts[i]!, starts[i]! + (d - 1) * steps[i]! + 1, steps[i]!)));
  return { x: sliced.permute(perm), r: refPermute(refTake(base, picks), perm) };
}

const TOLERANCE: Record<'DOUBLE' | 'FLOAT', Tolerance> = { DOUBLE: { rtol: 1e-12, atol: 1e-12 }, FLOAT: { rtol: 1e-5, atol: 1e-5 } };

interface BinaryProp {
  readonly name: string;
  readonly run: (a: NDArray, b: NDArray) => NDArray;
  readonly ref: (x: number, y: number) => number;
  readonly bool?: boolean;
}

const BINARY: readonly BinaryProp[] = [
  { name: 'add', run: dl.add, ref: (x, y) => x + y },
  { name: 'sub', run: dl.sub, ref: (x, y) => x - y },
  { name: 'mul', run: dl.mul, ref: (x, y) => x * y },
  { name: 'div', run: dl.div, ref: (x, y) => x / y },
  { name: 'maximum', run: dl.maximum, ref: Math.max },
  { name: 'minimum', run: dl.minimum, ref: Math.min },
  { name: 'squaredDifference', run: dl.squaredDifference, ref: (x, y) => (x - y) ** 2 },
  { name: 'lt', run: dl.lt, ref: (x, y) => (x < y ? 1 : 0), bool: true },
  { name: 'ge', run: dl.ge, ref: (x, y) => (x >= y ? 1 : 0), bool: true },
];

describe('property: broadcasting binary ops on random shapes and views', () => {
  it(`${CASES} seeded cases`, () => {
    const rng = new Rng(20240601);
    for (let c = 0; c < CASES; c++) {
      dl.scope(() => {
        const op = rng.pick(BINARY);
        const dtype = rng.pick(['DOUBLE', 'FLOAT'] as const);
        const full = randomShape(rng);
        const part = compatibleShape(rng, full);
        const [sa, sb] = rng.next() < 0.5 ? [full, part] : [part, full];
        // Divisors stay away from zero.
        const { x: a, r: ra } = randomView(rng, sa, dtype, 0.5, 2);
        const { x: b, r: rb } = randomView(rng, sb, dtype, op.name === 'div' ? 0.5 : -2, 2);
        const expected = refZip(ra, rb, op.ref);
        const tol = op.bool ? { rtol: 0, atol: 0 } : TOLERANCE[dtype];
        assertArrayClose(op.run(a, b), expected, { ...tol, dtype: op.bool ? 'BOOL' : dtype, message: `case ${c}: ${op.name} ${dtype} [${sa}] with [${sb}] -> [${broadcastShape(sa, sb)}]` });
      });
    }
  });
});

interface ReduceProp {
  readonly name: string;
  readonly run: (x: NDArray, axes: number[] | undefined, keepDims: boolean) => NDArray;
  readonly ref: (v: number[]) => number;
  readonly lo: number;
  readonly hi: number;
}

const total = (v: number[]): number => v.reduce((s, x) => s + x, 0);

const REDUCE: readonly ReduceProp[] = [
  { name: 'sum', run: dl.sum, ref: total, lo: -1, hi: 1 },
  { name: 'mean', run: dl.mean, ref: (v) => total(v) / v.length, lo: -1, hi: 1 },
  { name: 'prod', run: dl.prod, ref: (v) => v.reduce((p, x) => p * x, 1), lo: 0.8, hi: 1.2 },
  { name: 'max', run: dl.max, ref: (v) => Math.max(...v), lo: -1, hi: 1 },
  { name: 'min', run: dl.min, ref: (v) => Math.min(...v), lo: -1, hi: 1 },
  { name: 'norm2', run: dl.norm2, ref: (v) => Math.sqrt(total(v.map((x) => x * x))), lo: -1, hi: 1 },
  { name: 'norm1', run: dl.norm1, ref: (v) => total(v.map(Math.abs)), lo: -1, hi: 1 },
  {
    name: 'variance', run: (x, a, k) => dl.variance(x, a, k), lo: -1, hi: 2,
    ref: (v) => {
      const m = total(v) / v.length;
      return total(v.map((x) => (x - m) ** 2)) / v.length;
    },
  },
  {
    name: 'logSumExp', run: dl.logSumExp, lo: -3, hi: 3,
    ref: (v) => {
      const m = Math.max(...v);
      return m + Math.log(total(v.map((x) => Math.exp(x - m))));
    },
  },
];

describe('property: reductions over random axes of random views', () => {
  it(`${CASES} seeded cases`, () => {
    const rng = new Rng(777);
    for (let c = 0; c < CASES; c++) {
      dl.scope(() => {
        const op = rng.pick(REDUCE);
        const dtype = rng.pick(['DOUBLE', 'FLOAT'] as const);
        const shape = randomShape(rng);
        const { x, r } = randomView(rng, shape, dtype, op.lo, op.hi);
        const all = rng.next() < 0.15;
        const axes = all ? undefined : shape.map((_, i) => i).filter(() => rng.next() < 0.5);
        // Negative spellings of the same axes, sometimes.
        const spelled = axes?.map((a) => (rng.next() < 0.3 ? a - shape.length : a));
        const keepDims = rng.next() < 0.5;
        const used = axes ?? shape.map((_, i) => i);
        const expected = refReduce(r, used, keepDims, op.ref);
        assertArrayClose(op.run(x, spelled, keepDims), expected, { ...TOLERANCE[dtype], dtype, message: `case ${c}: ${op.name} ${dtype} [${shape}] axes ${all ? 'all' : `[${spelled}]`} keepDims ${keepDims}` });
      });
    }
  });

  it(`${CASES} seeded argmax/argmin cases (first occurrence among ties)`, () => {
    const rng = new Rng(4242);
    for (let c = 0; c < CASES; c++) {
      dl.scope(() => {
        const shape = randomShape(rng);
        if (shape.length === 0) shape.push(rng.int(1, 5));
        const dtype = rng.pick(['DOUBLE', 'FLOAT', 'INT32'] as const);
        const { x, r } = randomView(rng, shape, dtype, -3, 3);
        // Integer-valued data so that ties are frequent.
        const xi = dtype === 'INT32' ? x : dl.floor(x);
        const ri: Ref = dtype === 'INT32' ? r : { shape: r.shape, data: r.data.map(Math.floor) };
        const axis = rng.int(0, shape.length);
        const keepDims = rng.next() < 0.5;
        const isMax = rng.next() < 0.5;
        const pick = (v: number[]): number => v.indexOf(isMax ? Math.max(...v) : Math.min(...v));
        const y = isMax ? dl.argmax(xi, axis, keepDims) : dl.argmin(xi, axis, keepDims);
        assertArrayClose(y, refReduce(ri, [axis], keepDims, pick), { rtol: 0, atol: 0, dtype: 'INT64', message: `case ${c}: ${isMax ? 'argmax' : 'argmin'} ${dtype} [${shape}] axis ${axis}` });
      });
    }
  });
});

/** A random factorisation of n into up to `parts` factors (1s included), as a shape. */
function randomFactorShape(rng: Rng, n: number, parts: number): number[] {
  const out: number[] = [];
  let rest = n;
  for (let i = 0; i < parts - 1; i++) {
    const divisors = Array.from({ length: rest }, (_, k) => k + 1).filter((d) => rest % d === 0);
    const d = rng.pick(divisors);
    out.push(d);
    rest /= d;
  }
  out.push(rest);
  return rng.shuffle(out);
}

describe('property: reshape, dup and views of random views', () => {
  it(`${CASES} seeded cases: values in row-major order, and writes through reshapes that are views`, () => {
    const rng = new Rng(99);
    for (let c = 0; c < CASES; c++) {
      dl.scope(() => {
        const shape = randomShape(rng);
        const { x, r } = randomView(rng, shape, 'DOUBLE', -1, 1);
        const n = r.data.length;
        const target = n === 0 ? [0] : randomFactorShape(rng, n, rng.int(1, 5));
        const msg = `case ${c}: [${shape}] -> [${target}]`;
        const y = x.reshape(target);
        assertArrayClose(y, { shape: target, data: r.data }, { rtol: 0, atol: 0, message: `reshape ${msg}` });
        assertArrayClose(x.dup(), r, { rtol: 0, atol: 0, message: `dup ${msg}` });
        // A write through the reshaped array shows in x exactly when the reshape was a view (x not a broadcast).
        if (n > 0 && !x.strides.some((s, i) => s === 0 && x.shape[i]! > 1)) {
          const before = x.dup();
          y.assign(dl.add(y, 10));
          const seen = x.toFlatArray();
          const shared = seen.every((v, i) => v === r.data[i]! + 10);
          const untouched = seen.every((v, i) => v === r.data[i]!);
          assert.ok(shared || untouched, `${msg}: a write through the reshape changed x partially`);
          assert.ok(!x.isContiguous || shared, `${msg}: reshape of a contiguous array must be a view`);
          x.assign(before);
        }
      });
    }
  });
});
