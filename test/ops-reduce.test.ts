/**
 * Reductions, softmax and matrix products against float64 references computed here with plain JS
 * loops: every subset of axes of a rank-3 array, kept or dropped, contiguous and permuted inputs,
 * in the four float types; NaN and empty-reduction rules; matmul and gemm in their many shapes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../src/index.js';
import type { DataType, NDArray } from '../src/index.js';
import {
  assertArrayClose, assertClose, axisSubsets, layoutInput, makeRef, quantizer, randomRef, refMatmul, refPermute, refReduce, refTake, refTranspose,
  refZip, Rng, tolerance, toNd, range, type Layout, type Ref, type Tolerance,
} from './helpers.js';

const FLOATS: readonly DataType[] = ['DOUBLE', 'FLOAT', 'HALF', 'BFLOAT16'];
const SHAPE = [3, 4, 5] as const;

// ---- reference reductions over one group of values -----------------------------------------------

const total = (v: number[]): number => v.reduce((s, x) => s + x, 0);
const meanOf = (v: number[]): number => total(v) / v.length;
const varianceOf = (ddof: number) => (v: number[]): number => {
  const m = meanOf(v);
  return total(v.map((x) => (x - m) ** 2)) / (v.length - ddof);
};
const lse = (v: number[]): number => {
  const m = v.reduce((a, x) => (x > a ? x : a), -Infinity); // not Math.max(...v): large inputs overflow the stack
  return m + Math.log(total(v.map((x) => Math.exp(x - m))));
};

/** Tolerance for a result accumulated over a few dozen values, then rounded once. */
function reduceTolerance(dtype: DataType): Tolerance {
  switch (dtype) {
    case 'DOUBLE': return { rtol: 1e-12, atol: 1e-12 };
    case 'FLOAT': return { rtol: 1e-5, atol: 1e-5 };
    default: return tolerance(dtype);
  }
}

interface ReduceCase {
  readonly name: string;
  readonly run: (x: NDArray, axes: number[] | undefined, keepDims: boolean) => NDArray;
  readonly ref: (values: number[]) => number;
  readonly lo: number;
  readonly hi: number;
  /** Only meaningful when each group has more than one value (ddof 1). */
  readonly needsTwo?: boolean;
}

const REDUCE_CASES: readonly ReduceCase[] = [
  { name: 'sum', run: dl.sum, ref: total, lo: -1, hi: 1 },
  { name: 'mean', run: dl.mean, ref: meanOf, lo: -1, hi: 1 },
  { name: 'prod', run: dl.prod, ref: (v) => v.reduce((p, x) => p * x, 1), lo: 0.9, hi: 1.1 },
  { name: 'max', run: dl.max, ref: (v) => Math.max(...v), lo: -1, hi: 1 },
  { name: 'min', run: dl.min, ref: (v) => Math.min(...v), lo: -1, hi: 1 },
  { name: 'variance ddof 0', run: (x, a, k) => dl.variance(x, a, k, 0), ref: varianceOf(0), lo: -1, hi: 2 },
  { name: 'variance ddof 1', run: (x, a, k) => dl.variance(x, a, k, 1), ref: varianceOf(1), lo: -1, hi: 2, needsTwo: true },
  { name: 'std ddof 0', run: (x, a, k) => dl.std(x, a, k, 0), ref: (v) => Math.sqrt(varianceOf(0)(v)), lo: -1, hi: 2 },
  { name: 'std ddof 1', run: (x, a, k) => dl.std(x, a, k, 1), ref: (v) => Math.sqrt(varianceOf(1)(v)), lo: -1, hi: 2, needsTwo: true },
  { name: 'norm1', run: dl.norm1, ref: (v) => total(v.map(Math.abs)), lo: -1, hi: 1 },
  { name: 'norm2', run: dl.norm2, ref: (v) => Math.sqrt(total(v.map((x) => x * x))), lo: -1, hi: 1 },
  { name: 'logSumExp', run: dl.logSumExp, ref: lse, lo: -3, hi: 3 },
];

const REDUCE_LAYOUTS: readonly Layout[] = ['contiguous', 'permuted', 'strided'];

