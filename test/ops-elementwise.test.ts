/**
 * Elementwise ops against float64 references computed here with plain JS: every unary op, every
 * binary op with broadcasting, on contiguous and non-contiguous inputs, in the four float types,
 * plus integer arithmetic, scalar operands, type promotion and in-place ops on views.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../src/index.js';
import type { DataType, NDArray } from '../src/index.js';
import {
  assertArrayClose, assertClose, layoutInput, LAYOUTS, makeRef, quantizer, randomRef, range, refBroadcast, refMap, refTake, refZip, refZip3,
  Rng, roundHalfEven, tolerance, toNd, type Ref,
} from './helpers.js';

const FLOATS: readonly DataType[] = ['DOUBLE', 'FLOAT', 'HALF', 'BFLOAT16'];

// ---- float64 references for the math the kernels do -----------------------------------------

/** erf by its Maclaurin series (|x| < 2.5) or from erfc's continued fraction; ~1e-15 absolute. */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax >= 2.5) return x > 0 ? 1 - erfc(ax) : erfc(ax) - 1;
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 100; n++) {
    term *= -x2 / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-18) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** erfc, accurate in the tail (continued fraction for x >= 2.5, evaluated bottom-up). */
function erfc(x: number): number {
  if (x < 2.5) return 1 - erf(x);
  let t = x;
  for (let k = 300; k >= 1; k--) t = x + k / 2 / t;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / t;
}

const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;
const sigmoidRef = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const softplusRef = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const geluRef = (x: number): number => (x >= 0 ? 0.5 * x * (1 + erf(x / Math.SQRT2)) : 0.5 * x * erfc(-x / Math.SQRT2));
const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
/** Floored modulo with the divisor's sign (JS % is the exact truncated remainder). */
const floorMod = (a: number, b: number): number => {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
};

type Sampler = (rng: Rng) => number;
const uniform = (lo: number, hi: number): Sampler => (g) => g.uniform(lo, hi);
/** Away from zero on both sides. */
const nonZero = (lo: number, hi: number): Sampler => (g) => (g.next() < 0.5 ? -1 : 1) * g.uniform(lo, hi);

interface UnaryCase {
  readonly name: string;
  readonly run: (x: NDArray) => NDArray;
  readonly ref: (v: number) => number;
  readonly sample: Sampler;
}

const UNARY_CASES: readonly UnaryCase[] = [
  { name: 'neg', run: dl.neg, ref: (v) => -v, sample: uniform(-3, 3) },
  { name: 'abs', run: dl.abs, ref: Math.abs, sample: uniform(-3, 3) },
  { name: 'sign', run: dl.sign, ref: Math.sign, sample: (g) => (g.next() < 0.2 ? 0 : g.uniform(-3, 3)) },
  { name: 'exp', run: dl.exp, ref: Math.exp, sample: uniform(-3, 3) },
  { name: 'log', run: dl.log, ref: Math.log, sample: uniform(0.05, 5) },
  { name: 'log1p', run: dl.log1p, ref: Math.log1p, sample: uniform(-0.9, 3) },
  { name: 'expm1', run: dl.expm1, ref: Math.expm1, sample: uniform(-2, 2) },
  { name: 'sqrt', run: dl.sqrt, ref: Math.sqrt, sample: uniform(0, 5) },
  { name: 'rsqrt', run: dl.rsqrt, ref: (v) => 1 / Math.sqrt(v), sample: uniform(0.05, 5) },
  { name: 'square', run: dl.square, ref: (v) => v * v, sample: uniform(-3, 3) },
  { name: 'reciprocal', run: dl.reciprocal, ref: (v) => 1 / v, sample: nonZero(0.2, 3) },
  { name: 'sin', run: dl.sin, ref: Math.sin, sample: uniform(-4, 4) },
  { name: 'cos', run: dl.cos, ref: Math.cos, sample: uniform(-4, 4) },
  { name: 'tanh', run: dl.tanh, ref: Math.tanh, sample: uniform(-4, 4) },
  { name: 'sigmoid', run: dl.sigmoid, ref: sigmoidRef, sample: uniform(-6, 6) },
  { name: 'relu', run: dl.relu, ref: (v) => Math.max(v, 0), sample: uniform(-3, 3) },
  { name: 'leakyRelu (default 0.01)', run: (x) => dl.leakyRelu(x), ref: (v) => (v > 0 ? v : 0.01 * v), sample: uniform(-3, 3) },
  { name: 'leakyRelu(0.2)', run: (x) => dl.leakyRelu(x, 0.2), ref: (v) => (v > 0 ? v : 0.2 * v), sample: uniform(-3, 3) },
  { name: 'elu (default 1)', run: (x) => dl.elu(x), ref: (v) => (v > 0 ? v : Math.expm1(v)), sample: uniform(-3, 3) },
  { name: 'elu(0.5)', run: (x) => dl.elu(x, 0.5), ref: (v) => (v > 0 ? v : 0.5 * Math.expm1(v)), sample: uniform(-3, 3) },
  { name: 'selu', run: dl.selu, ref: (v) => SELU_SCALE * (v > 0 ? v : SELU_ALPHA * Math.expm1(v)), sample: uniform(-3, 3) },
  { name: 'gelu (erf)', run: dl.gelu, ref: geluRef, sample: uniform(-5, 4) },
  { name: 'swish', run: dl.swish, ref: (v) => v * sigmoidRef(v), sample: uniform(-6, 6) },
  { name: 'softplus', run: dl.softplus, ref: softplusRef, sample: uniform(-8, 8) },
  { name: 'hardTanh (default -1, 1)', run: (x) => dl.hardTanh(x), ref: (v) => clamp(v, -1, 1), sample: uniform(-3, 3) },
  { name: 'hardTanh(-0.5, 0.75)', run: (x) => dl.hardTanh(x, -0.5, 0.75), ref: (v) => clamp(v, -0.5, 0.75), sample: uniform(-3, 3) },
  { name: 'hardSigmoid', run: dl.hardSigmoid, ref: (v) => clamp(0.2 * v + 0.5, 0, 1), sample: uniform(-4, 4) },
  { name: 'floor', run: dl.floor, ref: Math.floor, sample: uniform(-5, 5) },
  { name: 'ceil', run: dl.ceil, ref: Math.ceil, sample: uniform(-5, 5) },
  { name: 'round (half to even)', run: dl.round, ref: roundHalfEven, sample: (g) => (g.next() < 0.5 ? g.int(-8, 8) + 0.5 : g.uniform(-5, 5)) },
  { name: 'powScalar(2.5)', run: (x) => dl.powScalar(x, 2.5), ref: (v) => v ** 2.5, sample: uniform(0, 3) },
  { name: 'powScalar(3) of negatives', run: (x) => dl.powScalar(x, 3), ref: (v) => v ** 3, sample: uniform(-2, 2) },
  { name: 'powScalar(-1.5)', run: (x) => dl.powScalar(x, -1.5), ref: (v) => v ** -1.5, sample: uniform(0.2, 3) },
  { name: 'clip(-0.3, 0.6)', run: (x) => dl.clip(x, -0.3, 0.6), ref: (v) => clamp(v, -0.3, 0.6), sample: uniform(-1, 1) },
  { name: 'addScalar(1.25)', run: (x) => dl.addScalar(x, 1.25), ref: (v) => v + 1.25, sample: uniform(-3, 3) },
  { name: 'mulScalar(-1.5)', run: (x) => dl.unary('mulScalar', x, -1.5), ref: (v) => v * -1.5, sample: uniform(-3, 3) },
  { name: 'rsubScalar(2)', run: (x) => dl.unary('rsubScalar', x, 2), ref: (v) => 2 - v, sample: uniform(-3, 3) },
  { name: 'rdivScalar(3)', run: (x) => dl.unary('rdivScalar', x, 3), ref: (v) => 3 / v, sample: nonZero(0.25, 3) },
];

