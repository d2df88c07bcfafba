import type {
  AdamStepParams, Backend, BackendBuffer, BackendInfo, BinaryOp, Conv2dGeometry, MemoryInfo, PoolOp, RandomDistribution, ReduceOp, TensorRef, UnaryOp,
} from '../backend.js';
import { cudaConfiguration } from './config.js';
import { CudaDevice, deviceCount } from './device.js';
import { cu, check } from './driver.js';
import * as elementwise from './elementwise.js';
import * as reduction from './reduce.js';
import * as indexing from './indexing.js';
import * as random from './random.js';
import { CudaStepCapture } from './graph.js';
import * as conv from './conv.js';
import * as blas from './matmul.js';
import * as updater from './updater.js';
import { CudaBuffer } from './tensor.js';
import { CudnnConvolution } from './convolution.js';
import { CudaBatchNorm } from './batch-norm.js';
import { CudaLstmCell } from './lstm-cell.js';

/**
 * The CUDA backend for one device: kernels compiled by NVRTC on first use, matmul through cuBLAS,
 * memory from a caching allocator. Work is queued on the device's stream; `read` waits for it.
 */
export class CudaBackend implements Backend {
  readonly name: string;
  private cudnnConvolution: CudnnConvolution | null | undefined;
  private fusedBatchNorm: CudaBatchNorm | undefined;
  private fusedLstmCell: CudaLstmCell | undefined;
  readonly capture: CudaStepCapture;

  constructor(
    readonly priority: number,
    readonly device: CudaDevice,
  ) {
    this.name = device.ordinal === 0 ? 'cuda' : `cuda:${device.ordinal}`;
    this.capture = new CudaStepCapture(device);
  }

  /** cuDNN convolutions, loaded on the first convolution (null without cuDNN or with useCudnn off). */
  get convolution(): CudnnConvolution | null {
    if (!cudaConfiguration().useCudnn) return null;
    this.cudnnConvolution ??= CudnnConvolution.create(this.device);
    return this.cudnnConvolution;
  }

  /** Fused batch-normalization kernels (kernels/cuda/batchnorm.cu), compiled on first use. */
  get batchNorm(): CudaBatchNorm {
    this.fusedBatchNorm ??= new CudaBatchNorm(this.device);
    return this.fusedBatchNorm;
  }

  /** The fused elementwise part of an LSTM step (kernels/cuda/lstm.cu), compiled on first use. */
  get lstmCell(): CudaLstmCell {
    this.fusedLstmCell ??= new CudaLstmCell(this.device);
    return this.fusedLstmCell;
  }

  info(): BackendInfo {
    const d = this.device;
    const stats = d.allocator.stats();
    return {
      name: this.name,
      priority: this.priority,
      devices: [{ id: d.ordinal, name: d.name, memoryBytes: d.totalMemory }],
      details: {
        computeCapability: `${d.computeCapability[0]}.${d.computeCapability[1]}`,
        multiprocessors: d.multiprocessors,
        allocatedBytes: stats.allocatedBytes,
        cachedBytes: stats.cachedBytes,
        kernelsCompiled: d.kernels.stats.compiled,
        kernelCacheHits: d.kernels.stats.cacheHits,
        allowTF32: cudaConfiguration().allowTF32,
        // How the convolutions planned so far run (cuDNN's graph API or its legacy API), once any ran.
        ...(this.cudnnConvolution ? {
          cudnnGraphPlans: this.cudnnConvolution.stats.graphPlans,
          cudnnLegacyPlans: this.cudnnConvolution.stats.legacyPlans,
          ...(this.cudnnConvolution.stats.graphError ? { cudnnGraphError: this.cudnnConvolution.stats.graphError } : {}),
        } : {}),
      },
    };
  }

  memory(): MemoryInfo {
    const s = this.device.allocator.stats();
    return { bytes: s.allocatedBytes, buffers: s.blocks, peakBytes: s.peakAllocatedBytes };
  }

  alloc(bytes: number, zeroed: boolean): BackendBuffer {
    const block = this.device.allocator.alloc(bytes);
    if (zeroed && bytes > 0) check(cu().memsetD8Async(block.ptr, 0, bytes, this.device.stream), 'cuMemsetD8Async', 'alloc');
    return new CudaBuffer(block, bytes, this.device);
  }

  free(buffer: BackendBuffer): void {
    this.device.allocator.free((buffer as CudaBuffer).block);
  }

  write(buffer: BackendBuffer, byteOffset: number, data: ArrayBufferView): void {
    this.checkRange('write', buffer, byteOffset, data.byteLength);
    this.device.upload((buffer as CudaBuffer).ptr + byteOffset, data);
  }

