/**
 * DL4J's NeuralNetConfiguration / MultiLayerConfiguration as a plain-data options object: global
 * defaults plus a list of layer configurations that may override them. validateConfiguration()
 * checks everything up front (naming the layer and option), and resolveConfiguration() fills in
 * defaults and infers nIn from the previous layer, so the layers themselves never see undefined.
 * Each layer type has a resolver (src/nn/resolvers) mapping its input's ActivationType to a
 * ResolvedLayer and its output type; ComputationGraph uses the same resolvers through resolveLayer().
 */
import { DATA_TYPES, isFloating, type DataType } from '../ndarray/dtype.js';
import type { Activation } from './activations.js';
import type { LossFunction } from './losses.js';
import type { Distribution, WeightInit } from './init.js';
import type { UpdaterConfig } from './updaters.js';
import type { CnnShape, ConvolutionalFlatInputType, ConvolutionalInputType, ConvolutionMode, GlobalPoolingType, PoolingType, WindowGeometry, WindowOptions } from './cnn-config.js';
import type { GradientNormalization } from './gradient-normalization.js';
import type { DropOutConfig } from './dropout-variants.js';
import type { CnnExtraLayerConfig } from './cnn-extra-config.js';
import { CNN_EXTRA_RESOLVERS } from './resolvers/convolutional-extra.js';
import type { BidirectionalMode, RecurrentInputType, ResolvedRecurrent, SequenceLayerConfig } from './recurrent-config.js';
import { resolveBidirectional, resolveEmbedding, resolveEmbeddingSequence, resolveLastTimeStep, resolveRecurrent, resolveRnnOutput } from './resolvers/recurrent.js';
import {
  checkActivation, checkCommon, checkSize, fail, layerBase, layerLabel,
  type ActivationType, type LayerResolution, type LayerResolver,
} from './resolvers/context.js';
import { resolveBatchNormalization, resolveDense, resolveShapePreserving } from './resolvers/feed-forward.js';
import { resolveConvolution, resolveGlobalPooling, resolveSubsampling } from './resolvers/convolutional.js';
import type { GravesBidirectionalLstmLayerConfig, GravesLstmLayerConfig } from './graves-lstm-config.js';
import { resolveGravesBidirectionalLstm } from './resolvers/graves-lstm.js';
import { resolveTbptt, type TbpttLengths, type TbpttOptions } from './tbptt.js';
import { checkPreProcessorIndices, resolvePreProcessor, type InputPreProcessorConfig } from './preprocessors.js';

/** Options every parameterized layer may override (DL4J's per-layer builder options). */
export interface ParamLayerOptions {
  name?: string;
  nIn?: number;
  nOut: number;
  activation?: Activation;
  weightInit?: WeightInit;
  /** Required by weightInit 'DISTRIBUTION'. */
  distribution?: Distribution;
  updater?: UpdaterConfig;
  l1?: number;
  l2?: number;
  weightDecay?: number;
  /** DL4J's dropOut(p): the probability of RETAINING each input of this layer during training (1 = no dropout), or an IDropout choice. */
  dropOut?: DropOutConfig;
  hasBias?: boolean;
  gradientNormalization?: GradientNormalization;
  gradientNormalizationThreshold?: number;
}

export interface DenseLayerConfig extends ParamLayerOptions {
  type: 'dense';
}

export interface OutputLayerConfig extends ParamLayerOptions {
  type: 'output';
  lossFunction: LossFunction;
}

export interface ActivationLayerConfig {
  type: 'activation';
  name?: string;
  activation: Activation;
}

export interface DropoutLayerConfig {
  type: 'dropout';
  name?: string;
  /** Retain probability, as DL4J's DropoutLayer(dropOut), or an IDropout choice. */
  dropOut: DropOutConfig;
}

export interface LossLayerConfig {
  type: 'loss';
  name?: string;
  lossFunction: LossFunction;
  /** Default 'identity'. */
  activation?: Activation;
}

/** DL4J's ConvolutionLayer: weights 'W' [nOut, nIn, kh, kw], bias 'b' [nOut]; nIn = input channels. */
export interface ConvolutionLayerConfig extends ParamLayerOptions, WindowOptions {
  type: 'convolution2d';
  /** Default [5, 5] (DL4J's default). */
  kernelSize?: WindowOptions['kernelSize'];
}