describe('unary ops', () => {
  for (const dtype of FLOATS) {
    describe(dtype, () => {
      for (const c of UNARY_CASES) {
        it(c.name, () => {
          dl.scope(() => {
            const rng = new Rng(c.name.length * 977 + dtype.length);
            for (const layout of LAYOUTS) {
              const { x, r } = layoutInput(rng, [3, 4, 5], dtype, layout, c.sample);
              const y = c.run(x);
              assertArrayClose(y, refMap(r, c.ref), { ...tolerance(dtype), dtype, message: `${c.name} ${dtype} ${layout}` });
            }
          });
        });
      }
    });
  }

  it('round: halves go to the even neighbour, exactly', () => {
    dl.scope(() => {
      const v = [-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 4.5, 0.49999997, 2.5000002, -2.5000002, 1e7 + 0.5];
      for (const dtype of ['DOUBLE', 'FLOAT'] as const) {
        const q = v.map(quantizer(dtype));
        assertClose(dl.round(dl.array(q, [q.length], { dtype })).toFlatArray(), q.map(roundHalfEven), { rtol: 0, atol: 0, message: dtype });
      }
    });
  });

  it('log1p and expm1 keep relative accuracy near zero', () => {
    dl.scope(() => {
      const v = [1e-10, -3e-9, 2e-6, -5e-5, 1e-3];
      for (const dtype of ['DOUBLE', 'FLOAT'] as const) {
        const q = v.map(quantizer(dtype));
        const x = dl.array(q, [q.length], { dtype });
        const rtol = dtype === 'DOUBLE' ? 1e-13 : 1e-6;
        assertClose(dl.log1p(x).toFlatArray(), q.map(Math.log1p), { rtol, message: `log1p ${dtype}` });
        assertClose(dl.expm1(x).toFlatArray(), q.map(Math.expm1), { rtol, message: `expm1 ${dtype}` });
      }
    });
  });

  it('sigmoid, tanh, softplus, exp stay finite and correct at extreme inputs', () => {
    dl.scope(() => {
      const v = [-100, -30, -12, 12, 30, 88, 100];
      for (const dtype of ['DOUBLE', 'FLOAT'] as const) {
        const q = v.map(quantizer(dtype));
        const x = dl.array(q, [q.length], { dtype });
        const tol = { ...tolerance(dtype), atol: 0 };
        assertClose(dl.sigmoid(x).toFlatArray(), q.map(sigmoidRef), { ...tol, atol: dtype === 'FLOAT' ? 1e-37 : 0, message: `sigmoid ${dtype}` });
        assertClose(dl.tanh(x).toFlatArray(), q.map(Math.tanh), { ...tol, message: `tanh ${dtype}` });
        assertClose(dl.softplus(x).toFlatArray(), q.map(softplusRef), { ...tol, atol: dtype === 'FLOAT' ? 1e-38 : 0, message: `softplus ${dtype}` });
        const e = dl.exp(x).toFlatArray();
        assertClose(e, q.map((a) => (dtype === 'FLOAT' ? Math.fround(Math.exp(a)) : Math.exp(a))), { ...tol, atol: dtype === 'FLOAT' ? 1e-38 : 0, message: `exp ${dtype}` });
      }
      // 100 overflows float32, 88 does not.
      const f = dl.exp(dl.array([88, 100], [2], { dtype: 'FLOAT' })).toFlatArray();
      assert.ok(Number.isFinite(f[0]) && f[1] === Infinity, `exp FLOAT [88, 100] gave ${f.join(', ')}`);
    });
  });

  it('math ops on integers compute in the default float type; others keep the integer type', () => {
    dl.scope(() => {
      const v = [-3, -1, 0, 2, 5];
      const x = dl.array(v, [5], { dtype: 'INT32' });
      const e = dl.exp(x);
      assert.equal(e.dtype, 'FLOAT');
      assertClose(e.toFlatArray(), v.map(Math.exp), tolerance('FLOAT'));
      const r = dl.relu(x);
      assert.equal(r.dtype, 'INT32');
      assert.deepEqual(r.toFlatArray(), v.map((a) => Math.max(a, 0)));
      const n = dl.neg(x);
      assert.equal(n.dtype, 'INT32');
      assert.deepEqual(n.toFlatArray(), v.map((a) => (a === 0 ? 0 : -a)));
      const a = dl.abs(dl.array(v, [5], { dtype: 'INT64' }));
      assert.equal(a.dtype, 'INT64');
      assert.deepEqual(a.toFlatArray(), v.map(Math.abs));
    });
  });

  it('not: BOOL result, true where the input is zero', () => {
    dl.scope(() => {
      for (const dtype of ['BOOL', 'FLOAT', 'INT32', 'DOUBLE'] as const) {
        const v = [0, 1, 0, 1, 1, 0];
        // Nonzero values of both signs, fractional for the float types (integer types truncate them, still nonzero).
        const src = dtype === 'BOOL' ? v : v.map((b, i) => b * (i + 1.5) * (i % 2 ? -1 : 1));
        const y = dl.not(dl.array(src, [2, 3], { dtype }));
        assert.equal(y.dtype, 'BOOL');
        assert.deepEqual(y.toArray(), [[true, false, true], [false, false, true]], dtype);
      }
      // Through a permuted view.
      const p = dl.not(dl.array([0, 1, 1, 0, 0, 0], [2, 3], { dtype: 'BOOL' }).transpose());
      assert.deepEqual(p.toArray(), [[true, true], [false, true], [false, true]]);
    });
  });

  it('clip rejects min > max', () => {
    dl.scope(() => {
      assert.throws(() => dl.clip(dl.zeros([2]), 1, 0), /clip: min \(1\) must not exceed max \(0\)/);
    });
  });
});

