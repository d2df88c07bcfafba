/**
 * Backend.lstmCell on the CPU: the native kernels of native/cpu/lstm.cc, one pass over the rows
 * forward and one backward where the composed ops take about a dozen elementwise calls each way.
 * The addon validates every operand (shapes, dtypes, contiguity, overlap) before touching memory.
 */
import type { FusedLstmCell, LstmCellActivation, TensorRef } from '../backend.js';
import { type DataType, isFloating } from '../../ndarray/dtype.js';
import type { NativeCpu, NativeTensor } from './native.js';

export class CpuLstmCell implements FusedLstmCell {
  constructor(private readonly native: NativeCpu, private readonly ref: (t: TensorRef) => NativeTensor) {}

  supports(dtype: DataType): boolean {
    return isFloating(dtype);
  }

  forward(zx: TensorRef, zh: TensorRef | null, cPrev: TensorRef | null, h: TensorRef, c: TensorRef, gates: TensorRef, activation: LstmCellActivation, gate: LstmCellActivation): void {
    this.native.lstmCellForward(this.ref(zx), this.optional(zh), this.optional(cPrev), this.ref(h), this.ref(c), this.ref(gates), activation, gate);
  }

  backward(gates: TensorRef, cPrev: TensorRef | null, c: TensorRef, dh: TensorRef | null, dc: TensorRef | null, dz: TensorRef, dcPrev: TensorRef | null, activation: LstmCellActivation, gate: LstmCellActivation): void {
    this.native.lstmCellBackward(this.ref(gates), this.optional(cPrev), this.ref(c), this.optional(dh), this.optional(dc), this.ref(dz), this.optional(dcPrev), activation, gate);
  }

  private optional(t: TensorRef | null): NativeTensor | null {
    return t ? this.ref(t) : null;
  }
}
