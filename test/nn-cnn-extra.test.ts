// Deconvolution2D, DepthwiseConvolution2D, SeparableConvolution2D, Upsampling2D, ZeroPaddingLayer,
// Cropping2D and LayerNormalization: forward values against direct float64 loops, gradients
// (parameters and input) against central differences, DL4J's shape inference and validation
// errors, a small network training, and JSON / ModelSerializer round trips. Also col2im's gradient.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MultiLayerNetwork, ComputationGraph, DataSet, array, scope, noGrad, gradCheck, col2im, convGeometry, memoryReport,
  serializeModel, deserializeModel, configurationToJSON, configurationFromJSON,
  type NeuralNetConfiguration, type LayerConfig, type NDArray,
} from '../src/index.js';
import { Rng, assertClose, refFromFn, sizeOfShape, type Ref } from './helpers.js';

const tol = { rtol: 1e-10, atol: 1e-12 };

function randomRefNd(rng: Rng, shape: readonly number[]): Ref {
  return refFromFn(shape, () => rng.uniform(-1, 1));
}

const nd = (r: Ref, dtype: 'DOUBLE' | 'FLOAT' = 'DOUBLE'): NDArray => array(r.data, [...r.shape], { dtype });

/** r at [n, c, y, x] of a 4-d row-major reference. */
function at4(r: Ref, n: number, c: number, y: number, x: number): number {
  const [, C, H, W] = r.shape as [number, number, number, number];
  return r.data[((n * C + c) * H + y) * W + x]!;
}

function paramsOf(net: MultiLayerNetwork, key: string): number[] {
  return net.paramTable().get(key)!.toFlatArray();
}

/** Sets a parameter to the given values. */
function setParam(net: MultiLayerNetwork, key: string, values: ArrayLike<number>): void {
  noGrad(() => net.paramTable().get(key)!.assign(array(Array.from(values), { dtype: 'DOUBLE' }).reshape([...net.paramTable().get(key)!.shape])));
}

/** A network of `layer` then global average pooling / output (so anything convolutional can be scored). */
function netWith(layers: LayerConfig[], input: { c: number; h: number; w: number }, seed = 3): MultiLayerNetwork {
  return new MultiLayerNetwork({
    seed, dataType: 'DOUBLE', inputType: { type: 'convolutional', channels: input.c, height: input.h, width: input.w },
    layers: [...layers, { type: 'globalPooling', poolingType: 'avg' }, { type: 'output', nOut: 3, activation: 'softmax', lossFunction: 'MCXENT' }],
  }).init();
}

/** Layer 0's activations for x. */
function firstActivations(net: MultiLayerNetwork, x: NDArray): { shape: number[]; values: number[] } {
  return scope(() => {
    const acts = net.feedForward(x);
    return { shape: [...acts[1]!.shape], values: acts[1]!.toFlatArray() };
  });
}

/** Direct transposed convolution: every input pixel scatters its kernel into the (cropped) output. */
function refDeconv(x: Ref, w: Ref, b: readonly number[], s: [number, number], d: [number, number], crop: [number, number], out: [number, number]): Ref {
  const [n, cin, h, wd] = x.shape as [number, number, number, number];
  const [, cout, kh, kw] = w.shape as [number, number, number, number];
  const shape = [n, cout, out[0], out[1]];
  const data = new Float64Array(sizeOfShape(shape));
  for (let e = 0; e < n; e++) for (let co = 0; co < cout; co++) for (let i = 0; i < out[0] * out[1]; i++) data[(e * cout + co) * out[0] * out[1] + i] = b[co]!;
  for (let e = 0; e < n; e++) for (let ci = 0; ci < cin; ci++) for (let y = 0; y < h; y++) for (let xx = 0; xx < wd; xx++) {
    for (let co = 0; co < cout; co++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const oy = y * s[0] + i * d[0] - crop[0];
      const ox = xx * s[1] + j * d[1] - crop[1];
      if (oy < 0 || oy >= out[0] || ox < 0 || ox >= out[1]) continue;
      data[((e * cout + co) * out[0] + oy) * out[1] + ox]! += at4(x, e, ci, y, xx) * w.data[((ci * cout + co) * kh + i) * kw + j]!;
    }
  }
  return { shape, data };
}