// ---- binary ops ---------------------------------------------------------------------------------

interface BinaryCase {
  readonly name: string;
  readonly run: (a: NDArray, b: NDArray) => NDArray;
  readonly ref: (x: number, y: number) => number;
  readonly sampleA: Sampler;
  readonly sampleB: Sampler;
  /** Comparisons and logical ops give BOOL. */
  readonly bool?: boolean;
}

/** Values with many ties, so that equality and ordering comparisons are exercised both ways. */
const tied: Sampler = (g) => g.pick([-1.5, -1, 0, 0.5, 1, 2]);
const bits: Sampler = (g) => g.pick([0, 0, 1, -2.5]);
const truth = (v: boolean): number => (v ? 1 : 0);

const BINARY_CASES: readonly BinaryCase[] = [
  { name: 'add', run: dl.add, ref: (x, y) => x + y, sampleA: uniform(-3, 3), sampleB: uniform(-3, 3) },
  { name: 'sub', run: dl.sub, ref: (x, y) => x - y, sampleA: uniform(-3, 3), sampleB: uniform(-3, 3) },
  { name: 'mul', run: dl.mul, ref: (x, y) => x * y, sampleA: uniform(-3, 3), sampleB: uniform(-3, 3) },
  { name: 'div', run: dl.div, ref: (x, y) => x / y, sampleA: uniform(-3, 3), sampleB: nonZero(0.25, 3) },
  { name: 'pow', run: dl.pow, ref: (x, y) => x ** y, sampleA: uniform(0.1, 3), sampleB: uniform(-2, 2) },
  { name: 'maximum', run: dl.maximum, ref: Math.max, sampleA: tied, sampleB: uniform(-2, 2) },
  { name: 'minimum', run: dl.minimum, ref: Math.min, sampleA: tied, sampleB: uniform(-2, 2) },
  { name: 'mod (floored)', run: dl.mod, ref: floorMod, sampleA: uniform(-5, 5), sampleB: nonZero(0.5, 3) },
  { name: 'squaredDifference', run: dl.squaredDifference, ref: (x, y) => (x - y) ** 2, sampleA: uniform(-3, 3), sampleB: uniform(-3, 3) },
  { name: 'eq', run: dl.eq, ref: (x, y) => truth(x === y), sampleA: tied, sampleB: tied, bool: true },
  { name: 'ne', run: dl.ne, ref: (x, y) => truth(x !== y), sampleA: tied, sampleB: tied, bool: true },
  { name: 'lt', run: dl.lt, ref: (x, y) => truth(x < y), sampleA: tied, sampleB: tied, bool: true },
  { name: 'le', run: dl.le, ref: (x, y) => truth(x <= y), sampleA: tied, sampleB: tied, bool: true },
  { name: 'gt', run: dl.gt, ref: (x, y) => truth(x > y), sampleA: tied, sampleB: tied, bool: true },
  { name: 'ge', run: dl.ge, ref: (x, y) => truth(x >= y), sampleA: tied, sampleB: tied, bool: true },
  { name: 'and', run: dl.and, ref: (x, y) => truth(x !== 0 && y !== 0), sampleA: bits, sampleB: bits, bool: true },
  { name: 'or', run: dl.or, ref: (x, y) => truth(x !== 0 || y !== 0), sampleA: bits, sampleB: bits, bool: true },
  { name: 'xor', run: dl.xor, ref: (x, y) => truth((x !== 0) !== (y !== 0)), sampleA: bits, sampleB: bits, bool: true },
];

