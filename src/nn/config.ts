/**
 * DL4J's NeuralNetConfiguration / MultiLayerConfiguration as a plain-data options object: global
 * defaults plus a list of layer configurations that may override them. validateConfiguration()
 * checks everything up front (naming the layer and option), and resolveConfiguration() fills in
 * defaults and infers nIn from the previous layer, so the layers themselves never see undefined.
 */
import { DATA_TYPES, isFloating, type DataType } from '../ndarray/dtype.js';
import { isActivation, ACTIVATIONS, type Activation } from './activations.js';
import { LOSS_FUNCTIONS, type LossFunction } from './losses.js';
import { WEIGHT_INITS, type Distribution, type WeightInit } from './init.js';
import { validateUpdaterConfig, type UpdaterConfig } from './updaters.js';
import { resolveWindow, type CnnShape, type ConvolutionalFlatInputType, type ConvolutionalInputType, type ConvolutionMode, type GlobalPoolingType, type PoolingType, type WindowGeometry, type WindowOptions } from './cnn-config.js';
import { GRADIENT_NORMALIZATIONS, DEFAULT_GRADIENT_NORMALIZATION_THRESHOLD, type GradientNormalization } from './gradient-normalization.js';

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
  /** DL4J's dropOut(p): the probability of RETAINING each input of this layer during training (1 = no dropout). */
  dropOut?: number;
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
  /** Retain probability, as DL4J's DropoutLayer(dropOut). */
  dropOut: number;
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
  | ConvolutionLayerConfig | SubsamplingLayerConfig | BatchNormalizationConfig | GlobalPoolingConfig;
export type LayerType = LayerConfig['type'];

/** DL4J's InputType.feedForward(size). */
export interface FeedForwardInputType {
  type: 'feedForward';
  size: number;
}

export interface NeuralNetConfiguration {
  seed?: number;
  updater?: UpdaterConfig;
  weightInit?: WeightInit;
  distribution?: Distribution;
  activation?: Activation;
  l1?: number;
  l2?: number;
  weightDecay?: number;
  gradientNormalization?: GradientNormalization;
  gradientNormalizationThreshold?: number;
  dataType?: DataType;
  inputType?: FeedForwardInputType | ConvolutionalInputType | ConvolutionalFlatInputType;
  /** Default convolutionMode of convolution and subsampling layers (DL4J's global option; default 'Truncate'). */
  convolutionMode?: ConvolutionMode;
  layers: LayerConfig[];
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
  /** Retain probability (1 = none). */
  readonly dropOut: number;
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
}

export interface ResolvedConfiguration {
  readonly seed: number | undefined;
  readonly dataType: DataType;
  readonly layers: readonly ResolvedLayer[];
}

/** DL4J's defaults: SIGMOID activation, XAVIER init, Sgd. */
const DEFAULT_ACTIVATION: Activation = 'sigmoid';
const DEFAULT_WEIGHT_INIT: WeightInit = 'XAVIER';
const DEFAULT_UPDATER: UpdaterConfig = { type: 'sgd' };
const LAYER_TYPES: readonly LayerType[] = ['dense', 'output', 'activation', 'dropout', 'loss', 'convolution2d', 'subsampling', 'batchNormalization', 'globalPooling'];

function layerLabel(i: number, l: { type?: unknown; name?: unknown }): string {
  return `layer ${i} (${String(l.type)}${typeof l.name === 'string' ? ` '${l.name}'` : ''})`;
}

function fail(where: string, msg: string): never {
  throw new Error(`NeuralNetConfiguration: ${where}: ${msg}`);
}

function checkNonNegative(where: string, name: string, v: number | undefined): void {
  if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) fail(where, `${name} must be a finite number >= 0, got ${String(v)}`);
}

function checkSize(where: string, name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isInteger(v) && v > 0)) fail(where, `${name} must be a positive integer, got ${String(v)}`);
}

function checkActivation(where: string, v: unknown): void {
  if (v !== undefined && !(typeof v === 'string' && isActivation(v))) fail(where, `unknown activation '${String(v)}'; expected one of ${ACTIVATIONS.join(', ')}`);
}

function checkLoss(where: string, v: unknown): void {
  if (!(typeof v === 'string' && (LOSS_FUNCTIONS as readonly string[]).includes(v))) {
    fail(where, `unknown or missing lossFunction '${String(v)}'; expected one of ${LOSS_FUNCTIONS.join(', ')}`);
  }
}

