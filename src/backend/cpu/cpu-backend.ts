import type {
  AdamStepParams, Backend, BackendBuffer, BackendInfo, BinaryOp, Conv2dGeometry, MemoryInfo, PoolOp, RandomDistribution, ReduceOp, TensorRef, UnaryOp,
} from '../backend.js';
import { dtypeCode } from '../../ndarray/dtype.js';
import { nativeCpu, nativeTensor, type NativeBuffer, type NativeCpu, type NativeTensor } from './native.js';
import { CpuLstmCell } from './lstm-cell.js';
import { ExactSizeCache } from '../exact-size-cache.js';
import { cpus } from 'node:os';

class CpuBuffer implements BackendBuffer {
  /** Freed: its native memory is gone, or kept for the next buffer of its size. */
  released = false;

  constructor(readonly handle: NativeBuffer, readonly bytes: number) {}
}

function geometry(g: Conv2dGeometry): [number, number, number, number, number, number, number, number] {
  return [g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw];
}

/** The native C++ backend: SIMD kernels on a thread pool; every call completes before it returns. */
export class CpuBackend implements Backend {
  readonly name = 'cpu';
  private readonly native: NativeCpu;
  private fusedLstmCell: CpuLstmCell | undefined;
  /** Freed buffers of up to 64 KiB (32 MiB in all): an N-API allocation costs about 2 us, more than a small op; large buffers are recycled natively (block_cache.cc). */
  private readonly cache = new ExactSizeCache<NativeBuffer>(64 * 1024, 32 * 1024 * 1024);
  /** A released native buffer: a tensor of a freed CpuBuffer is passed with it, so the addon refuses it by name. */
  private readonly releasedHandle: NativeBuffer;
  /** A tensor in the addon's form, as argument number `slot` of a native call. */
  private readonly t = (ref: TensorRef, slot: number): NativeTensor => nativeTensor(slot, this.handleOf(ref.buffer), dtypeCode(ref.dtype), ref.offset, ref.shape, ref.strides);

  private handleOf(buffer: BackendBuffer): NativeBuffer {
    const b = buffer as CpuBuffer;
    return b.released ? this.releasedHandle : b.handle;
  }

  constructor(readonly priority: number) {
    this.native = nativeCpu();
    this.releasedHandle = this.native.alloc(64, false);
    this.native.free(this.releasedHandle);
  }

