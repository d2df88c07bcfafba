/**
 * DL4J's early stopping for MultiLayerNetwork (EarlyStoppingTrainer) and ComputationGraph
 * (EarlyStoppingGraphTrainer): train epoch by epoch, score the model on held-out data every N
 * epochs, keep the best model (by a ModelSaver), and stop on epoch conditions (checked after each
 * epoch) or iteration conditions (checked after each minibatch, through a listener). Loss scores
 * are minimized; classification metrics are maximized.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { iterateDataSets, type DataSetIterator, type DataSetPreProcessor } from '../data/iterator.js';
import { DataSet } from '../data/dataset.js';
import type { MultiDataSet } from '../data/multi-dataset.js';
import type { Evaluation } from '../eval/classification.js';
import type { MultiLayerNetwork } from './multilayer-network.js';
import { ComputationGraph, type MultiDataSetIterator } from './graph/computation-graph.js';
import type { TrainableModel, TrainingListener } from './listeners.js';
import { forEachBatch, type BatchIterator } from './training-core.js';
import { ModelSerializer, modelTypeName, type ModelTypeName, type SerializableModel } from './model-serializer.js';

/** The models early stopping trains: a MultiLayerNetwork or a ComputationGraph. */
export type EarlyStoppingModel = SerializableModel;

/** Data to score a model on: DataSets (either model) or MultiDataSets (graphs only). */
export type ScoreIterator = DataSetIterator | MultiDataSetIterator;

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

/** Scores a model of kind M on held-out data (DL4J's ScoreCalculator<T extends Model>). */
export interface ScoreCalculator<M extends EarlyStoppingModel = MultiLayerNetwork> {
  calculateScore(model: M): number;
  /** True when lower scores are better. */
  minimizeScore(): boolean;
}

function isDataSetIterator(it: ScoreIterator): it is DataSetIterator {
  // Only DataSetIterators describe their columns; a MultiDataSetIterator has several arrays.
  return 'inputColumns' in it;
}

/**
 * The loss (+ l1/l2) over an iterator: the example-weighted average over minibatches, or the sum.
 * A graph scores DataSets or MultiDataSets (as its score() does); a MultiLayerNetwork DataSets.
 */
export class DataSetLossCalculator implements ScoreCalculator<EarlyStoppingModel> {
  constructor(readonly iterator: ScoreIterator, readonly average = true) {}
  calculateScore(model: EarlyStoppingModel): number {
    let total = 0;
    let count = 0;
    forEachBatch<DataSet | MultiDataSet>('DataSetLossCalculator', this.iterator, 0, (b) => {
      total += batchScore(model, b) * b.numExamples;
      count += b.numExamples;
    });
    if (count === 0) throw new Error('DataSetLossCalculator: the iterator returned no examples');
    return this.average ? total / count : total;
  }
  minimizeScore(): boolean {
    return true;
  }
}

function batchScore(model: EarlyStoppingModel, b: DataSet | MultiDataSet): number {
  if (model instanceof ComputationGraph) return model.score(b);
  if (!(b instanceof DataSet)) throw new Error(`DataSetLossCalculator: a MultiLayerNetwork scores DataSets; the iterator returned a MultiDataSet (${b.numFeatureArrays} features, ${b.numLabelsArrays} labels arrays)`);
  return model.score(b);
}

export type ClassificationMetric = 'accuracy' | 'f1' | 'precision' | 'recall' | 'gMeasure' | 'mcc';

/**
 * A classification metric of the model over an iterator (higher is better); for a graph, of its
 * first output against the first labels (as its evaluate() does).
 */
