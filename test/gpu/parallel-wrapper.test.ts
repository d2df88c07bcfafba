/**
 * ParallelWrapper on several GPUs through NCCL: SHARED_GRADIENTS with one worker per device equals
 * one model trained on the combined batch, AVERAGING learns, and a failing worker rejects fit().
 * Skips with a message on machines with fewer than two GPUs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nd from '../../src/index.js';
import { configureCuda } from '../../src/backend/cuda/config.js';
import { Rng, assertClose } from '../helpers.js';
import { gpu } from './gpu-env.js';

const deviceCount = 'cuda' in gpu ? (await import('../../src/backend/cuda/device.js')).deviceCount() : 0;
const skip = deviceCount < 2 ? `needs 2 GPUs, this machine has ${deviceCount}` : false;
if (skip) console.log(`# multi-GPU ParallelWrapper tests skipped (${skip})`);

function clusters(rng: Rng, n: number, nIn: number, classes: number): nd.DataSet {
  const x: number[][] = [];
  const y: number[][] = [];
  for (let i = 0; i < n; i++) {
    const c = rng.int(0, classes);
    x.push(Array.from({ length: nIn }, (_, k) => (k % classes === c ? 2 : -0.5) + rng.uniform(-1.2, 1.2)));
    y.push(Array.from({ length: classes }, (_, k) => (k === c ? 1 : 0)));
  }
  return new nd.DataSet(nd.array(x, { dtype: 'DOUBLE' }), nd.array(y, { dtype: 'DOUBLE' }));
}

const conf = (updater: nd.UpdaterConfig): nd.NeuralNetConfiguration => ({
  seed: 3, dataType: 'DOUBLE', updater, l2: 0.001,
  layers: [
    { type: 'dense', nIn: 8, nOut: 16, activation: 'tanh' },
    { type: 'output', nOut: 4, activation: 'softmax', lossFunction: 'MCXENT' },
  ],
});

test('SHARED_GRADIENTS on every GPU (NCCL) equals one model on the combined batch', { skip }, async () => {
  const workers = Math.min(deviceCount, 4);
  configureCuda({ allowMultiGPU: true, devices: [] });
  const ds = clusters(new Rng(5), 8 * workers * 6, 8, 4);
  const net = new nd.MultiLayerNetwork(conf({ type: 'adam', learningRate: 0.02 })).init();
  const ref = net.clone();
  const wrapper = new nd.ParallelWrapper(net, { workers, trainingMode: 'SHARED_GRADIENTS' });
  try {
    assert.deepEqual(wrapper.workerBackends, Array.from({ length: workers }, (_, k) => (k === 0 ? 'cuda' : `cuda:${k}`)));
    await wrapper.fit(new nd.ListDataSetIterator(ds, 8), 2);
  } finally {
    await wrapper.close();
  }
  ref.fit(new nd.ListDataSetIterator(ds, 8 * workers), 2);
  assertClose(net.params().toFlatArray(), ref.params().toFlatArray(), { rtol: 1e-9, atol: 1e-12, message: 'parameters' });
  assert.equal(net.iterationCount, ref.iterationCount);
  [net, ref, ds].forEach((t) => t.close());
  configureCuda({ allowMultiGPU: false });
});

test('AVERAGING every 4 rounds on every GPU learns the task (> 90% held-out accuracy)', { skip }, async () => {
  const workers = Math.min(deviceCount, 4);
  configureCuda({ allowMultiGPU: true, devices: [] });
  const rng = new Rng(9);
  const train = clusters(rng, 16 * workers * 20, 8, 4);
  const held = clusters(rng, 400, 8, 4);
  const net = new nd.MultiLayerNetwork(conf({ type: 'sgd', learningRate: 0.2 })).init();
  const wrapper = new nd.ParallelWrapper(net, { workers, trainingMode: 'AVERAGING', averagingFrequency: 4 });
  try {
    await wrapper.fit(new nd.ListDataSetIterator(train, 16), 3);
  } finally {
    await wrapper.close();
  }
  const accuracy = net.evaluate(new nd.ListDataSetIterator(held, 100)).accuracy();
  assert.ok(accuracy > 0.9, `accuracy ${accuracy}`);
  [net, train, held].forEach((t) => t.close());
  configureCuda({ allowMultiGPU: false });
});