/** Direct depthwise convolution; kernel(c, m, i, j); output channel c * dm + m. */
function refDepthwise(x: Ref, kernel: (c: number, m: number, i: number, j: number) => number, dm: number, k: [number, number], s: [number, number],
  d: [number, number], pad: [number, number], out: [number, number], b: readonly number[]): Ref {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  return refFromFn([n, c * dm, out[0], out[1]], ([e, oc, oy, ox]) => {
    const ch = Math.floor(oc! / dm);
    const m = oc! % dm;
    let acc = b[oc!] ?? 0;
    for (let i = 0; i < k[0]; i++) for (let j = 0; j < k[1]; j++) {
      const y = oy! * s[0] + i * d[0] - pad[0];
      const xx = ox! * s[1] + j * d[1] - pad[1];
      if (y >= 0 && y < h && xx >= 0 && xx < w) acc += at4(x, e!, ch, y, xx) * kernel(ch, m, i, j);
    }
    return acc;
  });
}

/** Gradients of every parameter against central differences of the score via setParams (DOUBLE). */
function checkParamGradients(net: MultiLayerNetwork, ds: DataSet): void {
  const flat = scope(() => net.params().toFlatArray());
  net.computeGradientAndScore(ds);
  const grads = net.gradient();
  let offset = 0;
  const eps = 1e-6;
  for (const [key, p] of net.paramTable()) {
    const g = grads.get(key);
    if (g) {
      const analytic = g.toFlatArray();
      const numeric = analytic.map((_, k) => {
        const score = (delta: number): number => {
          const q = flat.slice();
          q[offset + k] = q[offset + k]! + delta;
          scope(() => net.setParams(array(q, { dtype: 'DOUBLE' })));
          return net.score(ds, true);
        };
        return (score(eps) - score(-eps)) / (2 * eps);
      });
      assertClose(analytic, numeric, { rtol: 1e-5, atol: 1e-8 });
    }
    offset += p.size;
  }
  scope(() => net.setParams(array(flat, { dtype: 'DOUBLE' })));
}

/** The score's gradient w.r.t. the input features against central differences. */
function checkInputGradient(net: MultiLayerNetwork, ds: DataSet): void {
  const r = gradCheck((x) => net.computeScore(new DataSet(x, ds.labels)), [ds.features]);
  const w = r.worst;
  assert.ok(r.passed, `input gradient: max relative error ${r.maxRelError}${w ? ` at [${w.index.join(', ')}]: ${w.analytic} vs ${w.numeric}` : ''}`);
}

function labelsFor(rng: Rng, n: number): NDArray {
  return array(Array.from({ length: n }, () => { const r = [0, 0, 0]; r[rng.int(0, 3)] = 1; return r; }), { dtype: 'DOUBLE' });
}

function checkGradients(layers: LayerConfig[], input: { c: number; h: number; w: number }, seed: number): void {
  const rng = new Rng(seed);
  const net = netWith(layers, input, seed);
  // Non-zero biases and values so that every path carries gradient.
  for (const [key, p] of net.paramTable()) if (key.endsWith('_b')) setParam(net, key, Array.from({ length: p.size }, () => rng.uniform(-0.5, 0.5)));
  const ds = new DataSet(nd(randomRefNd(rng, [2, input.c, input.h, input.w])), labelsFor(rng, 2));
  checkParamGradients(net, ds);
  checkInputGradient(net, ds);
  ds.close();
  net.close();
}

test('col2im is differentiable: its gradient (im2col) matches central differences', () => {
  const rng = new Rng(1);
  for (const g of [convGeometry(3, { stride: 2, padding: 1 }), convGeometry([2, 3], { stride: [1, 2], dilation: [2, 1] })]) {
    const imageShape = [2, 2, 5, 6];
    const oh = Math.floor((5 + 2 * g.ph - (g.dh * (g.kh - 1) + 1)) / g.sh) + 1;
    const ow = Math.floor((6 + 2 * g.pw - (g.dw * (g.kw - 1) + 1)) / g.sw) + 1;
    scope(() => {
      const cols = nd(randomRefNd(rng, [2, 2 * g.kh * g.kw, oh * ow]));
      const r = gradCheck((c) => col2im(c, imageShape, g), [cols]);
      assert.ok(r.passed, `col2im gradient: max relative error ${r.maxRelError}`);
    });
  }
});

