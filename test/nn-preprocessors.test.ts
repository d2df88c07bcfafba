// Input preprocessors between recurrent and convolutional activations (DL4J's RnnToCnn / CnnToRnn,
// named per layer in inputPreProcessors): the reshapes against plain-JS indexing, their gradients,
// configuration validation and shape inference, a convolution-per-frame network against a float64
// JS reference, parameter and input gradients against central differences, rnnTimeStep, training,
// JSON and model serialization, memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MultiLayerNetwork, DataSet, array, gradCheck, memoryReport, preProcess, serializeModel, deserializeModel, configurationFromJSON, configurationToJSON,
  type NeuralNetConfiguration, type LayerConfig, type NDArray,
} from '../src/index.js';
import { Rng, assertClose } from './helpers.js';
import { checkParamGradients, randomizeParams, seqArray, type Seq } from './sequence-helpers.js';

const [C, H, W] = [2, 3, 3];

test('preprocessors: rnnToCnn and cnnToRnn reshape as DL4J (steps become example-major images, channel-major values)', () => {
  const rng = new Rng(1);
  const [n, c, h, w, t] = [2, 3, 2, 2, 4];
  const xs: Seq = Array.from({ length: n }, () => Array.from({ length: c * h * w }, () => Array.from({ length: t }, () => rng.uniform(-1, 1))));
  const x = seqArray(xs);
  const images = preProcess('test', { type: 'rnnToCnn', height: h, width: w, channels: c }, x, n);
  assert.deepEqual(images.shape, [n * t, c, h, w]);
  const expected: number[] = [];
  for (let e = 0; e < n; e++) for (let s = 0; s < t; s++) for (let q = 0; q < c * h * w; q++) expected.push(xs[e]![q]![s]!);
  assert.deepEqual(images.toFlatArray(), expected);
  const back = preProcess('test', { type: 'cnnToRnn' }, images, n);
  assert.deepEqual(back.shape, [n, c * h * w, t]);
  assert.deepEqual(back.toFlatArray(), xs.flat(2));
  // One time step [N, C*H*W] gives N images.
  const step = preProcess('test', { type: 'rnnToCnn', height: h, width: w, channels: c }, array(expected.slice(0, 2 * c * h * w), { dtype: 'DOUBLE' }).reshape([2, c * h * w]), 2);
  assert.deepEqual(step.shape, [2, c, h, w]);
  assert.deepEqual(step.toFlatArray(), expected.slice(0, 2 * c * h * w));

  for (const [p, input] of [[{ type: 'rnnToCnn', height: h, width: w, channels: c }, x], [{ type: 'cnnToRnn' }, images]] as const) {
    const r = gradCheck((a) => preProcess('test', p, a, n), [input]);
    assert.ok(r.passed, `${p.type}: max relative error ${r.maxRelError}`);
  }
  assert.throws(() => preProcess('test', { type: 'rnnToCnn', height: 2, width: 2, channels: 2 }, x, n), /test: rnnToCnn expected recurrent input \[N, 8, T\] or one step \[N, 8\] \(channels\*height\*width = 2\*2\*2\), got DOUBLE\[2, 12, 4\]/);
  assert.throws(() => preProcess('test', { type: 'cnnToRnn' }, images, 3), /test: cnnToRnn expected images \[N\*T, C, H, W\] with N = 3 examples per minibatch, got DOUBLE\[8, 3, 2, 2\]/);
  for (const a of [x, images, back, step]) a.close();
});

/** rnnToCnn -> convolution -> cnnToRnn -> `rest`: a convolution on every frame of a sequence. */
function videoConf(rest: LayerConfig[], extra: Partial<NeuralNetConfiguration> = {}): NeuralNetConfiguration {
  return {
    seed: 3, dataType: 'DOUBLE', updater: { type: 'adam', learningRate: 0.02 }, inputType: { type: 'recurrent', size: C * H * W },
    layers: [{ type: 'convolution2d', nOut: 2, kernelSize: [2, 2], activation: 'tanh' }, ...rest],
    inputPreProcessors: { 0: { type: 'rnnToCnn', height: H, width: W, channels: C }, 1: { type: 'cnnToRnn' } },
    ...extra,
  };
}

const softmaxOut: LayerConfig = { type: 'rnnOutput', nOut: 3, activation: 'softmax', lossFunction: 'MCXENT' };