function checkCommon(where: string, o: {
  weightInit?: unknown; updater?: UpdaterConfig; l1?: number; l2?: number; weightDecay?: number;
  gradientNormalization?: unknown; gradientNormalizationThreshold?: number; distribution?: Distribution;
}, globalDistribution: Distribution | undefined): void {
  if (o.weightInit !== undefined && !(typeof o.weightInit === 'string' && (WEIGHT_INITS as readonly string[]).includes(o.weightInit))) {
    fail(where, `unknown weightInit '${String(o.weightInit)}'; expected one of ${WEIGHT_INITS.join(', ')}`);
  }
  if (o.weightInit === 'DISTRIBUTION' && !(o.distribution ?? globalDistribution)) fail(where, `weightInit 'DISTRIBUTION' needs a distribution`);
  if (o.updater !== undefined) {
    try {
      validateUpdaterConfig(o.updater);
    } catch (e) {
      fail(where, `invalid updater: ${(e as Error).message}`);
    }
  }
  checkNonNegative(where, 'l1', o.l1);
  checkNonNegative(where, 'l2', o.l2);
  checkNonNegative(where, 'weightDecay', o.weightDecay);
  if (o.gradientNormalization !== undefined && !(GRADIENT_NORMALIZATIONS as readonly unknown[]).includes(o.gradientNormalization)) {
    fail(where, `unknown gradientNormalization '${String(o.gradientNormalization)}'; expected one of ${GRADIENT_NORMALIZATIONS.join(', ')}`);
  }
  const t = o.gradientNormalizationThreshold;
  if (t !== undefined && !(Number.isFinite(t) && t > 0)) fail(where, `gradientNormalizationThreshold must be a positive number, got ${String(t)}`);
}

function checkRetain(where: string, v: number | undefined): void {
  if (v !== undefined && !(typeof v === 'number' && v > 0 && v <= 1)) fail(where, `dropOut is DL4J's retain probability and must be in (0, 1], got ${String(v)}`);
}

function needImage(where: string, prev: CnnShape | undefined): CnnShape {
  if (!prev) fail(where, "needs a convolutional input: set inputType { type: 'convolutional' | 'convolutionalFlat', height, width, channels } or put it after a convolutional layer");
  return prev;
}

function checkPnorm(where: string, p: number | undefined): number {
  if (p !== undefined && !(Number.isFinite(p) && p > 0)) fail(where, `pnorm must be a positive number, got ${String(p)}`);
  return p ?? 2;
}

/**
 * Checks a configuration and returns it resolved (defaults applied, nIn inferred). Throws an error
 * naming the layer index, type and name, and the offending option.
 */