test('deconvolution2d forward matches a direct transposed convolution (Truncate/Same, stride, padding, dilation)', () => {
  const rng = new Rng(2);
  const x = randomRefNd(rng, [2, 2, 3, 4]);
  // DL4J's sizes: Truncate (in - 1) * s + span - 2p; Same in * s, cropped floor(max(0, span - s) / 2) top/left.
  const cases: { opts: Partial<LayerConfig>; s: [number, number]; d: [number, number]; crop: [number, number]; out: [number, number]; k: [number, number] }[] = [
    { opts: { kernelSize: [3, 2], stride: [2, 1] }, k: [3, 2], s: [2, 1], d: [1, 1], crop: [0, 0], out: [7, 5] },
    { opts: { kernelSize: 3, stride: 2, padding: [1, 0], dilation: [1, 2] }, k: [3, 3], s: [2, 2], d: [1, 2], crop: [1, 0], out: [5, 11] },
    // Same, kernel 3 stride 2: span - s = 1, crop [0 top, 1 bottom] (asymmetric), out 6x8.
    { opts: { kernelSize: 3, stride: 2, convolutionMode: 'Same' }, k: [3, 3], s: [2, 2], d: [1, 1], crop: [0, 0], out: [6, 8] },
    // Same, kernel 4 stride [2, 1], dilation 1: crops [1, 1] rows and [1, 2] columns.
    { opts: { kernelSize: 4, stride: [2, 1], convolutionMode: 'Same' }, k: [4, 4], s: [2, 1], d: [1, 1], crop: [1, 1], out: [6, 4] },
    // Same, kernel 2 stride 3: the kernel is shorter than the stride, nothing cropped, zeros between.
    { opts: { kernelSize: 2, stride: 3, convolutionMode: 'Same' }, k: [2, 2], s: [3, 3], d: [1, 1], crop: [0, 0], out: [9, 12] },
  ];
  for (const c of cases) {
    const net = netWith([{ type: 'deconvolution2d', nOut: 3, activation: 'identity', ...c.opts } as LayerConfig], { c: 2, h: 3, w: 4 });
    assert.deepEqual(net.paramTable().get('0_W')!.shape, [2, 3, c.k[0], c.k[1]]);
    const b = [0.1, -0.2, 0.3];
    setParam(net, '0_b', b);
    const w: Ref = { shape: [2, 3, c.k[0], c.k[1]], data: Float64Array.from(paramsOf(net, '0_W')) };
    const expected = refDeconv(x, w, b, c.s, c.d, c.crop, c.out);
    const got = firstActivations(net, nd(x));
    assert.deepEqual(got.shape, expected.shape, JSON.stringify(c.opts));
    assertClose(got.values, expected.data, tol);
    const o = net.resolved.layers[0]!.outputImage!;
    assert.deepEqual([o.channels, o.height, o.width], [3, ...c.out]);
    net.close();
  }
});

test('depthwiseConvolution2d forward matches a direct loop; W [kh, kw, nIn, depthMultiplier], nOut = nIn * depthMultiplier', () => {
  const rng = new Rng(3);
  const x = randomRefNd(rng, [2, 3, 6, 5]);
  const cases: { opts: Partial<LayerConfig>; k: [number, number]; s: [number, number]; d: [number, number]; pad: [number, number]; out: [number, number] }[] = [
    { opts: { kernelSize: [3, 2], stride: [1, 2], padding: [1, 0] }, k: [3, 2], s: [1, 2], d: [1, 1], pad: [1, 0], out: [6, 2] },
    { opts: { kernelSize: 2, dilation: [2, 1] }, k: [2, 2], s: [1, 1], d: [2, 1], pad: [0, 0], out: [4, 4] },
    // Same stride 2 over 6x5: out 3x3; rows pad total (3-1)*2+3-6 = 1 -> top 0; cols (3-1)*2+3-5 = 2 -> left 1.
    { opts: { kernelSize: 3, stride: 2, convolutionMode: 'Same' }, k: [3, 3], s: [2, 2], d: [1, 1], pad: [0, 1], out: [3, 3] },
  ];
  for (const c of cases) {
    const dm = 2;
    const net = netWith([{ type: 'depthwiseConvolution2d', depthMultiplier: dm, activation: 'identity', ...c.opts } as LayerConfig], { c: 3, h: 6, w: 5 });
    const r = net.resolved.layers[0]!;
    assert.equal(r.nOut, 6);
    assert.deepEqual(net.paramTable().get('0_W')!.shape, [c.k[0], c.k[1], 3, dm]);
    assert.deepEqual(net.paramTable().get('0_b')!.shape, [6]);
    const b = [0.1, -0.2, 0.3, 0.4, -0.5, 0.6];
    setParam(net, '0_b', b);
    const w = paramsOf(net, '0_W');
    const kernel = (ch: number, m: number, i: number, j: number): number => w[((i * c.k[1] + j) * 3 + ch) * dm + m]!;
    const expected = refDepthwise(x, kernel, dm, c.k, c.s, c.d, c.pad, c.out, b);
    const got = firstActivations(net, nd(x));
    assert.deepEqual(got.shape, expected.shape, JSON.stringify(c.opts));
    assertClose(got.values, expected.data, tol);
    net.close();
  }
});

