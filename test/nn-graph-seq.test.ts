// ComputationGraph with sequences, at parity with MultiLayerNetwork: truncated BPTT (option
// validation, JSON round trip, cutting MultiDataSets into time segments against plain-JS slicing,
// chain graphs training exactly as the MultiLayerNetwork over several masked minibatches whose
// length is not a multiple of the segment, a two-input graph exactly as the network on the
// concatenated input, errors, flat memory) and the rnnToCnn / cnnToRnn preprocessor vertices
// (validation naming the vertex, a convolution-per-frame graph with identical outputs, gradients,
// stepping and training as the network with inputPreProcessors, gradients against central differences).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ComputationGraph, ComputationGraphConfiguration, MultiLayerNetwork, MultiDataSet, DataSet, ListDataSetIterator,
  array, scope, memoryReport, gradCheck, serializeModel, deserializeGraph,
  type NDArray, type NeuralNetConfiguration, type LayerConfig, type TrainingListener,
} from '../src/index.js';
import { multiTimeSegment } from '../src/nn/tbptt.js';
import { Rng, assertClose } from './helpers.js';
import { seqArray, type Seq } from './sequence-helpers.js';

type Conf = ConstructorParameters<typeof ComputationGraph>[0];

const common = { seed: 21, dataType: 'DOUBLE' as const, updater: { type: 'adam', learningRate: 0.03 } as const };

/** The graph in -> layers[0] -> layers[1] -> ... with vertex names l0, l1, ... (the last is the output). */
function chainGraph(size: number, layers: readonly LayerConfig[], extra: Partial<Conf> = {}): Conf {
  const vertices: Conf['vertices'] = {};
  layers.forEach((layer, i) => {
    vertices[`l${i}`] = { layer, inputs: [i === 0 ? 'in' : `l${i - 1}`] };
  });
  return { ...common, inputs: ['in'], inputTypes: [{ type: 'recurrent', size }], vertices, outputs: [`l${layers.length - 1}`], ...extra };
}

