/**
 * The elementwise part of one LSTM step (DL4J's LSTMHelpers, no peepholes): from the [N, 4H]
 * pre-activations z (plus the recurrent part h_{t-1} RW when given) in DL4J's block order
 * (a, f, o, g) and the previous cell state to the new [h, c]:
 *   a = activation(z_a), f = gate(z_f), o = gate(z_o), g = gate(z_g)
 *   c = f * cPrev + g * a  (no cPrev: g * a),  h = o * activation(c)
 * A backend with fused kernels (Backend.lstmCell) runs it in one launch forward and one backward,
 * the recurrent addition included; otherwise (the CPU, activations the kernels do not know, or
 * GravesLSTM's peephole connections) it is composed from ops.
 */
import type { Backend, FusedLstmCell, LstmCellActivation } from '../backend/backend.js';
import type { DataType } from '../ndarray/dtype.js';
import { recordOutputs } from '../autodiff/multi-output.js';
import { needsGrad } from '../autodiff/tape.js';
import type { NDArray } from '../ndarray/ndarray.js';
import { add, mul } from './binary.js';
import { hardSigmoid, sigmoid, tanh, unaryRaw } from './unary.js';
import { unstack } from './unstack.js';
import { commonBackend, describe, outputLike, requireFloating } from './util.js';
import { reshape } from './views.js';

/** An activation of the cell: one the fused kernels know by name, or any differentiable function (always composed). */
export type LstmCellFunction = LstmCellActivation | ((x: NDArray) => NDArray);

export interface LstmCellOptions {
  /** The block input's and the cell output's activation (DL4J's activation, tanh by default). */
  readonly activation: LstmCellFunction;
  /** The gates' activation (DL4J's gateActivationFn, sigmoid by default). */
  readonly gateActivation: LstmCellFunction;
  /** h_{t-1} RW [N, 4H], added to z (inside the fused kernel: no separate pass). */
  readonly recurrent?: NDArray | null;
  /** GravesLSTM's peephole weights, each [H]: the cell always composes them (the fused kernels have none). */
  readonly peepholes?: LstmPeepholes | null;
}

/**
 * Peephole weights (DL4J's GravesLSTM): z_f += cPrev * forget and z_g += cPrev * input before the
 * gates, z_o += c * output with the new cell state.
 */
export interface LstmPeepholes {
  readonly forget: NDArray;
  readonly output: NDArray;
  readonly input: NDArray;
}

const NAMED: Record<LstmCellActivation, (x: NDArray) => NDArray> = { tanh, sigmoid, hardsigmoid: hardSigmoid };

/** One LSTM step's [h, c], each [N, H], from z [N, 4H] and cPrev [N, H] (null: zeros). Differentiable. */
export function lstmCell(z: NDArray, cPrev: NDArray | null, options: LstmCellOptions): [h: NDArray, c: NDArray] {
  const op = 'lstmCell';
  requireFloating(op, z);
  if (z.rank !== 2 || z.shape[1]! % 4 !== 0) throw new Error(`${op}: expected pre-activations z of shape [N, 4H], got ${describe(z)}`);
  const [n, width] = z.shape as [number, number];
  const recurrent = options.recurrent ?? null;
  if (recurrent && (recurrent.dtype !== z.dtype || recurrent.rank !== 2 || recurrent.shape[0] !== n || recurrent.shape[1] !== width)) {
    throw new Error(`${op}: expected the recurrent part of shape [${n}, ${width}] and dtype ${z.dtype} for z ${describe(z)}, got ${describe(recurrent)}`);
  }
  if (cPrev && (cPrev.dtype !== z.dtype || cPrev.rank !== 2 || cPrev.shape[0] !== n || cPrev.shape[1] !== width / 4)) {
    throw new Error(`${op}: expected cPrev of shape [${n}, ${width / 4}] and dtype ${z.dtype} for z ${describe(z)}, got ${describe(cPrev)}`);
  }
  const peepholes = options.peepholes ?? null;
  for (const [role, p] of Object.entries(peepholes ?? {}) as [string, NDArray][]) {
    if (p.dtype !== z.dtype || p.rank !== 1 || p.shape[0] !== width / 4) {
      throw new Error(`${op}: expected the ${role} peephole weights of shape [${width / 4}] and dtype ${z.dtype} for z ${describe(z)}, got ${describe(p)}`);
    }
  }
  const inputs = [z, ...(recurrent ? [recurrent] : []), ...(cPrev ? [cPrev] : [])];
  const backend = commonBackend(op, inputs);
  checkCellFunctions(op, options);
  const fused = peepholes ? null : fusedCellFor(backend, z.dtype, options);
  if (fused && z.size > 0) return fusedCell(fused.cell, inputs, recurrent, cPrev, fused.activation, fused.gate);
  return composedCell(z, recurrent, cPrev, options);
}

