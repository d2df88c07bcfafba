import type {
  AdamStepParams, Backend, BackendBuffer, BackendInfo, BinaryOp, Conv2dGeometry, MemoryInfo, PoolOp, RandomDistribution, ReduceOp, TensorRef, UnaryOp,
} from '../backend.js';
import { dtypeCode } from '../../ndarray/dtype.js';
import { nativeCpu, type NativeBuffer, type NativeCpu, type NativeTensor } from './native.js';
import { CpuLstmCell } from './lstm-cell.js';
import { cpus } from 'node:os';

class CpuBuffer implements BackendBuffer {
  constructor(readonly handle: NativeBuffer, readonly bytes: number) {}
}

function t(ref: TensorRef): NativeTensor {
  return [(ref.buffer as CpuBuffer).handle, dtypeCode(ref.dtype), ref.offset, ref.shape, ref.strides];
}

function geometry(g: Conv2dGeometry): [number, number, number, number, number, number, number, number] {
  return [g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw];
}

/** The native C++ backend: SIMD kernels on a thread pool; every call completes before it returns. */
export class CpuBackend implements Backend {
  readonly name = 'cpu';
  private readonly native: NativeCpu;
  private fusedLstmCell: CpuLstmCell | undefined;

  constructor(readonly priority: number) {
    this.native = nativeCpu();
  }

  /** The fused elementwise part of an LSTM step (native/cpu/lstm.cc); null with an addon built before it (the ops compose the step). */
  get lstmCell(): CpuLstmCell | null {
    if (typeof this.native.lstmCellForward !== 'function') return null;
    this.fusedLstmCell ??= new CpuLstmCell(this.native, t);
    return this.fusedLstmCell;
  }

  info(): BackendInfo {
    const cpu = cpus()[0];
    return {
      name: this.name,
      priority: this.priority,
      devices: [{ id: 0, name: cpu ? cpu.model : 'cpu' }],
      details: { threads: this.native.getThreads() },
    };
  }

  memory(): MemoryInfo {
    return this.native.memInfo();
  }

  /** Threads used by the kernels (DL4TS_CPU_THREADS sets the initial count). */
  get threads(): number {
    return this.native.getThreads();
  }

  set threads(n: number) {
    this.native.setThreads(n);
  }

  alloc(bytes: number, zeroed: boolean): BackendBuffer {
    return new CpuBuffer(this.native.alloc(bytes, zeroed), bytes);
  }

  free(buffer: BackendBuffer): void {
    this.native.free((buffer as CpuBuffer).handle);
  }

  write(buffer: BackendBuffer, byteOffset: number, data: ArrayBufferView): void {
    this.native.write((buffer as CpuBuffer).handle, byteOffset, data);
  }

  read(buffer: BackendBuffer, byteOffset: number, out: ArrayBufferView): void {
    this.native.read((buffer as CpuBuffer).handle, byteOffset, out);
  }

  synchronize(): void {}

  unary(op: UnaryOp, x: TensorRef, out: TensorRef, alpha = 0, beta = 0): void {
    this.native.unary(op, t(x), t(out), alpha, beta);
  }

  binary(op: BinaryOp, a: TensorRef, b: TensorRef, out: TensorRef, alpha = 0, beta = 0): void {
    this.native.binary(op, t(a), t(b), t(out), alpha, beta);
  }

  where(cond: TensorRef, a: TensorRef, b: TensorRef, out: TensorRef): void {
    this.native.where(t(cond), t(a), t(b), t(out));
  }

  reduce(op: ReduceOp, x: TensorRef, out: TensorRef, axes: readonly number[], ddof = 0): void {
    this.native.reduce(op, t(x), t(out), axes, ddof);
  }

  softmax(x: TensorRef, out: TensorRef, axis: number, log: boolean): void {
    this.native.softmax(t(x), t(out), axis, log ? 1 : 0);
  }

  softmaxGrad(y: TensorRef, g: TensorRef, out: TensorRef, axis: number, log: boolean): void {
    this.native.softmaxGrad(t(y), t(g), t(out), axis, log ? 1 : 0);
  }

  gather(x: TensorRef, indices: TensorRef, out: TensorRef, axis: number): void {
    this.native.gather(t(x), t(indices), t(out), axis);
  }

  scatterAdd(target: TensorRef, indices: TensorRef, updates: TensorRef, axis: number): void {
    this.native.scatterAdd(t(target), t(indices), t(updates), axis);
  }

  random(dist: RandomDistribution, out: TensorRef, seed: bigint, stream: number, p1: number, p2: number): void {
    const lo = Number(seed & 0xffffffffn);
    const hi = Number((seed >> 32n) & 0xffffffffn);
    this.native.random(dist, t(out), lo, hi, stream >>> 0, p1, p2);
  }

  matmul(a: TensorRef, b: TensorRef, out: TensorRef, alpha: number, beta: number): void {
    this.native.matmul(t(a), t(b), t(out), alpha, beta);
  }

  im2col(x: TensorRef, cols: TensorRef, g: Conv2dGeometry): void {
    this.native.im2col(t(x), t(cols), ...geometry(g));
  }

  col2im(cols: TensorRef, x: TensorRef, g: Conv2dGeometry): void {
    this.native.col2im(t(cols), t(x), ...geometry(g));
  }

  pool2d(op: PoolOp, x: TensorRef, out: TensorRef, g: Conv2dGeometry, countIncludePad: boolean): void {
    this.native.pool2d(op, t(x), t(out), ...geometry(g), countIncludePad ? 1 : 0);
  }

  pool2dGrad(op: PoolOp, x: TensorRef, gradOut: TensorRef, gradIn: TensorRef, g: Conv2dGeometry, countIncludePad: boolean): void {
    this.native.pool2dGrad(op, t(x), t(gradOut), t(gradIn), ...geometry(g), countIncludePad ? 1 : 0);
  }

  adamStep(p: TensorRef, g: TensorRef, m: TensorRef, v: TensorRef, h: AdamStepParams): void {
    this.native.adamStep(t(p), t(g), t(m), t(v), h.beta1, h.beta2, h.epsilon, h.alpha, h.decay);
  }
}
