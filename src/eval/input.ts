/**
 * Reading evaluation inputs back to JavaScript: evaluation returns numbers, so (unlike a training
 * step) it copies labels, predictions and masks to float64 rows once per batch and counts in JS.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { formatShape } from '../ndarray/shape.js';

/** A row-major float64 matrix: one row per example (or per time step of a sequence). */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly values: Float64Array;
}

/** Labels and predictions of one batch as matching matrices, with the mask resolved. */
export interface EvalBatch {
  readonly labels: Matrix;
  readonly predictions: Matrix;
  /** Per-row weight 0/1 (null: every row counts). */
  readonly rowMask: Uint8Array | null;
  /** Per-output 0/1 mask, rows × cols (null: none). Only where the caller allows per-output masks. */
  readonly outputMask: Uint8Array | null;
}

function describe(a: NDArray): string {
  return `${a.dtype}${formatShape(a.shape)}`;
}

/**
 * [N] → N×1, [N, C] as is, [N, C, T] (DL4J's time-series layout) → (N·T)×C with row n·T + t, so
 * every time step is one example.
 */
export function toMatrix(op: string, what: string, a: NDArray): Matrix {
  const flat = a.toFlatArray();
  if (a.rank === 1) return { rows: a.shape[0]!, cols: 1, values: Float64Array.from(flat) };
  if (a.rank === 2) return { rows: a.shape[0]!, cols: a.shape[1]!, values: Float64Array.from(flat) };
  if (a.rank === 3) {
    const [n, c, t] = a.shape as [number, number, number];
    const values = new Float64Array(n * c * t);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < c; j++) {
        for (let k = 0; k < t; k++) values[(i * t + k) * c + j] = flat[(i * c + j) * t + k]!;
      }
    }
    return { rows: n * t, cols: c, values };
  }
  throw new Error(`${op}: ${what} must have rank 1, 2 or 3 ([N], [N, C] or time series [N, C, T]), got ${describe(a)}`);
}

/**
 * Resolves a mask against the batch's labels: [N] or [N, 1] (per example), [N, T] for time series
 * [N, C, T] (per step), or [N, C] (per output, where `allowOutputMask`). Non-zero means "counts".
 */
function resolveMask(op: string, mask: NDArray, labels: NDArray, rows: number, cols: number, allowOutputMask: boolean): { row: Uint8Array | null; output: Uint8Array | null } {
  const flat = mask.toFlatArray();
  const bits = Uint8Array.from(flat, (v) => (v !== 0 ? 1 : 0));
  const ls = labels.shape;
  if (labels.rank === 3) {
    if (mask.rank === 2 && mask.shape[0] === ls[0] && mask.shape[1] === ls[2]) return { row: bits, output: null };
  } else if (mask.size === rows && (mask.rank === 1 || (mask.rank === 2 && mask.shape[1] === 1))) {
    return { row: bits, output: null };
  } else if (allowOutputMask && mask.rank === 2 && mask.shape[0] === rows && mask.shape[1] === cols) {
    return { row: null, output: bits };
  }
  const expected = labels.rank === 3 ? `[${ls[0]}, ${ls[2]}]` : `[${rows}] or [${rows}, 1]${allowOutputMask ? ` or [${rows}, ${cols}]` : ''}`;
  throw new Error(`${op}: mask ${describe(mask)} does not fit labels ${describe(labels)}; expected ${expected}`);
}

/** Reads one batch, checking that labels and predictions agree in shape. */
export function readBatch(op: string, labels: NDArray, predictions: NDArray, mask: NDArray | undefined, allowOutputMask: boolean): EvalBatch {
  if (labels.rank !== predictions.rank || labels.shape.some((d, i) => d !== predictions.shape[i])) {
    throw new Error(`${op}: labels ${describe(labels)} and predictions ${describe(predictions)} must have the same shape`);
  }
  const l = toMatrix(op, 'labels', labels);
  const p = toMatrix(op, 'predictions', predictions);
  if (!mask) return { labels: l, predictions: p, rowMask: null, outputMask: null };
  const m = resolveMask(op, mask, labels, l.rows, l.cols, allowOutputMask);
  return { labels: l, predictions: p, rowMask: m.row, outputMask: m.output };
}

/** Java's `%.<digits>e`: at least two exponent digits ("1.50000e-01", not JS's "1.50000e-1"). */
export function formatExp(v: number, digits: number): string {
  if (!Number.isFinite(v)) return String(v);
  const s = v.toExponential(digits);
  const [mant, exp] = s.split('e') as [string, string];
  const sign = exp.startsWith('-') ? '-' : '+';
  const mag = exp.replace(/^[-+]/, '');
  return `${mant}e${sign}${mag.padStart(2, '0')}`;
}
