// Loss functions: scores against float64 references computed here with plain JS loops (DL4J's
// score: per-example sums of weighted, masked per-output losses, averaged over examples), the
// numerically stable fused paths at extreme logits, and gradient checks in DOUBLE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LOSS_FUNCTIONS, array, computeLoss, computeScoreArray, gradCheck, scope, type Activation, type LossFunction, type NDArray,
} from '../src/index.js';
import { Rng } from './helpers.js';

const N = 4;
const C = 3;

// ---- references ---------------------------------------------------------------------------------

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

function activateRef(activation: Activation, z: Float64Array): Float64Array {
  const out = new Float64Array(z.length);
  if (activation === 'softmax') {
    for (let r = 0; r < N; r++) {
      let m = -Infinity;
      for (let j = 0; j < C; j++) m = Math.max(m, z[r * C + j]!);
      let s = 0;
      for (let j = 0; j < C; j++) s += Math.exp(z[r * C + j]! - m);
      for (let j = 0; j < C; j++) out[r * C + j] = Math.exp(z[r * C + j]! - m) / s;
    }
    return out;
  }
  const f = activation === 'sigmoid' ? sigmoid : activation === 'softplus' ? softplus : activation === 'tanh' ? Math.tanh : (v: number) => v;
  for (let i = 0; i < z.length; i++) out[i] = f(z[i]!);
  return out;
}

/** Per-output loss of label y and prediction p (cosine proximity handled by the caller). */
function elementRef(loss: LossFunction, y: number, p: number): number {
  switch (loss) {
    case 'MCXENT': case 'NEGATIVELOGLIKELIHOOD': return -y * Math.log(p);
    case 'XENT': return -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
    case 'L2': return (p - y) ** 2;
    case 'MSE': return (p - y) ** 2 / C;
    case 'L1': return Math.abs(p - y);
    case 'MEAN_ABSOLUTE_ERROR': case 'MAE': return Math.abs(p - y) / C;
    case 'HINGE': return Math.max(0, 1 - y * p);
    case 'SQUARED_HINGE': return Math.max(0, 1 - y * p) ** 2;
    case 'KL_DIVERGENCE': return y * Math.log(y / p);
    case 'POISSON': return p - y * Math.log(p);
    case 'MEAN_ABSOLUTE_PERCENTAGE_ERROR': case 'MAPE': return (100 * Math.abs((y - p) / y)) / C;
    case 'MEAN_SQUARED_LOGARITHMIC_ERROR': case 'MSLE': return Math.log((p + 1) / (y + 1)) ** 2 / C;
    default: throw new Error(`no elementwise reference for ${loss}`);
  }
}

interface Case {
  loss: LossFunction;
  activation: Activation;
  labels: Float64Array;
  z: Float64Array;
}

/** The reference score array [N] and mean score. */
function scoreRef(c: Case, weights?: Float64Array, mask?: Float64Array): { perExample: number[]; score: number } {
  const p = activateRef(c.activation, c.z);
  const perExample: number[] = [];
  for (let r = 0; r < N; r++) {
    let ny = 0;
    let np = 0;
    for (let j = 0; j < C; j++) {
      ny += c.labels[r * C + j]! ** 2;
      np += p[r * C + j]! ** 2;
    }
    let s = 0;
    for (let j = 0; j < C; j++) {
      const y = c.labels[r * C + j]!;
      const pj = p[r * C + j]!;
      let e = c.loss === 'COSINE_PROXIMITY' ? -(y * pj) / Math.sqrt(ny * np) : elementRef(c.loss, y, pj);
      if (weights) e *= weights[j]!;
      if (mask) e *= mask.length === N ? mask[r]! : mask[r * C + j]!;
      s += e;
    }
    perExample.push(s);
  }
  return { perExample, score: perExample.reduce((a, b) => a + b, 0) / N };
}

// ---- cases ----------------------------------------------------------------------------------------

function uniformValues(rng: Rng, n: number, lo: number, hi: number): Float64Array {
  return rng.fill(n, lo, hi);
}

function oneHot(rng: Rng): Float64Array {
  const out = new Float64Array(N * C);
  for (let r = 0; r < N; r++) out[r * C + rng.int(0, C)] = 1;
  return out;
}

function distribution(rng: Rng): Float64Array {
  const out = rng.fill(N * C, 0.1, 1);
  for (let r = 0; r < N; r++) {
    let s = 0;
    for (let j = 0; j < C; j++) s += out[r * C + j]!;
    for (let j = 0; j < C; j++) out[r * C + j]! /= s;
  }
  return out;
}

