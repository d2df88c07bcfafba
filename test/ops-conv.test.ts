import { test } from 'node:test';
import assert from 'node:assert/strict';
import { array, avgPool2d, col2im, conv2d, convGeometry, im2col, maxPool2d, type NDArray } from '../src/index.js';
import type { Conv2dGeometry } from '../src/backend/backend.js';
import { assertClose, assertShape, flat, LAYOUTS, randomRef, Ref, toNd } from './opsb-util.js';

// ---- float64 references: direct loops over windows ------------------------------------------

function outSize(h: number, w: number, g: Conv2dGeometry): [number, number] {
  return [Math.floor((h + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh) + 1, Math.floor((w + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw) + 1];
}

/** Calls fn(n, c, oy, ox, i, j, h, w) for every window tap; (h, w) may fall in the padding. */
function forEachTap(shape: readonly number[], g: Conv2dGeometry, fn: (n: number, c: number, oy: number, ox: number, i: number, j: number, h: number, w: number) => void): void {
  const [N, C, H, W] = shape as [number, number, number, number];
  const [oh, ow] = outSize(H, W, g);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++)
          for (let i = 0; i < g.kh; i++)
            for (let j = 0; j < g.kw; j++) fn(n, c, oy, ox, i, j, oy * g.sh - g.ph + i * g.dh, ox * g.sw - g.pw + j * g.dw);
}

const inside = (x: Ref, h: number, w: number): boolean => h >= 0 && h < x.shape[2]! && w >= 0 && w < x.shape[3]!;

function refIm2col(x: Ref, g: Conv2dGeometry): Ref {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [oh, ow] = outSize(H, W, g);
  const cols = new Ref([N, C * g.kh * g.kw, oh * ow]);
  forEachTap(x.shape, g, (n, c, oy, ox, i, j, h, w) => {
    if (inside(x, h, w)) cols.set(x.get(n, c, h, w), n, (c * g.kh + i) * g.kw + j, oy * ow + ox);
  });
  return cols;
}

function refConv(x: Ref, wt: Ref, bias: Ref | null, g: Conv2dGeometry): Ref {
  const [N, , H, W] = x.shape as [number, number, number, number];
  const O = wt.shape[0]!;
  const [oh, ow] = outSize(H, W, g);
  const y = new Ref([N, O, oh, ow]);
  for (let o = 0; o < O; o++) {
    forEachTap(x.shape, g, (n, c, oy, ox, i, j, h, w) => {
      if (inside(x, h, w)) y.add(x.get(n, c, h, w) * wt.get(o, c, i, j), n, o, oy, ox);
    });
    if (bias) for (let n = 0; n < N; n++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) y.add(bias.get(o), n, o, oy, ox);
  }
  return y;
}

/** Gradients of sum(conv(x, w, b) * G). */
function refConvGrads(x: Ref, wt: Ref, G: Ref, g: Conv2dGeometry): { dx: Ref; dw: Ref; db: Ref } {
  const O = wt.shape[0]!;
  const dx = new Ref(x.shape);
  const dw = new Ref(wt.shape);
  const db = new Ref([O]);
  for (let o = 0; o < O; o++) {
    forEachTap(x.shape, g, (n, c, oy, ox, i, j, h, w) => {
      if (!inside(x, h, w)) return;
      const go = G.get(n, o, oy, ox);
      dx.add(go * wt.get(o, c, i, j), n, c, h, w);
      dw.add(go * x.get(n, c, h, w), o, c, i, j);
    });
  }
  G.forEach(([, o], k) => db.add(G.data[k]!, o!));
  return { dx, dw, db };
}

/** Max or average pooling with its gradient for the upstream G (max: to the first maximum of each window). */
function refPool(op: 'max' | 'avg', x: Ref, g: Conv2dGeometry, countIncludePad: boolean, G?: Ref): { y: Ref; dx: Ref } {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [oh, ow] = outSize(H, W, g);
  const y = new Ref([N, C, oh, ow]);
  const dx = new Ref(x.shape);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          let best = -Infinity;
          let arg: [number, number] | null = null;
          let sum = 0;
          let count = 0;
          const taps: [number, number][] = [];
          for (let i = 0; i < g.kh; i++)
            for (let j = 0; j < g.kw; j++) {
              const h = oy * g.sh - g.ph + i * g.dh;
              const w = ox * g.sw - g.pw + j * g.dw;
              if (!inside(x, h, w)) continue;
              const v = x.get(n, c, h, w);
              taps.push([h, w]);
              sum += v;
              count++;
              if (v > best) {
                best = v;
                arg = [h, w];
              }
            }
          const divisor = countIncludePad ? g.kh * g.kw : count;
          y.set(op === 'max' ? best : sum / divisor, n, c, oy, ox);
          if (!G) continue;
          const go = G.get(n, c, oy, ox);
          if (op === 'max') dx.add(go, n, c, arg![0], arg![1]);
          else for (const [h, w] of taps) dx.add(go / divisor, n, c, h, w);
        }
  return { y, dx };
}

