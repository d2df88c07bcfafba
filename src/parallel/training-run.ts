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

/** A round whose steps were posted and whose replies finish() collects. */
interface PostedRound {
  readonly replies: Promise<readonly { readonly score: number | null }[]>;
  readonly examples: readonly number[];
  readonly combined: number;
  readonly iteration: number;
  readonly epoch: number;
  /** An averaging follows this round (so the next one must not be posted before it). */
  readonly averages: boolean;
}

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
  /** Rounds posted since the last averaging was scheduled (posting runs ahead of finishing). */
  private postedSinceAverage = 0;
  /** The iteration whose listeners are running (posting may already have counted the next one). */
  private reported: number | null = null;
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
    // Only iteration listeners read the score: fetching it costs every worker a device sync per step.
    this.wantScore = this.listeners.some((l) => l.iterationDone);
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
        return run.reported ?? run.iteration;
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
      // The next round is posted before the previous one is finished whenever nothing has to happen
      // on the workers in between (an averaging) and nobody may stop training after it: workers then
      // start their next step while the main thread collects replies and calls listeners.
      let pending: PostedRound | null = null;
      for (;;) {
        const batches = prefetch.take(this.settings.workers);
        if (batches.length === 0) break;
        if (pending && (pending.averages || stopRequested || batches.length < this.settings.workers)) {
          await this.finish(pending);
          pending = null;
          if (stopRequested?.()) {
            stopped = true;
            break;
          }
        }
        const posted = await this.post(batches, prefetch);
        if (pending) await this.finish(pending);
        pending = posted;
      }
      if (pending) {
        await this.finish(pending);
        if (stopRequested?.()) stopped = true;
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

  /** Posts one step to every worker (worker k on batch k); finish() collects it. */
  private async post(batches: readonly PackedBatch[], prefetch: BatchPrefetcher): Promise<PostedRound> {
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
    const replies = Promise.all(this.ranks.map((k) => {
      const share = k < batches.length && combined > 0 ? (examples[k]! * n) / combined : 0;
      return this.pool.call(k, { type: 'step', data: inputs[k]!, gradientScale: share, iteration, epoch, wantScore }, 'stepped', transferables(inputs[k]!));
    }));
    // Errors surface in finish(); until then a rejection must not count as unhandled.
    replies.catch(() => undefined);
    this.iteration++;
    this.postedSinceAverage++;
    prefetch.fill();
    // The epoch's last round is always followed by an averaging.
    const averages = !this.shared && (this.postedSinceAverage >= this.settings.averagingFrequency || !prefetch.hasMore());
    if (averages) this.postedSinceAverage = 0;
    return { replies, examples, combined, iteration, epoch, averages };
  }

  /** Waits for a posted round, then averages and calls the listeners as configured. */
  private async finish(round: PostedRound): Promise<void> {
    const { examples, combined, iteration, epoch } = round;
    const replies = await round.replies;
    examples.forEach((x, k) => (this.seen[k]! += x));
    this.roundsSinceAverage++;
    if (this.wantScore && combined > 0) this.score = examples.reduce((s, x, k) => s + x * (replies[k]!.score ?? NaN), 0) / combined;
    if (round.averages) await this.average(this.settings.averageUpdaters);
    if (this.shared || round.averages || !this.settings.reportScoreAfterAveraging) {
      this.reported = iteration;
      for (const l of this.listeners) l.iterationDone?.(this.view, iteration, epoch);
      this.reported = null;
    }
  }

  /** Replicas weighted by the examples each saw since the last averaging. */
  private async average(updaters: boolean): Promise<void> {
    const n = this.settings.workers;
    const total = sum(this.seen);
    await Promise.all(this.ranks.map((k) => this.pool.call(k, { type: 'average', scale: total === 0 ? 1 : (this.seen[k]! * n) / total, updaters }, 'done')));
    this.seen.fill(0);
    this.roundsSinceAverage = 0;
    this.postedSinceAverage = 0;
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
