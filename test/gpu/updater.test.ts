/**
 * The fused Adam step (Backend.adamStep, kernels/cuda/updater.cu) on the GPU against the CPU backend
 * from the same start, FLOAT and DOUBLE, over several steps and a size that is not a multiple of a
 * block (networks trained with Adam on the GPU, in the other GPU suites, go through it too); and its
 * argument checks. Skips without a GPU.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { array, backendByName, noGrad, scope, type Backend, type DataType, type NDArray } from '../../src/index.js';
import { adamStep } from '../../src/ops/optimizer.js';
import { Rng } from '../helpers.js';
import { assertNearValues, gpu } from './gpu-env.js';

const HYPER = { beta1: 0.8, beta2: 0.95, epsilon: 1e-4, alpha: 0.02, decay: 1 - 0.02 * 0.1 };

/** Runs four Adam steps on `backend` from fixed data; returns p, m and v. */
function run(backend: Backend, dtype: DataType, n: number): number[][] {
  const rng = new Rng(5);
  const vec = (lo: number, hi: number): number[] => Array.from({ length: n }, () => rng.uniform(lo, hi));
  const [p, m, v] = [vec(-1, 1), vec(-0.1, 0.1), vec(0, 0.01)].map((a) => array(a, [n], { dtype, backend })) as [NDArray, NDArray, NDArray];
  for (let k = 0; k < 4; k++) {
    const gData = vec(-1 - k, 1 + k);
    scope(() => noGrad(() => adamStep(p, array(gData, [n], { dtype, backend }), m, v, HYPER)));
  }
  const out = [p, m, v].map((a) => a.toFlatArray());
  for (const a of [p, m, v]) a.close();
  return out;
}

describe('fused Adam step on the GPU', () => {
  if ('skip' in gpu) {
    test(`GPU tests of adamStep (${gpu.skip})`, { skip: gpu.skip }, () => {});
    return;
  }
  const cuda = gpu.cuda;

  for (const dtype of ['DOUBLE', 'FLOAT'] as const) {
    test(`adamStep on ${dtype} gives the CPU's values`, () => {
      // Both backends round every operation the same way (no FMA contraction): the tolerance only
      // allows for a last-ulp difference.
      const rtol = dtype === 'DOUBLE' ? 1e-15 : 1e-6;
      const n = 70001;
      const cpu = run(backendByName('cpu'), dtype, n);
      const dev = run(cuda, dtype, n);
      ['p', 'm', 'v'].forEach((name, i) => assertNearValues(cpu[i]!, dev[i]!, rtol, `${dtype} ${name}`));
    });
  }

  test('the GPU rejects overlapping or mismatched operands with the op named', () => {
    scope(() => {
      const make = (n: number, dtype: DataType = 'FLOAT'): NDArray => array(new Array<number>(n).fill(0), [n], { dtype, backend: cuda });
      const [p, g, m] = [make(8), make(8), make(8)];
      assert.throws(() => cuda.adamStep(p, g, m, m, HYPER), /adamStep: m and v overlap/);
      assert.throws(() => cuda.adamStep(p, g, m, make(9), HYPER), /adamStep: v FLOAT\[9\] does not match/);
      assert.throws(() => cuda.adamStep(p, g, m, make(8, 'DOUBLE'), HYPER), /adamStep: v DOUBLE\[8\] does not match/);
    });
  });
});

