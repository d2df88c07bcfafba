/**
 * Backend.lstmCell on the device: one elementwise launch forward and one backward
 * (kernels/cuda/lstm.cu), where the composed ops of the front end take about a dozen each way.
 */
import type { FusedLstmCell, LstmCellActivation, TensorRef } from '../backend.js';
import { type DataType, isFloating } from '../../ndarray/dtype.js';
import { formatShape, isContiguous } from '../../ndarray/shape.js';
import type { CudaDevice } from './device.js';
import { describeRef } from './describe.js';
import { internSpec, type KernelSpec } from './kernel-library.js';
import type { ParamKind } from './launch.js';
import { dtypeMacro, flatLaunch, ptrOf } from './tensor.js';

const PARAMS: Record<string, readonly ParamKind[]> = {
  // zx, zh, cPrev, h, c, gates, N, H
  lstm_forward: ['ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'i64', 'i64'],
  // gates, cPrev, c, dh, dc, dz, dcPrev, N, H
  lstm_backward: ['ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'i64', 'i64'],
};

/** The kernel's codes for the activations (ACT_KIND / GATE_KIND in lstm.cu). */
const KIND: Record<LstmCellActivation, number> = { tanh: 0, sigmoid: 1, hardsigmoid: 2 };

function spec(entry: string, dtype: DataType, activation: LstmCellActivation, gate: LstmCellActivation): KernelSpec {
  return internSpec(['lstm', entry, dtype, activation, gate], () => ({
    file: 'lstm.cu',
    defines: { T_DT: dtypeMacro(dtype), ACT_KIND: String(KIND[activation]), GATE_KIND: String(KIND[gate]), [`ENTRY_${entry}`]: '1' },
    entry,
    params: PARAMS[entry]!,
  }));
}

type Operand = readonly [name: string, ref: TensorRef | null, width: 1 | 4];

export class CudaLstmCell implements FusedLstmCell {
  constructor(private readonly device: CudaDevice) {}

  supports(dtype: DataType): boolean {
    return isFloating(dtype);
  }

  forward(zx: TensorRef, zh: TensorRef | null, cPrev: TensorRef | null, h: TensorRef, c: TensorRef, gates: TensorRef, activation: LstmCellActivation, gate: LstmCellActivation): void {
    const op = 'lstmCell forward';
    const [n, units] = this.check(op, 'zx', zx, [['zh', zh, 4], ['cPrev', cPrev, 1], ['h', h, 1], ['c', c, 1], ['gates', gates, 4]], activation, gate);
    this.launch('lstm_forward', zx.dtype, activation, gate, n * units, [ptrOf(zx), ptrOrNull(zh), ptrOrNull(cPrev), ptrOf(h), ptrOf(c), ptrOf(gates), n, units], op);
  }

  backward(gates: TensorRef, cPrev: TensorRef | null, c: TensorRef, dh: TensorRef | null, dc: TensorRef | null, dz: TensorRef, dcPrev: TensorRef | null, activation: LstmCellActivation, gate: LstmCellActivation): void {
    const op = 'lstmCell backward';
    const [n, units] = this.check(op, 'gates', gates, [['cPrev', cPrev, 1], ['c', c, 1], ['dh', dh, 1], ['dc', dc, 1], ['dz', dz, 4], ['dcPrev', dcPrev, 1]], activation, gate);
    if (dcPrev && !cPrev) throw new Error(`${op}: ${describeRef('dcPrev', dcPrev)} was given without cPrev (a step without a previous cell state has no gradient for it)`);
    this.launch('lstm_backward', gates.dtype, activation, gate, n * units,
      [ptrOf(gates), ptrOrNull(cPrev), ptrOf(c), ptrOrNull(dh), ptrOrNull(dc), ptrOf(dz), ptrOrNull(dcPrev), n, units], op);
  }

  /** Validates every operand before any launch: one float dtype, contiguous, [N, 4H] or [N, H]; returns [N, H]. */
  private check(op: string, firstName: string, first: TensorRef, rest: readonly Operand[], activation: LstmCellActivation, gate: LstmCellActivation): [number, number] {
    if (!this.supports(first.dtype)) throw new Error(`${op}: ${describeRef(firstName, first)} must be a floating type (DOUBLE, FLOAT, HALF, BFLOAT16)`);
    for (const [role, kind] of [['activation', activation], ['gate activation', gate]] as const) {
      if (!Object.hasOwn(KIND, kind)) throw new Error(`${op}: unsupported ${role} '${String(kind)}' (expected ${Object.keys(KIND).join(', ')})`);
    }
    if (first.shape.length !== 2 || first.shape[1]! % 4 !== 0) {
      throw new Error(`${op}: ${describeRef(firstName, first)} must be [N, 4H] (the four gate blocks side by side)`);
    }
    const n = first.shape[0]!;
    const units = first.shape[1]! / 4;
    const expect = (name: string, t: TensorRef, width: number): void => {
      const shape = [n, width * units];
      if (t.dtype !== first.dtype || t.shape.length !== 2 || t.shape[0] !== n || t.shape[1] !== shape[1]) {
        throw new Error(`${op}: ${describeRef(name, t)} must be ${first.dtype}${formatShape(shape)} for ${describeRef(firstName, first)}`);
      }
      if (!isContiguous(t.shape, t.strides)) throw new Error(`${op}: ${describeRef(name, t)} must be contiguous`);
    };
    expect(firstName, first, 4);
    for (const [name, t, width] of rest) if (t) expect(name, t, width);
    return [n, units];
  }

  private launch(entry: string, dtype: DataType, activation: LstmCellActivation, gate: LstmCellActivation, total: number, args: readonly number[], op: string): void {
    if (total === 0) return;
    const { grid, block } = flatLaunch(total, this.device);
    this.device.kernels.get(spec(entry, dtype, activation, gate), op).launch(grid, block, this.device.streamAddress, args, op);
  }
}

/** A view's device address, or 0 (a null pointer: the kernel reads zeros or skips the output). */
function ptrOrNull(ref: TensorRef | null): number {
  return ref ? ptrOf(ref) : 0;
}
