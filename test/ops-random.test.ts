import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bernoulli, DEFAULT_SEED, dropout, dropoutMask, getSeed, rand, randLike, randn, randnLike, setSeed, truncatedNormal, zeros, type NDArray,
} from '../src/index.js';
import { philoxUniformPair } from '../src/random/philox.js';
import { assertClose, flat, LAYOUTS, randomRef, toNd } from './opsb-util.js';

// Expected values come from the TypeScript Philox reference plus the transforms of native/cpu/API.md,
// computed here in float64: uniform p1 + (p2 - p1) u1, normal p1 + p2 sqrt(-2 ln u1) cos(2 pi u2).
// Uniform and Bernoulli values must match bit for bit. Normal values go through log and cos, where
// the C library and V8 may round differently in the last place, so they must match within a few ulps
// (and mostly exactly: a different formula or counter could not get within that).

const split64 = (seed: bigint): [number, number] => [Number(seed & 0xffffffffn), Number((seed >> 32n) & 0xffffffffn)];

function refUniform(seed: bigint, stream: number, n: number, low: number, high: number): number[] {
  const [lo, hi] = split64(seed);
  return Array.from({ length: n }, (_, i) => low + (high - low) * philoxUniformPair(lo, hi, stream, i, 0)[0]);
}

const boxMuller = (u1: number, u2: number): number => Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);

function refNormal(seed: bigint, stream: number, n: number, mean: number, std: number, truncated = false): number[] {
  const [lo, hi] = split64(seed);
  return Array.from({ length: n }, (_, i) => {
    let attempt = 0;
    let z = boxMuller(...philoxUniformPair(lo, hi, stream, i, attempt));
    while (truncated && Math.abs(z) > 2) z = boxMuller(...philoxUniformPair(lo, hi, stream, i, ++attempt));
    return mean + std * z;
  });
}

/**
 * Within a few float64 roundings of the expected mean + std z (the scale is |mean| + |std z|, as the
 * last-place error of z is amplified when mean + std z cancels), and bit-identical for most elements.
 */
function assertNearlyExact(actual: readonly number[], expected: readonly number[], mean: number, what: string, ulps = 4): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => {
    const tol = ulps * Number.EPSILON * (Math.abs(mean) + Math.abs(e - mean));
    assert.ok(Math.abs(actual[i]! - e) <= tol, `${what}: element ${i} is ${actual[i]}, expected ${e} (tolerance ${tol})`);
  });
  const same = actual.filter((v, i) => v === expected[i]).length;
  assert.ok(same >= 0.8 * expected.length, `${what}: only ${same} of ${expected.length} values are bit-identical`);
}

function moments(v: readonly number[]): { mean: number; variance: number } {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
  return { mean, variance };
}

/** |actual - expected| within k standard errors. */
function assertWithin(actual: number, expected: number, stdError: number, what: string, k = 5): void {
  assert.ok(Math.abs(actual - expected) <= k * stdError, `${what}: ${actual}, expected ${expected} +- ${k} x ${stdError}`);
}

const N = 100_000;

// Runs first in this process, before anything calls setSeed.
test('the default seed is fixed, and the first call uses stream 0 of it', () => {
  assert.equal(getSeed(), DEFAULT_SEED);
  const a = rand([4, 5], { dtype: 'DOUBLE' });
  assert.deepEqual(flat(a), refUniform(DEFAULT_SEED, 0, 20, 0, 1));
});

test('rand/randn/truncatedNormal match the Philox reference in DOUBLE (uniform bit for bit, normal to a few ulps); consecutive calls take consecutive streams', () => {
  const seed = 0x0123456789abcdefn;
  setSeed(seed);
  assert.equal(getSeed(), seed);
  const u = rand([3, 5, 7], { dtype: 'DOUBLE' });
  assert.deepEqual(flat(u), refUniform(seed, 0, 105, 0, 1));
  const u2 = rand([64], { dtype: 'DOUBLE', low: -3, high: 5 });
  assert.deepEqual(flat(u2), refUniform(seed, 1, 64, -3, 5));
  const z = randn([9, 11], { dtype: 'DOUBLE' });
  assertNearlyExact(flat(z), refNormal(seed, 2, 99, 0, 1), 0, 'randn');
  const z2 = randn([50], { dtype: 'DOUBLE', mean: 2, std: 0.5 });
  assertNearlyExact(flat(z2), refNormal(seed, 3, 50, 2, 0.5), 2, 'randn mean 2 std 0.5');
  const t = truncatedNormal([500], { dtype: 'DOUBLE', mean: -1, std: 3 });
  assertNearlyExact(flat(t), refNormal(seed, 4, 500, -1, 3, true), -1, 'truncatedNormal');
});