describe('reductions over every subset of axes', () => {
  for (const dtype of FLOATS) {
    describe(dtype, () => {
      for (const c of REDUCE_CASES) {
        it(c.name, () => {
          dl.scope(() => {
            const rng = new Rng(c.name.length * 13 + dtype.length);
            const tol = reduceTolerance(dtype);
            for (const layout of REDUCE_LAYOUTS) {
              const { x, r } = layoutInput(rng, SHAPE, dtype, layout, (g) => g.uniform(c.lo, c.hi));
              for (const axes of axisSubsets(3)) {
                const n = axes.reduce((p, a) => p * SHAPE[a]!, 1);
                if (c.needsTwo && n < 2) continue;
                for (const keepDims of [false, true]) {
                  const y = c.run(x, axes, keepDims);
                  assertArrayClose(y, refReduce(r, axes, keepDims, c.ref), { ...tol, dtype, message: `${c.name} ${dtype} ${layout} axes [${axes}] keepDims ${keepDims}` });
                }
              }
              // Undefined axes: everything, to a 0-d array.
              const all = c.run(x, undefined, false);
              assertArrayClose(all, refReduce(r, [0, 1, 2], false, c.ref), { ...tol, dtype, message: `${c.name} ${dtype} ${layout} all axes` });
            }
          });
        });
      }
    });
  }

  it('negative axes count from the end', () => {
    dl.scope(() => {
      const r = randomRef(new Rng(2), [3, 4, 5], -1, 1);
      const x = toNd(r, 'DOUBLE');
      assertArrayClose(dl.sum(x, -1), refReduce(r, [2], false, total), reduceTolerance('DOUBLE'));
      assertArrayClose(dl.max(x, [-3, -1], true), refReduce(r, [0, 2], true, (v) => Math.max(...v)), reduceTolerance('DOUBLE'));
      assertArrayClose(x.mean([2, 0]), refReduce(r, [0, 2], false, meanOf), reduceTolerance('DOUBLE'));
    });
  });

  it('integers: sum/max/min stay integer and exact, mean is the default float', () => {
    dl.scope(() => {
      const r = randomRef(new Rng(4), [3, 4, 5], -100000, 100000, Math.round);
      const x = toNd(r, 'INT32');
      for (const axes of axisSubsets(3)) {
        assertArrayClose(dl.sum(x, axes), refReduce(r, axes, false, total), { rtol: 0, atol: 0, dtype: 'INT32', message: `sum [${axes}]` });
        assertArrayClose(dl.max(x, axes), refReduce(r, axes, false, (v) => Math.max(...v)), { rtol: 0, atol: 0, dtype: 'INT32', message: `max [${axes}]` });
        assertArrayClose(dl.min(x, axes), refReduce(r, axes, false, (v) => Math.min(...v)), { rtol: 0, atol: 0, dtype: 'INT32', message: `min [${axes}]` });
      }
      assertArrayClose(dl.mean(x, 1), refReduce(r, [1], false, meanOf), { ...tolerance('FLOAT'), dtype: 'FLOAT' });
      // Booleans are counted: sum of BOOL is an INT64 count, not a BOOL.
      const rb = randomRef(new Rng(6), [4, 5], 0, 1, (v) => (v < 0.4 ? 1 : 0));
      const xb = toNd(rb, 'BOOL');
      for (const axes of axisSubsets(2)) {
        assertArrayClose(dl.sum(xb, axes), refReduce(rb, axes, false, total), { rtol: 0, atol: 0, dtype: 'INT64', message: `sum of BOOL [${axes}]` });
      }
      assert.equal(dl.sum(dl.eq(dl.array([1, 2, 3, 4]), dl.array([1, 0, 3, 4]))).item(), 3, 'counting matches');
      assertArrayClose(dl.prod(xb, 1), refReduce(rb, [1], false, (v) => v.reduce((p, a) => p * a, 1)), { rtol: 0, atol: 0, dtype: 'INT64', message: 'prod of BOOL' });
      // INT64 values beyond 2^53 must not go through a double accumulator for max.
      const big = dl.array(new BigInt64Array([9007199254740993n, 9007199254740992n, -5n]), [3]);
      assert.equal(dl.max(big).data()[0], 9007199254740993n);
      assert.equal(dl.argmax(big).item(), 0);
    });
  });
});