/** DL4J's SubsamplingLayer (pooling, no parameters). */
export interface SubsamplingLayerConfig extends WindowOptions {
  type: 'subsampling';
  name?: string;
  /** Default 'max'. */
  poolingType?: PoolingType;
  /** The p of 'pnorm' pooling (default 2). */
  pnorm?: number;
}

/** DL4J's BatchNormalization over [N, C] or per channel over [N, C, H, W]. */
export interface BatchNormalizationConfig {
  type: 'batchNormalization';
  name?: string;
  nIn?: number;
  nOut?: number;
  /** Running-statistics decay (default 0.9, DL4J's). */
  decay?: number;
  /** Default 1e-5. */
  eps?: number;
  updater?: UpdaterConfig;
}

/** DL4J's GlobalPoolingLayer over H and W: [N, C, H, W] to [N, C]. */
export interface GlobalPoolingConfig {
  type: 'globalPooling';
  name?: string;
  /** Default 'max'. */
  poolingType?: GlobalPoolingType;
  /** Default 2. */
  pnorm?: number;
}

export type LayerConfig = DenseLayerConfig | OutputLayerConfig | ActivationLayerConfig | DropoutLayerConfig | LossLayerConfig
  | ConvolutionLayerConfig | SubsamplingLayerConfig | BatchNormalizationConfig | GlobalPoolingConfig
  | CnnExtraLayerConfig
  | SequenceLayerConfig | GravesLstmLayerConfig | GravesBidirectionalLstmLayerConfig;
export type LayerType = LayerConfig['type'];

/** DL4J's InputType.feedForward(size). */
export interface FeedForwardInputType {
  type: 'feedForward';
  size: number;
}

/** The global options that layers inherit (DL4J's NeuralNetConfiguration.Builder values). */
export interface NeuralNetDefaults {
  updater?: UpdaterConfig;
  weightInit?: WeightInit;
  distribution?: Distribution;
  activation?: Activation;
  l1?: number;
  l2?: number;
  weightDecay?: number;
  gradientNormalization?: GradientNormalization;
  gradientNormalizationThreshold?: number;
  /** Default convolutionMode of convolution and subsampling layers (DL4J's global option; default 'Truncate'). */
  convolutionMode?: ConvolutionMode;
}

export type NetworkInputType = FeedForwardInputType | ConvolutionalInputType | ConvolutionalFlatInputType | RecurrentInputType;

export interface NeuralNetConfiguration extends NeuralNetDefaults, TbpttOptions {
  seed?: number;
  dataType?: DataType;
  inputType?: NetworkInputType;
  layers: LayerConfig[];
  /** Preprocessors of layer inputs by layer index (DL4J's inputPreProcessor(i, ...)): e.g. { 1: { type: 'rnnToCnn', height, width, channels } }. */
  inputPreProcessors?: { [layerIndex: number]: InputPreProcessorConfig };
}