/** Pairs of shapes that broadcast, from equal shapes to a 0-d operand. */
const SHAPE_PAIRS: readonly (readonly [number[], number[]])[] = [
  [[3, 4, 5], [3, 4, 5]],
  [[3, 1, 5], [4, 1]],
  [[5], [2, 3, 5]],
  [[], [2, 3]],
  [[2, 1], [1, 3]],
  [[4, 3, 1, 2], [3, 5, 1]],
];

describe('binary ops', () => {
  for (const dtype of FLOATS) {
    describe(dtype, () => {
      for (const c of BINARY_CASES) {
        it(c.name, () => {
          dl.scope(() => {
            const rng = new Rng(c.name.length * 31 + dtype.length * 7);
            const tol = c.bool ? { rtol: 0, atol: 0 } : tolerance(dtype);
            const outType = c.bool ? 'BOOL' : dtype;
            for (const [sa, sb] of SHAPE_PAIRS) {
              const { x: a, r: ra } = layoutInput(rng, sa, dtype, 'contiguous', c.sampleA);
              const { x: b, r: rb } = layoutInput(rng, sb, dtype, 'contiguous', c.sampleB);
              assertArrayClose(c.run(a, b), refZip(ra, rb, c.ref), { ...tol, dtype: outType, message: `${c.name} ${dtype} [${sa}] with [${sb}]` });
            }
            // Non-contiguous operands: every pair of layouts on a common shape.
            for (const la of LAYOUTS) {
              for (const lb of LAYOUTS) {
                const { x: a, r: ra } = layoutInput(rng, [4, 3, 5], dtype, la, c.sampleA);
                const { x: b, r: rb } = layoutInput(rng, [4, 3, 5], dtype, lb, c.sampleB);
                assertArrayClose(c.run(a, b), refZip(ra, rb, c.ref), { ...tol, dtype: outType, message: `${c.name} ${dtype} ${la} with ${lb}` });
              }
            }
          });
        });
      }
    });
  }

  it('logical ops on BOOL arrays', () => {
    dl.scope(() => {
      const a = dl.array([true, true, false, false]);
      const b = dl.array([true, false, true, false]);
      assert.equal(a.dtype, 'BOOL');
      assert.deepEqual(dl.and(a, b).toArray(), [true, false, false, false]);
      assert.deepEqual(dl.or(a, b).toArray(), [true, true, true, false]);
      assert.deepEqual(dl.xor(a, b).toArray(), [false, true, true, false]);
      assert.deepEqual(dl.eq(a, b).toArray(), [true, false, false, true]);
    });
  });

  it('pow of negative bases with integer exponents', () => {
    dl.scope(() => {
      for (const dtype of ['DOUBLE', 'FLOAT'] as const) {
        const a = dl.array([-2, -1.5, -3, 0], [4], { dtype });
        const b = dl.array([3, 2, 0, 2], [4], { dtype });
        assertClose(dl.pow(a, b).toFlatArray(), [-8, 2.25, 1, 0], { ...tolerance(dtype), message: dtype });
      }
    });
  });

  it('mod takes the divisor sign, as floored division does', () => {
    dl.scope(() => {
      const a = [7, -7, 7, -7, 6, -6, 5.5, -5.5, 0];
      const b = [3, 3, -3, -3, 3, -3, 2, 2, 4];
      for (const dtype of ['DOUBLE', 'FLOAT', 'INT32'] as const) {
        const av = dtype === 'INT32' ? a.map(Math.trunc) : a;
        const y = dl.mod(dl.array(av, [9], { dtype }), dl.array(b, [9], { dtype }));
        assert.equal(y.dtype, dtype);
        assertClose(y.toFlatArray(), av.map((v, i) => floorMod(v, b[i]!)), { rtol: 0, atol: 0, message: dtype });
      }
    });
  });

  it('NaN: comparisons are false except ne; max/min propagate NaN', () => {
    dl.scope(() => {
      const a = dl.array([NaN, 1, NaN], [3], { dtype: 'FLOAT' });
      const b = dl.array([1, NaN, NaN], [3], { dtype: 'FLOAT' });
      assert.deepEqual(dl.eq(a, b).toArray(), [false, false, false]);
      assert.deepEqual(dl.ne(a, b).toArray(), [true, true, true]);
      assert.deepEqual(dl.lt(a, b).toArray(), [false, false, false]);
      assert.deepEqual(dl.ge(a, b).toArray(), [false, false, false]);
      assert.ok(dl.maximum(a, b).toFlatArray().every(Number.isNaN), 'maximum with NaN');
      assert.ok(dl.minimum(a, b).toFlatArray().every(Number.isNaN), 'minimum with NaN');
    });
  });

  describe('where', () => {
    for (const dtype of FLOATS) {
      it(`${dtype}, broadcasting cond, a and b`, () => {
        dl.scope(() => {
          const rng = new Rng(5 + dtype.length);
          const triples: [number[], number[], number[]][] = [
            [[3, 4], [3, 4], [3, 4]],
            [[3, 1], [1, 4], [4]],
            [[2, 3, 4], [4], []],
          ];
          for (const [sc, sa, sb] of triples) {
            const rc = randomRef(rng, sc, 0, 1, (v) => (v < 0.5 ? 1 : 0));
            const cond = toNd(rc, 'BOOL');
            const { x: a, r: ra } = layoutInput(rng, sa, dtype, 'contiguous');
            const { x: b, r: rb } = layoutInput(rng, sb, dtype, 'contiguous');
            assertArrayClose(dl.where(cond, a, b), refZip3(rc, ra, rb, (c, x, y) => (c ? x : y)), { rtol: 0, atol: 0, dtype, message: `where [${sc}] [${sa}] [${sb}]` });
          }
          // Non-contiguous operands, a non-BOOL condition (nonzero is true), and number operands.
          const { x: a, r: ra } = layoutInput(rng, [4, 3, 5], dtype, 'permuted');
          const { x: b, r: rb } = layoutInput(rng, [4, 3, 5], dtype, 'strided');
          const { x: c, r: rc } = layoutInput(rng, [4, 3, 5], 'FLOAT', 'broadcast', (g) => g.pick([0, 0, 1, -2]));
          assertArrayClose(dl.where(c, a, b), refZip3(rc, ra, rb, (k, x, y) => (k !== 0 ? x : y)), { rtol: 0, atol: 0, dtype, message: 'where, views' });
          const q = quantizer(dtype);
          assertArrayClose(dl.where(c, a, 0.3), refZip(rc, ra, (k, x) => (k !== 0 ? x : q(0.3))), { rtol: 0, atol: 0, dtype, message: 'where, number b' });
          assertArrayClose(dl.where(c, -2, b), refZip(rc, rb, (k, y) => (k !== 0 ? -2 : y)), { rtol: 0, atol: 0, dtype, message: 'where, number a' });
          // Two numbers: cond gives the shape, the values take the default float type.
          assertArrayClose(dl.where(c, 1.5, -3), refMap(rc, (k) => (k !== 0 ? 1.5 : -3)), { rtol: 0, atol: 0, dtype: 'FLOAT', message: 'where, two numbers' });
        });
      });
    }
  });
});