test('separableConvolution2d forward: depthwise W [dm, nIn, kh, kw] then pointwise pW [nOut, nIn*dm, 1, 1] plus b', () => {
  const rng = new Rng(4);
  const x = randomRefNd(rng, [2, 2, 5, 5]);
  const net = netWith([{ type: 'separableConvolution2d', nOut: 3, depthMultiplier: 2, kernelSize: 3, stride: 2, padding: 1, activation: 'tanh' }], { c: 2, h: 5, w: 5 });
  assert.deepEqual([...net.paramTable().keys()].slice(0, 3), ['0_W', '0_pW', '0_b']);
  assert.deepEqual(net.paramTable().get('0_W')!.shape, [2, 2, 3, 3]);
  assert.deepEqual(net.paramTable().get('0_pW')!.shape, [3, 4, 1, 1]);
  const b = [0.2, -0.1, 0.05];
  setParam(net, '0_b', b);
  const w = paramsOf(net, '0_W');
  const pw = paramsOf(net, '0_pW');
  const depth = refDepthwise(x, (ch, m, i, j) => w[((m * 2 + ch) * 3 + i) * 3 + j]!, 2, [3, 3], [2, 2], [1, 1], [1, 1], [3, 3], []);
  const expected = refFromFn([2, 3, 3, 3], ([e, o, y, xx]) => Math.tanh(b[o!]! + [0, 1, 2, 3].reduce((s, k) => s + pw[o! * 4 + k]! * at4(depth, e!, k, y!, xx!), 0)));
  const got = firstActivations(net, nd(x));
  assert.deepEqual(got.shape, [2, 3, 3, 3]);
  assertClose(got.values, expected.data, tol);
  // Regularization covers both weight arrays: l2 / 2 * (sum W^2 + sum pW^2).
  const reg = new MultiLayerNetwork({ ...net.conf, l2: 0.5 }).init();
  const ds = new DataSet(nd(x), labelsFor(rng, 2));
  const penalty = 0.25 * [...paramsOf(reg, '0_W'), ...paramsOf(reg, '0_pW'), ...paramsOf(reg, '2_W')].reduce((s, v) => s + v * v, 0);
  const noReg = new MultiLayerNetwork(net.conf).init();
  scope(() => noReg.setParams(reg.params()));
  assertClose([reg.score(ds)], [noReg.score(ds) + penalty], { rtol: 1e-10, atol: 1e-12 });
  ds.close();
  reg.close();
  noReg.close();
  net.close();
});

test('upsampling2d, zeroPadding and cropping2d match direct index maps', () => {
  const rng = new Rng(5);
  const x = randomRefNd(rng, [2, 2, 3, 4]);
  const cases: { layer: LayerConfig; out: [number, number]; f: (e: number, c: number, y: number, xx: number) => number }[] = [
    { layer: { type: 'upsampling2d', size: [2, 3] }, out: [6, 12], f: (e, c, y, xx) => at4(x, e, c, Math.floor(y / 2), Math.floor(xx / 3)) },
    { layer: { type: 'upsampling2d', size: 2 }, out: [6, 8], f: (e, c, y, xx) => at4(x, e, c, Math.floor(y / 2), Math.floor(xx / 2)) },
    {
      layer: { type: 'zeroPadding', padding: [1, 2, 0, 3] }, out: [6, 7],
      f: (e, c, y, xx) => (y >= 1 && y < 4 && xx < 4 ? at4(x, e, c, y - 1, xx) : 0),
    },
    { layer: { type: 'zeroPadding', padding: [1, 2] }, out: [5, 8], f: (e, c, y, xx) => (y >= 1 && y < 4 && xx >= 2 && xx < 6 ? at4(x, e, c, y - 1, xx - 2) : 0) },
    { layer: { type: 'cropping2d', cropping: [1, 0, 1, 2] }, out: [2, 1], f: (e, c, y, xx) => at4(x, e, c, y + 1, xx + 1) },
    { layer: { type: 'cropping2d', cropping: 1 }, out: [1, 2], f: (e, c, y, xx) => at4(x, e, c, y + 1, xx + 1) },
  ];
  for (const c of cases) {
    const net = netWith([c.layer], { c: 2, h: 3, w: 4 });
    const expected = refFromFn([2, 2, ...c.out], ([e, ch, y, xx]) => c.f(e!, ch!, y!, xx!));
    const got = firstActivations(net, nd(x));
    assert.deepEqual(got.shape, expected.shape, JSON.stringify(c.layer));
    assertClose(got.values, expected.data, tol);
    assert.deepEqual(net.resolved.layers[1]!.inputImage, { channels: 2, height: c.out[0], width: c.out[1] });
    net.close();
  }
});

