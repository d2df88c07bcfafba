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
  type NeuralNetConfiguration, type ScoreCalculator, type EarlyStoppingModelSaver, type DataSetIterator,
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
class Scripted implements ScoreCalculator {
  readonly snapshots: number[][] = [];
  private k = 0;
  constructor(private readonly scores: readonly number[], private readonly minimize = true) {}
  calculateScore(net: MultiLayerNetwork): number {
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
  const slow = { iterationDone(): void { const t = performance.now(); while (performance.now() - t < 10); } };
  net3.setListeners(slow);
  const t0 = performance.now();
  const r3 = await new EarlyStoppingTrainer(
    { epochTerminationConditions: [MaxEpochs(50)], iterationTerminationConditions: [MaxTime(40)], scoreCalculator: new Scripted(new Array<number>(60).fill(1)) },
    net3, iterator(1, 12, 4)).fit();
  assert.equal(r3.terminationReason, 'IterationTerminationCondition');
  assert.match(r3.terminationDetails, /MaxTime/);
  assert.ok(performance.now() - t0 >= 40);
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
