import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  array, CheckpointListener, ComputationGraph, DataSet, deserializeAnyModel, ListDataSetIterator, memoryReport, ModelSerializer, modelTypeName, MultiLayerNetwork,
  type Checkpoint, type SerializableModel, type TrainingListener,
} from '../src/index.js';
import { crc32 } from '../src/nn/crc32.js';
import { Rng } from './helpers.js';

/** 12 examples of 3 features, 2 one-hot classes; with batches of 4 an epoch is 3 iterations. */
function rows(): { xs: number[][]; ys: number[][] } {
  const rng = new Rng(17);
  const xs: number[][] = [];
  const ys: number[][] = [];
  for (let i = 0; i < 12; i++) {
    const x = [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)];
    xs.push(x);
    ys.push(x[0]! + 0.5 * x[1]! > 0 ? [0, 1] : [1, 0]);
  }
  return { xs, ys };
}

function dataSet(from = 0): DataSet {
  const { xs, ys } = rows();
  return new DataSet(array(xs.slice(from), { dtype: 'FLOAT' }), array(ys.slice(from), { dtype: 'FLOAT' }));
}

/** Adam (its bias correction follows the iteration count) with a learning rate halved every epoch. */
function network(): MultiLayerNetwork {
  return new MultiLayerNetwork({
    seed: 3,
    updater: { type: 'adam', learningRate: { type: 'step', initialValue: 0.05, decayRate: 0.5, step: 1, scheduleType: 'epoch' } },
    inputType: { type: 'feedForward', size: 3 },
    layers: [
      { type: 'dense', nOut: 5, activation: 'tanh' },
      { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  }).init();
}

function flatParams(net: SerializableModel): number[] {
  const p = net.params();
  try {
    return p.toFlatArray();
  } finally {
    p.close();
  }
}

function outputOf(net: MultiLayerNetwork, ds: DataSet): number[] {
  const y = net.output(ds.features);
  try {
    return y.toFlatArray();
  } finally {
    y.close();
  }
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'dl4ts-ckpt-'));
}

const quiet = { logSaving: false };

/** Records the parameters after each step (run after the CheckpointListener, which saves the same state). */
function paramRecorder(byIteration: Map<number, number[]>): TrainingListener {
  return { iterationDone: (m, it) => byIteration.set(it + 1, flatParams(m as SerializableModel)) };
}

function summary(cs: readonly Checkpoint[]): [number, number, number][] {
  return cs.map((c) => [c.number, c.epoch, c.iteration]);
}

test('CheckpointListener: every N iterations, recording the counts after the step; each file restores that exact state', async () => {
  const dir = tempDir();
  const ds = dataSet();
  const net = network();
  const lines: string[] = [];
  const seen = new Map<number, number[]>();
  net.setListeners(new CheckpointListener({ directory: dir, saveEveryNIterations: 2, log: (l) => lines.push(l) }), paramRecorder(seen));
  net.fit(new ListDataSetIterator(ds, 4), 2);
  const cs = CheckpointListener.availableCheckpoints(dir);
  // Iterations 0..5; saves after the 2nd, 4th, 6th; the 4th (index 3) is the first of epoch 1.
  assert.deepEqual(summary(cs), [[0, 0, 2], [1, 1, 4], [2, 1, 6]]);
  assert.deepEqual(cs.map((c) => c.filename), [0, 1, 2].map((n) => `checkpoint_${n}_MultiLayerNetwork.dl4ts`));
  assert.deepEqual(readdirSync(dir).sort(), [...cs.map((c) => c.filename), 'checkpointInfo.txt'].sort());
  assert.equal(lines.length, 3);
  assert.match(lines[1]!, /saved checkpoint 1 \(epoch 1, iteration 4\) to .*checkpoint_1_MultiLayerNetwork\.dl4ts$/);
  for (const c of cs) {
    const restored = await CheckpointListener.loadCheckpoint(dir, c);
    assert.ok(restored instanceof MultiLayerNetwork, 'the file restores the kind that was saved');
    assert.equal(restored.iterationCount, c.iteration);
    assert.equal(restored.epochCount, c.epoch);
    assert.deepEqual(flatParams(restored), seen.get(c.iteration));
    restored.close();
  }
  // The last checkpoint is the final state: identical outputs.
  const last = await CheckpointListener.loadLastCheckpointMLN(dir);
  assert.ok(last);
  assert.equal(last.iterationCount, net.iterationCount);
  assert.deepEqual(outputOf(last, ds), outputOf(net, ds));
  last.close();
  net.close();
  ds.close();
  rmSync(dir, { recursive: true });
});