const rnnLayers: LayerConfig[] = [
  { type: 'lstm', nOut: 4, activation: 'tanh' },
  { type: 'simpleRnn', nOut: 3, activation: 'tanh' },
  { type: 'rnnOutput', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
];

/** Random features [N, C, T], one-hot labels [N, K, T] and a right-padding mask [N, T] of the given lengths. */
function sequenceData(rng: Rng, n: number, c: number, k: number, t: number, lengths: readonly number[] | null): { x: Seq; y: Seq; mask: number[][] | null } {
  const x = Array.from({ length: n }, () => Array.from({ length: c }, () => Array.from({ length: t }, () => rng.uniform(-1, 1))));
  const y = Array.from({ length: n }, () => {
    const cls = Array.from({ length: t }, () => rng.int(0, k));
    return Array.from({ length: k }, (_, j) => cls.map((v) => (v === j ? 1 : 0)));
  });
  return { x, y, mask: lengths && lengths.map((len) => Array.from({ length: t }, (_, s) => (s < len ? 1 : 0))) };
}

const maskArray = (m: number[][]): NDArray => array(m.flat(), { dtype: 'DOUBLE' }).reshape([m.length, m[0]!.length]);

function dataSet(d: { x: Seq; y: Seq; mask: number[][] | null }): DataSet {
  return new DataSet(seqArray(d.x), seqArray(d.y), d.mask && maskArray(d.mask), d.mask && maskArray(d.mask));
}

/** Records the score after every iteration. */
function scoreRecorder(scores: number[]): TrainingListener {
  return { iterationDone: (m) => void scores.push(m.score()) };
}

const flat = (m: { params(): NDArray }): number[] => scope(() => m.params().toFlatArray());

test('graph tbptt: options are validated as for MultiLayerNetwork and survive a JSON round trip', () => {
  const bad: [Partial<Conf>, RegExp][] = [
    [{ backpropType: 'Truncated' as 'TruncatedBPTT' }, /backpropType: expected one of 'Standard', 'TruncatedBPTT', got 'Truncated'/],
    [{ backpropType: 'TruncatedBPTT', tbpttFwdLength: 0 }, /tbpttFwdLength must be a positive integer, got 0/],
    [{ backpropType: 'TruncatedBPTT', tbpttFwdLength: 4, tbpttBackLength: 5 }, /tbpttBackLength: must not exceed tbpttFwdLength \(4\), got 5/],
    [{ tbpttFwdLength: 4 }, /tbpttFwdLength: only applies with backpropType 'TruncatedBPTT'/],
  ];
  for (const [extra, re] of bad) assert.throws(() => new ComputationGraph(chainGraph(2, rnnLayers, extra)), re, JSON.stringify(extra));
  assert.throws(() => new ComputationGraph({ ...chainGraph(2, [{ type: 'dense', nOut: 3 }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }], { backpropType: 'TruncatedBPTT' }), inputTypes: [{ type: 'feedForward', size: 2 }] }),
    /'TruncatedBPTT' needs at least one recurrent layer/);
  assert.throws(() => new ComputationGraph(chainGraph(2, [{ type: 'bidirectional', layer: { type: 'lstm', nOut: 3 } }, rnnLayers[2]!], { backpropType: 'TruncatedBPTT' })),
    /layer 0 \(bidirectional 'l0'\).*not possible with a bidirectional layer/);

  assert.equal(new ComputationGraph(chainGraph(2, rnnLayers)).resolved.tbptt, undefined);
  assert.deepEqual(new ComputationGraph(chainGraph(2, rnnLayers, { backpropType: 'TruncatedBPTT' })).resolved.tbptt, { fwdLength: 20, backLength: 20 });
  const conf = chainGraph(2, rnnLayers, { backpropType: 'TruncatedBPTT', tbpttFwdLength: 3, tbpttBackLength: 2 });
  const back = ComputationGraphConfiguration.fromJSON(ComputationGraphConfiguration.toJSON(conf));
  assert.deepEqual([back.backpropType, back.tbpttFwdLength, back.tbpttBackLength], ['TruncatedBPTT', 3, 2]);
  const [g, restored] = [new ComputationGraph(conf).init(), new ComputationGraph(back).init()];
  assert.deepEqual(restored.resolved.tbptt, { fwdLength: 3, backLength: 2 });
  const ds = dataSet(sequenceData(new Rng(2), 3, 2, 2, 7, null));
  g.fit(ds, 2);
  restored.fit(ds, 2);
  // 7 steps in segments of 3: 3 updates per minibatch.
  assert.equal(g.iterationCount, 6);
  assert.deepEqual(flat(restored), flat(g));
  // A model file keeps the options: the restored graph continues training identically.
  const file = deserializeGraph(serializeModel(g), 'memory').graph;
  assert.deepEqual(file.resolved.tbptt, { fwdLength: 3, backLength: 2 });
  g.fit(ds);
  file.fit(ds);
  assert.equal(file.iterationCount, 9);
  assert.deepEqual(flat(file), flat(g));
  for (const o of [ds, g, restored, file]) o.close();
});

test('graph tbptt: MultiDataSets are cut along time as plain-JS slicing; static arrays are shared whole', () => {
  const rng = new Rng(3);
  const [n, t] = [2, 5];
  const seq = sequenceData(rng, n, 3, 2, t, [5, 2]);
  const staticIn = [[1, 2], [3, 4]];
  const perOutMask: Seq = [[[1, 0, 1, 1, 0], [0, 1, 1, 0, 1]], [[1, 1, 0, 0, 1], [1, 0, 0, 1, 1]]];
  const mds = new MultiDataSet([seqArray(seq.x), array(staticIn, { dtype: 'DOUBLE' })], [seqArray(seq.y), array(staticIn, { dtype: 'DOUBLE' })],
    [maskArray(seq.mask!), maskArray(staticIn)], [seqArray(perOutMask), null]);
  const cut = (s: Seq, from: number, to: number): number[] => s.flatMap((ex) => ex.flatMap((row) => row.slice(from, to)));
  const seg = multiTimeSegment('test', mds, 3, 5);
  assert.deepEqual(seg.features[0]!.toFlatArray(), cut(seq.x, 3, 5));
  assert.deepEqual(seg.labels[0]!.toFlatArray(), cut(seq.y, 3, 5));
  assert.deepEqual(seg.featuresMasks![0]!.toFlatArray(), seq.mask!.flatMap((r) => r.slice(3, 5)));
  assert.deepEqual(seg.labelsMasks![0]!.toFlatArray(), cut(perOutMask, 3, 5));
  assert.equal(seg.features[1], mds.features[1]);
  assert.equal(seg.labels[1], mds.labels[1]);
  assert.equal(seg.featuresMasks![1], mds.featuresMasks![1]);
  assert.equal(seg.labelsMasks![1], null);
  mds.close();
});

