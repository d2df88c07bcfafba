/**
 * Convolution through cuDNN: one plan per (dtype, shapes, geometry) holds the descriptors and, per
 * pass, the fastest algorithm cuDNN measured on first use (PyTorch's cudnn.benchmark), so a training
 * step makes no descriptor or search calls. Operands arrive packed NCHW (the front end makes them so).
 */
import type { Conv2dGeometry, DirectConvolution, TensorRef } from '../backend.js';
import type { DataType } from '../../ndarray/dtype.js';
import { cudaConfiguration } from './config.js';
import type { CudaDevice } from './device.js';
import type { Handle } from './driver.js';
import { checkCudnn, createDescriptor, cudnnContext, type CudnnApi, type CudnnContext } from './cudnn.js';
import { ptrOf } from './tensor.js';

/** cudnnDataType_t */
const CUDNN_TYPE: Partial<Record<DataType, number>> = { FLOAT: 0, DOUBLE: 1, HALF: 2, BFLOAT16: 9 };
const CUDNN_TENSOR_NCHW = 0;
const CUDNN_CROSS_CORRELATION = 1;
/** cudnnMathType_t */
const CUDNN_DEFAULT_MATH = 0;
const CUDNN_TENSOR_OP_MATH = 1;
const CUDNN_FMA_MATH = 3;
/** sizeof(cudnnConvolution*AlgoPerf_t): algo, status, time (float), memory (size_t at 16), determinism, mathType, reserved[3]. */
const PERF_BYTES = 48;
const MAX_ALGOS = 8;
/** Largest workspace an algorithm may need to be chosen over a slower one (PyTorch caps it too). */
const MAX_WORKSPACE_BYTES = 512 * 1024 ** 2;
/**
 * FFT and Winograd algorithms per pass (cudnnConvolution*Algo_t). With HALF/BFLOAT16 they transform
 * in reduced precision, which loses far more than float32 accumulation does (parity with the CPU
 * failed for BFLOAT16), so 16-bit convolutions choose among the GEMM-based algorithms only.
 */
const TRANSFORM_ALGOS: Record<Pass, ReadonlySet<number>> = {
  forward: new Set([4, 5, 6, 7]),
  backwardData: new Set([2, 3, 4, 5]),
  backwardFilter: new Set([2, 4, 5, 6]),
};

type Pass = 'forward' | 'backwardData' | 'backwardFilter';

interface Plan {
  readonly x: Handle;
  readonly w: Handle;
  readonly y: Handle;
  readonly conv: Handle;
  readonly algos: Partial<Record<Pass, { algo: number; workspace: number }>>;
}

function tensorDesc(lib: CudnnApi, type: number, shape: readonly number[], op: string): Handle {
  const [n, c, h, w] = shape as [number, number, number, number];
  const d = createDescriptor(lib, 'Tensor', op);
  checkCudnn(lib.setTensor4d(d, type, n, c, h, w, c * h * w, h * w, w, 1), 'cudnnSetTensor4dDescriptorEx', op);
  return d;
}

export class CudnnConvolution implements DirectConvolution {
  private readonly plans = new Map<string, Plan>();

  private constructor(
    private readonly device: CudaDevice,
    private readonly ctx: CudnnContext,
  ) {}

  /** The device's cuDNN convolutions, or null when cuDNN is unavailable. */
  static create(device: CudaDevice): CudnnConvolution | null {
    const ctx = cudnnContext(device);
    return ctx ? new CudnnConvolution(device, ctx) : null;
  }

  supports(dtype: DataType): boolean {
    return CUDNN_TYPE[dtype] !== undefined && (dtype !== 'BFLOAT16' || this.device.computeCapability[0] >= 8);
  }

  forward(x: TensorRef, w: TensorRef, y: TensorRef, g: Conv2dGeometry): void {
    this.run('forward', x, w, y, g, (p, algo, ws, bytes, one, zero) =>
      this.ctx.lib.forward(this.ctx.handle, one, p.x, ptrOf(x), p.w, ptrOf(w), p.conv, algo, ws, bytes, zero, p.y, ptrOf(y)));
  }

  backwardData(w: TensorRef, dy: TensorRef, dx: TensorRef, g: Conv2dGeometry): void {
    this.run('backwardData', dx, w, dy, g, (p, algo, ws, bytes, one, zero) =>
      this.ctx.lib.backwardData(this.ctx.handle, one, p.w, ptrOf(w), p.y, ptrOf(dy), p.conv, algo, ws, bytes, zero, p.x, ptrOf(dx)));
  }

  backwardFilter(x: TensorRef, dy: TensorRef, dw: TensorRef, g: Conv2dGeometry): void {
    this.run('backwardFilter', x, dw, dy, g, (p, algo, ws, bytes, one, zero) =>
      this.ctx.lib.backwardFilter(this.ctx.handle, one, p.x, ptrOf(x), p.y, ptrOf(dy), p.conv, algo, ws, bytes, zero, p.w, ptrOf(dw)));
  }