test('CheckpointListener: every N epochs, recording the epochs completed', async () => {
  const dir = tempDir();
  const ds = dataSet();
  const net = network();
  net.setListeners(new CheckpointListener({ directory: dir, saveEveryNEpochs: 2, ...quiet }));
  net.fit(new ListDataSetIterator(ds, 4), 5);
  assert.deepEqual(summary(CheckpointListener.availableCheckpoints(dir)), [[0, 2, 6], [1, 4, 12]]);
  const restored = await CheckpointListener.loadCheckpoint(dir, 1);
  assert.equal(restored.epochCount, 4);
  assert.equal(restored.iterationCount, 12);
  restored.close();
  net.close();
  ds.close();
  rmSync(dir, { recursive: true });
});

test('CheckpointListener: saveEvery uses the injected clock, counting from the start of training and then from each save', () => {
  const dir = tempDir();
  const ds = dataSet();
  const net = network();
  let now = 1_000_000;
  // Each step "takes" 25 s: the clock moves before the checkpoint listener looks at it.
  const tick: TrainingListener = { iterationDone: () => { now += 25_000; } };
  net.setListeners(tick, new CheckpointListener({ directory: dir, saveEvery: { amount: 1, unit: 'minutes' }, clock: () => now, ...quiet }));
  net.fit(new ListDataSetIterator(ds, 4), 3);
  const cs = CheckpointListener.availableCheckpoints(dir);
  // 75 s after the start (step 3), then 75 s after each save (steps 6 and 9).
  assert.deepEqual(summary(cs), [[0, 0, 3], [1, 1, 6], [2, 2, 9]]);
  assert.deepEqual(cs.map((c) => c.timestamp), [1_075_000, 1_150_000, 1_225_000]);
  net.close();

  // 30 seconds with 25-second steps: every second step.
  const dir2 = tempDir();
  const net2 = network();
  now = 0;
  net2.setListeners(tick, new CheckpointListener({ directory: dir2, saveEvery: { amount: 30, unit: 'seconds' }, clock: () => now, ...quiet }));
  net2.fit(new ListDataSetIterator(ds, 4), 2);
  assert.deepEqual(CheckpointListener.availableCheckpoints(dir2).map((c) => c.iteration), [2, 4, 6]);
  net2.close();
  ds.close();
  rmSync(dir, { recursive: true });
  rmSync(dir2, { recursive: true });
});

test('CheckpointListener: keepLast deletes older files; keepEvery also keeps every M-th; memory stays flat while saving', () => {
  const ds = dataSet();
  const cases: { keepLast: number; keepEvery?: number; iterations: number; expected: number[] }[] = [
    { keepLast: 2, iterations: 6, expected: [4, 5] },
    { keepLast: 2, keepEvery: 3, iterations: 9, expected: [0, 3, 6, 7, 8] },
    { keepLast: 1, keepEvery: 4, iterations: 9, expected: [0, 4, 8] },
  ];
  for (const c of cases) {
    const dir = tempDir();
    const net = network();
    const mem: { arrays: number; totalBytes: number }[] = [];
    net.setListeners(
      new CheckpointListener({ directory: dir, saveEveryNIterations: 1, keepLast: c.keepLast, ...(c.keepEvery ? { keepEvery: c.keepEvery } : {}), ...quiet }),
      { iterationDone: (_m, it) => { if (it === 2 || it === c.iterations - 1) mem.push(memoryReport()); } },
    );
    net.fit(new ListDataSetIterator(ds, 4), c.iterations / 3);
    const cs = CheckpointListener.availableCheckpoints(dir);
    assert.deepEqual(cs.map((r) => r.number), c.expected, JSON.stringify(c));
    assert.deepEqual(cs.map((r) => r.iteration), c.expected.map((n) => n + 1));
    // Only the kept files remain (no temporary files either), and the index lists exactly them.
    assert.deepEqual(readdirSync(dir).sort(), [...c.expected.map((n) => `checkpoint_${n}_MultiLayerNetwork.dl4ts`), 'checkpointInfo.txt'].sort());
    assert.equal(readFileSync(join(dir, 'checkpointInfo.txt'), 'utf8').trim().split('\n').length, c.expected.length + 1);
    assert.equal(mem[1]!.arrays, mem[0]!.arrays);
    assert.equal(mem[1]!.totalBytes, mem[0]!.totalBytes);
    net.close();
    rmSync(dir, { recursive: true });
  }
  ds.close();
});