// ---- integers, scalars, promotion --------------------------------------------------------------

describe('integer arithmetic', () => {
  it('INT32 add, sub, mul, maximum, minimum, comparisons with broadcasting', () => {
    dl.scope(() => {
      const rng = new Rng(77);
      const ra = randomRef(rng, [3, 4], -1000, 1000, Math.round);
      const rb = randomRef(rng, [4], -1000, 1000, Math.round);
      const a = toNd(ra, 'INT32');
      const b = toNd(rb, 'INT32');
      const cases: [string, NDArray, (x: number, y: number) => number, DataType][] = [
        ['add', dl.add(a, b), (x, y) => x + y, 'INT32'],
        ['sub', dl.sub(a, b), (x, y) => x - y, 'INT32'],
        ['mul', dl.mul(a, b), (x, y) => x * y, 'INT32'],
        ['maximum', dl.maximum(a, b), Math.max, 'INT32'],
        ['minimum', dl.minimum(a, b), Math.min, 'INT32'],
        ['lt', dl.lt(a, b), (x, y) => truth(x < y), 'BOOL'],
        ['eq', dl.eq(a, a), (x, y) => truth(x === y), 'BOOL'],
      ];
      for (const [name, y, f, dtype] of cases) {
        const rr = name === 'eq' ? refZip(ra, ra, f) : refZip(ra, rb, f);
        assertArrayClose(y, rr, { rtol: 0, atol: 0, dtype, message: `INT32 ${name}` });
      }
    });
  });

  it('INT32 exact division and large products stay exact', () => {
    dl.scope(() => {
      const a = dl.array([12, -12, 100000, 7, 46341], [5], { dtype: 'INT32' });
      const b = dl.array([4, 3, -1000, 7, 46340], [5], { dtype: 'INT32' });
      assert.deepEqual(dl.div(a.get(dl.interval(0, 4)), b.get(dl.interval(0, 4))).toFlatArray(), [3, -4, -100, 1]);
      const p = dl.mul(a, b);
      assert.equal(p.dtype, 'INT32');
      assert.equal(p.toFlatArray()[4], 46341 * 46340);
    });
  });

  it('INT32 with scalar operands: a.add(2), sub(2, a), mul by -3', () => {
    dl.scope(() => {
      const v = [-5, 0, 3, 1000];
      const a = dl.array(v, [4], { dtype: 'INT32' });
      const r1 = a.add(2);
      assert.equal(r1.dtype, 'INT32');
      assert.deepEqual(r1.toFlatArray(), v.map((x) => x + 2));
      const r2 = dl.sub(2, a);
      assert.equal(r2.dtype, 'INT32');
      assert.deepEqual(r2.toFlatArray(), v.map((x) => 2 - x));
      assert.deepEqual(a.mul(-3).toFlatArray(), v.map((x) => x * -3 + 0)); // + 0: integers have no -0
    });
  });
});

