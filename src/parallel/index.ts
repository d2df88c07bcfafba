// Data parallelism (DL4J's parallel-wrapper): training and inference over several worker threads.
export { type Collective, type CollectiveGroup, type CollectiveInitBase, CollectiveAbortedError } from './collective.js';
export { createCollectiveGroup, openCollective, type CollectiveInit, type CollectiveGroupOptions } from './collective-factory.js';
export { createSharedMemoryGroup, SharedMemoryCollective, type SharedMemoryCollectiveInit, type SharedMemoryGroupOptions } from './shared-memory-collective.js';
export { workerBackendNames, defaultWorkerCount } from './devices.js';
export { ParallelWrapper, type ParallelWrapperOptions, type ParallelFitOptions, type TrainingMode } from './parallel-wrapper.js';
export { type ParallelModel } from './parallel-model.js';
export { EarlyStoppingParallelTrainer } from './early-stopping-parallel.js';
export { ParallelInference, type ParallelInferenceOptions, type ParallelInferenceStats, type InferenceMode } from './parallel-inference.js';
