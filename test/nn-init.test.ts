// Weight initialization: shapes and dtypes, the sample moments and bounds of each scheme against
// DL4J's formulas (computed here), seeding, and IDENTITY / ZERO / ONES / DISTRIBUTION.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WEIGHT_INITS, initWeights, scope, type InitOptions, type WeightInit } from '../src/index.js';

const FAN_IN = 120;
const FAN_OUT = 80;
const SHAPE = [FAN_IN, 500];
const OPTS: InitOptions = { fanIn: FAN_IN, fanOut: FAN_OUT, dtype: 'DOUBLE', seed: 42 };

interface Moments { mean: number; std: number; min: number; max: number; n: number }

function moments(values: readonly number[]): Moments {
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    s += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = s / values.length;
  let q = 0;
  for (const v of values) q += (v - mean) ** 2;
  return { mean, std: Math.sqrt(q / values.length), min, max, n: values.length };
}

/** Each random scheme's distribution per DL4J's WeightInit documentation. */
const EXPECTED: Partial<Record<WeightInit, { kind: 'normal'; std: number } | { kind: 'uniform'; a: number }>> = {
  XAVIER: { kind: 'normal', std: Math.sqrt(2 / (FAN_IN + FAN_OUT)) },
  XAVIER_UNIFORM: { kind: 'uniform', a: Math.sqrt(6 / (FAN_IN + FAN_OUT)) },
  XAVIER_FAN_IN: { kind: 'normal', std: Math.sqrt(1 / FAN_IN) },
  RELU: { kind: 'normal', std: Math.sqrt(2 / FAN_IN) },
  RELU_UNIFORM: { kind: 'uniform', a: Math.sqrt(6 / FAN_IN) },
  LECUN_NORMAL: { kind: 'normal', std: Math.sqrt(1 / FAN_IN) },
  LECUN_UNIFORM: { kind: 'uniform', a: Math.sqrt(3 / FAN_IN) },
  NORMAL: { kind: 'normal', std: 1 / Math.sqrt(FAN_IN) },
  UNIFORM: { kind: 'uniform', a: 1 / Math.sqrt(FAN_IN) },
  SIGMOID_UNIFORM: { kind: 'uniform', a: 4 * Math.sqrt(6 / (FAN_IN + FAN_OUT)) },
};

test('random schemes have DL4J moments and bounds', () => {
  for (const [init, e] of Object.entries(EXPECTED) as [WeightInit, NonNullable<(typeof EXPECTED)[WeightInit]>][]) {
    scope(() => {
      const w = initWeights(init, SHAPE, OPTS);
      assert.deepEqual(w.shape, SHAPE, init);
      assert.equal(w.dtype, 'DOUBLE', init);
      const m = moments(w.toFlatArray());
      const std = e.kind === 'normal' ? e.std : e.a / Math.sqrt(3);
      // 60000 samples: the mean is within 5 standard errors, the std within 2%.
      assert.ok(Math.abs(m.mean) < (5 * std) / Math.sqrt(m.n), `${init}: mean ${m.mean}`);
      assert.ok(Math.abs(m.std / std - 1) < 0.02, `${init}: std ${m.std}, expected ${std}`);
      if (e.kind === 'uniform') {
        assert.ok(m.min >= -e.a && m.max < e.a, `${init}: range [${m.min}, ${m.max}] outside [-${e.a}, ${e.a})`);
        assert.ok(m.min < -0.999 * e.a && m.max > 0.999 * e.a, `${init}: range [${m.min}, ${m.max}] does not fill [-${e.a}, ${e.a})`);
      } else {
        // A normal sample of 60000 reaches beyond 3.5 std on both sides.
        assert.ok(m.max > 3.5 * e.std && m.min < -3.5 * e.std, `${init}: range [${m.min}, ${m.max}] too narrow for std ${e.std}`);
      }
    });
  }
});

test('a seed makes the draw repeatable; different seeds differ', () => {
  scope(() => {
    const a = initWeights('XAVIER', [10, 10], OPTS).toFlatArray();
    const b = initWeights('XAVIER', [10, 10], OPTS).toFlatArray();
    const c = initWeights('XAVIER', [10, 10], { ...OPTS, seed: 43 }).toFlatArray();
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });
});

test('ZERO, ONES and IDENTITY; other shapes and FLOAT through the options', () => {
  scope(() => {
    assert.ok(initWeights('ZERO', [3, 4], OPTS).toFlatArray().every((v) => v === 0));
    assert.ok(initWeights('ONES', [3, 4], OPTS).toFlatArray().every((v) => v === 1));
    const id = initWeights('IDENTITY', [4, 4], OPTS).toFlatArray();
    id.forEach((v, i) => assert.equal(v, Math.floor(i / 4) === i % 4 ? 1 : 0, `IDENTITY[${i}]`));
    assert.throws(() => initWeights('IDENTITY', [3, 4], OPTS), /square 2-D shape, got \[3, 4\]/);
    const f = initWeights('RELU', [2, 5, 3], { fanIn: 5, fanOut: 3, dtype: 'FLOAT', seed: 1 });
    assert.equal(f.dtype, 'FLOAT');
    assert.deepEqual(f.shape, [2, 5, 3]);
  });
});

test('DISTRIBUTION draws from the given normal, uniform or truncated normal', () => {
  scope(() => {
    const n = moments(initWeights('DISTRIBUTION', SHAPE, { ...OPTS, distribution: { kind: 'normal', mean: 3, std: 0.5 } }).toFlatArray());
    assert.ok(Math.abs(n.mean - 3) < 0.01 && Math.abs(n.std / 0.5 - 1) < 0.02, `normal: ${JSON.stringify(n)}`);
    const u = moments(initWeights('DISTRIBUTION', SHAPE, { ...OPTS, distribution: { kind: 'uniform', lower: -2, upper: 6 } }).toFlatArray());
    assert.ok(u.min >= -2 && u.max < 6 && Math.abs(u.mean - 2) < 0.05 && Math.abs(u.std / (8 / Math.sqrt(12)) - 1) < 0.02, `uniform: ${JSON.stringify(u)}`);
    const t = moments(initWeights('DISTRIBUTION', SHAPE, { ...OPTS, distribution: { kind: 'truncnormal', mean: 0, std: 2 } }).toFlatArray());
    // Truncated at 2 std: the range stays within [-4, 4] and the std shrinks to about 0.88 of 2.
    assert.ok(t.min >= -4 && t.max <= 4 && t.max > 3.9, `truncnormal: ${JSON.stringify(t)}`);
    assert.ok(Math.abs(t.std / (2 * 0.8796) - 1) < 0.02, `truncnormal std ${t.std}`);
    assert.throws(() => initWeights('DISTRIBUTION', [2, 2], OPTS), /options.distribution is required/);
  });
});

test('schemes check their fans and every listed scheme is accepted', () => {
  scope(() => {
    assert.throws(() => initWeights('XAVIER', [2, 2], { fanIn: 2, fanOut: 0 }), /initWeights\(XAVIER\): fanOut must be a finite number > 0, got 0/);
    assert.throws(() => initWeights('RELU', [2, 2], { fanIn: Number.NaN, fanOut: 2 }), /fanIn must be a finite number > 0/);
    for (const init of WEIGHT_INITS) {
      const w = initWeights(init, [3, 3], { ...OPTS, distribution: { kind: 'uniform' } });
      assert.deepEqual(w.shape, [3, 3], init);
    }
  });
});
