/**
 * DL4J's EarlyStoppingParallelTrainer: early stopping (the same configuration, termination
 * conditions, score calculators, model savers and result as EarlyStoppingTrainer) with each epoch
 * trained by a ParallelWrapper. Scoring and saving run on the main thread's network, which holds
 * the trained parameters after every epoch. Iteration conditions see the workers' combined score
 * and stop training after the round in which they fire.
 */
import type { DataSetIterator } from '../data/iterator.js';
import type { MultiLayerNetwork } from '../nn/multilayer-network.js';
import { EarlyStoppingTrainer, type EarlyStoppingConfiguration, type EarlyStoppingResult } from '../nn/early-stopping.js';
import { ParallelWrapper, type ParallelWrapperOptions } from './parallel-wrapper.js';

export class EarlyStoppingParallelTrainer extends EarlyStoppingTrainer {
  readonly wrapper: ParallelWrapper;

  /** `options` configure the ParallelWrapper (workers, trainingMode, averagingFrequency, ...). */
  constructor(config: EarlyStoppingConfiguration, network: MultiLayerNetwork, trainIterator: DataSetIterator, options: ParallelWrapperOptions = {}) {
    super(config, network, trainIterator);
    this.wrapper = new ParallelWrapper(network, options);
  }

  protected override async fitEpoch(data: DataSetIterator, stopRequested: () => boolean): Promise<void> {
    await this.wrapper.fit(data, 1, { stopRequested });
  }

  /** Trains until a termination condition fires or an error occurs (as EarlyStoppingTrainer); the workers are stopped afterwards. */
  override async fit(): Promise<EarlyStoppingResult> {
    try {
      return await super.fit();
    } finally {
      await this.wrapper.close();
    }
  }
}