test('preprocessors: configuration validation and shape inference', () => {
  const net = new MultiLayerNetwork(videoConf([{ type: 'lstm', nOut: 4 }, softmaxOut]));
  const [conv, lstm] = net.resolved.layers as [NonNullable<typeof net.resolved.layers[0]>, NonNullable<typeof net.resolved.layers[0]>];
  assert.deepEqual(conv.inputImage, { channels: C, height: H, width: W });
  assert.equal(conv.nIn, C);
  assert.deepEqual(conv.preProcessor, { type: 'rnnToCnn', height: H, width: W, channels: C });
  assert.equal(lstm.nIn, 2 * 2 * 2);
  assert.deepEqual(lstm.preProcessor, { type: 'cnnToRnn' });
  assert.equal(net.resolved.layers[2]!.preProcessor, undefined);

  const bad: [Partial<NeuralNetConfiguration>, RegExp][] = [
    [{ inputPreProcessors: { 0: { type: 'rnnToCnn', height: 3, width: 3, channels: 3 } } }, /inputPreProcessors\[0\]: rnnToCnn needs recurrent input of size channels\*height\*width = 3\*3\*3 = 27, got recurrent size 18/],
    [{ inputPreProcessors: { 0: { type: 'rnnToCnn', height: 3, width: 0, channels: 2 } } }, /inputPreProcessors\[0\]: width must be a positive integer, got 0/],
    [{ inputPreProcessors: { 0: { type: 'rnnToCnn', height: 3, channels: 2 } as unknown as { type: 'rnnToCnn'; height: number; width: number; channels: number } } }, /inputPreProcessors\[0\]: width is required/],
    [{ inputPreProcessors: { 0: { type: 'cnnToRnn' } } }, /inputPreProcessors\[0\]: cnnToRnn needs convolutional input, got recurrent size 18/],
    [{ inputPreProcessors: { 0: { type: 'flatten' } as unknown as { type: 'cnnToRnn' } } }, /inputPreProcessors\[0\]: unknown preprocessor type 'flatten'; expected one of rnnToCnn, cnnToRnn/],
    [{ inputPreProcessors: { 5: { type: 'cnnToRnn' } } }, /inputPreProcessors: key '5' is not a layer index \(0 to 2\)/],
    // Without preprocessors the layers explain what is missing.
    [{ inputPreProcessors: { 1: { type: 'cnnToRnn' } } }, /layer 0 \(convolution2d\): needs a convolutional input \(got recurrent size 18\).*inputPreProcessors entry \{ type: 'rnnToCnn', height, width, channels \}/],
    [{ inputPreProcessors: { 0: { type: 'rnnToCnn', height: H, width: W, channels: C } } }, /layer 1 \(lstm\): an LSTM layer needs recurrent input .*got convolutional 2x2x2 .*\{ type: 'cnnToRnn' \}/],
  ];
  for (const [extra, re] of bad) assert.throws(() => new MultiLayerNetwork(videoConf([{ type: 'lstm', nOut: 4 }, softmaxOut], extra)), re, JSON.stringify(extra));
});

interface Data { x: Seq; y: Seq; mask: number[][] | null }

function randomData(rng: Rng, n: number, t: number, k: number, lengths?: number[]): Data {
  const x = Array.from({ length: n }, () => Array.from({ length: C * H * W }, () => Array.from({ length: t }, () => rng.uniform(-1, 1))));
  const y = Array.from({ length: n }, () => {
    const cls = Array.from({ length: t }, () => rng.int(0, k));
    return Array.from({ length: k }, (_, j) => cls.map((v) => (v === j ? 1 : 0)));
  });
  return { x, y, mask: lengths ? lengths.map((len) => Array.from({ length: t }, (_, s) => (s < len ? 1 : 0))) : null };
}

function toDataSet(d: Data, dtype: 'DOUBLE' | 'FLOAT' = 'DOUBLE'): DataSet {
  const m = (): NDArray | null => (d.mask ? array(d.mask.flat(), { dtype }).reshape([d.mask.length, d.mask[0]!.length]) : null);
  return new DataSet(seqArray(d.x, dtype), seqArray(d.y, dtype), m(), m());
}

test('preprocessors: a convolution per frame then a per-step softmax equals a float64 JS reference', () => {
  const rng = new Rng(5);
  const net = new MultiLayerNetwork(videoConf([softmaxOut])).init();
  randomizeParams(net, rng);
  const d = randomData(rng, 3, 4, 3);
  const x = seqArray(d.x);
  const p = (key: string): number[] => net.paramTable().get(key)!.toFlatArray();
  const [cw, cb, ow, ob] = [p('0_W'), p('0_b'), p('1_W'), p('1_b')];
  const [nOut, kh, kw, oh, owd, k] = [2, 2, 2, H - 1, W - 1, 3];
  const expected = new Array<number>(3 * k * 4).fill(0);
  d.x.forEach((ex, n) => {
    for (let t = 0; t < 4; t++) {
      const px = (c: number, i: number, j: number): number => ex[c * H * W + i * W + j]![t]!;
      // The frame's feature maps, flattened channel-major (CnnToRnn).
      const feat: number[] = [];
      for (let o = 0; o < nOut; o++) {
        for (let i = 0; i < oh; i++) {
          for (let j = 0; j < owd; j++) {
            let v = cb[o]!;
            for (let c = 0; c < C; c++) for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) v += cw[((o * C + c) * kh + a) * kw + b]! * px(c, i + a, j + b);
            feat.push(Math.tanh(v));
          }
        }
      }
      const z = Array.from({ length: k }, (_, q) => ob[q]! + feat.reduce((s, v, i) => s + v * ow[i * k + q]!, 0));
      const mx = Math.max(...z);
      const e = z.map((v) => Math.exp(v - mx));
      const total = e.reduce((s, v) => s + v, 0);
      e.forEach((v, q) => (expected[(n * k + q) * 4 + t] = v / total));
    }
  });
  const out = net.output(x);
  assert.deepEqual(out.shape, [3, k, 4]);
  assertClose(out.toFlatArray(), expected, { rtol: 1e-12, atol: 1e-14 });
  const acts = net.feedForward(x);
  assert.deepEqual(acts.map((a) => a.shape), [[3, C * H * W, 4], [12, nOut, oh, owd], [3, k, 4]]);
  // Stepping frame by frame gives the same outputs.
  const steps = [0, 1, 2, 3].map((t) => net.rnnTimeStep(array(d.x.flatMap((ex) => ex.map((row) => row[t]!)), { dtype: 'DOUBLE' }).reshape([3, C * H * W])));
  steps.forEach((s, t) => {
    assert.deepEqual(s.shape, [3, k]);
    assertClose(s.toFlatArray(), [0, 1, 2].flatMap((n) => [0, 1, 2].map((q) => expected[(n * k + q) * 4 + t]!)), { rtol: 1e-12, atol: 1e-14, message: `step ${t}` });
  });
  for (const a of [x, out, ...acts, ...steps]) a.close();
  net.close();
});

