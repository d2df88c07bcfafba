/**
 * The fused batch-normalization kernels of the CUDA backend against float64 references computed
 * here from the same (dtype-rounded) inputs: outputs, running statistics and the gradients of x,
 * gamma and beta, in every float dtype, for feature, sequence and image inputs, strided x, and a
 * large mean offset (the shifted sums). A DOUBLE gradient check on the GPU itself, and a batch-
 * normalized CNN trained on CUDA with flat device memory. Skips without a GPU.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  array, backendByName, batchNormTraining, DataSet, gradCheck, MultiLayerNetwork, mul, scope, sum, zeros, ones,
  type Backend, type DataType, type NDArray,
} from '../../src/index.js';
import { Rng } from '../helpers.js';
import { assertFlatDeviceMemory, assertNearValues, gpu, onBackend } from './gpu-env.js';

/** Allowed |got - want| per unit of max(1, |want|) (per unit of the largest |want| for sums over a channel). */
const TOLERANCE: Record<string, number> = { DOUBLE: 1e-11, FLOAT: 2e-5, HALF: 2e-3, BFLOAT16: 1.6e-2 };
const EPS = 1e-5;
const DECAY = 0.9;

interface Case {
  readonly name: string;
  readonly shape: readonly number[];
  /** Axes order of a permuted (strided) x; absent: packed. */
  readonly permute?: readonly number[];
  readonly offset?: number;
}

const CASES: readonly Case[] = [
  { name: 'features [N, C]', shape: [33, 5] },
  { name: 'sequence [N, C, T]', shape: [4, 3, 7] },
  { name: 'image [N, C, H, W]', shape: [6, 4, 9, 11] },
  { name: 'image with many values per channel', shape: [64, 2, 32, 33] },
  { name: 'strided image (NHWC storage)', shape: [3, 5, 4, 6], permute: [0, 3, 1, 2] },
  { name: 'values far from zero (mean 300, std 1)', shape: [8, 3, 5, 5], offset: 300 },
];

/** Batch normalization in float64 over x [N, C, ...] (row-major values), per channel. */
function reference(shape: readonly number[], v: { x: number[]; gamma: number[]; beta: number[]; runningMean: number[]; runningVar: number[]; dy: number[] }) {
  const [n, c] = shape as [number, number];
  const s = v.x.length / (n * c);
  const m = n * s;
  const at = (ch: number, k: number): number => (Math.floor(k / s) * c + ch) * s + (k % s);
  const y = new Array<number>(v.x.length);
  const dx = new Array<number>(v.x.length);
  const out = { y, dx, runningMean: [] as number[], runningVar: [] as number[], dgamma: [] as number[], dbeta: [] as number[] };
  for (let ch = 0; ch < c; ch++) {
    let mean = 0;
    for (let k = 0; k < m; k++) mean += v.x[at(ch, k)]!;
    mean /= m;
    let variance = 0;
    for (let k = 0; k < m; k++) variance += (v.x[at(ch, k)]! - mean) ** 2;
    variance /= m;
    const invStd = 1 / Math.sqrt(variance + EPS);
    let sumDy = 0;
    let sumDyXhat = 0;
    for (let k = 0; k < m; k++) {
      const i = at(ch, k);
      const xhat = (v.x[i]! - mean) * invStd;
      y[i] = xhat * v.gamma[ch]! + v.beta[ch]!;
      sumDy += v.dy[i]!;
      sumDyXhat += v.dy[i]! * xhat;
    }
    for (let k = 0; k < m; k++) {
      const i = at(ch, k);
      const xhat = (v.x[i]! - mean) * invStd;
      dx[i] = v.gamma[ch]! * invStd * (v.dy[i]! - sumDy / m - xhat * (sumDyXhat / m));
    }
    out.runningMean.push(DECAY * v.runningMean[ch]! + (1 - DECAY) * mean);
    out.runningVar.push(DECAY * v.runningVar[ch]! + (1 - DECAY) * variance);
    out.dbeta.push(sumDy);
    out.dgamma.push(sumDyXhat);
  }
  return out;
}

/** Runs batchNormTraining forward and backward on `backend`; the inputs as stored and every result read back as numbers. */
function run(backend: Backend, dtype: DataType, c: Case) {
  const rng = new Rng(11);
  const storageShape = c.permute ? c.permute.map((a) => c.shape[a]!) : [...c.shape];
  const size = c.shape.reduce((a, d) => a * d, 1);
  const channels = c.shape[1]!;
  const xv = Array.from({ length: size }, () => (c.offset ?? 0) + rng.uniform(-2, 2));
  const gv = Array.from({ length: channels }, () => rng.uniform(0.5, 1.5));
  const bv = Array.from({ length: channels }, () => rng.uniform(-0.5, 0.5));
  const rm = Array.from({ length: channels }, () => rng.uniform(-1, 1));
  const rvar = Array.from({ length: channels }, () => rng.uniform(0.5, 2));
  const dyv = Array.from({ length: size }, () => rng.uniform(-1, 1));
  return scope(() => {
    const opts = { dtype, backend };
    const stored = array(xv, storageShape, opts);
    const inverse = c.permute ? c.permute.map((_, i) => c.permute!.indexOf(i)) : null;
    const x = (inverse ? stored.permute(inverse) : stored).requireGrad();
    const gamma = array(gv, [channels], opts).requireGrad();
    const beta = array(bv, [channels], opts).requireGrad();
    const runningMean = array(rm, [channels], opts);
    const runningVar = array(rvar, [channels], opts);
    const dy = array(dyv, c.shape, opts);
    const inputs = { x: x.toFlatArray(), gamma: gamma.toFlatArray(), beta: beta.toFlatArray(), runningMean: runningMean.toFlatArray(), runningVar: runningVar.toFlatArray(), dy: dy.toFlatArray() };
    const y = batchNormTraining(x, gamma, beta, { eps: EPS, decay: DECAY, runningMean, runningVar });
    sum(mul(y, dy)).backward();
    return {
      inputs,
      got: {
        y: y.toFlatArray(), runningMean: runningMean.toFlatArray(), runningVar: runningVar.toFlatArray(),
        dx: x.grad!.toFlatArray(), dgamma: gamma.grad!.toFlatArray(), dbeta: beta.grad!.toFlatArray(),
      },
    };
  });
}

