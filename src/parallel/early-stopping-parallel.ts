/**
 * DL4J's EarlyStoppingParallelTrainer: early stopping (the same configuration, termination
 * conditions, score calculators, model savers and result as EarlyStoppingTrainer and
 * EarlyStoppingGraphTrainer) of a MultiLayerNetwork or a ComputationGraph, with each epoch trained
 * by a ParallelWrapper. Scoring and saving run on the main thread's model, which holds the trained
 * parameters after every epoch. Iteration conditions see the workers' combined score and stop
 * training after the round in which they fire.
 */
import type { DataSetIterator } from '../data/iterator.js';
import type { MultiLayerNetwork } from '../nn/multilayer-network.js';
import type { MultiDataSetIterator } from '../nn/graph/computation-graph.js';
import { BaseEarlyStoppingTrainer, InMemoryModelSaver, type EarlyStoppingConfiguration, type EarlyStoppingResult } from '../nn/early-stopping.js';
import { ParallelWrapper, type ParallelWrapperOptions } from './parallel-wrapper.js';
import type { ParallelModel } from './parallel-model.js';

/**
 * M is the model kind (inferred from the model passed); a graph trains on DataSets or
 * MultiDataSets, a MultiLayerNetwork on DataSets (ParallelWrapper checks the batches it reads).
 */
export class EarlyStoppingParallelTrainer<M extends ParallelModel & { clone(): M } = MultiLayerNetwork>
  extends BaseEarlyStoppingTrainer<M, DataSetIterator | MultiDataSetIterator> {
  readonly wrapper: ParallelWrapper;

  /**
   * `options` configure the ParallelWrapper (workers, trainingMode, averagingFrequency, ...). M is
   * taken from the model alone: the shared score calculators are typed for either kind.
   */
  constructor(config: EarlyStoppingConfiguration<NoInfer<M>>, model: M, trainIterator: DataSetIterator | MultiDataSetIterator, options: ParallelWrapperOptions = {}) {
    super(config, model, trainIterator, () => new InMemoryModelSaver<M>());
    this.wrapper = new ParallelWrapper(model, options);
  }

  /** The wrapper checks `stopRequested` after every round (it reads a round's batches ahead of its steps). */
  protected override async trainEpoch(stopRequested: () => boolean): Promise<void> {
    await this.wrapper.fit(this.trainIterator, 1, { stopRequested });
  }

  /** Trains until a termination condition fires or an error occurs (as the sequential trainers); the workers are stopped afterwards. */
  override async fit(): Promise<EarlyStoppingResult<M>> {
    try {
      return await super.fit();
    } finally {
      await this.wrapper.close();
    }
  }
}
