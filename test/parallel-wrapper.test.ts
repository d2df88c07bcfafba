// ParallelWrapper on CPU workers: SHARED_GRADIENTS equals one model trained on the combined batch
// (with Adam, l2 and gradient normalization, and a short last round), AVERAGING with frequency 1 and
// Sgd equals it too, averaged Adam state against replicas simulated one after another, convergence
// with a larger averaging frequency, listeners, worker failures, and flat main-thread memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import {
  MultiLayerNetwork, DataSet, ListDataSetIterator, array, memoryReport, setSeed,
  type NeuralNetConfiguration, type TrainingListener, type TrainableModel, type NDArray,
} from '../src/index.js';
import { ParallelWrapper } from '../src/parallel/index.js';
import { Rng, assertClose } from './helpers.js';

const N_IN = 5;
const N_OUT = 3;

function conf(extra: Partial<NeuralNetConfiguration> = {}): NeuralNetConfiguration {
  return {
    seed: 7, dataType: 'DOUBLE', updater: { type: 'sgd', learningRate: 0.2 }, l2: 0.01,
    layers: [
      { type: 'dense', nIn: N_IN, nOut: 6, activation: 'tanh' },
      { type: 'output', nOut: N_OUT, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
    ...extra,
  };
}

/** `n` examples of 3 noisy clusters (labels one-hot). */
function clusters(rng: Rng, n: number, dtype: 'DOUBLE' | 'FLOAT' = 'DOUBLE', nIn = N_IN, classes = N_OUT): DataSet {
  const centers = Array.from({ length: classes }, (_, c) => Array.from({ length: nIn }, (_, i) => (i % classes === c ? 2 : -0.5)));
  const x: number[][] = [];
  const y: number[][] = [];
  for (let i = 0; i < n; i++) {
    const c = rng.int(0, classes);
    x.push(centers[c]!.map((v) => v + rng.uniform(-1.2, 1.2)));
    y.push(Array.from({ length: classes }, (_, k) => (k === c ? 1 : 0)));
  }
  return new DataSet(array(x, { dtype }), array(y, { dtype }));
}

function flat(a: NDArray): number[] {
  try {
    return a.toFlatArray();
  } finally {
    a.close();
  }
}

/** Records what listeners see. */
class Recorder implements TrainingListener {
  readonly scores: number[] = [];
  readonly iterations: number[] = [];
  /** At each epoch end: the model's iteration count and parameters (it must be the network itself). */
  readonly epochEnds: { iterationCount: number; params: number[] }[] = [];
  iterationDone(model: TrainableModel, iteration: number): void {
    this.scores.push(model.score());
    this.iterations.push(iteration);
  }
  onEpochEnd(model: TrainableModel): void {
    assert.ok(model instanceof MultiLayerNetwork, 'onEpochEnd gets the network');
    this.epochEnds.push({ iterationCount: model.iterationCount, params: flat(model.params()) });
  }
}

/** Threads of this process (Linux), or null elsewhere. */
function threadCount(): number | null {
  try {
    return readdirSync('/proc/self/task').length;
  } catch {
    return null;
  }
}

test('SHARED_GRADIENTS with 3 workers of batch 4 equals one model on batch 12 (Adam, l2, gradient clipping, unequal last round)', async () => {
  const c = conf({ updater: { type: 'adam', learningRate: 0.05 }, gradientNormalization: 'ClipL2PerLayer', gradientNormalizationThreshold: 0.5 });
  const ds = clusters(new Rng(1), 46); // rounds of 12, 12, 12 and a last one of 4 + 4 + 2
  const net = new MultiLayerNetwork(c).init();
  const ref = net.clone();
  const seen = new Recorder();
  const refSeen = new Recorder();
  net.setListeners(seen);
  ref.setListeners(refSeen);
  const wrapper = new ParallelWrapper(net, { workers: 3, trainingMode: 'SHARED_GRADIENTS', prefetchBuffer: 2 });
  try {
    await wrapper.fit(new ListDataSetIterator(ds, 4), 2);
  } finally {
    await wrapper.close();
  }
  ref.fit(new ListDataSetIterator(ds, 12), 2);
  assertClose(flat(net.params()), flat(ref.params()), { rtol: 1e-9, atol: 1e-12, message: 'parameters' });
  const state = net.updaterState();
  const refState = ref.updaterState();
  assert.deepEqual(Object.keys(state), Object.keys(refState));
  for (const k of Object.keys(refState)) assertClose(state[k]!.toFlatArray(), refState[k]!.toFlatArray(), { rtol: 1e-9, atol: 1e-12, message: `updater state ${k}` });
  assert.equal(net.iterationCount, ref.iterationCount);
  assert.equal(net.iterationCount, 8);
  assert.equal(net.epochCount, 2);
  // Listeners see one score per round: the combined batch's score.
  assert.deepEqual(seen.iterations, refSeen.iterations);
  assertClose(seen.scores, refSeen.scores, { rtol: 1e-9, message: 'scores' });
  // Epoch listeners see the wrapped network, up to date, as in sequential training.
  assert.equal(seen.epochEnds.length, 2);
  seen.epochEnds.forEach((e, k) => {
    assert.equal(e.iterationCount, refSeen.epochEnds[k]!.iterationCount);
    assertClose(e.params, refSeen.epochEnds[k]!.params, { rtol: 1e-9, atol: 1e-12, message: `parameters at the end of epoch ${k}` });
  });
  net.close();
  ref.close();
  ds.close();
});

test('AVERAGING with frequency 1 and Sgd equals one model on the combined batch (unequal last round)', async () => {
  const ds = clusters(new Rng(2), 47); // rounds of 10 and a last one of 5 + 2
  const net = new MultiLayerNetwork(conf()).init();
  const ref = net.clone();
  const wrapper = new ParallelWrapper(net, { workers: 2, trainingMode: 'AVERAGING', averagingFrequency: 1 });
  try {
    await wrapper.fit(new ListDataSetIterator(ds, 5), 3);
    assert.ok(wrapper.running, 'workers stay up between fits');
  } finally {
    await wrapper.close();
  }
  assert.equal(wrapper.running, false);
  ref.fit(new ListDataSetIterator(ds, 10), 3);
  assertClose(flat(net.params()), flat(ref.params()), { rtol: 1e-9, atol: 1e-12 });
  assert.equal(net.iterationCount, 15);
  assert.equal(net.epochCount, 3);
  net.close();
  ref.close();
  ds.close();
});

/** Replicas trained one after another as the workers do, averaged every `frequency` rounds in float64. */
function simulateAveraging(start: MultiLayerNetwork, batches: DataSet[], workers: number, frequency: number, averageUpdaters: boolean): { params: number[]; state: Record<string, number[]>; scores: number[] } {
  const replicas = Array.from({ length: workers }, () => start.clone());
  const rounds = batches.length / workers;
  const average = (): void => {
    const ps = replicas.map((r) => flat(r.params()));
    const mean = ps[0]!.map((_, i) => ps.reduce((s, p) => s + p[i]!, 0) / workers);
    const states = replicas.map((r) => r.updaterState());
    const meanState: Record<string, NDArray> = {};
    if (averageUpdaters) {
      for (const k of Object.keys(states[0]!)) {
        const vs = states.map((s) => s[k]!.toFlatArray());
        meanState[k] = array(vs[0]!.map((_, i) => vs.reduce((s, v) => s + v[i]!, 0) / workers), [...states[0]![k]!.shape], { dtype: 'DOUBLE' });
      }
    }
    for (const r of replicas) {
      const p = array(mean, [mean.length], { dtype: 'DOUBLE' });
      r.setParams(p);
      p.close();
      if (averageUpdaters) r.setUpdaterState(meanState);
    }
    for (const a of Object.values(meanState)) a.close();
  };
  const scores: number[] = [];
  for (let round = 0; round < rounds; round++) {
    replicas.forEach((r, k) => {
      r.iterationCount = start.iterationCount + round;
      r.epochCount = start.epochCount;
      r.fit(batches[round * workers + k]!);
    });
    scores.push(replicas.reduce((s, r) => s + r.score(), 0) / workers);
    if ((round + 1) % frequency === 0) average();
  }
  const state: Record<string, number[]> = {};
  for (const [k, a] of Object.entries(replicas[0]!.updaterState())) state[k] = a.toFlatArray();
  const params = flat(replicas[0]!.params());
  for (const r of replicas) r.close();
  return { params, state, scores };
}

for (const averageUpdaters of [true, false]) {
  test(`AVERAGING with Adam, frequency 2, averageUpdaters ${averageUpdaters}: parameters, updater state and per-round scores match replicas simulated one after another`, async () => {
    const c = conf({ updater: { type: 'adam', learningRate: 0.03 } });
    const ds = clusters(new Rng(3), 48);
    const net = new MultiLayerNetwork(c).init();
    const batches = ds.batchBy(6); // 8 batches: 4 rounds of 2 workers, averaged after rounds 2 and 4
    const expected = simulateAveraging(net, batches, 2, 2, averageUpdaters);
    // Listeners after every round (not only after averagings): the mean of the replicas' scores.
    const seen = new Recorder();
    net.setListeners(seen);
    const wrapper = new ParallelWrapper(net, { workers: 2, trainingMode: 'AVERAGING', averagingFrequency: 2, averageUpdaters, reportScoreAfterAveraging: false });
    try {
      await wrapper.fit(new ListDataSetIterator(ds, 6), 1);
    } finally {
      await wrapper.close();
    }
    assert.deepEqual(seen.iterations, [0, 1, 2, 3]);
    assertClose(seen.scores, expected.scores, { rtol: 1e-9, message: 'scores' });
    assertClose(flat(net.params()), expected.params, { rtol: 1e-9, atol: 1e-12, message: 'parameters' });
    const state = net.updaterState();
    assert.deepEqual(Object.keys(state).sort(), Object.keys(expected.state).sort());
    for (const [k, v] of Object.entries(expected.state)) assertClose(state[k]!.toFlatArray(), v, { rtol: 1e-9, atol: 1e-12, message: `updater state ${k}` });
    for (const b of batches) b.close();
    net.close();
    ds.close();
  });
}

test('AVERAGING every 3 rounds over 3 workers learns a 4-class task to > 90% held-out accuracy', async () => {
  const rng = new Rng(4);
  const nIn = 8;
  const train = clusters(rng, 360, 'FLOAT', nIn, 4);
  const held = clusters(rng, 200, 'FLOAT', nIn, 4);
  const net = new MultiLayerNetwork({
    seed: 11, dataType: 'FLOAT', updater: { type: 'adam', learningRate: 0.02 },
    layers: [
      { type: 'dense', nIn, nOut: 16, activation: 'relu' },
      { type: 'output', nOut: 4, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  }).init();
  const before = net.evaluate(new ListDataSetIterator(held, 50)).accuracy();
  const seen = new Recorder();
  net.setListeners(seen);
  const wrapper = new ParallelWrapper(net, { workers: 3, trainingMode: 'AVERAGING', averagingFrequency: 3 });
  try {
    await wrapper.fit(new ListDataSetIterator(train, 12), 4);
  } finally {
    await wrapper.close();
  }
  const acc = net.evaluate(new ListDataSetIterator(held, 50)).accuracy();
  assert.ok(acc > 0.9, `held-out accuracy ${acc} (before training ${before})`);
  // 30 batches = 10 rounds per epoch; listeners report after each averaging (every 3 rounds, and the epoch's end).
  assert.equal(net.iterationCount, 40);
  assert.deepEqual(seen.iterations.slice(0, 8), [2, 5, 8, 9, 12, 15, 18, 19]);
  assert.equal(seen.iterations.length, 16);
  assert.ok(seen.scores.every(Number.isFinite));
  assert.ok(seen.scores[seen.scores.length - 1]! < seen.scores[0]!, `score ${seen.scores[0]} -> ${seen.scores[seen.scores.length - 1]}`);
  net.close();
  train.close();
  held.close();
});

for (const fault of ['throw', 'exit', 'crash', 'oom'] as const) {
  test(`a worker that fails (${fault}) rejects fit() quickly with the cause and leaves no threads`, async () => {
    const ds = clusters(new Rng(5), 64);
    const net = new MultiLayerNetwork(conf()).init();
    // Warm up first, so threads that the process starts once (kernel pool, libuv) are in the baseline.
    const warm = new ParallelWrapper(net, { workers: 2, trainingMode: 'SHARED_GRADIENTS' });
    await warm.fit(new ListDataSetIterator(ds, 8), 1);
    await warm.close();
    const threadsBefore = threadCount();
    const fixture = new URL(`./parallel-fixture.js?fault=${fault}`, import.meta.url);
    const wrapper = new ParallelWrapper(net, {
      workers: 2, trainingMode: 'SHARED_GRADIENTS', workerModules: [fixture], collectiveTimeoutMs: 120_000,
      ...(fault === 'oom' ? { workerResourceLimits: { maxOldGenerationSizeMb: 128 } } : {}),
    });
    const t0 = performance.now();
    const expected = {
      throw: /worker 1 \(cpu\) failed: injected failure in a training step/,
      exit: /worker 1 \(cpu\) exited unexpectedly with code 7/,
      crash: /worker 1 \(cpu\) crashed: injected crash/,
      oom: /worker 1 \(cpu\) crashed: .*out of memory/i,
    }[fault];
    await assert.rejects(wrapper.fit(new ListDataSetIterator(ds, 4), 5), expected);
    const elapsed = performance.now() - t0;
    assert.ok(elapsed < 20_000, `fit rejected after ${elapsed} ms`);
    assert.equal(wrapper.running, false);
    if (threadsBefore !== null) assert.ok(threadCount()! <= threadsBefore, `threads ${threadsBefore} before, ${threadCount()} after`);
    // The wrapper is usable again with fresh workers (the fault hits the new worker 1 as well).
    await assert.rejects(wrapper.fit(new ListDataSetIterator(ds, 4), 1), expected);
    await wrapper.close();
    net.close();
    ds.close();
  });
}

test('with dropout, workers draw from seeds of the main generator: a run replays after setSeed, another seed differs', async () => {
  const ds = clusters(new Rng(7), 24);
  const start = new MultiLayerNetwork(conf({ layers: [
    { type: 'dense', nIn: N_IN, nOut: 8, activation: 'tanh', dropOut: 0.6 },
    { type: 'output', nOut: N_OUT, activation: 'softmax', lossFunction: 'MCXENT' },
  ] })).init();
  const run = async (seed: number): Promise<number[]> => {
    setSeed(seed);
    const net = start.clone();
    const wrapper = new ParallelWrapper(net, { workers: 2, trainingMode: 'SHARED_GRADIENTS' });
    try {
      await wrapper.fit(new ListDataSetIterator(ds, 4), 1);
    } finally {
      await wrapper.close();
    }
    const p = flat(net.params());
    net.close();
    return p;
  };
  const a = await run(1);
  const b = await run(1);
  const c = await run(2);
  assert.deepEqual(b, a);
  assert.ok(c.some((v, i) => v !== a[i]), 'another main seed gives other dropout masks');
  start.close();
  ds.close();
});

test('main-thread and worker memory stay flat over several fits', async () => {
  const ds = clusters(new Rng(6), 40);
  const net = new MultiLayerNetwork(conf({ updater: { type: 'adam', learningRate: 0.01 } })).init();
  net.setListeners(new Recorder());
  const wrapper = new ParallelWrapper(net, { workers: 2, trainingMode: 'SHARED_GRADIENTS' });
  await assert.rejects(wrapper.workerMemory(), /no workers are running/);
  const reports = [];
  const workers = [];
  try {
    for (let i = 0; i < 4; i++) {
      await wrapper.fit(new ListDataSetIterator(ds, 5), 1);
      reports.push(memoryReport());
      workers.push(await wrapper.workerMemory());
    }
  } finally {
    await wrapper.close();
  }
  assert.equal(reports[3]!.arrays, reports[1]!.arrays);
  assert.equal(reports[3]!.totalBytes, reports[1]!.totalBytes);
  // The workers too: each holds its replica and nothing more from fit to fit.
  for (let k = 0; k < 2; k++) {
    assert.ok(workers[1]![k]!.arrays > 0);
    assert.equal(workers[3]![k]!.arrays, workers[1]![k]!.arrays, `worker ${k} arrays`);
    assert.equal(workers[3]![k]!.totalBytes, workers[1]![k]!.totalBytes, `worker ${k} bytes`);
  }
  net.close();
  ds.close();
});

test('options are validated', () => {
  const net = new MultiLayerNetwork(conf()).init();
  assert.throws(() => new ParallelWrapper(net, { workers: 0 }), /workers must be a positive integer, got 0/);
  assert.throws(() => new ParallelWrapper(net, { averagingFrequency: 1.5 }), /averagingFrequency must be a positive integer/);
  assert.throws(() => new ParallelWrapper(net, { trainingMode: 'HOGWILD' as 'AVERAGING' }), /trainingMode must be 'AVERAGING' or 'SHARED_GRADIENTS'/);
  assert.throws(() => new ParallelWrapper(new MultiLayerNetwork(conf())), /call init\(\) first/);
  net.close();
});
