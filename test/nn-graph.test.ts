// ComputationGraph: a two-input, two-output DAG against a float64 JS forward pass, gradients of every
// vertex type against central differences, equivalence with MultiLayerNetwork (shared training core),
// a residual CNN block trained to an accuracy threshold, configuration validation, JSON and
// ModelSerializer round trips, listeners, summary, clone and flat memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ComputationGraph, ComputationGraphConfiguration, MultiLayerNetwork, MultiDataSet, DataSet, ListDataSetIterator, ScoreIterationListener,
  array, scope, memoryReport, gradCheck,
  type NDArray, type NeuralNetConfiguration, type VertexConfig, type MultiDataSetIterator, type TrainingListener,
} from '../src/index.js';
import { Rng, assertClose } from './helpers.js';

type Conf = ConstructorParameters<typeof ComputationGraph>[0];

function rand(rng: Rng, n: number, d: number): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.uniform(-1, 1)));
}

function oneHot(rng: Rng, n: number, c: number): number[][] {
  return Array.from({ length: n }, () => {
    const row = new Array<number>(c).fill(0);
    row[rng.int(0, c)] = 1;
    return row;
  });
}

const d64 = (x: number[][]): NDArray => array(x, { dtype: 'DOUBLE' });

// ---- plain-JS float64 reference ---------------------------------------------------------------------

const matOf = (g: ComputationGraph, key: string): number[][] => g.paramTable().get(key)!.toArray() as number[][];
const vecOf = (g: ComputationGraph, key: string): number[] => g.paramTable().get(key)!.toFlatArray();

function denseRef(x: number[][], W: number[][], b: number[], act: (v: number) => number): number[][] {
  return x.map((row) => b.map((bj, j) => act(bj + row.reduce((s, v, i) => s + v * W[i]![j]!, 0))));
}

function softmaxRows(z: number[][]): number[][] {
  return z.map((r) => {
    const m = Math.max(...r);
    const e = r.map((v) => Math.exp(v - m));
    const t = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / t);
  });
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
const ident = (v: number): number => v;

/** inputs a [N,3], b [N,2]; da = tanh(a Wa), db = sigmoid(b Wb); sum = da + db; m = merge(sum, b); out1 = softmax(m), out2 = identity(da) (MSE). */
function dagConf(extra: Partial<Conf> = {}): Conf {
  return {
    seed: 11, dataType: 'DOUBLE', updater: { type: 'sgd', learningRate: 0.1 }, l2: 0.01,
    inputs: ['a', 'b'],
    inputTypes: [{ type: 'feedForward', size: 3 }, { type: 'feedForward', size: 2 }],
    vertices: {
      da: { layer: { type: 'dense', nOut: 4, activation: 'tanh' }, inputs: ['a'] },
      db: { layer: { type: 'dense', nOut: 4, activation: 'sigmoid' }, inputs: ['b'] },
      sum: { vertex: { type: 'elementwise', op: 'add' }, inputs: ['da', 'db'] },
      m: { vertex: { type: 'merge' }, inputs: ['sum', 'b'] },
      out1: { layer: { type: 'output', nOut: 3, activation: 'softmax', lossFunction: 'MCXENT' }, inputs: ['m'] },
      out2: { layer: { type: 'output', nOut: 2, activation: 'identity', lossFunction: 'MSE' }, inputs: ['da'] },
    },
    outputs: ['out1', 'out2'],
    ...extra,
  };
}

function dagRef(g: ComputationGraph, a: number[][], b: number[][]): { p1: number[][]; p2: number[][] } {
  const da = denseRef(a, matOf(g, 'da_W'), vecOf(g, 'da_b'), Math.tanh);
  const db = denseRef(b, matOf(g, 'db_W'), vecOf(g, 'db_b'), sigmoid);
  const m = da.map((r, i) => [...r.map((v, j) => v + db[i]![j]!), ...b[i]!]);
  const p1 = softmaxRows(denseRef(m, matOf(g, 'out1_W'), vecOf(g, 'out1_b'), ident));
  const p2 = denseRef(da, matOf(g, 'out2_W'), vecOf(g, 'out2_b'), ident);
  return { p1, p2 };
}

function dagScoreRef(g: ComputationGraph, a: number[][], b: number[][], y1: number[][], y2: number[][], l2: number): number {
  const { p1, p2 } = dagRef(g, a, b);
  const n = a.length;
  let s = 0;
  p1.forEach((r, i) => r.forEach((v, j) => (s -= (y1[i]![j]! * Math.log(v)) / n)));
  p2.forEach((r, i) => r.forEach((v, j) => (s += (v - y2[i]![j]!) ** 2 / 2 / n)));
  for (const k of ['da_W', 'db_W', 'out1_W', 'out2_W']) for (const w of vecOf(g, k)) s += (l2 / 2) * w * w;
  return s;
}

function dagData(seed: number, n: number): { a: number[][]; b: number[][]; y1: number[][]; y2: number[][]; mds: MultiDataSet } {
  const rng = new Rng(seed);
  const a = rand(rng, n, 3);
  const b = rand(rng, n, 2);
  const y1 = oneHot(rng, n, 3);
  const y2 = rand(rng, n, 2);
  return { a, b, y1, y2, mds: new MultiDataSet([d64(a), d64(b)], [d64(y1), d64(y2)]) };
}