// ---- cases ------------------------------------------------------------------------------------

interface Case {
  readonly name: string;
  readonly x: readonly number[];
  readonly o: number;
  readonly kernel: [number, number];
  readonly stride: number | [number, number];
  readonly padding: number | [number, number];
  readonly dilation: number | [number, number];
}

const CASES: readonly Case[] = [
  { name: '3x3 valid', x: [2, 3, 7, 6], o: 4, kernel: [3, 3], stride: 1, padding: 0, dilation: 1 },
  { name: '3x2 stride [2,1] pad 1', x: [2, 2, 7, 8], o: 3, kernel: [3, 2], stride: [2, 1], padding: 1, dilation: 1 },
  { name: 'dilated 3x3 stride 2 pad [2,1]', x: [1, 2, 9, 10], o: 2, kernel: [3, 3], stride: 2, padding: [2, 1], dilation: 2 },
  { name: '1x1', x: [3, 5, 4, 3], o: 2, kernel: [1, 1], stride: 1, padding: 0, dilation: 1 },
  { name: 'kernel = padded input, dilation [1,2]', x: [2, 1, 3, 3], o: 2, kernel: [5, 3], stride: 3, padding: [1, 2], dilation: [1, 2] },
];

const geometryOf = (c: Case): Conv2dGeometry => convGeometry(c.kernel, { stride: c.stride, padding: c.padding, dilation: c.dilation });

test('convGeometry expands numbers and pairs', () => {
  assert.deepEqual(convGeometry(3, { stride: [2, 1], padding: 1 }), { kh: 3, kw: 3, sh: 2, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1 });
  assert.deepEqual(convGeometry([2, 5], { dilation: 3 }), { kh: 2, kw: 5, sh: 1, sw: 1, ph: 0, pw: 0, dh: 3, dw: 3 });
});

for (const c of CASES) {
  for (const layout of LAYOUTS) {
    test(`im2col ${c.name} (${layout}) matches the window loops; col2im is its adjoint`, () => {
      const g = geometryOf(c);
      const xr = randomRef(c.x, 11);
      const cols = im2col(toNd(xr, layout), g);
      const expected = refIm2col(xr, g);
      assertShape(cols, expected.shape);
      assertClose(flat(cols), expected.data, 0, 0, 'im2col');
      // col2im(C) must equal the transpose of im2col applied to C: sum of each column entry into its tap.
      const cr = randomRef(expected.shape, 12);
      const img = col2im(toNd(cr, layout), c.x, g);
      const back = new Ref(c.x);
      const [, , H, W] = c.x as [number, number, number, number];
      const ow = outSize(H, W, g)[1];
      forEachTap(c.x, g, (n, ch, oy, ox, i, j, h, w) => {
        if (inside(back, h, w)) back.add(cr.get(n, (ch * g.kh + i) * g.kw + j, oy * ow + ox), n, ch, h, w);
      });
      assertClose(flat(img), back.data, 1e-12, 1e-12, 'col2im');
    });

    test(`conv2d ${c.name} (${layout}): forward and gradients against direct convolution`, () => {
      const g = geometryOf(c);
      const xr = randomRef(c.x, 21);
      const wr = randomRef([c.o, c.x[1]!, c.kernel[0], c.kernel[1]], 22);
      const br = randomRef([c.o], 23);
      const x = toNd(xr, layout).requireGrad();
      const w = toNd(wr, layout).requireGrad();
      const b = toNd(br, layout).requireGrad();
      const y = conv2d(x, w, b, { stride: c.stride, padding: c.padding, dilation: c.dilation });
      const expected = refConv(xr, wr, br, g);
      assertShape(y, expected.shape);
      assertClose(flat(y), expected.data, 1e-12, 1e-12, 'conv2d');

      const G = randomRef(expected.shape, 24);
      y.backward(toNd(G));
      const r = refConvGrads(xr, wr, G, g);
      assertClose(flat(x.grad!), r.dx.data, 1e-12, 1e-12, 'dx');
      assertClose(flat(w.grad!), r.dw.data, 1e-12, 1e-12, 'dw');
      assertClose(flat(b.grad!), r.db.data, 1e-12, 1e-12, 'db');
    });
  }
}

