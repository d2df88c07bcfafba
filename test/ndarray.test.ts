/**
 * NDArray basics: creation, views that share storage (checked by writing through them), copies
 * where a layout demands one, indexing, casts between all types, reading values back, printing,
 * and the default data type. Expected values are built here with plain JS.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../src/index.js';
import type { DataType, NDArray } from '../src/index.js';
import { assertArrayClose, assertClose, makeRef, quantizer, randomRef, range, refBroadcast, refFromFn, refPermute, refTake, Rng, toNd } from './helpers.js';

const exact = { rtol: 0, atol: 0 };
const iota = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('creation', () => {
  it('from nested arrays: shape inferred, default FLOAT, BOOL for booleans, dtype option', () => {
    dl.scope(() => {
      const x = dl.array([[1, 2, 3], [4, 5, 6]]);
      assert.deepEqual([...x.shape], [2, 3]);
      assert.equal(x.dtype, 'FLOAT');
      assert.deepEqual(x.toArray(), [[1, 2, 3], [4, 5, 6]]);
      const b = dl.array([[true, false], [false, true]]);
      assert.equal(b.dtype, 'BOOL');
      assert.deepEqual(b.toArray(), [[true, false], [false, true]]);
      const d = dl.array([[[1.5], [-2.25]]], { dtype: 'DOUBLE' });
      assert.deepEqual([...d.shape], [1, 2, 1]);
      assert.equal(d.dtype, 'DOUBLE');
      assert.deepEqual(d.toArray(), [[[1.5], [-2.25]]]);
      const i = dl.array([7, -8], { dtype: 'INT32' });
      assert.equal(i.dtype, 'INT32');
      assert.deepEqual(i.toArray(), [7, -8]);
      const e = dl.array([]);
      assert.deepEqual([...e.shape], [0]);
      assert.equal(e.size, 0);
      assert.deepEqual(e.toArray(), []);
      const s = dl.array(4.5);
      assert.deepEqual([...s.shape], []);
      assert.equal(s.item(), 4.5);
    });
  });

  it('from typed arrays with a shape: dtype follows the typed array', () => {
    dl.scope(() => {
      const cases: [ArrayLike<number> | BigInt64Array, DataType][] = [
        [new Float64Array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]), 'DOUBLE'],
        [new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]), 'FLOAT'],
        [new Int32Array([1, -2, 3, -4, 5, -6]), 'INT32'],
        [new Uint8Array([1, 2, 3, 250, 0, 6]), 'UINT8'],
      ];
      for (const [values, dtype] of cases) {
        const x = dl.array(values as Float64Array, [2, 3]);
        assert.equal(x.dtype, dtype);
        assert.deepEqual([...x.shape], [2, 3]);
        assert.deepEqual(x.toFlatArray(), Array.from(values as ArrayLike<number>, Number));
      }
      const big = dl.array(new BigInt64Array([1n, -(2n ** 62n), 2n ** 53n + 1n]), [3]);
      assert.equal(big.dtype, 'INT64');
      assert.deepEqual([...(big.data() as BigInt64Array)], [1n, -(2n ** 62n), 2n ** 53n + 1n]);
      // number[] with a shape and a dtype.
      const h = dl.array([0.1, 1, 65504, -2], [2, 2], { dtype: 'HALF' });
      assert.equal(h.dtype, 'HALF');
      assertClose(h.toFlatArray(), [0.1, 1, 65504, -2].map(quantizer('HALF')), exact);
    });
  });

  it('zeros, ones, full, zerosLike, onesLike, scalar', () => {
    dl.scope(() => {
      assert.deepEqual(dl.zeros([2, 3]).toArray(), [[0, 0, 0], [0, 0, 0]]);
      const o = dl.ones([3], { dtype: 'INT32' });
      assert.equal(o.dtype, 'INT32');
      assert.deepEqual(o.toArray(), [1, 1, 1]);
      const f = dl.full([2, 2], -1.5, { dtype: 'HALF' });
      assert.equal(f.dtype, 'HALF');
      assert.deepEqual(f.toArray(), [[-1.5, -1.5], [-1.5, -1.5]]);
      const fd = dl.full([2], 0.1, { dtype: 'DOUBLE' });
      assert.deepEqual(fd.toFlatArray(), [0.1, 0.1]);
      const ff = dl.full([2], 0.1);
      assert.deepEqual(ff.toFlatArray(), [Math.fround(0.1), Math.fround(0.1)]);
      const base = dl.array([[1, 2]], { dtype: 'DOUBLE' });
      const zl = dl.zerosLike(base);
      assert.equal(zl.dtype, 'DOUBLE');
      assert.deepEqual(zl.toArray(), [[0, 0]]);
      assert.deepEqual(dl.onesLike(base, 'INT32').toArray(), [[1, 1]]);
      const s = dl.scalar(2.5);
      assert.deepEqual([...s.shape], []);
      assert.equal(s.dtype, 'FLOAT');
      assert.equal(s.item(), 2.5);
      assert.equal(dl.scalar(-3, { dtype: 'INT32' }).item(), -3);
      assert.deepEqual(dl.zeros([0, 4]).toArray(), []);
    });
  });

  it('eye: square and rectangular', () => {
    dl.scope(() => {
      for (const [r, c] of [[3, 3], [2, 4], [4, 2], [1, 1]] as const) {
        const expected = refFromFn([r, c], ([i, j]) => (i === j ? 1 : 0));
        assertArrayClose(dl.eye(r, c), expected, { ...exact, dtype: 'FLOAT', message: `eye(${r}, ${c})` });
      }
      assertArrayClose(dl.eye(3, 3, { dtype: 'INT32' }), refFromFn([3, 3], ([i, j]) => (i === j ? 1 : 0)), { ...exact, dtype: 'INT32' });
    });
  });

  it('arange and linspace', () => {
    dl.scope(() => {
      assert.deepEqual(dl.arange(5).toFlatArray(), [0, 1, 2, 3, 4]);
      assert.deepEqual(dl.arange(2, 5).toFlatArray(), [2, 3, 4]);
      assert.deepEqual(dl.arange(0, 1, 0.25).toFlatArray(), [0, 0.25, 0.5, 0.75]);
      assert.deepEqual(dl.arange(5, 0, -2).toFlatArray(), [5, 3, 1]);
      assert.deepEqual(dl.arange(3, 3).toFlatArray(), []);
      const ai = dl.arange(0, 4, 1, { dtype: 'INT32' });
      assert.equal(ai.dtype, 'INT32');
      assert.deepEqual(ai.toFlatArray(), [0, 1, 2, 3]);
      const l = dl.linspace(-1, 1, 9, { dtype: 'DOUBLE' });
      assertClose(l.toFlatArray(), iota(9).map((i) => -1 + (2 * i) / 8), { rtol: 1e-15, atol: 1e-15 });
      assert.deepEqual(dl.linspace(2, 2, 1).toFlatArray(), [2]);
      assert.deepEqual(dl.linspace(0, 1, 0).toFlatArray(), []);
      const lf = dl.linspace(0, 1, 4);
      assert.equal(lf.dtype, 'FLOAT');
      assertClose(lf.toFlatArray(), [0, 1 / 3, 2 / 3, 1].map(Math.fround), exact);
    });
  });
});

describe('views share storage; copies where the layout needs one', () => {
  it('reshape of a contiguous array is a view: writes through it show in the base', () => {
    dl.scope(() => {
      const x = dl.array(iota(6), [2, 3], { dtype: 'DOUBLE' });
      const r = x.reshape(3, 2);
      assert.deepEqual(r.toArray(), [[0, 1], [2, 3], [4, 5]]);
      r.get(1).assign(9);
      assert.deepEqual(x.toArray(), [[0, 1, 9], [9, 4, 5]]);
      const m = x.reshape([-1]);
      assert.deepEqual([...m.shape], [6]);
      m.get(dl.interval(0, 6, 5)).assign(-1);
      assert.deepEqual(x.toArray(), [[-1, 1, 9], [9, 4, -1]]);
      assert.deepEqual([...x.reshape(1, -1, 2).shape], [1, 3, 2]);
    });
  });

  it('reshape of a transposed view copies, in the view order, and leaves the base alone', () => {
    dl.scope(() => {
      const x = dl.array(iota(6), [2, 3], { dtype: 'FLOAT' });
      const t = x.transpose();
      assert.deepEqual(t.toArray(), [[0, 3], [1, 4], [2, 5]]);
      const flat = t.reshape(6);
      assert.deepEqual(flat.toFlatArray(), [0, 3, 1, 4, 2, 5]);
      flat.assign(7);
      assert.deepEqual(x.toArray(), [[0, 1, 2], [3, 4, 5]], 'a copy: the base is unchanged');
      const t3 = dl.array(iota(24), [2, 3, 4]).permute(2, 0, 1).reshape(4, 6);
      assertArrayClose(t3, makeRef([4, 6], refPermute(makeRef([2, 3, 4], iota(24)), [2, 0, 1]).data), exact);
    });
  });

  it('reshape of a strided view that splits an axis stays a view', () => {
    dl.scope(() => {
      const base = dl.array(iota(24), [4, 6], { dtype: 'DOUBLE' });
      const rows = base.get(dl.interval(0, 4, 2)); // rows 0 and 2: not contiguous
      assert.equal(rows.isContiguous, false);
      const v = rows.reshape(2, 2, 3);
      assert.deepEqual(v.toArray(), [[[0, 1, 2], [3, 4, 5]], [[12, 13, 14], [15, 16, 17]]]);
      v.get(1, 0).assign(-5);
      const expected = iota(24);
      for (const j of [0, 1, 2]) expected[12 + j] = -5;
      assert.deepEqual(base.toFlatArray(), expected, 'written through the reshaped view');
      // Merging the two rows is impossible without a copy.
      const merged = rows.reshape(12);
      assert.deepEqual(merged.toFlatArray(), [0, 1, 2, 3, 4, 5, -5, -5, -5, 15, 16, 17]);
      merged.assign(0);
      assert.deepEqual(base.toFlatArray(), expected, 'the merged copy is independent');
    });
  });

  it('permute and transpose are views with the right values', () => {
    dl.scope(() => {
      const r = randomRef(new Rng(1), [2, 3, 4], -1, 1);
      const x = toNd(r, 'DOUBLE');
      for (const axes of [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1], [0, 2, 1], [-1, 0, 1]]) {
        const norm = axes.map((a) => (a < 0 ? a + 3 : a));
        assertArrayClose(x.permute(axes), refPermute(r, norm), { ...exact, message: `permute [${axes}]` });
      }
      assertArrayClose(x.transpose(), refPermute(r, [2, 1, 0]), exact);
      const p = x.permute(2, 0, 1);
      p.get(3, 1, 2).assign(42);
      assert.equal(x.get(1, 2, 3).item(), 42, 'written through a permuted view');
    });
  });

  it('get(): points, intervals with steps, all, newAxis, negative indices, omitted trailing specs', () => {
    dl.scope(() => {
      const r = randomRef(new Rng(2), [4, 5, 6], -1, 1);
      const x = toNd(r, 'DOUBLE');
      const chk = (v: NDArray, picks: (number[] | number)[], newAxes: number[] = [], message = ''): void => {
        const e = refTake(r, picks);
        const shape = [...e.shape];
        for (const a of newAxes) shape.splice(a, 0, 1);
        assertArrayClose(v, makeRef(shape, e.data), { ...exact, message });
      };
      chk(x.get(1), [1], [], 'point');
      chk(x.get(dl.point(-1)), [3], [], 'negative point');
      chk(x.get(2, -2, 0), [2, 3, 0], [], 'three points');
      chk(x.get(dl.interval(1, 4, 2), dl.allIndices(), dl.interval(0, 6, 4)), [[1, 3], range(0, 5), [0, 4]], [], 'stepped intervals');
      chk(x.get(dl.interval(-3)), [[1, 2, 3]], [], 'interval from a negative start to the end');
      chk(x.get(dl.allIndices(), dl.interval(1, -1)), [range(0, 4), [1, 2, 3]], [], 'interval to a negative end');
      chk(x.get(dl.newAxis(), 0, dl.newAxis()), [0], [0, 1], 'newAxis');
      chk(x.get(dl.allIndices(), dl.interval(2, 100)), [range(0, 4), [2, 3, 4]], [], 'end clamped');
      chk(x.get(dl.interval(3, 1)), [[]], [], 'empty interval');
      // Views of views.
      const inner = x.get(dl.interval(0, 4, 3)).get(dl.allIndices(), dl.interval(4, 5), -1);
      chk(inner, [[0, 3], [4], 5], [], 'view of a view');
    });
  });

  it('broadcastTo, squeeze, expandDims', () => {
    dl.scope(() => {
      const r = randomRef(new Rng(3), [3, 1], -1, 1);
      const x = toNd(r, 'DOUBLE');
      const b = x.broadcastTo([2, 3, 4]);
      assertArrayClose(b, refBroadcast(r, [2, 3, 4]), exact);
      assert.equal(b.strides[0], 0);
      assert.equal(b.strides[2], 0);
      const s = dl.array(iota(6), [1, 2, 1, 3, 1]);
      assert.deepEqual([...s.squeeze().shape], [2, 3]);
      assert.deepEqual([...s.squeeze(2).shape], [1, 2, 3, 1]);
      assert.deepEqual([...s.squeeze([0, -1]).shape], [2, 1, 3]);
      assert.deepEqual(s.squeeze().toArray(), [[0, 1, 2], [3, 4, 5]]);
      const v = dl.array(iota(3));
      assert.deepEqual(v.expandDims(0).toArray(), [[0, 1, 2]]);
      assert.deepEqual(v.expandDims(-1).toArray(), [[0], [1], [2]]);
      assert.deepEqual([...dl.array(iota(6), [2, 3]).expandDims(1).shape], [2, 1, 3]);
      // Squeeze and expandDims are views.
      s.squeeze().get(1, 1).assign(40);
      assert.equal(s.toFlatArray()[4], 40);
    });
  });

  it('dup makes an independent contiguous copy of any view', () => {
    dl.scope(() => {
      const r = randomRef(new Rng(4), [3, 4], -1, 1);
      const x = toNd(r, 'DOUBLE');
      const view = x.transpose().get(dl.interval(0, 4, 2));
      const d = view.dup();
      assert.equal(d.isContiguous, true);
      assertArrayClose(d, refTake(refPermute(r, [1, 0]), [[0, 2]]), exact);
      d.assign(0);
      assertArrayClose(x, r, { ...exact, message: 'the original is untouched' });
    });
  });
});

// ---- casts ----------------------------------------------------------------------------------------

const ALL_TYPES: readonly DataType[] = ['DOUBLE', 'FLOAT', 'HALF', 'BFLOAT16', 'INT32', 'INT64', 'UINT8', 'BOOL'];
const RANGES: Partial<Record<DataType, [number, number]>> = { INT32: [-(2 ** 31), 2 ** 31 - 1], UINT8: [0, 255] };

/** What a value of the source becomes in `dst`: rounding for floats, truncation then saturation for integers. */
function castRef(v: number, dst: DataType): number {
  if (dst === 'BOOL') return v !== 0 ? 1 : 0;
  const bounds = RANGES[dst];
  if (bounds) return Math.min(Math.max(Math.trunc(v), bounds[0]), bounds[1]);
  if (dst === 'INT64') return Math.trunc(v);
  return quantizer(dst)(v);
}

