/**
 * DL4J's early stopping for MultiLayerNetwork: train epoch by epoch, score the network on held-out
 * data every N epochs, keep the best model (by a ModelSaver), and stop on epoch conditions (checked
 * after each epoch) or iteration conditions (checked after each minibatch, through a listener).
 * Loss scores are minimized; classification metrics are maximized.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { iterateDataSets, type DataSetIterator, type DataSetPreProcessor } from '../data/iterator.js';
import type { DataSet } from '../data/dataset.js';
import type { MultiLayerNetwork } from './multilayer-network.js';
import type { TrainableModel, TrainingListener } from './listeners.js';
import { ModelSerializer } from './model-serializer.js';

// ---- termination conditions ---------------------------------------------------------------------

export interface EpochTerminationCondition {
  /** Called once before training starts. */
  initialize(): void;
  /** After epoch `epoch` (0-based); `score` is undefined for epochs that were not scored. */
  terminate(epoch: number, score: number | undefined, minimize: boolean): boolean;
  toString(): string;
}

export interface IterationTerminationCondition {
  initialize(): void;
  /** After each minibatch, with that minibatch's score. */
  terminate(lastMiniBatchScore: number): boolean;
  toString(): string;
}

/** Stops after `maxEpochs` epochs. */
export class MaxEpochsTerminationCondition implements EpochTerminationCondition {
  constructor(readonly maxEpochs: number) {
    if (!Number.isInteger(maxEpochs) || maxEpochs < 1) throw new Error(`MaxEpochsTerminationCondition: maxEpochs must be a positive integer, got ${maxEpochs}`);
  }
  initialize(): void {}
  terminate(epoch: number): boolean {
    return epoch + 1 >= this.maxEpochs;
  }
  toString(): string {
    return `MaxEpochsTerminationCondition(${this.maxEpochs})`;
  }
}

/**
 * Stops when the score has not improved by more than `minImprovement` for `maxEpochsWithNoImprovement`
 * epochs after the best one.
 */
export class ScoreImprovementEpochTerminationCondition implements EpochTerminationCondition {
  private bestEpoch = -1;
  private bestScore = NaN;

  constructor(readonly maxEpochsWithNoImprovement: number, readonly minImprovement = 0) {
    if (!Number.isInteger(maxEpochsWithNoImprovement) || maxEpochsWithNoImprovement < 0) {
      throw new Error(`ScoreImprovementEpochTerminationCondition: patience must be a non-negative integer, got ${maxEpochsWithNoImprovement}`);
    }
    if (!(minImprovement >= 0)) throw new Error(`ScoreImprovementEpochTerminationCondition: minImprovement must be >= 0, got ${minImprovement}`);
  }
  initialize(): void {
    this.bestEpoch = -1;
    this.bestScore = NaN;
  }
  terminate(epoch: number, score: number | undefined, minimize: boolean): boolean {
    if (score === undefined) return false;
    if (this.bestEpoch === -1) {
      this.bestEpoch = epoch;
      this.bestScore = score;
      return false;
    }
    const improvement = minimize ? this.bestScore - score : score - this.bestScore;
    if (improvement > this.minImprovement) {
      this.bestEpoch = epoch;
      this.bestScore = score;
      return false;
    }
    return epoch >= this.bestEpoch + this.maxEpochsWithNoImprovement;
  }
  toString(): string {
    return `ScoreImprovementEpochTerminationCondition(maxEpochsWithNoImprovement=${this.maxEpochsWithNoImprovement}, minImprovement=${this.minImprovement})`;
  }
}

/** Stops once the score is better than `bestExpectedScore` (below it when minimizing, above when maximizing). */
export class BestScoreEpochTerminationCondition implements EpochTerminationCondition {
  constructor(readonly bestExpectedScore: number) {}
  initialize(): void {}
  terminate(_epoch: number, score: number | undefined, minimize: boolean): boolean {
    if (score === undefined) return false;
    return minimize ? score < this.bestExpectedScore : score > this.bestExpectedScore;
  }
  toString(): string {
    return `BestScoreEpochTerminationCondition(${this.bestExpectedScore})`;
  }
}