test('two-input, two-output DAG: outputs, feedForward and score match a float64 reference', () => {
  const g = new ComputationGraph(dagConf()).init();
  const { a, b, y1, y2, mds } = dagData(1, 5);
  const { p1, p2 } = dagRef(g, a, b);
  const [o1, o2] = g.output(...mds.features);
  assertClose(o1!.data(), p1.flat(), { rtol: 1e-12, atol: 1e-14 });
  assertClose(o2!.data(), p2.flat(), { rtol: 1e-12, atol: 1e-14 });
  const acts = g.feedForward(mds.features);
  assert.deepEqual([...acts.keys()], ['a', 'b', 'da', 'db', 'sum', 'm', 'out1', 'out2']);
  assert.deepEqual(acts.get('m')!.shape, [5, 6]);
  assertClose(acts.get('out1')!.data(), p1.flat(), { rtol: 1e-12, atol: 1e-14 });
  assert.ok(acts.get('a') !== mds.features[0], 'feedForward never hands back the caller\'s arrays');
  for (const x of acts.values()) x.close();
  // DL4J: the score is the sum of the output layers' losses plus l1/l2 once.
  assert.ok(Math.abs(g.score(mds) - dagScoreRef(g, a, b, y1, y2, 0.01)) < 1e-12);
  o1!.close();
  o2!.close();
  mds.close();
  g.close();
});

/** Analytic gradients of the graph's parameters against central differences of its score (via setParams). */
function checkParamGradients(g: ComputationGraph, data: MultiDataSet): void {
  const flat = scope(() => g.params().toFlatArray());
  g.computeGradientAndScore(data);
  const table = g.paramTable();
  const grads = g.gradient();
  const analytic = [...table.keys()].flatMap((k) => grads.get(k)!.toFlatArray());
  const eps = 1e-6;
  const numeric = flat.map((_, k) => {
    const at = (delta: number): number => {
      const p = flat.slice();
      p[k] = p[k]! + delta;
      scope(() => g.setParams(array(p, { dtype: 'DOUBLE' })));
      return g.score(data);
    };
    return (at(eps) - at(-eps)) / (2 * eps);
  });
  scope(() => g.setParams(array(flat, { dtype: 'DOUBLE' })));
  assertClose(analytic, numeric, { rtol: 1e-5, atol: 1e-8 });
}

test('DAG: parameter gradients match central differences; keys are <vertex>_<param>', () => {
  const g = new ComputationGraph(dagConf({ l1: 0.003 })).init();
  const { a, b, y1, y2, mds } = dagData(2, 4);
  assert.deepEqual([...g.paramTable().keys()], ['da_W', 'da_b', 'db_W', 'db_b', 'out1_W', 'out1_b', 'out2_W', 'out2_b']);
  const score = g.computeGradientAndScore(mds);
  const l1 = [...g.paramTable()].filter(([k]) => k.endsWith('_W')).reduce((s, [, w]) => s + w.toFlatArray().reduce((t, v) => t + Math.abs(v), 0), 0);
  assert.ok(Math.abs(score - (dagScoreRef(g, a, b, y1, y2, 0.01) + 0.003 * l1)) < 1e-12);
  checkParamGradients(g, mds);
  mds.close();
  g.close();
});

/**
 * One small float64 graph per vertex type: dense layers before and after the vertex so that both
 * input and parameter gradients pass through it.
 */
function vertexGraph(vertex: VertexConfig, nIn: number, inputsOfVertex: number, extra: Conf['vertices'] = {}, after = 'v'): Conf {
  const pre: Conf['vertices'] = {};
  const names: string[] = [];
  for (let k = 0; k < inputsOfVertex; k++) {
    pre[`d${k}`] = { layer: { type: 'dense', nOut: 4, activation: 'tanh' }, inputs: [k % 2 === 0 ? 'x' : 'y'] };
    names.push(`d${k}`);
  }
  return {
    seed: 3, dataType: 'DOUBLE', inputs: ['x', 'y'],
    inputTypes: [{ type: 'feedForward', size: nIn }, { type: 'feedForward', size: nIn }],
    vertices: {
      ...pre,
      v: { vertex, inputs: names },
      ...extra,
      out: { layer: { type: 'output', nOut: 2, activation: 'sigmoid', lossFunction: 'XENT' }, inputs: [after] },
    },
    outputs: ['out'],
  };
}

const VERTEX_CASES: { name: string; conf: Conf; rows?: number }[] = [
  { name: 'merge', conf: vertexGraph({ type: 'merge' }, 3, 2) },
  ...(['add', 'subtract', 'product', 'average', 'max'] as const).map((op) => ({ name: `elementwise ${op}`, conf: vertexGraph({ type: 'elementwise', op }, 3, op === 'subtract' ? 2 : 3) })),
  { name: 'subset', conf: vertexGraph({ type: 'subset', from: 1, to: 2 }, 3, 1) },
  { name: 'scale', conf: vertexGraph({ type: 'scale', scaleFactor: -1.5 }, 3, 1) },
  { name: 'shift', conf: vertexGraph({ type: 'shift', shiftFactor: 0.25 }, 3, 1) },
  { name: 'l2', conf: vertexGraph({ type: 'l2' }, 3, 2) },
  { name: 'l2Normalize', conf: vertexGraph({ type: 'l2Normalize' }, 3, 1) },
  {
    name: 'stack + unstack',
    conf: vertexGraph({ type: 'stack' }, 3, 2, {
      h: { layer: { type: 'dense', nOut: 3, activation: 'sigmoid' }, inputs: ['v'] },
      u: { vertex: { type: 'unstack', from: 1, stackSize: 2 }, inputs: ['h'] },
    }, 'u'),
  },
  {
    name: 'reshape + preprocessors',
    conf: vertexGraph({ type: 'reshape', shape: [2, 1, 2] }, 3, 1, {
      sub: { vertex: { type: 'subset', from: 1, to: 1 }, inputs: ['v'] },
      ff: { vertex: { type: 'preprocessor', preProcessor: { type: 'cnnToFeedForward' } }, inputs: ['sub'] },
      cnn: { vertex: { type: 'preprocessor', preProcessor: { type: 'feedForwardToCnn', channels: 1, height: 1, width: 2 } }, inputs: ['ff'] },
      conv: { layer: { type: 'convolution2d', nOut: 2, kernelSize: 1, activation: 'tanh' }, inputs: ['cnn'] },
    }, 'conv'),
  },
];

