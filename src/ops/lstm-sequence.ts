/**
 * A whole LSTM sequence (DL4J's LSTM, no peepholes) as ONE autograd node: from the input projections
 * of every step zx [T, N, 4H] (x_t W + b, computed outside in one matmul), the recurrent weights
 * rw [H, 4H] and the initial state h0, c0 [N, H] (null: zeros) to the output of every step
 * hs [T, N, H] and the final h and c [N, H]. Steps run first to last, or last to first with
 * `reverse` (each output still at its own step index).
 *
 * With a backend's fused cell (Backend.lstmCell) the loop calls the backend directly, about two
 * kernels a step each way and nothing recorded per step:
 *   forward   zh = h_prev RW (matmul into a scratch), then the cell writes hs[t], the cell states
 *             cs[t] and the activated gates[t] (saved for backward);
 *   backward  dh_t = dhs[t] + dz_{t+1} RW^T (matmul accumulating into a copy of dhs), then the cell's
 *             backward gives dz_t and dc_{t-1} (two buffers in turn); dRW = sum_t h_{t-1}^T dz_t as
 *             one matmul over all steps, plus h0^T dz of the first step.
 * Without one (or for activations given as functions, or a dtype it does not support) the steps are
 * composed from ops: the matmul and lstmCell of lstmStep, which the per-step layer code uses too.
 */
import type { Backend, TensorRef } from '../backend/backend.js';
import { recordOutputs } from '../autodiff/multi-output.js';
import { needsGrad } from '../autodiff/tape.js';
import type { NDArray } from '../ndarray/ndarray.js';
import { stack } from './join.js';
import { matmul } from './linalg.js';
import { checkCellFunctions, fusedCellFor, lstmCell, operand, type FusedCellChoice, type LstmCellOptions } from './lstm-cell.js';
import { unstack } from './unstack.js';
import { commonBackend, describe, emptyLike, outputLike, requireFloating } from './util.js';

export interface LstmSequenceOptions extends Pick<LstmCellOptions, 'activation' | 'gateActivation'> {
  /** Run the steps last to first (the backward half of a Bidirectional layer). */
  readonly reverse?: boolean;
}

export interface LstmSequence {
  /** [T, N, H]: the output of every step, at its own step index. */
  readonly hs: NDArray;
  /** [N, H]: h after the last step processed (the first step when reverse). */
  readonly h: NDArray;
  /** [N, H]: the cell state after the last step processed. */
  readonly c: NDArray;
}

/** One step from ops: h_{t-1} RW added to z inside lstmCell. hPrev/cPrev null: zeros. */
export function lstmStep(z: NDArray, hPrev: NDArray | null, cPrev: NDArray | null, rw: NDArray, options: Pick<LstmCellOptions, 'activation' | 'gateActivation'>): [h: NDArray, c: NDArray] {
  return lstmCell(z, cPrev, { activation: options.activation, gateActivation: options.gateActivation, recurrent: hPrev ? matmul(hPrev, rw) : null });
}

/** Whether lstmSequence runs as one node of backend kernels for these operands (else it composes steps from ops). */
export function lstmSequenceFused(backend: Backend, dtype: NDArray['dtype'], options: Pick<LstmCellOptions, 'activation' | 'gateActivation'>): boolean {
  return fusedCellFor(backend, dtype, options) !== null;
}

/** The LSTM over all steps of zx [T, N, 4H]; differentiable with respect to zx, rw, h0 and c0. */
export function lstmSequence(zx: NDArray, rw: NDArray, h0: NDArray | null, c0: NDArray | null, options: LstmSequenceOptions): LstmSequence {
  const op = 'lstmSequence';
  requireFloating(op, zx);
  if (zx.rank !== 3 || zx.shape[2]! % 4 !== 0 || zx.shape[0] === 0) {
    throw new Error(`${op}: expected pre-activations zx of shape [T, N, 4H] with T >= 1, got ${describe(zx)}`);
  }
  const [, n, width] = zx.shape as [number, number, number];
  const units = width / 4;
  const expect = (name: string, x: NDArray | null, shape: readonly number[]): void => {
    if (x && (x.dtype !== zx.dtype || x.rank !== 2 || x.shape[0] !== shape[0] || x.shape[1] !== shape[1])) {
      throw new Error(`${op}: expected ${name} of shape [${shape.join(', ')}] and dtype ${zx.dtype} for zx ${describe(zx)}, got ${describe(x)}`);
    }
  };
  expect('recurrent weights rw', rw, [units, width]);
  expect('h0', h0, [n, units]);
  expect('c0', c0, [n, units]);
  checkCellFunctions(op, options);
  const inputs = [zx, rw, ...(h0 ? [h0] : []), ...(c0 ? [c0] : [])];
  const fused = fusedCellFor(commonBackend(op, inputs), zx.dtype, options);
  return fused && zx.size > 0 ? fusedSequence(fused, inputs, zx, rw, h0, c0, options.reverse ?? false) : composedSequence(zx, rw, h0, c0, options);
}

