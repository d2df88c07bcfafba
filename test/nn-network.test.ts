// MultiLayerNetwork: score against a float64 JS forward pass, backprop gradients against central
// differences of the score, training to high accuracy, params layout, clone, listeners, per-layer
// updaters, summary, and flat memory over many fit iterations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MultiLayerNetwork, ScoreIterationListener, DataSet, ListDataSetIterator, array, scope, memoryReport, gradCheck,
  type NeuralNetConfiguration, type TrainingListener,
} from '../src/index.js';
import { Rng, assertClose, tanhSoftmaxReference } from './helpers.js';

const N_IN = 3;
const HIDDEN = 4;
const N_OUT = 3;

function smallConf(extra: Partial<NeuralNetConfiguration> = {}): NeuralNetConfiguration {
  return {
    seed: 42, dataType: 'DOUBLE', updater: { type: 'sgd', learningRate: 0.1 }, l2: 0.03, l1: 0.02,
    layers: [
      { type: 'dense', nIn: N_IN, nOut: HIDDEN, activation: 'tanh' },
      { type: 'output', nOut: N_OUT, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
    ...extra,
  };
}

function randomData(rng: Rng, n: number, dtype: 'DOUBLE' | 'FLOAT' = 'DOUBLE'): { x: number[][]; y: number[][]; ds: DataSet } {
  const x = Array.from({ length: n }, () => Array.from({ length: N_IN }, () => rng.uniform(-1, 1)));
  const y = Array.from({ length: n }, () => {
    const row = new Array<number>(N_OUT).fill(0);
    row[rng.int(0, N_OUT)] = 1;
    return row;
  });
  return { x, y, ds: new DataSet(array(x, { dtype }), array(y, { dtype })) };
}

/** Reference forward pass and score in float64 from flat params (W0 row-major, b0, W1, b1). */
function refForward(flat: readonly number[], x: number[][]): number[][] {
  let k = 0;
  const take = (n: number): number[] => flat.slice(k, (k += n));
  const W0 = take(N_IN * HIDDEN);
  const b0 = take(HIDDEN);
  const W1 = take(HIDDEN * N_OUT);
  const b1 = take(N_OUT);
  return tanhSoftmaxReference(x, W0, b0, W1, b1);
}

function refScore(flat: readonly number[], x: number[][], y: number[][], l1: number, l2: number): number {
  const p = refForward(flat, x);
  let loss = 0;
  p.forEach((row, r) => row.forEach((v, c) => (loss -= y[r]![c]! * Math.log(v))));
  loss /= x.length;
  // Weights only: W0 then W1 ranges of the flat vector.
  const weights = [...flat.slice(0, N_IN * HIDDEN), ...flat.slice(N_IN * HIDDEN + HIDDEN, N_IN * HIDDEN + HIDDEN + HIDDEN * N_OUT)];
  for (const w of weights) loss += l1 * Math.abs(w) + 0.5 * l2 * w * w;
  return loss;
}

test('output and score match a float64 reference forward pass (with l1/l2)', () => {
  const net = new MultiLayerNetwork(smallConf()).init();
  const { x, y, ds } = randomData(new Rng(1), 7);
  const flat = scope(() => net.params().toFlatArray());
  assert.equal(flat.length, N_IN * HIDDEN + HIDDEN + HIDDEN * N_OUT + N_OUT);
  const out = net.output(ds.features);
  assertClose(out.data(), refForward(flat, x).flat(), { rtol: 1e-10, atol: 1e-12 });
  assert.ok(Math.abs(net.score(ds) - refScore(flat, x, y, 0.02, 0.03)) < 1e-10);
  const acts = net.feedForward(ds.features);
  assert.equal(acts.length, 3);
  assertClose(acts[2]!.data(), refForward(flat, x).flat(), { rtol: 1e-10, atol: 1e-12 });
  for (const a of acts) a.close();
  out.close();
  ds.close();
  net.close();
});

test('computeGradientAndScore gradients match central differences of the score (DOUBLE)', () => {
  const net = new MultiLayerNetwork(smallConf()).init();
  const { x, y, ds } = randomData(new Rng(2), 5);
  const flat = scope(() => net.params().toFlatArray());
  const score = net.computeGradientAndScore(ds);
  assert.ok(Math.abs(score - refScore(flat, x, y, 0.02, 0.03)) < 1e-10);
  const grads = net.gradient();
  assert.deepEqual([...grads.keys()], ['0_W', '0_b', '1_W', '1_b']);
  const analytic = [...grads.values()].flatMap((g) => g.toFlatArray());
  const eps = 1e-6;
  const numeric = flat.map((_, k) => {
    const at = (delta: number): number => {
      const p = flat.slice();
      p[k] = p[k]! + delta;
      return refScore(p, x, y, 0.02, 0.03);
    };
    return (at(eps) - at(-eps)) / (2 * eps);
  });
  assertClose(analytic, numeric, { rtol: 1e-5, atol: 1e-8 });
  // The same check through the network itself: perturbing via setParams and scoring.
  const viaNet = flat.map((_, k) => {
    const at = (delta: number): number => {
      const p = flat.slice();
      p[k] = p[k]! + delta;
      scope(() => net.setParams(array(p, { dtype: 'DOUBLE' })));
      return net.score(ds);
    };
    return (at(eps) - at(-eps)) / (2 * eps);
  });
  assertClose(analytic, viaNet, { rtol: 1e-5, atol: 1e-8 });
  ds.close();
  net.close();
});

test('gradCheck: the network score is differentiable w.r.t. its input features (DOUBLE)', () => {
  const net = new MultiLayerNetwork(smallConf({ l1: 0 })).init();
  const { ds } = randomData(new Rng(13), 4);
  const r = gradCheck((x) => net.computeScore(new DataSet(x, ds.labels)), [ds.features]);
  assert.ok(r.passed, `max relative error ${r.maxRelError}`);
  ds.close();
  net.close();
});

test('a labels mask drops examples from the score (still averaged over all N, as DL4J)', () => {
  const net = new MultiLayerNetwork(smallConf({ l1: 0, l2: 0 })).init();
  const { x, y, ds } = randomData(new Rng(14), 6);
  const keepRows = [1, 0, 1, 1, 0, 1];
  const masked = new DataSet(ds.features.dup(), ds.labels.dup(), null, array(keepRows, { dtype: 'DOUBLE' }));
  const flat = scope(() => net.params().toFlatArray());
  const p = refForward(flat, x);
  let expected = 0;
  p.forEach((row, r) => row.forEach((v, c) => (expected -= keepRows[r]! * y[r]![c]! * Math.log(v))));
  expected /= x.length;
  assert.ok(Math.abs(net.score(masked) - expected) < 1e-10, `${net.score(masked)} vs ${expected}`);
  masked.close();
  ds.close();
  net.close();
});

/** Two Gaussian-ish blobs split by the line x0 + 2 x1 = 0, with a margin. */
function separable(rng: Rng, n: number): DataSet {
  const xs: number[][] = [];
  const ys: number[][] = [];
  while (xs.length < n) {
    const p = [rng.uniform(-2, 2), rng.uniform(-2, 2)];
    const s = p[0]! + 2 * p[1]!;
    if (Math.abs(s) < 0.2) continue;
    xs.push(p);
    ys.push(s > 0 ? [0, 1] : [1, 0]);
  }
  return new DataSet(array(xs, { dtype: 'FLOAT' }), array(ys, { dtype: 'FLOAT' }));
}

test('a 2-layer network learns a separable problem to > 95% accuracy', () => {
  const net = new MultiLayerNetwork({
    seed: 7, updater: { type: 'adam', learningRate: 0.05 }, weightInit: 'XAVIER',
    inputType: { type: 'feedForward', size: 2 },
    layers: [
      { type: 'dense', nOut: 8, activation: 'relu' },
      { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  }).init();
  const train = separable(new Rng(3), 400);
  const testSet = separable(new Rng(4), 200);
  const before = net.score(testSet);
  net.fit(new ListDataSetIterator(train, 32), 15);
  assert.equal(net.epochCount, 15);
  assert.equal(net.iterationCount, 15 * Math.ceil(400 / 32));
  const ev = net.evaluate(new ListDataSetIterator(testSet, 50));
  assert.ok(ev.accuracy() > 0.95, `accuracy ${ev.accuracy()}`);
  assert.equal(ev.numRowCounter(), 200);
  assert.ok(net.score(testSet) < before / 2, `score ${net.score(testSet)} vs initial ${before}`);
  train.close();
  testSet.close();
  net.close();
});

test('params() is layer by layer, W then b, row-major; setParams round-trips', () => {
  const net = new MultiLayerNetwork(smallConf()).init();
  assert.equal(net.numParams(), N_IN * HIDDEN + HIDDEN + HIDDEN * N_OUT + N_OUT);
  const table = net.paramTable();
  const expected = [...table.values()].flatMap((p) => p.toFlatArray());
  const flat = scope(() => net.params().toFlatArray());
  assert.deepEqual(flat, expected);
  const rng = new Rng(9);
  const values = flat.map(() => rng.uniform(-1, 1));
  scope(() => net.setParams(array(values, { dtype: 'DOUBLE' })));
  assert.deepEqual(scope(() => net.params().toFlatArray()), values);
  // W is [nIn, nOut] row-major: W[i][j] = flat[i * nOut + j].
  const w0 = table.get('0_W')!.toArray() as number[][];
  assert.equal(w0[2]![1], values[2 * HIDDEN + 1]);
  assert.deepEqual(table.get('0_b')!.toFlatArray(), values.slice(N_IN * HIDDEN, N_IN * HIDDEN + HIDDEN));
  assert.throws(() => scope(() => net.setParams(array([1, 2, 3], { dtype: 'DOUBLE' }))), /expected a 1-D array of 31 values/);
  net.close();
});

test('clone gives identical outputs and is independent of the original', () => {
  const net = new MultiLayerNetwork(smallConf({ updater: { type: 'adam', learningRate: 0.01 } })).init();
  const { ds } = randomData(new Rng(5), 6);
  net.fit(ds, 3);
  const copy = net.clone();
  assert.equal(copy.iterationCount, 3);
  const a = scope(() => net.output(ds.features).toFlatArray());
  assert.deepEqual(scope(() => copy.output(ds.features).toFlatArray()), a);
  // Same updater state: one more identical step keeps them equal.
  net.fit(ds);
  copy.fit(ds);
  const b = scope(() => net.output(ds.features).toFlatArray());
  assert.deepEqual(scope(() => copy.output(ds.features).toFlatArray()), b);
  assert.notDeepEqual(b, a);
  net.fit(ds);
  assert.notDeepEqual(scope(() => copy.output(ds.features).toFlatArray()), scope(() => net.output(ds.features).toFlatArray()));
  ds.close();
  net.close();
  copy.close();
});

test('SGD step equals params - lr * gradient; per-layer updater overrides apply', () => {
  const net = new MultiLayerNetwork(smallConf({
    l1: 0, l2: 0,
    layers: [
      { type: 'dense', nIn: N_IN, nOut: HIDDEN, activation: 'tanh', updater: { type: 'noop' } },
      { type: 'output', nOut: N_OUT, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  })).init();
  const { ds } = randomData(new Rng(6), 4);
  const before = scope(() => net.params().toFlatArray());
  net.computeGradientAndScore(ds);
  const g = [...net.gradient().values()].flatMap((a) => a.toFlatArray());
  net.fit(ds);
  const after = scope(() => net.params().toFlatArray());
  const nFirst = N_IN * HIDDEN + HIDDEN;
  const expected = before.map((p, k) => (k < nFirst ? p : p - 0.1 * g[k]!));
  assertClose(after, expected, { rtol: 1e-12, atol: 1e-14 });
  assert.equal(Object.keys(net.updaterState()).length, 0);
  ds.close();
  net.close();
});

test('fit order as DL4J: gradient normalization on loss gradients, then l2, then weight decay on W', () => {
  const lr = 0.1;
  const [l2, wd, clipAt] = [0.05, 0.02, 0.01];
  const layers: NeuralNetConfiguration['layers'] = [
    { type: 'dense', nIn: N_IN, nOut: HIDDEN, activation: 'tanh' },
    { type: 'output', nOut: N_OUT, activation: 'softmax', lossFunction: 'MCXENT' },
  ];
  const plain = new MultiLayerNetwork(smallConf({ l1: 0, l2: 0, layers })).init();
  const net = new MultiLayerNetwork(smallConf({
    l1: 0, l2, weightDecay: wd, gradientNormalization: 'ClipElementWiseAbsoluteValue', gradientNormalizationThreshold: clipAt, layers,
  })).init();
  const { ds } = randomData(new Rng(12), 6);
  const p = scope(() => net.params().toFlatArray());
  assert.deepEqual(scope(() => plain.params().toFlatArray()), p, 'same seed, same initial parameters');
  plain.computeGradientAndScore(ds);
  const g = [...plain.gradient().values()].flatMap((a) => a.toFlatArray());
  net.fit(ds);
  const w0 = N_IN * HIDDEN;
  const isW = (k: number): boolean => k < w0 || (k >= w0 + HIDDEN && k < w0 + HIDDEN + HIDDEN * N_OUT);
  const expected = p.map((v, k) => {
    const clipped = Math.min(clipAt, Math.max(-clipAt, g[k]!));
    return isW(k) ? v - lr * (clipped + l2 * v) - lr * wd * v : v - lr * clipped;
  });
  assertClose(scope(() => net.params().toFlatArray()), expected, { rtol: 1e-12, atol: 1e-14 });
  ds.close();
  plain.close();
  net.close();
});

test('listeners see DL4J iteration/epoch counts; ScoreIterationListener logs the score', () => {
  const net = new MultiLayerNetwork(smallConf()).init();
  const { ds } = randomData(new Rng(8), 10);
  const calls: string[] = [];
  const seen: [number, number][] = [];
  const listener: TrainingListener = {
    iterationDone: (_m, it, ep) => seen.push([it, ep]),
    onEpochStart: () => calls.push('start'),
    onEpochEnd: () => calls.push('end'),
  };
  const lines: string[] = [];
  net.setListeners(listener, new ScoreIterationListener(2, (l) => lines.push(l)));
  const it = new ListDataSetIterator(ds, 4); // 3 minibatches per epoch
  net.fit(it, 2);
  assert.deepEqual(seen, [[0, 0], [1, 0], [2, 0], [3, 1], [4, 1], [5, 1]]);
  assert.deepEqual(calls, ['start', 'end', 'start', 'end']);
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^Score at iteration 0 is \d/);
  assert.match(lines[2]!, /^Score at iteration 4 is /);
  const last = Number(/is (.*)$/.exec(lines[2]!)![1]);
  assert.ok(Number.isFinite(last) && last > 0);
  ds.close();
  net.close();
});

test('summary lists layers, types, nIn/nOut, parameter counts and the total', () => {
  const net = new MultiLayerNetwork({
    inputType: { type: 'feedForward', size: 5 },
    layers: [
      { type: 'dense', name: 'hidden', nOut: 6 },
      { type: 'dropout', dropOut: 0.8 },
      { type: 'activation', activation: 'relu' },
      { type: 'output', nOut: 2, hasBias: false, lossFunction: 'MSE', activation: 'identity' },
    ],
  }).init();
  const s = net.summary();
  assert.match(s, /hidden \(DenseLayer\)\s+5,6\s+36\s+W:\{5,6\}, b:\{6\}/);
  assert.match(s, /layer1 \(DropoutLayer\)\s+6,6\s+0/);
  assert.match(s, /layer2 \(ActivationLayer\)\s+6,6\s+0/);
  assert.match(s, /layer3 \(OutputLayer\)\s+6,2\s+12\s+W:\{6,2\}/);
  assert.match(s, /Total Parameters:\s+48/);
  assert.equal(net.numParams(), 48);
  net.close();
});

test('dropout only in training; closed networks refuse work', () => {
  const net = new MultiLayerNetwork({
    seed: 1, dataType: 'DOUBLE', inputType: { type: 'feedForward', size: 50 },
    layers: [{ type: 'dropout', dropOut: 0.5 }, { type: 'loss', lossFunction: 'MSE' }],
  }).init();
  const x = array(Array.from({ length: 50 }, () => 1), [1, 50], { dtype: 'DOUBLE' });
  assert.deepEqual(scope(() => net.output(x).toFlatArray()), new Array<number>(50).fill(1));
  const trained = scope(() => net.output(x, true).toFlatArray());
  assert.ok(trained.every((v) => v === 0 || v === 2), 'inverted dropout: 0 or 1/retain');
  assert.ok(trained.some((v) => v === 0) && trained.some((v) => v === 2));
  // Outputs are new arrays even when every layer is the identity at inference.
  const out = net.output(x);
  const acts = net.feedForward(x);
  assert.ok(out !== x && acts.every((a) => a !== x) && new Set(acts).size === acts.length);
  out.close();
  for (const a of acts) a.close();
  assert.equal(x.closed, false);
  x.close();
  net.close();
  assert.throws(() => net.output(x), /closed/);
});

test('memory stays flat across 200 fit iterations', () => {
  const net = new MultiLayerNetwork(smallConf({ updater: { type: 'adam', learningRate: 0.01 }, gradientNormalization: 'ClipL2PerLayer' })).init();
  const { ds } = randomData(new Rng(11), 16, 'FLOAT');
  let at10: { arrays: number; totalBytes: number } | null = null;
  let at200: { arrays: number; totalBytes: number } | null = null;
  net.setListeners({
    iterationDone: (_m, it) => {
      if (it === 10) at10 = memoryReport();
      if (it === 199) at200 = memoryReport();
    },
  }, new ScoreIterationListener(50, () => {}));
  net.fit(ds, 200);
  assert.ok(at10 && at200);
  const [a, b] = [at10 as { arrays: number; totalBytes: number }, at200 as { arrays: number; totalBytes: number }];
  assert.equal(b.arrays, a.arrays);
  assert.equal(b.totalBytes, a.totalBytes);
  ds.close();
  const before = memoryReport();
  net.close();
  assert.ok(memoryReport().totalBytes < before.totalBytes);
});
