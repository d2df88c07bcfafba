/**
 * What the LSTM tests share, CPU and GPU alike: putting a FusedLstmCell (a counting spy, a stand-in
 * or none) in place of a backend's own; one step's random inputs and its float64 reference per case
 * (test/lstm-reference.ts); labelled sequences for LSTM networks and their DOUBLE score and gradients.
 */
import assert from 'node:assert/strict';
import { array, DataSet, MultiLayerNetwork, type Backend, type NeuralNetConfiguration } from '../src/index.js';
import type { FusedLstmCell } from '../src/backend/backend.js';
import { Rng, assertNearValues } from './helpers.js';
import { lstmCellReference, type CellKind, type CellReference } from './lstm-reference.js';

// ---- backend hooks ----

/**
 * Runs fn with `backend[key]` shadowed by `value`, an own property over the one the backend's class
 * defines, which deleting it afterwards brings back.
 */
export function withBackendMember<K extends keyof Backend, T>(backend: Backend, key: K, value: Backend[K], fn: () => T): T {
  Object.defineProperty(backend, key, { value, configurable: true });
  try {
    return fn();
  } finally {
    Reflect.deleteProperty(backend, key);
  }
}

export interface CellCalls {
  forward: number;
  backward: number;
}

/** Runs fn with a FusedLstmCell on `backend` that counts the calls it passes on to the backend's own. */
export function countingLstmCell<T>(backend: Backend, fn: (calls: CellCalls) => T): T {
  const real = backend.lstmCell;
  assert.ok(real, `the ${backend.name} backend has a fused LSTM cell`);
  const calls: CellCalls = { forward: 0, backward: 0 };
  const spy: FusedLstmCell = {
    supports: (dtype) => real.supports(dtype),
    forward: (...args) => {
      calls.forward++;
      real.forward(...args);
    },
    backward: (...args) => {
      calls.backward++;
      real.backward(...args);
    },
  };
  return withBackendMember(backend, 'lstmCell', spy, () => fn(calls));
}

// ---- one step ----

export interface CellCase {
  readonly name: string;
  readonly act: CellKind;
  readonly gate: CellKind;
  readonly withPrev: boolean;
  readonly withRecurrent: boolean;
  /** Which outputs the loss reads: the output gradients backward receives. */
  readonly loss: 'h' | 'c' | 'both';
}

/** One step's operands, row-major: zx and zh [N, 4H], cPrev [N, H], and wh, wc [N, H], the loss's weights on h and c (its gradients there). */
export interface CellValues {
  readonly zx: readonly number[];
  readonly zh: readonly number[];
  readonly cPrev: readonly number[];
  readonly wh: readonly number[];
  readonly wc: readonly number[];
}

export function cellValues(n: number, units: number, seed: number): CellValues {
  const rng = new Rng(seed);
  const vec = (len: number, lo: number, hi: number): number[] => Array.from({ length: len }, () => rng.uniform(lo, hi));
  // Pre-activations up to +-4 reach hardsigmoid's flat parts too.
  return { zx: vec(4 * n * units, -3, 3), zh: vec(4 * n * units, -1, 1), cPrev: vec(n * units, -2, 2), wh: vec(n * units, -1, 1), wc: vec(n * units, -1, 1) };
}

/** The float64 step for case c from `v` (the operands the case leaves out are not read). */
export function cellReference(c: CellCase, n: number, units: number, v: CellValues): CellReference {
  const z = c.withRecurrent ? v.zx.map((x, i) => x + v.zh[i]!) : v.zx;
  return lstmCellReference(z, c.withPrev ? v.cPrev : null, n, units, c.act, c.gate, c.loss === 'c' ? null : v.wh, c.loss === 'h' ? null : v.wc);
}

/** A kernel's step against the reference: h, c, dz, and the gradients of the recurrent part and cPrev where computed. */
export function assertCellNear(
  want: CellReference, got: { h: number[]; c: number[]; dz: number[]; dzh: number[] | null; dcPrev: number[] | null }, tol: number, what: string,
): void {
  assertNearValues(want.h, got.h, tol, `${what} h`);
  assertNearValues(want.c, got.c, tol, `${what} c`);
  assertNearValues(want.dz, got.dz, tol, `${what} dz`);
  if (got.dzh) assertNearValues(want.dz, got.dzh, tol, `${what} d recurrent`);
  if (got.dcPrev) assertNearValues(want.dcPrev, got.dcPrev, tol, `${what} dcPrev`);
}

// ---- networks ----

export interface LabelledSequences {
  readonly x: number[];
  readonly xShape: number[];
  readonly y: number[];
  readonly yShape: number[];
}

/**
 * Sequences [N, 3, T] labelled per step by the sign of a running sum of the first feature: [N, 2, T]
 * ('seq'), or the last step's label [N, 2] ('last').
 */
export function labelledSequences(n: number, t: number, seed: number, kind: 'seq' | 'last' = 'seq'): LabelledSequences {
  const rng = new Rng(seed);
  const x = Array.from({ length: n * 3 * t }, () => rng.uniform(-1, 1));
  const y = new Array<number>(kind === 'seq' ? n * 2 * t : n * 2).fill(0);
  for (let i = 0; i < n; i++) {
    let run = 0;
    for (let s = 0; s < t; s++) {
      run += x[i * 3 * t + s]!;
      const cls = run > 0 ? 0 : 1;
      if (kind === 'seq') y[i * 2 * t + cls * t + s] = 1;
      else if (s === t - 1) y[i * 2 + cls] = 1;
    }
  }
  return { x, xShape: [n, 3, t], y, yShape: kind === 'seq' ? [n, 2, t] : [n, 2] };
}

export interface ScoreAndGradients {
  readonly score: number;
  readonly grads: number[];
}

/** A new network's DOUBLE score and parameter gradients (flattened in order) on `data`, on the default backend. */
export function doubleScoreAndGradients(conf: NeuralNetConfiguration, data: LabelledSequences): ScoreAndGradients {
  const net = new MultiLayerNetwork(conf).init();
  const ds = new DataSet(array(data.x, data.xShape, { dtype: 'DOUBLE' }), array(data.y, data.yShape, { dtype: 'DOUBLE' }));
  const score = net.computeGradientAndScore(ds);
  const grads = [...net.gradient().values()].flatMap((g) => g.toFlatArray());
  ds.close();
  net.close();
  return { score, grads };
}

/** DOUBLE score and gradients of the same network on two backends agree to a few roundings. */
export function assertSameScoreAndGradients(want: ScoreAndGradients, got: ScoreAndGradients): void {
  assertNearValues([want.score], [got.score], 1e-9, 'score');
  assertNearValues(want.grads, got.grads, 1e-8, 'gradient');
}