test('conv2d without bias, in FLOAT', () => {
  const c = CASES[1]!;
  const g = geometryOf(c);
  const xr = randomRef(c.x, 31);
  const wr = randomRef([c.o, c.x[1]!, c.kernel[0], c.kernel[1]], 32);
  const y = conv2d(toNd(xr, 'permuted', 'FLOAT'), toNd(wr, 'contiguous', 'FLOAT'), undefined, { stride: c.stride, padding: c.padding });
  assert.equal(y.dtype, 'FLOAT');
  assertClose(flat(y), refConv(xr, wr, null, g).data, 1e-5, 1e-5, 'conv2d FLOAT');
});

test('conv2d reports bad shapes clearly', () => {
  const x = array(new Float64Array(2 * 3 * 5 * 5), [2, 3, 5, 5]);
  assert.throws(() => conv2d(x, array(new Float64Array(4 * 2 * 3 * 3), [4, 2, 3, 3])), /conv2d: the input has 3 channels .* weights expect 2/);
  assert.throws(() => conv2d(x, array(new Float64Array(4 * 3 * 6 * 3), [4, 3, 6, 3])), /conv2d: the 6x3 kernel .* larger than the padded input 5x5/);
  assert.doesNotThrow(() => conv2d(x, array(new Float64Array(4 * 3 * 6 * 3), [4, 3, 6, 3]), undefined, { padding: 1 }));
  assert.throws(() => conv2d(x, array(new Float64Array(3 * 3), [3, 3])), /conv2d: expected weights of shape \[O, C, kh, kw\]/);
  assert.throws(() => conv2d(array(new Float64Array(15), [3, 5]), array(new Float64Array(9), [1, 1, 3, 3])), /conv2d: expected an input of shape \[N, C, H, W\]/);
  const w = array(new Float64Array(4 * 3 * 3 * 3), [4, 3, 3, 3]);
  assert.throws(() => conv2d(x, w, array(new Float64Array(3), [3])), /conv2d: expected a bias of shape \[4\]/);
  assert.throws(() => conv2d(x, w, undefined, { stride: 0 }), /conv2d: stride must be an integer >= 1/);
  assert.throws(() => conv2d(x, w, undefined, { padding: [1, -1] }), /conv2d: padding must be an integer >= 0/);
  assert.throws(() => conv2d(x, w, undefined, { dilation: [1.5, 1] }), /conv2d: dilation/);
  assert.throws(() => conv2d(x, array(new Float64Array(4 * 3 * 3 * 3), [4, 3, 3, 3], { dtype: 'FLOAT' })), /conv2d: input and weights differ in dtype/);
  assert.throws(() => col2im(array(new Float64Array(10), [1, 2, 5]), [2, 3, 5, 5], convGeometry(3)), /col2im: columns DOUBLE\[1, 2, 5\] do not match/);
});

// ---- pooling ------------------------------------------------------------------------------------

