// Early stopping: each termination condition, scripted scores for best-model selection (minimize
// and maximize), both model savers, the score calculators against independent computations, and
// errors reported in the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MultiLayerNetwork, EarlyStoppingTrainer, DataSetLossCalculator, ClassificationScoreCalculator, InMemoryModelSaver, LocalFileModelSaver,
  MaxEpochs, ScoreImprovementEpoch, BestScoreEpoch, MaxTime, MaxScore, InvalidScore, ListDataSetIterator, DataSet, array,
  ComputationGraph, EarlyStoppingGraphTrainer, ModelSerializer, MultiDataSet,
  type NeuralNetConfiguration, type ScoreCalculator, type EarlyStoppingModelSaver, type DataSetIterator, type EarlyStoppingModel, type MultiDataSetIterator,
} from '../src/index.js';
import { Rng } from './helpers.js';

const conf: NeuralNetConfiguration = {
  seed: 3, dataType: 'DOUBLE', updater: { type: 'sgd', learningRate: 0.2 }, l2: 0.01,
  layers: [
    { type: 'dense', nIn: 2, nOut: 4, activation: 'tanh' },
    { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
  ],
};

function points(seed: number, n: number): { x: number[][]; y: number[][] } {
  const rng = new Rng(seed);
  const x = Array.from({ length: n }, () => [rng.uniform(-1, 1), rng.uniform(-1, 1)]);
  return { x, y: x.map((r) => (r[0]! > r[1]! ? [1, 0] : [0, 1])) };
}

function iterator(seed: number, n: number, batch: number): DataSetIterator {
  const { x, y } = points(seed, n);
  return new ListDataSetIterator(new DataSet(array(x, { dtype: 'DOUBLE' }), array(y, { dtype: 'DOUBLE' })), batch);
}

/** Returns the scripted scores in turn and snapshots the parameters at each call. */
class Scripted implements ScoreCalculator<EarlyStoppingModel> {
  readonly snapshots: number[][] = [];
  private k = 0;
  constructor(private readonly scores: readonly number[], private readonly minimize = true) {}
  calculateScore(net: EarlyStoppingModel): number {
    this.snapshots.push(net.params().toFlatArray());
    const s = this.scores[this.k++];
    if (s === undefined) throw new Error('Scripted: out of scores');
    return s;
  }
  minimizeScore(): boolean {
    return this.minimize;
  }
}

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dl4ts-es-'));
  try {
    await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('MaxEpochs stops after n epochs; the best (lowest) scored epoch is kept by both savers', async () => {
  await withDir(async (dir) => {
    for (const saver of [new InMemoryModelSaver(), new LocalFileModelSaver(join(dir, 'models'))] as EarlyStoppingModelSaver[]) {
      const net = new MultiLayerNetwork(conf).init();
      const calc = new Scripted([5, 3, 4, 2.5, 6, 7]);
      const r = await new EarlyStoppingTrainer({ epochTerminationConditions: [MaxEpochs(6)], scoreCalculator: calc, modelSaver: saver }, net, iterator(1, 12, 5)).fit();
      assert.equal(r.terminationReason, 'EpochTerminationCondition');
      assert.match(r.terminationDetails, /MaxEpochs/);
      assert.equal(r.totalEpochs, 6);
      assert.equal(net.epochCount, 6);
      assert.equal(net.iterationCount, 18);
      assert.deepEqual([...r.scoreVsEpoch], [[0, 5], [1, 3], [2, 4], [3, 2.5], [4, 6], [5, 7]]);
      assert.equal(r.bestModelEpoch, 3);
      assert.equal(r.bestModelScore, 2.5);
      const best = await r.getBestModel();
      assert.ok(best);
      assert.deepEqual(best.params().toFlatArray(), calc.snapshots[3]);
      assert.notDeepEqual(net.params().toFlatArray(), calc.snapshots[3]);
      assert.equal(best.epochCount, 4);
      best.close();
      net.close();
    }
  });
});

test('maximizing calculators keep the highest score; BestScoreEpoch fires above the target', async () => {
  const net = new MultiLayerNetwork(conf).init();
  const r = await new EarlyStoppingTrainer(
    { epochTerminationConditions: [MaxEpochs(10), BestScoreEpoch(0.9)], scoreCalculator: new Scripted([0.5, 0.8, 0.7, 0.95], false) },
    net, iterator(1, 8, 4)).fit();
  assert.equal(r.terminationReason, 'EpochTerminationCondition');
  assert.match(r.terminationDetails, /BestScoreEpoch.*0\.9/);
  assert.equal(r.totalEpochs, 4);
  assert.equal(r.bestModelEpoch, 3);
  assert.equal(r.bestModelScore, 0.95);
  // Minimizing: the same condition fires below the target.
  const net2 = new MultiLayerNetwork(conf).init();
  const r2 = await new EarlyStoppingTrainer(
    { epochTerminationConditions: [BestScoreEpoch(1)], scoreCalculator: new Scripted([3, 0.95, 0.5]) }, net2, iterator(1, 8, 4)).fit();
  assert.equal(r2.totalEpochs, 2);
  assert.equal(r2.bestModelEpoch, 1);
  net.close();
  net2.close();
});

test('ScoreImprovementEpoch: patience counted from the last improvement larger than minImprovement', async () => {
  const net = new MultiLayerNetwork(conf).init();
  // Best at epoch 1 (4); 3.95 and 3.92 improve by less than 0.1, so epoch 3 = 1 + patience ends it.
  const r = await new EarlyStoppingTrainer(
    { epochTerminationConditions: [MaxEpochs(100), ScoreImprovementEpoch(2, 0.1)], scoreCalculator: new Scripted([5, 4, 3.95, 3.92, 1]) },
    net, iterator(1, 8, 4)).fit();
  assert.equal(r.terminationReason, 'EpochTerminationCondition');
  assert.match(r.terminationDetails, /ScoreImprovement/);
  assert.equal(r.totalEpochs, 4);
  // The best model is still the best score seen (3.92), independent of the condition's threshold.
  assert.equal(r.bestModelEpoch, 3);
  // Maximizing: improvements are increases.
  const net2 = new MultiLayerNetwork(conf).init();
  const r2 = await new EarlyStoppingTrainer(
    { epochTerminationConditions: [ScoreImprovementEpoch(1)], scoreCalculator: new Scripted([0.1, 0.2, 0.3, 0.3, 0.9], false) },
    net2, iterator(1, 8, 4)).fit();
  assert.equal(r2.totalEpochs, 4);
  assert.equal(r2.bestModelEpoch, 2);
  net.close();
  net2.close();
});

test('evaluateEveryNEpochs scores epochs N-1, 2N-1, ...; saveLastModel writes the latest model', async () => {
  await withDir(async (dir) => {
    const net = new MultiLayerNetwork(conf).init();
    const saver = new LocalFileModelSaver(dir);
    const r = await new EarlyStoppingTrainer(
      { epochTerminationConditions: [MaxEpochs(5)], scoreCalculator: new Scripted([2, 1]), modelSaver: saver, evaluateEveryNEpochs: 2, saveLastModel: true },
      net, iterator(2, 8, 4)).fit();
    assert.deepEqual([...r.scoreVsEpoch.keys()], [1, 3]);
    assert.equal(r.bestModelEpoch, 3);
    await access(saver.latestModelPath);
    const latest = await saver.getLatestModel();
    assert.ok(latest);
    assert.equal(latest.epochCount, 5);
    assert.deepEqual(latest.params().toFlatArray(), net.params().toFlatArray());
    latest.close();
    net.close();
  });
});

test('iteration conditions stop mid-epoch: MaxScore, InvalidScore, MaxTime', async () => {
  const net = new MultiLayerNetwork(conf).init();
  const r = await new EarlyStoppingTrainer(
    { epochTerminationConditions: [MaxEpochs(10)], iterationTerminationConditions: [MaxScore(0)], scoreCalculator: new Scripted([1]) },
    net, iterator(1, 12, 4)).fit();
  assert.equal(r.terminationReason, 'IterationTerminationCondition');
  assert.match(r.terminationDetails, /MaxScore/);
  assert.equal(net.iterationCount, 1);
  assert.equal(r.totalEpochs, 0);
  assert.equal(r.bestModelEpoch, 0, 'no epoch was scored, so the current model is saved as best');
  assert.equal(net.listeners.length, 0, 'the trainer removes its listener');
  (await r.getBestModel())?.close();

  // NaN features give a NaN score.
  const x = [[NaN, 1], [0.5, 0.2]];
  const bad = new ListDataSetIterator(new DataSet(array(x, { dtype: 'DOUBLE' }), array([[1, 0], [0, 1]], { dtype: 'DOUBLE' })), 2);
  const net2 = new MultiLayerNetwork(conf).init();
  const r2 = await new EarlyStoppingTrainer(
    { epochTerminationConditions: [MaxEpochs(10)], iterationTerminationConditions: [MaxScore(1e9), InvalidScore()], scoreCalculator: new Scripted([1]) },
    net2, bad).fit();
  assert.equal(r2.terminationReason, 'IterationTerminationCondition');
  assert.match(r2.terminationDetails, /InvalidScore/);

  const net3 = new MultiLayerNetwork(conf).init();
  // Each iteration takes at least 25 ms (the listener), so 250 ms allow at least a few even on a
  // loaded machine (at 40 ms a slow first step left too little time and the count flaked).
  const slow = { iterationDone(): void { const t = performance.now(); while (performance.now() - t < 25); } };
  net3.setListeners(slow);
  const t0 = performance.now();
  const r3 = await new EarlyStoppingTrainer(
    { epochTerminationConditions: [MaxEpochs(50)], iterationTerminationConditions: [MaxTime(250)], scoreCalculator: new Scripted(new Array<number>(60).fill(1)) },
    net3, iterator(1, 12, 4)).fit();
  assert.equal(r3.terminationReason, 'IterationTerminationCondition');
  assert.match(r3.terminationDetails, /MaxTime/);
  assert.ok(performance.now() - t0 >= 250);
  assert.ok(net3.iterationCount >= 4 && net3.iterationCount < 150, `iterations ${net3.iterationCount}`);
  assert.deepEqual(net3.listeners, [slow], 'the user listeners are kept');
  for (const n of [net, net2, net3]) n.close();
});

test('DataSetLossCalculator: example-weighted average (or sum) of minibatch scores = full-data score', () => {
  const net = new MultiLayerNetwork(conf).init();
  const { x, y } = points(5, 10);
  const full = new DataSet(array(x, { dtype: 'DOUBLE' }), array(y, { dtype: 'DOUBLE' }));
  const whole = net.score(full);
  const avg = new DataSetLossCalculator(iterator(5, 10, 4)).calculateScore(net);
  const sum = new DataSetLossCalculator(iterator(5, 10, 4), false).calculateScore(net);
  assert.ok(Math.abs(avg - whole) < 1e-12, `${avg} vs ${whole}`);
  assert.ok(Math.abs(sum - whole * 10) < 1e-11);
  assert.equal(new DataSetLossCalculator(iterator(5, 10, 4)).minimizeScore(), true);
  full.close();
  net.close();
});

test('ClassificationScoreCalculator accuracy matches an argmax count; used in training it is maximized', async () => {
  const net = new MultiLayerNetwork(conf).init();
  net.fit(iterator(1, 40, 10), 3);
  const { x, y } = points(6, 30);
  const out = net.output(array(x, { dtype: 'DOUBLE' })).toArray() as number[][];
  const argmax = (r: number[]): number => r.indexOf(Math.max(...r));
  const correct = out.filter((r, i) => argmax(r) === argmax(y[i]!)).length;
  const calc = new ClassificationScoreCalculator('accuracy', iterator(6, 30, 7));
  assert.equal(calc.calculateScore(net), correct / 30);
  assert.equal(calc.minimizeScore(), false);
  const r = await new EarlyStoppingTrainer({ epochTerminationConditions: [MaxEpochs(4)], scoreCalculator: calc }, net, iterator(1, 40, 10)).fit();
  const scores = [...r.scoreVsEpoch.values()];
  assert.equal(r.bestModelScore, Math.max(...scores));
  assert.equal(r.bestModelEpoch, scores.indexOf(Math.max(...scores)));
  net.close();
});

test('errors are reported in the result; configuration is validated', async () => {
  const net = new MultiLayerNetwork(conf).init();
  const r = await new EarlyStoppingTrainer({ epochTerminationConditions: [MaxEpochs(5)], scoreCalculator: new Scripted([1, 2]) }, net, iterator(1, 8, 4)).fit();
  assert.equal(r.terminationReason, 'Error');
  assert.match(r.terminationDetails, /out of scores/);
  assert.equal(r.bestModelEpoch, 0);
  assert.throws(() => new EarlyStoppingTrainer({ scoreCalculator: new Scripted([]) }, net, iterator(1, 8, 4)), /no termination conditions/);
  assert.throws(() => new EarlyStoppingTrainer({ epochTerminationConditions: [MaxEpochs(1)], scoreCalculator: new Scripted([]), evaluateEveryNEpochs: 0 }, net, iterator(1, 8, 4)), /evaluateEveryNEpochs/);
  assert.throws(() => MaxEpochs(0), /positive integer/);
  net.close();
});

// ---- ComputationGraph (EarlyStoppingGraphTrainer) ------------------------------------------------

type GraphConf = ConstructorParameters<typeof ComputationGraph>[0];

/** Two branches from one input (tanh and sigmoid dense layers) merged into a softmax output layer. */
const graphConf: GraphConf = {
  seed: 7, dataType: 'DOUBLE', updater: { type: 'sgd', learningRate: 0.5 }, l2: 1e-4,
  inputs: ['in'],
  inputTypes: [{ type: 'feedForward', size: 3 }],
  vertices: {
    da: { layer: { type: 'dense', nOut: 6, activation: 'tanh' }, inputs: ['in'] },
    db: { layer: { type: 'dense', nOut: 4, activation: 'sigmoid' }, inputs: ['in'] },
    out: { layer: { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }, inputs: ['da', 'db'] },
  },
  outputs: ['out'],
};

/** 3 features; class 1 when x0 + 0.5 x1 - 0.3 x2 > 0, flipped with probability `noise`. */
function graphPoints(seed: number, n: number, noise: number): { x: number[][]; y: number[][] } {
  const rng = new Rng(seed);
  const x = Array.from({ length: n }, () => [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)]);
  const y = x.map((r) => {
    const c = (r[0]! + 0.5 * r[1]! - 0.3 * r[2]! > 0) !== rng.uniform(0, 1) < noise;
    return c ? [0, 1] : [1, 0];
  });
  return { x, y };
}

/** Resettable minibatches of one-input, one-output MultiDataSets. */
class ListMultiIterator implements MultiDataSetIterator {
  private k = 0;
  readonly resetSupported = true;
  constructor(private readonly x: number[][], private readonly y: number[][], private readonly batch: number) {}
  hasNext(): boolean {
    return this.k < this.x.length;
  }
  next(): MultiDataSet {
    const from = this.k;
    this.k += this.batch;
    return new MultiDataSet([array(this.x.slice(from, this.k), { dtype: 'DOUBLE' })], [array(this.y.slice(from, this.k), { dtype: 'DOUBLE' })]);
  }
  reset(): void {
    this.k = 0;
  }
}

function dataSetIterator(x: number[][], y: number[][], batch: number): DataSetIterator {
  return new ListDataSetIterator(new DataSet(array(x, { dtype: 'DOUBLE' }), array(y, { dtype: 'DOUBLE' })), batch);
}

const paramRows = (g: ComputationGraph, key: string): number[][] => g.paramTable().get(key)!.toArray() as number[][];
const paramVec = (g: ComputationGraph, key: string): number[] => g.paramTable().get(key)!.toFlatArray();

/** float64 forward pass of graphConf: softmax([tanh(x Wa + ba), sigmoid(x Wb + bb)] Wo + bo). */
function graphProbs(g: ComputationGraph, x: number[][]): number[][] {
  const dense = (rows: number[][], W: number[][], b: number[], f: (v: number) => number): number[][] =>
    rows.map((r) => b.map((bj, j) => f(bj + r.reduce((acc, v, i) => acc + v * W[i]![j]!, 0))));
  const da = dense(x, paramRows(g, 'da_W'), paramVec(g, 'da_b'), Math.tanh);
  const db = dense(x, paramRows(g, 'db_W'), paramVec(g, 'db_b'), (v) => 1 / (1 + Math.exp(-v)));
  const z = dense(da.map((r, i) => [...r, ...db[i]!]), paramRows(g, 'out_W'), paramVec(g, 'out_b'), (v) => v);
  return z.map((r) => {
    const m = Math.max(...r);
    const e = r.map((v) => Math.exp(v - m));
    const t = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / t);
  });
}

