/**
 * Backend.lstmCell on the CPU: the native kernels of native/cpu/lstm.cc, one pass over the rows
 * forward and one backward where the composed ops take about a dozen elementwise calls each way.
 * The addon validates every operand (shapes, dtypes, contiguity, overlap) before touching memory.
 */
import type { FusedLstmCell, LstmCellActivation, TensorRef } from '../backend.js';
import { type DataType, isFloating } from '../../ndarray/dtype.js';
import type { NativeCpu, NativeTensor } from './native.js';

export class CpuLstmCell implements FusedLstmCell {
  constructor(private readonly native: NativeCpu, private readonly ref: (t: TensorRef, slot: number) => NativeTensor) {}

  supports(dtype: DataType): boolean {
    return isFloating(dtype);
  }

  forward(zx: TensorRef, zh: TensorRef | null, cPrev: TensorRef | null, h: TensorRef, c: TensorRef, gates: TensorRef, activation: LstmCellActivation, gate: LstmCellActivation): void {
    this.native.lstmCellForward(this.ref(zx, 0), this.optional(zh, 1), this.optional(cPrev, 2), this.ref(h, 3), this.ref(c, 4), this.ref(gates, 5), activation, gate);
  }

  backward(gates: TensorRef, cPrev: TensorRef | null, c: TensorRef, dh: TensorRef | null, dc: TensorRef | null, dz: TensorRef, dcPrev: TensorRef | null, activation: LstmCellActivation, gate: LstmCellActivation): void {
    this.native.lstmCellBackward(this.ref(gates, 0), this.optional(cPrev, 1), this.ref(c, 2), this.optional(dh, 3), this.optional(dc, 4), this.ref(dz, 5), this.optional(dcPrev, 6), activation, gate);
  }

  private optional(t: TensorRef | null, slot: number): NativeTensor | null {
    return t ? this.ref(t, slot) : null;
  }
}
