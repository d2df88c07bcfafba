// Scheduled dropout (DL4J's Dropout(ISchedule) and the schedules of the other IDropout choices): the
// value applied in a training pass is the schedule's at the model's iteration/epoch. Mask statistics
// against the scheduled retain probability (binomial tolerance), exact equality with a fixed dropOut
// for a constant schedule, epoch schedules, errors naming the layer and iteration, JSON and model
// file round trips, and both MultiLayerNetwork and ComputationGraph through fit().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MultiLayerNetwork, ComputationGraph, DataSet, array, scope, setSeed, memoryReport,
  serializeModel, deserializeModel, configurationToJSON, configurationFromJSON, graphToJSON, graphFromJSON,
  applyDropOutSpec,
  type DropOutConfig, type NeuralNetConfiguration, type ComputationGraphConfiguration, type NDArray, type Schedule,
} from '../src/index.js';
import { Rng } from './helpers.js';

const WIDTH = 40;
const ROWS = 50;
const ones = (): NDArray => array(new Float64Array(ROWS * WIDTH).fill(1), [ROWS, WIDTH], { dtype: 'DOUBLE' });

/** A dropout layer (whose activations are the mask scaled by 1/p on an all-ones input) and an output layer. */
function maskConf(dropOut: DropOutConfig): NeuralNetConfiguration {
  return {
    seed: 1, dataType: 'DOUBLE', updater: { type: 'sgd', learningRate: 0.05 }, inputType: { type: 'feedForward', size: WIDTH },
    layers: [
      { type: 'dropout', dropOut },
      { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  };
}

/** The dropout layer's training-mode activations on all-ones input at the network's current counters. */
function maskValues(net: MultiLayerNetwork, x: NDArray, seed: number): number[] {
  setSeed(seed);
  return scope(() => {
    const acts = net.feedForward(x, true);
    const v = acts[1]!.toFlatArray();
    acts.forEach((a) => a.close());
    return v;
  });
}

/** Fraction kept, checked against p within 5 binomial standard deviations; kept values must be exactly 1/p. */
function assertRetain(values: readonly number[], p: number, label: string): void {
  const kept = values.filter((v) => v !== 0);
  const rate = kept.length / values.length;
  const sd = Math.sqrt((p * (1 - p)) / values.length);
  assert.ok(Math.abs(rate - p) <= 5 * sd + 1e-12, `${label}: kept ${rate}, expected ${p} +- ${5 * sd}`);
  assert.ok(kept.every((v) => Math.abs(v - 1 / p) < 1e-12), `${label}: kept values must be 1/${p}`);
}

const STEP: Schedule = { type: 'step', initialValue: 0.9, decayRate: 0.5, step: 3 };
/** Plain-JS reference of the step schedule above. */
const stepRef = (t: number): number => 0.9 * 0.5 ** Math.floor(t / 3);

test('the mask follows a step schedule of the iteration (binomial tolerance), inference unaffected', () => {
  const net = new MultiLayerNetwork(maskConf(STEP)).init();
  const x = ones();
  for (const iteration of [0, 2, 3, 5, 6, 9]) {
    net.iterationCount = iteration;
    assertRetain(maskValues(net, x, 100 + iteration), stepRef(iteration), `iteration ${iteration}`);
  }
  // The two ends really differ: 0.9 vs 0.1125 kept, far beyond the tolerance.
  net.iterationCount = 9;
  const late = maskValues(net, x, 7).filter((v) => v !== 0).length / (ROWS * WIDTH);
  assert.ok(late < 0.2, `late keep rate ${late}`);
  // Inference: identity whatever the counters say.
  const acts = net.feedForward(x, false);
  assert.ok(acts[1]!.toFlatArray().every((v) => v === 1));
  acts.forEach((a) => a.close());
  x.close();
  net.close();
});

test('a constant schedule gives exactly the fixed dropOut, for every IDropout choice', () => {
  const rng = new Rng(3);
  const x = array(Array.from({ length: 8 * 6 }, () => rng.uniform(-1, 1)), [8, 6], { dtype: 'DOUBLE' });
  const constant = (v: number): Schedule => ({ type: 'map', values: { 0: v } });
  const pairs: [DropOutConfig, DropOutConfig][] = [
    [0.7, constant(0.7)],
    [{ type: 'dropout', p: 0.6 }, { type: 'dropout', p: { type: 'step', initialValue: 0.6, decayRate: 1, step: 1 } }],
    [{ type: 'gaussianDropout', rate: 0.3 }, { type: 'gaussianDropout', rate: constant(0.3) }],
    [{ type: 'gaussianNoise', stddev: 0.5 }, { type: 'gaussianNoise', stddev: constant(0.5) }],
    [{ type: 'alphaDropout', p: 0.8 }, { type: 'alphaDropout', p: constant(0.8) }],
  ];
  const conf = (d: DropOutConfig): NeuralNetConfiguration => ({
    seed: 4, dataType: 'DOUBLE', updater: { type: 'sgd', learningRate: 0.1 }, inputType: { type: 'feedForward', size: 6 },
    layers: [
      { type: 'dense', nOut: 5, activation: 'tanh', dropOut: d },
      { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT', dropOut: d },
    ],
  });
  const labels = array(Array.from({ length: 8 }, (_, i) => (i % 2 ? [0, 1] : [1, 0])), { dtype: 'DOUBLE' });
  const ds = new DataSet(x, labels);
  for (const [fixed, scheduled] of pairs) {
    const a = new MultiLayerNetwork(conf(fixed)).init();
    const b = new MultiLayerNetwork(conf(scheduled)).init();
    for (const net of [a, b]) net.iterationCount = 17;
    const train = (net: MultiLayerNetwork): number[] => { setSeed(11); return scope(() => net.output(x, true).toFlatArray()); };
    const ya = train(a);
    assert.deepEqual(train(b), ya, JSON.stringify(scheduled));
    assert.notDeepEqual(scope(() => a.output(x).toFlatArray()), ya, 'the noise is active in training');
    // Training steps consume the same noise: identical parameters after a few fits.
    for (const net of [a, b]) { setSeed(5); net.fit(ds, 3); }
    assert.deepEqual(b.params().toFlatArray(), a.params().toFlatArray(), `after fit ${JSON.stringify(scheduled)}`);
    a.close();
    b.close();
  }
  x.close();
  labels.close();
});

test('a schedule of the epoch follows epochCount, not the iteration', () => {
  const byEpoch: Schedule = { type: 'map', scheduleType: 'epoch', values: { 0: 0.9, 2: 0.3 } };
  const net = new MultiLayerNetwork(maskConf(byEpoch)).init();
  const x = ones();
  for (const [iteration, epoch, p] of [[0, 0, 0.9], [50, 1, 0.9], [0, 2, 0.3], [7, 5, 0.3]] as const) {
    net.iterationCount = iteration;
    net.epochCount = epoch;
    assertRetain(maskValues(net, x, 20 + epoch), p, `iteration ${iteration}, epoch ${epoch}`);
  }
  // Scheduled gaussian noise by epoch: the sample std follows the schedule.
  const noisy = new MultiLayerNetwork(maskConf({ type: 'gaussianNoise', stddev: { type: 'exponential', scheduleType: 'epoch', initialValue: 0.8, gamma: 0.5 } })).init();
  for (const epoch of [0, 3]) {
    noisy.epochCount = epoch;
    const v = maskValues(noisy, x, 30 + epoch).map((y) => y - 1);
    const std = Math.sqrt(v.reduce((s, d) => s + d * d, 0) / v.length);
    const expected = 0.8 * 0.5 ** epoch;
    // Relative sd of a sample std over n values is about 1/sqrt(2n).
    assert.ok(Math.abs(std / expected - 1) < 5 / Math.sqrt(2 * v.length), `epoch ${epoch}: std ${std}, expected ${expected}`);
  }
  noisy.close();
  x.close();
  net.close();
});

test('errors: malformed schedules and out-of-range values at build time, and at the iteration they leave the range', () => {
  const bad: [DropOutConfig, RegExp][] = [
    [{ type: 'step', initialValue: 1.5, decayRate: 0.5, step: 2 }, /layer 0 \(dropout\): dropOut's schedule at iteration 0, epoch 0: dropOut is DL4J's retain probability and must be in \(0, 1\], got 1.5/],
    [{ type: 'step', initialValue: 0.5, decayRate: 0.5, step: 0 }, /layer 0 \(dropout\): dropOut's retain probability: schedule 'step': step must be a positive number/],
    [{ type: 'gaussianDropout', rate: { type: 'map', values: { 1: 0.2 } } }, /dropOut's rate: schedule 'map': values must have a value for key 0/],
    [{ type: 'gaussianNoise', stddev: { type: 'exponential', initialValue: -1, gamma: 0.5 } }, /dropOut's schedule at iteration 0, epoch 0: dropOut \{ type: 'gaussianNoise' \}: stddev must be a finite number >= 0, got -1/],
    [{ type: 'dropout', p: 'x' } as unknown as DropOutConfig, /dropOut \{ type: 'dropout' \}: p is the retain probability and must be in \(0, 1\], got x/],
    [{ type: 'spatialDropout', p: 0.5 } as unknown as DropOutConfig, /unknown dropOut type 'spatialDropout'; expected one of dropout, gaussianDropout, gaussianNoise, alphaDropout or a schedule \(step, /],
  ];
  for (const [d, re] of bad) assert.throws(() => new MultiLayerNetwork(maskConf(d)), re, JSON.stringify(d));

  // Valid at iteration 0, out of range from iteration 2 on (a retain probability of 0): fit fails there.
  const net = new MultiLayerNetwork(maskConf({ type: 'map', values: { 0: 0.8, 2: 0 } })).init();
  const x = ones();
  const labels = array(Array.from({ length: ROWS }, (_, i) => (i % 2 ? [0, 1] : [1, 0])), { dtype: 'DOUBLE' });
  const ds = new DataSet(x, labels);
  net.fit(ds, 2);
  assert.equal(net.iterationCount, 2);
  assert.throws(() => net.fit(ds), /layer 0 \(dropout 'layer0'\): dropOut's schedule at iteration 2, epoch 2: dropOut is DL4J's retain probability and must be in \(0, 1\], got 0/);
  // Inference never evaluates the schedule.
  scope(() => net.output(x).close());
  // A layer used on its own in training mode has no step to evaluate the schedule at.
  assert.throws(() => applyDropOutSpec(x, STEP), /dropOut: dropOut follows a schedule, which needs the training step/);
  net.close();
  x.close();
  labels.close();
});

test('JSON and ModelSerializer round trips keep the schedules and the counters they follow', () => {
  const conf = maskConf({ type: 'alphaDropout', p: { type: 'warmup', warmupSteps: 4, schedule: { type: 'cosine', initialValue: 0.9, period: 10, minValue: 0.5 } } });
  const parsed = configurationFromJSON(configurationToJSON(conf));
  assert.deepEqual(parsed, conf);
  const net = new MultiLayerNetwork(conf).init();
  net.iterationCount = 6;
  net.epochCount = 1;
  const restored = deserializeModel(serializeModel(net), 'memory').network;
  assert.deepEqual(restored.conf, net.conf);
  assert.equal(restored.iterationCount, 6);
  const x = ones();
  const train = (m: MultiLayerNetwork): number[] => { setSeed(3); return scope(() => m.output(x, true).toFlatArray()); };
  assert.deepEqual(train(restored), train(net));
  // And the schedule matters: another iteration gives other outputs from the same seed.
  restored.iterationCount = 1;
  assert.notDeepEqual(train(restored), train(net));
  x.close();
  restored.close();
  net.close();
});

function graphConf(dropOut: DropOutConfig): ComputationGraphConfiguration {
  return {
    seed: 2, dataType: 'DOUBLE', updater: { type: 'sgd', learningRate: 0.05 },
    inputs: ['in'], inputTypes: [{ type: 'feedForward', size: WIDTH }],
    vertices: {
      drop: { layer: { type: 'dropout', dropOut }, inputs: ['in'] },
      out: { layer: { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }, inputs: ['drop'] },
    },
    outputs: ['out'],
  };
}

test('ComputationGraph: the mask follows the schedule at its counters; fit reaches the failing iteration; JSON round trip', () => {
  const conf = graphConf(STEP);
  assert.deepEqual(graphFromJSON(graphToJSON(conf)), conf);
  const g = new ComputationGraph(conf).init();
  const x = ones();
  for (const iteration of [0, 4, 7]) {
    g.iterationCount = iteration;
    setSeed(40 + iteration);
    const v = scope(() => {
      const acts = g.feedForward(x, true);
      const out = acts.get('drop')!.toFlatArray();
      for (const a of acts.values()) a.close();
      return out;
    });
    assertRetain(v, stepRef(iteration), `graph iteration ${iteration}`);
  }
  g.close();

  const failing = new ComputationGraph(graphConf({ type: 'map', values: { 0: 0.7, 3: 2 } })).init();
  const labels = array(Array.from({ length: ROWS }, (_, i) => (i % 2 ? [0, 1] : [1, 0])), { dtype: 'DOUBLE' });
  const ds = new DataSet(x, labels);
  failing.fit(ds, 3);
  assert.throws(() => failing.fit(ds), /layer 0 \(dropout 'drop'\): dropOut's schedule at iteration 3, epoch 3: dropOut is DL4J's retain probability and must be in \(0, 1\], got 2/);
  failing.close();
  x.close();
  labels.close();
});

test('memory stays flat over scheduled-dropout training steps', () => {
  const net = new MultiLayerNetwork(maskConf(STEP)).init();
  const x = ones();
  const labels = array(Array.from({ length: ROWS }, (_, i) => (i % 2 ? [0, 1] : [1, 0])), { dtype: 'DOUBLE' });
  const ds = new DataSet(x, labels);
  net.fit(ds, 2);
  const before = memoryReport().arrays;
  net.fit(ds, 5);
  assert.equal(memoryReport().arrays, before);
  net.close();
  x.close();
  labels.close();
});

test('a scheduled dropOut is never recorded into a CUDA graph (it would freeze at one step), and the network says why', () => {
  const net = new MultiLayerNetwork(maskConf(STEP)).init();
  assert.match(net.trainingCapture.refusal ?? '', /^layer 0: its dropOut follows a schedule, which a recorded pass would freeze$/);
  const graph = new ComputationGraph(graphConf({ type: 'gaussianNoise', stddev: STEP })).init();
  assert.match(graph.trainingCapture.refusal ?? '', /^layer drop: its dropOut follows a schedule/);
  const fixed = new MultiLayerNetwork(maskConf(0.5)).init();
  assert.deepEqual(fixed.trainingCapture, { recorded: 0, refusal: null }, 'a fixed dropOut is judged when the pass is recorded');
  for (const n of [net, graph, fixed]) n.close();
});