for (const c of VERTEX_CASES) {
  test(`gradCheck through a ${c.name} vertex (inputs and parameters, float64)`, () => {
    const g = new ComputationGraph(c.conf).init();
    const rng = new Rng(c.name.length * 31 + 7);
    const x = d64(rand(rng, 3, 3));
    const y = d64(rand(rng, 3, 3));
    const labels = d64(rand(rng, 3, 2).map((r) => r.map((v) => (v > 0 ? 1 : 0))));
    const r = gradCheck((xi, yi) => g.computeScore(new MultiDataSet([xi!, yi!], [labels])), [x, y]);
    assert.ok(r.passed, `${c.name}: max relative error ${r.maxRelError} at ${JSON.stringify(r.worst)}`);
    const mds = new MultiDataSet([x, y], [labels]);
    checkParamGradients(g, mds);
    mds.close();
    g.close();
  });
}

test('vertex forward values: subset, stack/unstack, scale, shift, l2, l2Normalize, reshape, max/average/product', () => {
  const rng = new Rng(21);
  const xa = rand(rng, 4, 3);
  const xb = rand(rng, 4, 3);
  const conf: Conf = {
    dataType: 'DOUBLE', inputs: ['a', 'b'],
    inputTypes: [{ type: 'feedForward', size: 3 }, { type: 'feedForward', size: 3 }],
    vertices: {
      sub: { vertex: { type: 'subset', from: 1, to: 2 }, inputs: ['a'] },
      st: { vertex: { type: 'stack' }, inputs: ['a', 'b'] },
      un: { vertex: { type: 'unstack', from: 1, stackSize: 2 }, inputs: ['st'] },
      sc: { vertex: { type: 'scale', scaleFactor: 3 }, inputs: ['a'] },
      sh: { vertex: { type: 'shift', shiftFactor: -2 }, inputs: ['a'] },
      l2: { vertex: { type: 'l2' }, inputs: ['a', 'b'] },
      nrm: { vertex: { type: 'l2Normalize' }, inputs: ['a'] },
      rs: { vertex: { type: 'reshape', shape: [3, 1, 1] }, inputs: ['a'] },
      mx: { vertex: { type: 'elementwise', op: 'max' }, inputs: ['a', 'b'] },
      av: { vertex: { type: 'elementwise', op: 'average' }, inputs: ['a', 'b'] },
      pr: { vertex: { type: 'elementwise', op: 'product' }, inputs: ['a', 'b'] },
      out: { layer: { type: 'loss', lossFunction: 'MSE' }, inputs: ['a'] },
    },
    outputs: ['out'],
  };
  const g = new ComputationGraph(conf).init();
  const [ia, ib] = [d64(xa), d64(xb)];
  const acts = g.feedForward([ia, ib]);
  const get = (k: string): number[] => acts.get(k)!.toFlatArray();
  assertClose(get('sub'), xa.flatMap((r) => r.slice(1, 3)), { rtol: 0 });
  assert.deepEqual(acts.get('st')!.shape, [8, 3]);
  assertClose(get('st'), [...xa.flat(), ...xb.flat()], { rtol: 0 });
  assertClose(get('un'), xb.flat(), { rtol: 0 });
  assertClose(get('sc'), xa.flat().map((v) => 3 * v), { rtol: 1e-15 });
  assertClose(get('sh'), xa.flat().map((v) => v - 2), { rtol: 1e-15 });
  assert.deepEqual(acts.get('l2')!.shape, [4, 1]);
  assertClose(get('l2'), xa.map((r, i) => Math.sqrt(r.reduce((s, v, j) => s + (v - xb[i]![j]!) ** 2, 0) + 1e-8)), { rtol: 1e-12 });
  assertClose(get('nrm'), xa.flatMap((r) => r.map((v) => v / Math.hypot(...r))), { rtol: 1e-12 });
  assert.deepEqual(acts.get('rs')!.shape, [4, 3, 1, 1]);
  assertClose(get('mx'), xa.flatMap((r, i) => r.map((v, j) => Math.max(v, xb[i]![j]!))), { rtol: 0 });
  assertClose(get('av'), xa.flatMap((r, i) => r.map((v, j) => (v + xb[i]![j]!) / 2)), { rtol: 1e-15 });
  assertClose(get('pr'), xa.flatMap((r, i) => r.map((v, j) => v * xb[i]![j]!)), { rtol: 1e-15 });
  for (const a of acts.values()) a.close();
  // A loss layer straight on an input: the output is a new array all the same.
  const [o] = g.output(ia, ib);
  assert.ok(o !== ia);
  o!.close();
  assert.deepEqual(ia.toArray(), xa);
  ia.close();
  ib.close();
  g.close();
});

/** A MultiDataSet iterator over fixed minibatches (resettable). */
class ListMultiIterator implements MultiDataSetIterator {
  private k = 0;
  readonly resetSupported = true;
  constructor(private readonly batches: readonly (readonly number[][][])[]) {}
  hasNext(): boolean {
    return this.k < this.batches.length;
  }
  next(): MultiDataSet {
    const [x, y] = this.batches[this.k++]!;
    return new MultiDataSet([array(x!, { dtype: 'FLOAT' })], [array(y!, { dtype: 'FLOAT' })]);
  }
  reset(): void {
    this.k = 0;
  }
}