test('preprocessors: parameter and input gradients through rnnToCnn, convolution, cnnToRnn and an LSTM match central differences (padded sequences)', () => {
  const rng = new Rng(9);
  const net = new MultiLayerNetwork(videoConf([{ type: 'lstm', nOut: 3 }, softmaxOut])).init();
  randomizeParams(net, rng);
  const ds = toDataSet(randomData(rng, 3, 4, 3, [4, 2, 3]));
  checkParamGradients(net, ds);
  const r = gradCheck((f) => net.computeScore(new DataSet(f, ds.labels, ds.featuresMask, ds.labelsMask)), [ds.features]);
  assert.ok(r.passed, `input gradient: max relative error ${r.maxRelError}`);
  ds.close();
  net.close();
});

/** Frames 1x4x4 with a horizontal (class 0) or vertical (class 1) bar plus noise; the label of each step is its frame's bar. */
function barVideos(rng: Rng, n: number, t: number): Data {
  const x: Seq = Array.from({ length: n }, () => Array.from({ length: 16 }, () => new Array<number>(t).fill(0)));
  const y: Seq = Array.from({ length: n }, () => Array.from({ length: 2 }, () => new Array<number>(t).fill(0)));
  for (let e = 0; e < n; e++) {
    for (let s = 0; s < t; s++) {
      const cls = rng.int(0, 2);
      const at = rng.int(0, 4);
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) x[e]![i * 4 + j]![s] = ((cls === 0 ? i : j) === at ? 1 : 0) + rng.uniform(-0.2, 0.2);
      }
      y[e]![cls]![s] = 1;
    }
  }
  return { x, y, mask: null };
}

test('preprocessors: a conv + LSTM network learns to classify each frame of short videos; serialization keeps the preprocessors', () => {
  const conf: NeuralNetConfiguration = {
    seed: 12, dataType: 'FLOAT', updater: { type: 'adam', learningRate: 0.03 }, inputType: { type: 'recurrent', size: 16 },
    layers: [{ type: 'convolution2d', nOut: 4, kernelSize: [2, 2], activation: 'relu' }, { type: 'lstm', nOut: 8 }, { type: 'rnnOutput', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }],
    inputPreProcessors: { 0: { type: 'rnnToCnn', height: 4, width: 4, channels: 1 }, 1: { type: 'cnnToRnn' } },
  };
  const net = new MultiLayerNetwork(configurationFromJSON(configurationToJSON(conf))).init();
  assert.deepEqual(net.conf.inputPreProcessors, conf.inputPreProcessors);
  const train = toDataSet(barVideos(new Rng(1), 24, 5), 'FLOAT');
  net.fit(train, 3);
  const before = memoryReport();
  net.fit(train, 47);
  const after = memoryReport();
  assert.equal(after.arrays, before.arrays);
  assert.equal(after.totalBytes, before.totalBytes);
  const testData = barVideos(new Rng(2), 24, 5);
  const x = seqArray(testData.x, 'FLOAT');
  const out = net.output(x).toFlatArray();
  let correct = 0;
  for (let e = 0; e < 24; e++) {
    for (let s = 0; s < 5; s++) {
      const predicted = out[(e * 2 + 1) * 5 + s]! > out[(e * 2) * 5 + s]! ? 1 : 0;
      correct += testData.y[e]![predicted]![s]!;
    }
  }
  assert.ok(correct / 120 >= 0.9, `accuracy ${correct / 120}`);
  const restored = deserializeModel(serializeModel(net), 'memory').network;
  assert.deepEqual(restored.resolved.layers[0]!.preProcessor, conf.inputPreProcessors![0]);
  assert.deepEqual(restored.output(x).toFlatArray(), out);
  x.close();
  train.close();
  net.close();
  restored.close();
});
