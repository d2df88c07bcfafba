/**
 * dl4ts: deep learning for TypeScript on Node.js. ND4J-style arrays on a native CPU backend (and
 * CUDA when present), reverse-mode autograd, and DL4J-style networks.
 */
export { NDArray, type NestedArray } from './ndarray/ndarray.js';
export { type DataType, DATA_TYPES, defaultFloatType, setDefaultDataType, promoteTypes, dtypeSize, isFloating } from './ndarray/dtype.js';
export { point, interval, all as allIndices, newAxis, type IndexSpec } from './ndarray/indexing.js';
export { scope, scopeAsync, keep, scopeChildren, type HoldsArrays } from './ndarray/scope.js';
export { memoryReport, type MemoryReport } from './ndarray/memory.js';
export { noGrad, isGradEnabled } from './autodiff/tape.js';
export * from './ops/index.js';
export type { Backend, BackendInfo, TensorRef } from './backend/backend.js';
export { getBackend, setBackend, backendByName, backendStatus, backendInfo, registerBackendProvider, type BackendProvider, type BackendStatus } from './backend/registry.js';
export { configureCuda, cudaConfiguration, type CudaConfiguration } from './backend/cuda/config.js';
export { gradCheck, type GradCheckOptions, type GradCheckResult, type GradCheckEntry } from './autodiff/gradcheck.js';
export { activate, isActivation, ACTIVATIONS, type Activation, type ActivationOptions } from './nn/activations.js';
export { computeLoss, computeScoreArray, LOSS_FUNCTIONS, type LossFunction, type LossInput } from './nn/losses.js';
export { initWeights, WEIGHT_INITS, type WeightInit, type Distribution, type InitOptions } from './nn/init.js';
export { scheduleValue, validateSchedule, type Schedule, type ScheduleType, type StepSchedule, type ExponentialSchedule, type InverseSchedule, type PolySchedule, type SigmoidSchedule, type CosineSchedule, type WarmupSchedule, type MapSchedule } from './nn/schedules.js';
export { Updater, UPDATER_DEFAULTS, updaterStateNames, updaterLearningRate, validateUpdaterConfig, type UpdaterConfig, type UpdaterType, type SgdConfig, type NesterovsConfig, type AdamConfig, type AdamWConfig, type AdaMaxConfig, type NadamConfig, type AMSGradConfig, type RmsPropConfig, type AdaGradConfig, type AdaDeltaConfig, type NoOpConfig } from './nn/updaters.js';
export { applyGradientNormalization, GRADIENT_NORMALIZATIONS, DEFAULT_GRADIENT_NORMALIZATION_THRESHOLD, type GradientNormalization } from './nn/gradient-normalization.js';
export * from './eval/index.js';
export * from './data/index.js';
export { NeuralNetConfiguration, validateConfiguration, resolveConfiguration, configurationToJSON, configurationFromJSON, type LayerConfig, type LayerType, type DenseLayerConfig, type OutputLayerConfig, type ActivationLayerConfig, type DropoutLayerConfig, type LossLayerConfig, type ParamLayerOptions, type FeedForwardInputType, type ResolvedLayer, type ResolvedConfiguration } from './nn/config.js';
export { createLayer, isOutputLayer, DenseLayer, OutputLayer, ActivationLayer, DropoutLayer, LossLayer, type Layer, type OutputLayerLike } from './nn/layers/index.js';
export { MultiLayerNetwork } from './nn/multilayer-network.js';
export { type ConvolutionLayerConfig, type SubsamplingLayerConfig, type BatchNormalizationConfig, type GlobalPoolingConfig } from './nn/config.js';
export { ConvolutionLayer, SubsamplingLayer, BatchNormalizationLayer, GlobalPoolingLayer } from './nn/layers/index.js';
export { resolveWindow, type ConvolutionMode, type PoolingType, type GlobalPoolingType, type Size2D, type CnnShape, type WindowGeometry, type WindowOptions, type ConvolutionalInputType, type ConvolutionalFlatInputType } from './nn/cnn-config.js';
export { ScoreIterationListener, type TrainingListener, type TrainableModel } from './nn/listeners.js';
export { ModelSerializer, serializeModel, deserializeModel, type WriteModelOptions, type RestoreOptions, type RestoredModel } from './nn/model-serializer.js';
export { exportSafetensors, importSafetensors, safetensorsBytes, loadSafetensorsBytes, type SafetensorsDType } from './nn/safetensors.js';
export { crc32 } from './nn/crc32.js';
export { PerformanceListener, ProgressBarListener, type PerformanceListenerOptions, type PerformanceReport, type ProgressBarOptions, type ProgressStream } from './nn/listeners-extra.js';
export { EarlyStoppingTrainer, MaxEpochsTerminationCondition, ScoreImprovementEpochTerminationCondition, BestScoreEpochTerminationCondition, MaxTimeIterationTerminationCondition, MaxScoreIterationTerminationCondition, InvalidScoreIterationTerminationCondition, MaxEpochs, ScoreImprovementEpoch, BestScoreEpoch, MaxTime, MaxScore, InvalidScore, DataSetLossCalculator, ClassificationScoreCalculator, InMemoryModelSaver, LocalFileModelSaver, type EarlyStoppingConfiguration, type EarlyStoppingResult, type EpochTerminationCondition, type IterationTerminationCondition, type ScoreCalculator, type ClassificationMetric, type EarlyStoppingModelSaver, type TerminationReason } from './nn/early-stopping.js';
export { CheckpointListener, type CheckpointListenerOptions, type Checkpoint, type CheckpointTimeUnit } from './nn/checkpoint-listener.js';
export { type Deconvolution2DConfig, type DepthwiseConvolution2DConfig, type SeparableConvolution2DConfig, type Upsampling2DConfig, type ZeroPaddingConfig, type Cropping2DConfig, type LayerNormalizationConfig, type CnnExtraLayerConfig, type Margins } from './nn/cnn-extra-config.js';
export { Deconvolution2DLayer, DepthwiseConvolution2DLayer, SeparableConvolution2DLayer, Upsampling2DLayer, ZeroPaddingLayer, Cropping2DLayer, LayerNormalizationLayer, depthwiseConv2d } from './nn/layers/cnn-extra.js';
export { applyDropOutSpec, alphaDropoutConstants, DROPOUT_TYPES, SELU_ALPHA, SELU_LAMBDA, type DropOutConfig, type DropOutSpec, type DropoutSpec, type GaussianDropoutSpec, type GaussianNoiseSpec, type AlphaDropoutSpec } from './nn/dropout-variants.js';
export { EvaluativeListener, doEvaluation, type EvaluativeListenerOptions, type EvaluationInfo, type InvocationType, type IEvaluation, type OutputModel } from './nn/evaluative-listener.js';
export { ComputationGraph, type MultiDataSetIterator, type GraphTrainingData } from './nn/graph/computation-graph.js';
export { ComputationGraphConfiguration, resolveGraph, validateGraph, graphToJSON, graphFromJSON, type LayerVertexEntry, type GraphVertexEntry, type VertexEntry, type ResolvedGraph, type ResolvedVertex, type ResolvedLayerVertex, type ResolvedGraphVertex } from './nn/graph/graph-config.js';
export { type VertexConfig, type VertexType, type ElementWiseOp, type MergeVertexConfig, type ElementWiseVertexConfig, type SubsetVertexConfig, type StackVertexConfig, type UnstackVertexConfig, type ScaleVertexConfig, type ShiftVertexConfig, type L2VertexConfig, type L2NormalizeVertexConfig, type ReshapeVertexConfig, type PreprocessorVertexConfig, type PreProcessorConfig, type CnnToFeedForwardConfig, type FeedForwardToCnnConfig } from './nn/graph/vertex-config.js';
export { TrainingCore, type BatchIterator, type KeyedLayer, type GradientExchange } from './nn/training-core.js';
export * from './parallel/index.js';
export { deserializeGraph, type RestoredGraph } from './nn/model-serializer.js';
export { BIDIRECTIONAL_MODES, type RecurrentOptions, type LstmLayerConfig, type SimpleRnnLayerConfig, type RecurrentLayerConfig, type BidirectionalLayerConfig, type BidirectionalMode, type LastTimeStepLayerConfig, type RnnOutputLayerConfig, type EmbeddingLayerConfig, type EmbeddingSequenceLayerConfig, type SequenceLayerConfig, type RecurrentInputType } from './nn/recurrent-config.js';
export { LstmLayer, SimpleRnnLayer, BidirectionalLayer, LastTimeStepLayer, RnnOutputLayer, EmbeddingLayer, EmbeddingSequenceLayer } from './nn/layers/index.js';
export { computeTimeSeriesLoss, type TimeSeriesLossInput } from './nn/layers/rnn-output.js';
