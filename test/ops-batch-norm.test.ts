/**
 * batchNormTraining on the CPU, where it is composed from reductions and elementwise ops (16-bit
 * inputs in float32): outputs, running statistics and gradients against float64 references in every
 * float dtype and layout (the cases the GPU's fused kernels are tested on), and gradient checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { array, backendByName, batchNormTraining, gradCheck, ones, zeros, type NDArray } from '../src/index.js';
import { CASES, checkBatchNorm } from './batch-norm-fixture.js';
import { Rng } from './helpers.js';

const cpu = backendByName('cpu');

for (const dtype of ['DOUBLE', 'FLOAT', 'HALF', 'BFLOAT16'] as const) {
  for (const c of CASES) {
    test(`batchNormTraining ${dtype} ${c.name}: output, running statistics and gradients equal a float64 reference`, () => checkBatchNorm(cpu, dtype, c));
  }
}

test('batchNormTraining: DOUBLE gradients of x, gamma and beta match central differences', () => {
  const rng = new Rng(5);
  const opts = { dtype: 'DOUBLE' as const, backend: cpu };
  const x = array(Array.from({ length: 3 * 4 * 5 }, () => rng.uniform(-2, 2)), [3, 4, 5], opts);
  const gamma = array([0.7, 1.3, -0.4, 1], [4], opts);
  const beta = array([0.1, -0.2, 0.3, 0], [4], opts);
  const result = gradCheck((xs: NDArray, g: NDArray, b: NDArray) =>
    batchNormTraining(xs, g, b, { eps: 1e-5, decay: 0.9, runningMean: zeros([4], opts), runningVar: ones([4], opts) }), [x, gamma, beta]);
  assert.ok(result.passed, `max relative error ${result.maxRelError}`);
  [x, gamma, beta].forEach((t) => t.close());
});

test('batchNormTraining: bad operands name the op, the shapes and what was expected', () => {
  const opts = { dtype: 'FLOAT' as const, backend: cpu };
  const x = zeros([2, 3, 4], opts);
  const c3 = zeros([3], opts);
  assert.throws(() => batchNormTraining(x, zeros([2], opts), c3, { eps: 1e-5, decay: 0.9, runningMean: c3, runningVar: c3 }), /batchNormTraining: expected gamma of shape \[3\] and dtype FLOAT/);
  assert.throws(() => batchNormTraining(zeros([4], opts), c3, c3, { eps: 1e-5, decay: 0.9, runningMean: c3, runningVar: c3 }), /batchNormTraining: expected x of shape \[N, C, \.\.\.\]/);
  assert.throws(() => batchNormTraining(x, c3, c3, { eps: 0, decay: 0.9, runningMean: c3, runningVar: c3 }), /expected eps > 0/);
  [x, c3].forEach((t) => t.close());
});
