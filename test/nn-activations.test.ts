// Activations: values against float64 references written here with plain JS math, and gradient
// checks in DOUBLE (inputs kept away from each function's kinks).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIVATIONS, activate, array, gradCheck, isActivation, scope, type Activation, type NDArray } from '../src/index.js';
import { Rng } from './helpers.js';

/** erf by its Maclaurin series: converges to double precision for the |x| <= 4 used here. */
function erf(x: number): number {
  let term = x;
  let total = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    total += add;
    if (Math.abs(add) < 1e-17 * Math.abs(total)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * total;
}

const sigmoidRef = (x: number): number => 1 / (1 + Math.exp(-x));
const softplusRef = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const SELU_LAMBDA = 1.0507009873554805;
const SELU_ALPHA = 1.6732632423543772;

function rationalTanhRef(x: number): number {
  const y = (2 * x) / 3;
  const t = Math.sign(y) * (1 - 1 / (1 + Math.abs(y) + y * y + 1.41645 * y ** 4));
  return 1.7159 * t;
}

/** Elementwise references (softmax is checked separately, per row). */
const REF: Record<Exclude<Activation, 'softmax'>, (x: number) => number> = {
  identity: (x) => x,
  relu: (x) => Math.max(0, x),
  relu6: (x) => Math.min(6, Math.max(0, x)),
  leakyrelu: (x) => (x > 0 ? x : 0.01 * x),
  elu: (x) => (x > 0 ? x : Math.expm1(x)),
  selu: (x) => SELU_LAMBDA * (x > 0 ? x : SELU_ALPHA * Math.expm1(x)),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  swish: (x) => x * sigmoidRef(x),
  mish: (x) => x * Math.tanh(softplusRef(x)),
  sigmoid: sigmoidRef,
  hardsigmoid: (x) => Math.min(1, Math.max(0, 0.2 * x + 0.5)),
  tanh: Math.tanh,
  hardtanh: (x) => Math.min(1, Math.max(-1, x)),
  softplus: softplusRef,
  softsign: (x) => x / (1 + Math.abs(x)),
  cube: (x) => x * x * x,
  rationaltanh: rationalTanhRef,
};

/** Where each activation's derivative jumps (gradient checks stay clear of these). */
const KINKS: Partial<Record<Activation, readonly number[]>> = {
  relu: [0], relu6: [0, 6], leakyrelu: [0], elu: [0], selu: [0], hardsigmoid: [-2.5, 2.5], hardtanh: [-1, 1], softsign: [0], rationaltanh: [0],
};

function values(seed: number, n: number, lo: number, hi: number, kinks: readonly number[] = []): Float64Array {
  const rng = new Rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do v = rng.uniform(lo, hi);
    while (kinks.some((k) => Math.abs(v - k) < 0.05));
    out[i] = v;
  }
  return out;
}

function assertClose(name: string, actual: readonly number[], expected: ArrayLike<number>, rtol: number, atol: number): void {
  assert.equal(actual.length, expected.length, `${name}: length`);
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i]!;
    assert.ok(Math.abs(actual[i]! - e) <= atol + rtol * Math.abs(e), `${name}[${i}]: got ${actual[i]}, expected ${e}`);
  }
}

test('every activation name is listed and recognized', () => {
  assert.equal(ACTIVATIONS.length, 18);
  for (const a of ACTIVATIONS) assert.ok(isActivation(a));
  assert.ok(!isActivation('relu7'));
});

test('elementwise activations match float64 references (DOUBLE and FLOAT)', () => {
  for (const name of Object.keys(REF) as Exclude<Activation, 'softmax'>[]) {
    scope(() => {
      const xs = values(11, 60, name === 'relu6' ? -2 : -4, name === 'relu6' ? 8 : 4);
      const expected = Array.from(xs, REF[name]);
      // gelu's reference forms 1 + erf(x) for negative x, which cancels to about 1e-12 relative.
      const rtol = name === 'gelu' ? 1e-10 : 1e-13;
      assertClose(`${name} DOUBLE`, activate(name, array(xs, [6, 10], { dtype: 'DOUBLE' })).toFlatArray(), expected, rtol, 1e-15);
      assertClose(`${name} FLOAT`, activate(name, array(xs, [6, 10], { dtype: 'FLOAT' })).toFlatArray(), expected, 2e-6, 2e-6);
    });
  }
});

test('leakyrelu and elu take alpha', () => {
  scope(() => {
    const xs = values(5, 20, -3, 3);
    const x = array(xs, [20], { dtype: 'DOUBLE' });
    assertClose('leakyrelu(0.3)', activate('leakyrelu', x, { alpha: 0.3 }).toFlatArray(), Array.from(xs, (v) => (v > 0 ? v : 0.3 * v)), 1e-14, 0);
    assertClose('elu(0.5)', activate('elu', x, { alpha: 0.5 }).toFlatArray(), Array.from(xs, (v) => (v > 0 ? v : 0.5 * Math.expm1(v))), 1e-14, 1e-16);
  });
});

test('softmax normalizes along the last axis', () => {
  scope(() => {
    const xs = values(7, 12, -5, 5);
    const expected: number[] = [];
    for (let r = 0; r < 3; r++) {
      const row = Array.from(xs.subarray(r * 4, r * 4 + 4));
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b, 0);
      expected.push(...e.map((v) => v / s));
    }
    assertClose('softmax', activate('softmax', array(xs, [3, 4], { dtype: 'DOUBLE' })).toFlatArray(), expected, 1e-13, 1e-16);
  });
});

test('rationaltanh approximates 1.7159 tanh(2x/3) and saturates at +-1.7159', () => {
  scope(() => {
    const xs = values(3, 40, -6, 6);
    const got = activate('rationaltanh', array(xs, [40], { dtype: 'DOUBLE' })).toFlatArray();
    // The approximation is close to the function it replaces (within 0.03 everywhere).
    got.forEach((v, i) => assert.ok(Math.abs(v - 1.7159 * Math.tanh((2 * xs[i]!) / 3)) < 0.03, `x=${xs[i]}: ${v}`));
    const big = activate('rationaltanh', array([-1e4, 1e4], [2], { dtype: 'DOUBLE' })).toFlatArray();
    assertClose('saturation', big, [-1.7159, 1.7159], 1e-9, 0);
  });
});

test('gradient checks of every activation (DOUBLE)', () => {
  for (const name of ACTIVATIONS) {
    scope(() => {
      const [lo, hi] = name === 'relu6' ? [-1.5, 7.5] : name === 'hardsigmoid' ? [-3.5, 3.5] : [-3, 3];
      const x = array(values(23, 12, lo, hi, KINKS[name] ?? []), [3, 4], { dtype: 'DOUBLE' });
      const r = gradCheck((v: NDArray) => activate(name, v), [x]);
      const w = r.worst;
      assert.ok(r.passed, `${name}: max relative error ${r.maxRelError}${w ? ` at [${w.index.join(', ')}]: analytic ${w.analytic}, numeric ${w.numeric}` : ''}`);
    });
  }
});

test('activate rejects an unknown name', () => {
  scope(() => {
    const x = array([1, 2], [2], { dtype: 'DOUBLE' });
    assert.throws(() => activate('nope' as Activation, x), /unknown activation 'nope'/);
  });
});