test('FLOAT draws are the DOUBLE values rounded', () => {
  setSeed(99);
  const u = rand([257], { dtype: 'FLOAT', low: 1, high: 2 });
  assert.equal(u.dtype, 'FLOAT');
  assert.deepEqual(flat(u), refUniform(99n, 0, 257, 1, 2).map(Math.fround));
  const z = randn([100]);
  assert.equal(z.dtype, 'FLOAT');
  assertClose(flat(z), refNormal(99n, 1, 100, 0, 1).map(Math.fround), 1e-30, 2 ** -23, 'randn FLOAT');
});

test('same seed gives the same sequence; different streams differ; a per-call seed leaves the global sequence alone', () => {
  setSeed(42);
  const a = flat(rand([1000]));
  const b = flat(rand([1000]));
  setSeed(42);
  assert.deepEqual(flat(rand([1000])), a);
  assert.deepEqual(flat(rand([1000])), b);
  assert.ok(a.filter((v, i) => v === b[i]).length < 5, 'consecutive calls differ');
  setSeed(42);
  const c1 = flat(rand([1000], { seed: 7 }));
  const c2 = flat(rand([1000], { seed: 7n }));
  assert.deepEqual(c1, c2);
  assert.deepEqual(c1, refUniform(7n, 0, 1000, 0, 1).map(Math.fround));
  assert.deepEqual(flat(rand([1000])), a, 'the per-call seed did not advance the global stream');
  setSeed(-1);
  assert.equal(getSeed(), 0xffffffffffffffffn);
  assert.deepEqual(flat(rand([10], { dtype: 'DOUBLE' })), refUniform(0xffffffffffffffffn, 0, 10, 0, 1));
});

test('rand moments and range', () => {
  setSeed(1);
  const v = flat(rand([N], { dtype: 'DOUBLE', low: -2, high: 6 }));
  assert.ok(v.every((x) => x >= -2 && x < 6));
  const m = moments(v);
  assertWithin(m.mean, 2, Math.sqrt(64 / 12 / N), 'mean');
  // Var of a uniform sample variance: (m4 - s^4) / n with m4 = 8^4 / 80.
  assertWithin(m.variance, 64 / 12, Math.sqrt((4096 / 80 - (64 / 12) ** 2) / N), 'variance');
});

test('randn moments and the one-sigma fraction', () => {
  setSeed(2);
  const v = flat(randn([N], { dtype: 'DOUBLE', mean: 3, std: 2 }));
  const m = moments(v);
  assertWithin(m.mean, 3, 2 / Math.sqrt(N), 'mean');
  assertWithin(m.variance, 4, 4 * Math.sqrt(2 / N), 'variance');
  const inside = v.filter((x) => Math.abs(x - 3) < 2).length / N;
  assertWithin(inside, 0.682689492137086, Math.sqrt(0.6827 * 0.3173 / N), 'fraction within 1 std');
});

test('truncatedNormal stays within 2 std with the truncated variance', () => {
  setSeed(3);
  const v = flat(truncatedNormal([N], { dtype: 'DOUBLE', mean: 1, std: 0.5 }));
  assert.ok(v.every((x) => Math.abs(x - 1) <= 1), 'all within 2 std');
  const m = moments(v);
  // Standard normal truncated to [-2, 2]: variance 1 - 2 * 2 phi(2) / (Phi(2) - Phi(-2)).
  const phi2 = Math.exp(-2) / Math.sqrt(2 * Math.PI);
  const truncVar = 1 - (4 * phi2) / 0.9544997361036416;
  assertWithin(m.mean, 1, 0.5 * Math.sqrt(truncVar / N), 'mean');
  assertWithin(m.variance, 0.25 * truncVar, 0.25 * truncVar * Math.sqrt(2 / N) * 1.5, 'variance');
});

test('bernoulli: 0/1 values with frequency p, any dtype', () => {
  setSeed(4);
  for (const p of [0, 0.1, 0.5, 1]) {
    const v = flat(bernoulli([N], p, { dtype: 'DOUBLE' }));
    assert.ok(v.every((x) => x === 0 || x === 1));
    assertWithin(moments(v).mean, p, Math.sqrt((p * (1 - p)) / N) + 1e-12, `mean for p ${p}`);
  }
  const b = bernoulli([3, 4], 0.3, { dtype: 'BOOL', seed: 11 });
  assert.equal(b.dtype, 'BOOL');
  const [lo, hi] = split64(11n);
  assert.deepEqual(flat(b), Array.from({ length: 12 }, (_, i) => (philoxUniformPair(lo, hi, 0, i, 0)[0] < 0.3 ? 1 : 0)));
  assert.equal(bernoulli([5], 0.5, { dtype: 'INT32' }).dtype, 'INT32');
});

