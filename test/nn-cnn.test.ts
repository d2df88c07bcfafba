// Convolutional layers of MultiLayerNetwork: forward values against float64 JS loops, backprop
// gradients against central differences of the score, batch normalization train vs inference,
// configuration validation and inference, and a tiny CNN learning horizontal vs vertical bars.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MultiLayerNetwork, DataSet, array, scope, noGrad, serializeModel, deserializeModel, type NeuralNetConfiguration, type NDArray } from '../src/index.js';
import { Rng, assertClose } from './helpers.js';

type Img = number[][][][]; // [N][C][H][W]

function randomImages(rng: Rng, n: number, c: number, h: number, w: number): Img {
  return Array.from({ length: n }, () => Array.from({ length: c }, () => Array.from({ length: h }, () => Array.from({ length: w }, () => rng.uniform(-1, 1)))));
}

function dims(x: Img): [number, number, number, number] {
  return [x.length, x[0]!.length, x[0]![0]!.length, x[0]![0]![0]!.length];
}

interface Win { kh: number; kw: number; sh: number; sw: number; pad: [number, number, number, number]; dh?: number; dw?: number }

/** out[y][x] over windows of a padded image; `f` folds the in-bounds values (and counts the window size). */
function slide(x: Img, win: Win, oh: number, ow: number, perChannel: (n: number, c: number, vals: (number | null)[]) => number): Img {
  const [n, c, h, w] = dims(x);
  const dh = win.dh ?? 1;
  const dw = win.dw ?? 1;
  return Array.from({ length: n }, (_, b) => Array.from({ length: c }, (_, ch) => Array.from({ length: oh }, (_, oy) => Array.from({ length: ow }, (_, ox) => {
    const vals: (number | null)[] = [];
    for (let i = 0; i < win.kh; i++) {
      for (let j = 0; j < win.kw; j++) {
        const y = oy * win.sh + i * dh - win.pad[0];
        const xx = ox * win.sw + j * dw - win.pad[2];
        vals.push(y >= 0 && y < h && xx >= 0 && xx < w ? x[b]![ch]![y]![xx]! : null);
      }
    }
    return perChannel(b, ch, vals);
  }))));
}

function outSize(inp: number, k: number, s: number, p0: number, p1: number, d = 1): number {
  return Math.floor((inp + p0 + p1 - (d * (k - 1) + 1)) / s) + 1;
}

/** Cross-correlation with weights [O][C][kh][kw] (flat, row-major) and bias [O]. */
function refConv(x: Img, wFlat: readonly number[], bias: readonly number[], o: number, win: Win): Img {
  const [n, c, h, w] = dims(x);
  const oh = outSize(h, win.kh, win.sh, win.pad[0], win.pad[1], win.dh);
  const ow = outSize(w, win.kw, win.sw, win.pad[2], win.pad[3], win.dw);
  return Array.from({ length: n }, (_, b) => Array.from({ length: o }, (_, oc) => {
    const per = Array.from({ length: c }, (_, ch) => slide([[x[b]![ch]!]], win, oh, ow, (_n, _c, vals) =>
      vals.reduce<number>((s, v, k) => s + (v ?? 0) * wFlat[((oc * c + ch) * win.kh * win.kw) + k]!, 0))[0]![0]!);
    return Array.from({ length: oh }, (_, y) => Array.from({ length: ow }, (_, xx) => bias[oc]! + per.reduce((s, p) => s + p[y]![xx]!, 0)));
  }));
}

function refPool(x: Img, type: 'max' | 'avg' | 'avgInBounds' | 'pnorm', win: Win, p = 2): Img {
  const [, , h, w] = dims(x);
  const oh = outSize(h, win.kh, win.sh, win.pad[0], win.pad[1]);
  const ow = outSize(w, win.kw, win.sw, win.pad[2], win.pad[3]);
  return slide(x, win, oh, ow, (_n, _c, vals) => {
    const inb = vals.filter((v): v is number => v !== null);
    if (type === 'max') return Math.max(...inb);
    if (type === 'avg') return inb.reduce((a, v) => a + v, 0) / vals.length;
    if (type === 'avgInBounds') return inb.reduce((a, v) => a + v, 0) / inb.length;
    return Math.pow(inb.reduce((a, v) => a + Math.pow(Math.abs(v), p), 0), 1 / p);
  });
}