test('layerNormalization over [N, C], [N, C, H, W] (all of C, H, W) and recurrent [N, C, T] (per time step) matches float64 loops', () => {
  const rng = new Rng(6);
  const gain = [1.5, -0.5, 0.8];
  const bias = [0.2, 0.7, -0.3];
  const norm = (vals: number[], eps: number): number[] => {
    const m = vals.reduce((a, v) => a + v, 0) / vals.length;
    const v = vals.reduce((a, u) => a + (u - m) ** 2, 0) / vals.length;
    return vals.map((u) => (u - m) / Math.sqrt(v + eps));
  };
  // Feed-forward.
  const f = randomRefNd(rng, [4, 3]);
  const ff = new MultiLayerNetwork({
    dataType: 'DOUBLE', inputType: { type: 'feedForward', size: 3 },
    layers: [{ type: 'layerNormalization', eps: 1e-3 }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }],
  }).init();
  assert.deepEqual([...ff.paramTable().keys()].slice(0, 2), ['0_gain', '0_b']);
  setParam(ff, '0_gain', gain);
  setParam(ff, '0_b', bias);
  const fExpected = [0, 1, 2, 3].flatMap((e) => norm([0, 1, 2].map((c) => f.data[e * 3 + c]!), 1e-3).map((v, c) => v * gain[c]! + bias[c]!));
  assertClose(firstActivations(ff, nd(f)).values, fExpected, tol);
  // Training and inference agree (no running statistics).
  assertClose(scope(() => ff.feedForward(nd(f), true)[1]!.toFlatArray()), fExpected, tol);
  ff.close();
  // Images: one mean/variance per example over C, H, W; gain and b per channel.
  const x = randomRefNd(rng, [2, 3, 2, 3]);
  const net = netWith([{ type: 'layerNormalization' }], { c: 3, h: 2, w: 3 });
  setParam(net, '0_gain', gain);
  setParam(net, '0_b', bias);
  const xExpected = [0, 1].flatMap((e) => norm(Array.from(x.data.slice(e * 18, e * 18 + 18)), 1e-5).map((v, k) => v * gain[Math.floor(k / 6)]! + bias[Math.floor(k / 6)]!));
  assertClose(firstActivations(net, nd(x)).values, xExpected, tol);
  net.close();
  // Recurrent [N, C, T] (as the input of a layer after a recurrent layer): per example and time step over C.
  const layer = new MultiLayerNetwork({
    dataType: 'DOUBLE', inputType: { type: 'feedForward', size: 3 },
    layers: [{ type: 'layerNormalization', hasBias: false }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }],
  }).init();
  assert.deepEqual([...layer.paramTable().keys()], ['0_gain', '1_W', '1_b']);
  setParam(layer, '0_gain', gain);
  const r = randomRefNd(rng, [2, 3, 4]);
  const got = scope(() => noGrad(() => layer.getLayer(0).forward(nd(r), false).toFlatArray()));
  const rExpected = refFromFn([2, 3, 4], ([e, c, t]) => {
    const col = [0, 1, 2].map((k) => r.data[(e! * 3 + k) * 4 + t!]!);
    return norm(col, 1e-5)[c!]! * gain[c!]!;
  });
  assertClose(got, rExpected.data, tol);
  layer.close();
});