export class ClassificationScoreCalculator implements ScoreCalculator<EarlyStoppingModel> {
  constructor(readonly metric: ClassificationMetric, readonly iterator: ScoreIterator) {}
  calculateScore(model: EarlyStoppingModel): number {
    const e = this.evaluate(model);
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
  private evaluate(model: EarlyStoppingModel): Evaluation {
    if (model instanceof ComputationGraph) return model.evaluate(this.iterator);
    if (!isDataSetIterator(this.iterator)) throw new Error('ClassificationScoreCalculator: a MultiLayerNetwork is evaluated on a DataSetIterator; got a MultiDataSetIterator');
    return model.evaluate(this.iterator);
  }
}

// ---- model savers -------------------------------------------------------------------------------

/** Keeps the best and latest models of kind M (DL4J's EarlyStoppingModelSaver<T extends Model>). */
export interface EarlyStoppingModelSaver<M extends EarlyStoppingModel = MultiLayerNetwork> {
  saveBestModel(model: M, score: number): Promise<void>;
  saveLatestModel(model: M, score: number): Promise<void>;
  /** A new model (owned by the caller) equal to the best saved one, or null if none was saved. */
  getBestModel(): Promise<M | null>;
  getLatestModel(): Promise<M | null>;
}

/** Keeps copies (clone()) of the best and latest models in memory. */
export class InMemoryModelSaver<M extends { clone(): M } & EarlyStoppingModel = MultiLayerNetwork> implements EarlyStoppingModelSaver<M> {
  private best: M | null = null;
  private latest: M | null = null;
  async saveBestModel(model: M): Promise<void> {
    this.best?.close();
    this.best = model.clone();
  }
  async saveLatestModel(model: M): Promise<void> {
    this.latest?.close();
    this.latest = model.clone();
  }
  async getBestModel(): Promise<M | null> {
    return this.best ? this.best.clone() : null;
  }
  async getLatestModel(): Promise<M | null> {
    return this.latest ? this.latest.clone() : null;
  }
  /** Releases the stored copies. */
  close(): void {
    this.best?.close();
    this.latest?.close();
    this.best = this.latest = null;
  }
}

/** The kind of a saved model: a model read back is checked against it, so it is known to be an M. */
interface SavedKind<M extends EarlyStoppingModel> {
  readonly name: ModelTypeName;
  is(model: EarlyStoppingModel): model is M;
}

function kindOf<M extends EarlyStoppingModel>(saved: M): SavedKind<M> {
  const cls = saved.constructor;
  return { name: modelTypeName(saved), is: (model): model is M => model.constructor === cls };
}

/** Writes bestModel.bin and latestModel.bin (ModelSerializer files, with updater state) into a directory. */
export class LocalFileModelSaver<M extends EarlyStoppingModel = MultiLayerNetwork> implements EarlyStoppingModelSaver<M> {
  private bestKind: SavedKind<M> | null = null;
  private latestKind: SavedKind<M> | null = null;
  constructor(readonly directory: string) {}
  get bestModelPath(): string {
    return join(this.directory, 'bestModel.bin');
  }
  get latestModelPath(): string {
    return join(this.directory, 'latestModel.bin');
  }
  async saveBestModel(model: M): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    await ModelSerializer.writeModel(model, this.bestModelPath);
    this.bestKind = kindOf(model);
  }
  async saveLatestModel(model: M): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    await ModelSerializer.writeModel(model, this.latestModelPath);
    this.latestKind = kindOf(model);
  }
  async getBestModel(): Promise<M | null> {
    return this.restore(this.bestModelPath, this.bestKind);
  }
  async getLatestModel(): Promise<M | null> {
    return this.restore(this.latestModelPath, this.latestKind);
  }
  private async restore(path: string, kind: SavedKind<M> | null): Promise<M | null> {
    if (!kind) return null;
    const { model } = await ModelSerializer.restoreModel(path);
    if (kind.is(model)) return model;
    // Only when something else overwrote the file since it was saved.
    const held = modelTypeName(model);
    model.close();
    throw new Error(`LocalFileModelSaver: '${path}' now holds a ${held}; a ${kind.name} was saved there`);
  }
}

// ---- configuration, result, trainers ------------------------------------------------------------

