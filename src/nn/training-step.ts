/**
 * The forward pass's mode as layers receive it: false (inference), or the training step the model
 * is at, so per-step hyperparameters of a layer (scheduled dropout) follow the model's own counters.
 * `true` is training without a known step (a layer run on its own), accepted where nothing is scheduled.
 */

/** The model's iteration and epoch (DL4J's iterationCount and epochCount, both from 0) during a training pass. */
export interface TrainingStep {
  readonly iteration: number;
  readonly epoch: number;
}

export type Training = boolean | TrainingStep;

/** The mode a network hands its layers: its current counters when training, false otherwise. */
export function trainingStep(training: boolean, counters: { readonly iterationCount: number; readonly epochCount: number }): false | TrainingStep {
  return training ? { iteration: counters.iterationCount, epoch: counters.epochCount } : false;
}