describe('scalar operands', () => {
  for (const dtype of FLOATS) {
    it(`${dtype}: a + s, s - a, s / a, a * s, a ** s`, () => {
      dl.scope(() => {
        const rng = new Rng(11);
        const q = quantizer(dtype);
        const r = randomRef(rng, [2, 3, 4], 0.25, 3, q);
        const a = toNd(r, dtype);
        const tol = { ...tolerance(dtype), dtype };
        assertArrayClose(a.add(2), refMap(r, (v) => v + 2), { ...tol, message: 'a.add(2)' });
        assertArrayClose(dl.sub(2, a), refMap(r, (v) => 2 - v), { ...tol, message: 'sub(2, a)' });
        assertArrayClose(dl.div(1.5, a), refMap(r, (v) => 1.5 / v), { ...tol, message: 'div(1.5, a)' });
        assertArrayClose(a.mul(q(0.1)), refMap(r, (v) => v * q(0.1)), { ...tol, message: 'a.mul(0.1)' });
        assertArrayClose(a.sub(q(0.3)), refMap(r, (v) => v - q(0.3)), { ...tol, message: 'a.sub(0.3)' });
        assertArrayClose(dl.pow(a, 2), refMap(r, (v) => v * v), { ...tol, message: 'pow(a, 2)' });
        assertArrayClose(dl.pow(2, a), refMap(r, (v) => 2 ** v), { ...tol, message: 'pow(2, a)' });
        assertArrayClose(dl.maximum(a, 1), refMap(r, (v) => Math.max(v, 1)), { ...tol, message: 'maximum(a, 1)' });
        assertArrayClose(dl.gt(a, 1), refMap(r, (v) => truth(v > 1)), { rtol: 0, atol: 0, dtype: 'BOOL', message: 'gt(a, 1)' });
      });
    });
  }

  it('a scalar on both sides is refused', () => {
    assert.throws(() => dl.add(1, 2), /add: at least one operand must be an NDArray/);
  });
});

describe('type promotion', () => {
  it('INT32 + FLOAT is FLOAT, HALF + BFLOAT16 is FLOAT, FLOAT + DOUBLE is DOUBLE, INT32 + 0.5 is the default float', () => {
    dl.scope(() => {
      const iv = [1, -2, 300];
      const fv = [0.25, 1.5, -0.125];
      const i = dl.array(iv, [3], { dtype: 'INT32' });
      const f = dl.array(fv, [3], { dtype: 'FLOAT' });
      const d = dl.array(fv, [3], { dtype: 'DOUBLE' });
      const h = dl.array([0.5, 1.25, 3], [3], { dtype: 'HALF' });
      const bf = dl.array([2, -0.75, 0.0625], [3], { dtype: 'BFLOAT16' });
      const cases: [NDArray, DataType, number[]][] = [
        [dl.add(i, f), 'FLOAT', iv.map((x, k) => x + fv[k]!)],
        [dl.mul(f, i), 'FLOAT', iv.map((x, k) => x * fv[k]!)],
        [dl.add(h, bf), 'FLOAT', [2.5, 0.5, 3.0625]],
        [dl.sub(bf, h), 'FLOAT', [1.5, -2, -2.9375]],
        [dl.add(f, d), 'DOUBLE', fv.map((x) => 2 * x)],
        [dl.add(i, 0.5), 'FLOAT', iv.map((x) => x + 0.5)],
        [dl.add(i, 2), 'INT32', iv.map((x) => x + 2)],
        [dl.add(h, i), 'HALF', [1.5, -0.75, 303]],
        [dl.add(dl.array([1, 2, 3], [3], { dtype: 'UINT8' }), i), 'INT32', iv.map((x, k) => x + k + 1)],
        [dl.add(dl.array([true, false, true]), i), 'INT32', [2, -2, 301]],
      ];
      cases.forEach(([y, dtype, expected], k) => assertArrayClose(y, makeRef([3], expected), { rtol: 0, atol: 0, dtype, message: `promotion case ${k}` }));
    });
  });
});

// ---- in-place ops and assign -------------------------------------------------------------------