export interface EarlyStoppingConfiguration<M extends EarlyStoppingModel = MultiLayerNetwork> {
  epochTerminationConditions?: readonly EpochTerminationCondition[];
  iterationTerminationConditions?: readonly IterationTerminationCondition[];
  scoreCalculator: ScoreCalculator<M>;
  /** Default: a new InMemoryModelSaver. */
  modelSaver?: EarlyStoppingModelSaver<M>;
  /** Score (and consider for best model) every N epochs (default 1): after epochs N-1, 2N-1, ... */
  evaluateEveryNEpochs?: number;
  /** Also save the model after every epoch as the latest model (default false). */
  saveLastModel?: boolean;
}

export type TerminationReason = 'EpochTerminationCondition' | 'IterationTerminationCondition' | 'Error';

export interface EarlyStoppingResult<M extends EarlyStoppingModel = MultiLayerNetwork> {
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
  /** The best model from the saver: a new model owned by the caller (null if none was saved). */
  getBestModel(): Promise<M | null>;
}

/**
 * An iterator seen through a stop flag: once an iteration condition fires, hasNext() turns false,
 * so fit() ends the epoch normally after the step that triggered it (its counters and listeners
 * stay consistent, which throwing out of a listener would not guarantee).
 */
class StoppableBatches<B> implements BatchIterator<B> {
  constructor(protected readonly inner: BatchIterator<B>, private readonly stopRequested: () => boolean) {}
  next(): B {
    return this.inner.next();
  }
  hasNext(): boolean {
    return !this.stopRequested() && this.inner.hasNext();
  }
  reset(): void {
    this.inner.reset();
  }
  get resetSupported(): boolean {
    return this.inner.resetSupported;
  }
}

/** StoppableBatches over a DataSetIterator, itself a DataSetIterator (what MultiLayerNetwork.fit takes). */
class StoppableIterator extends StoppableBatches<DataSet> implements DataSetIterator {
  constructor(private readonly source: DataSetIterator, stopRequested: () => boolean) {
    super(source, stopRequested);
  }
  get asyncSupported(): boolean {
    return this.source.asyncSupported;
  }
  get batch(): number {
    return this.source.batch;
  }
  get inputColumns(): number {
    return this.source.inputColumns;
  }
  get totalOutcomes(): number {
    return this.source.totalOutcomes;
  }
  get preProcessor(): DataSetPreProcessor | null {
    return this.source.preProcessor;
  }
  set preProcessor(p: DataSetPreProcessor | null) {
    this.source.preProcessor = p;
  }
  [Symbol.iterator](): Iterator<DataSet> {
    return iterateDataSets(this);
  }
}

/**
 * The early-stopping loop shared by the trainers of both model kinds (DL4J's
 * BaseEarlyStoppingTrainer); a subclass trains one epoch of its model over its iterator kind I.
 */
export abstract class BaseEarlyStoppingTrainer<M extends EarlyStoppingModel, I extends BatchIterator<DataSet | MultiDataSet>> {
  readonly modelSaver: EarlyStoppingModelSaver<M>;

