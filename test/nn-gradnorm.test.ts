// Gradient normalization modes against float64 references computed here with plain loops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyGradientNormalization, array, GRADIENT_NORMALIZATIONS, type GradientNormalization, type NDArray } from '../src/index.js';
import { Rng, assertClose } from './helpers.js';

const SHAPES = { W: [3, 4], b: [4], g: [2, 2, 2] } as const;
type Name = keyof typeof SHAPES;
const NAMES = Object.keys(SHAPES) as Name[];

const l2 = (xs: readonly Float64Array[]): number => {
  let s = 0;
  for (const x of xs) for (const v of x) s += v * v;
  return Math.sqrt(s);
};

/** DL4J's rule for each mode, in float64. */
function reference(mode: GradientNormalization, g: Record<Name, Float64Array>, threshold: number): Record<Name, Float64Array> {
  const out = Object.fromEntries(NAMES.map((n) => [n, Float64Array.from(g[n])])) as Record<Name, Float64Array>;
  const scaleAll = (names: Name[], f: number): void => {
    for (const n of names) for (let i = 0; i < out[n].length; i++) out[n][i]! *= f;
  };
  switch (mode) {
    case 'None':
      break;
    case 'RenormalizeL2PerLayer': {
      const n = l2(NAMES.map((k) => g[k]));
      scaleAll(NAMES, 1 / (n === 0 ? 1e-5 : n));
      break;
    }
    case 'RenormalizeL2PerParamType':
      for (const k of NAMES) {
        const n = l2([g[k]]);
        scaleAll([k], 1 / (n === 0 ? 1e-5 : n));
      }
      break;
    case 'ClipElementWiseAbsoluteValue':
      for (const k of NAMES) for (let i = 0; i < out[k].length; i++) out[k][i] = Math.min(threshold, Math.max(-threshold, out[k][i]!));
      break;
    case 'ClipL2PerLayer': {
      const n = l2(NAMES.map((k) => g[k]));
      if (n > threshold) scaleAll(NAMES, threshold / n);
      break;
    }
    case 'ClipL2PerParamType':
      for (const k of NAMES) {
        const n = l2([g[k]]);
        if (n > threshold) scaleAll([k], threshold / n);
      }
      break;
  }
  return out;
}

function run(mode: GradientNormalization, values: Record<Name, Float64Array>, threshold: number | undefined): void {
  const grads = Object.fromEntries(NAMES.map((n) => [n, array(values[n], SHAPES[n], { dtype: 'DOUBLE' })])) as Record<Name, NDArray>;
  applyGradientNormalization(mode, grads, threshold);
  const expected = reference(mode, values, threshold ?? 1);
  for (const n of NAMES) {
    assert.equal(grads[n].dtype, 'DOUBLE');
    assertClose(grads[n].toFlatArray(), expected[n], { rtol: 1e-13, atol: 1e-15, message: `${mode} (threshold ${threshold}) '${n}'` });
    grads[n].close();
  }
}

function randomGrads(rng: Rng, scale: number): Record<Name, Float64Array> {
  const size = (s: readonly number[]): number => s.reduce((a, d) => a * d, 1);
  return Object.fromEntries(NAMES.map((n) => [n, Float64Array.from({ length: size(SHAPES[n]) }, () => rng.uniform(-scale, scale))])) as Record<Name, Float64Array>;
}

test('every mode matches its float64 reference, with thresholds both above and below the norms', () => {
  const rng = new Rng(11);
  for (const mode of GRADIENT_NORMALIZATIONS) {
    for (const [scale, threshold] of [[3, 0.5], [3, 2], [0.05, 0.5], [1, undefined], [2, 100]] as [number, number | undefined][]) {
      run(mode, randomGrads(rng, scale), threshold);
    }
  }
});

test('per-layer and per-parameter clipping differ: only parameters above the threshold are scaled', () => {
  // 'b' is small and 'W' large: per-parameter clipping leaves b alone, per-layer clipping scales it too.
  const rng = new Rng(12);
  const values = randomGrads(rng, 1);
  values.W = values.W.map((v) => v * 10);
  values.b = values.b.map((v) => v * 0.01);
  run('ClipL2PerParamType', values, 1);
  run('ClipL2PerLayer', values, 1);
  assert.ok(l2([values.b]) < 1 && l2([values.W]) > 1);
});

test('all-zero gradients stay zero (no NaN) under the renormalizing modes', () => {
  const zeros = Object.fromEntries(NAMES.map((n) => [n, new Float64Array(SHAPES[n].reduce((a, d) => a * d, 1))])) as Record<Name, Float64Array>;
  for (const mode of GRADIENT_NORMALIZATIONS) run(mode, zeros, 0.5);
});

test('FLOAT gradients work; bad modes, thresholds and dtypes are refused clearly', () => {
  const g = array([3, 4], [2], { dtype: 'FLOAT' });
  applyGradientNormalization('RenormalizeL2PerLayer', { W: g });
  assertClose(g.toFlatArray(), [0.6, 0.8], { rtol: 1e-6 });
  assert.equal(g.dtype, 'FLOAT');
  assert.throws(() => applyGradientNormalization('ClipL2' as GradientNormalization, { W: g }), /unknown mode 'ClipL2'/);
  assert.throws(() => applyGradientNormalization('ClipL2PerLayer', { W: g }, 0), /threshold must be a positive number/);
  const ints = array([1, 2], [2], { dtype: 'INT32' });
  assert.throws(() => applyGradientNormalization('ClipL2PerLayer', { W: ints }), /gradient 'W' must be floating/);
});
