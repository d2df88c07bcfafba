import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  array, DataSet, Evaluation, EvaluativeListener, ListDataSetIterator, memoryReport, MultiLayerNetwork, RegressionEvaluation,
  ROCMultiClass, setSeed, ComputationGraph, doEvaluation, scope, type NDArray, type DataSetIterator, type DataSetPreProcessor, type EvaluationInfo, type LayerConfig, type TrainableModel,
} from '../src/index.js';
import { Rng } from './helpers.js';

const N_IN = 4;
const HIDDEN = 6;
const CLASSES = 3;

interface Rows { xs: number[][]; labels: number[] }

/** Three noisy classes: the label is the largest of x0, x1, x2 plus noise. */
function rows(n: number, seed: number): Rows {
  const rng = new Rng(seed);
  const xs: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: N_IN }, () => rng.uniform(-1, 1));
    const noisy = [0, 1, 2].map((c) => x[c]! + rng.uniform(-0.3, 0.3));
    xs.push(x);
    labels.push(noisy.indexOf(Math.max(...noisy)));
  }
  return { xs, labels };
}

function toDataSet(r: Rows): DataSet {
  const ys = r.labels.map((c) => Array.from({ length: CLASSES }, (_, k) => (k === c ? 1 : 0)));
  return new DataSet(array(r.xs, { dtype: 'FLOAT' }), array(ys, { dtype: 'FLOAT' }));
}

function network(hidden: LayerConfig[] = [{ type: 'dense', nOut: HIDDEN, activation: 'tanh' }]): MultiLayerNetwork {
  return new MultiLayerNetwork({
    seed: 9, updater: { type: 'adam', learningRate: 0.05 },
    inputType: { type: 'feedForward', size: N_IN },
    layers: [...hidden, { type: 'output', nOut: CLASSES, activation: 'softmax', lossFunction: 'MCXENT' }],
  }).init();
}

/** The confusion matrix [actual][predicted] of the dense(tanh) + softmax network, computed in float64 from its parameters. */
function referenceConfusion(net: MultiLayerNetwork, r: Rows): number[][] {
  const t = net.paramTable();
  const [w0, b0, w1, b1] = ['0_W', '0_b', '1_W', '1_b'].map((k) => t.get(k)!.toFlatArray()) as [number[], number[], number[], number[]];
  const confusion = Array.from({ length: CLASSES }, () => new Array<number>(CLASSES).fill(0));
  r.xs.forEach((x, i) => {
    const h = Array.from({ length: HIDDEN }, (_, j) => Math.tanh(x.reduce((s, v, k) => s + v * w0[k * HIDDEN + j]!, b0[j]!)));
    const z = Array.from({ length: CLASSES }, (_, c) => h.reduce((s, v, j) => s + v * w1[j * CLASSES + c]!, b1[c]!));
    confusion[r.labels[i]!]![z.indexOf(Math.max(...z))]!++;
  });
  return confusion;
}