/** Stops once `maxTimeMs` milliseconds have passed since training started. */
export class MaxTimeIterationTerminationCondition implements IterationTerminationCondition {
  private start = 0;
  constructor(readonly maxTimeMs: number) {
    if (!(maxTimeMs >= 0)) throw new Error(`MaxTimeIterationTerminationCondition: maxTimeMs must be >= 0, got ${maxTimeMs}`);
  }
  initialize(): void {
    this.start = performance.now();
  }
  terminate(): boolean {
    return performance.now() - this.start >= this.maxTimeMs;
  }
  toString(): string {
    return `MaxTimeIterationTerminationCondition(${this.maxTimeMs}ms)`;
  }
}

/** Stops when a minibatch score exceeds `maxScore` (divergence). */
export class MaxScoreIterationTerminationCondition implements IterationTerminationCondition {
  constructor(readonly maxScore: number) {}
  initialize(): void {}
  terminate(score: number): boolean {
    return score > this.maxScore;
  }
  toString(): string {
    return `MaxScoreIterationTerminationCondition(${this.maxScore})`;
  }
}

/** Stops when a minibatch score is NaN or infinite. */
export class InvalidScoreIterationTerminationCondition implements IterationTerminationCondition {
  initialize(): void {}
  terminate(score: number): boolean {
    return !Number.isFinite(score);
  }
  toString(): string {
    return 'InvalidScoreIterationTerminationCondition()';
  }
}

/** Short forms of the conditions. */
export const MaxEpochs = (n: number): MaxEpochsTerminationCondition => new MaxEpochsTerminationCondition(n);
export const ScoreImprovementEpoch = (patience: number, minImprovement = 0): ScoreImprovementEpochTerminationCondition =>
  new ScoreImprovementEpochTerminationCondition(patience, minImprovement);
export const BestScoreEpoch = (score: number): BestScoreEpochTerminationCondition => new BestScoreEpochTerminationCondition(score);
export const MaxTime = (ms: number): MaxTimeIterationTerminationCondition => new MaxTimeIterationTerminationCondition(ms);
export const MaxScore = (score: number): MaxScoreIterationTerminationCondition => new MaxScoreIterationTerminationCondition(score);
export const InvalidScore = (): InvalidScoreIterationTerminationCondition => new InvalidScoreIterationTerminationCondition();

// ---- score calculators --------------------------------------------------------------------------

export interface ScoreCalculator {
  calculateScore(network: MultiLayerNetwork): number;
  /** True when lower scores are better. */
  minimizeScore(): boolean;
}

/** The loss (+ l1/l2) over an iterator: the example-weighted average over minibatches, or the sum. */
export class DataSetLossCalculator implements ScoreCalculator {
  constructor(readonly iterator: DataSetIterator, readonly average = true) {}
  calculateScore(network: MultiLayerNetwork): number {
    if (this.iterator.resetSupported) this.iterator.reset();
    let total = 0;
    let count = 0;
    while (this.iterator.hasNext()) {
      const ds = this.iterator.next();
      try {
        const n = ds.numExamples;
        total += network.score(ds) * n;
        count += n;
      } finally {
        ds.close();
      }
    }
    if (count === 0) throw new Error('DataSetLossCalculator: the iterator returned no examples');
    return this.average ? total / count : total;
  }
  minimizeScore(): boolean {
    return true;
  }
}

export type ClassificationMetric = 'accuracy' | 'f1' | 'precision' | 'recall' | 'gMeasure' | 'mcc';

/** A classification metric of the network over an iterator (higher is better). */
export class ClassificationScoreCalculator implements ScoreCalculator {
  constructor(readonly metric: ClassificationMetric, readonly iterator: DataSetIterator) {}
  calculateScore(network: MultiLayerNetwork): number {
    const e = network.evaluate(this.iterator);
    switch (this.metric) {
      case 'accuracy': return e.accuracy();
      case 'f1': return e.f1();
      case 'precision': return e.precision();
      case 'recall': return e.recall();
      case 'gMeasure': return e.gMeasure();
      case 'mcc': return e.matthewsCorrelation();
    }
  }
  minimizeScore(): boolean {
    return false;
  }
}

// ---- model savers -------------------------------------------------------------------------------

export interface EarlyStoppingModelSaver {
  saveBestModel(network: MultiLayerNetwork, score: number): Promise<void>;
  saveLatestModel(network: MultiLayerNetwork, score: number): Promise<void>;
  /** A new network (owned by the caller) equal to the best saved one, or null if none was saved. */
  getBestModel(): Promise<MultiLayerNetwork | null>;
  getLatestModel(): Promise<MultiLayerNetwork | null>;
}