describe('any and all', () => {
  for (const dtype of ['BOOL', 'FLOAT', 'INT32'] as const) {
    it(`${dtype}: every subset of axes, kept or not, contiguous and permuted`, () => {
      dl.scope(() => {
        const rng = new Rng(21);
        for (const layout of ['contiguous', 'permuted'] as const) {
          // Mostly-true data so that both outcomes of all() occur.
          const { x, r } = layoutInput(rng, [2, 3, 4], dtype, layout, (g) => (g.next() < 0.85 ? (dtype === 'BOOL' ? 1 : g.pick([1, -2, 3])) : 0));
          for (const axes of axisSubsets(3)) {
            for (const keepDims of [false, true]) {
              const msg = `${dtype} ${layout} [${axes}] ${keepDims}`;
              assertArrayClose(dl.any(x, axes, keepDims), refReduce(r, axes, keepDims, (v) => (v.some((a) => a !== 0) ? 1 : 0)), { rtol: 0, atol: 0, dtype: 'BOOL', message: `any ${msg}` });
              assertArrayClose(dl.all(x, axes, keepDims), refReduce(r, axes, keepDims, (v) => (v.every((a) => a !== 0) ? 1 : 0)), { rtol: 0, atol: 0, dtype: 'BOOL', message: `all ${msg}` });
            }
          }
        }
      });
    });
  }
});

describe('argmax and argmin', () => {
  const firstIndex = (pick: (v: number[]) => number) => (v: number[]): number => v.indexOf(pick(v));
  for (const dtype of [...FLOATS, 'INT32'] as const) {
    it(`${dtype}: each axis, kept or not, the flattened array, contiguous and permuted (first occurrence)`, () => {
      dl.scope(() => {
        const rng = new Rng(8);
        for (const layout of ['contiguous', 'permuted', 'strided'] as const) {
          // Few distinct values: ties, where the first occurrence must win.
          const { x, r } = layoutInput(rng, SHAPE, dtype, layout, (g) => g.int(-4, 5));
          for (const axis of [0, 1, 2, -1]) {
            const a = axis < 0 ? axis + 3 : axis;
            for (const keepDims of [false, true]) {
              const msg = `${dtype} ${layout} axis ${axis} keepDims ${keepDims}`;
              assertArrayClose(dl.argmax(x, axis, keepDims), refReduce(r, [a], keepDims, firstIndex((v) => Math.max(...v))), { rtol: 0, atol: 0, dtype: 'INT64', message: `argmax ${msg}` });
              assertArrayClose(dl.argmin(x, axis, keepDims), refReduce(r, [a], keepDims, firstIndex((v) => Math.min(...v))), { rtol: 0, atol: 0, dtype: 'INT64', message: `argmin ${msg}` });
            }
          }
          assertArrayClose(dl.argmax(x), refReduce(r, [0, 1, 2], false, firstIndex((v) => Math.max(...v))), { rtol: 0, atol: 0, dtype: 'INT64', message: `argmax ${dtype} ${layout} flat` });
          assertArrayClose(x.argmax(), refReduce(r, [0, 1, 2], false, firstIndex((v) => Math.max(...v))), { rtol: 0, atol: 0, message: `NDArray.argmax ${dtype} ${layout}` });
          assertArrayClose(dl.argmin(x), refReduce(r, [0, 1, 2], false, firstIndex((v) => Math.min(...v))), { rtol: 0, atol: 0, dtype: 'INT64', message: `argmin ${dtype} ${layout} flat` });
        }
      });
    });
  }
});

