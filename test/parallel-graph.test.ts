// ParallelWrapper with a ComputationGraph: a two-input, two-output graph over MultiDataSets in
// SHARED_GRADIENTS, and a single-input graph over DataSets in AVERAGING (frequency 1, Sgd), each equal
// to the graph trained on the combined batch; a MultiLayerNetwork refuses MultiDataSets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ComputationGraph, MultiLayerNetwork, MultiDataSet, DataSet, ListDataSetIterator, ParallelWrapper, array,
  type ComputationGraphConfiguration, type BatchIterator, type NDArray,
} from '../src/index.js';
import { Rng, assertClose } from './helpers.js';

const d64 = (rows: number[][]): NDArray => array(rows, { dtype: 'DOUBLE' });

/** MultiDataSets of `batch` consecutive examples, built fresh on each next() (the consumer closes them). */
class Batches implements BatchIterator<MultiDataSet> {
  readonly resetSupported = true;
  private cursor = 0;
  constructor(private readonly columns: { features: number[][][]; labels: number[][][] }, private readonly batch: number) {}
  hasNext(): boolean {
    return this.cursor < this.columns.features[0]!.length;
  }
  next(): MultiDataSet {
    const [from, to] = [this.cursor, Math.min(this.cursor + this.batch, this.columns.features[0]!.length)];
    this.cursor = to;
    return new MultiDataSet(this.columns.features.map((f) => d64(f.slice(from, to))), this.columns.labels.map((l) => d64(l.slice(from, to))));
  }
  reset(): void {
    this.cursor = 0;
  }
}

function rows(rng: Rng, n: number, width: number, oneHot = false): number[][] {
  return Array.from({ length: n }, () => {
    if (!oneHot) return Array.from({ length: width }, () => rng.uniform(-1, 1));
    const c = rng.int(0, width);
    return Array.from({ length: width }, (_, k) => (k === c ? 1 : 0));
  });
}

const dag: ComputationGraphConfiguration = {
  seed: 13, dataType: 'DOUBLE', updater: { type: 'adam', learningRate: 0.05 }, l2: 0.01,
  inputs: ['a', 'b'],
  inputTypes: [{ type: 'feedForward', size: 3 }, { type: 'feedForward', size: 2 }],
  vertices: {
    da: { layer: { type: 'dense', nOut: 4, activation: 'tanh' }, inputs: ['a'] },
    db: { layer: { type: 'dense', nOut: 4, activation: 'sigmoid' }, inputs: ['b'] },
    m: { vertex: { type: 'merge' }, inputs: ['da', 'db'] },
    out1: { layer: { type: 'output', nOut: 3, activation: 'softmax', lossFunction: 'MCXENT' }, inputs: ['m'] },
    out2: { layer: { type: 'output', nOut: 2, activation: 'identity', lossFunction: 'MSE' }, inputs: ['da'] },
  },
  outputs: ['out1', 'out2'],
};

test('SHARED_GRADIENTS: a two-input, two-output graph over MultiDataSets equals the graph on the combined batch', async () => {
  const rng = new Rng(1);
  const n = 36; // rounds of 8 and a last one of 4 (one worker)
  const columns = { features: [rows(rng, n, 3), rows(rng, n, 2)], labels: [rows(rng, n, 3, true), rows(rng, n, 2)] };
  const g = new ComputationGraph(dag).init();
  const ref = g.clone();
  const wrapper = new ParallelWrapper(g, { workers: 2, trainingMode: 'SHARED_GRADIENTS' });
  try {
    await wrapper.fit(new Batches(columns, 4), 2);
  } finally {
    await wrapper.close();
  }
  ref.fit(new Batches(columns, 8), 2);
  const [p, q] = [g.params(), ref.params()];
  assertClose(p.toFlatArray(), q.toFlatArray(), { rtol: 1e-9, atol: 1e-12 });
  assert.equal(g.iterationCount, 10);
  assert.equal(g.epochCount, 2);
  for (const a of [p, q]) a.close();
  g.close();
  ref.close();
});

test('AVERAGING with frequency 1 and Sgd: a single-input graph over DataSets equals the graph on the combined batch', async () => {
  const rng = new Rng(2);
  const x = rows(rng, 30, 4);
  const y = rows(rng, 30, 2, true);
  const ds = new DataSet(d64(x), d64(y));
  const conf: ComputationGraphConfiguration = {
    seed: 14, dataType: 'DOUBLE', updater: { type: 'sgd', learningRate: 0.3 },
    inputs: ['in'],
    vertices: {
      h: { layer: { type: 'dense', nIn: 4, nOut: 5, activation: 'tanh' }, inputs: ['in'] },
      out: { layer: { type: 'output', nIn: 5, nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }, inputs: ['h'] },
    },
    outputs: ['out'],
  };
  const g = new ComputationGraph(conf).init();
  const ref = g.clone();
  const wrapper = new ParallelWrapper(g, { workers: 3, trainingMode: 'AVERAGING' });
  try {
    await wrapper.fit(new ListDataSetIterator(ds, 5), 2);
  } finally {
    await wrapper.close();
  }
  ref.fit(new ListDataSetIterator(ds, 15), 2);
  const [p, q] = [g.params(), ref.params()];
  assertClose(p.toFlatArray(), q.toFlatArray(), { rtol: 1e-9, atol: 1e-12 });
  for (const a of [p, q, ds]) a.close();
  g.close();
  ref.close();
});

test('a MultiLayerNetwork refuses MultiDataSets', async () => {
  const net = new MultiLayerNetwork({
    seed: 1, dataType: 'DOUBLE', updater: { type: 'sgd', learningRate: 0.1 },
    layers: [{ type: 'dense', nIn: 3, nOut: 2, activation: 'tanh' }, { type: 'output', nOut: 3, activation: 'softmax', lossFunction: 'MCXENT' }],
  }).init();
  const rng = new Rng(3);
  const columns = { features: [rows(rng, 8, 3)], labels: [rows(rng, 8, 3, true)] };
  const wrapper = new ParallelWrapper(net, { workers: 2 });
  try {
    await assert.rejects(wrapper.fit(new Batches(columns, 4), 1), /the iterator returned a MultiDataSet; a MultiLayerNetwork trains on DataSets/);
  } finally {
    await wrapper.close();
  }
  net.close();
});