/** Keeps copies (clone()) of the best and latest networks in memory. */
export class InMemoryModelSaver implements EarlyStoppingModelSaver {
  private best: MultiLayerNetwork | null = null;
  private latest: MultiLayerNetwork | null = null;
  async saveBestModel(network: MultiLayerNetwork): Promise<void> {
    this.best?.close();
    this.best = network.clone();
  }
  async saveLatestModel(network: MultiLayerNetwork): Promise<void> {
    this.latest?.close();
    this.latest = network.clone();
  }
  async getBestModel(): Promise<MultiLayerNetwork | null> {
    return this.best ? this.best.clone() : null;
  }
  async getLatestModel(): Promise<MultiLayerNetwork | null> {
    return this.latest ? this.latest.clone() : null;
  }
  /** Releases the stored copies. */
  close(): void {
    this.best?.close();
    this.latest?.close();
    this.best = this.latest = null;
  }
}

/** Writes bestModel.bin and latestModel.bin (ModelSerializer files, with updater state) into a directory. */
export class LocalFileModelSaver implements EarlyStoppingModelSaver {
  private hasBest = false;
  private hasLatest = false;
  constructor(readonly directory: string) {}
  get bestModelPath(): string {
    return join(this.directory, 'bestModel.bin');
  }
  get latestModelPath(): string {
    return join(this.directory, 'latestModel.bin');
  }
  async saveBestModel(network: MultiLayerNetwork): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    await ModelSerializer.writeModel(network, this.bestModelPath);
    this.hasBest = true;
  }
  async saveLatestModel(network: MultiLayerNetwork): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    await ModelSerializer.writeModel(network, this.latestModelPath);
    this.hasLatest = true;
  }
  async getBestModel(): Promise<MultiLayerNetwork | null> {
    return this.hasBest ? (await ModelSerializer.restoreMultiLayerNetwork(this.bestModelPath)).network : null;
  }
  async getLatestModel(): Promise<MultiLayerNetwork | null> {
    return this.hasLatest ? (await ModelSerializer.restoreMultiLayerNetwork(this.latestModelPath)).network : null;
  }
}

// ---- configuration, result, trainer -------------------------------------------------------------

export interface EarlyStoppingConfiguration {
  epochTerminationConditions?: readonly EpochTerminationCondition[];
  iterationTerminationConditions?: readonly IterationTerminationCondition[];
  scoreCalculator: ScoreCalculator;
  /** Default: a new InMemoryModelSaver. */
  modelSaver?: EarlyStoppingModelSaver;
  /** Score (and consider for best model) every N epochs (default 1): after epochs N-1, 2N-1, ... */
  evaluateEveryNEpochs?: number;
  /** Also save the network after every epoch as the latest model (default false). */
  saveLastModel?: boolean;
}

export type TerminationReason = 'EpochTerminationCondition' | 'IterationTerminationCondition' | 'Error';

export interface EarlyStoppingResult {
  terminationReason: TerminationReason;
  /** The condition that fired (its toString()), or the error message. */
  terminationDetails: string;
  /** -1 when no epoch was scored. */
  bestModelEpoch: number;
  bestModelScore: number;
  /** Score by (0-based) epoch, for the scored epochs. */
  scoreVsEpoch: Map<number, number>;
  /** Epochs completed. */
  totalEpochs: number;
  /** The best model from the saver: a new network owned by the caller (null if none was saved). */
  getBestModel(): Promise<MultiLayerNetwork | null>;
}

/**
 * The training iterator seen through a stop flag: once an iteration condition fires, hasNext()
 * turns false, so network.fit() ends the epoch normally after the step that triggered it (its
 * counters and listeners stay consistent, which throwing out of a listener would not guarantee).
 */
class StoppableIterator implements DataSetIterator {
  stopped: IterationTerminationCondition | null = null;
  constructor(private readonly inner: DataSetIterator) {}
  next(): DataSet {
    return this.inner.next();
  }
  hasNext(): boolean {
    return this.stopped === null && this.inner.hasNext();
  }
  reset(): void {
    this.inner.reset();
  }
  get resetSupported(): boolean {
    return this.inner.resetSupported;
  }
  get asyncSupported(): boolean {
    return this.inner.asyncSupported;
  }
  get batch(): number {
    return this.inner.batch;
  }
  get inputColumns(): number {
    return this.inner.inputColumns;
  }
  get totalOutcomes(): number {
    return this.inner.totalOutcomes;
  }
  get preProcessor(): DataSetPreProcessor | null {
    return this.inner.preProcessor;
  }
  set preProcessor(p: DataSetPreProcessor | null) {
    this.inner.preProcessor = p;
  }
  [Symbol.iterator](): Iterator<DataSet> {
    return iterateDataSets(this);
  }
}