test('gradients (parameters and input) of the new layers match central differences (DOUBLE)', () => {
  checkGradients([
    { type: 'deconvolution2d', nOut: 2, kernelSize: 3, stride: 2, padding: 1, dilation: [1, 2], activation: 'tanh' },
  ], { c: 2, h: 3, w: 3 }, 11);
  checkGradients([
    { type: 'deconvolution2d', nOut: 2, kernelSize: 3, stride: 2, convolutionMode: 'Same', activation: 'sigmoid', l2: 0.01 },
  ], { c: 2, h: 3, w: 2 }, 12);
  checkGradients([
    { type: 'depthwiseConvolution2d', depthMultiplier: 2, kernelSize: 2, stride: 2, convolutionMode: 'Same', activation: 'tanh' },
    { type: 'depthwiseConvolution2d', kernelSize: 2, dilation: 2, activation: 'identity', l1: 0.01 },
  ], { c: 2, h: 5, w: 6 }, 13);
  checkGradients([
    { type: 'separableConvolution2d', nOut: 3, depthMultiplier: 2, kernelSize: 3, stride: [2, 1], padding: 1, activation: 'tanh', l2: 0.02 },
  ], { c: 2, h: 5, w: 4 }, 14);
  checkGradients([
    { type: 'zeroPadding', padding: [1, 0, 2, 1] },
    { type: 'convolution2d', nOut: 2, kernelSize: 2, activation: 'tanh' },
    { type: 'upsampling2d', size: [2, 1] },
    { type: 'cropping2d', cropping: [1, 2, 0, 1] },
    { type: 'layerNormalization' },
  ], { c: 1, h: 3, w: 3 }, 15);
});

