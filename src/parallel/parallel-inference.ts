/**
 * DL4J's ParallelInference: one model (a MultiLayerNetwork or a ComputationGraph) answering
 * output() calls from many concurrent callers on several worker threads (each bound to one device,
 * like ParallelWrapper's workers). In 'BATCHED' mode the requests waiting for a free worker are
 * merged along the example axis (every input of a graph), up to `batchLimit` examples, into one
 * forward pass whose outputs are split back per caller; in 'SEQUENTIAL' mode each request is its own pass.
 * At most `queueLimit` requests wait for a worker; further callers wait for room before their input
 * is read. The workers hold a snapshot of the model taken at construction.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import type { MemoryReport } from '../ndarray/memory.js';
import { serializeModel } from '../nn/model-serializer.js';
import { isGraph, type ParallelModel } from './parallel-model.js';
import { defaultWorkerCount, workerBackendNames } from './devices.js';
import { WorkerPool } from './worker-pool.js';
import { concatRows, packArray, unpackRows, type PackedArray } from './transfer.js';

export type InferenceMode = 'BATCHED' | 'SEQUENTIAL';

/** ParallelInference's options (DL4J's ParallelInference.Builder). */
export interface ParallelInferenceOptions {
  /** Worker threads (default: one per usable CUDA device, 2 on the CPU backend). */
  workers?: number;
  /** Default 'BATCHED'. */
  inferenceMode?: InferenceMode;
  /** BATCHED: most examples merged into one forward pass (default 32; a larger single request still runs alone). */
  batchLimit?: number;
  /** Most requests waiting for a worker (default 64). */
  queueLimit?: number;
  /** Module URLs each worker imports before binding its backend. */
  workerModules?: readonly (string | URL)[];
}

/** Counts since construction. */
export interface ParallelInferenceStats {
  /** output() and outputs() calls answered or failed. */
  readonly requests: number;
  /** Forward passes run on workers. */
  readonly batches: number;
  /** Most examples in one forward pass. */
  readonly largestBatch: number;
}

interface Request {
  /** One per model input, each with `rows` examples. */
  readonly inputs: readonly PackedArray[];
  readonly rows: number;
  /** Runs alone: its merged batch failed, so it is retried by itself to find out whose input was bad. */
  solo: boolean;
  resolve(outs: NDArray[]): void;
  reject(e: Error): void;
}

/** What callers must pass and get back: the model's input and output names (a network has one of each). */
interface ModelShape {
  readonly graph: boolean;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

function shapeOf(model: ParallelModel): ModelShape {
  return isGraph(model)
    ? { graph: true, inputs: model.resolved.inputs, outputs: model.resolved.outputs }
    : { graph: false, inputs: ['input'], outputs: ['output'] };
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`ParallelInference: ${name} must be a positive integer, got ${value}`);
  return value;
}

/** The model's bytes (parameters, no updater state) in one buffer every worker reads, and its kind. */
interface Snapshot {
  readonly model: SharedArrayBuffer;
  readonly shape: ModelShape;
}

function snapshot(model: ParallelModel): Snapshot {
  const bytes = serializeModel(model, { saveUpdater: false });
  const buffer = new SharedArrayBuffer(bytes.byteLength);
  new Uint8Array(buffer).set(bytes);
  return { model: buffer, shape: shapeOf(model) };
}

/** Loads the model into every worker (queued behind the requests each already has). */
async function loadAll(pool: WorkerPool, { model, shape }: Snapshot): Promise<void> {
  await Promise.all(pool.backends.map((_, k) => pool.call(k, { type: 'load', model, graph: shape.graph, sharedGradients: false }, 'done')));
}

/** Same dtype and shape beyond the example axis: can share a forward pass. */
function mergeableArray(a: PackedArray, b: PackedArray): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => i === 0 || d === b.shape[i]);
}

/** Requests whose inputs pair up mergeably (same count; each pair mergeable). */
function mergeable(a: Request, b: Request): boolean {
  return a.inputs.length === b.inputs.length && a.inputs.every((x, i) => mergeableArray(x, b.inputs[i]!));
}

