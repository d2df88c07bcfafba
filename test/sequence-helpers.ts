// Helpers of the sequence-layer tests: NCW arrays from nested JS arrays, parameter access and
// randomization, and parameter gradients against central differences of the score.
import assert from 'node:assert/strict';
import { array, noGrad, scope, type DataSet, type MultiLayerNetwork, type NDArray } from '../src/index.js';
import { assertClose, type Rng } from './helpers.js';

/** [N][C][T]. */
export type Seq = number[][][];

export const seqArray = (x: Seq, dtype: 'DOUBLE' | 'FLOAT' = 'DOUBLE'): NDArray => array(x.flat(2), { dtype }).reshape([x.length, x[0]!.length, x[0]![0]!.length]);
export const flatParams = (net: MultiLayerNetwork, key: string): number[] => net.paramTable().get(key)!.toFlatArray();

/** Overwrites every parameter with values uniform in [-0.6, 0.6) (biases included, so they are exercised). */
export function randomizeParams(net: MultiLayerNetwork, rng: Rng): void {
  const n = net.numParams();
  scope(() => net.setParams(array(rng.fill(n, -0.6, 0.6), { dtype: net.resolved.dataType })));
}

/**
 * Analytic parameter gradients of the score against central differences, each element perturbed in
 * place. Every parameter's gradient must be non-zero somewhere, except those named in `zero`, which
 * must be zero everywhere.
 */
export function checkParamGradients(net: MultiLayerNetwork, ds: DataSet, zero: readonly string[] = []): void {
  net.computeGradientAndScore(ds);
  const grads = net.gradient();
  const eps = 1e-6;
  for (const [key, p] of net.paramTable()) {
    // Non-trainable state (batch normalization's running statistics) has no gradient.
    const g = grads.get(key);
    if (!g) continue;
    const analytic = g.toFlatArray();
    // A parameter with an all-zero gradient would pass trivially: every one must matter to the score.
    const nonZero = analytic.some((v) => Math.abs(v) > 1e-6);
    assert.equal(nonZero, !zero.includes(key), `${key}: the gradient is ${nonZero ? 'not ' : ''}zero`);
    const numeric = scope(() => {
      const flat = p.share().reshape([p.size]);
      return analytic.map((_, k) => scope(() => {
        const cell = flat.get(k);
        const v0 = cell.item();
        const at = (v: number): number => {
          noGrad(() => cell.assign(v));
          return net.score(ds, true);
        };
        const d = (at(v0 + eps) - at(v0 - eps)) / (2 * eps);
        noGrad(() => cell.assign(v0));
        return d;
      }));
    });
    assertClose(analytic, numeric, { rtol: 1e-5, atol: 1e-8, message: key });
  }
}
