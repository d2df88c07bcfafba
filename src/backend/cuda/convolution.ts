/**
 * Convolution through cuDNN: one plan per (dtype, shapes, geometry, operand alignment) holds, per
 * pass, the fastest way cuDNN measured on first use (PyTorch's cudnn.benchmark): an execution plan of
 * the graph API (cudnn-graph.ts) where cuDNN has one, else an algorithm of the legacy API, so a
 * training step makes no descriptor or search calls. Operands arrive packed NCHW (the front end makes them so).
 */
import type { Conv2dGeometry, DirectConvolution, TensorRef } from '../backend.js';
import { dtypeSize, isHalfFloat, type DataType } from '../../ndarray/dtype.js';
import { contiguousStrides } from '../../ndarray/shape.js';
import type { Block } from './allocator.js';
import { cudaConfiguration } from './config.js';
import type { CudaDevice } from './device.js';
import type { Handle } from './driver.js';
import { unary } from './elementwise.js';
import { CUDNN_CROSS_CORRELATION, CUDNN_DATA_TYPE, CudnnError, checkCudnn, createDescriptor, cudnnContext, type CudnnApi, type CudnnContext } from './cudnn.js';
import { ConvolutionGraphs, alignmentOf, graphApi, type GraphPass, type GraphPlan, type Pointers, type Role } from './cudnn-graph.js';
import { CudaBuffer, ptrOf, sizeOfShape } from './tensor.js';

const CUDNN_TENSOR_NCHW = 0;
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
 * failed for BFLOAT16), so 16-bit convolutions choose among the GEMM-based algorithms only, or run
 * widened to FLOAT (below) where that is faster.
 */
const TRANSFORM_ALGOS: Record<Pass, ReadonlySet<number>> = {
  forward: new Set([4, 5, 6, 7]),
  backwardData: new Set([2, 3, 4, 5]),
  backwardFilter: new Set([2, 4, 5, 6]),
};

type Pass = GraphPass;

/** Which of the operands (x, w, y) a pass writes; it reads the other two. */
const OUTPUT_ROLE: Record<Pass, Role> = { forward: 'y', backwardData: 'x', backwardFilter: 'w' };
const ROLES: readonly Role[] = ['x', 'w', 'y'];

/** How a pass runs: a graph-API plan, or else a legacy algorithm; its workspace bytes and measured time. */
interface Choice {
  readonly graph: GraphPlan | null;
  readonly algo: number;
  readonly workspace: number;
  readonly ms: number;
}

/**
 * How a pass runs: on the plan's own dtype, or (16-bit plans) widened, i.e. its inputs cast to FLOAT,
 * convolved by `plan` (a FLOAT plan, any algorithm) and the output cast back. Widening wins where
 * every GEMM-based 16-bit algorithm is slow (few or odd channels, e.g. LeNet's 5x5 layers, where the
 * 16-bit filter gradient took 7x the FLOAT one); it is never less precise than the 16-bit algorithms,
 * which also accumulate in float32.
 */
interface Execution {
  readonly choice: Choice;
  readonly widened: Plan | null;
}

interface Plan {
  readonly x: Handle;
  readonly w: Handle;
  readonly y: Handle;
  readonly conv: Handle;
  /** FLOAT may use TF32 tensor cores. */
  readonly tf32: boolean;
  readonly executions: Partial<Record<Pass, Execution>>;
}

/** Cast cost assumed when weighing a widened pass: per launch, and per byte read or written. */
const CAST_LAUNCH_MS = 0.005;
const CAST_BYTES_PER_MS = 1e9;
/** A widened pass must beat the 16-bit one by this factor (cuDNN's timings are single runs). */
const WIDEN_MARGIN = 0.8;

function tensorDesc(lib: CudnnApi, type: number, shape: readonly number[], op: string): Handle {
  const [n, c, h, w] = shape as [number, number, number, number];
  const d = createDescriptor(lib, 'Tensor', op);
  checkCudnn(lib.setTensor4d(d, type, n, c, h, w, c * h * w, h * w, w, 1), 'cudnnSetTensor4dDescriptorEx', op);
  return d;
}

/** How the passes planned so far run, and why the graph API last refused one (null: never). */
export interface CudnnConvolutionStats {
  graphPlans: number;
  legacyPlans: number;
  graphError: string | null;
}

export class CudnnConvolution implements DirectConvolution {
  private readonly plans = new Map<string, Plan>();
  readonly stats: CudnnConvolutionStats = { graphPlans: 0, legacyPlans: 0, graphError: null };

