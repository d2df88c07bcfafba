/**
 * DL4J's TrainingListener and ScoreIterationListener. Listeners are called after each minibatch
 * step; reading the score (model.score()) copies one number back from the device, so only
 * listeners that ask for it pay that cost.
 */

import type { NDArray } from '../ndarray/ndarray.js';

/** What a listener may read from the model (MultiLayerNetwork implements it). */
export interface TrainableModel {
  /** The score (loss + regularization) of the last minibatch step. */
  score(): number;
  /** Minibatch steps and epochs done so far; optional so that simple models need not count. */
  readonly iterationCount?: number;
  readonly epochCount?: number;
  /**
   * The output for an input (inference mode unless `train`; a time series' features mask [N, T]
   * when given); EvaluativeListener needs it. A ComputationGraph gives one array per output.
   */
  output?(input: NDArray, train?: boolean, featuresMask?: NDArray | null): NDArray | NDArray[];
}

export interface TrainingListener {
  /** After each minibatch step; iteration and epoch are the counts before this step was counted (as DL4J). */
  iterationDone?(model: TrainableModel, iteration: number, epoch: number): void;
  onEpochStart?(model: TrainableModel): void;
  onEpochEnd?(model: TrainableModel): void;
}

/** Logs "Score at iteration N is S" every `printEvery` iterations (DL4J's ScoreIterationListener). */
export class ScoreIterationListener implements TrainingListener {
  readonly printEvery: number;
  private readonly log: (line: string) => void;

  constructor(printEvery = 10, log: (line: string) => void = (line) => console.log(line)) {
    if (!Number.isInteger(printEvery) || printEvery < 1) throw new Error(`ScoreIterationListener: printEvery must be a positive integer, got ${printEvery}`);
    this.printEvery = printEvery;
    this.log = log;
  }

  iterationDone(model: TrainableModel, iteration: number): void {
    if (iteration % this.printEvery === 0) this.log(`Score at iteration ${iteration} is ${model.score()}`);
  }
}