describe('in place', () => {
  const OPS = [
    ['addi', (t: NDArray, o: NDArray | number) => t.addi(o), (x: number, y: number) => x + y],
    ['subi', (t: NDArray, o: NDArray | number) => t.subi(o), (x: number, y: number) => x - y],
    ['muli', (t: NDArray, o: NDArray | number) => t.muli(o), (x: number, y: number) => x * y],
    ['divi', (t: NDArray, o: NDArray | number) => t.divi(o), (x: number, y: number) => x / y],
  ] as const;

  for (const dtype of ['DOUBLE', 'FLOAT', 'HALF'] as const) {
    for (const [name, run, f] of OPS) {
      it(`${name} ${dtype}: whole arrays, strided and permuted views, broadcast and scalar operands`, () => {
        dl.scope(() => {
          const rng = new Rng(name.length + dtype.length);
          const q = quantizer(dtype);
          const tol = tolerance(dtype);
          const sample: (g: Rng) => number = (g) => g.uniform(0.5, 2);
          // Whole array, same-shape operand.
          const r0 = randomRef(rng, [3, 4], 0.5, 2, q);
          const r1 = randomRef(rng, [3, 4], 0.5, 2, q);
          const t0 = toNd(r0, dtype);
          const back = run(t0, toNd(r1, dtype));
          assert.equal(back, t0, `${name} returns its target`);
          assertArrayClose(t0, refZip(r0, r1, f), { ...tol, message: `${name} whole` });
          // A strided view of a base: only the viewed elements change.
          const base = randomRef(rng, [6, 8], 0.5, 2, q);
          const b = toNd(base, dtype);
          const view = b.get(dl.interval(1, 6, 2), dl.interval(0, 8, 3));
          const row = randomRef(rng, [3], 0.5, 2, q);
          run(view, toNd(row, dtype));
          const rows = range(1, 6, 2);
          const cols = range(0, 8, 3);
          const expected = refZip(refTake(base, [rows, cols]), row, f);
          const full = Float64Array.from(base.data);
          rows.forEach((i, a) => cols.forEach((j, c) => (full[i * 8 + j] = expected.data[a * 3 + c]!)));
          assertArrayClose(b, makeRef([6, 8], full), { ...tol, message: `${name} on a strided view, seen through the base` });
          // A permuted view with a scalar operand.
          const pr = randomRef(rng, [2, 3, 4], 0.5, 2, q);
          const p = toNd(pr, dtype);
          run(p.permute(2, 0, 1), 1.5);
          assertArrayClose(p, refMap(pr, (v) => f(v, 1.5)), { ...tol, message: `${name} on a permuted view` });
          // The operand itself a view (permuted), and a different dtype (cast to the target's).
          const { x: o, r: ro } = layoutInput(rng, [4, 3], 'DOUBLE', 'permuted', sample);
          const tr = randomRef(rng, [4, 3], 0.5, 2, q);
          const t = toNd(tr, dtype);
          run(t, o);
          assertArrayClose(t, refZip(tr, refMap(ro, q), f), { ...tol, dtype, message: `${name} with a DOUBLE permuted operand` });
        });
      });
    }
  }

  it('x.addi(x) doubles in place (exact overlap)', () => {
    dl.scope(() => {
      const x = dl.array([1, -2, 3.5], [3], { dtype: 'FLOAT' });
      x.addi(x);
      assert.deepEqual(x.toFlatArray(), [2, -4, 7]);
    });
  });

  it('INT32 addi and muli', () => {
    dl.scope(() => {
      const x = dl.array([[1, 2, 3], [4, 5, 6]], { dtype: 'INT32' });
      x.addi(dl.array([10, 20, 30], [3], { dtype: 'INT32' })).muli(2);
      assert.deepEqual(x.toArray(), [[22, 44, 66], [28, 50, 72]]);
    });
  });

  it('in place refuses an operand that would grow the target', () => {
    dl.scope(() => {
      const x = dl.zeros([3, 1]);
      assert.throws(() => x.addi(dl.zeros([3, 4])), /add in place: FLOAT\[3, 4\] does not broadcast to the target's shape FLOAT\[3, 1\]/);
      assert.deepEqual(x.toFlatArray(), [0, 0, 0]);
    });
  });

  it('assign on views: numbers, broadcast rows, casts; the rest of the base untouched', () => {
    dl.scope(() => {
      for (const dtype of FLOATS) {
        const rng = new Rng(3);
        const q = quantizer(dtype);
        const base = randomRef(rng, [5, 6], -1, 1, q);
        const b = toNd(base, dtype);
        const expected = Float64Array.from(base.data);
        // A number into a stepped block.
        b.get(dl.interval(0, 5, 2), dl.interval(1, 6, 2)).assign(7);
        for (const i of range(0, 5, 2)) for (const j of range(1, 6, 2)) expected[i * 6 + j] = 7;
        assertArrayClose(b, makeRef([5, 6], expected), { rtol: 0, atol: 0, message: `${dtype} assign number` });
        // A DOUBLE row broadcast into a column block of a transposed view (cast on the way).
        const rowVals = [0.1, -0.2, 0.3, 0.4, -0.5];
        b.transpose().get(dl.interval(4, 6)).assign(dl.array(rowVals, [5], { dtype: 'DOUBLE' }));
        for (let i = 0; i < 5; i++) for (const j of [4, 5]) expected[i * 6 + j] = q(rowVals[i]!);
        assertArrayClose(b, makeRef([5, 6], expected), { rtol: 0, atol: 0, message: `${dtype} assign broadcast row through a transposed view` });
        // Assign from a non-contiguous source.
        const src = randomRef(rng, [3, 2], -1, 1, q);
        b.get(dl.interval(1, 3), dl.interval(0, 3)).assign(toNd(src, dtype).transpose());
        for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) expected[(1 + i) * 6 + j] = src.data[j * 2 + i]!;
        assertArrayClose(b, makeRef([5, 6], expected), { rtol: 0, atol: 0, message: `${dtype} assign a transposed source` });
      }
    });
  });

  it('assign broadcasting a smaller array, and refusing a larger one', () => {
    dl.scope(() => {
      const t = dl.zeros([2, 3], { dtype: 'DOUBLE' });
      t.assign(dl.array([[1], [2]], { dtype: 'DOUBLE' }));
      assert.deepEqual(t.toArray(), [[1, 1, 1], [2, 2, 2]]);
      assert.throws(() => t.assign(dl.zeros([3, 3])), /assign/);
      assert.deepEqual(t.toArray(), [[1, 1, 1], [2, 2, 2]]);
    });
  });

  it('broadcast-view inputs equal their materialised copies', () => {
    dl.scope(() => {
      const r = randomRef(new Rng(8), [3, 1], -1, 1, Math.fround);
      const x = toNd(r, 'FLOAT').broadcastTo([2, 3, 4]);
      assertArrayClose(dl.exp(x), refMap(refBroadcast(r, [2, 3, 4]), Math.exp), tolerance('FLOAT'));
    });
  });
});