describe('NaN and empty reductions', () => {
  it('NaN wins in max, min, argmax, argmin; sum propagates it', () => {
    dl.scope(() => {
      for (const dtype of FLOATS) {
        const x = dl.array([[1, NaN, 3, NaN], [4, 2, 7, 0], [NaN, 9, 8, -1]], { dtype });
        const msg = `${dtype}`;
        assertClose(dl.max(x, 1).toFlatArray(), [NaN, 7, NaN], { message: `max ${msg}` });
        assertClose(dl.min(x, 1).toFlatArray(), [NaN, 0, NaN], { message: `min ${msg}` });
        assert.deepEqual(dl.argmax(x, 1).toFlatArray(), [1, 2, 0], `argmax ${msg}`);
        assert.deepEqual(dl.argmin(x, 1).toFlatArray(), [1, 3, 0], `argmin ${msg}`);
        assert.deepEqual(dl.argmax(x, 0).toFlatArray(), [2, 0, 2, 0], `argmax axis 0 ${msg}`);
        assert.ok(Number.isNaN(dl.max(x).item()), `max of all ${msg}`);
        assert.equal(dl.argmax(x).item(), 1, `argmax of all ${msg}`);
        assertClose(dl.sum(x, 1).toFlatArray(), [NaN, 13, NaN], { message: `sum ${msg}` });
      }
    });
  });

  it('empty reductions: sum 0, prod 1, mean and variance NaN, max throws', () => {
    dl.scope(() => {
      for (const dtype of ['DOUBLE', 'FLOAT'] as const) {
        const x = dl.zeros([0, 3], { dtype });
        assert.deepEqual(dl.sum(x, 0).toFlatArray(), [0, 0, 0]);
        assert.deepEqual(dl.prod(x, 0).toFlatArray(), [1, 1, 1]);
        assert.ok(dl.mean(x, 0).toFlatArray().every(Number.isNaN), 'mean of nothing');
        assert.ok(dl.variance(x, 0).toFlatArray().every(Number.isNaN), 'variance of nothing');
        assert.deepEqual([...dl.sum(x, 1).shape], [0]);
        assert.throws(() => dl.max(x, 0), /max/);
      }
    });
  });

  it('variance of large-offset data does not cancel catastrophically (FLOAT)', () => {
    dl.scope(() => {
      const rng = new Rng(99);
      const r = randomRef(rng, [1000], 1000, 1001, Math.fround);
      const y = dl.variance(toNd(r, 'FLOAT')).item();
      const expected = varianceOf(0)(Array.from(r.data));
      assert.ok(Math.abs(y - expected) <= 1e-3 * expected, `variance ${y}, expected ${expected}`);
    });
  });

  it('sum of many FLOAT values keeps float32-level relative accuracy', () => {
    dl.scope(() => {
      const rng = new Rng(5);
      const r = randomRef(rng, [1 << 20], 0, 1, Math.fround);
      const expected = total(Array.from(r.data));
      const y = dl.sum(toNd(r, 'FLOAT')).item();
      assert.ok(Math.abs(y - expected) <= 1e-5 * expected, `sum ${y}, expected ${expected}`);
    });
  });
});

// ---- softmax -----------------------------------------------------------------------------------

function refSoftmax(r: Ref, axis: number, log: boolean): Ref {
  const l = refReduce(r, [axis], true, lse);
  return refZip(r, l, (x, m) => (log ? x - m : Math.exp(x - m)));
}

describe('softmax and logSoftmax', () => {
  for (const dtype of FLOATS) {
    it(`${dtype}: along each axis, contiguous, permuted and strided`, () => {
      dl.scope(() => {
        const rng = new Rng(31);
        const tol = reduceTolerance(dtype);
        for (const layout of REDUCE_LAYOUTS) {
          const { x, r } = layoutInput(rng, SHAPE, dtype, layout, (g) => g.uniform(-4, 4));
          for (const axis of [0, 1, 2, -1, -3]) {
            const a = axis < 0 ? axis + 3 : axis;
            assertArrayClose(dl.softmax(x, axis), refSoftmax(r, a, false), { ...tol, dtype, message: `softmax ${dtype} ${layout} axis ${axis}` });
            assertArrayClose(dl.logSoftmax(x, axis), refSoftmax(r, a, true), { ...tol, dtype, message: `logSoftmax ${dtype} ${layout} axis ${axis}` });
          }
          assertArrayClose(dl.softmax(x), refSoftmax(r, 2, false), { ...tol, dtype, message: `softmax default axis ${dtype}` });
        }
      });
    });
  }

  it('is stable for large inputs', () => {
    dl.scope(() => {
      for (const dtype of ['DOUBLE', 'FLOAT'] as const) {
        const v = [1000, 1001, 999, -1000];
        const r = makeRef([1, 4], v);
        const x = dl.array(v, [1, 4], { dtype });
        assertArrayClose(dl.softmax(x), refSoftmax(r, 1, false), { ...reduceTolerance(dtype), atol: 0, message: `softmax ${dtype}` });
        assertArrayClose(dl.logSoftmax(x), refSoftmax(r, 1, true), { ...reduceTolerance(dtype), message: `logSoftmax ${dtype}` });
      }
    });
  });
});

