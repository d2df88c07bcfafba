/**
 * batchNormTraining on the CPU, where it is composed from reductions and elementwise ops (16-bit
 * inputs in float32): outputs, running statistics and gradients against float64 references in every
 * float dtype and layout (the cases the GPU's fused kernels are tested on), and gradient checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendByName, batchNormTraining, zeros } from '../src/index.js';
import { CASES, checkBatchNorm, checkBatchNormGradients } from './batch-norm-fixture.js';

const cpu = backendByName('cpu');

for (const dtype of ['DOUBLE', 'FLOAT', 'HALF', 'BFLOAT16'] as const) {
  for (const c of CASES) {
    test(`batchNormTraining ${dtype} ${c.name}: output, running statistics and gradients equal a float64 reference`, () => checkBatchNorm(cpu, dtype, c));
  }
}

test('batchNormTraining: DOUBLE gradients of x, gamma and beta match central differences', () => checkBatchNormGradients(cpu, [5]));

test('batchNormTraining: bad operands name the op, the shapes and what was expected', () => {
  const opts = { dtype: 'FLOAT' as const, backend: cpu };
  const x = zeros([2, 3, 4], opts);
  const c3 = zeros([3], opts);
  assert.throws(() => batchNormTraining(x, zeros([2], opts), c3, { eps: 1e-5, decay: 0.9, runningMean: c3, runningVar: c3 }), /batchNormTraining: expected gamma of shape \[3\] and dtype FLOAT/);
  assert.throws(() => batchNormTraining(zeros([4], opts), c3, c3, { eps: 1e-5, decay: 0.9, runningMean: c3, runningVar: c3 }), /batchNormTraining: expected x of shape \[N, C, \.\.\.\]/);
  assert.throws(() => batchNormTraining(x, c3, c3, { eps: 0, decay: 0.9, runningMean: c3, runningVar: c3 }), /expected eps > 0/);
  [x, c3].forEach((t) => t.close());
});
