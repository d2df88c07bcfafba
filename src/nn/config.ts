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

export type LayerConfig = DenseLayerConfig | OutputLayerConfig | ActivationLayerConfig | DropoutLayerConfig | LossLayerConfig;
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
  inputType?: FeedForwardInputType;
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
const LAYER_TYPES: readonly LayerType[] = ['dense', 'output', 'activation', 'dropout', 'loss'];

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
  if (conf.inputType !== undefined) {
    if (conf.inputType.type !== 'feedForward') fail('inputType', `only { type: 'feedForward', size } is supported, got type '${String(conf.inputType.type)}'`);
    checkSize('inputType', 'size', conf.inputType.size);
  }
  const resolved: ResolvedLayer[] = [];
  let prevOut: number | undefined = conf.inputType?.size;
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
        });
        prevOut = l.nOut;
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
        resolved.push({ ...base, nIn: prevOut, nOut: prevOut, activation, dropOut, lossFunction });
        return;
      }
    }
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