test('a graph equivalent to an MLP trains exactly as the MultiLayerNetwork with the same seed', () => {
  const common = {
    seed: 5, updater: { type: 'adam', learningRate: 0.02 } as const, l2: 0.01, weightDecay: 0.001,
    gradientNormalization: 'ClipL2PerLayer' as const, gradientNormalizationThreshold: 0.5,
  };
  const layers: NeuralNetConfiguration['layers'] = [
    { type: 'dense', nOut: 6, activation: 'relu' },
    { type: 'dense', nOut: 5, activation: 'tanh', updater: { type: 'nesterovs', learningRate: 0.05 } },
    { type: 'batchNormalization' },
    { type: 'output', nOut: 3, activation: 'softmax', lossFunction: 'MCXENT' },
  ];
  const mln = new MultiLayerNetwork({ ...common, inputType: { type: 'feedForward', size: 4 }, layers }).init();
  const names = ['l0', 'l1', 'l2', 'l3'];
  const g = new ComputationGraph({
    ...common, inputs: ['in'], inputTypes: [{ type: 'feedForward', size: 4 }], outputs: ['l3'],
    // Declared out of order: the topological sort restores the chain.
    vertices: Object.fromEntries([3, 1, 0, 2].map((i) => [names[i]!, { layer: layers[i]!, inputs: [i === 0 ? 'in' : names[i - 1]!] }])),
  }).init();
  assert.deepEqual(scope(() => g.params().toFlatArray()), scope(() => mln.params().toFlatArray()), 'same initial parameters');
  const rng = new Rng(8);
  const batches = Array.from({ length: 4 }, () => [rand(rng, 6, 4), oneHot(rng, 6, 3)] as const);
  mln.fit(new ListDataSetIterator(new DataSet(array(batches.flatMap((b) => b[0]), { dtype: 'FLOAT' }), array(batches.flatMap((b) => b[1]), { dtype: 'FLOAT' })), 6), 3);
  g.fit(new ListMultiIterator(batches), 3);
  assert.equal(g.iterationCount, 12);
  assert.equal(g.epochCount, 3);
  assert.deepEqual(scope(() => g.params().toFlatArray()), scope(() => mln.params().toFlatArray()));
  const us = g.updaterState();
  const um = mln.updaterState();
  assert.deepEqual(Object.keys(us), Object.keys(um));
  for (const k of Object.keys(um)) assert.deepEqual(us[k]!.toFlatArray(), um[k]!.toFlatArray(), k);
  const x = array(rand(rng, 3, 4), { dtype: 'FLOAT' });
  assert.deepEqual(scope(() => g.outputSingle(x).toFlatArray()), scope(() => mln.output(x).toFlatArray()));
  assert.equal(g.score(), mln.score());
  x.close();
  g.close();
  mln.close();
});

/** 6x6 images with a bright 2x2 patch in the left (class 0) or right (class 1) half, plus noise. */
function patches(rng: Rng, n: number): DataSet {
  const xs: number[] = [];
  const ys: number[][] = [];
  for (let i = 0; i < n; i++) {
    const cls = rng.int(0, 2);
    const img = Array.from({ length: 36 }, () => rng.uniform(0, 0.3));
    const r = rng.int(0, 5);
    const c = cls === 0 ? rng.int(0, 2) : rng.int(3, 5);
    for (const [dr, dc] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) img[(r + dr) * 6 + c + dc] = 1;
    xs.push(...img);
    ys.push(cls === 0 ? [1, 0] : [0, 1]);
  }
  return new DataSet(array(xs, [n, 1, 6, 6], { dtype: 'FLOAT' }), array(ys, { dtype: 'FLOAT' }));
}

test('a residual block (convolutions + add skip) learns a small image task to > 90% accuracy', () => {
  const g = new ComputationGraph({
    seed: 4, updater: { type: 'adam', learningRate: 0.02 }, convolutionMode: 'Same',
    inputs: ['img'], inputTypes: [{ type: 'convolutional', height: 6, width: 6, channels: 1 }],
    vertices: {
      c0: { layer: { type: 'convolution2d', nOut: 4, kernelSize: 3, activation: 'relu' }, inputs: ['img'] },
      c1: { layer: { type: 'convolution2d', nOut: 4, kernelSize: 3, activation: 'relu' }, inputs: ['c0'] },
      c2: { layer: { type: 'convolution2d', nOut: 4, kernelSize: 3, activation: 'identity' }, inputs: ['c1'] },
      res: { vertex: { type: 'elementwise', op: 'add' }, inputs: ['c0', 'c2'] },
      act: { layer: { type: 'activation', activation: 'relu' }, inputs: ['res'] },
      pool: { layer: { type: 'subsampling', kernelSize: 2 }, inputs: ['act'] },
      out: { layer: { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }, inputs: ['pool'] },
    },
    outputs: ['out'],
  }).init();
  const train = patches(new Rng(1), 240);
  const held = patches(new Rng(2), 120);
  const before = g.score(held);
  g.fit(new ListDataSetIterator(train, 24), 8);
  const ev = g.evaluate(new ListDataSetIterator(held, 40));
  assert.ok(ev.accuracy() > 0.9, `accuracy ${ev.accuracy()}`);
  assert.equal(ev.numRowCounter(), 120);
  assert.ok(g.score(held) < before / 2, `score ${g.score(held)} vs initial ${before}`);
  train.close();
  held.close();
  g.close();
});