export class ParallelInference implements AsyncDisposable {
  readonly workers: number;
  readonly inferenceMode: InferenceMode;
  readonly batchLimit: number;
  readonly queueLimit: number;
  /** The backend each worker binds to (index = worker). */
  readonly workerBackends: readonly string[];
  private readonly started: Promise<WorkerPool>;
  private pool: WorkerPool | null = null;
  private readonly idle: number[] = [];
  private readonly queue: Request[] = [];
  /** Callers waiting for room in the queue. */
  private readonly waiting: (() => void)[] = [];
  private pumpScheduled = false;
  private closedFlag = false;
  private counts = { requests: 0, batches: 0, largestBatch: 0 };
  /** The model most recently given: what requests are checked against. */
  private shape: ModelShape;

  /**
   * Starts the workers, each with a copy of `model` (a MultiLayerNetwork or a ComputationGraph) as
   * it is now (its parameters, without updater state).
   */
  constructor(model: ParallelModel, options: ParallelInferenceOptions = {}) {
    this.workers = positiveInteger('workers', options.workers ?? defaultWorkerCount());
    const mode = options.inferenceMode ?? 'BATCHED';
    if (mode !== 'BATCHED' && mode !== 'SEQUENTIAL') throw new Error(`ParallelInference: inferenceMode must be 'BATCHED' or 'SEQUENTIAL', got '${String(mode)}'`);
    this.inferenceMode = mode;
    this.batchLimit = positiveInteger('batchLimit', options.batchLimit ?? 32);
    this.queueLimit = positiveInteger('queueLimit', options.queueLimit ?? 64);
    const backends = workerBackendNames(this.workers);
    this.workerBackends = backends;
    const modelBuffer = snapshot(model);
    this.shape = modelBuffer.shape;
    const modules = (options.workerModules ?? []).map(String);
    this.started = (async () => {
      const pool = await WorkerPool.start({ owner: 'ParallelInference', role: 'infer', backends, collective: null, modules });
      try {
        await loadAll(pool, modelBuffer);
      } catch (e) {
        await pool.terminate();
        throw e;
      }
      this.pool = pool;
      this.idle.push(...backends.map((_, k) => k));
      return pool;
    })();
    // Callers see a start failure through output(); it must not count as unhandled meanwhile.
    this.started.catch(() => undefined);
  }

  /**
   * Replaces the workers' model by a copy of `model` as it is now (DL4J's updateModel): requests
   * already handed to a worker finish on the old model, later ones use the new one. It may be of
   * another kind or have other inputs and outputs; new calls are checked against it.
   */
  async updateModel(model: ParallelModel): Promise<void> {
    const modelBuffer = snapshot(model);
    const pool = await this.started;
    this.checkUsable(pool);
    this.shape = modelBuffer.shape;
    await loadAll(pool, modelBuffer);
  }

  /** Counts of requests and forward passes so far. */
  stats(): ParallelInferenceStats {
    return { ...this.counts };
  }

  /**
   * The model's output for x (a new array on the current backend, owned by the caller): a
   * MultiLayerNetwork's, or a ComputationGraph's with one input and one output (outputs() takes
   * any). x is read once the request is admitted to the queue: keep it open until the promise settles.
   */
  async output(x: NDArray): Promise<NDArray> {
    const { inputs, outputs } = this.shape;
    if (inputs.length !== 1 || outputs.length !== 1) {
      throw new Error(`ParallelInference.output: the graph has ${inputs.length} inputs (${inputs.join(', ')}) and ${outputs.length} outputs (${outputs.join(', ')}); output() takes one of each, use outputs(...inputs)`);
    }
    return (await this.request('ParallelInference.output', [x]))[0]!;
  }

  /**
   * The model's outputs for its inputs, as ComputationGraph.output(...inputs) gives them: one array
   * per graph output in the graph's order (a MultiLayerNetwork takes one input and gives one
   * output). Every input needs the same number of examples along axis 0; new arrays on the
   * current backend, owned by the caller. The inputs are read once the request is admitted to the
   * queue: keep them open until the promise settles.
   */
  async outputs(...inputs: NDArray[]): Promise<NDArray[]> {
    const names = this.shape.inputs;
    if (inputs.length !== names.length) {
      throw new Error(`ParallelInference.outputs: the model takes ${names.length} input array(s) (${names.join(', ')}), got ${inputs.length}`);
    }
    return this.request('ParallelInference.outputs', inputs);
  }

