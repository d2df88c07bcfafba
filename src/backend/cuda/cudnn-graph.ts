/**
 * Convolutions through cuDNN's graph (backend) API: per pass, shapes, types and operand alignment,
 * an execution plan is built once from cuDNN's heuristics, the candidates that keep our numerics are
 * timed on the device and the fastest is kept; a call then only packs the operand addresses and
 * executes it. The legacy API re-plans inside every call (about 130 us of host time per convolution
 * measured on an H200 host, more than the kernels of a small network's step), which this avoids, as
 * PyTorch does with its cached plans.
 */
import type { Conv2dGeometry } from '../backend.js';
import { isHalfFloat, type DataType } from '../../ndarray/dtype.js';
import { contiguousStrides } from '../../ndarray/shape.js';
import { check, cu, koffi, out, type Handle } from './driver.js';
import type { CudaDevice } from './device.js';
import { CUDNN_CROSS_CORRELATION, CUDNN_DATA_TYPE, CudnnError, type CudnnContext } from './cudnn.js';
import type { Library } from './libraries.js';

/** cudnnBackendDescriptorType_t */
const DESC = { CONVOLUTION: 1, ENGINE: 2, ENGINECFG: 3, ENGINEHEUR: 4, EXECUTION_PLAN: 5, CONV_FORWARD: 10, CONV_BACKWARD_FILTER: 11, CONV_BACKWARD_DATA: 12, OPERATION_GRAPH: 15, VARIANT_PACK: 16, TENSOR: 17 } as const;
/** cudnnBackendAttributeType_t */
const TYPE = { HANDLE: 0, DATA_TYPE: 1, INT64: 3, FLOAT: 4, DOUBLE: 5, VOID_PTR: 6, CONVOLUTION_MODE: 7, HEUR_MODE: 8, NUMERICAL_NOTE: 11, BACKEND_DESCRIPTOR: 15, BEHAVIOR_NOTE: 19 } as const;
/** cudnnBackendAttributeName_t */
const ATTR = {
  CONV_COMP_TYPE: 100, CONV_MODE: 101, CONV_DILATIONS: 102, CONV_FILTER_STRIDES: 103, CONV_POST_PADDINGS: 104, CONV_PRE_PADDINGS: 105, CONV_SPATIAL_DIMS: 106,
  HEUR_MODE: 200, HEUR_OPERATION_GRAPH: 201, HEUR_RESULTS: 202,
  CFG_ENGINE: 300,
  PLAN_HANDLE: 400, PLAN_ENGINE_CONFIG: 401, PLAN_WORKSPACE_SIZE: 402,
  OPGRAPH_HANDLE: 800, OPGRAPH_OPS: 801, OPGRAPH_ENGINE_GLOBAL_COUNT: 802,
  TENSOR_BYTE_ALIGNMENT: 900, TENSOR_DATA_TYPE: 901, TENSOR_DIMENSIONS: 902, TENSOR_STRIDES: 903, TENSOR_UNIQUE_ID: 906,
  PACK_UNIQUE_IDS: 1000, PACK_DATA_POINTERS: 1001, PACK_WORKSPACE: 1003,
  ENGINE_OPERATION_GRAPH: 1300, ENGINE_GLOBAL_INDEX: 1301, ENGINE_NUMERICAL_NOTE: 1303, ENGINE_BEHAVIOR_NOTE: 1305,
} as const;
/** Per operation kind: its attributes for alpha, beta, the convolution and the x, w, y roles. */
const OPERATION = {
  forward: { desc: DESC.CONV_FORWARD, alpha: 700, beta: 701, conv: 702, w: 703, x: 704, y: 705 },
  backwardData: { desc: DESC.CONV_BACKWARD_DATA, alpha: 706, beta: 707, conv: 708, w: 709, x: 710, y: 711 },
  backwardFilter: { desc: DESC.CONV_BACKWARD_FILTER, alpha: 712, beta: 713, conv: 714, w: 715, x: 716, y: 717 },
} as const;
/** cudnnBackendHeurMode_t */
const HEUR_MODE_A = 3;
/** cudnnBackendNumericalNote_t */
const NOTE = { TENSOR_CORE: 0, DOWN_CONVERT_INPUTS: 1, REDUCED_PRECISION_REDUCTION: 2, FFT: 3, WINOGRAD: 5, WINOGRAD_4x4: 6, WINOGRAD_6x6: 7, WINOGRAD_13x13: 8 } as const;
const BEHAVIOR_RUNTIME_COMPILATION = 0;
/** Unique ids of the three operands in every graph and variant pack. */
const UID = { x: 1, w: 2, y: 3 } as const;
/** A variant pack's unique ids, in the order of its data pointers (x, w, y). */
const PACK_UIDS = BigInt64Array.of(BigInt(UID.x), BigInt(UID.w), BigInt(UID.y));
/** Candidates timed per plan: the heuristics' configurations first, then every other engine. */
const MAX_CANDIDATES = 32;