const flat4 = (x: Img): number[] => x.flat(3);
const img = (x: Img, dtype: 'DOUBLE' | 'FLOAT' = 'DOUBLE'): NDArray => array(flat4(x), { dtype }).reshape(dims(x));

function paramsOf(net: MultiLayerNetwork, key: string): number[] {
  return net.paramTable().get(key)!.toFlatArray();
}

const tol = { rtol: 1e-10, atol: 1e-12 };

test('convolution2d forward (Truncate with stride/padding/dilation, Same with asymmetric padding) matches a float64 loop', () => {
  const rng = new Rng(1);
  const x = randomImages(rng, 2, 2, 7, 6);
  const cases: { opts: Record<string, unknown>; win: Win }[] = [
    { opts: { kernelSize: [3, 2], stride: [2, 1], padding: [1, 0], dilation: 1 }, win: { kh: 3, kw: 2, sh: 2, sw: 1, pad: [1, 1, 0, 0] } },
    { opts: { kernelSize: 2, stride: 1, dilation: [2, 1] }, win: { kh: 2, kw: 2, sh: 1, sw: 1, pad: [0, 0, 0, 0], dh: 2, dw: 1 } },
    // Same, stride 2 over 7x6: out 4x3; total padding rows (4-1)*2+2-7 = 1 -> [0, 1]; cols (3-1)*2+2-6 = 0.
    { opts: { kernelSize: 2, stride: 2, convolutionMode: 'Same' }, win: { kh: 2, kw: 2, sh: 2, sw: 2, pad: [0, 1, 0, 0] } },
    // Same, stride 1, kernel 3: symmetric padding 1.
    { opts: { kernelSize: 3, stride: 1, convolutionMode: 'Same' }, win: { kh: 3, kw: 3, sh: 1, sw: 1, pad: [1, 1, 1, 1] } },
  ];
  for (const { opts, win } of cases) {
    const conf: NeuralNetConfiguration = {
      seed: 3, dataType: 'DOUBLE', inputType: { type: 'convolutional', height: 7, width: 6, channels: 2 },
      layers: [{ type: 'convolution2d', nOut: 3, activation: 'identity', ...opts }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }],
    };
    const net = new MultiLayerNetwork(conf).init();
    // Non-zero biases so the bias path is checked too.
    const b = [0.1, -0.2, 0.3];
    noGrad(() => net.paramTable().get('0_b')!.assign(array(b, { dtype: 'DOUBLE' })));
    const expected = refConv(x, paramsOf(net, '0_W'), b, 3, win);
    const acts = net.feedForward(img(x));
    assert.deepEqual(acts[1]!.shape, dims(expected), JSON.stringify(opts));
    assertClose(acts[1]!.toFlatArray(), flat4(expected), tol);
    const out = net.resolved.layers[0]!.outputImage!;
    assert.deepEqual([out.channels, out.height, out.width], dims(expected).slice(1));
    for (const a of acts) a.close();
    net.close();
  }
});