  private async request(op: string, xs: readonly NDArray[]): Promise<NDArray[]> {
    const pool = await this.started;
    this.checkUsable(pool);
    while (this.queue.length >= this.queueLimit) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      this.checkUsable(pool);
    }
    const rows = xs[0]!.shape[0] ?? 0;
    xs.forEach((x, i) => {
      if (x.rank < 1 || x.shape[0] === 0 || x.shape[0] !== rows) {
        throw new Error(`${op}: expected every input with the same number (at least one) of examples along axis 0; input ${i} has shape [${x.shape.join(', ')}], input 0 [${xs[0]!.shape.join(', ')}]`);
      }
    });
    const inputs = xs.map(packArray);
    return new Promise<NDArray[]>((resolve, reject) => {
      this.queue.push({ inputs, rows, solo: this.inferenceMode === 'SEQUENTIAL', resolve, reject });
      this.schedulePump();
    });
  }

  /** Each worker's memoryReport(), in worker order. */
  async workerMemory(): Promise<MemoryReport[]> {
    const pool = await this.started;
    this.checkUsable(pool);
    return pool.memory();
  }

  /** Stops the workers; requests not yet answered reject. */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    const closed = new Error('ParallelInference: closed');
    for (const r of this.queue.splice(0)) r.reject(closed);
    for (const wake of this.waiting.splice(0)) wake();
    const pool = await this.started.catch(() => null);
    await pool?.terminate();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private checkUsable(pool: WorkerPool): void {
    if (this.closedFlag) throw new Error('ParallelInference.output: the ParallelInference is closed');
    if (pool.failed) throw new Error(`ParallelInference.output: the workers failed earlier: ${pool.failed.message}`, { cause: pool.failed });
  }

  /** Dispatches after the current turn, so that requests made together can be merged. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const pool = this.pool;
    if (!pool) return;
    while (this.idle.length > 0 && this.queue.length > 0) {
      const batch = this.takeBatch();
      this.dispatch(pool, this.idle.shift()!, batch);
    }
    // Room freed: let waiting callers in.
    while (this.waiting.length > 0 && this.queue.length < this.queueLimit) this.waiting.shift()!();
  }

  /** The next requests that share a forward pass (one unless BATCHED and mergeable). */
  private takeBatch(): Request[] {
    const first = this.queue.shift()!;
    const batch = [first];
    if (first.solo) return batch;
    let rows = first.rows;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (next.solo || !mergeable(first, next) || rows + next.rows > this.batchLimit) break;
      batch.push(this.queue.shift()!);
      rows += next.rows;
    }
    return batch;
  }

  private dispatch(pool: WorkerPool, worker: number, batch: Request[]): void {
    const inputs = batch.length === 1 ? batch[0]!.inputs : batch[0]!.inputs.map((_, i) => concatRows(batch.map((r) => r.inputs[i]!)));
    const rows = batch.reduce((n, r) => n + r.rows, 0);
    this.counts.batches++;
    this.counts.largestBatch = Math.max(this.counts.largestBatch, rows);
    pool.call(worker, { type: 'output', inputs }, 'output', [...new Set(inputs.map((p) => p.bytes))]).then(
      (reply) => {
        // Outputs are split back by rows, so each must keep the example axis.
        const bad = reply.outputs.findIndex((o) => o.shape[0] !== rows);
        let row = 0;
        for (const r of batch) {
          this.counts.requests++;
          try {
            if (bad >= 0) throw new Error(`ParallelInference.output: output ${bad} has shape [${reply.outputs[bad]!.shape.join(', ')}] for ${rows} examples; only outputs with one row per example can be split back to callers`);
            const from = row;
            r.resolve(reply.outputs.map((o) => unpackRows(o, from, from + r.rows, 'ParallelInference.output')));
          } catch (e) {
            r.reject(e instanceof Error ? e : new Error(String(e)));
          }
          row += r.rows;
        }
      },
      (e: Error) => {
        if (batch.length > 1 && !pool.failed && !this.closedFlag) {
          // One bad input fails the merged pass: retry each request alone, so only its caller sees the error.
          for (const r of batch) r.solo = true;
          this.queue.unshift(...batch);
          return;
        }
        for (const r of batch) {
          this.counts.requests++;
          r.reject(e);
        }
        if (pool.failed) for (const r of this.queue.splice(0)) r.reject(e);
      },
    ).finally(() => {
      if (!pool.failed) this.idle.push(worker);
      this.pump();
    });
  }
}