interface PoolCase {
  readonly name: string;
  readonly x: readonly number[];
  readonly kernel: number | [number, number];
  readonly stride?: number | [number, number];
  readonly padding?: number | [number, number];
  readonly dilation?: number | [number, number];
}

const POOLS: readonly PoolCase[] = [
  { name: '2x2 default stride', x: [2, 3, 6, 8], kernel: 2 },
  { name: '3x3 stride 2 pad 1 (overlapping)', x: [2, 2, 7, 6], kernel: 3, stride: 2, padding: 1 },
  { name: '3x2 stride 1 pad [1,0] dilation [2,1]', x: [1, 3, 8, 5], kernel: [3, 2], stride: 1, padding: [1, 0], dilation: [2, 1] },
  { name: 'global 5x4', x: [3, 2, 5, 4], kernel: [5, 4] },
];

function poolGeometry(p: PoolCase): Conv2dGeometry {
  return convGeometry(p.kernel, { stride: p.stride ?? p.kernel, padding: p.padding, dilation: p.dilation });
}

for (const p of POOLS) {
  for (const layout of LAYOUTS) {
    test(`maxPool2d ${p.name} (${layout}): values and gradient`, () => {
      const xr = randomRef(p.x, 41);
      const x = toNd(xr, layout).requireGrad();
      const y = maxPool2d(x, { kernel: p.kernel, stride: p.stride, padding: p.padding, dilation: p.dilation });
      const G = randomRef(y.shape, 42);
      const r = refPool('max', xr, poolGeometry(p), true, G);
      assertShape(y, r.y.shape);
      assertClose(flat(y), r.y.data, 0, 0, 'maxPool2d');
      y.backward(toNd(G, layout));
      assertClose(flat(x.grad!), r.dx.data, 1e-12, 1e-12, 'maxPool2d grad');
    });

    for (const countIncludePad of [true, false]) {
      test(`avgPool2d ${p.name} (${layout}, countIncludePad ${countIncludePad}): values and gradient`, () => {
        const xr = randomRef(p.x, 43);
        const x = toNd(xr, layout).requireGrad();
        const y = avgPool2d(x, { kernel: p.kernel, stride: p.stride, padding: p.padding, dilation: p.dilation, countIncludePad });
        const G = randomRef(y.shape, 44);
        const r = refPool('avg', xr, poolGeometry(p), countIncludePad, G);
        assertShape(y, r.y.shape);
        assertClose(flat(y), r.y.data, 1e-12, 1e-12, 'avgPool2d');
        y.backward(toNd(G));
        assertClose(flat(x.grad!), r.dx.data, 1e-12, 1e-12, 'avgPool2d grad');
      });
    }
  }
}

test('avgPool2d defaults to counting the padding; FLOAT works', () => {
  const xr = randomRef([1, 2, 5, 5], 51);
  const y: NDArray = avgPool2d(toNd(xr, 'sliced', 'FLOAT'), { kernel: 3, stride: 2, padding: 1 });
  assert.equal(y.dtype, 'FLOAT');
  assertClose(flat(y), refPool('avg', xr, convGeometry(3, { stride: 2, padding: 1 }), true).y.data, 1e-6, 1e-6, 'avgPool2d FLOAT');
});

test('pooling reports bad arguments clearly', () => {
  const x = array(new Float64Array(2 * 2 * 4 * 4), [2, 2, 4, 4]);
  assert.throws(() => maxPool2d(x, { kernel: 5 }), /maxPool2d: the 5x5 kernel .* larger than the padded input 4x4/);
  assert.throws(() => avgPool2d(x, { kernel: [2, 0] }), /avgPool2d: kernel must be an integer >= 1/);
  assert.throws(() => maxPool2d(array(new Float64Array(16), [4, 4]), { kernel: 2 }), /maxPool2d: expected an input of shape \[N, C, H, W\], got DOUBLE\[4, 4\]/);
  assert.throws(() => maxPool2d(array(new Int32Array(32), [2, 1, 4, 4]), { kernel: 2 }), /maxPool2d: expected a floating array/);
});