test('configuration: shape inference, nIn checks and clear errors naming the layer', () => {
  const conf = (layers: LayerConfig[], h = 4, w = 4, c = 2): NeuralNetConfiguration => ({
    inputType: { type: 'convolutional', height: h, width: w, channels: c },
    layers: [...layers, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }],
  });
  const net = new MultiLayerNetwork(conf([
    { type: 'deconvolution2d', nOut: 3, kernelSize: 2, stride: 2 },
    { type: 'depthwiseConvolution2d', depthMultiplier: 3, kernelSize: 3 },
    { type: 'separableConvolution2d', nOut: 4, kernelSize: 3, convolutionMode: 'Same', stride: 2 },
    { type: 'upsampling2d', size: [1, 2] },
    { type: 'zeroPadding', padding: 1 },
    { type: 'cropping2d', cropping: [0, 1, 2, 0] },
    { type: 'layerNormalization' },
  ]));
  const r = net.resolved.layers;
  assert.deepEqual(r.map((l) => [l.nIn, l.nOut]), [[2, 3], [3, 9], [9, 4], [4, 4], [4, 4], [4, 4], [4, 4], [4 * 4 * 6, 2]]);
  assert.deepEqual(r.slice(0, 7).map((l) => [l.outputImage!.height, l.outputImage!.width]), [[8, 8], [6, 6], [3, 3], [3, 6], [5, 8], [4, 6], [4, 6]]);
  // The global convolutionMode applies where a layer sets none.
  const same = new MultiLayerNetwork({ ...conf([{ type: 'deconvolution2d', nOut: 1, kernelSize: 3, stride: 3 }], 2, 3), convolutionMode: 'Same' });
  assert.deepEqual(same.resolved.layers[0]!.outputImage, { channels: 1, height: 6, width: 9 });
  const bad: [LayerConfig[], RegExp][] = [
    [[{ type: 'deconvolution2d', nOut: 2, kernelSize: 2, padding: 3 }], /layer 0 \(deconvolution2d\).*padding 3x3 leaves no output: .* = -1x-1/],
    [[{ type: 'deconvolution2d', nIn: 3, nOut: 2, kernelSize: 2 }], /layer 0 \(deconvolution2d\).*nIn 3 does not match the input's 2 channels/],
    [[{ type: 'deconvolution2d', nOut: 2, kernelSize: 0 }], /layer 0 \(deconvolution2d\).*kernelSize must be an integer >= 1/],
    [[{ type: 'deconvolution2d', nOut: 2, convolutionMode: 'Strict' as 'Same' }], /layer 0 \(deconvolution2d\).*convolutionMode/],
    [[{ type: 'depthwiseConvolution2d', nOut: 5, depthMultiplier: 2, kernelSize: 2 }], /layer 0 \(depthwiseConvolution2d\).*nOut 5 must equal nIn \* depthMultiplier = 2 \* 2 = 4/],
    [[{ type: 'depthwiseConvolution2d', depthMultiplier: 0, kernelSize: 2 }], /depthMultiplier must be an integer >= 1, got 0/],
    [[{ type: 'depthwiseConvolution2d', kernelSize: 5 }], /layer 0 \(depthwiseConvolution2d\).*larger than the padded input/],
    [[{ type: 'separableConvolution2d', nOut: 0, kernelSize: 2 } as LayerConfig], /layer 0 \(separableConvolution2d\).*nOut must be a positive integer/],
    [[{ type: 'upsampling2d', size: [2, 0] }], /layer 0 \(upsampling2d\).*size must be an integer >= 1/],
    [[{ type: 'zeroPadding', padding: [1, -1] }], /layer 0 \(zeroPadding\).*padding must be an integer >= 0, \[height, width\] or \[top, bottom, left, right\]/],
    [[{ type: 'zeroPadding', padding: [1, 1, 1] as unknown as [number, number] }], /padding must be/],
    [[{ type: 'zeroPadding' } as LayerConfig], /layer 0 \(zeroPadding\).*padding is required/],
    [[{ type: 'cropping2d', cropping: [2, 2, 0, 0] }], /layer 0 \(cropping2d\).*cropping \[2, 2, 0, 0\] removes the whole 4x4 image/],
    [[{ type: 'layerNormalization', nOut: 3 }], /layer 0 \(layerNormalization\).*nOut 3 does not match the input's channels 2/],
    [[{ type: 'layerNormalization', eps: 0 }], /eps must be a positive number/],
  ];
  for (const [layers, re] of bad) assert.throws(() => new MultiLayerNetwork(conf(layers)), re);
  assert.throws(() => new MultiLayerNetwork({ layers: [{ type: 'upsampling2d' }, { type: 'output', nIn: 2, nOut: 2, lossFunction: 'MCXENT' }] }), /layer 0 \(upsampling2d\).*needs a convolutional input/);
  assert.throws(() => new MultiLayerNetwork({ inputType: { type: 'feedForward', size: 3 }, layers: [{ type: 'cropping2d', cropping: 1 }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }] }), /needs a convolutional input \(got feedForward size 3\)/);
  // Wrongly shaped input names the layer.
  const n = new MultiLayerNetwork(conf([{ type: 'deconvolution2d', nOut: 2, kernelSize: 2 }])).init();
  assert.throws(() => n.output(array([[[[1, 2, 3]]]], { dtype: 'FLOAT' })), /layer 0 \(deconvolution2d 'layer0'\): expected input \[N, 2, 4, 4\]/);
  assert.match(n.summary(), /layer0 \(Deconvolution2DLayer\)\s+2,2\s+18\s+W:\{2,2,2,2\}, b:\{2\}/);
  n.close();
});

/** 8x8 images of a horizontal or a vertical bar (class 0 / 1) plus noise. */
function bars(rng: Rng, n: number): { x: number[]; y: number[][] } {
  const x: number[] = [];
  const y: number[][] = [];
  for (let i = 0; i < n; i++) {
    const vertical = rng.next() < 0.5;
    const at = rng.int(1, 7);
    for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) x.push(((vertical ? c : r) === at ? 1 : 0) + rng.uniform(-0.2, 0.2));
    y.push(vertical ? [0, 1] : [1, 0]);
  }
  return { x, y };
}