  private constructor(
    private readonly device: CudaDevice,
    private readonly ctx: CudnnContext,
    /** The graph API's plans; null where this cuDNN has no graph API (the legacy API runs everything). */
    private readonly graphs: ConvolutionGraphs | null,
  ) {}

  /** The device's cuDNN convolutions, or null when cuDNN is unavailable. */
  static create(device: CudaDevice): CudnnConvolution | null {
    const ctx = cudnnContext(device);
    if (!ctx) return null;
    const api = graphApi(ctx.library);
    return new CudnnConvolution(device, ctx, api ? new ConvolutionGraphs(api, ctx, device) : null);
  }

  supports(dtype: DataType): boolean {
    return CUDNN_DATA_TYPE[dtype] !== undefined && (dtype !== 'BFLOAT16' || this.device.computeCapability[0] >= 8);
  }

  forward(x: TensorRef, w: TensorRef, y: TensorRef, g: Conv2dGeometry): void {
    this.run('forward', { x, w, y }, g, (p, ptr, algo, ws, bytes, one, zero) =>
      this.ctx.lib.forward(this.ctx.handle, one, p.x, ptr.x, p.w, ptr.w, p.conv, algo, ws, bytes, zero, p.y, ptr.y));
  }

  backwardData(w: TensorRef, dy: TensorRef, dx: TensorRef, g: Conv2dGeometry): void {
    this.run('backwardData', { x: dx, w, y: dy }, g, (p, ptr, algo, ws, bytes, one, zero) =>
      this.ctx.lib.backwardData(this.ctx.handle, one, p.w, ptr.w, p.y, ptr.y, p.conv, algo, ws, bytes, zero, p.x, ptr.x));
  }

  backwardFilter(x: TensorRef, dy: TensorRef, dw: TensorRef, g: Conv2dGeometry): void {
    this.run('backwardFilter', { x, w: dw, y: dy }, g, (p, ptr, algo, ws, bytes, one, zero) =>
      this.ctx.lib.backwardFilter(this.ctx.handle, one, p.x, ptr.x, p.y, ptr.y, p.conv, algo, ws, bytes, zero, p.w, ptr.w));
  }

  private run(
    pass: Pass, refs: Readonly<Record<Role, TensorRef>>, g: Conv2dGeometry,
    call: (p: Plan, ptr: Pointers, algo: number, ws: number, bytes: number, one: Float32Array | Float64Array, zero: Float32Array | Float64Array) => number,
  ): void {
    const op = `conv2d ${pass} (cuDNN)`;
    const dtype = refs.x.dtype;
    const ptrs = { x: ptrOf(refs.x), w: ptrOf(refs.w), y: ptrOf(refs.y) };
    this.device.makeCurrent();
    const p = this.plan(dtype, refs.x.shape, refs.w.shape, refs.y.shape, g, ptrs, op);
    const { choice, widened } = (p.executions[pass] ??= this.execution(pass, p, dtype, refs, g, ptrs, op));
    const double = dtype === 'DOUBLE';
    const one = double ? this.ctx.one64 : this.ctx.one32;
    const zero = double ? this.ctx.zero64 : this.ctx.zero32;
    const blocks: Block[] = [];
    const convolve = (plan: Plan, at: Pointers): void => {
      const ws = choice.workspace > 0 ? blocks[0]!.ptr : 0;
      if (choice.graph) this.graphs!.execute(choice.graph, at, ws, op);
      else checkCudnn(call(plan, at, choice.algo, ws, choice.workspace, one, zero), `cudnnConvolution${pass[0]!.toUpperCase()}${pass.slice(1)}`, op);
    };
    try {
      if (choice.workspace > 0) blocks.push(this.device.allocator.alloc(choice.workspace));
      if (!widened) {
        convolve(p, ptrs);
        return;
      }
      const output = OUTPUT_ROLE[pass];
      const wide = {} as Record<Role, TensorRef>;
      for (const role of ROLES) {
        const r = refs[role];
        wide[role] = this.floatScratch(r.shape, blocks);
        if (role !== output) unary(this.device, 'identity', r, wide[role], 0, 0);
      }
      convolve(widened, { x: ptrOf(wide.x), w: ptrOf(wide.w), y: ptrOf(wide.y) });
      unary(this.device, 'identity', wide[output], refs[output], 0, 0);
    } finally {
      // Stream-ordered: the allocator hands these blocks out again only to work queued after this call.
      for (const b of blocks) this.device.allocator.free(b);
    }
  }