/** Throws unless both activations are kernel names or functions. */
export function checkCellFunctions(op: string, options: Pick<LstmCellOptions, 'activation' | 'gateActivation'>): void {
  for (const [role, f] of [['activation', options.activation], ['gateActivation', options.gateActivation]] as const) {
    if (typeof f === 'string' ? !Object.hasOwn(NAMED, f) : typeof f !== 'function') {
      throw new Error(`${op}: ${role} must be one of ${Object.keys(NAMED).join(', ')} or a function, got ${String(f)}`);
    }
  }
}

/** The backend's fused cell with the activations' kernel names. */
export interface FusedCellChoice {
  readonly cell: FusedLstmCell;
  readonly activation: LstmCellActivation;
  readonly gate: LstmCellActivation;
}

/** The backend's fused cell when it computes both activations (named ones) in `dtype`; null: compose from ops. */
export function fusedCellFor(backend: Backend, dtype: DataType, options: Pick<LstmCellOptions, 'activation' | 'gateActivation'>): FusedCellChoice | null {
  const cell = backend.lstmCell;
  const { activation, gateActivation: gate } = options;
  return cell?.supports(dtype) && typeof activation === 'string' && typeof gate === 'string' ? { cell, activation, gate } : null;
}

/** x as a contiguous array of `like`'s dtype for the kernels (x itself when it already is one). */
export function operand(x: NDArray, like: NDArray): NDArray {
  return x.isContiguous && x.dtype === like.dtype ? x : unaryRaw('identity', x, like.dtype);
}

function fusedCell(
  fused: FusedLstmCell, inputs: readonly NDArray[], recurrent: NDArray | null, cPrev: NDArray | null,
  activation: LstmCellActivation, gate: LstmCellActivation,
): [NDArray, NDArray] {
  const z = inputs[0]!;
  const [n, width] = z.shape as [number, number];
  const h = outputLike(z, [n, width / 4]);
  const c = outputLike(z, [n, width / 4]);
  const gates = outputLike(z, [n, width]);
  const cp = cPrev ? operand(cPrev, z) : null;
  fused.forward(operand(z, z), recurrent ? operand(recurrent, z) : null, cp, h, c, gates, activation, gate);
  if (needsGrad(inputs)) {
    recordOutputs([h, c], 'lstmCell', inputs, cp ? [gates, c, cp] : [gates, c], ([gh, gc], [gs, cs, cps], needs) => {
      const dz = outputLike(gs!, gs!.shape);
      const dcPrev = cps && needs[inputs.length - 1] ? outputLike(cs!, cs!.shape) : null;
      fused.backward(gs!, cps ?? null, cs!, gh ? operand(gh, gs!) : null, gc ? operand(gc, gs!) : null, dz, dcPrev, activation, gate);
      // z and the recurrent part are summed first, so both get dz.
      return [dz, ...(recurrent ? [dz] : []), ...(cPrev ? [dcPrev] : [])];
    });
  }
  return [h, c];
}

/** The same step from ops: what the LSTM layer computed before the fused kernels, and what the CPU runs. */
function composedCell(z: NDArray, recurrent: NDArray | null, cPrev: NDArray | null, options: LstmCellOptions): [NDArray, NDArray] {
  const act = cellFunction(options.activation);
  const gate = cellFunction(options.gateActivation);
  const zs = recurrent ? add(z, recurrent) : z;
  // The four blocks as [N, H] pieces of [N, 4, H].
  const [za, zf, zo, zg] = unstack(reshape(zs, [zs.shape[0]!, 4, zs.shape[1]! / 4]), 1) as [NDArray, NDArray, NDArray, NDArray];
  const p = options.peepholes;
  const a = act(za);
  // No cPrev: a zero state, whose peephole terms vanish.
  const g = gate(p && cPrev ? add(zg, mul(cPrev, p.input)) : zg);
  const c = cPrev ? add(mul(gate(p ? add(zf, mul(cPrev, p.forget)) : zf), cPrev), mul(g, a)) : mul(g, a);
  const h = mul(gate(p ? add(zo, mul(c, p.output)) : zo), act(c));
  return [h, c];
}

function cellFunction(f: LstmCellFunction): (x: NDArray) => NDArray {
  return typeof f === 'string' ? NAMED[f] : f;
}