/** Mean cross-entropy of graphConf on (x, y) plus l2/2 times the sum of squared weights. */
function graphLossRef(g: ComputationGraph, x: number[][], y: number[][]): number {
  const p = graphProbs(g, x);
  let s = 0;
  p.forEach((r, i) => r.forEach((v, j) => (s -= (y[i]![j]! * Math.log(v)) / x.length)));
  for (const k of ['da_W', 'db_W', 'out_W']) for (const w of paramVec(g, k)) s += (1e-4 / 2) * w * w;
  return s;
}

function flat(m: EarlyStoppingModel): number[] {
  const p = m.params();
  try {
    return p.toFlatArray();
  } finally {
    p.close();
  }
}

test('EarlyStoppingGraphTrainer: a two-branch graph on MultiDataSets with ScoreImprovementEpoch + LocalFileModelSaver returns the best graph, whose score is the best recorded', async () => {
  await withDir(async (dir) => {
    const g = new ComputationGraph(graphConf).init();
    const train = graphPoints(1, 16, 0.2);
    const held = graphPoints(2, 40, 0);
    // The held-out loss after each epoch, computed independently of the score calculator.
    const reference: number[] = [];
    const user = { onEpochEnd: (m: unknown): void => void reference.push(graphLossRef(m as ComputationGraph, held.x, held.y)) };
    g.setListeners(user);
    const saver = new LocalFileModelSaver<ComputationGraph>(join(dir, 'models'));
    const calc = new DataSetLossCalculator(new ListMultiIterator(held.x, held.y, 8));
    const r = await new EarlyStoppingGraphTrainer(
      { epochTerminationConditions: [MaxEpochs(100), ScoreImprovementEpoch(3)], scoreCalculator: calc, modelSaver: saver, saveLastModel: true },
      g, new ListMultiIterator(train.x, train.y, 4)).fit();
    assert.equal(r.terminationReason, 'EpochTerminationCondition');
    assert.match(r.terminationDetails, /ScoreImprovement/);
    const scores = [...r.scoreVsEpoch.values()];
    assert.equal(scores.length, r.totalEpochs);
    assert.equal(reference.length, r.totalEpochs);
    scores.forEach((s, e) => assert.ok(Math.abs(s - reference[e]!) < 1e-12, `epoch ${e}: ${s} vs reference ${reference[e]}`));
    // The held-out loss falls for a while before it rises: the best epoch is a later one, and training ends 3 epochs after it.
    const lowest = Math.min(...scores);
    assert.equal(r.bestModelScore, lowest);
    assert.equal(r.bestModelEpoch, scores.indexOf(lowest));
    assert.ok(r.bestModelEpoch >= 3, `best epoch ${r.bestModelEpoch}`);
    assert.equal(r.totalEpochs, r.bestModelEpoch + 4);
    assert.deepEqual(g.listeners, [user], 'the user listeners are kept');

    const best = await r.getBestModel();
    assert.ok(best instanceof ComputationGraph);
    assert.equal(best.epochCount, r.bestModelEpoch + 1);
    assert.equal(calc.calculateScore(best), r.bestModelScore);
    assert.ok(Math.abs(graphLossRef(best, held.x, held.y) - r.bestModelScore) < 1e-12);
    assert.notDeepEqual(flat(best), flat(g));
    const latest = await saver.getLatestModel();
    assert.ok(latest instanceof ComputationGraph);
    assert.equal(latest.epochCount, r.totalEpochs);
    assert.deepEqual(flat(latest), flat(g));

    // A best-model file that something else overwrote with another kind of model: named, not returned.
    const net = new MultiLayerNetwork(conf).init();
    await ModelSerializer.writeModel(net, saver.bestModelPath);
    await assert.rejects(saver.getBestModel(), /LocalFileModelSaver: '.*bestModel.bin' now holds a MultiLayerNetwork; a ComputationGraph was saved there/);
    for (const m of [g, best, latest, net]) m.close();
  });
});

