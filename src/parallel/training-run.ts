/**
 * One ParallelWrapper.fit() on the main thread: loads the model into the workers, hands out one
 * batch per worker per round, averages replicas (AVERAGING) or lets the gradient exchange keep them
 * equal (SHARED_GRADIENTS), calls the listeners, and copies the result back into the model.
 */
import { scope } from '../ndarray/scope.js';
import { nextRandomState } from '../random/generator.js';
import type { DataSet } from '../data/dataset.js';
import type { MultiDataSet } from '../data/multi-dataset.js';
import type { BatchIterator } from '../nn/training-core.js';
import type { TrainableModel, TrainingListener } from '../nn/listeners.js';
import { serializeModel } from '../nn/model-serializer.js';
import type { WorkerPool } from './worker-pool.js';
import { BatchPrefetcher } from './prefetch.js';
import { isGraph, modelFromBytes, type ParallelModel } from './parallel-model.js';
import { copyPackedBatch, packedExamples, transferables, type PackedBatch } from './transfer.js';

/** The wrapper settings a run uses (ParallelWrapper's readonly fields). */
export interface RunSettings {
  readonly workers: number;
  readonly prefetchBuffer: number;
  readonly averagingFrequency: number;
  readonly reportScoreAfterAveraging: boolean;
  readonly averageUpdaters: boolean;
  readonly trainingMode: 'AVERAGING' | 'SHARED_GRADIENTS';
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Spreads worker seeds apart (2^64 / golden ratio, odd). */
const WORKER_SEED_STRIDE = 0x9e3779b97f4a7c15n;

export class TrainingRun {
  private readonly ranks: number[];
  private readonly shared: boolean;
  private readonly graph: boolean;
  private readonly listeners: readonly TrainingListener[];
  private readonly wantScore: boolean;
  private iteration: number;
  private epoch: number;
  private score: number | null = null;
  /** Examples each worker trained on since the last averaging: the weights of the next one. */
  private readonly seen: number[];
  private roundsSinceAverage = 0;
  /** What listeners' iterationDone and onEpochStart get: the workers' combined score and the counters. */
  readonly view: TrainableModel;

  constructor(
    private readonly pool: WorkerPool,
    private readonly model: ParallelModel,
    private readonly settings: RunSettings,
  ) {
    this.ranks = Array.from({ length: settings.workers }, (_, k) => k);
    this.shared = settings.trainingMode === 'SHARED_GRADIENTS';
    this.graph = isGraph(model);
    this.listeners = model.listeners;
    this.wantScore = this.listeners.length > 0;
    this.iteration = model.iterationCount;
    this.epoch = model.epochCount;
    this.seen = new Array<number>(settings.workers).fill(0);
    const run = this;
    this.view = {
      score(): number {
        if (run.score === null) throw new Error('ParallelWrapper: no score yet (scores are collected only while the model has listeners)');
        return run.score;
      },
      get iterationCount(): number {
        return run.iteration;
      },
      get epochCount(): number {
        return run.epoch;
      },
    };
  }

  /** Trains `epochs` epochs (fewer when `stopRequested` turns true) and updates the model. */
  async run(data: BatchIterator<DataSet | MultiDataSet>, epochs: number, stopRequested?: () => boolean): Promise<void> {
    await this.load();
    const prefetch = new BatchPrefetcher(data, Math.max(this.settings.prefetchBuffer, this.settings.workers), 'ParallelWrapper.fit');
    let stopped = false;
    for (let e = 0; e < epochs && !stopped; e++) {
      for (const l of this.listeners) l.onEpochStart?.(this.view);
      prefetch.startEpoch(e);
      for (;;) {
        const batches = prefetch.take(this.settings.workers);
        if (batches.length === 0) break;
        await this.round(batches, prefetch);
        if (stopRequested?.()) {
          stopped = true;
          break;
        }
      }
      prefetch.clear();
      // Only left after an early stop.
      if (!this.shared && this.roundsSinceAverage > 0) await this.average(this.settings.averageUpdaters);
      // Epoch listeners get the wrapped model itself, brought up to date (checkpoints, evaluation).
      if (this.listeners.some((l) => l.onEpochEnd)) await this.syncModel();
      for (const l of this.listeners) l.onEpochEnd?.(this.model);
      this.epoch++;
    }
    // Trainable values are already identical in SHARED_GRADIENTS; this merges the replicas'
    // non-trainable state (batch-normalization statistics), which each computed from its own data.
    if (this.shared) await this.average(false);
    await this.syncModel();
  }