test('graph tbptt: a chain graph trains exactly as the MultiLayerNetwork (masks, back length < segment, length not a multiple)', () => {
  const extra = { backpropType: 'TruncatedBPTT' as const, tbpttFwdLength: 3, tbpttBackLength: 2, l2: 0.001 };
  const mln = new MultiLayerNetwork({ ...common, ...extra, inputType: { type: 'recurrent', size: 2 }, layers: rnnLayers }).init();
  const g = new ComputationGraph(chainGraph(2, rnnLayers, extra)).init();
  const rng = new Rng(7);
  scope(() => g.setParams(array(rng.fill(g.numParams(), -0.6, 0.6), { dtype: 'DOUBLE' })));
  scope(() => mln.setParams(g.params()));
  // Minibatches of 8 steps (segments of 3, 3, 2) padded to different lengths.
  const batches = [[8, 5, 3], [8, 8, 1], [6, 2, 7]].map((lengths) => dataSet(sequenceData(rng, 3, 2, 2, 8, lengths)));
  const [mlnScores, gScores] = [[] as number[], [] as number[]];
  mln.setListeners(scoreRecorder(mlnScores));
  g.setListeners(scoreRecorder(gScores));
  const [mlnData, gData] = [new ListDataSetIterator(batches, 3), new ListDataSetIterator(batches, 3)];
  mln.fit(mlnData, 2);
  g.fit(gData, 2);
  assert.equal(g.iterationCount, 3 * 3 * 2);
  assert.equal(gScores.length, 18);
  assert.deepEqual(gScores, mlnScores);
  assert.deepEqual(flat(g), flat(mln));
  // The segments matter: standard BPTT from the same start ends elsewhere.
  const standard = new ComputationGraph(chainGraph(2, rnnLayers, { l2: 0.001 })).init();
  for (const o of [g, standard]) scope(() => o.setParams(array(new Array<number>(o.numParams()).fill(0).map((_, k) => Math.sin(k)), { dtype: 'DOUBLE' })));
  g.fit(batches[0]!, 1);
  standard.fit(batches[0]!, 1);
  assert.notDeepEqual(flat(g), flat(standard));
  assert.equal(standard.iterationCount, 1);
  for (const o of [...batches, mlnData, gData, g, mln, standard]) o.close();
});

test('graph tbptt: two sequence inputs merged train exactly as the network on the concatenated input; errors name the arrays', () => {
  const extra = { backpropType: 'TruncatedBPTT' as const, tbpttFwdLength: 4, tbpttBackLength: 3 };
  const layers: LayerConfig[] = [{ type: 'lstm', nOut: 3, activation: 'tanh' }, { type: 'rnnOutput', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }];
  const mln = new MultiLayerNetwork({ ...common, ...extra, inputType: { type: 'recurrent', size: 3 }, layers }).init();
  const g = new ComputationGraph({
    ...common, ...extra, inputs: ['a', 'b'], inputTypes: [{ type: 'recurrent', size: 2 }, { type: 'recurrent', size: 1 }], outputs: ['out'],
    vertices: { rnn: { layer: layers[0]!, inputs: ['a', 'b'] }, out: { layer: layers[1]!, inputs: ['rnn'] } },
  }).init();
  scope(() => g.setParams(mln.params()));
  const rng = new Rng(9);
  const d = sequenceData(rng, 4, 3, 2, 10, [10, 6, 9, 3]);
  const ds = dataSet(d);
  const a = seqArray(d.x.map((ex) => ex.slice(0, 2)));
  const b = seqArray(d.x.map((ex) => ex.slice(2)));
  const mds = new MultiDataSet([a, b], [ds.labels.dup()], [ds.featuresMask!.dup(), ds.featuresMask!.dup()], [ds.labelsMask!.dup()]);
  mln.fit(ds, 2);
  g.fit(mds, 2);
  assert.equal(g.iterationCount, 6);
  assert.deepEqual(flat(g), flat(mln));

  const shortB = seqArray(d.x.map((ex) => ex.slice(2).map((row) => row.slice(0, 9))));
  const uneven = new MultiDataSet([a.dup(), shortB], [ds.labels.dup()]);
  assert.throws(() => g.fit(uneven), /ComputationGraph\.fit: truncated BPTT needs every time-series array \[N, C, T\] to have the same T, got features\[0\] \[4, 2, 10\], features\[1\] \[4, 1, 9\], labels\[0\] \[4, 2, 10\]/);
  const badMask = new MultiDataSet([a.dup(), b.dup()], [ds.labels.dup()], [maskArray(d.mask!.map((r) => r.slice(0, 9))), null]);
  assert.throws(() => g.fit(badMask), /ComputationGraph\.fit: featuresMasks\[0\] must be \[N, T\] with T = 10 for truncated BPTT, got \[4, 9\]/);
  const flatIn = new MultiDataSet([array(rng.fill(8, -1, 1), { dtype: 'DOUBLE' }).reshape([4, 2]), array(rng.fill(4, -1, 1), { dtype: 'DOUBLE' }).reshape([4, 1])], [ds.labels.dup()]);
  assert.throws(() => g.fit(flatIn), /ComputationGraph\.fit: truncated BPTT needs at least one time-series features array \[N, C, T\], got features\[0\] \[4, 2\], features\[1\] \[4, 1\], labels\[0\] \[4, 2, 10\]/);
  assert.equal(g.iterationCount, 6);
  for (const o of [ds, mds, uneven, badMask, flatIn, g, mln]) o.close();
});