describe('fused batch normalization on the GPU', () => {
  if ('skip' in gpu) {
    test(`GPU batch-normalization tests (${gpu.skip})`, { skip: gpu.skip }, () => {});
    return;
  }
  const cuda = gpu.cuda;
  test('the CUDA backend has the fused kernels and the CPU composes the op', () => {
    const cpu = backendByName('cpu');
    assert.ok(cuda.batchNorm?.supports('HALF'));
    assert.equal(cpu.batchNorm ?? null, null);
  });

  for (const dtype of ['DOUBLE', 'FLOAT', 'HALF', 'BFLOAT16'] as const) {
    for (const c of CASES) {
      test(`${dtype} ${c.name}: output, running statistics and gradients equal a float64 reference`, () => {
        const { inputs, got } = run(cuda, dtype, c);
        const want = reference(c.shape, inputs);
        const tol = TOLERANCE[dtype]!;
        for (const k of ['y', 'runningMean', 'runningVar', 'dx'] as const) assertNearValues(want[k], got[k], tol, `${dtype} ${c.name} ${k}`);
        for (const k of ['dgamma', 'dbeta'] as const) {
          // Sums over a channel: compared relative to their largest magnitude.
          const scale = want[k].reduce((a, v) => Math.max(a, Math.abs(v)), 1);
          assertNearValues(want[k].map((v) => v / scale), got[k].map((v) => v / scale), tol, `${dtype} ${c.name} ${k}`);
        }
      });
    }
  }

  test('DOUBLE gradient check of the fused kernels against central differences on the GPU', () => {
    const rng = new Rng(5);
    const opts = { dtype: 'DOUBLE' as const, backend: cuda };
    const x = array(Array.from({ length: 3 * 4 * 2 * 3 }, () => rng.uniform(-2, 2)), [3, 4, 2, 3], opts);
    const gamma = array([0.7, 1.3, -0.4, 1], [4], opts);
    const beta = array([0.1, -0.2, 0.3, 0], [4], opts);
    const result = gradCheck((xs: NDArray, g: NDArray, b: NDArray) =>
      batchNormTraining(xs, g, b, { eps: 1e-5, decay: 0.9, runningMean: zeros([4], opts), runningVar: ones([4], opts) }), [x, gamma, beta]);
    assert.ok(result.passed, `max relative error ${result.maxRelError}`);
    [x, gamma, beta].forEach((t) => t.close());
  });

  test('bad operands of the fused kernels get errors naming the shapes', () => {
    const opts = { dtype: 'FLOAT' as const, backend: cuda };
    scope(() => {
      const x = zeros([2, 3, 4], opts);
      const y = zeros([2, 3, 4], opts);
      const stats = zeros([3], opts);
      assert.throws(() => cuda.batchNorm!.forwardTraining(x, zeros([4], opts), stats, y, stats, stats, stats, stats, 1e-5, 0.9),
        /batchNorm forward: gamma FLOAT\[4\] must be FLOAT\[3\]/);
      assert.throws(() => cuda.batchNorm!.forwardTraining(x, stats, stats, zeros([2, 3, 5], opts), stats, stats, stats, stats, 1e-5, 0.9),
        /batchNorm forward: y FLOAT\[2, 3, 5\] must be FLOAT\[2, 3, 4\]/);
      assert.throws(() => batchNormTraining(x, zeros([2], opts), stats, { eps: 1e-5, decay: 0.9, runningMean: stats, runningVar: stats }),
        /batchNormTraining: expected gamma of shape \[3\]/);
    });
  });

  test('FLOAT: a batch-normalized CNN trains on CUDA with flat device memory', () => {
    const rng = new Rng(9);
    const n = 32;
    const xs = Array.from({ length: n * 2 * 8 * 8 }, () => rng.uniform(-1, 1));
    const ys = Array.from({ length: n }, (_, i) => (xs[i * 128]! + xs[i * 128 + 70]! > 0 ? [1, 0] : [0, 1]));
    onBackend(cuda, () => {
      const net = new MultiLayerNetwork({
        seed: 3, updater: { type: 'adam', learningRate: 0.01 }, weightInit: 'RELU',
        inputType: { type: 'convolutional', height: 8, width: 8, channels: 2 },
        layers: [
          { type: 'convolution2d', nOut: 8, kernelSize: 3, activation: 'identity' },
          { type: 'batchNormalization' },
          { type: 'activation', activation: 'relu' },
          { type: 'globalPooling', poolingType: 'avg' },
          { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
        ],
      }).init();
      const ds = new DataSet(array(xs, [n, 2, 8, 8]), array(ys.flat(), [n, 2]));
      const first = net.score(ds);
      for (let i = 0; i < 5; i++) net.fit(ds);
      assertFlatDeviceMemory(cuda, () => {
        for (let i = 0; i < 35; i++) net.fit(ds);
      });
      assert.ok(net.score(ds) < 0.8 * first, `score ${first} -> ${net.score(ds)}`);
      ds.close();
      net.close();
    });
  });
});