// ---- matmul and gemm ------------------------------------------------------------------------------

/** Tolerance for dot products of k values in [-1, 1]. */
function matmulTolerance(dtype: DataType, k: number): Tolerance {
  switch (dtype) {
    case 'DOUBLE': return { rtol: 1e-12, atol: 1e-13 * k };
    case 'FLOAT': return { rtol: 1e-5, atol: 1e-6 * k };
    case 'HALF': return { rtol: 2e-3, atol: 2e-3 };
    default: return { rtol: 1.6e-2, atol: 1.6e-2 };
  }
}

/** An m x n input in one of several layouts, with its reference. */
function matrix(rng: Rng, m: number, n: number, dtype: DataType, how: 'plain' | 'transposed' | 'strided'): { x: NDArray; r: Ref } {
  const q = quantizer(dtype);
  if (how === 'transposed') {
    const base = randomRef(rng, [n, m], -1, 1, q);
    return { x: toNd(base, dtype).transpose(), r: refTranspose(base) };
  }
  if (how === 'strided') {
    const base = randomRef(rng, [2 * m, 3 * n], -1, 1, q);
    const x = toNd(base, dtype).get(dl.interval(1, 2 * m, 2), dl.interval(0, 3 * n, 3));
    return { x, r: refTake(base, [range(1, 2 * m, 2), range(0, 3 * n, 3)]) };
  }
  const r = randomRef(rng, [m, n], -1, 1, q);
  return { x: toNd(r, dtype), r };
}