test('graph tbptt: memory stays flat across minibatches', () => {
  const g = new ComputationGraph({ ...chainGraph(2, rnnLayers, { backpropType: 'TruncatedBPTT', tbpttFwdLength: 3, tbpttBackLength: 2 }), dataType: 'FLOAT' }).init();
  const rng = new Rng(4);
  const d = sequenceData(rng, 4, 2, 2, 7, [7, 4, 6, 2]);
  const ds = new DataSet(seqArray(d.x, 'FLOAT'), seqArray(d.y, 'FLOAT'), maskArray(d.mask!), null);
  const reports: { arrays: number; totalBytes: number }[] = [];
  g.setListeners({ iterationDone: (_m, it) => void ((it === 6 || it === 59) && reports.push(memoryReport())) });
  g.fit(ds, 20);
  assert.equal(reports.length, 2);
  assert.equal(reports[1]!.arrays, reports[0]!.arrays);
  assert.equal(reports[1]!.totalBytes, reports[0]!.totalBytes);
  ds.close();
  g.close();
});

// ---- rnnToCnn / cnnToRnn preprocessor vertices --------------------------------------------------------

const [C, H, W] = [2, 3, 3];
const frameLayers: LayerConfig[] = [
  { type: 'convolution2d', nOut: 2, kernelSize: [2, 2], activation: 'tanh' },
  { type: 'lstm', nOut: 3, activation: 'tanh' },
  { type: 'rnnOutput', nOut: 3, activation: 'softmax', lossFunction: 'MCXENT' },
];

/** rnnToCnn vertex -> convolution -> cnnToRnn vertex -> lstm -> rnnOutput: a convolution on every frame. */
function frameGraph(extra: Partial<Conf> = {}): Conf {
  return {
    ...common, inputs: ['video'], inputTypes: [{ type: 'recurrent', size: C * H * W }], outputs: ['out'],
    vertices: {
      frames: { vertex: { type: 'preprocessor', preProcessor: { type: 'rnnToCnn', height: H, width: W, channels: C } }, inputs: ['video'] },
      conv: { layer: frameLayers[0]!, inputs: ['frames'] },
      seq: { vertex: { type: 'preprocessor', preProcessor: { type: 'cnnToRnn' } }, inputs: ['conv'] },
      rnn: { layer: frameLayers[1]!, inputs: ['seq'] },
      out: { layer: frameLayers[2]!, inputs: ['rnn'] },
    },
    ...extra,
  };
}

function frameNet(extra: Partial<NeuralNetConfiguration> = {}): MultiLayerNetwork {
  return new MultiLayerNetwork({
    ...common, inputType: { type: 'recurrent', size: C * H * W }, layers: frameLayers,
    inputPreProcessors: { 0: { type: 'rnnToCnn', height: H, width: W, channels: C }, 1: { type: 'cnnToRnn' } }, ...extra,
  }).init();
}