/** The steps composed from ops (one lstmStep each): backends without a fused cell, custom activations. */
function composedSequence(zx: NDArray, rw: NDArray, h0: NDArray | null, c0: NDArray | null, options: LstmSequenceOptions): LstmSequence {
  const steps = unstack(zx, 0);
  const t = steps.length;
  const outs = new Array<NDArray>(t);
  let h = h0;
  let c = c0;
  for (let k = 0; k < t; k++) {
    const s = options.reverse ? t - 1 - k : k;
    [h, c] = lstmStep(steps[s]!, h, c, rw, options);
    outs[s] = h;
  }
  return { hs: stack(outs, 0), h: h!, c: c! };
}

/** Contiguous [rows, cols] views of one step (index `step`) of a packed [T, rows, cols] array, without NDArray handles. */
class Steps {
  private readonly shape: readonly number[];
  private readonly strides: readonly number[];
  constructor(private readonly x: NDArray, rows: number, private readonly cols: number) {
    this.shape = [rows, cols];
    this.strides = [cols, 1];
  }

  at(step: number): TensorRef {
    const { x } = this;
    return { buffer: x.buffer, dtype: x.dtype, offset: x.offset + step * this.shape[0]! * this.cols, shape: this.shape, strides: this.strides };
  }

  /** Steps [from, to) as one [(to - from) * rows, cols] matrix, or its transpose. */
  slab(from: number, to: number, transposed: boolean): TensorRef {
    const { x, cols } = this;
    const rows = (to - from) * this.shape[0]!;
    return {
      buffer: x.buffer, dtype: x.dtype, offset: x.offset + from * this.shape[0]! * cols,
      shape: transposed ? [cols, rows] : [rows, cols], strides: transposed ? [1, cols] : [cols, 1],
    };
  }
}

/** The transpose of a 2-D view, as a kernel operand. */
function transposed(x: TensorRef): TensorRef {
  return { buffer: x.buffer, dtype: x.dtype, offset: x.offset, shape: [x.shape[1]!, x.shape[0]!], strides: [x.strides[1]!, x.strides[0]!] };
}

