// EmbeddingLayer and EmbeddingSequenceLayer: lookups against float64 JS loops, masks, gradients
// (repeated indices accumulate) against central differences, configuration errors, a small
// training run, and a ModelSerializer round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MultiLayerNetwork, DataSet, array, deserializeModel, serializeModel, type LayerConfig, type NeuralNetConfiguration } from '../src/index.js';
import { Rng, assertClose } from './helpers.js';
import { checkParamGradients, flatParams, randomizeParams } from './sequence-helpers.js';

const tol = { rtol: 1e-10, atol: 1e-12 };

test('embedding: indices [N, 1] (floats, as DL4J features) or [N] select rows of W, plus b, then the activation', () => {
  const rng = new Rng(1);
  const net = new MultiLayerNetwork({
    seed: 1, dataType: 'DOUBLE', inputType: { type: 'feedForward', size: 1 },
    layers: [{ type: 'embedding', nIn: 5, nOut: 3, hasBias: true, activation: 'tanh' }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }],
  }).init();
  assert.deepEqual([...net.paramTable().keys()], ['0_W', '0_b', '1_W', '1_b']);
  assert.equal(net.resolved.layers[1]!.nIn, 3);
  randomizeParams(net, rng);
  const w = flatParams(net, '0_W');
  const b = flatParams(net, '0_b');
  const idx = [4, 0, 2, 2, 1];
  const expected = idx.flatMap((i) => [0, 1, 2].map((j) => Math.tanh(w[i * 3 + j]! + b[j]!)));
  for (const x of [array(idx.map((i) => [i]), { dtype: 'DOUBLE' }), array(idx, { dtype: 'INT32' })]) {
    const acts = net.feedForward(x);
    assert.deepEqual(acts[1]!.shape, [5, 3]);
    assertClose(acts[1]!.toFlatArray(), expected, tol);
    for (const a of acts) a.close();
    x.close();
  }
  // Without hasBias (DL4J's default) there is no 'b'.
  const plain = new MultiLayerNetwork({ layers: [{ type: 'embedding', nIn: 5, nOut: 3 }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }] }).init();
  assert.deepEqual([...plain.paramTable().keys()], ['0_W', '1_W', '1_b']);
  assert.throws(() => plain.output(array([[1, 2]])), /layer 0 \(embedding 'layer0'\): expected indices \[N\] or \[N, 1\]/);
  assert.throws(() => plain.output(array([[7]])), /gather/);
  plain.close();
  net.close();
});

test('embeddingSequence: [N, T] (or [N, 1, T]) to [N, nOut, T], zero at masked steps; feeds an LSTM', () => {
  const rng = new Rng(2);
  const net = new MultiLayerNetwork({
    seed: 2, dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 1, timeSeriesLength: 4 },
    layers: [
      { type: 'embeddingSequence', nIn: 6, nOut: 2, hasBias: true, activation: 'identity' },
      { type: 'lstm', nOut: 3 },
      { type: 'rnnOutput', nOut: 2, lossFunction: 'MCXENT' },
    ],
  }).init();
  assert.deepEqual(net.resolved.layers.map((l) => [l.nIn, l.nOut]), [[6, 2], [2, 3], [3, 2]]);
  assert.equal(net.resolved.layers[0]!.inputLength, 4);
  randomizeParams(net, rng);
  const w = flatParams(net, '0_W');
  const b = flatParams(net, '0_b');
  const idx = [[5, 0, 3, 3], [1, 2, 0, 4]];
  const mask = [[1, 1, 1, 0], [1, 0, 1, 1]];
  const expected = (m: number[][] | null): number[] => idx.flatMap((row, n) => [0, 1].flatMap((j) => row.map((i, t) => (w[i * 2 + j]! + b[j]!) * (m ? m[n]![t]! : 1))));
  for (const x of [array(idx, { dtype: 'DOUBLE' }), array(idx.map((r) => [r]), { dtype: 'DOUBLE' })]) {
    const acts = net.feedForward(x);
    assert.deepEqual(acts[1]!.shape, [2, 2, 4]);
    assertClose(acts[1]!.toFlatArray(), expected(null), tol);
    for (const a of acts) a.close();
    x.close();
  }
  const masked = net.feedForward(array(idx, { dtype: 'DOUBLE' }), false, array(mask, { dtype: 'DOUBLE' }));
  assertClose(masked[1]!.toFlatArray(), expected(mask), tol);
  for (const a of masked) a.close();
  assert.throws(() => net.output(array([[1, 2, 3]], { dtype: 'DOUBLE' })), /layer 0 \(embeddingSequence 'layer0'\): expected indices \[N, 4\]/);
  net.close();
});

