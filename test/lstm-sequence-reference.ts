/**
 * A whole LSTM sequence in float64 plain JS, forward and backward through time, chaining the
 * one-step oracle of test/lstm-reference.ts: the reference of the lstmSequence tests. Arrays are
 * row-major number[]: zx [T, N, 4H], rw [H, 4H], h0/c0 [N, H] (null: zeros).
 */
import { lstmCellReference, type CellKind } from './lstm-reference.js';

export interface SequenceInputs {
  readonly t: number;
  readonly n: number;
  readonly units: number;
  readonly zx: readonly number[];
  readonly rw: readonly number[];
  readonly h0: readonly number[] | null;
  readonly c0: readonly number[] | null;
}

/** The loss sum(hs * whs) + sum(h * wh) + sum(c * wc), each term present when its weights are. */
export interface SequenceLoss {
  readonly whs: readonly number[] | null;
  readonly wh: readonly number[] | null;
  readonly wc: readonly number[] | null;
}

export interface SequenceReference {
  readonly hs: number[];
  readonly h: number[];
  readonly c: number[];
  readonly dzx: number[];
  readonly drw: number[];
  readonly dh0: number[];
  readonly dc0: number[];
}

/** a [rows, k] times b [k, cols] (bT: b given as [cols, k]). */
function matmulRef(a: readonly number[], b: readonly number[], rows: number, k: number, cols: number, bT = false): number[] {
  const out = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p]! * (bT ? b[j * k + p]! : b[p * cols + j]!);
      out[i * cols + j] = s;
    }
  }
  return out;
}

export function lstmSequenceReference(v: SequenceInputs, act: CellKind, gate: CellKind, reverse: boolean, loss: SequenceLoss): SequenceReference {
  const { t, n, units } = v;
  const w = 4 * units;
  const stepOf = (k: number): number => (reverse ? t - 1 - k : k);
  const zeros = (len: number): number[] => new Array<number>(len).fill(0);
  const hs: number[][] = new Array<number[]>(t);
  const cs: number[][] = new Array<number[]>(t);
  const zs: number[][] = new Array<number[]>(t);
  const hPrevOf = (k: number): number[] | null => (k > 0 ? hs[stepOf(k - 1)]! : v.h0 ? [...v.h0] : null);
  const cPrevOf = (k: number): number[] | null => (k > 0 ? cs[stepOf(k - 1)]! : v.c0 ? [...v.c0] : null);
  for (let k = 0; k < t; k++) {
    const s = stepOf(k);
    const hPrev = hPrevOf(k);
    const rec = hPrev ? matmulRef(hPrev, v.rw, n, units, w) : zeros(n * w);
    const z = Array.from({ length: n * w }, (_, i) => v.zx[s * n * w + i]! + rec[i]!);
    const r = lstmCellReference(z, cPrevOf(k), n, units, act, gate, null, null);
    zs[s] = z;
    hs[s] = r.h;
    cs[s] = r.c;
  }
  const last = stepOf(t - 1);
  const dzx = zeros(t * n * w);
  const drw = zeros(units * w);
  let dh0 = zeros(n * units);
  let dc0 = zeros(n * units);
  let dzNext: number[] | null = null;
  let dcNext: number[] | null = loss.wc ? [...loss.wc] : null;
  for (let k = t - 1; k >= 0; k--) {
    const s = stepOf(k);
    const dh = loss.whs ? loss.whs.slice(s * n * units, (s + 1) * n * units) : zeros(n * units);
    if (k === t - 1 && loss.wh) loss.wh.forEach((x, i) => (dh[i] += x));
    if (dzNext) matmulRef(dzNext, v.rw, n, w, units, true).forEach((x, i) => (dh[i] += x));
    const cPrev = cPrevOf(k);
    const r = lstmCellReference(zs[s]!, cPrev, n, units, act, gate, dh, dcNext);
    r.dz.forEach((x, i) => (dzx[s * n * w + i] = x));
    const hPrev = hPrevOf(k);
    if (hPrev) {
      // dRW += hPrev^T dz
      for (let p = 0; p < units; p++) for (let j = 0; j < w; j++) for (let i = 0; i < n; i++) drw[p * w + j] += hPrev[i * units + p]! * r.dz[i * w + j]!;
    }
    if (k === 0) {
      dh0 = matmulRef(r.dz, v.rw, n, w, units, true);
      dc0 = r.dcPrev;
    }
    dzNext = r.dz;
    dcNext = r.dcPrev;
  }
  return { hs: hs.flat(), h: hs[last]!, c: cs[last]!, dzx, drw, dh0, dc0 };
}
