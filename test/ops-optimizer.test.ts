// The fused Adam step (Backend.adamStep through src/ops/optimizer.ts) against a float64 JS loop of
// the same rule, on FLOAT and DOUBLE arrays long enough to be split over the thread pool and with a
// tail that is not a whole vector; the same values as the unfused chain of elementwise ops; and the
// checks that keep it from touching memory it should not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { add, array, div, getBackend, memoryReport, mul, noGrad, scope, sqrt, square, type NDArray } from '../src/index.js';
import { adamStep, adamStepApplies } from '../src/ops/optimizer.js';
import type { AdamStepParams } from '../src/backend/backend.js';
import { Rng, assertClose } from './helpers.js';

interface Problem {
  readonly p: Float64Array;
  readonly m: Float64Array;
  readonly v: Float64Array;
  readonly grads: readonly Float64Array[];
}

function problem(n: number, steps: number, seed: number): Problem {
  const rng = new Rng(seed);
  const vec = (f: () => number): Float64Array => Float64Array.from({ length: n }, f);
  return {
    p: vec(() => rng.uniform(-1, 1)),
    m: vec(() => rng.uniform(-0.1, 0.1)),
    v: vec(() => rng.uniform(0, 0.01)),
    grads: Array.from({ length: steps }, (_, k) => vec(() => rng.uniform(-1, 1) * (1 + k))),
  };
}

/** The rule written out per element in float64. */
function refStep(p: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, h: AdamStepParams): void {
  for (let i = 0; i < p.length; i++) {
    m[i] = h.beta1 * m[i]! + (1 - h.beta1) * g[i]!;
    v[i] = h.beta2 * v[i]! + (1 - h.beta2) * g[i]! * g[i]!;
    p[i] = h.decay * p[i]! - (h.alpha * m[i]!) / (Math.sqrt(v[i]!) + h.epsilon);
  }
}

const HYPER: readonly AdamStepParams[] = [
  { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, alpha: 1e-3, decay: 1 },
  { beta1: 0.7, beta2: 0.9, epsilon: 1e-4, alpha: 0.02, decay: 1 - 0.02 * 0.3 },
];

for (const dtype of ['DOUBLE', 'FLOAT'] as const) {
  test(`adamStep on ${dtype} matches the float64 rule over several steps (sizes 1, 37 and 100003)`, () => {
    // FLOAT rounds every operation to float32: errors of a few ulps of the terms (gradients up to 4),
    // which can be larger than ulps of the result where b1 m and (1 - b1) g cancel.
    const tol = dtype === 'DOUBLE' ? { rtol: 1e-12, atol: 1e-14 } : { rtol: 2e-6, atol: 2e-6 };
    HYPER.forEach((h, k) => {
      for (const n of [1, 37, 100003]) {
        const ref = problem(n, 4, 10 * n + k);
        const [p, m, v] = [ref.p, ref.m, ref.v].map((a) => array(a, [n], { dtype })) as [NDArray, NDArray, NDArray];
        // The reference starts from the stored (rounded) values, so both sides do the same arithmetic.
        const [rp, rm, rv] = [p, m, v].map((a) => Float64Array.from(a.toFlatArray()));
        for (const gData of ref.grads) {
          scope(() => {
            const g = array(gData, [n], { dtype });
            noGrad(() => adamStep(p, g, m, v, h));
            refStep(rp!, Float64Array.from(g.toFlatArray()), rm!, rv!, h);
          });
          const what = `${dtype} n=${n} hyper ${k}`;
          assertClose(m.toFlatArray(), rm!, { ...tol, message: `${what} m` });
          assertClose(v.toFlatArray(), rv!, { ...tol, message: `${what} v` });
          assertClose(p.toFlatArray(), rp!, { ...tol, message: `${what} p` });
        }
        for (const a of [p, m, v]) a.close();
      }
    });
  });
}

test('adamStep on FLOAT gives exactly what the chain of elementwise ops gives', () => {
  const n = 4099;
  const h = HYPER[1]!;
  const ref = problem(n, 3, 7);
  const fused = [ref.p, ref.m, ref.v].map((a) => array(a, [n], { dtype: 'FLOAT' })) as [NDArray, NDArray, NDArray];
  const chain = [ref.p, ref.m, ref.v].map((a) => array(a, [n], { dtype: 'FLOAT' })) as [NDArray, NDArray, NDArray];
  for (const gData of ref.grads) {
    scope(() => noGrad(() => {
      const g = array(gData, [n], { dtype: 'FLOAT' });
      adamStep(fused[0], g, fused[1], fused[2], h);
      const [p, m, v] = chain;
      m.muli(h.beta1).addi(mul(g, 1 - h.beta1));
      v.muli(h.beta2).addi(mul(square(g), 1 - h.beta2));
      p.muli(h.decay).subi(mul(div(m, add(sqrt(v), h.epsilon)), h.alpha));
    }));
  }
  ['p', 'm', 'v'].forEach((name, i) => assert.deepEqual(fused[i]!.toFlatArray(), chain[i]!.toFlatArray(), `${name} after 3 steps`));
  for (const a of [...fused, ...chain]) a.close();
});

