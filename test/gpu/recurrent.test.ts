/**
 * The sequence layers on the GPU (embeddingSequence, LSTM, dense per time step, Bidirectional,
 * SimpleRnn, rnnOutput; masks; LastTimeStep; rnnTimeStep): the same score, gradients and outputs
 * as on the CPU from the same parameters, and FLOAT training on CUDA lowers the loss with flat
 * device memory. Skips without a GPU.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  array, backendByName, DataSet, MultiLayerNetwork, scope,
  type DataType, type NeuralNetConfiguration,
} from '../../src/index.js';
import { Rng } from '../helpers.js';
import { assertFlatDeviceMemory, assertNearValues, gpu, onBackend } from './gpu-env.js';

const N = 4;
const T = 6;

function conf(dataType: DataType): NeuralNetConfiguration {
  return {
    seed: 4, dataType, updater: { type: 'adam', learningRate: 0.02 }, l2: 0.001,
    layers: [
      { type: 'embeddingSequence', nIn: 7, nOut: 5, hasBias: true, activation: 'identity' },
      { type: 'lstm', nOut: 6 },
      { type: 'dense', nOut: 5, activation: 'tanh' },
      { type: 'bidirectional', mode: 'CONCAT', layer: { type: 'simpleRnn', nOut: 4 } },
      { type: 'bidirectional', mode: 'AVERAGE', layer: { type: 'lstm', nOut: 4, gateActivationFunction: 'hardsigmoid' } },
      { type: 'rnnOutput', nOut: 3, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  };
}

function data(n: number): { idx: number[][]; y: number[]; mask: number[][] } {
  const rng = new Rng(7);
  const idx = Array.from({ length: n }, () => Array.from({ length: T }, () => rng.int(0, 7)));
  const lengths = idx.map(() => rng.int(2, T + 1));
  const mask = lengths.map((len) => Array.from({ length: T }, (_, t) => (t < len ? 1 : 0)));
  // Class of each step: its token mod 3, laid out [N, 3, T].
  const y = idx.flatMap((row) => [0, 1, 2].flatMap((c) => row.map((v) => (v % 3 === c ? 1 : 0))));
  return { idx, y, mask };
}



describe('sequence layers on the GPU', () => {
  if ('skip' in gpu) {
    test(`GPU tests of the sequence layers (${gpu.skip})`, { skip: gpu.skip }, () => {});
    return;
  }
  const cuda = gpu.cuda;
  const cpu = backendByName('cpu');

  test('DOUBLE: masked score, every gradient, outputs, LastTimeStep and rnnTimeStep equal the CPU', () => {
    const { idx, y, mask } = data(N);
    const results = [cpu, cuda].map((backend) => onBackend(backend, () => {
      const net = new MultiLayerNetwork(conf('DOUBLE')).init();
      const rng = new Rng(3);
      scope(() => net.setParams(array(Array.from({ length: net.numParams() }, () => rng.uniform(-0.5, 0.5)), { dtype: 'DOUBLE' })));
      const m = array(mask, { dtype: 'DOUBLE' });
      const ds = new DataSet(array(idx, { dtype: 'DOUBLE' }), array(y, [N, 3, T], { dtype: 'DOUBLE' }), m, m.dup());
      const score = net.computeGradientAndScore(ds);
      const grads = [...net.gradient().values()].flatMap((g) => g.toFlatArray());
      const out = scope(() => net.output(ds.features, false, ds.featuresMask).toFlatArray());
      ds.close();
      net.close();
      const last = new MultiLayerNetwork({
        seed: 5, dataType: 'DOUBLE',
        layers: [{ type: 'embeddingSequence', nIn: 7, nOut: 3 }, { type: 'lastTimeStep', layer: { type: 'lstm', nOut: 3 } }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }],
      }).init();
      const lastOut = scope(() => last.output(array(idx, { dtype: 'DOUBLE' }), false, array(mask, { dtype: 'DOUBLE' })).toFlatArray());
      const steps = scope(() => [0, 1, 2].flatMap((t) => last.rnnTimeStep(array(idx.map((r) => [r[t]!]), { dtype: 'DOUBLE' })).toFlatArray()));
      last.close();
      return { score, grads, out, steps, lastOut };
    }));
    const [c, g] = results as [typeof results[0], typeof results[0]];
    assertNearValues([c.score], [g.score], 1e-9, 'score');
    assertNearValues(c.grads, g.grads, 1e-8, 'gradient');
    assertNearValues(c.out, g.out, 1e-9, 'output');
    assertNearValues(c.steps, g.steps, 1e-9, 'rnnTimeStep');
    assertNearValues(c.lastOut, g.lastOut, 1e-9, 'lastTimeStep');
  });

  test('FLOAT: 40 masked steps on CUDA lower the loss; arrays and device memory stay flat', () => {
    const { idx, y, mask } = data(32);
    onBackend(cuda, () => {
      const net = new MultiLayerNetwork(conf('FLOAT')).init();
      assert.equal(net.paramTable().get('1_RW')!.backend, cuda);
      const m = array(mask, { dtype: 'FLOAT' });
      const ds = new DataSet(array(idx, { dtype: 'FLOAT' }), array(y, [32, 3, T], { dtype: 'FLOAT' }), m, m.dup());
      const before = net.score(ds);
      net.fit(ds, 5);
      assertFlatDeviceMemory(cuda, () => net.fit(ds, 35));
      const after = net.score(ds);
      assert.ok(after < before * 0.7, `score ${before} -> ${after}`);
      ds.close();
      net.close();
    });
  });
});