/** Hinge pre-outputs kept 0.1 away from the kink 1 - y z = 0. */
function hingeZ(rng: Rng, labels: Float64Array): Float64Array {
  const z = new Float64Array(N * C);
  for (let i = 0; i < z.length; i++) {
    let v: number;
    do v = rng.uniform(-2, 2);
    while (Math.abs(1 - labels[i]! * v) < 0.1);
    z[i] = v;
  }
  return z;
}

function makeCase(loss: LossFunction, seed: number): Case {
  const rng = new Rng(seed);
  const z = uniformValues(rng, N * C, -2, 2);
  switch (loss) {
    case 'MCXENT': case 'NEGATIVELOGLIKELIHOOD': return { loss, activation: 'softmax', labels: seed % 2 ? oneHot(rng) : distribution(rng), z };
    case 'XENT': return { loss, activation: 'sigmoid', labels: rng.fill(N * C, 0, 1), z };
    case 'KL_DIVERGENCE': return { loss, activation: 'softmax', labels: distribution(rng), z };
    case 'HINGE': case 'SQUARED_HINGE': {
      const labels = Float64Array.from({ length: N * C }, () => (rng.next() < 0.5 ? -1 : 1));
      return { loss, activation: 'identity', labels, z: hingeZ(rng, labels) };
    }
    case 'POISSON': return { loss, activation: 'softplus', labels: Float64Array.from({ length: N * C }, () => rng.int(0, 5)), z };
    case 'MEAN_ABSOLUTE_PERCENTAGE_ERROR': case 'MAPE': return { loss, activation: 'identity', labels: rng.fill(N * C, 1, 2), z };
    case 'MEAN_SQUARED_LOGARITHMIC_ERROR': case 'MSLE': return { loss, activation: 'softplus', labels: rng.fill(N * C, 0, 2), z };
    case 'L1': case 'MEAN_ABSOLUTE_ERROR': case 'MAE': {
      // Predictions kept 0.05 away from the labels (|.| has a kink there).
      const labels = rng.fill(N * C, -1, 1);
      const zz = Float64Array.from(labels, (y) => y + (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.05, 1));
      return { loss, activation: 'identity', labels, z: zz };
    }
    default: return { loss, activation: loss === 'MSE' ? 'tanh' : 'identity', labels: rng.fill(N * C, -1, 1), z };
  }
}

const WEIGHTS = Float64Array.from([0.5, 2, 1.25]);
const EXAMPLE_MASK = Float64Array.from([1, 0, 1, 1]);
const OUTPUT_MASK = Float64Array.from([1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1]);

const dbl = (v: Float64Array, shape: number[]): NDArray => array(v, shape, { dtype: 'DOUBLE' });

function close(name: string, actual: number, expected: number, rtol = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= rtol * Math.max(1, Math.abs(expected)), `${name}: got ${actual}, expected ${expected}`);
}

type Variant = 'plain' | 'weights+exampleMask' | 'outputMask';
const VARIANTS: readonly Variant[] = ['plain', 'weights+exampleMask', 'outputMask'];

function extras(v: Variant): { weights?: Float64Array; mask?: Float64Array } {
  return v === 'plain' ? {} : v === 'outputMask' ? { mask: OUTPUT_MASK } : { weights: WEIGHTS, mask: EXAMPLE_MASK };
}

// ---- tests ----------------------------------------------------------------------------------------

test('every loss function matches its float64 reference, with per-output weights and masks', () => {
  LOSS_FUNCTIONS.forEach((loss, k) => {
    for (const variant of VARIANTS) {
      scope(() => {
        const c = makeCase(loss, 100 + k);
        const { weights, mask } = extras(variant);
        const ref = scoreRef(c, weights, mask);
        const input = {
          labels: dbl(c.labels, [N, C]), preOutput: dbl(c.z, [N, C]), activation: c.activation,
          ...(weights ? { weights: dbl(weights, [C]) } : {}),
          ...(mask ? { mask: dbl(mask, mask.length === N ? [N] : [N, C]) } : {}),
        };
        const score = computeLoss(loss, input);
        assert.equal(score.rank, 0, `${loss}: the score is a scalar`);
        close(`${loss} ${variant}`, score.item(), ref.score);
        computeScoreArray(loss, input).toFlatArray().forEach((v, i) => close(`${loss} ${variant} example ${i}`, v, ref.perExample[i]!));
        // The same loss from the activated output (DL4J's other entry point): the non-fused path.
        const output = dbl(activateRef(c.activation, c.z), [N, C]);
        const fromOutput = computeLoss(loss, { ...input, preOutput: undefined, activation: undefined, output });
        close(`${loss} ${variant} from output`, fromOutput.item(), ref.score, 1e-10);
      });
    }
  });
});