function sourceValues(src: DataType): number[] {
  switch (src) {
    case 'BOOL': return [0, 1, 1, 0, 1, 0];
    case 'UINT8': return [0, 1, 2, 100, 200, 255];
    case 'INT32':
    case 'INT64': return [0, 1, -2, 100, 300, -300, 70000, -70000];
    default: return [0, 1.5, -2.7, 3.99, -0.4, 100.25, 300.5, -300.5, 0.3, 1000.75].map(quantizer(src));
  }
}

describe('cast between all 8 types', () => {
  for (const src of ALL_TYPES) {
    it(`from ${src}`, () => {
      dl.scope(() => {
        const v = sourceValues(src);
        const x = dl.array(v, [v.length], { dtype: src });
        assert.deepEqual(x.toFlatArray(), v, `${src} holds its values`);
        for (const dst of ALL_TYPES) {
          const y = dl.cast(x, dst);
          assert.equal(y.dtype, dst);
          assertClose(y.toFlatArray(), v.map((a) => castRef(a, dst)), { ...exact, message: `${src} -> ${dst}` });
          // Through a strided view as well.
          const sv = x.get(dl.interval(1, v.length, 2));
          assertClose(sv.castTo(dst).toFlatArray(), v.filter((_, i) => i % 2 === 1).map((a) => castRef(a, dst)), { ...exact, message: `${src} view -> ${dst}` });
        }
      });
    });
  }

  it('float to integer truncates toward zero and saturates at the type bounds', () => {
    dl.scope(() => {
      const v = [2.7, -2.7, 0.99, -0.99, 1e10, -1e10, 3e9, 2147483647.5, Infinity, -Infinity, 255.9, 256, -1];
      for (const src of ['DOUBLE', 'FLOAT'] as const) {
        const q = v.map(quantizer(src));
        const x = dl.array(q, [q.length], { dtype: src });
        for (const dst of ['INT32', 'UINT8'] as const) {
          assertClose(dl.cast(x, dst).toFlatArray(), q.map((a) => castRef(a, dst)), { ...exact, message: `${src} -> ${dst}` });
        }
      }
    });
  });

  it('to BOOL: every nonzero (including fractions and negatives) is true', () => {
    dl.scope(() => {
      const x = dl.array([0, 0.5, -1e-30, -0, 3, -7], [6], { dtype: 'DOUBLE' });
      assert.deepEqual(dl.cast(x, 'BOOL').toArray(), [false, true, true, false, true, true]);
      assert.deepEqual(dl.cast(dl.array([0, 2, 256], [3], { dtype: 'INT32' }), 'BOOL').toArray(), [false, true, true]);
    });
  });

  it('INT64 keeps values beyond 2^53 when copied, and rounds them when cast to DOUBLE', () => {
    dl.scope(() => {
      const big = [2n ** 53n + 1n, -(2n ** 62n) - 3n, 123n];
      const x = dl.array(new BigInt64Array(big), [3]);
      assert.deepEqual([...(x.dup().data() as BigInt64Array)], big);
      assert.deepEqual([...(x.get(dl.interval(0, 3, 2)).dup().data() as BigInt64Array)], [big[0], big[2]]);
      assert.deepEqual(dl.cast(x, 'DOUBLE').toFlatArray(), big.map(Number));
    });
  });
});