describe('matmul', () => {
  for (const dtype of FLOATS) {
    it(`${dtype}: 37x91 @ 91x53 with plain, transposed and strided operands`, () => {
      dl.scope(() => {
        const rng = new Rng(37);
        const hows = ['plain', 'transposed', 'strided'] as const;
        for (const ha of hows) {
          for (const hb of hows) {
            const { x: a, r: ra } = matrix(rng, 37, 91, dtype, ha);
            const { x: b, r: rb } = matrix(rng, 91, 53, dtype, hb);
            assertArrayClose(dl.matmul(a, b), refMatmul(ra, rb), { ...matmulTolerance(dtype, 91), dtype, message: `${dtype} ${ha} @ ${hb}` });
          }
        }
      });
    });

    it(`${dtype}: degenerate and small sizes (1, odd, one inner element)`, () => {
      dl.scope(() => {
        const rng = new Rng(3);
        const sizes: [number, number, number][] = [[1, 1, 1], [1, 7, 1], [5, 1, 6], [1, 17, 9], [9, 17, 1], [2, 3, 4], [16, 16, 16], [33, 65, 17], [70, 3, 129]];
        for (const [m, k, n] of sizes) {
          const { x: a, r: ra } = matrix(rng, m, k, dtype, 'plain');
          const { x: b, r: rb } = matrix(rng, k, n, dtype, 'plain');
          assertArrayClose(a.mmul(b), refMatmul(ra, rb), { ...matmulTolerance(dtype, k), dtype, message: `${dtype} ${m}x${k}x${n}` });
        }
      });
    });

    it(`${dtype}: batched, with broadcast batch dims and transposed batches`, () => {
      dl.scope(() => {
        const rng = new Rng(41);
        const q = quantizer(dtype);
        const pairs: [number[], number[]][] = [
          [[2, 1, 4, 5], [3, 5, 6]],
          [[4, 5], [2, 5, 3]],
          [[3, 2, 7], [3, 7, 4]],
          [[1, 3, 4], [2, 1, 4, 2]],
        ];
        for (const [sa, sb] of pairs) {
          const ra = randomRef(rng, sa, -1, 1, q);
          const rb = randomRef(rng, sb, -1, 1, q);
          assertArrayClose(dl.matmul(toNd(ra, dtype), toNd(rb, dtype)), refMatmul(ra, rb), { ...matmulTolerance(dtype, sa.at(-1)!), dtype, message: `${dtype} [${sa}] @ [${sb}]` });
        }
        // Batches whose matrices are transposed views of a permuted base.
        const base = randomRef(rng, [6, 2, 3], -1, 1, q); // viewed as [2, 3, 6] via permute(1, 2, 0)
        const a = toNd(base, dtype).permute(1, 2, 0);
        const ra = refPermute(base, [1, 2, 0]);
        const rb = randomRef(rng, [2, 4, 6], -1, 1, q);
        const b = toNd(rb, dtype).permute(0, 2, 1);
        assertArrayClose(dl.matmul(a, b), refMatmul(ra, refPermute(rb, [0, 2, 1])), { ...matmulTolerance(dtype, 6), dtype, message: `${dtype} permuted batches` });
      });
    });

    it(`${dtype}: 1-D operands (vector @ matrix, matrix @ vector, dot, vector @ batch)`, () => {
      dl.scope(() => {
        const rng = new Rng(1);
        const q = quantizer(dtype);
        const v5 = randomRef(rng, [5], -1, 1, q);
        const m53 = randomRef(rng, [5, 3], -1, 1, q);
        const m45 = randomRef(rng, [4, 5], -1, 1, q);
        const w5 = randomRef(rng, [5], -1, 1, q);
        const b253 = randomRef(rng, [2, 5, 3], -1, 1, q);
        const tol = { ...matmulTolerance(dtype, 5), dtype };
        const asRow = (r: Ref): Ref => makeRef([1, r.shape[0]!], r.data);
        const asCol = (r: Ref): Ref => makeRef([r.shape[0]!, 1], r.data);
        const drop = (r: Ref, shape: number[]): Ref => makeRef(shape, r.data);
        assertArrayClose(dl.matmul(toNd(v5, dtype), toNd(m53, dtype)), drop(refMatmul(asRow(v5), m53), [3]), { ...tol, message: 'vector @ matrix' });
        assertArrayClose(dl.matmul(toNd(m45, dtype), toNd(v5, dtype)), drop(refMatmul(m45, asCol(v5)), [4]), { ...tol, message: 'matrix @ vector' });
        assertArrayClose(dl.matmul(toNd(v5, dtype), toNd(w5, dtype)), drop(refMatmul(asRow(v5), asCol(w5)), []), { ...tol, message: 'vector @ vector' });
        assertArrayClose(dl.matmul(toNd(v5, dtype), toNd(b253, dtype)), drop(refMatmul(asRow(v5), b253), [2, 3]), { ...tol, message: 'vector @ batch' });
        // A strided vector.
        const long = randomRef(rng, [10], -1, 1, q);
        const sv = toNd(long, dtype).get(dl.interval(0, 10, 2));
        assertArrayClose(dl.matmul(toNd(m45, dtype), sv), drop(refMatmul(m45, asCol(refTake(long, [range(0, 10, 2)]))), [4]), { ...tol, message: 'matrix @ strided vector' });
      });
    });
  }

  it('mixed dtypes promote (FLOAT @ DOUBLE is DOUBLE, HALF @ BFLOAT16 is FLOAT)', () => {
    dl.scope(() => {
      const rng = new Rng(6);
      const ra = randomRef(rng, [3, 4], -1, 1, Math.fround);
      const rb = randomRef(rng, [4, 2], -1, 1);
      assertArrayClose(dl.matmul(toNd(ra, 'FLOAT'), toNd(rb, 'DOUBLE')), refMatmul(ra, rb), { ...matmulTolerance('DOUBLE', 4), dtype: 'DOUBLE' });
      const ha = randomRef(rng, [3, 4], -1, 1, quantizer('HALF'));
      const hb = randomRef(rng, [4, 2], -1, 1, quantizer('BFLOAT16'));
      assertArrayClose(dl.matmul(toNd(ha, 'HALF'), toNd(hb, 'BFLOAT16')), refMatmul(ha, hb), { ...matmulTolerance('FLOAT', 4), dtype: 'FLOAT' });
    });
  });
});

