/**
 * ParallelWrapper and ParallelInference with the network on CUDA, on one device: two workers share
 * it (the shared-memory collective over device arrays, as when workers outnumber devices), and
 * SHARED_GRADIENTS and AVERAGING (frequency 1, Sgd) equal one model trained on the combined batch;
 * inference equals model.output. Skips (and says so) without a GPU. Several devices through NCCL:
 * parallel-wrapper.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nd from '../../src/index.js';
import { gpu } from './gpu-env.js';
import { Rng, assertClose } from '../helpers.js';

const skip = 'skip' in gpu ? gpu.skip : false;

const conf: nd.NeuralNetConfiguration = {
  seed: 21, dataType: 'FLOAT', updater: { type: 'sgd', learningRate: 0.1 }, l2: 0.001,
  layers: [
    { type: 'dense', nIn: 16, nOut: 32, activation: 'relu' },
    { type: 'output', nOut: 4, activation: 'softmax', lossFunction: 'MCXENT' },
  ],
};

function dataset(n: number): nd.DataSet {
  const rng = new Rng(8);
  const x = Array.from({ length: n }, () => Array.from({ length: 16 }, () => rng.uniform(-1, 1)));
  const y = x.map((r) => {
    const c = (r[0]! > 0 ? 1 : 0) + (r[1]! > 0 ? 2 : 0);
    return [0, 1, 2, 3].map((k) => (k === c ? 1 : 0));
  });
  return new nd.DataSet(nd.array(x, { dtype: 'FLOAT' }), nd.array(y, { dtype: 'FLOAT' }));
}

/** Trains with `workers` workers of batch 8 and a reference on batch 8 * workers; compares parameters. */
async function compare(workers: number, trainingMode: nd.TrainingMode, expectedBackends: string[]): Promise<void> {
  const prev = nd.getBackend().name;
  nd.setBackend('cuda');
  try {
    const ds = dataset(8 * workers * 6);
    const net = new nd.MultiLayerNetwork(conf).init();
    const ref = net.clone();
    const wrapper = new nd.ParallelWrapper(net, { workers, trainingMode });
    assert.deepEqual(wrapper.workerBackends, expectedBackends);
    try {
      await wrapper.fit(new nd.ListDataSetIterator(ds, 8), 2);
    } finally {
      await wrapper.close();
    }
    ref.fit(new nd.ListDataSetIterator(ds, 8 * workers), 2);
    assert.equal(net.params().backend.name, 'cuda');
    // float32 sums in another order: close, not equal.
    assertClose(net.params().toFlatArray(), ref.params().toFlatArray(), { rtol: 2e-4, atol: 2e-5, message: `${trainingMode} on ${expectedBackends.join(', ')}` });
    assert.equal(net.iterationCount, 12);
    net.close();
    ref.close();
    ds.close();
  } finally {
    nd.setBackend(prev);
  }
}

test('two workers sharing one GPU (shared-memory collective over device arrays) equal one model on the combined batch', { skip }, async () => {
  await compare(2, 'SHARED_GRADIENTS', ['cuda', 'cuda']);
  await compare(2, 'AVERAGING', ['cuda', 'cuda']);
});

test('ParallelInference on the GPU equals model.output for concurrent callers', { skip }, async () => {
  const prev = nd.getBackend().name;
  nd.setBackend('cuda');
  try {
    const net = new nd.MultiLayerNetwork(conf).init();
    const rng = new Rng(9);
    const xs = Array.from({ length: 24 }, () => nd.array(Array.from({ length: 2 }, () => Array.from({ length: 16 }, () => rng.uniform(-1, 1))), { dtype: 'FLOAT' }));
    const pi = new nd.ParallelInference(net, { workers: 2, batchLimit: 16 });
    try {
      const outs = await Promise.all(xs.map((x) => pi.output(x)));
      outs.forEach((o, i) => {
        assert.equal(o.backend.name, 'cuda');
        assertClose(o.toFlatArray(), net.output(xs[i]!).toFlatArray(), { rtol: 1e-5, atol: 1e-6 });
      });
      assert.ok(pi.stats().batches < 24);
    } finally {
      await pi.close();
    }
    net.close();
  } finally {
    nd.setBackend(prev);
  }
});
