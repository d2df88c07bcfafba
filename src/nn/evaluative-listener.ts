/**
 * DL4J's EvaluativeListener: every N iterations or epochs, evaluates the model on held-out data
 * with one or more evaluations (reset each time) and hands them to a callback or logs their
 * stats(). Evaluation runs the model in inference mode (no dropout, no batch-normalization
 * statistics updates, no random numbers drawn), so training continues exactly as without it; its
 * temporaries are released per batch.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { scope } from '../ndarray/scope.js';
import { DataSet } from '../data/dataset.js';
import type { DataSetIterator } from '../data/iterator.js';
import { Evaluation } from '../eval/classification.js';
import type { TrainableModel, TrainingListener } from './listeners.js';
import { forEachBatch } from './training-core.js';

/** What an evaluation offers (Evaluation, RegressionEvaluation, ROC, ROCMultiClass, ROCBinary; DL4J's IEvaluation). */
export interface IEvaluation {
  eval(labels: NDArray, predictions: NDArray, mask?: NDArray): void;
  reset(): void;
  stats(): string;
}

/** A model whose outputs can be evaluated. */
export interface OutputModel {
  /**
   * Inference-mode output for a batch's features and their mask ([N, T] for time series, null
   * for none). A ComputationGraph returns one array per output; the first is evaluated (DL4J's evaluate).
   */
  output(input: NDArray, train: boolean, featuresMask: NDArray | null): NDArray | NDArray[];
}

/**
 * Adds the model's inference-mode outputs over `data` to each evaluation (DL4J's doEvaluation).
 * Masked time series are run with their features mask (so padding does not reach real steps, e.g.
 * through a Bidirectional layer's backward pass) and evaluated at the labels mask's steps only.
 * An iterator is reset first (when it can be) and each DataSet it returns is closed after use; a
 * DataSet passed directly stays the caller's.
 */
export function doEvaluation(model: OutputModel, data: DataSet | DataSetIterator, evaluations: readonly IEvaluation[]): void {
  const one = (ds: DataSet): void =>
    scope(() => {
      const result = model.output(ds.features, false, ds.featuresMask ?? null);
      const out = Array.isArray(result) ? result[0]! : result;
      for (const e of evaluations) e.eval(ds.labels, out, ds.labelsMask ?? undefined);
    });
  if (data instanceof DataSet) one(data);
  else forEachBatch('doEvaluation', data, 0, one);
}

/** When the listener evaluates: after iterations or at the end of epochs (DL4J's InvocationType). */
export type InvocationType = 'ITERATION_END' | 'EPOCH_END';

const INVOCATION_TYPES: readonly InvocationType[] = ['ITERATION_END', 'EPOCH_END'];

/** When an evaluation ran. */
export interface EvaluationInfo {
  readonly invocationType: InvocationType;
  /** The (0-based) iteration after which it ran; at an epoch end, that epoch's last iteration. */
  readonly iteration: number;
  /** The (0-based) epoch during which, or at whose end, it ran. */
  readonly epoch: number;
  /** How many evaluations this listener ran before this one. */
  readonly invocation: number;
}

export interface EvaluativeListenerOptions {
  /** Evaluate every this-many iterations or epochs (default 1), counted over the model's life. */
  frequency?: number;
  /** Default 'EPOCH_END' (as DL4J). */
  invocationType?: InvocationType;
  /** The evaluations to fill (default one new Evaluation); reset before each run. */
  evaluations?: readonly IEvaluation[];
  /** Called after each run with the filled evaluations. */
  onEvaluation?: (model: TrainableModel, evaluations: readonly IEvaluation[], info: EvaluationInfo) => void;
  /** Where each evaluation's stats() go; default console.log without onEvaluation, nothing with it; null: never. */
  log?: ((line: string) => void) | null;
}

function isIterator(v: unknown): v is DataSetIterator {
  const it = v as Partial<DataSetIterator> | null;
  return typeof it === 'object' && it !== null && typeof it.hasNext === 'function' && typeof it.next === 'function' && typeof it.reset === 'function';
}