test('EarlyStoppingGraphTrainer: the default in-memory saver keeps the best graph; iteration conditions stop a graph mid-epoch with either iterator kind', async () => {
  const train = graphPoints(3, 12, 0);
  const g = new ComputationGraph(graphConf).init();
  const calc = new Scripted([5, 3, 4, 6]);
  const r = await new EarlyStoppingGraphTrainer({ epochTerminationConditions: [MaxEpochs(4)], scoreCalculator: calc }, g, dataSetIterator(train.x, train.y, 4)).fit();
  assert.equal(r.totalEpochs, 4);
  assert.equal(g.epochCount, 4);
  assert.equal(g.iterationCount, 12);
  assert.equal(r.bestModelEpoch, 1);
  assert.equal(r.bestModelScore, 3);
  const best = await r.getBestModel();
  assert.ok(best instanceof ComputationGraph);
  assert.deepEqual(flat(best), calc.snapshots[1]);
  assert.equal(best.epochCount, 2);
  assert.notDeepEqual(flat(g), calc.snapshots[1]);
  best.close();
  g.close();

  for (const it of [dataSetIterator(train.x, train.y, 4), new ListMultiIterator(train.x, train.y, 4)]) {
    const g2 = new ComputationGraph(graphConf).init();
    const r2 = await new EarlyStoppingGraphTrainer(
      { epochTerminationConditions: [MaxEpochs(10)], iterationTerminationConditions: [MaxScore(0)], scoreCalculator: new Scripted([1]) }, g2, it).fit();
    assert.equal(r2.terminationReason, 'IterationTerminationCondition');
    assert.match(r2.terminationDetails, /MaxScore/);
    assert.equal(g2.iterationCount, 1);
    assert.equal(r2.totalEpochs, 0);
    assert.equal(r2.bestModelEpoch, 0, 'no epoch was scored, so the current graph is saved as best');
    assert.equal(g2.listeners.length, 0, 'the trainer removes its listener');
    (await r2.getBestModel())?.close();
    g2.close();
  }
});