// ---- reading values back -----------------------------------------------------------------------

describe('reading values', () => {
  it('data() returns the typed array of each type; HALF and BFLOAT16 widen to Float32Array', () => {
    dl.scope(() => {
      const expected: Record<DataType, string> = {
        DOUBLE: 'Float64Array', FLOAT: 'Float32Array', HALF: 'Float32Array', BFLOAT16: 'Float32Array',
        INT32: 'Int32Array', INT64: 'BigInt64Array', UINT8: 'Uint8Array', BOOL: 'Uint8Array',
      };
      for (const dtype of ALL_TYPES) {
        const d = dl.array([1, 0, 1], [3], { dtype }).data();
        assert.equal(d.constructor.name, expected[dtype], dtype);
        assert.deepEqual(Array.from(d as ArrayLike<number | bigint>, Number), [1, 0, 1], dtype);
      }
    });
  });

  it('toArray(), data() and toFlatArray() of non-contiguous views follow the view order', () => {
    dl.scope(() => {
      const x = dl.array(iota(12), [3, 4], { dtype: 'INT32' });
      const v = x.transpose().get(dl.interval(1, 4, 2));
      assert.deepEqual(v.toArray(), [[1, 5, 9], [3, 7, 11]]);
      assert.deepEqual([...(v.data() as Int32Array)], [1, 5, 9, 3, 7, 11]);
      const h = dl.array([0.5, 1.5, 2.5, 3.5], [2, 2], { dtype: 'HALF' }).transpose();
      assert.deepEqual([...(h.data() as Float32Array)], [0.5, 2.5, 1.5, 3.5]);
    });
  });

  it('item() of one-element arrays of any rank; an error otherwise', () => {
    dl.scope(() => {
      assert.equal(dl.array([[7.5]]).item(), 7.5);
      assert.equal(dl.scalar(-2, { dtype: 'DOUBLE' }).item(), -2);
      assert.equal(dl.array([1, 2, 3], [3], { dtype: 'INT32' }).get(2).item(), 3);
      assert.throws(() => dl.array([1, 2]).item(), /item: expected an array of one element, got shape \[2\]/);
    });
  });

  it('toString(): nested brackets, one row per line, 4 decimals for floats', () => {
    dl.scope(() => {
      const v = [[1, -2.5, 3.14159], [0.25, 10, -0.00123]];
      const s = dl.array(v, { dtype: 'DOUBLE' }).toString();
      const lines = s.split('\n');
      assert.equal(lines.length, 2, s);
      assert.ok(lines[0]!.startsWith('[['), s);
      assert.ok(lines[1]!.trimEnd().endsWith(']]'), s);
      const numbers = s.replace(/[[\]\s]/g, '').split(',').filter((t) => t !== '');
      assert.equal(numbers.length, 6, s);
      const flat = v.flat();
      numbers.forEach((t, i) => {
        const value = flat[i]!;
        if (Math.abs(value) >= 1e-4) assert.match(t, /^-?\d+\.\d{4}$/, `'${t}' has 4 decimals`);
        assert.ok(Math.abs(Number(t) - value) <= 5e-5 * Math.max(1, Math.abs(value)), `'${t}' prints ${value}`);
      });
      // Rank 3: two levels of nesting, a line per innermost row.
      const t3 = dl.array(iota(12), [2, 3, 2]).toString();
      assert.ok(t3.startsWith('[[['), t3);
      assert.ok(t3.trimEnd().endsWith(']]]'), t3);
      assert.equal((t3.match(/\[/g) ?? []).length, 1 + 2 + 6, t3);
      // Scalars, integers and booleans.
      assert.equal(dl.scalar(3.5).toString(), '3.5000');
      assert.equal(dl.array([1, -20], [2], { dtype: 'INT32' }).toString().replace(/\s/g, ''), '[1,-20]');
      assert.equal(dl.array([true, false]).toString().replace(/\s/g, ''), '[true,false]');
      // Long axes are elided.
      const long = dl.arange(100).toString();
      assert.ok(long.includes('...'), long);
      assert.ok(long.includes('99.0000') && long.includes('0.0000'), long);
    });
  });
});

describe('default data type', () => {
  it('setDefaultDataType(HALF) makes new floating arrays HALF until restored', () => {
    assert.equal(dl.defaultFloatType(), 'FLOAT');
    dl.setDefaultDataType('HALF');
    try {
      dl.scope(() => {
        assert.equal(dl.defaultFloatType(), 'HALF');
        assert.equal(dl.zeros([2]).dtype, 'HALF');
        assert.equal(dl.ones([2]).dtype, 'HALF');
        assert.equal(dl.array([1, 2]).dtype, 'HALF');
        assert.equal(dl.scalar(1).dtype, 'HALF');
        assert.equal(dl.arange(3).dtype, 'HALF');
        assert.equal(dl.eye(2).dtype, 'HALF');
        const e = dl.exp(dl.array([0, 1], [2], { dtype: 'INT32' }));
        assert.equal(e.dtype, 'HALF', 'math on integers computes in the default float');
        assertClose(e.toFlatArray(), [1, Math.E].map(quantizer('HALF')), { rtol: 1e-3 });
        assert.equal(dl.array([1, 2], [2], { dtype: 'FLOAT' }).dtype, 'FLOAT', 'an explicit dtype wins');
        assert.equal(dl.array(new Float64Array([1])).dtype, 'DOUBLE', 'typed arrays keep their type');
      });
    } finally {
      dl.setDefaultDataType('FLOAT');
    }
    assert.equal(dl.defaultFloatType(), 'FLOAT');
    dl.scope(() => assert.equal(dl.zeros([1]).dtype, 'FLOAT'));
  });

  it('DOUBLE and BFLOAT16 can be the default too', () => {
    for (const d of ['DOUBLE', 'BFLOAT16'] as const) {
      dl.setDefaultDataType(d);
      try {
        dl.scope(() => {
          assert.equal(dl.array([[0.5]]).dtype, d);
          assert.equal(dl.linspace(0, 1, 3).dtype, d);
        });
      } finally {
        dl.setDefaultDataType('FLOAT');
      }
    }
  });
});

describe('copies between backends', () => {
  it('toBackend / toCpu copy values (and a strided view packed) into independent storage', () => {
    dl.scope(() => {
      const x = dl.array(iota(6), [2, 3], { dtype: 'DOUBLE' }).transpose();
      const y = x.toCpu();
      assert.deepEqual(y.toFlatArray(), [0, 3, 1, 4, 2, 5]);
      assert.notEqual(y.storage, x.storage);
      y.assign(7);
      assert.deepEqual(x.toFlatArray(), [0, 3, 1, 4, 2, 5]);
    });
  });

  it('toDevice takes a GPU ordinal: a copy on that GPU, or an error naming the CUDA backend and why it cannot run', () => {
    dl.scope(() => {
      const x = dl.array([1.5, -2, 3]);
      assert.throws(() => x.toDevice(-1), /toDevice: expected a GPU ordinal \(an integer >= 0\), got -1/);
      assert.throws(() => x.toDevice(0.5), /toDevice: expected a GPU ordinal/);
      const cuda = dl.backendStatus().find((s) => s.name === 'cuda');
      if (cuda?.available) {
        const g = x.toDevice(0);
        assert.equal(g.backend.name, 'cuda');
        assert.deepEqual(g.toFlatArray(), [1.5, -2, 3]);
      } else {
        assert.throws(() => x.toDevice(0), /cuda/);
      }
    });
  });
});
