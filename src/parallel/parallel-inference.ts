/**
 * DL4J's ParallelInference: one model answering output() calls from many concurrent callers on
 * several worker threads (each bound to one device, like ParallelWrapper's workers). In 'BATCHED'
 * mode the requests waiting for a free worker are merged along the example axis, up to
 * `batchLimit` examples, into one forward pass; in 'SEQUENTIAL' mode each request is its own pass.
 * At most `queueLimit` requests wait for a worker; further callers wait for room before their input
 * is read. The workers hold a snapshot of the model taken at construction.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import type { MemoryReport } from '../ndarray/memory.js';
import type { MultiLayerNetwork } from '../nn/multilayer-network.js';
import { serializeModel } from '../nn/model-serializer.js';
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
  /** output() calls answered or failed. */
  readonly requests: number;
  /** Forward passes run on workers. */
  readonly batches: number;
  /** Most examples in one forward pass. */
  readonly largestBatch: number;
}

interface Request {
  readonly input: PackedArray;
  readonly rows: number;
  /** Runs alone: its merged batch failed, so it is retried by itself to find out whose input was bad. */
  solo: boolean;
  resolve(out: NDArray): void;
  reject(e: Error): void;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`ParallelInference: ${name} must be a positive integer, got ${value}`);
  return value;
}

/** The model's bytes (parameters, no updater state) in one buffer every worker reads. */
function snapshot(model: MultiLayerNetwork): SharedArrayBuffer {
  const bytes = serializeModel(model, { saveUpdater: false });
  const buffer = new SharedArrayBuffer(bytes.byteLength);
  new Uint8Array(buffer).set(bytes);
  return buffer;
}

/** Loads the model into every worker (queued behind the requests each already has). */
async function loadAll(pool: WorkerPool, model: SharedArrayBuffer): Promise<void> {
  await Promise.all(pool.backends.map((_, k) => pool.call(k, { type: 'load', model, graph: false, sharedGradients: false }, 'done')));
}

/** Same dtype and shape beyond the example axis: can share a forward pass. */
function mergeable(a: PackedArray, b: PackedArray): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => i === 0 || d === b.shape[i]);
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

  /** Starts the workers, each with a copy of `model` as it is now (its parameters, without updater state). */
  constructor(model: MultiLayerNetwork, options: ParallelInferenceOptions = {}) {
    this.workers = positiveInteger('workers', options.workers ?? defaultWorkerCount());
    const mode = options.inferenceMode ?? 'BATCHED';
    if (mode !== 'BATCHED' && mode !== 'SEQUENTIAL') throw new Error(`ParallelInference: inferenceMode must be 'BATCHED' or 'SEQUENTIAL', got '${String(mode)}'`);
    this.inferenceMode = mode;
    this.batchLimit = positiveInteger('batchLimit', options.batchLimit ?? 32);
    this.queueLimit = positiveInteger('queueLimit', options.queueLimit ?? 64);
    const backends = workerBackendNames(this.workers);
    this.workerBackends = backends;
    const modelBuffer = snapshot(model);
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
   * already handed to a worker finish on the old model, later ones use the new one.
   */
  async updateModel(model: MultiLayerNetwork): Promise<void> {
    const modelBuffer = snapshot(model);
    const pool = await this.started;
    this.checkUsable(pool);
    await loadAll(pool, modelBuffer);
  }

  /** Counts of requests and forward passes so far. */
  stats(): ParallelInferenceStats {
    return { ...this.counts };
  }

  /**
   * The model's output for x (a new array on the current backend, owned by the caller). x is read
   * once the request is admitted to the queue: keep it open until the promise settles.
   */
  async output(x: NDArray): Promise<NDArray> {
    const pool = await this.started;
    this.checkUsable(pool);
    while (this.queue.length >= this.queueLimit) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      this.checkUsable(pool);
    }
    if (x.rank < 1 || x.shape[0] === 0) throw new Error(`ParallelInference.output: expected an input with at least one example along axis 0, got shape [${x.shape.join(', ')}]`);
    const input = packArray(x);
    return new Promise<NDArray>((resolve, reject) => {
      this.queue.push({ input, rows: x.shape[0]!, solo: this.inferenceMode === 'SEQUENTIAL', resolve, reject });
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
      if (next.solo || !mergeable(first.input, next.input) || rows + next.rows > this.batchLimit) break;
      batch.push(this.queue.shift()!);
      rows += next.rows;
    }
    return batch;
  }

  private dispatch(pool: WorkerPool, worker: number, batch: Request[]): void {
    const input = batch.length === 1 ? batch[0]!.input : concatRows(batch.map((r) => r.input));
    const rows = batch.reduce((n, r) => n + r.rows, 0);
    this.counts.batches++;
    this.counts.largestBatch = Math.max(this.counts.largestBatch, rows);
    pool.call(worker, { type: 'output', input }, 'output', [input.bytes]).then(
      (reply) => {
        let row = 0;
        for (const r of batch) {
          this.counts.requests++;
          try {
            r.resolve(unpackRows(reply.output, row, row + r.rows, 'ParallelInference.output'));
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
