/**
 * Truncated BPTT and the rnnToCnn / cnnToRnn preprocessors on the GPU: the same parameters after
 * training segment by segment (DOUBLE, padded sequences, back length shorter than the segments) as
 * on the CPU from the same start, and flat device memory over FLOAT training. Skips without a GPU.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  array, backendByName, DataSet, memoryReport, MultiLayerNetwork, scope,
  type DataType, type NeuralNetConfiguration,
} from '../../src/index.js';
import { Rng } from '../helpers.js';
import { gpu, onBackend } from './gpu-env.js';

const [N, T, C, H, W] = [3, 7, 2, 3, 3];

function conf(dataType: DataType): NeuralNetConfiguration {
  return {
    seed: 6, dataType, updater: { type: 'adam', learningRate: 0.02 }, inputType: { type: 'recurrent', size: C * H * W },
    backpropType: 'TruncatedBPTT', tbpttFwdLength: 3, tbpttBackLength: 2,
    layers: [
      { type: 'convolution2d', nOut: 2, kernelSize: [2, 2], activation: 'tanh' },
      { type: 'lstm', nOut: 4 },
      { type: 'rnnOutput', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
    inputPreProcessors: { 0: { type: 'rnnToCnn', height: H, width: W, channels: C }, 1: { type: 'cnnToRnn' } },
  };
}


function dataSet(dtype: DataType): DataSet {
  const rng = new Rng(2);
  const x = Array.from({ length: N * C * H * W * T }, () => rng.uniform(-1, 1));
  const y = Array.from({ length: N * T }, () => rng.int(0, 2));
  const labels = Array.from({ length: N }, (_, n) => [0, 1].flatMap((k) => Array.from({ length: T }, (_, t) => (y[n * T + t] === k ? 1 : 0)))).flat();
  const mask = [7, 5, 2].flatMap((len) => Array.from({ length: T }, (_, t) => (t < len ? 1 : 0)));
  const m = array(mask, [N, T], { dtype });
  return new DataSet(array(x, [N, C * H * W, T], { dtype }), array(labels, [N, 2, T], { dtype }), m, m.dup());
}

describe('truncated BPTT and rnn/cnn preprocessors on the GPU', () => {
  if ('skip' in gpu) {
    test(`GPU tests of truncated BPTT (${gpu.skip})`, { skip: gpu.skip }, () => {});
    return;
  }
  const cuda = gpu.cuda;
  const cpu = backendByName('cpu');

  test('DOUBLE: segment-by-segment training gives the CPU parameters', () => {
    const [a, b] = [cpu, cuda].map((backend) => onBackend(backend, () => {
      const net = new MultiLayerNetwork(conf('DOUBLE')).init();
      const rng = new Rng(3);
      scope(() => net.setParams(array(Array.from({ length: net.numParams() }, () => rng.uniform(-0.5, 0.5)), { dtype: 'DOUBLE' })));
      const ds = dataSet('DOUBLE');
      net.fit(ds, 3);
      const result = { params: net.params().toFlatArray(), iterations: net.iterationCount };
      ds.close();
      net.close();
      return result;
    }));
    assert.equal(a!.iterations, 9);
    assert.equal(b!.iterations, 9);
    a!.params.forEach((v, i) => assert.ok(Math.abs(v - b!.params[i]!) <= 1e-9 * Math.max(1, Math.abs(v)), `param ${i}: cpu ${v} vs gpu ${b!.params[i]}`));
  });

  test('FLOAT: device memory stays flat over truncated BPTT training', () => {
    onBackend(cuda, () => {
      const net = new MultiLayerNetwork(conf('FLOAT')).init();
      const ds = dataSet('FLOAT');
      net.fit(ds, 2);
      const before = memoryReport();
      net.fit(ds, 10);
      const after = memoryReport();
      assert.equal(after.arrays, before.arrays);
      assert.equal(after.totalBytes, before.totalBytes);
      ds.close();
      net.close();
    });
  });
});