export function resolveConfiguration(conf: NeuralNetConfiguration): ResolvedConfiguration {
  if (conf === null || typeof conf !== 'object') fail('configuration', `expected an object, got ${String(conf)}`);
  if (!Array.isArray(conf.layers) || conf.layers.length === 0) fail('layers', 'at least one layer is required');
  if (conf.seed !== undefined && !Number.isSafeInteger(conf.seed)) fail('seed', `must be a safe integer, got ${String(conf.seed)}`);
  const dataType = conf.dataType ?? 'FLOAT';
  if (!(DATA_TYPES as readonly string[]).includes(dataType) || !isFloating(dataType)) fail('dataType', `must be a floating type, got '${String(dataType)}'`);
  checkActivation('global', conf.activation);
  checkCommon('global', conf, undefined);
  let prevImage: CnnShape | undefined;
  let prevOut: number | undefined;
  if (conf.inputType !== undefined) {
    const it = conf.inputType;
    if (it.type === 'feedForward') {
      checkSize('inputType', 'size', it.size);
      prevOut = it.size;
    } else if (it.type === 'convolutional' || it.type === 'convolutionalFlat') {
      for (const k of ['height', 'width', 'channels'] as const) {
        checkSize('inputType', k, it[k]);
        if (it[k] === undefined) fail('inputType', `${k} is required`);
      }
      prevImage = { channels: it.channels, height: it.height, width: it.width };
      prevOut = it.channels * it.height * it.width;
    } else {
      fail('inputType', `expected type 'feedForward', 'convolutional' or 'convolutionalFlat', got '${String((it as { type: unknown }).type)}'`);
    }
  }
  const resolved: ResolvedLayer[] = [];
  conf.layers.forEach((l, i) => {
    if (l === null || typeof l !== 'object') fail(`layer ${i}`, `expected a layer configuration object, got ${String(l)}`);
    const where = layerLabel(i, l);
    if (!LAYER_TYPES.includes(l.type)) fail(where, `unknown layer type '${String(l.type)}'; expected one of ${LAYER_TYPES.join(', ')}`);
    const name = l.name ?? `layer${i}`;
    const base = {
      index: i, type: l.type, name,
      weightInit: conf.weightInit ?? DEFAULT_WEIGHT_INIT, distribution: conf.distribution,
      updater: conf.updater ?? DEFAULT_UPDATER, l1: 0, l2: 0, weightDecay: 0, dropOut: 1, hasBias: false, lossFunction: null,
      gradientNormalization: conf.gradientNormalization ?? 'None',
      gradientNormalizationThreshold: conf.gradientNormalizationThreshold ?? DEFAULT_GRADIENT_NORMALIZATION_THRESHOLD,
    } as const;
    switch (l.type) {
      case 'dense':
      case 'output': {
        checkSize(where, 'nIn', l.nIn);
        checkSize(where, 'nOut', l.nOut);
        if (l.nOut === undefined) fail(where, 'nOut is required');
        checkActivation(where, l.activation);
        checkCommon(where, l, conf.distribution);
        checkRetain(where, l.dropOut);
        if (l.hasBias !== undefined && typeof l.hasBias !== 'boolean') fail(where, `hasBias must be a boolean, got ${String(l.hasBias)}`);
        if (l.type === 'output') checkLoss(where, l.lossFunction);
        const nIn = l.nIn ?? prevOut;
        if (nIn === undefined) fail(where, 'nIn is not set and cannot be inferred (no previous layer and no inputType)');
        const flattenFrom = prevImage;
        if (l.nIn !== undefined && prevOut !== undefined && l.nIn !== prevOut) {
          fail(where, `nIn ${l.nIn} does not match the ${i === 0 ? "inputType's size" : "previous layer's nOut"} ${prevOut}`);
        }
        resolved.push({
          ...base, nIn, nOut: l.nOut,
          activation: l.activation ?? conf.activation ?? (l.type === 'output' ? 'softmax' : DEFAULT_ACTIVATION),
          weightInit: l.weightInit ?? base.weightInit, distribution: l.distribution ?? base.distribution,
          updater: l.updater ?? base.updater,
          l1: l.l1 ?? conf.l1 ?? 0, l2: l.l2 ?? conf.l2 ?? 0, weightDecay: l.weightDecay ?? conf.weightDecay ?? 0,
          dropOut: l.dropOut ?? 1, hasBias: l.hasBias ?? true,
          lossFunction: l.type === 'output' ? l.lossFunction : null,
          gradientNormalization: l.gradientNormalization ?? base.gradientNormalization,
          gradientNormalizationThreshold: l.gradientNormalizationThreshold ?? base.gradientNormalizationThreshold,
          ...(flattenFrom ? { inputImage: flattenFrom } : {}),
        });
        prevOut = l.nOut;
        prevImage = undefined;
        return;
      }
      case 'activation':
      case 'dropout':
      case 'loss': {
        if (prevOut === undefined) fail(where, 'its size cannot be inferred (no previous layer and no inputType)');
        let activation: Activation = 'identity';
        let dropOut = 1;
        let lossFunction: LossFunction | null = null;
        if (l.type === 'activation') {
          if (l.activation === undefined) fail(where, 'activation is required');
          checkActivation(where, l.activation);
          activation = l.activation;
        } else if (l.type === 'dropout') {
          if (l.dropOut === undefined) fail(where, 'dropOut is required');
          checkRetain(where, l.dropOut);
          dropOut = l.dropOut;
        } else {
          checkLoss(where, l.lossFunction);
          checkActivation(where, l.activation);
          activation = l.activation ?? 'identity';
          lossFunction = l.lossFunction;
        }
        if (l.type === 'loss' && prevImage) fail(where, 'a loss layer cannot follow a convolutional layer (add a globalPooling or dense/output layer)');
        resolved.push({ ...base, nIn: prevOut, nOut: prevOut, activation, dropOut, lossFunction, ...(prevImage ? { inputImage: prevImage, outputImage: prevImage } : {}) });
        return;
      }
      case 'convolution2d': {
        checkSize(where, 'nIn', l.nIn);
        checkSize(where, 'nOut', l.nOut);
        if (l.nOut === undefined) fail(where, 'nOut is required');
        checkActivation(where, l.activation);
        checkCommon(where, l, conf.distribution);
        checkRetain(where, l.dropOut);
        const input = needImage(where, prevImage);
        if (l.nIn !== undefined && l.nIn !== input.channels) fail(where, `nIn ${l.nIn} does not match the input's ${input.channels} channels`);
        const { geometry, out } = resolveWindow(where, { ...l, convolutionMode: l.convolutionMode ?? conf.convolutionMode ?? 'Truncate' }, 5, 1, input);
        resolved.push({
          ...base, nIn: input.channels, nOut: l.nOut,
          activation: l.activation ?? conf.activation ?? DEFAULT_ACTIVATION,
          weightInit: l.weightInit ?? base.weightInit, distribution: l.distribution ?? base.distribution,
          updater: l.updater ?? base.updater,
          l1: l.l1 ?? conf.l1 ?? 0, l2: l.l2 ?? conf.l2 ?? 0, weightDecay: l.weightDecay ?? conf.weightDecay ?? 0,
          dropOut: l.dropOut ?? 1, hasBias: l.hasBias ?? true,
          gradientNormalization: l.gradientNormalization ?? base.gradientNormalization,
          gradientNormalizationThreshold: l.gradientNormalizationThreshold ?? base.gradientNormalizationThreshold,
          inputImage: input, outputImage: { channels: l.nOut, height: out[0], width: out[1] }, window: geometry,
        });
        break;
      }
      case 'subsampling': {
        const input = needImage(where, prevImage);
        const type = l.poolingType ?? 'max';
        if (!['max', 'avg', 'pnorm'].includes(type)) fail(where, `poolingType must be 'max', 'avg' or 'pnorm', got '${String(type)}'`);
        const pnorm = checkPnorm(where, l.pnorm);
        const kernel = l.kernelSize ?? 2;
        const { geometry, out } = resolveWindow(where, { ...l, convolutionMode: l.convolutionMode ?? conf.convolutionMode ?? 'Truncate' }, kernel, l.stride ?? kernel, input);
        resolved.push({
          ...base, nIn: input.channels, nOut: input.channels, activation: 'identity',
          inputImage: input, outputImage: { channels: input.channels, height: out[0], width: out[1] }, window: geometry,
          pooling: { type, pnorm },
        });
        break;
      }
      case 'batchNormalization': {
        checkSize(where, 'nIn', l.nIn);
        checkSize(where, 'nOut', l.nOut);
        const n = prevImage ? prevImage.channels : prevOut;
        if (n === undefined) fail(where, 'nIn cannot be inferred (no previous layer and no inputType)');
        for (const [k, v] of [['nIn', l.nIn], ['nOut', l.nOut]] as const) {
          if (v !== undefined && v !== n) fail(where, `${k} ${v} does not match the input's ${prevImage ? 'channels' : 'size'} ${n}`);
        }
        const decay = l.decay ?? 0.9;
        const eps = l.eps ?? 1e-5;
        if (!(Number.isFinite(decay) && decay >= 0 && decay <= 1)) fail(where, `decay must be in [0, 1], got ${String(decay)}`);
        if (!(Number.isFinite(eps) && eps > 0)) fail(where, `eps must be a positive number, got ${String(eps)}`);
        checkCommon(where, l, conf.distribution);
        resolved.push({
          ...base, nIn: n, nOut: n, activation: 'identity', updater: l.updater ?? base.updater, hasBias: true,
          batchNorm: { decay, eps }, ...(prevImage ? { inputImage: prevImage, outputImage: prevImage } : {}),
        });
        // Over images the output stays an image (prevImage and prevOut unchanged).
        if (!prevImage) prevOut = n;
        return;
      }
      case 'globalPooling': {
        const input = needImage(where, prevImage);
        const type = l.poolingType ?? 'max';
        if (!['max', 'avg', 'sum', 'pnorm'].includes(type)) fail(where, `poolingType must be 'max', 'avg', 'sum' or 'pnorm', got '${String(type)}'`);
        resolved.push({ ...base, nIn: input.channels, nOut: input.channels, activation: 'identity', inputImage: input, pooling: { type, pnorm: checkPnorm(where, l.pnorm) } });
        prevOut = input.channels;
        prevImage = undefined;
        return;
      }
    }
    // Convolution and subsampling end here: their output is an image.
    const img = resolved[resolved.length - 1]!.outputImage!;
    prevImage = img;
    prevOut = img.channels * img.height * img.width;
  });
  resolved.forEach((r, i) => {
    if (r.lossFunction !== null && i !== resolved.length - 1) fail(layerLabel(i, conf.layers[i]!), `an '${r.type}' layer must be the last layer`);
  });
  const last = resolved.length - 1;
  if (resolved[last]!.lossFunction === null) fail(layerLabel(last, conf.layers[last]!), "the last layer must be an 'output' or 'loss' layer");
  return { seed: conf.seed, dataType, layers: resolved };
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
