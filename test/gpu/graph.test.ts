/**
 * ComputationGraph on the GPU: a two-input DAG (convolution residual block, merge, two outputs)
 * gives the same score curve on CPU and GPU from the same seed, keeps device memory flat over
 * training, and a ModelSerializer round trip restores it exactly on the device. Skips without a GPU.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  array, backendByName, ComputationGraph, deserializeGraph, getBackend, MultiDataSet, serializeModel, setBackend, type Backend,
} from '../../src/index.js';
import { Rng } from '../helpers.js';
import { gpu } from './gpu-env.js';

function graph(): ComputationGraph {
  return new ComputationGraph({
    seed: 9, updater: { type: 'adam', learningRate: 0.01 }, convolutionMode: 'Same', l2: 1e-4,
    inputs: ['img', 'vec'],
    inputTypes: [{ type: 'convolutional', height: 8, width: 8, channels: 2 }, { type: 'feedForward', size: 5 }],
    vertices: {
      c0: { layer: { type: 'convolution2d', nOut: 8, kernelSize: 3, activation: 'relu' }, inputs: ['img'] },
      c1: { layer: { type: 'convolution2d', nOut: 8, kernelSize: 3, activation: 'identity' }, inputs: ['c0'] },
      res: { vertex: { type: 'elementwise', op: 'add' }, inputs: ['c0', 'c1'] },
      pool: { layer: { type: 'globalPooling', poolingType: 'avg' }, inputs: ['res'] },
      dv: { layer: { type: 'dense', nOut: 8, activation: 'tanh' }, inputs: ['vec'] },
      m: { vertex: { type: 'merge' }, inputs: ['pool', 'dv'] },
      cls: { layer: { type: 'output', nOut: 3, activation: 'softmax', lossFunction: 'MCXENT' }, inputs: ['m'] },
      reg: { layer: { type: 'output', nOut: 1, activation: 'identity', lossFunction: 'MSE' }, inputs: ['dv'] },
    },
    outputs: ['cls', 'reg'],
  }).init();
}

function data(backend: Backend): MultiDataSet {
  const rng = new Rng(3);
  const n = 16;
  const img = Array.from({ length: n * 2 * 64 }, () => rng.uniform(-1, 1));
  const vec = Array.from({ length: n * 5 }, () => rng.uniform(-1, 1));
  const cls = Array.from({ length: n }, (_, i) => [0, 1, 2].map((k) => (k === i % 3 ? 1 : 0)));
  const reg = Array.from({ length: n }, () => [rng.uniform(-1, 1)]);
  const o = { dtype: 'FLOAT' as const, backend };
  return new MultiDataSet([array(img, [n, 2, 8, 8], o), array(vec, [n, 5], o)], [array(cls, o), array(reg, o)]);
}

function flat(g: ComputationGraph): number[] {
  const p = g.params();
  const v = p.toFlatArray();
  p.close();
  return v;
}

/** Score after each of `steps` fit steps, and the device bytes after steps 5 and `steps`. */
function train(backend: Backend, steps: number): { scores: number[]; bytes: number[]; g: ComputationGraph; mds: MultiDataSet } {
  const g = graph();
  assert.equal(g.paramTable().get('c0_W')!.backend, backend);
  const mds = data(backend);
  const scores: number[] = [];
  const bytes: number[] = [];
  g.setListeners({
    iterationDone: (m, it) => {
      scores.push(m.score());
      if (it === 4 || it === steps - 1) bytes.push(backend.memory().bytes);
    },
  });
  g.fit(mds, steps);
  g.setListeners();
  return { scores, bytes, g, mds };
}

function run(backend: Backend, reference: number[] | null): number[] {
  const previous = getBackend();
  setBackend(backend.name);
  try {
    const { scores, bytes, g, mds } = train(backend, 30);
    assert.equal(bytes[1], bytes[0], `device bytes after steps 5 and 30: ${bytes.join(', ')}`);
    if (reference) scores.forEach((s, i) => assert.ok(Math.abs(s - reference[i]!) <= 1e-3 * Math.max(1, Math.abs(s)), `step ${i}: ${s} vs cpu ${reference[i]}`));
    const back = deserializeGraph(serializeModel(g), 'graph on device').graph;
    assert.equal(back.paramTable().get('c0_W')!.backend, backend);
    assert.deepEqual(flat(back), flat(g));
    const outs = (m: ComputationGraph): number[][] => m.output(...mds.features).map((o) => {
      const v = o.toFlatArray();
      o.close();
      return v;
    });
    assert.deepEqual(outs(back), outs(g));
    for (const x of [back, g, mds]) x.close();
    return scores;
  } finally {
    setBackend(previous.name);
  }
}

describe('ComputationGraph on the GPU', () => {
  if ('skip' in gpu) {
    test(`GPU graph tests (${gpu.skip})`, { skip: gpu.skip }, () => {});
    return;
  }
  const cuda = gpu.cuda;
  test('same score curve as the CPU, flat device memory, exact serializer round trip', () => {
    const onCpu = run(backendByName('cpu'), null);
    run(cuda, onCpu);
  });
});