function isEvaluation(v: unknown): v is IEvaluation {
  const e = v as Partial<IEvaluation> | null;
  return typeof e === 'object' && e !== null && typeof e.eval === 'function' && typeof e.reset === 'function' && typeof e.stats === 'function';
}

function hasOutput(model: TrainableModel): model is TrainableModel & OutputModel {
  return typeof model.output === 'function';
}

/**
 * Evaluates the model on a DataSet or DataSetIterator during training. The iterator must not be
 * the training iterator: evaluating resets it.
 */
export class EvaluativeListener implements TrainingListener {
  readonly frequency: number;
  readonly invocationType: InvocationType;
  readonly evaluations: readonly IEvaluation[];
  private readonly data: DataSet | DataSetIterator;
  private readonly onEvaluation: EvaluativeListenerOptions['onEvaluation'];
  private readonly log: ((line: string) => void) | null;
  private invocations = 0;
  /** Fallbacks for models that do not count epochs/iterations themselves. */
  private epochsEnded = 0;
  private lastIteration = -1;

  constructor(data: DataSet | DataSetIterator, options: EvaluativeListenerOptions = {}) {
    if (!(data instanceof DataSet) && !isIterator(data)) throw new Error(`EvaluativeListener: data must be a DataSet or a DataSetIterator, got ${String(data)}`);
    if (!(data instanceof DataSet) && !data.resetSupported) throw new Error('EvaluativeListener: the iterator does not support reset, so it cannot be evaluated more than once');
    const frequency = options.frequency ?? 1;
    if (!Number.isSafeInteger(frequency) || frequency < 1) throw new Error(`EvaluativeListener: frequency must be a positive integer, got ${frequency}`);
    const type = options.invocationType ?? 'EPOCH_END';
    if (!INVOCATION_TYPES.includes(type)) throw new Error(`EvaluativeListener: invocationType must be one of ${INVOCATION_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
    const evaluations = options.evaluations ?? [new Evaluation()];
    if (!Array.isArray(evaluations) || evaluations.length === 0) throw new Error('EvaluativeListener: evaluations must be a non-empty array');
    evaluations.forEach((e: unknown, i) => {
      if (!isEvaluation(e)) throw new Error(`EvaluativeListener: evaluations[${i}] has no eval/reset/stats methods`);
    });
    this.data = data;
    this.frequency = frequency;
    this.invocationType = type;
    this.evaluations = [...evaluations];
    this.onEvaluation = options.onEvaluation;
    this.log = options.log !== undefined ? options.log : options.onEvaluation ? null : (line) => console.log(line);
  }

  iterationDone(model: TrainableModel, iteration: number, epoch: number): void {
    this.lastIteration = iteration;
    if (this.invocationType === 'ITERATION_END' && (iteration + 1) % this.frequency === 0) this.evaluate(model, iteration, epoch);
  }

  onEpochEnd(model: TrainableModel): void {
    // fit() counts the epoch after the listeners run, so epochCount is this epoch's index.
    const epoch = model.epochCount ?? this.epochsEnded;
    this.epochsEnded = epoch + 1;
    const iteration = model.iterationCount !== undefined ? model.iterationCount - 1 : this.lastIteration;
    if (this.invocationType === 'EPOCH_END' && (epoch + 1) % this.frequency === 0) this.evaluate(model, iteration, epoch);
  }

  private evaluate(model: TrainableModel, iteration: number, epoch: number): void {
    if (!hasOutput(model)) throw new Error(`EvaluativeListener: the model (${model.constructor.name}) has no output(input) method, so it cannot be evaluated`);
    for (const e of this.evaluations) e.reset();
    doEvaluation(model, this.data, this.evaluations);
    const info: EvaluationInfo = { invocationType: this.invocationType, iteration, epoch, invocation: this.invocations++ };
    this.onEvaluation?.(model, this.evaluations, info);
    if (this.log) {
      for (const e of this.evaluations) this.log(`EvaluativeListener: evaluation ${info.invocation} (epoch ${epoch}, iteration ${iteration}):\n${e.stats()}`);
    }
  }
}