  /** A packed FLOAT array of `shape` in a new block of the caching allocator (listed in `blocks` for release). */
  private floatScratch(shape: readonly number[], blocks: Block[]): TensorRef {
    const bytes = sizeOfShape(shape) * dtypeSize('FLOAT');
    const block = this.device.allocator.alloc(bytes);
    blocks.push(block);
    return { buffer: new CudaBuffer(block, bytes, this.device), dtype: 'FLOAT', offset: 0, shape, strides: contiguousStrides(shape) };
  }

  /** The descriptors of one convolution; `strict` plans (widened 16-bit passes) compute FLOAT without TF32. */
  private plan(dtype: DataType, xShape: readonly number[], wShape: readonly number[], yShape: readonly number[], g: Conv2dGeometry, ptrs: Pointers, op: string, strict = false): Plan {
    const { allowTF32, widenHalfConvolutions } = cudaConfiguration();
    const tf32 = dtype === 'FLOAT' && !strict && allowTF32;
    // A 16-bit plan's passes depend on the widening mode, so each mode has its own plan; graph plans
    // assume their operands' alignment.
    const mode = isHalfFloat(dtype) ? widenHalfConvolutions : '';
    const aligned = ROLES.map((r) => alignmentOf(ptrs[r])).join(',');
    const key = `${dtype}|${xShape.join(',')}|${wShape.join(',')}|${g.kh},${g.kw},${g.sh},${g.sw},${g.ph},${g.pw},${g.dh},${g.dw}|${tf32}|${mode}|${aligned}`;
    let p = this.plans.get(key);
    if (p) return p;
    const lib = this.ctx.lib;
    const type = CUDNN_DATA_TYPE[dtype];
    if (type === undefined) throw new Error(`${op}: cuDNN has no ${dtype} convolution`);
    const [o, c, kh, kw] = wShape as [number, number, number, number];
    const filter = createDescriptor(lib, 'Filter', op);
    checkCudnn(lib.setFilter4d(filter, type, CUDNN_TENSOR_NCHW, o, c, kh, kw), 'cudnnSetFilter4dDescriptor', op);
    const conv = createDescriptor(lib, 'Convolution', op);
    checkCudnn(lib.setConvolution2d(conv, g.ph, g.pw, g.sh, g.sw, g.dh, g.dw, CUDNN_CROSS_CORRELATION, dtype === 'DOUBLE' ? 1 : 0), 'cudnnSetConvolution2dDescriptor', op);
    // HALF/BFLOAT16 on tensor cores (float32 accumulation); FLOAT on FMA units unless TF32 is allowed.
    const math = isHalfFloat(dtype) ? CUDNN_TENSOR_OP_MATH : dtype === 'FLOAT' && !tf32 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
    checkCudnn(lib.setConvolutionMathType(conv, math), 'cudnnSetConvolutionMathType', op);
    p = { x: tensorDesc(lib, type, xShape, op), w: filter, y: tensorDesc(lib, type, yShape, op), conv, tf32, executions: {} };
    this.plans.set(key, p);
    return p;
  }

  /** How a pass of plan `p` runs: its own fastest way, or for 16-bit data widened to FLOAT when that is clearly faster. */
  private execution(pass: Pass, p: Plan, dtype: DataType, refs: Readonly<Record<Role, TensorRef>>, g: Conv2dGeometry, ptrs: Pointers, op: string): Execution {
    const mode = cudaConfiguration().widenHalfConvolutions;
    const sixteen = isHalfFloat(dtype);
    const own = sixteen && mode === 'always' ? null : this.choose(pass, p, dtype, refs, g, ptrs, op);
    if (own && (!sixteen || mode === 'never')) return { choice: own, widened: null };
    // The FLOAT candidates are timed on scratch operands of FLOAT size.
    const blocks: Block[] = [];
    let alt: Choice;
    let wide: Plan;
    try {
      const scratch = Object.fromEntries(ROLES.map((r) => [r, this.floatScratch(refs[r].shape, blocks)])) as Record<Role, TensorRef>;
      const at = { x: ptrOf(scratch.x), w: ptrOf(scratch.w), y: ptrOf(scratch.y) };
      wide = this.plan('FLOAT', refs.x.shape, refs.w.shape, refs.y.shape, g, at, op, true);
      alt = this.choose(pass, wide, 'FLOAT', scratch, g, at, op);
    } finally {
      for (const b of blocks) this.device.allocator.free(b);
    }
    if (!own) return { choice: alt, widened: wide };
    // Each operand is cast once, reading or writing 2 + 4 bytes per element.
    const elements = sizeOfShape(refs.x.shape) + sizeOfShape(refs.w.shape) + sizeOfShape(refs.y.shape);
    const castMs = 3 * CAST_LAUNCH_MS + (elements * (dtypeSize(dtype) + dtypeSize('FLOAT'))) / CAST_BYTES_PER_MS;
    return alt.ms + castMs < own.ms * WIDEN_MARGIN ? { choice: alt, widened: wide } : { choice: own, widened: null };
  }