export type GraphPass = keyof typeof OPERATION;
export type Role = 'x' | 'w' | 'y';
export type Pointers = Readonly<Record<Role, number>>;

type Status = number;
type Out<T> = [T];
type Desc = number;

function bindGraph(lib: Library) {
  const f = <T extends (...args: never[]) => unknown>(signature: string): T => lib.func(signature) as unknown as T;
  return {
    create: f<(type: number, desc: Out<Desc>) => Status>('int cudnnBackendCreateDescriptor(int type, _Out_ uint64_t *desc)'),
    destroy: f<(desc: Desc) => Status>('int cudnnBackendDestroyDescriptor(uint64_t desc)'),
    finalize: f<(desc: Desc) => Status>('int cudnnBackendFinalize(uint64_t desc)'),
    set: f<(desc: Desc, name: number, type: number, count: number, elements: ArrayBufferView) => Status>(
      'int cudnnBackendSetAttribute(uint64_t desc, int name, int type, int64_t count, const void *elements)'),
    get: f<(desc: Desc, name: number, type: number, requested: number, count: Out<number>, elements: ArrayBufferView | null) => Status>(
      'int cudnnBackendGetAttribute(uint64_t desc, int name, int type, int64_t requested, _Out_ int64_t *count, void *elements)'),
    execute: f<(handle: Handle, plan: Desc, pack: Desc) => Status>('int cudnnBackendExecute(void *handle, uint64_t plan, uint64_t pack)'),
  };
}

export type GraphApi = ReturnType<typeof bindGraph>;
const apis = new WeakMap<Library, GraphApi | null>();

/** The graph API of a loaded cuDNN, or null where it lacks one (the legacy API then runs everything). */
export function graphApi(lib: Library): GraphApi | null {
  if (!apis.has(lib)) {
    let api: GraphApi | null = null;
    try {
      api = bindGraph(lib);
    } catch {
      api = null;
    }
    apis.set(lib, api);
  }
  return apis.get(lib)!;
}

/** What a plan computes: the pass, operand shapes and storage type, geometry and which numerics it may use. */
export interface GraphKey {
  readonly pass: GraphPass;
  readonly dtype: DataType;
  readonly x: readonly number[];
  readonly w: readonly number[];
  readonly y: readonly number[];
  readonly g: Conv2dGeometry;
  /** FLOAT may run on TF32 tensor cores. */
  readonly tf32: boolean;
}

/** A built, timed execution plan. */
export interface GraphPlan {
  readonly plan: Desc;
  readonly workspace: number;
  readonly ms: number;
}

/** Largest power of two (up to 16) dividing an address: what a plan may assume about an operand. */
export function alignmentOf(ptr: number): number {
  let a = 16;
  while (a > 1 && ptr % a !== 0) a /= 2;
  return a;
}

/**
 * Engines whose numerics a plan must not use: 16-bit data keeps float32 accumulation and no
 * transform (FFT, Winograd) in 16 bits; FLOAT without TF32 stays off tensor cores.
 */
function excludedNotes(key: GraphKey): ReadonlySet<number> {
  const notes: number[] = [NOTE.DOWN_CONVERT_INPUTS, NOTE.REDUCED_PRECISION_REDUCTION];
  if (isHalfFloat(key.dtype)) notes.push(NOTE.FFT, NOTE.WINOGRAD, NOTE.WINOGRAD_4x4, NOTE.WINOGRAD_6x6, NOTE.WINOGRAD_13x13);
  if (key.dtype === 'FLOAT' && !key.tf32) notes.push(NOTE.TENSOR_CORE);
  return new Set(notes);
}

/**
 * Builds descriptors through one GraphApi, remembering each for release; every status is checked
 * and names the operation.
 */
class Builder {
  private readonly made: Desc[] = [];

  constructor(readonly api: GraphApi, readonly op: string) {}

  check(status: Status, call: string): void {
    if (status !== 0) throw new CudnnError(call, status, this.op);
  }

  create(type: number): Desc {
    const d: Out<Desc> = [0];
    this.check(this.api.create(type, d), 'cudnnBackendCreateDescriptor');
    this.made.push(d[0]);
    return d[0];
  }