test('validation: cycles, unknown inputs, shape mismatches, outputs and layer options name the vertex', () => {
  const base = (): Conf => dagConf();
  const withVertices = (v: Conf['vertices'], extra: Partial<Conf> = {}): Conf => ({ ...base(), vertices: { ...base().vertices, ...v }, ...extra });
  const cases: [Conf, RegExp][] = [
    [withVertices({ p: { vertex: { type: 'scale', scaleFactor: 2 }, inputs: ['q'] }, q: { vertex: { type: 'shift', shiftFactor: 1 }, inputs: ['r'] }, r: { vertex: { type: 'merge' }, inputs: ['p', 'a'] } }),
      /the graph has a cycle: p -> r -> q -> p/],
    [withVertices({ da: { layer: { type: 'dense', nOut: 4 }, inputs: ['nope'] } }), /vertex 'da': unknown input 'nope'/],
    [withVertices({ da: { layer: { type: 'dense', nOut: 4 }, inputs: ['toString'] } }), /vertex 'da': unknown input 'toString'/],
    [withVertices({ sum: { vertex: { type: 'elementwise', op: 'add' }, inputs: ['da', 'b'] } }), /vertex 'sum' \(elementwise\): elementwise 'add' need inputs of one shape, got feedForward size 4, feedForward size 2/],
    [withVertices({ sum: { vertex: { type: 'elementwise', op: 'subtract' }, inputs: ['da', 'db', 'da'] } }), /'subtract' takes exactly 2 inputs, got 3/],
    [withVertices({ sub: { vertex: { type: 'subset', from: 2, to: 4 }, inputs: ['b'] }, out2: { layer: { type: 'output', nOut: 2, lossFunction: 'MSE' }, inputs: ['sub'] } }), /vertex 'sub' \(subset\): subset 2\.\.4 exceeds the input's 2 features/],
    [withVertices({}, { outputs: ['out1', 'sum'] }), /outputs: 'sum' is a 'elementwise' vertex; outputs must be 'output' or 'loss' layers/],
    [withVertices({}, { outputs: ['out1', 'da'] }), /outputs: 'da' is a 'dense' layer/],
    [withVertices({}, { outputs: ['out1', 'zzz'] }), /outputs: 'zzz' is not a vertex/],
    [withVertices({}, { outputs: [] }), /outputs: expected a non-empty array/],
    [withVertices({ db: { layer: { type: 'dense', nOut: 0 }, inputs: ['b'] } }), /layer 1 \(dense 'db'\): nOut must be a positive integer/],
    [withVertices({ db: { layer: { type: 'dense', nOut: 4, nIn: 3 }, inputs: ['b'] } }), /layer 1 \(dense 'db'\): nIn 3 does not match/],
    [withVertices({ a: { vertex: { type: 'merge' }, inputs: ['b'] } }), /vertex 'a': has the name of a network input/],
    [withVertices({ m: { vertex: { type: 'bogus' } as unknown as VertexConfig, inputs: ['b'] } }), /unknown vertex type 'bogus'/],
    [withVertices({}, { inputTypes: [{ type: 'feedForward', size: 3 }] }), /inputTypes: expected one input type per input \(2\)/],
  ];
  for (const [conf, re] of cases) assert.throws(() => new ComputationGraph(conf), re);
  // Images merge only when height and width agree.
  assert.throws(() => new ComputationGraph({
    inputs: ['p', 'q'], inputTypes: [{ type: 'convolutional', height: 4, width: 4, channels: 1 }, { type: 'convolutional', height: 3, width: 3, channels: 1 }],
    vertices: {
      m: { vertex: { type: 'merge' }, inputs: ['p', 'q'] },
      o: { layer: { type: 'output', nOut: 2, lossFunction: 'MCXENT' }, inputs: ['m'] },
    },
    outputs: ['o'],
  }), /vertex 'm' \(merge\): merging concatenates .* got convolutional 1x4x4, convolutional 1x3x3/);
  // Runtime shape errors name the vertex too (no inputTypes, so nothing could be checked up front).
  const loose = new ComputationGraph({
    inputs: ['p', 'q'], dataType: 'DOUBLE',
    vertices: {
      s: { vertex: { type: 'elementwise', op: 'add' }, inputs: ['p', 'q'] },
      o: { layer: { type: 'output', nIn: 3, nOut: 2, lossFunction: 'MSE' }, inputs: ['s'] },
    },
    outputs: ['o'],
  }).init();
  const [p, q] = [d64([[1, 2, 3]]), d64([[1, 2]])];
  assert.throws(() => loose.output(p, q), /ComputationGraph\.output: vertex 's' \(elementwise\): elementwise 'add' needs inputs of one shape, got DOUBLE\[1, 3\], DOUBLE\[1, 2\]/);
  assert.throws(() => loose.output(p), /expected 2 input arrays \(p, q\), got 1/);
  p.close();
  q.close();
  loose.close();
});

test('JSON round trip gives an equal configuration and identical outputs', () => {
  const conf = dagConf({ updater: { type: 'adam', learningRate: 0.01 } });
  const json = ComputationGraphConfiguration.toJSON(conf);
  const back = ComputationGraphConfiguration.fromJSON(json);
  assert.deepEqual(back, conf);
  assert.throws(() => ComputationGraphConfiguration.fromJSON('{oops'), /not valid JSON/);
  const g1 = new ComputationGraph(conf).init();
  const g2 = new ComputationGraph(back).init();
  const { mds } = dagData(3, 4);
  const o1 = scope(() => g1.output(...mds.features).map((o) => o.toFlatArray()));
  assert.deepEqual(scope(() => g2.output(...mds.features).map((o) => o.toFlatArray())), o1);
  mds.close();
  g1.close();
  g2.close();
});

test('listeners, counters, summary, clone and DataSet input for a one-input graph', () => {
  const g = new ComputationGraph({
    seed: 2, dataType: 'DOUBLE', updater: { type: 'sgd', learningRate: 0.1 },
    inputs: ['in'], inputTypes: [{ type: 'feedForward', size: 3 }],
    vertices: {
      h: { layer: { type: 'dense', nOut: 4, activation: 'tanh' }, inputs: ['in'] },
      g2: { layer: { type: 'dense', nOut: 2, activation: 'tanh' }, inputs: ['in'] },
      out: { layer: { type: 'output', nOut: 2, lossFunction: 'MCXENT' }, inputs: ['h', 'g2'] },
    },
    outputs: ['out'],
  }).init();
  const s = g.summary();
  assert.match(s, /in \(InputVertex\)\s+-\s+0\s+-\s+feedForward size 3/);
  assert.match(s, /h \(DenseLayer\)\s+3,4\s+16\s+W:\{3,4\}, b:\{4\}\s+feedForward size 4\s+\[in\]/);
  assert.match(s, /out \(OutputLayer\)\s+6,2\s+14\s+W:\{6,2\}, b:\{2\}\s+feedForward size 2\s+\[h, g2\]/);
  assert.match(s, /Total Parameters:\s+38/);
  assert.equal(g.numParams(), 38);
  const rng = new Rng(4);
  const ds = new DataSet(d64(rand(rng, 8, 3)), d64(oneHot(rng, 8, 2)));
  const seen: [number, number][] = [];
  const lines: string[] = [];
  const listener: TrainingListener = { iterationDone: (_m, it, ep) => seen.push([it, ep]) };
  g.setListeners(listener, new ScoreIterationListener(1, (l) => lines.push(l)));
  g.fit(new ListDataSetIterator(ds, 4), 2);
  assert.deepEqual(seen, [[0, 0], [1, 0], [2, 1], [3, 1]]);
  assert.match(lines[3]!, /^Score at iteration 3 is \d/);
  g.fit(ds);
  assert.equal(g.iterationCount, 5);
  const copy = g.clone();
  assert.equal(copy.iterationCount, 5);
  const a = scope(() => g.outputSingle(ds.features).toFlatArray());
  assert.deepEqual(scope(() => copy.outputSingle(ds.features).toFlatArray()), a);
  copy.fit(ds);
  g.fit(ds);
  assert.deepEqual(scope(() => copy.outputSingle(ds.features).toFlatArray()), scope(() => g.outputSingle(ds.features).toFlatArray()));
  assert.notDeepEqual(scope(() => g.outputSingle(ds.features).toFlatArray()), a);
  copy.close();
  // Listeners call output(input, train) with the mode last (TrainableModel).
  assert.deepEqual(scope(() => g.output(ds.features, false)[0]!.toFlatArray()), scope(() => g.outputSingle(ds.features).toFlatArray()));
  ds.close();
  g.close();
  assert.throws(() => g.numParams(), /ComputationGraph\.numParams: the network is closed/);
});

test('memory stays flat across 100 graph fit iterations', () => {
  const g = new ComputationGraph(dagConf({ updater: { type: 'adam', learningRate: 0.01 }, gradientNormalization: 'ClipL2PerLayer', dataType: 'FLOAT' })).init();
  const { mds } = dagData(9, 8);
  let at10: { arrays: number; totalBytes: number } | null = null;
  let at100: { arrays: number; totalBytes: number } | null = null;
  g.setListeners({
    iterationDone: (_m, it) => {
      if (it === 10) at10 = memoryReport();
      if (it === 99) at100 = memoryReport();
    },
  }, new ScoreIterationListener(25, () => {}));
  g.fit(mds, 100);
  assert.ok(at10 && at100);
  const [a, b] = [at10 as { arrays: number; totalBytes: number }, at100 as { arrays: number; totalBytes: number }];
  assert.equal(b.arrays, a.arrays);
  assert.equal(b.totalBytes, a.totalBytes);
  mds.close();
  const before = memoryReport();
  g.close();
  assert.ok(memoryReport().totalBytes < before.totalBytes);
});

test('ModelSerializer round trip: identical outputs, normalizer, and training continues identically', async () => {
  const { mkdtemp, rm, writeFile, readFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { ModelSerializer, NormalizerStandardize } = await import('../src/index.js');
  const dir = await mkdtemp(join(tmpdir(), 'dl4ts-graph-'));
  try {
    const g = new ComputationGraph(dagConf({ updater: { type: 'adam', learningRate: 0.01 }, l1: 0.001 })).init();
    const { mds } = dagData(5, 6);
    g.fit(mds, 3);
    const norm = new NormalizerStandardize();
    const fitDs = new DataSet(mds.features[0]!.dup(), mds.labels[0]!.dup());
    norm.fit(fitDs);
    fitDs.close();
    const path = join(dir, 'graph.bin');
    await ModelSerializer.writeModel(g, path, { normalizer: norm });
    const { graph: back, normalizer } = await ModelSerializer.restoreComputationGraph(path);
    assert.ok(normalizer instanceof NormalizerStandardize);
    assert.equal(back.iterationCount, 3);
    assert.equal(back.epochCount, 3);
    assert.deepEqual([...back.paramTable().keys()], [...g.paramTable().keys()]);
    const outs = (m: ComputationGraph): number[][] => scope(() => m.output(...mds.features).map((o) => o.toFlatArray()));
    assert.deepEqual(outs(back), outs(g));
    g.fit(mds, 2);
    back.fit(mds, 2);
    assert.deepEqual(scope(() => back.params().toFlatArray()), scope(() => g.params().toFlatArray()));
    assert.equal(back.score(), g.score());
    // Safetensors carries the graph's parameters under their DL4J keys.
    const { safetensorsBytes, loadSafetensorsBytes } = await import('../src/index.js');
    const fresh = new ComputationGraph(g.conf).init();
    loadSafetensorsBytes(fresh, safetensorsBytes(g), 'graph.safetensors');
    assert.deepEqual(scope(() => fresh.params().toFlatArray()), scope(() => g.params().toFlatArray()));
    fresh.close();
    // The two formats are told apart.
    await assert.rejects(ModelSerializer.restoreMultiLayerNetwork(path), /holds a ComputationGraph, not a MultiLayerNetwork; use restoreComputationGraph/);
    const bytes = await readFile(path);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(join(dir, 'bad.bin'), bytes);
    await assert.rejects(ModelSerializer.restoreComputationGraph(join(dir, 'bad.bin')), /restoreComputationGraph: .*bad\.bin' is corrupted: CRC-32 mismatch/);
    mds.close();
    g.close();
    back.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('labels masks per output drop examples from that output\'s loss', () => {
  const g = new ComputationGraph(dagConf({ l2: 0 })).init();
  const { a, b, y1, y2, mds } = dagData(6, 4);
  const keepRows = [1, 0, 1, 1];
  const masked = new MultiDataSet(mds.features.map((f) => f.dup()), mds.labels.map((l) => l.dup()), null, [array(keepRows, { dtype: 'DOUBLE' }), null]);
  const { p1, p2 } = dagRef(g, a, b);
  let expected = 0;
  p1.forEach((r, i) => r.forEach((v, j) => (expected -= (keepRows[i]! * y1[i]![j]! * Math.log(v)) / 4)));
  p2.forEach((r, i) => r.forEach((v, j) => (expected += (v - y2[i]![j]!) ** 2 / 2 / 4)));
  assert.ok(Math.abs(g.score(masked) - expected) < 1e-12, `${g.score(masked)} vs ${expected}`);
  for (const x of [masked, mds, g]) x.close();
});

/** Sequences [N, C, T] with per-example lengths: mask [N, T] is 1 for the first len steps. */
function sequences(rng: Rng, n: number, c: number, t: number, lengths: readonly number[]): { x: number[][][]; mask: number[][] } {
  const x = Array.from({ length: n }, () => Array.from({ length: c }, () => Array.from({ length: t }, () => rng.uniform(-1, 1))));
  return { x, mask: lengths.map((len) => Array.from({ length: t }, (_, s) => (s < len ? 1 : 0))) };
}

test('time-series masks: a masked LSTM graph scores, outputs and trains exactly as the MultiLayerNetwork', () => {
  const common = { seed: 12, dataType: 'DOUBLE' as const, updater: { type: 'adam', learningRate: 0.05 } as const };
  const layers: NeuralNetConfiguration['layers'] = [
    { type: 'lstm', nOut: 4 },
    { type: 'rnnOutput', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
  ];
  const mln = new MultiLayerNetwork({ ...common, inputType: { type: 'recurrent', size: 3 }, layers }).init();
  const g = new ComputationGraph({
    ...common, inputs: ['seq'], inputTypes: [{ type: 'recurrent', size: 3 }], outputs: ['out'],
    vertices: { rnn: { layer: layers[0]!, inputs: ['seq'] }, out: { layer: layers[1]!, inputs: ['rnn'] } },
  }).init();
  const rng = new Rng(5);
  const { x, mask } = sequences(rng, 4, 3, 5, [5, 3, 1, 4]);
  const y = Array.from({ length: 4 }, () => Array.from({ length: 2 }, (_, k) => Array.from({ length: 5 }, (_2, s) => ((s + k) % 2 === 0 ? 1 : 0))));
  const ds = new DataSet(array(x, { dtype: 'DOUBLE' }), array(y, { dtype: 'DOUBLE' }), array(mask, { dtype: 'DOUBLE' }), array(mask, { dtype: 'DOUBLE' }));
  const mds = MultiDataSet.fromDataSet(ds);
  assert.equal(g.score(mds), mln.score(ds));
  const unmasked = new DataSet(ds.features.dup(), ds.labels.dup());
  assert.notEqual(g.score(unmasked), g.score(mds), 'the mask matters');
  assert.deepEqual(scope(() => g.output(false, [ds.features], [ds.featuresMask]).map((o) => o.toFlatArray())), [scope(() => mln.output(ds.features, false, ds.featuresMask).toFlatArray())]);
  mln.fit(ds, 3);
  g.fit(mds, 3);
  assert.deepEqual(scope(() => g.params().toFlatArray()), scope(() => mln.params().toFlatArray()));
  for (const o of [unmasked, ds, g, mln]) o.close();
});

test('masks through merge and subset vertices: values at masked steps do not change the score; gradCheck', () => {
  const g = new ComputationGraph({
    seed: 2, dataType: 'DOUBLE', inputs: ['p', 'q'], inputTypes: [{ type: 'recurrent', size: 2 }, { type: 'recurrent', size: 3 }],
    vertices: {
      rp: { layer: { type: 'simpleRnn', nOut: 3 }, inputs: ['p'] },
      rq: { layer: { type: 'lstm', nOut: 3 }, inputs: ['q'] },
      m: { vertex: { type: 'merge' }, inputs: ['rp', 'rq'] },
      s: { vertex: { type: 'subset', from: 1, to: 4 }, inputs: ['m'] },
      add: { vertex: { type: 'elementwise', op: 'add' }, inputs: ['rp', 'rq'] },
      last: { layer: { type: 'lastTimeStep', layer: { type: 'lstm', nOut: 2 } }, inputs: ['s', 'add'] },
      out: { layer: { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }, inputs: ['last'] },
      seqOut: { layer: { type: 'rnnOutput', nOut: 2, activation: 'sigmoid', lossFunction: 'XENT' }, inputs: ['s'] },
    },
    outputs: ['out', 'seqOut'],
  }).init();
  const rng = new Rng(31);
  const lengths = [4, 2, 3];
  const p = sequences(rng, 3, 2, 4, lengths);
  const q = sequences(rng, 3, 3, 4, lengths);
  const y1 = oneHot(rng, 3, 2);
  const y2 = Array.from({ length: 3 }, () => Array.from({ length: 2 }, () => Array.from({ length: 4 }, () => rng.int(0, 2))));
  const build = (pv: number[][][], qv: number[][][]): MultiDataSet => new MultiDataSet(
    [array(pv, { dtype: 'DOUBLE' }), array(qv, { dtype: 'DOUBLE' })], [d64(y1), array(y2, { dtype: 'DOUBLE' })],
    [array(p.mask, { dtype: 'DOUBLE' }), array(q.mask, { dtype: 'DOUBLE' })], [null, array(p.mask, { dtype: 'DOUBLE' })],
  );
  const a = build(p.x, q.x);
  // Different values only at masked steps (step >= length).
  const noisy = (v: number[][][]): number[][][] => v.map((ex, i) => ex.map((row) => row.map((val, s) => (s >= lengths[i]! ? val + 5 * rng.uniform(-1, 1) : val))));
  const b = build(noisy(p.x), noisy(q.x));
  const sa = g.score(a);
  assert.ok(Math.abs(g.score(b) - sa) < 1e-12, `${g.score(b)} vs ${sa}`);
  const unmaskedB = new MultiDataSet(b.features.map((f) => f.dup()), b.labels.map((l) => l.dup()), null, b.labelsMasks!.map((m) => m && m.dup()));
  assert.ok(Math.abs(g.score(unmaskedB) - sa) > 1e-6, 'without features masks the noisy steps matter');
  const r = gradCheck((pi, qi) => g.computeScore(new MultiDataSet([pi!, qi!], a.labels, a.featuresMasks, a.labelsMasks)), [a.features[0]!, a.features[1]!]);
  assert.ok(r.passed, `max relative error ${r.maxRelError}`);
  for (const o of [unmaskedB, a, b, g]) o.close();
});

test('training mode: dropout applies with output(true, ...) and output(x, true), never at inference', () => {
  const g = new ComputationGraph({
    seed: 1, dataType: 'DOUBLE', inputs: ['in'], inputTypes: [{ type: 'feedForward', size: 50 }],
    vertices: {
      drop: { layer: { type: 'dropout', dropOut: 0.5 }, inputs: ['in'] },
      out: { layer: { type: 'loss', lossFunction: 'MSE' }, inputs: ['drop'] },
    },
    outputs: ['out'],
  }).init();
  const x = array(new Array<number>(50).fill(1), [1, 50], { dtype: 'DOUBLE' });
  assert.deepEqual(scope(() => g.outputSingle(x).toFlatArray()), new Array<number>(50).fill(1));
  assert.deepEqual(scope(() => g.output(x, false)[0]!.toFlatArray()), new Array<number>(50).fill(1));
  for (const trained of [scope(() => g.output(true, x)[0]!.toFlatArray()), scope(() => g.output(x, true)[0]!.toFlatArray()), scope(() => g.outputSingle(true, x).toFlatArray())]) {
    assert.ok(trained.every((v) => v === 0 || v === 2), 'inverted dropout: 0 or 1/retain');
    assert.ok(trained.some((v) => v === 0) && trained.some((v) => v === 2));
  }
  x.close();
  g.close();
});

test('rnnTimeStep: step-by-step and chunked stateful inference give the full-sequence outputs', () => {
  const g = new ComputationGraph({
    seed: 6, dataType: 'DOUBLE', inputs: ['seq'], inputTypes: [{ type: 'recurrent', size: 2 }],
    vertices: {
      lstm: { layer: { type: 'lstm', nOut: 3 }, inputs: ['seq'] },
      rnn: { layer: { type: 'simpleRnn', nOut: 2 }, inputs: ['seq'] },
      m: { vertex: { type: 'merge' }, inputs: ['lstm', 'rnn'] },
      out1: { layer: { type: 'rnnOutput', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }, inputs: ['lstm'] },
      out2: { layer: { type: 'rnnOutput', nOut: 1, activation: 'identity', lossFunction: 'MSE' }, inputs: ['m'] },
    },
    outputs: ['out1', 'out2'],
  }).init();
  const T = 4;
  const { x } = sequences(new Rng(40), 2, 2, T, [T, T]);
  const full = scope(() => g.output(array(x, { dtype: 'DOUBLE' })).map((o) => o.toArray() as number[][][]));
  const stepOf = (o: number, t: number): number[] => full[o]!.flatMap((ex) => ex.map((row) => row[t]!));
  for (let t = 0; t < T; t++) {
    const outs = scope(() => g.rnnTimeStep(array(x.map((ex) => ex.map((row) => row[t]!)), { dtype: 'DOUBLE' })).map((o) => ({ shape: o.shape, v: o.toFlatArray() })));
    outs.forEach((o, k) => {
      assert.deepEqual(o.shape, [2, k === 0 ? 2 : 1]);
      assertClose(o.v, stepOf(k, t), { rtol: 1e-12, atol: 1e-14 });
    });
  }
  g.rnnClearPreviousState();
  const chunk = (from: number, to: number): number[][][] => x.map((ex) => ex.map((row) => row.slice(from, to)));
  const first = scope(() => g.rnnTimeStep(array(chunk(0, 2), { dtype: 'DOUBLE' }))[0]!.toArray() as number[][][]);
  const second = scope(() => g.rnnTimeStep(array(chunk(2, 4), { dtype: 'DOUBLE' }))[0]!.toArray() as number[][][]);
  const joined = first.map((ex, i) => ex.map((row, c) => [...row, ...second[i]![c]!]));
  assertClose(joined.flat(2), full[0]!.flat(2), { rtol: 1e-12, atol: 1e-14 });
  g.close();
});

test('masks through stack/unstack follow the stacked examples; a missing input mask means no mask', () => {
  const g = new ComputationGraph({
    seed: 8, dataType: 'DOUBLE', inputs: ['p', 'q'], inputTypes: [{ type: 'recurrent', size: 2 }, { type: 'recurrent', size: 2 }],
    vertices: {
      st: { vertex: { type: 'stack' }, inputs: ['p', 'q'] },
      rnn: { layer: { type: 'lstm', nOut: 3 }, inputs: ['st'] },
      un: { vertex: { type: 'unstack', from: 1, stackSize: 2 }, inputs: ['rnn'] },
      out: { layer: { type: 'rnnOutput', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }, inputs: ['un'] },
    },
    outputs: ['out'],
  }).init();
  const rng = new Rng(12);
  const lengths = [3, 1];
  const p = sequences(rng, 2, 2, 3, [3, 3]);
  const q = sequences(rng, 2, 2, 3, lengths);
  const noisyQ = q.x.map((ex, i) => ex.map((row) => row.map((v, s) => (s >= lengths[i]! ? v + 3 : v))));
  const y = [[[1, 0, 1], [0, 1, 0]], [[0, 0, 1], [1, 1, 0]]];
  const score = (qx: number[][][], masks: (number[][] | null)[]): number => {
    const mds = new MultiDataSet([array(p.x, { dtype: 'DOUBLE' }), array(qx, { dtype: 'DOUBLE' })], [array(y, { dtype: 'DOUBLE' })],
      masks.map((m) => m && array(m, { dtype: 'DOUBLE' })));
    const s = g.score(mds);
    mds.close();
    return s;
  };
  // No labels mask: every step is scored, and masked steps contribute only through the layer's zeroed outputs.
  const both = [p.mask, q.mask];
  assert.ok(Math.abs(score(noisyQ, both) - score(q.x, both)) < 1e-12, 'the unstacked part carries q\'s mask');
  assert.ok(Math.abs(score(noisyQ, [null, q.mask]) - score(q.x, [null, q.mask])) > 1e-6, 'p without a mask: the stack has none');
  g.close();
});