test('preprocessor vertices: rnnToCnn / cnnToRnn infer activation types; bad options and inputs name the vertex', () => {
  const g = new ComputationGraph(frameGraph());
  const type = (name: string): unknown => g.resolved.vertices.find((v) => v.name === name)!.output;
  assert.deepEqual(type('frames'), { kind: 'convolutional', channels: C, height: H, width: W });
  assert.deepEqual(type('seq'), { kind: 'recurrent', size: 2 * (H - 1) * (W - 1) });
  assert.equal((g.resolved.vertices.find((v) => v.name === 'rnn')! as { layer: { nIn: number } }).layer.nIn, 2 * (H - 1) * (W - 1));
  assert.match(new ComputationGraph(frameGraph()).init().summary(), /frames \(PreprocessorVertex\)/);

  const withVertex = (name: string, vertex: unknown, inputTypes?: Conf['inputTypes']): Conf => {
    const c = frameGraph(inputTypes ? { inputTypes } : {});
    return { ...c, vertices: { ...c.vertices, [name]: { ...c.vertices[name]!, vertex } as Conf['vertices'][string] } };
  };
  const bad: [Conf, RegExp][] = [
    [withVertex('frames', { type: 'preprocessor', preProcessor: { type: 'rnnToCnn', height: 3, width: 3 } }),
      /ComputationGraphConfiguration: vertex 'frames' \(preprocessor\): preProcessor: channels is required/],
    [withVertex('frames', { type: 'preprocessor', preProcessor: { type: 'rnnToCnn', height: 3, width: 0, channels: 2 } }),
      /vertex 'frames' \(preprocessor\): preProcessor: width must be a positive integer, got 0/],
    [withVertex('frames', { type: 'preprocessor', preProcessor: { type: 'rnnToCnn', height: 2, width: 3, channels: 2 } }),
      /vertex 'frames' \(preprocessor\): preProcessor: rnnToCnn needs recurrent input of size channels\*height\*width = 2\*2\*3 = 12, got recurrent size 18/],
    [frameGraph({ inputTypes: [{ type: 'feedForward', size: C * H * W }] }), /vertex 'frames' \(preprocessor\): preProcessor: rnnToCnn needs recurrent input .* got feedForward size 18/],
    [{ ...frameGraph(), vertices: { ...frameGraph().vertices, seq: { vertex: { type: 'preprocessor', preProcessor: { type: 'cnnToRnn' } }, inputs: ['video'] } } },
      /ComputationGraphConfiguration: vertex 'seq' \(preprocessor\): preProcessor: cnnToRnn needs convolutional input, got recurrent size 18/],
    [withVertex('seq', { type: 'preprocessor', preProcessor: { type: 'rnnToFF' } }), /vertex 'seq' \(preprocessor\): unknown preProcessor type 'rnnToFF'; expected 'cnnToFeedForward', 'feedForwardToCnn', 'rnnToCnn' or 'cnnToRnn'/],
  ];
  for (const [conf, re] of bad) assert.throws(() => new ComputationGraph(conf), re);

  // Forward-time errors name the vertex too (no inputTypes: shapes unknown when building).
  const untyped = new ComputationGraph({ ...frameGraph(), inputTypes: undefined, vertices: { ...frameGraph().vertices, conv: { layer: { ...frameLayers[0]!, nIn: C } as LayerConfig, inputs: ['frames'] }, rnn: { layer: { ...frameLayers[1]!, nIn: 8 } as LayerConfig, inputs: ['seq'] }, out: { layer: { ...frameLayers[2]!, nIn: 3 } as LayerConfig, inputs: ['rnn'] } } }).init();
  const x = array(new Array<number>(2 * 12 * 3).fill(0.5), { dtype: 'DOUBLE' }).reshape([2, 12, 3]);
  assert.throws(() => untyped.output(x), /ComputationGraph\.output: vertex 'frames' \(preprocessor\): preProcessor: rnnToCnn expected recurrent input \[N, 18, T\] or one step \[N, 18\] .* got DOUBLE\[2, 12, 3\]/);
  x.close();
  untyped.close();
});