test('CheckpointListener: a restored checkpoint continues training exactly as the original (epoch and mid-epoch checkpoints)', async () => {
  const dir = tempDir();
  const all = dataSet();
  const rest = dataSet(4); // the examples after the first batch
  const net = network();
  net.setListeners(new CheckpointListener({ directory: dir, saveEveryNEpochs: 1, saveEveryNIterations: 4, ...quiet }));
  net.fit(new ListDataSetIterator(all, 4), 3);
  const final = flatParams(net);
  // Epoch ends after iterations 3, 6, 9; the iteration trigger after 4 and 8.
  assert.deepEqual(summary(CheckpointListener.availableCheckpoints(dir)), [[0, 1, 3], [1, 1, 4], [2, 2, 6], [3, 2, 8], [4, 3, 9]]);

  // From the end of epoch 2 (of 3): one more epoch.
  const a = await CheckpointListener.loadCheckpointMLN(dir, 2);
  a.fit(new ListDataSetIterator(all, 4), 1);
  assert.deepEqual(flatParams(a), final);
  a.close();

  // From the middle of epoch 2: its remaining two batches, then the third epoch.
  const b = await CheckpointListener.loadCheckpointMLN(dir, 1);
  b.fit(new ListDataSetIterator(rest, 4), 1);
  assert.equal(b.epochCount, 2);
  b.fit(new ListDataSetIterator(all, 4), 1);
  assert.deepEqual(flatParams(b), final);
  b.close();

  // Without the updater state, Adam starts over and the result differs.
  const c = await CheckpointListener.loadCheckpointMLN(dir, 2, { loadUpdater: false });
  c.fit(new ListDataSetIterator(all, 4), 1);
  assert.notDeepEqual(flatParams(c), final);
  c.close();
  net.close();
  all.close();
  rest.close();
  rmSync(dir, { recursive: true });
});

test('CheckpointListener: a new listener on an existing directory continues the numbering and applies its keep policy', async () => {
  const dir = tempDir();
  const ds = dataSet();
  assert.deepEqual(CheckpointListener.availableCheckpoints(dir), []);
  assert.equal(CheckpointListener.lastCheckpoint(dir), null);
  assert.equal(await CheckpointListener.loadLastCheckpoint(dir), null);

  const first = network();
  first.setListeners(new CheckpointListener({ directory: dir, saveEveryNIterations: 1, ...quiet }));
  first.fit(new ListDataSetIterator(ds, 4), 1);
  assert.deepEqual(CheckpointListener.availableCheckpoints(dir).map((c) => c.number), [0, 1, 2]);

  // A "new run": resume from the last checkpoint with a fresh listener on the same directory.
  const resumed = await CheckpointListener.loadLastCheckpointMLN(dir);
  assert.ok(resumed);
  assert.deepEqual(flatParams(resumed), flatParams(first));
  const listener = new CheckpointListener({ directory: dir, saveEveryNIterations: 1, keepLast: 4, ...quiet });
  assert.deepEqual(listener.availableCheckpoints().map((c) => c.number), [0, 1, 2]);
  resumed.setListeners(listener);
  resumed.fit(new ListDataSetIterator(ds, 4), 1);
  // Checkpoint 2 was saved inside the first epoch (before fit counted it), so the resumed run is still in epoch 0.
  const cs = CheckpointListener.availableCheckpoints(dir);
  assert.deepEqual(summary(cs), [[2, 0, 3], [3, 0, 4], [4, 0, 5], [5, 0, 6]]);
  assert.deepEqual(listener.availableCheckpoints(), cs);
  assert.equal(CheckpointListener.lastCheckpoint(dir)?.number, 5);
  await assert.rejects(CheckpointListener.loadCheckpoint(dir, 0), /no checkpoint 0 in '.*'; available: 2, 3, 4, 5/);

  // A file saved just before a crash, not yet in the index: its number is not reused.
  writeFileSync(join(dir, 'checkpoint_9_MultiLayerNetwork.dl4ts'), 'partial');
  const again = network();
  again.setListeners(new CheckpointListener({ directory: dir, saveEveryNIterations: 3, ...quiet }));
  again.fit(new ListDataSetIterator(ds, 4), 1);
  assert.equal(CheckpointListener.lastCheckpoint(dir)?.number, 10);

  for (const n of [first, resumed, again]) n.close();
  ds.close();
  rmSync(dir, { recursive: true });
});