export class EarlyStoppingTrainer {
  readonly modelSaver: EarlyStoppingModelSaver;

  constructor(readonly config: EarlyStoppingConfiguration, readonly network: MultiLayerNetwork, readonly trainIterator: DataSetIterator) {
    const n = config.evaluateEveryNEpochs ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new Error(`EarlyStoppingTrainer: evaluateEveryNEpochs must be a positive integer, got ${n}`);
    if ((config.epochTerminationConditions?.length ?? 0) + (config.iterationTerminationConditions?.length ?? 0) === 0) {
      throw new Error('EarlyStoppingTrainer: no termination conditions; give at least one epoch or iteration termination condition');
    }
    this.modelSaver = config.modelSaver ?? new InMemoryModelSaver();
  }

  /**
   * Trains the network for one epoch over `data` (the training iterator seen through the stop flag).
   * EarlyStoppingParallelTrainer overrides it to train on workers; `stopRequested` turns true once
   * an iteration condition fired, for trainers that read batches ahead of the steps they take.
   */
  protected async fitEpoch(data: DataSetIterator, _stopRequested: () => boolean): Promise<void> {
    this.network.fit(data, 1);
  }

  /** Trains until a termination condition fires (or an error occurs, reported in the result). */
  async fit(): Promise<EarlyStoppingResult> {
    const { config, network, modelSaver } = this;
    const epochConds = config.epochTerminationConditions ?? [];
    const iterConds = config.iterationTerminationConditions ?? [];
    const every = config.evaluateEveryNEpochs ?? 1;
    const minimize = config.scoreCalculator.minimizeScore();
    for (const c of epochConds) c.initialize();
    for (const c of iterConds) c.initialize();

    const scoreVsEpoch = new Map<number, number>();
    let bestModelEpoch = -1;
    let bestModelScore = minimize ? Infinity : -Infinity;
    let epoch = 0;
    const finish = (terminationReason: TerminationReason, terminationDetails: string): EarlyStoppingResult => ({
      terminationReason, terminationDetails, bestModelEpoch, bestModelScore: bestModelEpoch === -1 ? NaN : bestModelScore,
      scoreVsEpoch, totalEpochs: epoch, getBestModel: () => modelSaver.getBestModel(),
    });
    const saveBest = async (score: number): Promise<void> => {
      bestModelEpoch = epoch;
      bestModelScore = score;
      await modelSaver.saveBestModel(network, score);
    };

    const data = new StoppableIterator(this.trainIterator);
    const listener: TrainingListener = {
      iterationDone(model: TrainableModel): void {
        if (iterConds.length === 0 || data.stopped) return;
        const s = model.score();
        data.stopped = iterConds.find((c) => c.terminate(s)) ?? null;
      },
    };
    const saved = [...network.listeners];
    network.addListeners(listener);
    try {
      for (;;) {
        if (epoch > 0 && !this.trainIterator.resetSupported) throw new Error('EarlyStoppingTrainer: the training iterator does not support reset, so it cannot be used for more than one epoch');
        await this.fitEpoch(data, () => data.stopped !== null);
        if (data.stopped) {
          // DL4J: a run stopped before any scoring still reports a best model: the current one.
          if (bestModelEpoch === -1) await saveBest(config.scoreCalculator.calculateScore(network));
          if (config.saveLastModel) await modelSaver.saveLatestModel(network, NaN);
          return finish('IterationTerminationCondition', data.stopped.toString());
        }
        let score: number | undefined;
        if ((epoch + 1) % every === 0) {
          score = config.scoreCalculator.calculateScore(network);
          scoreVsEpoch.set(epoch, score);
          if (minimize ? score < bestModelScore : score > bestModelScore) await saveBest(score);
        }
        if (config.saveLastModel) await modelSaver.saveLatestModel(network, score ?? NaN);
        const fired = epochConds.find((c) => c.terminate(epoch, score, minimize));
        epoch++;
        if (fired) return finish('EpochTerminationCondition', fired.toString());
      }
    } catch (e) {
      return finish('Error', e instanceof Error ? e.message : String(e));
    } finally {
      network.setListeners(...saved);
    }
  }
}