// ---- sizes that reach the SIMD tails and the threaded paths -------------------------------------

describe('odd and large sizes', () => {
  const SIZES = [1, 3, 7, 8, 15, 17, 31, 33, 63, 65, 1023, 4099, 100003];
  for (const dtype of FLOATS) {
    it(`${dtype}: unary, binary (with a broadcast row) and comparisons on ${SIZES.length} lengths up to 100003`, () => {
      dl.scope(() => {
        const rng = new Rng(1000 + dtype.length);
        const q = quantizer(dtype);
        const tol = tolerance(dtype);
        for (const n of SIZES) {
          const ra = randomRef(rng, [n], -3, 3, q);
          const rb = randomRef(rng, [n], -3, 3, q);
          const a = toNd(ra, dtype);
          const b = toNd(rb, dtype);
          const msg = `${dtype} n=${n}`;
          assertArrayClose(dl.exp(a), refMap(ra, Math.exp), { ...tol, message: `exp ${msg}` });
          assertArrayClose(dl.sigmoid(a), refMap(ra, sigmoidRef), { ...tol, message: `sigmoid ${msg}` });
          assertArrayClose(dl.tanh(a), refMap(ra, Math.tanh), { ...tol, message: `tanh ${msg}` });
          assertArrayClose(dl.round(a), refMap(ra, roundHalfEven), { ...tol, message: `round ${msg}` });
          assertArrayClose(dl.add(a, b), refZip(ra, rb, (x, y) => x + y), { ...tol, message: `add ${msg}` });
          assertArrayClose(dl.mul(a, b), refZip(ra, rb, (x, y) => x * y), { ...tol, message: `mul ${msg}` });
          assertArrayClose(dl.gt(a, b), refZip(ra, rb, (x, y) => truth(x > y)), { rtol: 0, atol: 0, dtype: 'BOOL', message: `gt ${msg}` });
          assertArrayClose(dl.maximum(a, 0), refMap(ra, (x) => Math.max(x, 0)), { ...tol, message: `maximum ${msg}` });
        }
        // A large 2-D case with a broadcast row, a transposed operand and a strided one.
        const { x: big, r: rbig } = layoutInput(rng, [301, 400], dtype, 'permuted', uniform(-2, 2));
        const { x: row, r: rrow } = layoutInput(rng, [400], dtype, 'strided', uniform(-2, 2));
        assertArrayClose(dl.sub(big, row), refZip(rbig, rrow, (x, y) => x - y), { ...tol, message: `${dtype} [301, 400] permuted - strided row` });
        assertArrayClose(dl.gelu(big), refMap(rbig, geluRef), { ...tol, message: `${dtype} gelu [301, 400] permuted` });
        // In place on a large strided view.
        const base = randomRef(rng, [200, 300], -1, 1, q);
        const t = toNd(base, dtype);
        t.get(dl.allIndices(), dl.interval(1, 300, 2)).muli(-2);
        const expected = refFromIndex(base, (v, i) => (i % 300) % 2 === 1 ? -2 * v : v);
        assertArrayClose(t, expected, { ...tol, message: `${dtype} muli on every other column of [200, 300]` });
      });
    });
  }

  // Products stay below 2^31: overflow behaviour (the kernels saturate) is not what this checks.
  it('INT32 on large and odd lengths', () => {
    dl.scope(() => {
      const rng = new Rng(55);
      for (const n of SIZES) {
        const ra = randomRef(rng, [n], -40000, 40000, Math.round);
        const rb = randomRef(rng, [n], -40000, 40000, Math.round);
        const a = toNd(ra, 'INT32');
        const b = toNd(rb, 'INT32');
        assertArrayClose(dl.add(a, b), refZip(ra, rb, (x, y) => x + y), { rtol: 0, atol: 0, dtype: 'INT32', message: `add n=${n}` });
        assertArrayClose(dl.mul(a, b), refZip(ra, rb, (x, y) => x * y), { rtol: 0, atol: 0, dtype: 'INT32', message: `mul n=${n}` });
        assertArrayClose(dl.maximum(a, b), refZip(ra, rb, Math.max), { rtol: 0, atol: 0, dtype: 'INT32', message: `maximum n=${n}` });
      }
    });
  });
});

/** f of each value and its flat index. */
function refFromIndex(r: Ref, f: (v: number, i: number) => number): Ref {
  return { shape: [...r.shape], data: r.data.map(f) };
}