  /** The pass's fastest graph-API plan (timed on the operands), else the legacy API's fastest algorithm. */
  private choose(pass: Pass, p: Plan, dtype: DataType, refs: Readonly<Record<Role, TensorRef>>, g: Conv2dGeometry, ptrs: Pointers, op: string): Choice {
    // The largest workspace the caching allocator keeps: a larger one would be allocated from the
    // driver and freed (with a stream sync) on every call.
    const cap = Math.min(MAX_WORKSPACE_BYTES, cudaConfiguration().maximumDeviceCacheableLength);
    let graph: GraphPlan | null = null;
    try {
      graph = this.graphs?.build({ pass, dtype, x: refs.x.shape, w: refs.w.shape, y: refs.y.shape, g, tf32: p.tf32 }, ptrs, cap, op) ?? null;
    } catch (e) {
      // A graph the library refuses runs on the legacy API; the reason shows in the backend's info().
      if (!(e instanceof CudnnError)) throw e;
      this.stats.graphError = e.message;
    }
    if (graph) {
      this.stats.graphPlans++;
      return { graph, algo: -1, workspace: graph.workspace, ms: graph.ms };
    }
    this.stats.legacyPlans++;
    return this.chooseLegacy(pass, p, dtype, cap, op);
  }

  /** cudnnFind times every legacy algorithm once; the fastest that succeeded wins. */
  private chooseLegacy(pass: Pass, p: Plan, dtype: DataType, cap: number, op: string): Choice {
    const excluded = isHalfFloat(dtype) ? TRANSFORM_ALGOS[pass] : null;
    const lib = this.ctx.lib;
    const h = this.ctx.handle;
    const perf = Buffer.alloc(PERF_BYTES * MAX_ALGOS);
    const returned: [number] = [0];
    this.device.makeCurrent();
    if (pass === 'forward') checkCudnn(lib.findForward(h, p.x, p.w, p.conv, p.y, MAX_ALGOS, returned, perf), 'cudnnFindConvolutionForwardAlgorithm', op);
    else if (pass === 'backwardData') checkCudnn(lib.findBackwardData(h, p.w, p.y, p.conv, p.x, MAX_ALGOS, returned, perf), 'cudnnFindConvolutionBackwardDataAlgorithm', op);
    else checkCudnn(lib.findBackwardFilter(h, p.x, p.y, p.conv, p.w, MAX_ALGOS, returned, perf), 'cudnnFindConvolutionBackwardFilterAlgorithm', op);
    let fallback: Choice | null = null;
    for (let i = 0; i < returned[0]; i++) {
      const v = new DataView(perf.buffer, perf.byteOffset + i * PERF_BYTES, PERF_BYTES);
      const algo = v.getInt32(0, true);
      if (v.getInt32(4, true) !== 0 || excluded?.has(algo)) continue;
      const bytes: [number] = [0];
      if (pass === 'forward') checkCudnn(lib.forwardWorkspace(h, p.x, p.w, p.conv, p.y, algo, bytes), 'cudnnGetConvolutionForwardWorkspaceSize', op);
      else if (pass === 'backwardData') checkCudnn(lib.backwardDataWorkspace(h, p.w, p.y, p.conv, p.x, algo, bytes), 'cudnnGetConvolutionBackwardDataWorkspaceSize', op);
      else checkCudnn(lib.backwardFilterWorkspace(h, p.x, p.y, p.conv, p.w, algo, bytes), 'cudnnGetConvolutionBackwardFilterWorkspaceSize', op);
      const choice = { graph: null, algo, workspace: Number(bytes[0]), ms: v.getFloat32(8, true) };
      if (choice.workspace <= cap) return choice;
      fallback ??= choice;
    }
    if (fallback) return fallback;
    throw new Error(`${op}: cuDNN found no algorithm that runs this convolution`);
  }
}
