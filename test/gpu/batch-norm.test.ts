/**
 * The fused batch-normalization kernels of the CUDA backend against float64 references computed
 * from the same (dtype-rounded) inputs (test/batch-norm-fixture.ts): outputs, running statistics and the gradients of x,
 * gamma and beta, in every float dtype, for feature, sequence and image inputs, strided x, and a
 * large mean offset (the shifted sums). A DOUBLE gradient check on the GPU itself, and a batch-
 * normalized CNN trained on CUDA with flat device memory. Skips without a GPU.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { array, backendByName, batchNormTraining, DataSet, MultiLayerNetwork, scope, zeros } from '../../src/index.js';
import { Rng } from '../helpers.js';
import { CASES, checkBatchNorm, checkBatchNormGradients } from '../batch-norm-fixture.js';
import { assertFlatDeviceMemory, gpu, onBackend } from './gpu-env.js';

describe('fused batch normalization on the GPU', () => {
  if ('skip' in gpu) {
    test(`GPU batch-normalization tests (${gpu.skip})`, { skip: gpu.skip }, () => {});
    return;
  }
  const cuda = gpu.cuda;
  test('the CUDA backend has the fused kernels and the CPU composes the op', () => {
    const cpu = backendByName('cpu');
    assert.ok(cuda.batchNorm?.supports('HALF'));
    assert.equal(cpu.batchNorm ?? null, null);
  });

  for (const dtype of ['DOUBLE', 'FLOAT', 'HALF', 'BFLOAT16'] as const) {
    for (const c of CASES) {
      test(`${dtype} ${c.name}: output, running statistics and gradients equal a float64 reference`, () => checkBatchNorm(cuda, dtype, c));
    }
  }

  test('DOUBLE gradient check of the fused kernels against central differences on the GPU', () => checkBatchNormGradients(cuda, [2, 3]));

  test('bad operands of the fused kernels get errors naming the shapes', () => {
    const opts = { dtype: 'FLOAT' as const, backend: cuda };
    scope(() => {
      const x = zeros([2, 3, 4], opts);
      const y = zeros([2, 3, 4], opts);
      const stats = zeros([3], opts);
      assert.throws(() => cuda.batchNorm!.forwardTraining(x, zeros([4], opts), stats, y, stats, stats, stats, stats, 1e-5, 0.9),
        /batchNorm forward: gamma FLOAT\[4\] must be FLOAT\[3\]/);
      assert.throws(() => cuda.batchNorm!.forwardTraining(x, stats, stats, zeros([2, 3, 5], opts), stats, stats, stats, stats, 1e-5, 0.9),
        /batchNorm forward: y FLOAT\[2, 3, 5\] must be FLOAT\[2, 3, 4\]/);
      assert.throws(() => batchNormTraining(x, zeros([2], opts), stats, { eps: 1e-5, decay: 0.9, runningMean: stats, runningVar: stats }),
        /batchNormTraining: expected gamma of shape \[3\]/);
    });
  });

  test('FLOAT: a batch-normalized CNN trains on CUDA with flat device memory', () => {
    const rng = new Rng(9);
    const n = 32;
    const xs = Array.from({ length: n * 2 * 8 * 8 }, () => rng.uniform(-1, 1));
    const ys = Array.from({ length: n }, (_, i) => (xs[i * 128]! + xs[i * 128 + 70]! > 0 ? [1, 0] : [0, 1]));
    onBackend(cuda, () => {
      const net = new MultiLayerNetwork({
        seed: 3, updater: { type: 'adam', learningRate: 0.01 }, weightInit: 'RELU',
        inputType: { type: 'convolutional', height: 8, width: 8, channels: 2 },
        layers: [
          { type: 'convolution2d', nOut: 8, kernelSize: 3, activation: 'identity' },
          { type: 'batchNormalization' },
          { type: 'activation', activation: 'relu' },
          { type: 'globalPooling', poolingType: 'avg' },
          { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
        ],
      }).init();
      const ds = new DataSet(array(xs, [n, 2, 8, 8]), array(ys.flat(), [n, 2]));
      const first = net.score(ds);
      for (let i = 0; i < 5; i++) net.fit(ds);
      assertFlatDeviceMemory(cuda, () => {
        for (let i = 0; i < 35; i++) net.fit(ds);
      });
      assert.ok(net.score(ds) < 0.8 * first, `score ${first} -> ${net.score(ds)}`);
      ds.close();
      net.close();
    });
  });
});