/** Area under the ROC curve as the probability that a positive outranks a negative (ties count half). */
function referenceAuc(scores: number[], positive: boolean[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((s, i) => {
    if (!positive[i]) return;
    scores.forEach((t, j) => {
      if (positive[j]) return;
      pairs++;
      wins += s > t ? 1 : s === t ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

test('EvaluativeListener: ITERATION_END every N iterations; accuracy and confusion match an independent float64 count', () => {
  const train = toDataSet(rows(60, 1));
  const testRows = rows(30, 2);
  const test = toDataSet(testRows);
  const net = network();
  const infos: EvaluationInfo[] = [];
  const accuracies: number[] = [];
  const evaluation = new Evaluation();
  net.setListeners(new EvaluativeListener(new ListDataSetIterator(test, 7), {
    invocationType: 'ITERATION_END', frequency: 3, evaluations: [evaluation],
    onEvaluation: (model: TrainableModel, evaluations, info) => {
      assert.equal(model, net);
      assert.deepEqual(evaluations, [evaluation]);
      infos.push(info);
      // Reset before each run: the counts cover the 30 test examples once.
      assert.equal(evaluation.numRowCounter(), 30);
      const reference = referenceConfusion(net, testRows);
      assert.deepEqual(evaluation.confusionMatrix(), reference);
      const correct = reference.reduce((s, row, c) => s + row[c]!, 0);
      assert.equal(evaluation.accuracy(), correct / 30);
      accuracies.push(evaluation.accuracy());
    },
  }));
  net.fit(new ListDataSetIterator(train, 10), 2); // 6 iterations per epoch
  assert.deepEqual(infos.map((i) => [i.invocation, i.epoch, i.iteration, i.invocationType]), [
    [0, 0, 2, 'ITERATION_END'], [1, 0, 5, 'ITERATION_END'], [2, 1, 8, 'ITERATION_END'], [3, 1, 11, 'ITERATION_END'],
  ]);
  // The model learns: by the end it beats chance (1/3) by far.
  assert.ok(accuracies[3]! > 0.75, `accuracy ${accuracies[3]}`);
  net.close();
  train.close();
  test.close();
});

test('EvaluativeListener: EPOCH_END every N epochs on a DataSet; by default logs stats() of each evaluation', () => {
  const train = toDataSet(rows(60, 3));
  const testRows = rows(30, 4);
  const test = toDataSet(testRows);
  const net = network();
  const lines: string[] = [];
  const references: number[][][] = [];
  const listener = new EvaluativeListener(test, { frequency: 2, log: (l) => lines.push(l) });
  // A listener after it records the independent confusion matrix at each epoch end.
  net.setListeners(listener, { onEpochEnd: () => { references.push(referenceConfusion(net, testRows)); } });
  net.fit(new ListDataSetIterator(train, 10), 5);
  // Epochs 1 and 3 (0-based) end evaluations; the default evaluation is one Evaluation.
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^EvaluativeListener: evaluation 0 \(epoch 1, iteration 11\):\n/);
  assert.match(lines[1]!, /^EvaluativeListener: evaluation 1 \(epoch 3, iteration 23\):\n/);
  const evaluation = listener.evaluations[0];
  assert.ok(evaluation instanceof Evaluation);
  // The evaluation holds the last run (epoch 3); its stats are what was logged.
  assert.deepEqual(evaluation.confusionMatrix(), references[3]);
  const accuracy = references[3]!.reduce((s, row, c) => s + row[c]!, 0) / 30;
  assert.ok(lines[1]!.includes(`Accuracy:        ${accuracy.toFixed(4)}`), lines[1]);
  assert.ok(lines[1]!.endsWith(evaluation.stats()));
  // The DataSet passed in stays usable (it is the caller's).
  assert.equal(test.features.closed, false);
  net.close();
  train.close();
  test.close();
});

test('EvaluativeListener: several evaluations (RegressionEvaluation, ROCMultiClass) agree with direct computations on the outputs', () => {
  const train = toDataSet(rows(60, 5));
  const testRows = rows(40, 6);
  const test = toDataSet(testRows);
  const net = network();
  const regression = new RegressionEvaluation();
  const roc = new ROCMultiClass();
  let runs = 0;
  net.setListeners(new EvaluativeListener(new ListDataSetIterator(test, 40), { // one batch, the same rows as the direct output below
    evaluations: [regression, roc],
    onEvaluation: () => {
      runs++;
      const out = net.output(test.features);
      const p = out.toFlatArray();
      out.close();
      for (let c = 0; c < CLASSES; c++) {
        const labels = testRows.labels.map((l): number => (l === c ? 1 : 0));
        const scores = labels.map((_, i) => p[i * CLASSES + c]!);
        const mse = labels.reduce((s, y, i) => s + (y - scores[i]!) ** 2, 0) / labels.length;
        assert.ok(Math.abs(regression.meanSquaredError(c) - mse) < 1e-12, `column ${c}: ${regression.meanSquaredError(c)} vs ${mse}`);
        assert.equal(regression.exampleCount(c), 40);
        const auc = referenceAuc(scores, labels.map((y) => y === 1));
        assert.ok(Math.abs(roc.calculateAUC(c) - auc) < 1e-12, `class ${c}: AUC ${roc.calculateAUC(c)} vs ${auc}`);
      }
    },
  }));
  net.fit(new ListDataSetIterator(train, 20), 3);
  assert.equal(runs, 3);
  net.close();
  train.close();
  test.close();
});

test('EvaluativeListener: evaluating every iteration leaves training unchanged (dropout, batch normalization) and memory flat', () => {
  const hidden: LayerConfig[] = [{ type: 'dense', nOut: HIDDEN, activation: 'tanh', dropOut: 0.7 }, { type: 'batchNormalization' }];
  const train = toDataSet(rows(60, 7));
  const test = toDataSet(rows(30, 8));
  const trainWith = (listen: boolean): number[] => {
    setSeed(123);
    const net = network(hidden);
    const mem: { arrays: number; totalBytes: number }[] = [];
    if (listen) {
      net.setListeners(
        new EvaluativeListener(new ListDataSetIterator(test, 8), { invocationType: 'ITERATION_END', evaluations: [new Evaluation(), new ROCMultiClass()], log: null }),
        { iterationDone: (_m, it) => { if (it === 2 || it === 17) mem.push(memoryReport()); } },
      );
    }
    net.fit(new ListDataSetIterator(train, 10), 3);
    if (listen) {
      assert.equal(mem.length, 2);
      assert.equal(mem[1]!.arrays, mem[0]!.arrays);
      assert.equal(mem[1]!.totalBytes, mem[0]!.totalBytes);
    }
    const p = net.params();
    const values = p.toFlatArray();
    p.close();
    net.close();
    return values;
  };
  const before = memoryReport();
  const plain = trainWith(false);
  const listened = trainWith(true);
  // Parameters include the batch-normalization running statistics: bit-identical.
  assert.deepEqual(listened, plain);
  assert.equal(memoryReport().arrays, before.arrays);
  train.close();
  test.close();
});

/** An iterator that cannot be reset. */
class OneShotIterator implements DataSetIterator {
  readonly resetSupported = false;
  readonly asyncSupported = false;
  readonly batch = 1;
  readonly inputColumns = N_IN;
  readonly totalOutcomes = CLASSES;
  preProcessor: DataSetPreProcessor | null = null;
  hasNext(): boolean { return false; }
  next(): DataSet { throw new Error('empty'); }
  reset(): void { throw new Error('no reset'); }
  *[Symbol.iterator](): Iterator<DataSet> {}
}

test('EvaluativeListener: bad options and models without output() throw clear errors', () => {
  const test = toDataSet(rows(5, 9));
  const bad: [() => unknown, RegExp][] = [
    [() => new EvaluativeListener(test, { frequency: 0 }), /frequency must be a positive integer, got 0/],
    [() => new EvaluativeListener(test, { frequency: 1.5 }), /frequency must be a positive integer, got 1.5/],
    [() => new EvaluativeListener(test, { invocationType: 'BATCH_END' as 'EPOCH_END' }), /invocationType must be one of ITERATION_END, EPOCH_END, got "BATCH_END"/],
    [() => new EvaluativeListener(test, { evaluations: [] }), /evaluations must be a non-empty array/],
    [() => new EvaluativeListener(test, { evaluations: [new Evaluation(), {} as Evaluation] }), /evaluations\[1\] has no eval\/reset\/stats methods/],
    [() => new EvaluativeListener(null as unknown as DataSet), /data must be a DataSet or a DataSetIterator, got null/],
    [() => new EvaluativeListener(new OneShotIterator()), /the iterator does not support reset/],
  ];
  for (const [make, message] of bad) assert.throws(make, message);
  const listener = new EvaluativeListener(test, { invocationType: 'ITERATION_END', log: null });
  assert.throws(() => listener.iterationDone({ score: () => 0 }, 0, 0), /the model \(Object\) has no output\(input\) method/);
  test.close();
});

test('doEvaluation of a ComputationGraph on masked sequences runs it with the features mask and counts real steps only', () => {
  const g = new ComputationGraph({
    seed: 3, dataType: 'DOUBLE', inputs: ['seq'], inputTypes: [{ type: 'recurrent', size: 2 }], outputs: ['out'],
    vertices: {
      bi: { layer: { type: 'bidirectional', mode: 'CONCAT', layer: { type: 'lstm', nOut: 4 } }, inputs: ['seq'] },
      out: { layer: { type: 'rnnOutput', nOut: CLASSES, activation: 'softmax', lossFunction: 'MCXENT' }, inputs: ['bi'] },
    },
  }).init();
  const rng = new Rng(33);
  g.setParams(array(Array.from({ length: g.numParams() }, () => rng.uniform(-0.8, 0.8)), { dtype: 'DOUBLE' }));
  const lengths = [6, 2, 4, 1, 5, 3];
  const t = 6;
  // Padding far outside the data's range, so that it would change real steps if it were not masked.
  const x = lengths.map((len) => [0, 1].map(() => Array.from({ length: t }, (_, s) => (s < len ? rng.uniform(-1, 1) : 4 + 6 * rng.uniform(0, 1)))));
  const y = lengths.map(() => Array.from({ length: t }, () => rng.int(0, CLASSES)));
  const mask = lengths.map((len) => Array.from({ length: t }, (_, s) => (s < len ? 1 : 0)));
  const seq = (xs: number[][][]): NDArray => array(xs.flat(2), { dtype: 'DOUBLE' }).reshape([xs.length, 2, xs[0]![0]!.length]);
  const labels = array(y.flatMap((steps) => [0, 1, 2].flatMap((c) => steps.map((k) => (k === c ? 1 : 0)))), { dtype: 'DOUBLE' }).reshape([lengths.length, CLASSES, t]);
  const ds = new DataSet(seq(x), labels, array(mask, { dtype: 'DOUBLE' }), array(mask, { dtype: 'DOUBLE' }));
  const argmax = (v: readonly number[]): number => v.indexOf(Math.max(...v));
  // Reference: each sequence alone and unpadded; confusion[actual][predicted] over its real steps.
  const expected = [0, 1, 2].map(() => [0, 0, 0]);
  x.forEach((ex, n) => {
    const len = lengths[n]!;
    const out = scope(() => g.output(seq([ex.map((ch) => ch.slice(0, len))]))[0]!.toFlatArray());
    for (let s = 0; s < len; s++) expected[y[n]![s]!]![argmax([0, 1, 2].map((c) => out[c * len + s]!))]!++;
  });
  const unmasked = scope(() => g.output(ds.features)[0]!.toFlatArray());
  const withoutMask = [0, 1, 2].map(() => [0, 0, 0]);
  lengths.forEach((len, n) => {
    for (let s = 0; s < len; s++) withoutMask[y[n]![s]!]![argmax([0, 1, 2].map((c) => unmasked[(n * CLASSES + c) * t + s]!))]!++;
  });
  assert.notDeepEqual(withoutMask, expected, 'the padding must matter without the mask, or this test could not fail');

  const e = new Evaluation();
  doEvaluation(g, ds, [e]);
  assert.deepEqual(e.confusionMatrix(), expected);
  ds.close();
  g.close();
});
