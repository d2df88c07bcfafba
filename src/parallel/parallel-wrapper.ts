/**
 * DL4J's ParallelWrapper: data-parallel training of a MultiLayerNetwork or a ComputationGraph on
 * several worker threads, each bound to one device (all CPU workers share the CPU backend; CUDA
 * workers go round robin over the usable devices). Each worker holds a replica built from the
 * model's bytes (with updater state). The main thread reads the iterator (DataSets, or
 * MultiDataSets for a graph) and gives worker k the k-th batch of every round.
 *
 * - 'SHARED_GRADIENTS': the data-loss gradients are averaged over the workers in every step (weighted
 *   by batch size), so the replicas stay identical and a round equals one step of the model on the
 *   round's batches combined.
 * - 'AVERAGING': every worker trains its replica alone; every `averagingFrequency` rounds (and at the
 *   end of each epoch) parameters, and updater state when `averageUpdaters`, are averaged, weighted
 *   by the examples each worker saw since the last averaging (equal batches: DL4J's plain mean).
 *
 * After fit() the wrapped model holds the trained parameters and updater state, and its iteration
 * count advanced by one per round, its epoch count by one per epoch.
 */
import type { ResourceLimits } from 'node:worker_threads';
import { dtypeSize } from '../ndarray/dtype.js';
import type { MemoryReport } from '../ndarray/memory.js';
import type { DataSet } from '../data/dataset.js';
import type { MultiDataSet } from '../data/multi-dataset.js';
import type { BatchIterator } from '../nn/training-core.js';
import { createCollectiveGroup } from './collective-factory.js';
import { defaultWorkerCount, workerBackendNames } from './devices.js';
import { WorkerPool } from './worker-pool.js';
import type { ParallelModel } from './parallel-model.js';
import { TrainingRun } from './training-run.js';

export type TrainingMode = 'AVERAGING' | 'SHARED_GRADIENTS';

/** ParallelWrapper's options (DL4J's ParallelWrapper.Builder). */
export interface ParallelWrapperOptions {
  /** Worker threads (default: one per usable CUDA device, 2 on the CPU backend). */
  workers?: number;
  /** Minibatches read and packed ahead of the workers (default 16). */
  prefetchBuffer?: number;
  /** AVERAGING: rounds between averagings (default 1). */
  averagingFrequency?: number;
  /** AVERAGING: call listeners only after averagings (true, default) or after every round. */
  reportScoreAfterAveraging?: boolean;
  /** AVERAGING: average the updater state along with the parameters (default true). */
  averageUpdaters?: boolean;
  /** Default 'AVERAGING', as DL4J. */
  trainingMode?: TrainingMode;
  /** How long a worker waits for its peers inside a collective call before giving up (default 10 min). */
  collectiveTimeoutMs?: number;
  /** Module URLs each worker imports before binding its backend (custom backends or layers). */
  workerModules?: readonly (string | URL)[];
  /** JavaScript heap limits of each worker thread (Node's ResourceLimits). */
  workerResourceLimits?: ResourceLimits;
}

export interface ParallelFitOptions {
  /** Checked after every round (after the listeners ran): true ends fit() early, as if the data had ended. */
  stopRequested?: () => boolean;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`ParallelWrapper: ${name} must be a positive integer, got ${value}`);
  return value;
}

export class ParallelWrapper implements AsyncDisposable {
  readonly model: ParallelModel;
  readonly workers: number;
  readonly prefetchBuffer: number;
  readonly averagingFrequency: number;
  readonly reportScoreAfterAveraging: boolean;
  readonly averageUpdaters: boolean;
  readonly trainingMode: TrainingMode;
  /** The backend each worker binds to (index = worker). */
  readonly workerBackends: readonly string[];
  private readonly collectiveTimeoutMs: number | undefined;
  private readonly workerModules: readonly string[];
  private readonly workerResourceLimits: ResourceLimits | undefined;
  private pool: WorkerPool | null = null;
  private busy = false;
  private closedFlag = false;