test('subsampling forward (max/avg/pnorm, Truncate and Same) matches a float64 loop', () => {
  const x = randomImages(new Rng(2), 2, 3, 5, 6);
  const cases: { opts: Record<string, unknown>; type: 'max' | 'avg' | 'avgInBounds' | 'pnorm'; win: Win; p?: number }[] = [
    { opts: { poolingType: 'max', kernelSize: 2 }, type: 'max', win: { kh: 2, kw: 2, sh: 2, sw: 2, pad: [0, 0, 0, 0] } },
    { opts: { poolingType: 'avg', kernelSize: [3, 2], stride: [1, 2], padding: [1, 0] }, type: 'avg', win: { kh: 3, kw: 2, sh: 1, sw: 2, pad: [1, 1, 0, 0] } },
    { opts: { poolingType: 'pnorm', pnorm: 3, kernelSize: 2, stride: 1 }, type: 'pnorm', p: 3, win: { kh: 2, kw: 2, sh: 1, sw: 1, pad: [0, 0, 0, 0] } },
    // Same over 5x6, kernel 2 stride 2: out 3x3, rows padded [0, 1], cols [0, 0].
    { opts: { poolingType: 'max', kernelSize: 2, convolutionMode: 'Same' }, type: 'max', win: { kh: 2, kw: 2, sh: 2, sw: 2, pad: [0, 1, 0, 0] } },
    // Same, kernel 3 stride 1: symmetric padding 1, averaged over the in-bounds part.
    { opts: { poolingType: 'avg', kernelSize: 3, stride: 1, convolutionMode: 'Same' }, type: 'avgInBounds', win: { kh: 3, kw: 3, sh: 1, sw: 1, pad: [1, 1, 1, 1] } },
    // Same, kernel 2 stride 2 (asymmetric rows [0, 1]), averaged over the in-bounds part.
    { opts: { poolingType: 'avg', kernelSize: 2, convolutionMode: 'Same' }, type: 'avgInBounds', win: { kh: 2, kw: 2, sh: 2, sw: 2, pad: [0, 1, 0, 0] } },
  ];
  for (const { opts, type, win, p } of cases) {
    const net = new MultiLayerNetwork({
      dataType: 'DOUBLE', inputType: { type: 'convolutional', height: 5, width: 6, channels: 3 },
      layers: [{ type: 'subsampling', ...opts }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }],
    }).init();
    const expected = refPool(x, type, win, p);
    const acts = net.feedForward(img(x));
    assert.deepEqual(acts[1]!.shape, dims(expected), JSON.stringify(opts));
    assertClose(acts[1]!.toFlatArray(), flat4(expected), tol);
    for (const a of acts) a.close();
    net.close();
  }
});

test('globalPooling (max/avg/sum/pnorm) and the conv -> dense flattening match float64 loops', () => {
  const x = randomImages(new Rng(3), 3, 2, 4, 3);
  const red: Record<string, (v: number[]) => number> = {
    max: (v) => Math.max(...v), avg: (v) => v.reduce((a, b) => a + b, 0) / v.length, sum: (v) => v.reduce((a, b) => a + b, 0),
    pnorm: (v) => Math.sqrt(v.reduce((a, b) => a + b * b, 0)),
  };
  for (const poolingType of ['max', 'avg', 'sum', 'pnorm'] as const) {
    const net = new MultiLayerNetwork({
      dataType: 'DOUBLE', inputType: { type: 'convolutional', height: 4, width: 3, channels: 2 },
      layers: [{ type: 'globalPooling', poolingType }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }],
    }).init();
    assert.equal(net.resolved.layers[1]!.nIn, 2);
    const acts = net.feedForward(img(x));
    assert.deepEqual(acts[1]!.shape, [3, 2]);
    assertClose(acts[1]!.toFlatArray(), x.flatMap((e) => e.map((ch) => red[poolingType]!(ch.flat()))), tol);
    for (const a of acts) a.close();
    net.close();
  }
  // A dense layer after an image flattens it in C, H, W order (nIn inferred as 2*4*3).
  const net = new MultiLayerNetwork({
    seed: 5, dataType: 'DOUBLE', inputType: { type: 'convolutional', height: 4, width: 3, channels: 2 },
    layers: [{ type: 'dense', nOut: 3, activation: 'identity' }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }],
  }).init();
  assert.equal(net.resolved.layers[0]!.nIn, 24);
  const w = paramsOf(net, '0_W');
  const acts = net.feedForward(img(x));
  const expected = x.map((e) => { const f = e.flat(2); return [0, 1, 2].map((j) => f.reduce((s, v, i) => s + v * w[i * 3 + j]!, 0)); });
  assertClose(acts[1]!.toFlatArray(), expected.flat(), tol);
  for (const a of acts) a.close();
  net.close();
});

