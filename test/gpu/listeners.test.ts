/**
 * CheckpointListener and EvaluativeListener with the network on the GPU: checkpoints restore the
 * exact device state and continue training alike, evaluation inside fit() matches the outputs
 * read back directly, and device memory stays flat while both listeners run. Skips without a GPU.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  array, backendByName, CheckpointListener, DataSet, Evaluation, EvaluativeListener, getBackend, ListDataSetIterator,
  MultiLayerNetwork, setBackend, type Backend,
} from '../../src/index.js';
import { Rng } from '../helpers.js';
import { gpu } from './gpu-env.js';

function dataSet(n: number, seed: number): { ds: DataSet; labels: number[] } {
  const rng = new Rng(seed);
  const xs: number[][] = [];
  const ys: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: 8 }, () => rng.uniform(-1, 1));
    const c = x[0]! + x[1]! > 0 ? (x[2]! > 0 ? 2 : 1) : 0;
    xs.push(x);
    labels.push(c);
    ys.push([0, 1, 2].map((k) => (k === c ? 1 : 0)));
  }
  return { ds: new DataSet(array(xs, { dtype: 'FLOAT' }), array(ys, { dtype: 'FLOAT' })), labels };
}

function network(): MultiLayerNetwork {
  return new MultiLayerNetwork({
    seed: 5, updater: { type: 'adam', learningRate: 0.02 },
    inputType: { type: 'feedForward', size: 8 },
    layers: [
      { type: 'dense', nOut: 32, activation: 'relu' },
      { type: 'output', nOut: 3, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  }).init();
}

function flat(net: MultiLayerNetwork): number[] {
  const p = net.params();
  const v = p.toFlatArray();
  p.close();
  return v;
}

async function run(backend: Backend): Promise<void> {
  const previous = getBackend();
  setBackend(backend.name);
  const dir = mkdtempSync(join(tmpdir(), 'dl4ts-gpu-ckpt-'));
  try {
    const train = dataSet(200, 1);
    const held = dataSet(100, 2);
    const net = network();
    assert.equal(net.paramTable().get('0_W')!.backend, backend);
    const deviceBytes: number[] = [];
    const accuracies: [number, number][] = [];
    const evaluation = new Evaluation();
    net.setListeners(
      new CheckpointListener({ directory: dir, saveEveryNIterations: 5, keepLast: 2, logSaving: false }),
      new EvaluativeListener(new ListDataSetIterator(held.ds, 100), { // one batch: the same rows as the direct output below
        invocationType: 'ITERATION_END', frequency: 5, evaluations: [evaluation],
        onEvaluation: () => {
          deviceBytes.push(backend.memory().bytes);
          const out = net.output(held.ds.features);
          const p = out.toFlatArray();
          out.close();
          const correct = held.labels.filter((c, i) => {
            const row = p.slice(i * 3, i * 3 + 3);
            return row.indexOf(Math.max(...row)) === c;
          }).length;
          accuracies.push([evaluation.accuracy(), correct / 100]);
        },
      }),
    );
    net.fit(new ListDataSetIterator(train.ds, 20), 4); // 40 iterations: 8 evaluations and checkpoints
    assert.equal(accuracies.length, 8);
    for (const [fromListener, direct] of accuracies) assert.equal(fromListener, direct);
    assert.ok(accuracies[7]![0] > 0.8, `held-out accuracy ${accuracies[7]![0]}`);
    assert.equal(deviceBytes[7], deviceBytes[1], `device bytes at evaluations: ${deviceBytes.join(', ')}`);

    const r = await CheckpointListener.loadLastCheckpointMLN(dir);
    assert.ok(r);
    assert.equal(r.paramTable().get('0_W')!.backend, backend);
    assert.deepEqual(flat(r), flat(net));
    // Both continue one more epoch alike (a tolerance: GPU reductions need not be bit-reproducible).
    r.fit(new ListDataSetIterator(train.ds, 20), 1);
    net.setListeners();
    net.fit(new ListDataSetIterator(train.ds, 20), 1);
    const [a, b] = [flat(r), flat(net)];
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= 1e-5 * Math.max(1, Math.abs(v)), `param ${i}: ${v} vs ${b[i]}`));
    for (const x of [r, net, train.ds, held.ds]) x.close();
  } finally {
    setBackend(previous.name);
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('listeners on the GPU', () => {
  if ('skip' in gpu) {
    test(`GPU listener tests (${gpu.skip})`, { skip: gpu.skip }, () => {});
    return;
  }
  const cuda = gpu.cuda;
  test('CheckpointListener + EvaluativeListener: exact restore, matching accuracy, flat device memory', () => run(cuda));
  // The same checks on the CPU, so a GPU-only failure points at the backend.
  test('the same on the CPU', () => run(backendByName('cpu')));
});