test('adamStepApplies only takes separate contiguous FLOAT or DOUBLE arrays of one shape', () => {
  scope(() => {
    const make = (dtype: 'FLOAT' | 'DOUBLE' | 'HALF', shape: number[] = [3, 4]): NDArray => array(new Float64Array(shape.reduce((a, d) => a * d, 1)), shape, { dtype });
    const [p, g, m, v] = [make('FLOAT'), make('FLOAT'), make('FLOAT'), make('FLOAT')];
    assert.equal(adamStepApplies(p, g, m, v), true);
    assert.equal(adamStepApplies(make('HALF'), make('HALF'), make('HALF'), make('HALF')), false, 'HALF');
    assert.equal(adamStepApplies(p, make('DOUBLE'), m, v), false, 'mixed dtypes');
    assert.equal(adamStepApplies(p, make('FLOAT', [4, 3]), m, v), false, 'other shape');
    const square = make('FLOAT', [4, 4]);
    assert.equal(adamStepApplies(square, square.transpose(), make('FLOAT', [4, 4]), make('FLOAT', [4, 4])), false, 'transposed view');
    assert.equal(adamStepApplies(p, g, m, m), false, 'm and v the same array');
    assert.throws(() => adamStep(p, g, m, m, HYPER[0]!), /adamStep: expected four separate contiguous/);
    assert.throws(() => adamStep(p, g, m, v, { ...HYPER[0]!, alpha: NaN }), /adamStep: alpha must be a number/);
  });
});

test('the native adamStep validates its arguments before touching memory', () => {
  const backend = getBackend();
  scope(() => {
    const make = (n: number, dtype: 'FLOAT' | 'DOUBLE' | 'INT32' = 'FLOAT'): NDArray => array(new Float64Array(n), [n], { dtype });
    const [p, g, m, v] = [make(8), make(8), make(8), make(8)];
    const h = HYPER[0]!;
    assert.throws(() => backend.adamStep(p, g, m, make(9), h), /adamStep.*(shapes differ|does not match)/);
    assert.throws(() => backend.adamStep(p, g, m, make(8, 'DOUBLE'), h), /adamStep: v .*DOUBLE.*(one dtype|does not match)/);
    assert.throws(() => backend.adamStep(make(8, 'INT32'), make(8, 'INT32'), make(8, 'INT32'), make(8, 'INT32'), h), /adamStep.*FLOAT or DOUBLE/);
    // Overlapping views of one buffer: m is v shifted by one element.
    const both = make(9);
    const m1 = { ...refOf(both), shape: [8], strides: [1], offset: 0 };
    const v1 = { ...refOf(both), shape: [8], strides: [1], offset: 1 };
    assert.throws(() => backend.adamStep(p, g, m1, v1, h), /adamStep: m and v overlap/);
    assert.throws(() => backend.adamStep(p, g, m, { ...refOf(v), shape: [4], strides: [2] }, h), /adamStep.*(shapes differ|does not match|contiguous)/);
    const wide = make(16);
    assert.throws(() => backend.adamStep(p, g, m, { ...refOf(wide), shape: [8], strides: [2] }, h), /adamStep: v .*must be contiguous/);
    // A view past the end of its buffer.
    assert.throws(() => backend.adamStep(p, g, m, { ...refOf(v), offset: 4 }, h), /adamStep/);
  });
});

test('adamStep keeps memory flat over many steps', () => {
  const n = 1000;
  const ref = problem(n, 1, 3);
  const [p, m, v] = [ref.p, ref.m, ref.v].map((a) => array(a, [n], { dtype: 'FLOAT' })) as [NDArray, NDArray, NDArray];
  const step = (): void => scope(() => noGrad(() => adamStep(p, array(ref.grads[0]!, [n], { dtype: 'FLOAT' }), m, v, HYPER[0]!)));
  for (let i = 0; i < 3; i++) step();
  const before = memoryReport();
  for (let i = 0; i < 50; i++) step();
  const after = memoryReport();
  assert.equal(after.arrays, before.arrays);
  assert.equal(after.totalBytes, before.totalBytes);
  for (const a of [p, m, v]) a.close();
});

/** A plain TensorRef copy of an array's geometry, to build views the front end would not make. */
function refOf(a: NDArray): { buffer: NDArray['buffer']; dtype: NDArray['dtype']; offset: number; shape: readonly number[]; strides: readonly number[] } {
  return { buffer: a.buffer, dtype: a.dtype, offset: a.offset, shape: a.shape, strides: a.strides };
}