test('convolutionalFlat input [N, C*H*W] gives the same output as the NCHW input', () => {
  const x = randomImages(new Rng(4), 2, 2, 4, 4);
  const layers: NeuralNetConfiguration['layers'] = [
    { type: 'convolution2d', nOut: 2, kernelSize: 3, activation: 'tanh' },
    { type: 'output', nOut: 2, lossFunction: 'MCXENT' },
  ];
  const a = new MultiLayerNetwork({ seed: 9, dataType: 'DOUBLE', inputType: { type: 'convolutional', height: 4, width: 4, channels: 2 }, layers }).init();
  const b = new MultiLayerNetwork({ seed: 9, dataType: 'DOUBLE', inputType: { type: 'convolutionalFlat', height: 4, width: 4, channels: 2 }, layers }).init();
  const oa = a.output(img(x));
  const ob = b.output(array(x.map((e) => e.flat(2)), { dtype: 'DOUBLE' }));
  assertClose(ob.toFlatArray(), oa.toFlatArray(), tol);
  oa.close();
  ob.close();
  a.close();
  b.close();
});

test('batchNormalization: batch statistics and running-stat updates in training, running stats in inference', () => {
  const rng = new Rng(5);
  // Convolutional: per channel over N, H, W.
  const x = randomImages(rng, 3, 2, 2, 3).map((e) => e.map((ch, c) => ch.map((r) => r.map((v) => v * (c + 1) + c))));
  const net = new MultiLayerNetwork({
    dataType: 'DOUBLE', inputType: { type: 'convolutional', height: 2, width: 3, channels: 2 },
    layers: [{ type: 'batchNormalization' }, { type: 'globalPooling', poolingType: 'avg' }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }],
  }).init();
  assert.deepEqual([...net.paramTable().keys()].slice(0, 4), ['0_gamma', '0_beta', '0_mean', '0_var']);
  const gamma = [1.5, -0.5];
  const beta = [0.2, 0.7];
  noGrad(() => {
    net.paramTable().get('0_gamma')!.assign(array(gamma, { dtype: 'DOUBLE' }));
    net.paramTable().get('0_beta')!.assign(array(beta, { dtype: 'DOUBLE' }));
  });
  const chVals = (c: number): number[] => x.flatMap((e) => e[c]!.flat());
  const mu = [0, 1].map((c) => chVals(c).reduce((a, v) => a + v, 0) / chVals(c).length);
  const vr = [0, 1].map((c) => chVals(c).reduce((a, v) => a + (v - mu[c]!) ** 2, 0) / chVals(c).length);
  const norm = (m: number[], v: number[]): number[] => flat4(x.map((e) => e.map((ch, c) => ch.map((r) => r.map((val) => gamma[c]! * (val - m[c]!) / Math.sqrt(v[c]! + 1e-5) + beta[c]!)))));
  // Inference before any training uses mean 0, var 1.
  let acts = net.feedForward(img(x), false);
  assertClose(acts[1]!.toFlatArray(), norm([0, 0], [1, 1]), tol);
  acts.forEach((a) => a.close());
  acts = net.feedForward(img(x), true);
  assertClose(acts[1]!.toFlatArray(), norm(mu, vr), tol);
  acts.forEach((a) => a.close());
  const rm = mu.map((m) => 0.1 * m);
  const rv = vr.map((v) => 0.9 + 0.1 * v);
  assertClose(paramsOf(net, '0_mean'), rm, tol);
  assertClose(paramsOf(net, '0_var'), rv, tol);
  acts = net.feedForward(img(x), false);
  assertClose(acts[1]!.toFlatArray(), norm(rm, rv), tol);
  acts.forEach((a) => a.close());
  // The running stats are parameters (params() includes them) but get no gradient and are not trained.
  const labels = array([[1, 0], [0, 1], [1, 0]], { dtype: 'DOUBLE' });
  const ds = new DataSet(img(x), labels);
  net.computeGradientAndScore(ds);
  assert.deepEqual([...net.gradient().keys()], ['0_gamma', '0_beta', '2_W', '2_b']);
  assert.equal(net.numParams(), 8 + 2 * 2 + 2);
  assert.match(net.summary(), /Frozen Parameters:\s+4/);
  ds.close();
  net.close();

  // Feed-forward [N, C] input: statistics over N; decay and eps options.
  const f = Array.from({ length: 4 }, () => [rng.uniform(-2, 2), rng.uniform(0, 3)]);
  const ff = new MultiLayerNetwork({
    dataType: 'DOUBLE', inputType: { type: 'feedForward', size: 2 },
    layers: [{ type: 'batchNormalization', decay: 0.5, eps: 1e-3 }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }],
  }).init();
  const fm = [0, 1].map((c) => f.reduce((a, r) => a + r[c]!, 0) / 4);
  const fv = [0, 1].map((c) => f.reduce((a, r) => a + (r[c]! - fm[c]!) ** 2, 0) / 4);
  const facts = ff.feedForward(array(f, { dtype: 'DOUBLE' }), true);
  assertClose(facts[1]!.toFlatArray(), f.flatMap((r) => r.map((v, c) => (v - fm[c]!) / Math.sqrt(fv[c]! + 1e-3))), tol);
  assertClose(paramsOf(ff, '0_mean'), fm.map((m) => 0.5 * m), tol);
  assertClose(paramsOf(ff, '0_var'), fv.map((v) => 0.5 + 0.5 * v), tol);
  facts.forEach((a) => a.close());
  ff.close();
});