  protected constructor(readonly config: EarlyStoppingConfiguration<M>, readonly network: M, readonly trainIterator: I, defaultSaver: () => EarlyStoppingModelSaver<M>) {
    const name = this.constructor.name;
    const n = config.evaluateEveryNEpochs ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: evaluateEveryNEpochs must be a positive integer, got ${n}`);
    if ((config.epochTerminationConditions?.length ?? 0) + (config.iterationTerminationConditions?.length ?? 0) === 0) {
      throw new Error(`${name}: no termination conditions; give at least one epoch or iteration termination condition`);
    }
    this.modelSaver = config.modelSaver ?? defaultSaver();
  }

  /**
   * Trains the model for one epoch over the training iterator, ending early once `stopRequested`
   * turns true (an iteration condition fired).
   */
  protected abstract trainEpoch(stopRequested: () => boolean): Promise<void>;

  /** Trains until a termination condition fires (or an error occurs, reported in the result). */
  async fit(): Promise<EarlyStoppingResult<M>> {
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
    const finish = (terminationReason: TerminationReason, terminationDetails: string): EarlyStoppingResult<M> => ({
      terminationReason, terminationDetails, bestModelEpoch, bestModelScore: bestModelEpoch === -1 ? NaN : bestModelScore,
      scoreVsEpoch, totalEpochs: epoch, getBestModel: () => modelSaver.getBestModel(),
    });
    const saveBest = async (score: number): Promise<void> => {
      bestModelEpoch = epoch;
      bestModelScore = score;
      await modelSaver.saveBestModel(network, score);
    };

    // Set by the listener when an iteration condition fires.
    const stop: { by: IterationTerminationCondition | null } = { by: null };
    const listener: TrainingListener = {
      iterationDone(model: TrainableModel): void {
        if (iterConds.length === 0 || stop.by) return;
        const s = model.score();
        stop.by = iterConds.find((c) => c.terminate(s)) ?? null;
      },
    };
    const saved = [...network.listeners];
    network.addListeners(listener);
    try {
      for (;;) {
        if (epoch > 0 && !this.trainIterator.resetSupported) throw new Error(`${this.constructor.name}: the training iterator does not support reset, so it cannot be used for more than one epoch`);
        await this.trainEpoch(() => stop.by !== null);
        const fired = stop.by;
        if (fired) {
          // DL4J: a run stopped before any scoring still reports a best model: the current one.
          if (bestModelEpoch === -1) await saveBest(config.scoreCalculator.calculateScore(network));
          if (config.saveLastModel) await modelSaver.saveLatestModel(network, NaN);
          return finish('IterationTerminationCondition', fired.toString());
        }
        let score: number | undefined;
        if ((epoch + 1) % every === 0) {
          score = config.scoreCalculator.calculateScore(network);
          scoreVsEpoch.set(epoch, score);
          if (minimize ? score < bestModelScore : score > bestModelScore) await saveBest(score);
        }
        if (config.saveLastModel) await modelSaver.saveLatestModel(network, score ?? NaN);
        const ended = epochConds.find((c) => c.terminate(epoch, score, minimize));
        epoch++;
        if (ended) return finish('EpochTerminationCondition', ended.toString());
      }
    } catch (e) {
      return finish('Error', e instanceof Error ? e.message : String(e));
    } finally {
      network.setListeners(...saved);
    }
  }
}

/** Early stopping of a MultiLayerNetwork trained on a DataSetIterator (DL4J's EarlyStoppingTrainer). */
export class EarlyStoppingTrainer extends BaseEarlyStoppingTrainer<MultiLayerNetwork, DataSetIterator> {
  constructor(config: EarlyStoppingConfiguration<MultiLayerNetwork>, network: MultiLayerNetwork, trainIterator: DataSetIterator) {
    super(config, network, trainIterator, () => new InMemoryModelSaver<MultiLayerNetwork>());
  }

  protected override async trainEpoch(stopRequested: () => boolean): Promise<void> {
    this.network.fit(new StoppableIterator(this.trainIterator, stopRequested), 1);
  }
}

/**
 * Early stopping of a ComputationGraph trained on a DataSetIterator or a MultiDataSetIterator
 * (DL4J's EarlyStoppingGraphTrainer); score calculators and savers are the same classes.
 */
export class EarlyStoppingGraphTrainer extends BaseEarlyStoppingTrainer<ComputationGraph, DataSetIterator | MultiDataSetIterator> {
  constructor(config: EarlyStoppingConfiguration<ComputationGraph>, graph: ComputationGraph, trainIterator: DataSetIterator | MultiDataSetIterator) {
    super(config, graph, trainIterator, () => new InMemoryModelSaver<ComputationGraph>());
  }

  protected override async trainEpoch(stopRequested: () => boolean): Promise<void> {
    const it = this.trainIterator;
    this.network.fit(isDataSetIterator(it) ? new StoppableIterator(it, stopRequested) : new StoppableBatches(it, stopRequested), 1);
  }
}