test('CheckpointListener: bad options, a malformed index and models it cannot save throw clear errors', () => {
  const dir = tempDir();
  const bad: [object, RegExp][] = [
    [{ directory: '', saveEveryNIterations: 1 }, /directory must be a non-empty path/],
    [{ directory: dir }, /no checkpoint frequency; give saveEveryNIterations, saveEveryNEpochs or saveEvery/],
    [{ directory: dir, saveEveryNIterations: 0 }, /saveEveryNIterations must be a positive integer, got 0/],
    [{ directory: dir, saveEveryNEpochs: 1.5 }, /saveEveryNEpochs must be a positive integer, got 1.5/],
    [{ directory: dir, saveEveryNEpochs: 1, keepLast: -1 }, /keepLast must be a positive integer, got -1/],
    [{ directory: dir, saveEveryNEpochs: 1, keepLast: 2, keepEvery: 0 }, /keepEvery must be a positive integer, got 0/],
    [{ directory: dir, saveEveryNEpochs: 1, keepEvery: 3 }, /keepEvery \(3\) keeps checkpoints in addition to keepLast, which is not given/],
    [{ directory: dir, saveEveryNEpochs: 1, keepAll: true, keepLast: 2 }, /keepAll conflicts with keepLast/],
    [{ directory: dir, saveEveryNEpochs: 1, keepAll: false }, /keepAll is false but keepLast is not given/],
    [{ directory: dir, saveEvery: { amount: 0, unit: 'minutes' } }, /saveEvery.amount must be a positive number, got 0/],
    [{ directory: dir, saveEvery: { amount: 5, unit: 'days' } }, /saveEvery.unit must be one of seconds, minutes, hours, got "days"/],
  ];
  for (const [options, message] of bad) {
    assert.throws(() => new CheckpointListener(options as ConstructorParameters<typeof CheckpointListener>[0]), message);
  }
  // A file where the directory should be.
  writeFileSync(join(dir, 'file'), 'x');
  assert.throws(() => new CheckpointListener({ directory: join(dir, 'file'), saveEveryNEpochs: 1 }), /cannot create the directory '.*file'/);

  const index = join(dir, 'checkpointInfo.txt');
  writeFileSync(index, 'number,epoch,iteration,timestamp,filename\n0,0,1,5,checkpoint_0_MultiLayerNetwork.dl4ts\n1,0,x,5,checkpoint_1_MultiLayerNetwork.dl4ts\n');
  assert.throws(() => CheckpointListener.availableCheckpoints(dir), /checkpointInfo.txt' line 3: expected four non-negative integers/);
  writeFileSync(index, 'number,epoch,iteration,timestamp,filename\n0,0,1,5,../../etc/passwd\n');
  assert.throws(() => new CheckpointListener({ directory: dir, saveEveryNEpochs: 1 }), /line 2: '..\/..\/etc\/passwd' is not the file name of checkpoint 0/);
  writeFileSync(index, 'something else\n');
  assert.throws(() => CheckpointListener.availableCheckpoints(dir), /line 1: expected the header/);
  rmSync(index);

  const listener = new CheckpointListener({ directory: dir, saveEveryNIterations: 1, ...quiet });
  assert.throws(() => listener.iterationDone({ score: () => 0 }, 0, 0), /can only save a MultiLayerNetwork or a ComputationGraph, got Object/);
  rmSync(dir, { recursive: true });
});

// ---- ComputationGraph checkpoints ----------------------------------------------------------------

/** Two branches from one input (tanh and relu dense layers) merged into the output layer; Adam with an epoch schedule. */
function graph(): ComputationGraph {
  return new ComputationGraph({
    seed: 3,
    updater: { type: 'adam', learningRate: { type: 'step', initialValue: 0.05, decayRate: 0.5, step: 1, scheduleType: 'epoch' } },
    inputs: ['in'],
    inputTypes: [{ type: 'feedForward', size: 3 }],
    vertices: {
      a: { layer: { type: 'dense', nOut: 4, activation: 'tanh' }, inputs: ['in'] },
      b: { layer: { type: 'dense', nOut: 3, activation: 'relu' }, inputs: ['in'] },
      out: { layer: { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }, inputs: ['a', 'b'] },
    },
    outputs: ['out'],
  }).init();
}

function graphOutput(g: ComputationGraph, ds: DataSet): number[] {
  const [y] = g.output(ds.features);
  try {
    return y!.toFlatArray();
  } finally {
    y!.close();
  }
}

function updaterValues(m: SerializableModel): [string, number[]][] {
  return Object.entries(m.updaterState()).map(([k, a]) => [k, a.toFlatArray()]);
}

test('CheckpointListener on a ComputationGraph: ComputationGraph files that restore bit-identically and continue training exactly', async () => {
  const dir = tempDir();
  const all = dataSet();
  const rest = dataSet(4);
  const g = graph();
  const seen = new Map<number, number[]>();
  g.setListeners(new CheckpointListener({ directory: dir, saveEveryNEpochs: 1, saveEveryNIterations: 4, ...quiet }), paramRecorder(seen));
  g.fit(new ListDataSetIterator(all, 4), 3);
  const final = flatParams(g);
  const cs = CheckpointListener.availableCheckpoints(dir);
  assert.deepEqual(summary(cs), [[0, 1, 3], [1, 1, 4], [2, 2, 6], [3, 2, 8], [4, 3, 9]]);
  assert.deepEqual(cs.map((c) => c.filename), [0, 1, 2, 3, 4].map((n) => `checkpoint_${n}_ComputationGraph.dl4ts`));

  // Each checkpoint is a ComputationGraph holding exactly the parameters recorded after its step.
  for (const c of cs) {
    const restored = await CheckpointListener.loadCheckpoint(dir, c);
    assert.ok(restored instanceof ComputationGraph, `checkpoint ${c.number} restores a ComputationGraph`);
    assert.equal(restored.iterationCount, c.iteration);
    assert.equal(restored.epochCount, c.epoch);
    assert.deepEqual(flatParams(restored), seen.get(c.iteration));
    restored.close();
  }
  // The last one is the final state: parameters, updater state and outputs identical.
  const last = await CheckpointListener.loadLastCheckpointCG(dir);
  assert.ok(last);
  assert.deepEqual(flatParams(last), final);
  assert.deepEqual(updaterValues(last), updaterValues(g));
  assert.deepEqual(graphOutput(last, all), graphOutput(g, all));
  last.close();

  // From the end of epoch 2: one more epoch gives the original's final parameters.
  const a = await CheckpointListener.loadCheckpointCG(dir, 2);
  a.fit(new ListDataSetIterator(all, 4), 1);
  assert.deepEqual(flatParams(a), final);
  a.close();
  // From the middle of epoch 2: its remaining two batches, then the third epoch.
  const b = await CheckpointListener.loadCheckpointCG(dir, 1);
  b.fit(new ListDataSetIterator(rest, 4), 1);
  assert.equal(b.epochCount, 2);
  b.fit(new ListDataSetIterator(all, 4), 1);
  assert.deepEqual(flatParams(b), final);
  b.close();
  // Without the updater state the continuation differs: the comparisons above can fail.
  const c = await CheckpointListener.loadCheckpointCG(dir, 2, { loadUpdater: false });
  c.fit(new ListDataSetIterator(all, 4), 1);
  assert.notDeepEqual(flatParams(c), final);
  c.close();

  // The typed loaders name the kind a checkpoint holds when it is not the one asked for.
  await assert.rejects(CheckpointListener.loadCheckpointMLN(dir, 3), /loadCheckpointMLN: checkpoint 3 in '.*' holds a ComputationGraph, not a MultiLayerNetwork/);
  await assert.rejects(CheckpointListener.loadLastCheckpointMLN(dir), /checkpoint 4 in '.*' holds a ComputationGraph, not a MultiLayerNetwork/);
  const netDir = tempDir();
  const net = network();
  net.setListeners(new CheckpointListener({ directory: netDir, saveEveryNEpochs: 1, ...quiet }));
  net.fit(new ListDataSetIterator(all, 4), 1);
  assert.deepEqual(CheckpointListener.availableCheckpoints(netDir).map((r) => r.filename), ['checkpoint_0_MultiLayerNetwork.dl4ts']);
  await assert.rejects(CheckpointListener.loadCheckpointCG(netDir, 0), /loadCheckpointCG: checkpoint 0 in '.*' holds a MultiLayerNetwork, not a ComputationGraph/);
  const restoredNet = await CheckpointListener.loadLastCheckpoint(netDir);
  assert.ok(restoredNet instanceof MultiLayerNetwork);
  assert.deepEqual(flatParams(restoredNet), flatParams(net));
  for (const m of [restoredNet, net, g]) m.close();
  all.close();
  rest.close();
  rmSync(dir, { recursive: true });
  rmSync(netDir, { recursive: true });
});

test('ModelSerializer.restoreModel returns the kind a file holds and rejects an unknown format tag', async () => {
  const dir = tempDir();
  const g = graph();
  const net = network();
  const gPath = join(dir, 'g.bin');
  const nPath = join(dir, 'n.bin');
  await ModelSerializer.writeModel(g, gPath);
  await ModelSerializer.writeModel(net, nPath);
  const rg = (await ModelSerializer.restoreModel(gPath)).model;
  const rn = (await ModelSerializer.restoreModel(nPath)).model;
  assert.ok(rg instanceof ComputationGraph);
  assert.ok(rn instanceof MultiLayerNetwork);
  assert.equal(modelTypeName(rg), 'ComputationGraph');
  assert.equal(modelTypeName(rn), 'MultiLayerNetwork');
  assert.deepEqual(flatParams(rg), flatParams(g));
  assert.deepEqual(flatParams(rn), flatParams(net));

  // Another format tag with a valid CRC: the header is rewritten and the checksum recomputed.
  const bytes = readFileSync(nPath);
  const headerLength = bytes.readUInt32LE(12);
  const header = Buffer.from(bytes.subarray(20, 20 + headerLength).toString('utf8').replace('"format":"dl4ts-multilayernetwork"', '"format":"dl4ts-other"'), 'utf8');
  assert.ok(header.byteLength < headerLength, 'the tag was replaced');
  const forged = Buffer.concat([bytes.subarray(0, 20), header, bytes.subarray(20 + headerLength)]);
  forged.writeUInt32LE(header.byteLength, 12);
  forged.writeUInt32LE(crc32(forged.subarray(20)), 16);
  assert.throws(() => deserializeAnyModel(forged, 'forged.bin'), /ModelSerializer.restoreModel: 'forged.bin' has format "dl4ts-other"; expected one of 'dl4ts-multilayernetwork', 'dl4ts-computationgraph'/);
  for (const m of [g, net, rg, rn]) m.close();
  rmSync(dir, { recursive: true });
});