  /** Wraps an initialized network or graph; workers start on the first fit() and live until close(). */
  constructor(model: ParallelModel, options: ParallelWrapperOptions = {}) {
    model.numParams(); // throws unless initialized and open
    this.model = model;
    this.workers = positiveInteger('workers', options.workers ?? defaultWorkerCount());
    this.prefetchBuffer = positiveInteger('prefetchBuffer', options.prefetchBuffer ?? 16);
    this.averagingFrequency = positiveInteger('averagingFrequency', options.averagingFrequency ?? 1);
    this.reportScoreAfterAveraging = options.reportScoreAfterAveraging ?? true;
    this.averageUpdaters = options.averageUpdaters ?? true;
    const mode = options.trainingMode ?? 'AVERAGING';
    if (mode !== 'AVERAGING' && mode !== 'SHARED_GRADIENTS') throw new Error(`ParallelWrapper: trainingMode must be 'AVERAGING' or 'SHARED_GRADIENTS', got '${String(mode)}'`);
    this.trainingMode = mode;
    if (options.collectiveTimeoutMs !== undefined && !(options.collectiveTimeoutMs > 0)) {
      throw new Error(`ParallelWrapper: collectiveTimeoutMs must be positive, got ${options.collectiveTimeoutMs}`);
    }
    this.collectiveTimeoutMs = options.collectiveTimeoutMs;
    this.workerModules = (options.workerModules ?? []).map(String);
    this.workerResourceLimits = options.workerResourceLimits;
    this.workerBackends = workerBackendNames(this.workers);
  }

  /** Whether worker threads are running (between the first fit and close, unless a worker failed). */
  get running(): boolean {
    return this.pool !== null;
  }

  /**
   * Trains the wrapped model for `epochs` epochs over the iterator (reset before each epoch). The
   * model's listeners run on the main thread: iterationDone and onEpochStart get a view whose score()
   * is the examples-weighted mean of the workers' minibatch scores (in SHARED_GRADIENTS the combined
   * batch's score) and which counts iterations and epochs; onEpochEnd gets the wrapped model itself,
   * updated from the workers first (so checkpoint and evaluation listeners work per epoch).
   * Rejects with the cause when a worker fails; its threads are then gone and the next fit starts new ones.
   */
  async fit(data: BatchIterator<DataSet> | BatchIterator<MultiDataSet>, epochs = 1, options: ParallelFitOptions = {}): Promise<void> {
    if (this.closedFlag) throw new Error('ParallelWrapper.fit: the wrapper is closed');
    positiveInteger('fit epochs', epochs);
    if (this.busy) throw new Error('ParallelWrapper.fit: a fit is already running on this wrapper');
    this.busy = true;
    try {
      const pool = await this.startPool();
      try {
        await new TrainingRun(pool, this.model, this).run(data, epochs, options.stopRequested);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        pool.fail(err);
        this.pool = null;
        await pool.terminate();
        throw err;
      }
    } finally {
      this.busy = false;
    }
  }

  /** Each worker's memoryReport() (arrays and bytes it holds), in worker order; throws when no workers run. */
  async workerMemory(): Promise<MemoryReport[]> {
    if (!this.pool) throw new Error('ParallelWrapper.workerMemory: no workers are running (they start with the first fit)');
    return this.pool.memory();
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    this.closedFlag = true;
    const pool = this.pool;
    this.pool = null;
    await pool?.terminate();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async startPool(): Promise<WorkerPool> {
    if (this.pool) return this.pool;
    // Parameters plus a few updater-state arrays per parameter fit in one collective round.
    const payloadBytes = [...this.model.paramTable().values()].reduce((n, a) => n + a.size * dtypeSize(a.dtype), 0) * 3;
    const collective = await createCollectiveGroup(this.workerBackends, { payloadBytes, ...(this.collectiveTimeoutMs === undefined ? {} : { timeoutMs: this.collectiveTimeoutMs }) });
    const pool = await WorkerPool.start({
      owner: 'ParallelWrapper', role: 'train', backends: this.workerBackends, collective, modules: this.workerModules,
      ...(this.workerResourceLimits ? { resourceLimits: this.workerResourceLimits } : {}),
    });
    if (this.closedFlag) {
      // close() ran while the workers were starting.
      await pool.terminate();
      throw new Error('ParallelWrapper.fit: the wrapper was closed while its workers started');
    }
    this.pool = pool;
    return pool;
  }
}