  set(d: Desc, name: number, type: number, values: ArrayBufferView, count: number): void {
    this.check(this.api.set(d, name, type, count, values), `cudnnBackendSetAttribute(${name})`);
  }

  int64s(d: Desc, name: number, values: readonly number[]): void {
    this.set(d, name, TYPE.INT64, BigInt64Array.from(values, BigInt), values.length);
  }

  descriptors(d: Desc, name: number, values: readonly Desc[]): void {
    this.set(d, name, TYPE.BACKEND_DESCRIPTOR, BigInt64Array.from(values, BigInt), values.length);
  }

  finalize(d: Desc): void {
    this.check(this.api.finalize(d), 'cudnnBackendFinalize');
  }

  /** How many descriptors were made so far. */
  get count(): number {
    return this.made.length;
  }

  /** The first `n` descriptors made. */
  first(n: number): readonly Desc[] {
    return this.made.slice(0, n);
  }

  release(except: ReadonlySet<Desc> = new Set()): void {
    for (const d of this.made.splice(0).reverse()) if (!except.has(d)) this.api.destroy(d);
  }
}

/** The execution plans of one device's cuDNN handle. */
export class ConvolutionGraphs {
  private readonly handleAddress: BigInt64Array;

  constructor(
    private readonly api: GraphApi,
    private readonly ctx: CudnnContext,
    private readonly device: CudaDevice,
  ) {
    this.handleAddress = BigInt64Array.of(BigInt(koffi.address(ctx.handle) as bigint));
  }

  /**
   * The fastest plan for `key` among the heuristics' configurations and every engine's default
   * configuration that its numerics allow, timed on
   * `ptrs` (operands of the key's shapes, whose output may be overwritten), with workspaces up to
   * `maxWorkspace` bytes; null when cuDNN offers none.
   */
  build(key: GraphKey, ptrs: Pointers, maxWorkspace: number, op: string): GraphPlan | null {
    const type = CUDNN_DATA_TYPE[key.dtype];
    if (type === undefined) return null;
    const b = new Builder(this.api, op);
    const kept = new Set<Desc>();
    try {
      const graph = this.operationGraph(b, key, type, ptrs);
      const chain = b.count;
      const excluded = excludedNotes(key);
      const candidates: { plan: Desc; cfg: Desc; workspace: number }[] = [];
      // The heuristics' configurations carry tuned knobs, but they do not list every engine (FLOAT's
      // non-fused Winograd, 1.8x faster for 3x3 layers of 64 channels on an H100, is missing): every
      // engine with its default knobs is a candidate too.
      const engineOf = new Map<Desc, Desc>();
      for (const cfg of [...this.engineConfigs(b, graph), ...this.everyEngine(b, graph, engineOf)]) {
        if (candidates.length >= MAX_CANDIDATES) break;
        if (!this.allowed(b, cfg, excluded)) continue;
        const plan = b.create(DESC.EXECUTION_PLAN);
        b.set(plan, ATTR.PLAN_HANDLE, TYPE.HANDLE, this.handleAddress, 1);
        b.descriptors(plan, ATTR.PLAN_ENGINE_CONFIG, [cfg]);
        // An engine that cannot run these shapes refuses to finalize: not a candidate.
        if (this.api.finalize(plan) !== 0) continue;
        const ws = BigInt64Array.of(0n);
        const n: Out<number> = [0];
        b.check(this.api.get(plan, ATTR.PLAN_WORKSPACE_SIZE, TYPE.INT64, 1, n, ws), 'cudnnBackendGetAttribute(workspace)');
        const workspace = Number(ws[0]);
        if (workspace <= maxWorkspace) candidates.push({ plan, cfg, workspace });
      }
      let best: (GraphPlan & { cfg: Desc }) | null = null;
      for (const c of candidates) {
        const ms = this.time(c.plan, ptrs, c.workspace, best?.ms ?? Infinity, op);
        if (!best || ms < best.ms) best = { ...c, ms };
      }
      if (!best) return null;
      // The chosen plan lives as long as the device's plans, with everything it was built from.
      for (const d of [...b.first(chain), best.cfg, engineOf.get(best.cfg) ?? best.cfg, best.plan]) kept.add(d);
      return { plan: best.plan, workspace: best.workspace, ms: best.ms };
    } finally {
      b.release(kept);
    }
  }