  /** Every worker gets the model's bytes (one shared copy) and a seed of its own. */
  private async load(): Promise<void> {
    const bytes = serializeModel(this.model);
    const modelBuffer = new SharedArrayBuffer(bytes.byteLength);
    new Uint8Array(modelBuffer).set(bytes);
    // Seeds come from this thread's generator: a run replays after setSeed, yet workers differ.
    const { seed, stream } = nextRandomState(undefined, 'ParallelWrapper.fit');
    const workerSeed = (k: number): bigint => BigInt.asUintN(64, seed + (BigInt(stream) << 32n) + BigInt(k + 1) * WORKER_SEED_STRIDE);
    await Promise.all(this.ranks.map((k) =>
      this.pool.call(k, { type: 'load', model: modelBuffer, graph: this.graph, sharedGradients: this.shared, seed: workerSeed(k) }, 'done')));
  }

  /** One step on every worker (worker k on batch k), then averaging and listeners as configured. */
  private async round(batches: readonly PackedBatch[], prefetch: BatchPrefetcher): Promise<void> {
    const n = this.settings.workers;
    if (!this.graph && batches.some((b) => b.multi)) throw new Error('ParallelWrapper.fit: the iterator returned a MultiDataSet; a MultiLayerNetwork trains on DataSets (use a ComputationGraph)');
    // A short last round: workers without a batch step on a copy with weight 0, so every replica
    // takes the same steps; in AVERAGING their replicas are averaged away right after.
    if (batches.length < n && !this.shared && this.roundsSinceAverage > 0) await this.average(this.settings.averageUpdaters);
    const examples = batches.map(packedExamples);
    const combined = sum(examples);
    // Copies first: posting a batch moves its buffers away.
    const inputs = this.ranks.map((k) => batches[k] ?? copyPackedBatch(batches[0]!));
    const { iteration, epoch, wantScore } = this;
    const calls = this.ranks.map((k) => {
      const share = k < batches.length && combined > 0 ? (examples[k]! * n) / combined : 0;
      return this.pool.call(k, { type: 'step', data: inputs[k]!, gradientScale: share, iteration, epoch, wantScore }, 'stepped', transferables(inputs[k]!));
    });
    prefetch.fill();
    const replies = await Promise.all(calls);
    examples.forEach((x, k) => (this.seen[k]! += x));
    this.roundsSinceAverage++;
    if (wantScore && combined > 0) this.score = examples.reduce((s, x, k) => s + x * (replies[k]!.score ?? NaN), 0) / combined;
    // The epoch's last round is always followed by an averaging.
    const averaged = !this.shared && (this.roundsSinceAverage >= this.settings.averagingFrequency || !prefetch.hasMore());
    if (averaged) await this.average(this.settings.averageUpdaters);
    if (this.shared || averaged || !this.settings.reportScoreAfterAveraging) {
      for (const l of this.listeners) l.iterationDone?.(this.view, iteration, epoch);
    }
    this.iteration++;
  }

  /** Replicas weighted by the examples each saw since the last averaging. */
  private async average(updaters: boolean): Promise<void> {
    const n = this.settings.workers;
    const total = sum(this.seen);
    await Promise.all(this.ranks.map((k) => this.pool.call(k, { type: 'average', scale: total === 0 ? 1 : (this.seen[k]! * n) / total, updaters }, 'done')));
    this.seen.fill(0);
    this.roundsSinceAverage = 0;
  }

  /** Copies rank 0's replica (parameters, updater state) and the counters into the wrapped model. */
  private async syncModel(): Promise<void> {
    const saved = await this.pool.call(0, { type: 'save' }, 'saved');
    const trained = modelFromBytes(saved.model, this.graph, 'ParallelWrapper: the trained replica');
    try {
      scope(() => this.model.setParams(trained.params()));
      this.model.setUpdaterState(trained.updaterState());
    } finally {
      trained.close();
    }
    this.model.iterationCount = this.iteration;
    this.model.epochCount = this.epoch;
  }
}