/** A layer configuration with every default applied and nIn/nOut known. */
export interface ResolvedLayer {
  readonly index: number;
  readonly type: LayerType;
  readonly name: string;
  readonly nIn: number;
  readonly nOut: number;
  readonly activation: Activation;
  readonly weightInit: WeightInit;
  readonly distribution: Distribution | undefined;
  readonly updater: UpdaterConfig;
  readonly l1: number;
  readonly l2: number;
  readonly weightDecay: number;
  /** Retain probability (1 = none) or an IDropout choice. */
  readonly dropOut: DropOutConfig;
  readonly hasBias: boolean;
  readonly lossFunction: LossFunction | null;
  readonly gradientNormalization: GradientNormalization;
  readonly gradientNormalizationThreshold: number;
  /** Image input of this layer when it receives activations of a convolutional layer (or input type). */
  readonly inputImage?: CnnShape;
  /** Image output (convolution, subsampling, batch normalization over images). */
  readonly outputImage?: CnnShape;
  /** Window geometry of convolution and subsampling layers. */
  readonly window?: WindowGeometry;
  /** Pooling type of subsampling and global pooling layers, with the p of pnorm. */
  readonly pooling?: { readonly type: PoolingType | GlobalPoolingType; readonly pnorm: number };
  /** Batch normalization's running-statistics decay and epsilon. */
  readonly batchNorm?: { readonly decay: number; readonly eps: number };
  /** Depthwise and separable convolutions' channel multiplier. */
  readonly depthMultiplier?: number;
  /** Zero padding's or cropping's [top, bottom, left, right]. */
  readonly margins?: readonly [number, number, number, number];
  /** Upsampling's [height, width] factors. */
  readonly upsampling?: readonly [number, number];
  /** Layer normalization's epsilon. */
  readonly layerNorm?: { readonly eps: number };
  /** LSTM / SimpleRnn options (gate activation, forget gate bias init). */
  readonly recurrent?: ResolvedRecurrent;
  /** Bidirectional's way of combining the two directions. */
  readonly bidirectionalMode?: BidirectionalMode;
  /** The layer inside a Bidirectional or LastTimeStep wrapper. */
  readonly wrapped?: ResolvedLayer;
  /** EmbeddingSequenceLayer's fixed sequence length (absent: any length). */
  readonly inputLength?: number;
  /** Applied to the layer's input before its forward pass (MultiLayerNetwork's inputPreProcessors). */
  readonly preProcessor?: InputPreProcessorConfig;
}

export interface ResolvedConfiguration {
  readonly seed: number | undefined;
  readonly dataType: DataType;
  readonly layers: readonly ResolvedLayer[];
  /** Truncated BPTT's segment and backward lengths (absent: standard backprop). */
  readonly tbptt?: TbpttLengths;
}

const LAYER_RESOLVERS: { readonly [K in LayerType]: LayerResolver<Extract<LayerConfig, { type: K }>> } = {
  dense: resolveDense,
  output: resolveDense,
  activation: resolveShapePreserving,
  dropout: resolveShapePreserving,
  loss: resolveShapePreserving,
  batchNormalization: resolveBatchNormalization,
  convolution2d: resolveConvolution,
  subsampling: resolveSubsampling,
  globalPooling: resolveGlobalPooling,
  ...CNN_EXTRA_RESOLVERS,
  lstm: resolveRecurrent,
  simpleRnn: resolveRecurrent,
  bidirectional: resolveBidirectional,
  lastTimeStep: resolveLastTimeStep,
  rnnOutput: resolveRnnOutput,
  embedding: resolveEmbedding,
  embeddingSequence: resolveEmbeddingSequence,
  gravesLstm: resolveRecurrent,
  gravesBidirectionalLstm: resolveGravesBidirectionalLstm,
};
const LAYER_TYPES = Object.keys(LAYER_RESOLVERS) as LayerType[];

/** The activation type of a network input (convolutionalFlat input is reshaped to images by the first layer). */
export function inputActivationType(it: NeuralNetConfiguration['inputType'], where = 'inputType'): ActivationType {
  if (it === null || typeof it !== 'object') fail(where, `expected an input type object, got ${String(it)}`);
  if (it.type === 'feedForward') {
    checkSize(where, 'size', it.size);
    if (it.size === undefined) fail(where, 'size is required');
    return { kind: 'feedForward', size: it.size };
  }
  if (it.type === 'convolutional' || it.type === 'convolutionalFlat') {
    for (const k of ['height', 'width', 'channels'] as const) {
      checkSize(where, k, it[k]);
      if (it[k] === undefined) fail(where, `${k} is required`);
    }
    return { kind: 'convolutional', channels: it.channels, height: it.height, width: it.width };
  }
  if (it.type === 'recurrent') {
    checkSize(where, 'size', it.size);
    checkSize(where, 'timeSeriesLength', it.timeSeriesLength);
    if (it.size === undefined) fail(where, 'size is required');
    return it.timeSeriesLength === undefined ? { kind: 'recurrent', size: it.size } : { kind: 'recurrent', size: it.size, timeSeriesLength: it.timeSeriesLength };
  }
  return fail(where, `expected type 'feedForward', 'convolutional', 'convolutionalFlat' or 'recurrent', got '${String((it as { type: unknown }).type)}'`);
}