function oneHot(rng: Rng, n: number, k: number): number[][] {
  return Array.from({ length: n }, () => { const r = new Array<number>(k).fill(0); r[rng.int(0, k)] = 1; return r; });
}

function checkGradients(conf: NeuralNetConfiguration, x: Img, seed: number): void {
  const net = new MultiLayerNetwork(conf).init();
  const ds = new DataSet(img(x), array(oneHot(new Rng(seed), x.length, 3), { dtype: 'DOUBLE' }));
  const flat = scope(() => net.params().toFlatArray());
  net.computeGradientAndScore(ds);
  const grads = net.gradient();
  const table = net.paramTable();
  let offset = 0;
  const eps = 1e-6;
  for (const [key, p] of table) {
    const g = grads.get(key);
    if (g) {
      const analytic = g.toFlatArray();
      const numeric = analytic.map((_, k) => {
        const at = (delta: number): number => {
          const q = flat.slice();
          q[offset + k] = q[offset + k]! + delta;
          scope(() => net.setParams(array(q, { dtype: 'DOUBLE' })));
          return net.score(ds, true);
        };
        return (at(eps) - at(-eps)) / (2 * eps);
      });
      assertClose(analytic, numeric, { rtol: 1e-4, atol: 1e-7 });
    }
    offset += p.size;
  }
  ds.close();
  net.close();
}