  private run(
    pass: Pass, x: TensorRef, w: TensorRef, y: TensorRef, g: Conv2dGeometry,
    call: (p: Plan, algo: number, ws: number, bytes: number, one: Float32Array | Float64Array, zero: Float32Array | Float64Array) => number,
  ): void {
    const op = `conv2d ${pass} (cuDNN)`;
    const p = this.plan(x, w, y, g, op);
    const chosen = (p.algos[pass] ??= this.choose(pass, p, x.dtype, op));
    const double = x.dtype === 'DOUBLE';
    const one = double ? this.ctx.one64 : this.ctx.one32;
    const zero = double ? this.ctx.zero64 : this.ctx.zero32;
    this.device.makeCurrent();
    const block = chosen.workspace > 0 ? this.device.allocator.alloc(chosen.workspace) : null;
    try {
      checkCudnn(call(p, chosen.algo, block ? block.ptr : 0, chosen.workspace, one, zero), `cudnnConvolution${pass[0]!.toUpperCase()}${pass.slice(1)}`, op);
    } finally {
      // Stream-ordered: the allocator hands this block out again only to work queued after this call.
      if (block) this.device.allocator.free(block);
    }
  }

  private plan(x: TensorRef, w: TensorRef, y: TensorRef, g: Conv2dGeometry, op: string): Plan {
    const tf32 = x.dtype === 'FLOAT' && cudaConfiguration().allowTF32;
    const key = `${x.dtype}|${x.shape.join(',')}|${w.shape.join(',')}|${g.kh},${g.kw},${g.sh},${g.sw},${g.ph},${g.pw},${g.dh},${g.dw}|${tf32}`;
    let p = this.plans.get(key);
    if (p) return p;
    const lib = this.ctx.lib;
    const type = CUDNN_TYPE[x.dtype];
    if (type === undefined) throw new Error(`${op}: cuDNN has no ${x.dtype} convolution`);
    const [o, c, kh, kw] = w.shape as [number, number, number, number];
    const filter = createDescriptor(lib, 'Filter', op);
    checkCudnn(lib.setFilter4d(filter, type, CUDNN_TENSOR_NCHW, o, c, kh, kw), 'cudnnSetFilter4dDescriptor', op);
    const conv = createDescriptor(lib, 'Convolution', op);
    checkCudnn(lib.setConvolution2d(conv, g.ph, g.pw, g.sh, g.sw, g.dh, g.dw, CUDNN_CROSS_CORRELATION, x.dtype === 'DOUBLE' ? 1 : 0), 'cudnnSetConvolution2dDescriptor', op);
    // HALF/BFLOAT16 on tensor cores (float32 accumulation); FLOAT on FMA units unless TF32 is allowed.
    const math = x.dtype === 'HALF' || x.dtype === 'BFLOAT16' ? CUDNN_TENSOR_OP_MATH : x.dtype === 'FLOAT' && !tf32 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
    checkCudnn(lib.setConvolutionMathType(conv, math), 'cudnnSetConvolutionMathType', op);
    p = { x: tensorDesc(lib, type, x.shape, op), w: filter, y: tensorDesc(lib, type, y.shape, op), conv, algos: {} };
    this.plans.set(key, p);
    return p;
  }

  /** cuDNN times every algorithm once; the fastest that succeeded wins. */
  private choose(pass: Pass, p: Plan, dtype: DataType, op: string): { algo: number; workspace: number } {
    const excluded = dtype === 'HALF' || dtype === 'BFLOAT16' ? TRANSFORM_ALGOS[pass] : null;
    const lib = this.ctx.lib;
    const h = this.ctx.handle;
    const perf = Buffer.alloc(PERF_BYTES * MAX_ALGOS);
    const returned: [number] = [0];
    this.device.makeCurrent();
    if (pass === 'forward') checkCudnn(lib.findForward(h, p.x, p.w, p.conv, p.y, MAX_ALGOS, returned, perf), 'cudnnFindConvolutionForwardAlgorithm', op);
    else if (pass === 'backwardData') checkCudnn(lib.findBackwardData(h, p.w, p.y, p.conv, p.x, MAX_ALGOS, returned, perf), 'cudnnFindConvolutionBackwardDataAlgorithm', op);
    else checkCudnn(lib.findBackwardFilter(h, p.x, p.y, p.conv, p.w, MAX_ALGOS, returned, perf), 'cudnnFindConvolutionBackwardFilterAlgorithm', op);
    // The fastest algorithm whose workspace the caching allocator keeps: a larger one would be
    // allocated from the driver and freed (with a stream sync) on every call.
    const cap = Math.min(MAX_WORKSPACE_BYTES, cudaConfiguration().maximumDeviceCacheableLength);
    let fallback: { algo: number; workspace: number } | null = null;
    for (let i = 0; i < returned[0]; i++) {
      const v = new DataView(perf.buffer, perf.byteOffset + i * PERF_BYTES, PERF_BYTES);
      const algo = v.getInt32(0, true);
      if (v.getInt32(4, true) !== 0 || excluded?.has(algo)) continue;
      const bytes: [number] = [0];
      if (pass === 'forward') checkCudnn(lib.forwardWorkspace(h, p.x, p.w, p.conv, p.y, algo, bytes), 'cudnnGetConvolutionForwardWorkspaceSize', op);
      else if (pass === 'backwardData') checkCudnn(lib.backwardDataWorkspace(h, p.w, p.y, p.conv, p.x, algo, bytes), 'cudnnGetConvolutionBackwardDataWorkspaceSize', op);
      else checkCudnn(lib.backwardFilterWorkspace(h, p.x, p.y, p.conv, p.w, algo, bytes), 'cudnnGetConvolutionBackwardFilterWorkspaceSize', op);
      const choice = { algo, workspace: Number(bytes[0]) };
      if (choice.workspace <= cap) return choice;
      fallback ??= choice;
    }
    if (fallback) return fallback;
    throw new Error(`${op}: cuDNN found no algorithm that runs this convolution`);
  }
}