/** Checks and resolves one layer given its input; shared by MultiLayerNetwork and ComputationGraph. */
export function resolveLayer(l: LayerConfig, index: number, label: string | number, input: ActivationType | undefined, defaults: NeuralNetDefaults): LayerResolution {
  if (l === null || typeof l !== 'object') fail(`layer ${label}`, `expected a layer configuration object, got ${String(l)}`);
  const where = layerLabel(label, l);
  if (!LAYER_TYPES.includes(l.type)) fail(where, `unknown layer type '${String(l.type)}'; expected one of ${LAYER_TYPES.join(', ')}`);
  const resolver = LAYER_RESOLVERS[l.type] as LayerResolver<LayerConfig>;
  return resolver(l, { where, defaults, input, base: layerBase(index, l, defaults) });
}

/** Checks the global options (everything but layers and inputType). */
export function checkDefaults(conf: NeuralNetDefaults & { seed?: number; dataType?: DataType }): DataType {
  if (conf.seed !== undefined && !Number.isSafeInteger(conf.seed)) fail('seed', `must be a safe integer, got ${String(conf.seed)}`);
  const dataType = conf.dataType ?? 'FLOAT';
  if (!(DATA_TYPES as readonly string[]).includes(dataType) || !isFloating(dataType)) fail('dataType', `must be a floating type, got '${String(dataType)}'`);
  checkActivation('global', conf.activation);
  checkCommon('global', conf, undefined);
  return dataType;
}

/**
 * Checks a configuration and returns it resolved (defaults applied, nIn inferred). Throws an error
 * naming the layer index, type and name, and the offending option.
 */
export function resolveConfiguration(conf: NeuralNetConfiguration): ResolvedConfiguration {
  if (conf === null || typeof conf !== 'object') fail('configuration', `expected an object, got ${String(conf)}`);
  if (!Array.isArray(conf.layers) || conf.layers.length === 0) fail('layers', 'at least one layer is required');
  const dataType = checkDefaults(conf);
  let input = conf.inputType === undefined ? undefined : inputActivationType(conf.inputType);
  checkPreProcessorIndices(conf.inputPreProcessors, conf.layers.length);
  const resolved = conf.layers.map((l, i) => {
    const preProcessor = conf.inputPreProcessors?.[i];
    if (preProcessor !== undefined) input = resolvePreProcessor(`inputPreProcessors[${i}]`, preProcessor, input);
    const r = resolveLayer(l, i, i, input, conf);
    input = r.output;
    return preProcessor === undefined ? r.layer : { ...r.layer, preProcessor };
  });
  resolved.forEach((r, i) => {
    if (r.lossFunction !== null && i !== resolved.length - 1) fail(layerLabel(i, conf.layers[i]!), `an '${r.type}' layer must be the last layer`);
  });
  const last = resolved.length - 1;
  if (resolved[last]!.lossFunction === null) fail(layerLabel(last, conf.layers[last]!), "the last layer must be an 'output' or 'loss' layer");
  const tbptt = resolveTbptt(conf, resolved);
  return { seed: conf.seed, dataType, layers: resolved, ...(tbptt === undefined ? {} : { tbptt }) };
}

/** Throws when the configuration is invalid (see resolveConfiguration). */
export function validateConfiguration(conf: NeuralNetConfiguration): void {
  resolveConfiguration(conf);
}

/** The configuration as JSON text (validated first). */
export function configurationToJSON(conf: NeuralNetConfiguration): string {
  validateConfiguration(conf);
  return JSON.stringify(conf);
}

/** A configuration from JSON text or an already parsed object; throws when invalid. */
export function configurationFromJSON(json: string | object): NeuralNetConfiguration {
  let parsed: unknown;
  try {
    parsed = typeof json === 'string' ? JSON.parse(json) : structuredClone(json);
  } catch (e) {
    throw new Error(`NeuralNetConfiguration.fromJSON: not valid JSON: ${(e as Error).message}`);
  }
  const conf = parsed as NeuralNetConfiguration;
  validateConfiguration(conf);
  return conf;
}

/** Value-side companion of the NeuralNetConfiguration type: validate, toJSON, fromJSON. */
export const NeuralNetConfiguration = {
  validate: validateConfiguration,
  resolve: resolveConfiguration,
  toJSON: configurationToJSON,
  fromJSON: configurationFromJSON,
} as const;