  /** The fused elementwise part of an LSTM step (native/cpu/lstm.cc); null with an addon built before it (the ops compose the step). */
  get lstmCell(): CpuLstmCell | null {
    if (typeof this.native.lstmCellForward !== 'function') return null;
    this.fusedLstmCell ??= new CpuLstmCell(this.native, this.t);
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

  /** Live buffers: the addon's count less the buffers kept for reuse. */
  memory(): MemoryInfo {
    const m = this.native.memInfo();
    return { bytes: m.bytes - this.cache.bytes, buffers: m.buffers - this.cache.count, peakBytes: m.peakBytes };
  }

  /** Threads used by the kernels (DL4TS_CPU_THREADS sets the initial count). */
  get threads(): number {
    return this.native.getThreads();
  }

  set threads(n: number) {
    this.native.setThreads(n);
  }

  alloc(bytes: number, zeroed: boolean): BackendBuffer {
    return new CpuBuffer((!zeroed && this.cache.take(bytes)) || this.native.alloc(bytes, zeroed), bytes);
  }

  /** Idempotent, as the addon's free. */
  free(buffer: BackendBuffer): void {
    const b = buffer as CpuBuffer;
    if (b.released) return;
    b.released = true;
    if (!this.cache.give(b.handle, b.bytes)) this.native.free(b.handle);
  }

  write(buffer: BackendBuffer, byteOffset: number, data: ArrayBufferView): void {
    this.native.write(this.handleOf(buffer), byteOffset, data);
  }

  read(buffer: BackendBuffer, byteOffset: number, out: ArrayBufferView): void {
    this.native.read(this.handleOf(buffer), byteOffset, out);
  }

  synchronize(): void {}

  unary(op: UnaryOp, x: TensorRef, out: TensorRef, alpha = 0, beta = 0): void {
    this.native.unary(op, this.t(x, 1), this.t(out, 2), alpha, beta);
  }

  binary(op: BinaryOp, a: TensorRef, b: TensorRef, out: TensorRef, alpha = 0, beta = 0): void {
    this.native.binary(op, this.t(a, 1), this.t(b, 2), this.t(out, 3), alpha, beta);
  }

  where(cond: TensorRef, a: TensorRef, b: TensorRef, out: TensorRef): void {
    this.native.where(this.t(cond, 0), this.t(a, 1), this.t(b, 2), this.t(out, 3));
  }

  reduce(op: ReduceOp, x: TensorRef, out: TensorRef, axes: readonly number[], ddof = 0): void {
    this.native.reduce(op, this.t(x, 1), this.t(out, 2), axes, ddof);
  }

  softmax(x: TensorRef, out: TensorRef, axis: number, log: boolean): void {
    this.native.softmax(this.t(x, 0), this.t(out, 1), axis, log ? 1 : 0);
  }

  softmaxGrad(y: TensorRef, g: TensorRef, out: TensorRef, axis: number, log: boolean): void {
    this.native.softmaxGrad(this.t(y, 0), this.t(g, 1), this.t(out, 2), axis, log ? 1 : 0);
  }

  gather(x: TensorRef, indices: TensorRef, out: TensorRef, axis: number): void {
    this.native.gather(this.t(x, 0), this.t(indices, 1), this.t(out, 2), axis);
  }

  scatterAdd(target: TensorRef, indices: TensorRef, updates: TensorRef, axis: number): void {
    this.native.scatterAdd(this.t(target, 0), this.t(indices, 1), this.t(updates, 2), axis);
  }

  random(dist: RandomDistribution, out: TensorRef, seed: bigint, stream: number, p1: number, p2: number): void {
    const lo = Number(seed & 0xffffffffn);
    const hi = Number((seed >> 32n) & 0xffffffffn);
    this.native.random(dist, this.t(out, 1), lo, hi, stream >>> 0, p1, p2);
  }

  matmul(a: TensorRef, b: TensorRef, out: TensorRef, alpha: number, beta: number): void {
    this.native.matmul(this.t(a, 0), this.t(b, 1), this.t(out, 2), alpha, beta);
  }

  im2col(x: TensorRef, cols: TensorRef, g: Conv2dGeometry): void {
    this.native.im2col(this.t(x, 0), this.t(cols, 1), ...geometry(g));
  }

  col2im(cols: TensorRef, x: TensorRef, g: Conv2dGeometry): void {
    this.native.col2im(this.t(cols, 0), this.t(x, 1), ...geometry(g));
  }

  pool2d(op: PoolOp, x: TensorRef, out: TensorRef, g: Conv2dGeometry, countIncludePad: boolean): void {
    this.native.pool2d(op, this.t(x, 1), this.t(out, 2), ...geometry(g), countIncludePad ? 1 : 0);
  }

  pool2dGrad(op: PoolOp, x: TensorRef, gradOut: TensorRef, gradIn: TensorRef, g: Conv2dGeometry, countIncludePad: boolean): void {
    this.native.pool2dGrad(op, this.t(x, 1), this.t(gradOut, 2), this.t(gradIn, 3), ...geometry(g), countIncludePad ? 1 : 0);
  }

  adamStep(p: TensorRef, g: TensorRef, m: TensorRef, v: TensorRef, h: AdamStepParams): void {
    this.native.adamStep(this.t(p, 0), this.t(g, 1), this.t(m, 2), this.t(v, 3), h.beta1, h.beta2, h.epsilon, h.alpha, h.decay);
  }
}