test('preprocessor vertices: a convolution-per-frame graph equals the network with inputPreProcessors (outputs, gradients, steps, training)', () => {
  const g = new ComputationGraph(frameGraph()).init();
  const mln = frameNet();
  const rng = new Rng(11);
  scope(() => g.setParams(array(rng.fill(g.numParams(), -0.6, 0.6), { dtype: 'DOUBLE' })));
  scope(() => mln.setParams(g.params()));
  const d = sequenceData(rng, 3, C * H * W, 3, 4, [4, 2, 3]);
  const ds = dataSet(d);
  const out = g.output(false, [ds.features], [ds.featuresMask]);
  const ref = mln.output(ds.features, false, ds.featuresMask);
  assert.deepEqual(out[0]!.shape, [3, 3, 4]);
  assert.deepEqual(out[0]!.toFlatArray(), ref.toFlatArray());
  const acts = g.feedForward(ds.features);
  assert.deepEqual(acts.get('frames')!.shape, [12, C, H, W]);
  assert.deepEqual(acts.get('seq')!.shape, [3, 2 * (H - 1) * (W - 1), 4]);

  assert.equal(g.computeGradientAndScore(ds), mln.computeGradientAndScore(ds));
  const gg = [...g.gradient().values()].flatMap((a) => a.toFlatArray());
  const mg = [...mln.gradient().values()].flatMap((a) => a.toFlatArray());
  assert.equal(gg.length, g.numParams());
  assert.deepEqual(gg, mg);

  // Stepping frame by frame (one-step inputs [N, C*H*W]) gives the full-sequence outputs (without mask).
  const full = g.outputSingle(ds.features);
  g.rnnClearPreviousState();
  const steps = [0, 1, 2, 3].map((t) => g.rnnTimeStep(array(d.x.flatMap((ex) => ex.map((row) => row[t]!)), { dtype: 'DOUBLE' }).reshape([3, C * H * W]))[0]!);
  const fullValues = full.toArray() as number[][][];
  steps.forEach((s, t) => assertClose(s.toFlatArray(), fullValues.flatMap((ex) => ex.map((row) => row[t]!)), { rtol: 1e-12, atol: 1e-14, message: `step ${t}` }));

  mln.fit(ds, 3);
  g.fit(ds, 3);
  assert.deepEqual(flat(g), flat(mln));
  for (const a of [...out, ref, ...acts.values(), full, ...steps]) a.close();
  for (const o of [ds, g, mln]) o.close();
});

test('preprocessor vertices: input and parameter gradients match central differences (float64)', () => {
  const g = new ComputationGraph(frameGraph()).init();
  const rng = new Rng(13);
  scope(() => g.setParams(array(rng.fill(g.numParams(), -0.6, 0.6), { dtype: 'DOUBLE' })));
  const d = sequenceData(rng, 2, C * H * W, 3, 3, [3, 2]);
  const ds = dataSet(d);
  const r = gradCheck((x) => g.computeScore(new DataSet(x!, ds.labels, ds.featuresMask, ds.labelsMask)), [ds.features]);
  assert.ok(r.passed, `input gradient: max relative error ${r.maxRelError}`);

  const p0 = flat(g);
  g.computeGradientAndScore(ds);
  const analytic = [...g.gradient().values()].flatMap((a) => a.toFlatArray());
  assert.ok(analytic.every((v) => Number.isFinite(v)) && analytic.some((v) => Math.abs(v) > 1e-6));
  const eps = 1e-6;
  const numeric = p0.map((_, k) => {
    const at = (delta: number): number => {
      const p = p0.slice();
      p[k] = p[k]! + delta;
      scope(() => g.setParams(array(p, { dtype: 'DOUBLE' })));
      return g.score(ds);
    };
    return (at(eps) - at(-eps)) / (2 * eps);
  });
  assertClose(analytic, numeric, { rtol: 1e-5, atol: 1e-8 });
  ds.close();
  g.close();
});

test('preprocessor vertices with truncated BPTT: the graph trains exactly as the network', () => {
  const extra = { backpropType: 'TruncatedBPTT' as const, tbpttFwdLength: 2, tbpttBackLength: 1 };
  const g = new ComputationGraph(frameGraph(extra)).init();
  const mln = frameNet(extra);
  const rng = new Rng(17);
  scope(() => mln.setParams(array(rng.fill(mln.numParams(), -0.6, 0.6), { dtype: 'DOUBLE' })));
  scope(() => g.setParams(mln.params()));
  const ds = dataSet(sequenceData(rng, 2, C * H * W, 3, 5, [5, 3]));
  mln.fit(ds, 2);
  g.fit(ds, 2);
  assert.equal(g.iterationCount, 6);
  assert.deepEqual(flat(g), flat(mln));
  for (const o of [ds, g, mln]) o.close();
});