test('gradients of conv nets match central differences of the score through setParams (DOUBLE)', () => {
  const x = randomImages(new Rng(6), 3, 2, 5, 5);
  checkGradients({
    seed: 11, dataType: 'DOUBLE', l2: 0.01, inputType: { type: 'convolutional', height: 5, width: 5, channels: 2 },
    layers: [
      { type: 'convolution2d', nOut: 3, kernelSize: 2, convolutionMode: 'Same', activation: 'tanh' },
      { type: 'batchNormalization' },
      // 5x5 -> 3x3 -> 2x2, both with asymmetric Same padding [0, 1].
      { type: 'subsampling', poolingType: 'max', kernelSize: 2, stride: 2, convolutionMode: 'Same' },
      { type: 'subsampling', poolingType: 'avg', kernelSize: 2, convolutionMode: 'Same' },
      { type: 'output', nOut: 3, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  }, x, 7);
  checkGradients({
    seed: 12, dataType: 'DOUBLE', inputType: { type: 'convolutional', height: 5, width: 5, channels: 2 },
    layers: [
      { type: 'convolution2d', nOut: 2, kernelSize: 3, stride: 2, padding: 1, activation: 'sigmoid' },
      { type: 'subsampling', poolingType: 'pnorm', pnorm: 2, kernelSize: 2, stride: 1 },
      { type: 'globalPooling', poolingType: 'avg' },
      { type: 'dense', nOut: 4, activation: 'tanh' },
      { type: 'output', nOut: 3, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  }, x, 8);
});

test('configuration: nIn/output-size inference and clear errors naming the layer', () => {
  const net = new MultiLayerNetwork({
    inputType: { type: 'convolutionalFlat', height: 28, width: 28, channels: 1 },
    layers: [
      { type: 'convolution2d', nOut: 6, kernelSize: 5 },
      { type: 'subsampling', kernelSize: 2 },
      { type: 'convolution2d', nOut: 4, kernelSize: 3, stride: 2, convolutionMode: 'Same' },
      { type: 'batchNormalization' },
      { type: 'output', nOut: 10, lossFunction: 'MCXENT' },
    ],
  });
  const r = net.resolved.layers;
  assert.deepEqual(r.map((l) => [l.nIn, l.nOut]), [[1, 6], [6, 6], [6, 4], [4, 4], [4 * 6 * 6, 10]]);
  assert.deepEqual(r[1]!.outputImage, { channels: 6, height: 12, width: 12 });
  assert.deepEqual(r[2]!.outputImage, { channels: 4, height: 6, width: 6 });
  // The global convolutionMode applies where a layer sets none: Same gives ceil(in / stride).
  const same = new MultiLayerNetwork({
    convolutionMode: 'Same', inputType: { type: 'convolutional', height: 7, width: 5, channels: 1 },
    layers: [{ type: 'convolution2d', nOut: 2, kernelSize: 3, stride: 2 }, { type: 'subsampling', kernelSize: 2, convolutionMode: 'Truncate' }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }],
  });
  assert.deepEqual(same.resolved.layers[0]!.outputImage, { channels: 2, height: 4, width: 3 });
  assert.deepEqual(same.resolved.layers[1]!.outputImage, { channels: 2, height: 2, width: 1 });
  const base = { inputType: { type: 'convolutional', height: 4, width: 4, channels: 1 } } as const;
  const out = { type: 'output', nOut: 2, lossFunction: 'MCXENT' } as const;
  assert.throws(() => new MultiLayerNetwork({ ...base, layers: [{ type: 'convolution2d', nOut: 2, kernelSize: 5 }, out] }), /layer 0 \(convolution2d\).*larger than the padded input/);
  assert.throws(() => new MultiLayerNetwork({ ...base, layers: [{ type: 'convolution2d', nIn: 3, nOut: 2, kernelSize: 2 }, out] }), /layer 0 \(convolution2d\).*nIn 3 does not match the input's 1 channels/);
  assert.throws(() => new MultiLayerNetwork({ layers: [{ type: 'convolution2d', nIn: 1, nOut: 2, kernelSize: 2 }, out] }), /layer 0 \(convolution2d\).*needs a convolutional input/);
  assert.throws(() => new MultiLayerNetwork({ ...base, layers: [{ type: 'dense', nOut: 3 }, { type: 'subsampling' }, out] }), /layer 1 \(subsampling\).*needs a convolutional input/);
  assert.throws(() => new MultiLayerNetwork({ ...base, layers: [{ type: 'subsampling', poolingType: 'median' as 'max' }, out] }), /layer 0 \(subsampling\).*poolingType/);
  assert.throws(() => new MultiLayerNetwork({ ...base, layers: [{ type: 'convolution2d', nOut: 2, kernelSize: 2, convolutionMode: 'Strict' as 'Same' }, out] }), /convolutionMode/);
  assert.throws(() => new MultiLayerNetwork({ ...base, layers: [{ type: 'batchNormalization', nOut: 3 }, out] }), /layer 0 \(batchNormalization\).*nOut 3 does not match/);
  assert.throws(() => new MultiLayerNetwork({ inputType: { type: 'convolutional', height: 0, width: 4, channels: 1 }, layers: [out] }), /inputType: height/);
  // A wrongly shaped input names the layer.
  const n = new MultiLayerNetwork({ ...base, layers: [{ type: 'convolution2d', nOut: 2, kernelSize: 2 }, out] }).init();
  assert.throws(() => n.output(array([[[[1, 2, 3]]]], { dtype: 'FLOAT' })), /layer 0 \(convolution2d 'layer0'\): expected input \[N, 1, 4, 4\]/);
  n.close();
});

/** 8x8 images holding a horizontal or a vertical bar (class 0 / 1) plus noise. */
function bars(rng: Rng, n: number): { x: Img; y: number[][] } {
  const x: Img = [];
  const y: number[][] = [];
  for (let i = 0; i < n; i++) {
    const vertical = rng.next() < 0.5;
    const at = rng.int(1, 7);
    const im = Array.from({ length: 8 }, (_, r) => Array.from({ length: 8 }, (_, c) => ((vertical ? c : r) === at ? 1 : 0) + rng.uniform(-0.2, 0.2)));
    x.push([im]);
    y.push(vertical ? [0, 1] : [1, 0]);
  }
  return { x, y };
}

test('a tiny CNN learns horizontal vs vertical bars to > 95% accuracy', () => {
  const rng = new Rng(21);
  const train = bars(rng, 200);
  const testSet = bars(rng, 200);
  const net = new MultiLayerNetwork({
    seed: 1, updater: { type: 'adam', learningRate: 0.02 }, weightInit: 'RELU',
    inputType: { type: 'convolutional', height: 8, width: 8, channels: 1 },
    layers: [
      { type: 'convolution2d', nOut: 4, kernelSize: 3, activation: 'relu' },
      { type: 'subsampling', poolingType: 'max', kernelSize: 2 },
      { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  }).init();
  const ds = new DataSet(img(train.x, 'FLOAT'), array(train.y, { dtype: 'FLOAT' }));
  const before = net.score(ds);
  net.fit(ds, 60);
  assert.ok(net.score(ds) < before * 0.5, `score ${before} -> ${net.score(ds)}`);
  const out = net.output(img(testSet.x, 'FLOAT')).toFlatArray();
  const correct = testSet.y.filter((t, i) => (out[2 * i + 1]! > out[2 * i]! ? 1 : 0) === t[1]).length;
  assert.ok(correct / testSet.x.length > 0.95, `accuracy ${correct / testSet.x.length}`);
  ds.close();
  net.close();
});

test('a trained CNN with batch normalization survives clone() and a ModelSerializer round trip (running stats included)', () => {
  const rng = new Rng(31);
  const data = bars(rng, 16);
  const net = new MultiLayerNetwork({
    seed: 2, dataType: 'DOUBLE', updater: { type: 'adam', learningRate: 0.01 },
    inputType: { type: 'convolutional', height: 8, width: 8, channels: 1 },
    layers: [
      { type: 'convolution2d', nOut: 2, kernelSize: 3, activation: 'relu' },
      { type: 'batchNormalization' },
      { type: 'subsampling', kernelSize: 2 },
      { type: 'globalPooling', poolingType: 'avg' },
      { type: 'output', nOut: 2, lossFunction: 'MCXENT' },
    ],
  }).init();
  const ds = new DataSet(img(data.x), array(data.y, { dtype: 'DOUBLE' }));
  net.fit(ds, 3);
  // Training moved the running statistics away from their initial 0 / 1.
  assert.ok(paramsOf(net, '1_mean').some((v) => Math.abs(v) > 1e-6));
  const expected = net.output(ds.features);
  const copies = [net.clone(), deserializeModel(serializeModel(net), 'memory').network];
  for (const c of copies) {
    assertClose(paramsOf(c, '1_var'), paramsOf(net, '1_var'), tol);
    const o = c.output(ds.features);
    assertClose(o.toFlatArray(), expected.toFlatArray(), tol);
    o.close();
    c.close();
  }
  expected.close();
  ds.close();
  net.close();
});