describe('gemm', () => {
  for (const dtype of FLOATS) {
    it(`${dtype}: alpha, beta and every transpose combination`, () => {
      dl.scope(() => {
        const rng = new Rng(17);
        const q = quantizer(dtype);
        const [m, k, n] = [13, 29, 11];
        for (const transposeA of [false, true]) {
          for (const transposeB of [false, true]) {
            for (const [alpha, beta] of [[1, 0], [0.75, -0.5], [-2, 1]] as const) {
              const ra = randomRef(rng, transposeA ? [k, m] : [m, k], -1, 1, q);
              const rb = randomRef(rng, transposeB ? [n, k] : [k, n], -1, 1, q);
              const rc = randomRef(rng, [m, n], -1, 1, q);
              const c = toNd(rc, dtype);
              const back = dl.gemm(toNd(ra, dtype), toNd(rb, dtype), c, { transposeA, transposeB, alpha, beta });
              assert.equal(back, c, 'gemm returns c');
              const prod = refMatmul(transposeA ? refTranspose(ra) : ra, transposeB ? refTranspose(rb) : rb);
              const expected = refZip(prod, rc, (p, c0) => alpha * p + beta * c0);
              assertArrayClose(c, expected, { ...matmulTolerance(dtype, k * 2), message: `${dtype} tA ${transposeA} tB ${transposeB} alpha ${alpha} beta ${beta}` });
            }
          }
        }
      });
    });
  }

  it('writes through a c that is a transposed view, leaving the base otherwise intact', () => {
    dl.scope(() => {
      const rng = new Rng(23);
      const ra = randomRef(rng, [4, 6], -1, 1);
      const rb = randomRef(rng, [6, 5], -1, 1);
      const rbase = randomRef(rng, [5, 4], -1, 1);
      const base = toNd(rbase, 'DOUBLE');
      dl.gemm(toNd(ra, 'DOUBLE'), toNd(rb, 'DOUBLE'), base.transpose(), { alpha: 2, beta: 3 });
      const expected = refZip(refMatmul(ra, rb), refTranspose(rbase), (p, c0) => 2 * p + 3 * c0);
      assertArrayClose(base, refTranspose(expected), matmulTolerance('DOUBLE', 6));
    });
  });

  it('beta 0 ignores what c held (NaN in c does not leak), as BLAS does', () => {
    dl.scope(() => {
      const a = dl.array([[1, 2], [3, 4]], { dtype: 'DOUBLE' });
      const c = dl.full([2, 2], NaN, { dtype: 'DOUBLE' });
      dl.gemm(a, a, c, { beta: 0 });
      assert.deepEqual(c.toArray(), [[7, 10], [15, 22]]);
    });
  });
});

// ---- sizes that reach the SIMD tails and the threaded paths -------------------------------------

/** Reduces a 2-D reference along axis 0 or 1 (or both, when undefined) with direct loops: fast for large arrays. */
function reduce2d(r: Ref, axis: 0 | 1 | undefined, f: (v: number[]) => number): Ref {
  const [m, n] = r.shape as [number, number];
  if (axis === undefined) return makeRef([], [f(Array.from(r.data))]);
  const lanes = axis === 0 ? n : m;
  const len = axis === 0 ? m : n;
  const out = new Float64Array(lanes);
  const v = new Array<number>(len);
  for (let l = 0; l < lanes; l++) {
    for (let k = 0; k < len; k++) v[k] = r.data[axis === 0 ? k * n + l : l * n + k]!;
    out[l] = f(v);
  }
  return makeRef([lanes], out);
}