test('score calculators on a graph match float64 references for DataSet and MultiDataSet iterators; a MultiLayerNetwork given MultiDataSets fails clearly', () => {
  const g = new ComputationGraph(graphConf).init();
  const train = graphPoints(4, 24, 0);
  g.fit(new ListMultiIterator(train.x, train.y, 6), 2);
  const { x, y } = graphPoints(5, 10, 0);
  const ref = graphLossRef(g, x, y);
  const argmax = (r: number[]): number => r.indexOf(Math.max(...r));
  const correct = graphProbs(g, x).filter((r, i) => argmax(r) === argmax(y[i]!)).length;
  for (const make of [(): DataSetIterator => dataSetIterator(x, y, 4), (): MultiDataSetIterator => new ListMultiIterator(x, y, 4)]) {
    const avg = new DataSetLossCalculator(make()).calculateScore(g);
    const sum = new DataSetLossCalculator(make(), false).calculateScore(g);
    assert.ok(Math.abs(avg - ref) < 1e-12, `${avg} vs ${ref}`);
    assert.ok(Math.abs(sum - ref * 10) < 1e-11, `${sum} vs ${ref * 10}`);
    assert.equal(new ClassificationScoreCalculator('accuracy', make()).calculateScore(g), correct / 10);
  }
  g.close();

  const net = new MultiLayerNetwork(conf).init();
  const two = points(6, 4);
  const multi = new ListMultiIterator(two.x, two.y, 2);
  assert.throws(() => new DataSetLossCalculator(multi).calculateScore(net), /DataSetLossCalculator: a MultiLayerNetwork scores DataSets; the iterator returned a MultiDataSet/);
  assert.throws(() => new ClassificationScoreCalculator('accuracy', multi).calculateScore(net), /ClassificationScoreCalculator: a MultiLayerNetwork is evaluated on a DataSetIterator; got a MultiDataSetIterator/);
  net.close();
});