  /** Runs a plan on the stream with the operands' addresses and a workspace of plan.workspace bytes at `ws`. */
  execute(plan: GraphPlan, ptrs: Pointers, ws: number, op: string): void {
    const b = new Builder(this.api, op);
    try {
      const pack = b.create(DESC.VARIANT_PACK);
      b.set(pack, ATTR.PACK_UNIQUE_IDS, TYPE.INT64, PACK_UIDS, PACK_UIDS.length);
      b.set(pack, ATTR.PACK_DATA_POINTERS, TYPE.VOID_PTR, BigInt64Array.of(BigInt(ptrs.x), BigInt(ptrs.w), BigInt(ptrs.y)), 3);
      b.set(pack, ATTR.PACK_WORKSPACE, TYPE.VOID_PTR, BigInt64Array.of(BigInt(ws)), 1);
      b.finalize(pack);
      b.check(this.api.execute(this.ctx.handle, plan.plan, pack), 'cudnnBackendExecute');
    } finally {
      b.release();
    }
  }

  private tensor(b: Builder, type: number, uid: number, shape: readonly number[], ptr: number): Desc {
    const t = b.create(DESC.TENSOR);
    b.set(t, ATTR.TENSOR_DATA_TYPE, TYPE.DATA_TYPE, Int32Array.of(type), 1);
    b.int64s(t, ATTR.TENSOR_DIMENSIONS, shape);
    // Packed NCHW.
    b.int64s(t, ATTR.TENSOR_STRIDES, contiguousStrides(shape));
    b.int64s(t, ATTR.TENSOR_UNIQUE_ID, [uid]);
    b.int64s(t, ATTR.TENSOR_BYTE_ALIGNMENT, [alignmentOf(ptr)]);
    b.finalize(t);
    return t;
  }

  private operationGraph(b: Builder, key: GraphKey, type: number, ptrs: Pointers): Desc {
    const double = key.dtype === 'DOUBLE';
    const conv = b.create(DESC.CONVOLUTION);
    b.set(conv, ATTR.CONV_COMP_TYPE, TYPE.DATA_TYPE, Int32Array.of(double ? CUDNN_DATA_TYPE.DOUBLE! : CUDNN_DATA_TYPE.FLOAT!), 1);
    b.set(conv, ATTR.CONV_MODE, TYPE.CONVOLUTION_MODE, Int32Array.of(CUDNN_CROSS_CORRELATION), 1);
    b.int64s(conv, ATTR.CONV_SPATIAL_DIMS, [2]);
    const { g } = key;
    b.int64s(conv, ATTR.CONV_DILATIONS, [g.dh, g.dw]);
    b.int64s(conv, ATTR.CONV_FILTER_STRIDES, [g.sh, g.sw]);
    b.int64s(conv, ATTR.CONV_PRE_PADDINGS, [g.ph, g.pw]);
    b.int64s(conv, ATTR.CONV_POST_PADDINGS, [g.ph, g.pw]);
    b.finalize(conv);
    const o = OPERATION[key.pass];
    const operation = b.create(o.desc);
    b.descriptors(operation, o.x, [this.tensor(b, type, UID.x, key.x, ptrs.x)]);
    b.descriptors(operation, o.w, [this.tensor(b, type, UID.w, key.w, ptrs.w)]);
    b.descriptors(operation, o.y, [this.tensor(b, type, UID.y, key.y, ptrs.y)]);
    b.descriptors(operation, o.conv, [conv]);
    if (double) {
      b.set(operation, o.alpha, TYPE.DOUBLE, Float64Array.of(1), 1);
      b.set(operation, o.beta, TYPE.DOUBLE, Float64Array.of(0), 1);
    } else {
      b.set(operation, o.alpha, TYPE.FLOAT, Float32Array.of(1), 1);
      b.set(operation, o.beta, TYPE.FLOAT, Float32Array.of(0), 1);
    }
    b.finalize(operation);
    const graph = b.create(DESC.OPERATION_GRAPH);
    b.set(graph, ATTR.OPGRAPH_HANDLE, TYPE.HANDLE, this.handleAddress, 1);
    b.descriptors(graph, ATTR.OPGRAPH_OPS, [operation]);
    b.finalize(graph);
    return graph;
  }

  /** The heuristics' engine configurations for the graph, best first. */
  private engineConfigs(b: Builder, graph: Desc): Desc[] {
    const heur = b.create(DESC.ENGINEHEUR);
    b.descriptors(heur, ATTR.HEUR_OPERATION_GRAPH, [graph]);
    b.set(heur, ATTR.HEUR_MODE, TYPE.HEUR_MODE, Int32Array.of(HEUR_MODE_A), 1);
    if (this.api.finalize(heur) !== 0) return [];
    const count: Out<number> = [0];
    b.check(this.api.get(heur, ATTR.HEUR_RESULTS, TYPE.BACKEND_DESCRIPTOR, 0, count, null), 'cudnnBackendGetAttribute(heuristic results)');
    const n = Number(count[0]);
    if (n === 0) return [];
    // cuDNN fills descriptors the caller created.
    const configs = Array.from({ length: n }, () => b.create(DESC.ENGINECFG));
    const handles = BigInt64Array.from(configs, BigInt);
    b.check(this.api.get(heur, ATTR.HEUR_RESULTS, TYPE.BACKEND_DESCRIPTOR, n, count, handles), 'cudnnBackendGetAttribute(heuristic results)');
    return configs.slice(0, Number(count[0]));
  }