test('randLike / randnLike follow the array', () => {
  const x = zeros([3, 4], { dtype: 'DOUBLE' });
  const u = randLike(x, { low: 5, high: 6 });
  assert.equal(u.dtype, 'DOUBLE');
  assert.deepEqual([...u.shape], [3, 4]);
  assert.ok(flat(u).every((v) => v >= 5 && v < 6));
  assert.equal(randnLike(zeros([2], { dtype: 'INT32' })).dtype, 'FLOAT');
});

test('dropoutMask: values 0 or 1/(1-p), the keep decision from Philox', () => {
  const p = 0.3;
  const m = dropoutMask([4000], p, { dtype: 'DOUBLE', seed: 5 });
  const [lo, hi] = split64(5n);
  assert.deepEqual(flat(m), Array.from({ length: 4000 }, (_, i) => (philoxUniformPair(lo, hi, 0, i, 0)[0] < 1 - p ? 1 / (1 - p) : 0)));
  setSeed(6);
  const v = flat(dropoutMask([N], 0.25, { dtype: 'DOUBLE' }));
  assertWithin(v.filter((x) => x === 0).length / N, 0.25, Math.sqrt(0.25 * 0.75 / N), 'drop fraction');
  assertWithin(moments(v).mean, 1, Math.sqrt(1 / 3 / N), 'mean kept at 1');
  assert.deepEqual(flat(dropoutMask([8], 0, { dtype: 'DOUBLE' })), new Array<number>(8).fill(1));
});

for (const layout of LAYOUTS) {
  test(`dropout (${layout}): x times the mask, gradient times the same mask`, () => {
    const xr = randomRef([6, 7], 8);
    const x: NDArray = toNd(xr, layout).requireGrad();
    const y = dropout(x, 0.4, { seed: 9 });
    const mask = flat(dropoutMask([6, 7], 0.4, { dtype: 'DOUBLE', seed: 9 }));
    assert.ok(mask.some((v) => v === 0) && mask.some((v) => v !== 0));
    assertClose(flat(y), Array.from(xr.data, (v, i) => v * mask[i]!), 0, 0, 'dropout');
    const G = randomRef([6, 7], 10);
    y.backward(toNd(G, layout));
    assertClose(flat(x.grad!), Array.from(G.data, (v, i) => v * mask[i]!), 0, 0, 'dropout grad');
  });
}

test('dropout with p = 0 is the identity; global draws differ between calls', () => {
  const x = toNd(randomRef([100], 12));
  assert.equal(dropout(x, 0), x);
  setSeed(13);
  const a = flat(dropout(x, 0.5));
  const b = flat(dropout(x, 0.5));
  assert.notDeepEqual(a, b);
});

test('random ops validate their arguments', () => {
  assert.throws(() => rand([2], { low: 1, high: 1 }), /rand: low \(1\) must be less than high \(1\)/);
  assert.throws(() => rand([2], { high: Infinity }), /rand: high must be a finite number/);
  assert.throws(() => rand([2, -1]), /rand: invalid shape \[2, -1\]/);
  assert.throws(() => rand([2.5]), /rand: invalid shape/);
  assert.throws(() => rand([2], { dtype: 'INT32' }), /rand: expected a floating dtype/);
  assert.throws(() => randn([2], { std: 0 }), /randn: std must be a finite number > 0, got 0/);
  assert.throws(() => randn([2], { std: -1 }), /randn: std must be/);
  assert.throws(() => truncatedNormal([2], { std: NaN }), /truncatedNormal: std must be/);
  assert.throws(() => bernoulli([2], 1.5), /bernoulli: p must be in \[0, 1\], got 1.5/);
  assert.throws(() => bernoulli([2], -0.1), /bernoulli: p must be in \[0, 1\]/);
  assert.throws(() => dropoutMask([2], 1), /dropoutMask: the drop probability p must be in \[0, 1\), got 1/);
  assert.throws(() => dropout(zeros([2]), -0.5), /dropout: the drop probability p must be in \[0, 1\)/);
  assert.throws(() => dropout(zeros([2], { dtype: 'INT32' }), 0.5), /dropout: expected a floating array/);
  assert.throws(() => setSeed(1.5), /setSeed: the seed must be a safe integer or a bigint/);
  assert.throws(() => rand([2], { seed: 2 ** 60 }), /rand: the seed must be a safe integer/);
});