  read(buffer: BackendBuffer, byteOffset: number, out: ArrayBufferView): void {
    this.checkRange('read', buffer, byteOffset, out.byteLength);
    this.device.download(out, (buffer as CudaBuffer).ptr + byteOffset);
  }

  private checkRange(op: string, buffer: BackendBuffer, byteOffset: number, bytes: number): void {
    if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset + bytes > buffer.bytes) {
      throw new Error(`cuda ${op}: range [${byteOffset}, ${byteOffset + bytes}) is outside the buffer of ${buffer.bytes} bytes`);
    }
  }

  synchronize(): void {
    this.device.synchronize();
  }

  unary(op: UnaryOp, x: TensorRef, out: TensorRef, alpha = 0, beta = 0): void {
    elementwise.unary(this.device, op, x, out, alpha, beta);
  }

  binary(op: BinaryOp, a: TensorRef, b: TensorRef, out: TensorRef, alpha = 0, beta = 0): void {
    elementwise.binary(this.device, op, a, b, out, alpha, beta);
  }

  where(cond: TensorRef, a: TensorRef, b: TensorRef, out: TensorRef): void {
    elementwise.where(this.device, cond, a, b, out);
  }

  reduce(op: ReduceOp, x: TensorRef, out: TensorRef, axes: readonly number[], ddof = 0): void {
    reduction.reduce(this.device, op, x, out, axes, ddof);
  }

  softmax(x: TensorRef, out: TensorRef, axis: number, log: boolean): void {
    reduction.softmax(this.device, x, out, axis, log);
  }

  softmaxGrad(y: TensorRef, g: TensorRef, out: TensorRef, axis: number, log: boolean): void {
    reduction.softmaxGrad(this.device, y, g, out, axis, log);
  }

  gather(x: TensorRef, indices: TensorRef, out: TensorRef, axis: number): void {
    indexing.gather(this.device, x, indices, out, axis);
  }

  scatterAdd(target: TensorRef, indices: TensorRef, updates: TensorRef, axis: number): void {
    indexing.scatterAdd(this.device, target, indices, updates, axis);
  }

  random(dist: RandomDistribution, out: TensorRef, seed: bigint, stream: number, p1: number, p2: number): void {
    // The counter is a launch argument: a replay would draw the same numbers again.
    this.device.assertNotCapturing(`random ${dist}`, 'draw random numbers');
    random.random(this.device, dist, out, seed, stream, p1, p2);
  }

  matmul(a: TensorRef, b: TensorRef, out: TensorRef, alpha: number, beta: number): void {
    blas.matmul(this.device, a, b, out, alpha, beta);
  }

  im2col(x: TensorRef, cols: TensorRef, g: Conv2dGeometry): void {
    conv.im2col(this.device, x, cols, g);
  }

  col2im(cols: TensorRef, x: TensorRef, g: Conv2dGeometry): void {
    conv.col2im(this.device, cols, x, g);
  }

  pool2d(op: PoolOp, x: TensorRef, out: TensorRef, g: Conv2dGeometry, countIncludePad: boolean): void {
    conv.pool2d(this.device, op, x, out, g, countIncludePad);
  }

  pool2dGrad(op: PoolOp, x: TensorRef, gradOut: TensorRef, gradIn: TensorRef, g: Conv2dGeometry, countIncludePad: boolean): void {
    conv.pool2dGrad(this.device, op, x, gradOut, gradIn, g, countIncludePad);
  }

  adamStep(p: TensorRef, g: TensorRef, m: TensorRef, v: TensorRef, h: AdamStepParams): void {
    updater.adamStep(this.device, p, g, m, v, h);
  }
}

const backends = new Map<number, CudaBackend>();

/** The backend for a device ordinal (created once per thread). */
export function cudaBackend(ordinal: number, priority: number): CudaBackend {
  let b = backends.get(ordinal);
  if (!b) {
    const count = deviceCount();
    if (count === 0) throw new Error('no CUDA device is visible');
    if (ordinal >= count) throw new Error(`CUDA device ${ordinal} does not exist (${count} visible)`);
    b = new CudaBackend(priority, new CudaDevice(ordinal));
    backends.set(ordinal, b);
  }
  return b;
}

/** Devices this process uses: all visible (or the configured subset) with allowMultiGPU, else the first. */
export function usableDevices(): number[] {
  const c = cudaConfiguration();
  const all = Array.from({ length: deviceCount() }, (_, i) => i);
  const chosen = c.devices.length ? all.filter((d) => c.devices.includes(d)) : all;
  return c.allowMultiGPU ? chosen : chosen.slice(0, 1);
}
