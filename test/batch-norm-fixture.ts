/**
 * Batch normalization in training mode checked against float64 references computed here from the
 * same (dtype-rounded) inputs: shared by the CPU test of the composed ops and the GPU test of the
 * fused kernels.
 */
import assert from 'node:assert/strict';
import { array, batchNormTraining, gradCheck, mul, ones, scope, sum, zeros, type Backend, type DataType, type NDArray } from '../src/index.js';
import { assertNearValues, Rng } from './helpers.js';

/** Allowed |got - want| per unit of max(1, |want|) (per unit of the largest |want| for sums over a channel). */
export const TOLERANCE: Record<string, number> = { DOUBLE: 1e-11, FLOAT: 2e-5, HALF: 2e-3, BFLOAT16: 1.6e-2 };
export const EPS = 1e-5;
export const DECAY = 0.9;

export interface Case {
  readonly name: string;
  readonly shape: readonly number[];
  /** Axes order of a permuted (strided) x; absent: packed. */
  readonly permute?: readonly number[];
  readonly offset?: number;
}

export const CASES: readonly Case[] = [
  { name: 'features [N, C]', shape: [33, 5] },
  { name: 'sequence [N, C, T]', shape: [4, 3, 7] },
  { name: 'image [N, C, H, W]', shape: [6, 4, 9, 11] },
  { name: 'image with many values per channel', shape: [64, 2, 32, 33] },
  { name: 'strided image (NHWC storage)', shape: [3, 5, 4, 6], permute: [0, 3, 1, 2] },
  { name: 'values far from zero (mean 300, std 1)', shape: [8, 3, 5, 5], offset: 300 },
];

/** Batch normalization in float64 over x [N, C, ...] (row-major values), per channel. */
export function reference(shape: readonly number[], v: { x: number[]; gamma: number[]; beta: number[]; runningMean: number[]; runningVar: number[]; dy: number[] }) {
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
export function run(backend: Backend, dtype: DataType, c: Case) {
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

/** Runs case `c` on `backend` in `dtype` and compares every result with the float64 reference. */
export function checkBatchNorm(backend: Backend, dtype: DataType, c: Case): void {
  const { inputs, got } = run(backend, dtype, c);
  const want = reference(c.shape, inputs);
  const tol = TOLERANCE[dtype]!;
  for (const k of ['y', 'runningMean', 'runningVar', 'dx'] as const) assertNearValues(want[k], got[k], tol, `${dtype} ${c.name} ${k}`);
  for (const k of ['dgamma', 'dbeta'] as const) {
    // Sums over a channel: compared relative to their largest magnitude.
    const scale = want[k].reduce((a, v) => Math.max(a, Math.abs(v)), 1);
    assertNearValues(want[k].map((v) => v / scale), got[k].map((v) => v / scale), tol, `${dtype} ${c.name} ${k}`);
  }
}

/** DOUBLE gradients of x [N, 4, ...shape], gamma and beta on `backend` against central differences. */
export function checkBatchNormGradients(backend: Backend, spatial: readonly number[]): void {
  const rng = new Rng(5);
  const opts = { dtype: 'DOUBLE' as const, backend };
  const shape = [3, 4, ...spatial];
  const x = array(Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => rng.uniform(-2, 2)), shape, opts);
  const gamma = array([0.7, 1.3, -0.4, 1], [4], opts);
  const beta = array([0.1, -0.2, 0.3, 0], [4], opts);
  const result = gradCheck((xs: NDArray, g: NDArray, b: NDArray) =>
    batchNormTraining(xs, g, b, { eps: EPS, decay: DECAY, runningMean: zeros([4], opts), runningVar: ones([4], opts) }), [x, gamma, beta]);
  assert.ok(result.passed, `max relative error ${result.maxRelError}`);
  [x, gamma, beta].forEach((t) => t.close());
}