  /** A configuration with default knobs of every engine that supports the graph, by global index. */
  private everyEngine(b: Builder, graph: Desc, engineOf: Map<Desc, Desc>): Desc[] {
    const count = BigInt64Array.of(0n);
    const n: Out<number> = [0];
    b.check(this.api.get(graph, ATTR.OPGRAPH_ENGINE_GLOBAL_COUNT, TYPE.INT64, 1, n, count), 'cudnnBackendGetAttribute(engine count)');
    const configs: Desc[] = [];
    for (let i = 0; i < Number(count[0]); i++) {
      const engine = b.create(DESC.ENGINE);
      b.descriptors(engine, ATTR.ENGINE_OPERATION_GRAPH, [graph]);
      b.int64s(engine, ATTR.ENGINE_GLOBAL_INDEX, [i]);
      // Engines that do not support the graph refuse to finalize.
      if (this.api.finalize(engine) !== 0) continue;
      const cfg = b.create(DESC.ENGINECFG);
      b.descriptors(cfg, ATTR.CFG_ENGINE, [engine]);
      if (this.api.finalize(cfg) !== 0) continue;
      configs.push(cfg);
      engineOf.set(cfg, engine);
    }
    return configs;
  }

  /** Whether an engine configuration keeps the key's numerics and needs no runtime compilation. */
  private allowed(b: Builder, cfg: Desc, excluded: ReadonlySet<number>): boolean {
    const engine = b.create(DESC.ENGINE);
    const count: Out<number> = [0];
    b.check(this.api.get(cfg, ATTR.CFG_ENGINE, TYPE.BACKEND_DESCRIPTOR, 1, count, BigInt64Array.of(BigInt(engine))), 'cudnnBackendGetAttribute(engine)');
    const notes = new Int32Array(16);
    b.check(this.api.get(engine, ATTR.ENGINE_NUMERICAL_NOTE, TYPE.NUMERICAL_NOTE, notes.length, count, notes), 'cudnnBackendGetAttribute(numerical notes)');
    for (let i = 0; i < Number(count[0]); i++) if (excluded.has(notes[i]!)) return false;
    const behavior = new Int32Array(16);
    b.check(this.api.get(engine, ATTR.ENGINE_BEHAVIOR_NOTE, TYPE.BEHAVIOR_NOTE, behavior.length, count, behavior), 'cudnnBackendGetAttribute(behavior notes)');
    for (let i = 0; i < Number(count[0]); i++) if (behavior[i] === BEHAVIOR_RUNTIME_COMPILATION) return false;
    return true;
  }

  /**
   * Device time of a plan in ms: one run, and where that is within 2x of the best so far, the median
   * of three (the first run of an engine may load its kernels).
   */
  private time(plan: Desc, ptrs: Pointers, workspace: number, best: number, op: string): number {
    const device = this.device;
    const block = workspace > 0 ? device.allocator.alloc(workspace) : null;
    const start = out('cuEventCreate', (o) => cu().eventCreate(o, 0), null as Handle, op);
    const end = out('cuEventCreate', (o) => cu().eventCreate(o, 0), null as Handle, op);
    try {
      const candidate = { plan, workspace, ms: 0 };
      const ws = block ? block.ptr : 0;
      const run = (): number => {
        check(cu().eventRecord(start, device.stream), 'cuEventRecord', op);
        this.execute(candidate, ptrs, ws, op);
        check(cu().eventRecord(end, device.stream), 'cuEventRecord', op);
        check(cu().eventSynchronize(end), 'cuEventSynchronize', op);
        return out('cuEventElapsedTime', (o) => cu().eventElapsedTime(o, start, end), 0, op);
      };
      const first = run();
      if (first > 2 * best) return first;
      return [first, run(), run()].sort((a, c) => a - c)[1]!;
    } finally {
      if (block) device.allocator.free(block);
      check(cu().eventDestroy(start), 'cuEventDestroy', op);
      check(cu().eventDestroy(end), 'cuEventDestroy', op);
    }
  }
}