test('embedding gradients: rows of repeated indices accumulate, unused rows get zero; masked steps give none (DOUBLE)', () => {
  const rng = new Rng(3);
  const ff = new MultiLayerNetwork({
    seed: 3, dataType: 'DOUBLE', l2: 0.01,
    layers: [{ type: 'embedding', nIn: 4, nOut: 3, hasBias: true, activation: 'sigmoid' }, { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }],
  }).init();
  randomizeParams(ff, rng);
  // Index 3 is unused: its row's gradient is the l2 term alone; index 1 appears three times.
  const ds = new DataSet(array([[1], [0], [1], [2], [1]], { dtype: 'DOUBLE' }), array([[1, 0], [0, 1], [0, 1], [1, 0], [1, 0]], { dtype: 'DOUBLE' }));
  checkParamGradients(ff, ds);
  ff.computeGradientAndScore(new DataSet(ds.features, ds.labels));
  const g = ff.gradient().get('0_W')!.toFlatArray();
  const w = flatParams(ff, '0_W');
  assertClose(g.slice(9), w.slice(9).map((v) => 0.01 * v), tol);
  ds.close();
  ff.close();

  const seq = new MultiLayerNetwork({
    seed: 4, dataType: 'DOUBLE',
    layers: [
      { type: 'embeddingSequence', nIn: 5, nOut: 2, hasBias: true, activation: 'tanh' },
      { type: 'bidirectional', layer: { type: 'simpleRnn', nOut: 2 } },
      { type: 'rnnOutput', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  }).init();
  randomizeParams(seq, rng);
  const mask = array([[1, 1, 1, 0], [1, 1, 0, 0]], { dtype: 'DOUBLE' });
  const labels = array([[[1, 0, 1, 1], [0, 1, 0, 0]], [[0, 0, 1, 0], [1, 1, 0, 1]]], { dtype: 'DOUBLE' });
  // Index 4 only appears at masked steps: its row gets no gradient.
  const sds = new DataSet(array([[0, 2, 1, 4], [3, 0, 4, 4]], { dtype: 'DOUBLE' }), labels, mask, mask.dup());
  checkParamGradients(seq, sds);
  seq.computeGradientAndScore(sds);
  assert.deepEqual(seq.gradient().get('0_W')!.toFlatArray().slice(8), [0, 0]);
  sds.close();
  seq.close();
});

test('embedding configuration: nIn is required, input types must hold indices, no dropout, inputLength checks', () => {
  const out = { type: 'output', nOut: 2, lossFunction: 'MCXENT' } as const;
  const rnnOut = { type: 'rnnOutput', nOut: 2, lossFunction: 'MCXENT' } as const;
  const err = (layers: LayerConfig[], re: RegExp, conf: Partial<NeuralNetConfiguration> = {}): void => {
    assert.throws(() => new MultiLayerNetwork({ ...conf, layers }), re);
  };
  err([{ type: 'embedding', nOut: 3 }, out], /layer 0 \(embedding\).*nIn \(the number of distinct indices\) is required/);
  err([{ type: 'embedding', nIn: 5, nOut: 3 }, out], /layer 0 \(embedding\).*one index per example.*feedForward size 4/, { inputType: { type: 'feedForward', size: 4 } });
  err([{ type: 'embedding', nIn: 5, nOut: 3, dropOut: 0.5 }, out], /layer 0 \(embedding\).*dropOut is not supported/);
  err([{ type: 'embeddingSequence', nIn: 5, nOut: 3, inputLength: 6 }, rnnOut], /inputLength 6 does not match the input's sequence length 4/, { inputType: { type: 'feedForward', size: 4 } });
  err([{ type: 'embeddingSequence', nIn: 5, nOut: 3, inputLength: 0 }, rnnOut], /inputLength must be a positive integer/);
  err([{ type: 'embeddingSequence', nIn: 5, nOut: 3 }, rnnOut], /embeddingSequence.*takes indices \[N, T\]/, { inputType: { type: 'recurrent', size: 3 } });
  // Without an input type the sequence length is free.
  const free = new MultiLayerNetwork({ layers: [{ type: 'embeddingSequence', nIn: 5, nOut: 3 }, rnnOut] }).init();
  for (const t of [2, 5]) {
    const o = free.output(array([new Array<number>(t).fill(1)]));
    assert.deepEqual(o.shape, [1, 2, t]);
    o.close();
  }
  free.close();
});

test('embeddingSequence + LSTM learns whether token 1 occurs in a sequence (> 95%), and survives a ModelSerializer round trip', () => {
  const rng = new Rng(5);
  const make = (n: number): { x: number[][]; y: number[][] } => {
    const x = Array.from({ length: n }, () => Array.from({ length: 6 }, () => rng.int(0, 5)));
    return { x, y: x.map((r) => (r.includes(1) ? [0, 1] : [1, 0])) };
  };
  const train = make(300);
  const testSet = make(200);
  const net = new MultiLayerNetwork({
    seed: 6, updater: { type: 'adam', learningRate: 0.03 }, inputType: { type: 'feedForward', size: 6 },
    layers: [
      { type: 'embeddingSequence', nIn: 5, nOut: 4, activation: 'identity' },
      { type: 'lastTimeStep', layer: { type: 'lstm', nOut: 6 } },
      { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  }).init();
  const ds = new DataSet(array(train.x, { dtype: 'FLOAT' }), array(train.y, { dtype: 'FLOAT' }));
  net.fit(ds, 120);
  const tx = array(testSet.x, { dtype: 'FLOAT' });
  const out = net.output(tx);
  const p = out.toFlatArray();
  const correct = testSet.y.filter((l, i) => (p[2 * i + 1]! > p[2 * i]! ? 1 : 0) === l[1]).length;
  assert.ok(correct / testSet.y.length > 0.95, `accuracy ${correct / testSet.y.length}`);
  const restored = deserializeModel(serializeModel(net), 'memory').network;
  const again = restored.output(tx);
  assertClose(again.toFlatArray(), p, { rtol: 0, atol: 0 });
  for (const a of [out, again, tx]) a.close();
  restored.close();
  ds.close();
  net.close();
});