const SMALL_CNN: NeuralNetConfiguration = {
  seed: 7, updater: { type: 'adam', learningRate: 0.02 }, weightInit: 'RELU',
  inputType: { type: 'convolutional', height: 8, width: 8, channels: 1 },
  layers: [
    { type: 'convolution2d', nOut: 4, kernelSize: 3, activation: 'relu' },
    { type: 'subsampling', poolingType: 'max', kernelSize: 2 },
    { type: 'upsampling2d', size: 2 },
    { type: 'deconvolution2d', nOut: 3, kernelSize: 2, stride: 1, activation: 'relu' },
    { type: 'depthwiseConvolution2d', depthMultiplier: 2, kernelSize: 3, convolutionMode: 'Same', activation: 'relu' },
    { type: 'separableConvolution2d', nOut: 4, kernelSize: 2, activation: 'relu' },
    { type: 'zeroPadding', padding: 1 },
    { type: 'cropping2d', cropping: [1, 0, 1, 0] },
    { type: 'layerNormalization' },
    { type: 'globalPooling', poolingType: 'max' },
    { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
  ],
};

test('a small CNN with the new layers trains: the loss falls and bars are classified; memory stays flat', () => {
  const rng = new Rng(21);
  const train = bars(rng, 64);
  const testSet = bars(rng, 100);
  const net = new MultiLayerNetwork(SMALL_CNN).init();
  const ds = new DataSet(array(train.x, [64, 1, 8, 8], { dtype: 'FLOAT' }), array(train.y, { dtype: 'FLOAT' }));
  const before = net.score(ds);
  net.fit(ds, 2);
  const mem = memoryReport();
  net.fit(ds, 28);
  assert.equal(memoryReport().arrays, mem.arrays, 'no arrays leak per step');
  const after = net.score(ds);
  assert.ok(after < before * 0.5, `score ${before} -> ${after}`);
  const out = scope(() => net.output(array(testSet.x, [100, 1, 8, 8], { dtype: 'FLOAT' })).toFlatArray());
  const correct = testSet.y.filter((t, i) => (out[2 * i + 1]! > out[2 * i]! ? 1 : 0) === t[1]).length;
  assert.ok(correct / 100 > 0.9, `accuracy ${correct / 100}`);
  ds.close();
  net.close();
});

test('JSON and ModelSerializer round trips give identical outputs', () => {
  const rng = new Rng(31);
  const data = bars(rng, 8);
  const conf: NeuralNetConfiguration = { ...SMALL_CNN, dataType: 'DOUBLE' };
  const json = configurationToJSON(conf);
  assert.deepEqual(configurationFromJSON(json), JSON.parse(JSON.stringify(conf)));
  const net = new MultiLayerNetwork(conf).init();
  const ds = new DataSet(array(data.x, [8, 1, 8, 8], { dtype: 'DOUBLE' }), array(data.y, { dtype: 'DOUBLE' }));
  net.fit(ds, 2);
  const expected = scope(() => net.output(ds.features).toFlatArray());
  const fromJson = new MultiLayerNetwork(configurationFromJSON(json)).init();
  scope(() => fromJson.setParams(net.params()));
  const restored = deserializeModel(serializeModel(net), 'memory').network;
  for (const copy of [fromJson, restored]) {
    assert.deepEqual([...copy.paramTable().keys()], [...net.paramTable().keys()]);
    assert.deepEqual(scope(() => copy.output(ds.features).toFlatArray()), expected);
    copy.close();
  }
  ds.close();
  net.close();
});

test('in a ComputationGraph: an encoder-decoder with a deconvolution and a skip merge learns the bars', () => {
  const rng = new Rng(41);
  const train = bars(rng, 64);
  const g = new ComputationGraph({
    seed: 2, updater: { type: 'adam', learningRate: 0.02 }, weightInit: 'RELU',
    inputs: ['img'], inputTypes: [{ type: 'convolutional', height: 8, width: 8, channels: 1 }],
    vertices: {
      enc: { layer: { type: 'convolution2d', nOut: 3, kernelSize: 3, convolutionMode: 'Same', activation: 'relu' }, inputs: ['img'] },
      down: { layer: { type: 'subsampling', kernelSize: 2 }, inputs: ['enc'] },
      up: { layer: { type: 'deconvolution2d', nOut: 3, kernelSize: 2, stride: 2, activation: 'relu' }, inputs: ['down'] },
      skip: { vertex: { type: 'merge' }, inputs: ['enc', 'up'] },
      norm: { layer: { type: 'layerNormalization' }, inputs: ['skip'] },
      pool: { layer: { type: 'globalPooling', poolingType: 'max' }, inputs: ['norm'] },
      out: { layer: { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }, inputs: ['pool'] },
    },
    outputs: ['out'],
  }).init();
  assert.deepEqual(g.paramTable().get('up_W')!.shape, [3, 3, 2, 2]);
  assert.deepEqual(g.paramTable().get('norm_gain')!.shape, [6]);
  const ds = new DataSet(array(train.x, [64, 1, 8, 8], { dtype: 'FLOAT' }), array(train.y, { dtype: 'FLOAT' }));
  const before = g.score(ds);
  g.fit(ds, 30);
  assert.ok(g.score(ds) < before * 0.5, `score ${before} -> ${g.score(ds)}`);
  ds.close();
  g.close();
});
