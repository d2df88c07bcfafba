// EarlyStoppingParallelTrainer: with SHARED_GRADIENTS over 2 workers of batch 5 it reproduces the
// sequential EarlyStoppingTrainer on batch 10 (scores per epoch, best epoch, best model); iteration
// conditions stop after the round that fired; a worker failure is reported in the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MultiLayerNetwork, ComputationGraph, EarlyStoppingTrainer, EarlyStoppingGraphTrainer, EarlyStoppingParallelTrainer, DataSetLossCalculator, InMemoryModelSaver,
  MaxEpochs, ScoreImprovementEpoch, MaxScore, ListDataSetIterator, DataSet, array,
  type NeuralNetConfiguration,
} from '../src/index.js';
import { Rng, assertClose } from './helpers.js';

const conf: NeuralNetConfiguration = {
  seed: 5, dataType: 'DOUBLE', updater: { type: 'adam', learningRate: 0.05 }, l2: 0.001,
  layers: [
    { type: 'dense', nIn: 2, nOut: 6, activation: 'tanh' },
    { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
  ],
};

/** Points labelled by which side of a line they lie on. */
function data(seed: number, n: number): DataSet {
  const rng = new Rng(seed);
  const x = Array.from({ length: n }, () => [rng.uniform(-1, 1), rng.uniform(-1, 1)]);
  const y = x.map((r) => (r[0]! + 0.5 * r[1]! > 0.1 ? [1, 0] : [0, 1]));
  return new DataSet(array(x, { dtype: 'DOUBLE' }), array(y, { dtype: 'DOUBLE' }));
}


/** The parallel run stopped as the sequential one did, after the same epochs with the same scores. */
function assertSameRun(
  parallel: { terminationReason: string; terminationDetails: string; totalEpochs: number; bestModelEpoch: number; scoreVsEpoch: ReadonlyMap<number, number> },
  sequential: { terminationDetails: string; totalEpochs: number; bestModelEpoch: number; scoreVsEpoch: ReadonlyMap<number, number> },
): void {
  assert.equal(parallel.terminationReason, 'EpochTerminationCondition', parallel.terminationDetails);
  assert.equal(parallel.terminationDetails, sequential.terminationDetails);
  assert.equal(parallel.totalEpochs, sequential.totalEpochs);
  assert.equal(parallel.bestModelEpoch, sequential.bestModelEpoch);
  assert.deepEqual([...parallel.scoreVsEpoch.keys()], [...sequential.scoreVsEpoch.keys()]);
  assertClose([...parallel.scoreVsEpoch.values()], [...sequential.scoreVsEpoch.values()], { rtol: 1e-9 });
}

test('SHARED_GRADIENTS early stopping over 2 workers reproduces the sequential trainer on the combined batch', async () => {
  const train = data(1, 60);
  const held = data(2, 40);
  const config = () => ({
    epochTerminationConditions: [MaxEpochs(8), ScoreImprovementEpoch(2)],
    scoreCalculator: new DataSetLossCalculator(new ListDataSetIterator(held, 20)),
    modelSaver: new InMemoryModelSaver(),
  });
  const net = new MultiLayerNetwork(conf).init();
  const ref = net.clone();
  const parallel = await new EarlyStoppingParallelTrainer(config(), net, new ListDataSetIterator(train, 5), { workers: 2, trainingMode: 'SHARED_GRADIENTS' }).fit();
  const sequential = await new EarlyStoppingTrainer(config(), ref, new ListDataSetIterator(train, 10)).fit();
  assertSameRun(parallel, sequential);
  // Training did something: the held-out loss fell.
  const scores = [...parallel.scoreVsEpoch.values()];
  assert.ok(parallel.bestModelScore < scores[0]!, `best ${parallel.bestModelScore}, first ${scores[0]}`);
  const best = (await parallel.getBestModel())!;
  const refBest = (await sequential.getBestModel())!;
  assertClose(best.params().toFlatArray(), refBest.params().toFlatArray(), { rtol: 1e-9, atol: 1e-12 });
  assert.equal(net.iterationCount, ref.iterationCount);
  for (const m of [best, refBest, net, ref, train, held]) m.close();
});

test('an iteration condition stops after the round in which it fired', async () => {
  const train = data(3, 80);
  const held = data(4, 20);
  const net = new MultiLayerNetwork(conf).init();
  const result = await new EarlyStoppingParallelTrainer(
    { epochTerminationConditions: [MaxEpochs(5)], iterationTerminationConditions: [MaxScore(0)], scoreCalculator: new DataSetLossCalculator(new ListDataSetIterator(held, 20)) },
    net, new ListDataSetIterator(train, 4), { workers: 2, trainingMode: 'AVERAGING', prefetchBuffer: 8 },
  ).fit();
  assert.equal(result.terminationReason, 'IterationTerminationCondition');
  assert.match(result.terminationDetails, /MaxScoreIterationTerminationCondition\(0\)/);
  // The first round's score is positive, so training stopped after one round of the 10 in an epoch.
  assert.equal(net.iterationCount, 1);
  assert.equal(result.bestModelEpoch, 0);
  net.close();
  train.close();
  held.close();
});

test('a failing worker ends early stopping with an Error result naming the cause', async () => {
  const train = data(5, 40);
  const held = data(6, 20);
  const net = new MultiLayerNetwork(conf).init();
  const trainer = new EarlyStoppingParallelTrainer(
    { epochTerminationConditions: [MaxEpochs(3)], scoreCalculator: new DataSetLossCalculator(new ListDataSetIterator(held, 20)) },
    net, new ListDataSetIterator(train, 4), { workers: 2, workerModules: [new URL('./parallel-fixture.js?fault=throw', import.meta.url)] },
  );
  const result = await trainer.fit();
  assert.equal(result.terminationReason, 'Error');
  assert.match(result.terminationDetails, /worker 1 \(cpu\) failed: injected failure in a training step/);
  assert.equal(trainer.wrapper.running, false);
  net.close();
  train.close();
  held.close();
});

test('a ComputationGraph: SHARED_GRADIENTS early stopping over 2 workers reproduces EarlyStoppingGraphTrainer on the combined batch', async () => {
  const train = data(7, 60);
  const held = data(8, 40);
  // Two branches merged, so that the graph is not just a chain.
  const graph = new ComputationGraph({
    seed: 9, dataType: 'DOUBLE', updater: { type: 'adam', learningRate: 0.05 }, l2: 0.001,
    inputs: ['in'], inputTypes: [{ type: 'feedForward', size: 2 }], outputs: ['out'],
    vertices: {
      a: { layer: { type: 'dense', nOut: 4, activation: 'tanh' }, inputs: ['in'] },
      b: { layer: { type: 'dense', nOut: 3, activation: 'sigmoid' }, inputs: ['in'] },
      m: { vertex: { type: 'merge' }, inputs: ['a', 'b'] },
      out: { layer: { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }, inputs: ['m'] },
    },
  }).init();
  const ref = graph.clone();
  const config = () => ({
    epochTerminationConditions: [MaxEpochs(8), ScoreImprovementEpoch(2)],
    scoreCalculator: new DataSetLossCalculator(new ListDataSetIterator(held, 20)),
    modelSaver: new InMemoryModelSaver<ComputationGraph>(),
  });
  const trainer = new EarlyStoppingParallelTrainer(config(), graph, new ListDataSetIterator(train, 5), { workers: 2, trainingMode: 'SHARED_GRADIENTS' });
  const parallel = await trainer.fit();
  const sequential = await new EarlyStoppingGraphTrainer(config(), ref, new ListDataSetIterator(train, 10)).fit();
  assertSameRun(parallel, sequential);
  const scores = [...parallel.scoreVsEpoch.values()];
  assert.ok(parallel.bestModelScore < scores[0]!, `best ${parallel.bestModelScore}, first ${scores[0]}`);
  // The best model comes back as a graph (the trainer's type parameter is inferred from the model).
  const best: ComputationGraph = (await parallel.getBestModel())!;
  const refBest = (await sequential.getBestModel())!;
  assert.ok(best instanceof ComputationGraph);
  assertClose(best.params().toFlatArray(), refBest.params().toFlatArray(), { rtol: 1e-9, atol: 1e-12 });
  // The final (last epoch's) parameters too.
  assertClose(graph.params().toFlatArray(), ref.params().toFlatArray(), { rtol: 1e-9, atol: 1e-12 });
  assert.equal(graph.iterationCount, ref.iterationCount);
  assert.equal(trainer.wrapper.running, false);
  for (const m of [best, refBest, graph, ref, train, held]) m.close();
});