test('FLOAT inputs give the float64 score to float precision', () => {
  for (const loss of ['MCXENT', 'XENT', 'MSE', 'COSINE_PROXIMITY'] as const) {
    scope(() => {
      const c = makeCase(loss, 7);
      const ref = scoreRef(c, WEIGHTS, EXAMPLE_MASK);
      const f32 = (v: Float64Array, shape: number[]): NDArray => array(v, shape, { dtype: 'FLOAT' });
      const score = computeLoss(loss, {
        labels: f32(c.labels, [N, C]), preOutput: f32(c.z, [N, C]), activation: c.activation, weights: f32(WEIGHTS, [C]), mask: f32(EXAMPLE_MASK, [N]),
      });
      assert.equal(score.dtype, 'FLOAT');
      close(`${loss} FLOAT`, score.item(), ref.score, 1e-5);
    });
  }
});

test('fused softmax/MCXENT and sigmoid/XENT stay finite and exact at extreme logits', () => {
  scope(() => {
    // Softmax of [0, 1000, -1000]: the true class 0 has log-probability exactly -1000.
    const labels = dbl(Float64Array.from([1, 0, 0]), [1, 3]);
    const z = dbl(Float64Array.from([0, 1000, -1000]), [1, 3]);
    close('MCXENT', computeLoss('MCXENT', { labels, preOutput: z, activation: 'softmax' }).item(), 1000);
    // XENT with label 1 at z = -60: -log(sigmoid(-60)) = 60 + log1p(e^-60); label 0 at z = 80: 80 + log1p(e^-80).
    const y2 = dbl(Float64Array.from([1, 0]), [1, 2]);
    const z2 = dbl(Float64Array.from([-60, 80]), [1, 2]);
    close('XENT', computeLoss('XENT', { labels: y2, preOutput: z2, activation: 'sigmoid' }).item(), 60 + Math.log1p(Math.exp(-60)) + 80 + Math.log1p(Math.exp(-80)));
  });
});

test('gradient checks of every loss with respect to the pre-output (DOUBLE), with weights and masks', () => {
  LOSS_FUNCTIONS.forEach((loss, k) => {
    for (const variant of VARIANTS) {
      scope(() => {
        const c = makeCase(loss, 200 + k);
        const { weights, mask } = extras(variant);
        const labels = dbl(c.labels, [N, C]);
        const w = weights ? dbl(weights, [C]) : undefined;
        const m = mask ? dbl(mask, mask.length === N ? [N] : [N, C]) : undefined;
        const r = gradCheck(
          (z: NDArray) => computeLoss(loss, { labels, preOutput: z, activation: c.activation, ...(w ? { weights: w } : {}), ...(m ? { mask: m } : {}) }),
          [dbl(c.z, [N, C])],
        );
        const worst = r.worst;
        assert.ok(r.passed, `${loss} ${variant}: max relative error ${r.maxRelError}${worst ? ` at [${worst.index.join(', ')}]: analytic ${worst.analytic}, numeric ${worst.numeric}` : ''}`);
      });
    }
  });
});

test('computeLoss reports bad inputs clearly', () => {
  scope(() => {
    const y = dbl(new Float64Array(6), [2, 3]);
    const z = dbl(new Float64Array(6), [2, 3]);
    assert.throws(() => computeLoss('MSE', { labels: y }), /exactly one of preOutput and output/);
    assert.throws(() => computeLoss('MSE', { labels: y, preOutput: z, output: z }), /exactly one of preOutput and output/);
    assert.throws(() => computeLoss('MSE', { labels: y, preOutput: dbl(new Float64Array(4), [2, 2]) }), /labels \[2, 3\] and preOutput \[2, 2\]/);
    assert.throws(() => computeLoss('MSE', { labels: y, preOutput: z, weights: dbl(new Float64Array(2), [2]) }), /weights must be per output, \[3\]/);
    assert.throws(() => computeLoss('MSE', { labels: y, preOutput: z, mask: dbl(new Float64Array(3), [3]) }), /mask must be per example \[2\] or per output \[2, 3\]/);
    assert.throws(() => computeLoss('MSE', { labels: y, output: z, activation: 'tanh' }), /already activated output/);
    assert.throws(() => computeLoss('NOPE' as LossFunction, { labels: y, preOutput: z }), /unknown loss function 'NOPE'/);
  });
});