describe('large and odd sizes', () => {
  const argmaxOf = (v: number[]): number => {
    let best = 0;
    for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
    return best;
  };
  const maxOf = (v: number[]): number => v.reduce((m, x) => (x > m ? x : m), -Infinity);
  const ops: [string, (x: NDArray, axis: number | undefined) => NDArray, (v: number[]) => number][] = [
    ['sum', (x, a) => dl.sum(x, a), total],
    ['mean', (x, a) => dl.mean(x, a), meanOf],
    ['max', (x, a) => dl.max(x, a), maxOf],
    ['norm2', (x, a) => dl.norm2(x, a), (v) => Math.sqrt(total(v.map((t) => t * t)))],
    ['variance', (x, a) => dl.variance(x, a, false, 1), varianceOf(1)],
    ['logSumExp', (x, a) => dl.logSumExp(x, a), lse],
  ];
  for (const dtype of ['DOUBLE', 'FLOAT', 'HALF'] as const) {
    it(`${dtype}: [257, 1031] along each axis and whole, contiguous and transposed`, () => {
      dl.scope(() => {
        const rng = new Rng(257);
        const tol = reduceTolerance(dtype);
        for (const layout of ['contiguous', 'permuted'] as const) {
          const { x, r } = layoutInput(rng, [257, 1031], dtype, layout, (g) => g.uniform(-1, 1));
          for (const [name, run, f] of ops) {
            for (const axis of [0, 1, undefined] as const) {
              assertArrayClose(run(x, axis), reduce2d(r, axis, f), { ...tol, dtype, message: `${name} ${dtype} ${layout} axis ${axis}` });
            }
          }
          for (const axis of [0, 1] as const) {
            assertArrayClose(dl.argmax(x, axis), reduce2d(r, axis, argmaxOf), { rtol: 0, atol: 0, dtype: 'INT64', message: `argmax ${dtype} ${layout} axis ${axis}` });
          }
          assertArrayClose(dl.argmax(x), reduce2d(r, undefined, argmaxOf), { rtol: 0, atol: 0, message: `argmax ${dtype} ${layout} all` });
        }
      });
    });

    it(`${dtype}: softmax of [129, 1025] along both axes`, () => {
      dl.scope(() => {
        const rng = new Rng(129);
        const r = randomRef(rng, [129, 1025], -5, 5, quantizer(dtype));
        const x = toNd(r, dtype);
        for (const axis of [0, 1]) {
          assertArrayClose(dl.softmax(x, axis), refSoftmax(r, axis, false), { ...reduceTolerance(dtype), dtype, message: `softmax ${dtype} axis ${axis}` });
          assertArrayClose(dl.logSoftmax(x.transpose(), axis), refSoftmax(refTranspose(r), axis, true), { ...reduceTolerance(dtype), dtype, message: `logSoftmax ${dtype} transposed axis ${axis}` });
        }
      });
    });
  }

  it('rank 4: non-adjacent axes, and odd lengths along the reduced axis', () => {
    dl.scope(() => {
      const rng = new Rng(4);
      const r = randomRef(rng, [6, 7, 8, 9], -1, 1, Math.fround);
      const x = toNd(r, 'FLOAT');
      for (const axes of [[0, 2], [1, 3], [0, 3], [0, 1, 3], [1, 2, 3]]) {
        assertArrayClose(dl.sum(x, axes), refReduce(r, axes, false, total), { ...reduceTolerance('FLOAT'), message: `sum [${axes}]` });
        assertArrayClose(dl.max(x.permute(3, 1, 0, 2), axes, true), refReduce(refPermute(r, [3, 1, 0, 2]), axes, true, (v) => Math.max(...v)), { ...exactTol, message: `max permuted [${axes}]` });
      }
      for (const n of [1, 2, 3, 7, 15, 17, 33, 65, 257, 1025]) {
        const rv = randomRef(rng, [3, n], -1, 1, Math.fround);
        const xv = toNd(rv, 'FLOAT');
        assertArrayClose(dl.sum(xv, 1), refReduce(rv, [1], false, total), { ...reduceTolerance('FLOAT'), message: `sum n=${n}` });
        assertArrayClose(dl.min(xv, 1), refReduce(rv, [1], false, (v) => Math.min(...v)), { ...exactTol, message: `min n=${n}` });
        assertArrayClose(dl.argmin(xv, 1), refReduce(rv, [1], false, (v) => v.indexOf(Math.min(...v))), { ...exactTol, message: `argmin n=${n}` });
        assertArrayClose(dl.softmax(xv, 1), refSoftmax(rv, 1, false), { ...reduceTolerance('FLOAT'), message: `softmax n=${n}` });
      }
    });
  });
});

const exactTol = { rtol: 0, atol: 0 };