function fusedSequence(
  fused: FusedCellChoice, inputs: readonly NDArray[], zxIn: NDArray, rw: NDArray, h0: NDArray | null, c0In: NDArray | null, reverse: boolean,
): LstmSequence {
  const { cell, activation, gate } = fused;
  const backend = zxIn.backend;
  const [t, n, width] = zxIn.shape as [number, number, number];
  const units = width / 4;
  // The step read k-th (k = 0 first).
  const stepOf = (k: number): number => (reverse ? t - 1 - k : k);
  const zx = operand(zxIn, zxIn);
  const c0 = c0In ? operand(c0In, zxIn) : null;
  const hs = outputLike(zxIn, [t, n, units]);
  const cs = outputLike(zxIn, [t, n, units]);
  const gates = outputLike(zxIn, [t, n, width]);
  const zSteps = new Steps(zx, n, width);
  const hSteps = new Steps(hs, n, units);
  const cSteps = new Steps(cs, n, units);
  const gSteps = new Steps(gates, n, width);
  const zh = t > 1 || h0 ? outputLike(zxIn, [n, width]) : null;
  for (let k = 0; k < t; k++) {
    const s = stepOf(k);
    const hPrev = k > 0 ? hSteps.at(stepOf(k - 1)) : h0;
    const cPrev = k > 0 ? cSteps.at(stepOf(k - 1)) : c0;
    if (hPrev) backend.matmul(hPrev, rw, zh!, 1, 0);
    cell.forward(zSteps.at(s), hPrev ? zh : null, cPrev, hSteps.at(s), cSteps.at(s), gSteps.at(s), activation, gate);
  }
  const last = stepOf(t - 1);
  const h = hs.view([n, units], [units, 1], hs.offset + last * n * units);
  const c = cs.view([n, units], [units, 1], cs.offset + last * n * units);
  if (needsGrad(inputs)) {
    const saved = [rw, cs, gates, hs, ...(h0 ? [h0] : []), ...(c0 ? [c0] : [])];
    recordOutputs([hs, h, c], 'lstmSequence', inputs, saved, ([ghs, gh, gc], values, needs) => {
      const [rwS, csS, gatesS, hsS] = values as [NDArray, NDArray, NDArray, NDArray];
      const h0S = h0 ? values[4]! : null;
      const c0S = c0 ? values[h0 ? 5 : 4]! : null;
      // RW^T packed once: every step's matmul then reads its rows in order (a strided transpose is repacked per call on the CPU).
      const rwT = operandCopy(rwS.transpose(), zxIn);
      const cStepsS = new Steps(csS, n, units);
      const gStepsS = new Steps(gatesS, n, width);
      // dh of every step: a copy of the outputs' gradient (zeros without one) that the recurrent part accumulates into.
      const dh = ghs ? operandCopy(ghs, zxIn) : emptyLike(zxIn, [t, n, units]);
      const dhSteps = new Steps(dh, n, units);
      if (gh) backend.binary('add', dhSteps.at(last), operand(gh, zxIn), dhSteps.at(last));
      const dz = outputLike(zxIn, [t, n, width]);
      const dzSteps = new Steps(dz, n, width);
      const dcBuffers = t > 1 ? [outputLike(zxIn, [n, units]), outputLike(zxIn, [n, units])] : [];
      const wantC0 = c0S !== null && needs[inputs.length - 1] === true;
      const dc0 = wantC0 ? outputLike(zxIn, [n, units]) : null;
      let dcNext: TensorRef | null = gc ? operand(gc, zxIn) : null;
      for (let k = t - 1; k >= 0; k--) {
        const s = stepOf(k);
        if (k < t - 1) backend.matmul(dzSteps.at(stepOf(k + 1)), rwT, dhSteps.at(s), 1, 1);
        const cPrev = k > 0 ? cStepsS.at(stepOf(k - 1)) : c0S;
        const dcPrev = k > 0 ? dcBuffers[k % 2]! : dc0;
        cell.backward(gStepsS.at(s), cPrev, cStepsS.at(s), dhSteps.at(s), dcNext, dzSteps.at(s), dcPrev, activation, gate);
        dcNext = dcPrev;
      }
      let drw: NDArray | null = null;
      if (needs[1]) {
        // h_{t-1} of every step but the first read sits one step before (after, when reverse) it in hs.
        drw = t > 1 || h0S ? outputLike(zxIn, [units, width]) : emptyLike(zxIn, [units, width]);
        const hStepsS = new Steps(hsS, n, units);
        if (t > 1) {
          const [hFrom, zFrom] = reverse ? [1, 0] : [0, 1];
          backend.matmul(hStepsS.slab(hFrom, hFrom + t - 1, true), dzSteps.slab(zFrom, zFrom + t - 1, false), drw, 1, 0);
        }
        if (h0S) backend.matmul(transposed(h0S), dzSteps.at(stepOf(0)), drw, 1, t > 1 ? 1 : 0);
      }
      let dh0: NDArray | null = null;
      if (h0S && needs[2]) {
        dh0 = outputLike(zxIn, [n, units]);
        backend.matmul(dzSteps.at(stepOf(0)), rwT, dh0, 1, 0);
      }
      return [dz, drw, ...(h0 ? [dh0] : []), ...(c0 ? [dc0] : [])];
    });
  }
  zh?.close();
  if (zx !== zxIn) zx.close();
  if (c0 && c0 !== c0In) c0.close();
  // The final c and the saved values hold their own references.
  cs.close();
  gates.close();
  return { hs, h, c };
}

/** A new contiguous copy of x in `like`'s dtype (written in place by the caller). */
function operandCopy(x: NDArray, like: NDArray): NDArray {
  const out = outputLike(like, x.shape);
  x.backend.unary('identity', x, out);
  return out;
}
