/**
 * What every layer resolver shares: the activation type flowing between layers, the context a
 * resolver receives, and the checks that name the layer and option in their errors. MultiLayerNetwork
 * resolves layers in a chain and ComputationGraph in topological order with the same resolvers.
 */
import { isActivation, ACTIVATIONS, type Activation } from '../activations.js';
import { LOSS_FUNCTIONS, type LossFunction } from '../losses.js';
import { WEIGHT_INITS, type Distribution } from '../init.js';
import { validateUpdaterConfig, type UpdaterConfig } from '../updaters.js';
import { GRADIENT_NORMALIZATIONS, DEFAULT_GRADIENT_NORMALIZATION_THRESHOLD } from '../gradient-normalization.js';
import type { CnnShape } from '../cnn-config.js';
import { dropOutProblem, type DropOutConfig } from '../dropout-variants.js';
import type { LayerConfig, NeuralNetDefaults, ParamLayerOptions, ResolvedLayer } from '../config.js';

/** The activations of one example as a layer sees them (DL4J's InputType after preprocessing). */
export type ActivationType =
  | { readonly kind: 'feedForward'; readonly size: number }
  | ({ readonly kind: 'convolutional' } & CnnShape)
  | { readonly kind: 'recurrent'; readonly size: number; readonly timeSeriesLength?: number };

/** Values per example (per time step for recurrent activations). */
export function activationSize(t: ActivationType): number {
  return t.kind === 'convolutional' ? t.channels * t.height * t.width : t.size;
}

export function describeActivationType(t: ActivationType): string {
  if (t.kind === 'convolutional') return `convolutional ${t.channels}x${t.height}x${t.width}`;
  return t.kind === 'recurrent' ? `recurrent size ${t.size}${t.timeSeriesLength ? ` x ${t.timeSeriesLength} steps` : ''}` : `feedForward size ${t.size}`;
}

/** The defaults of a layer before its own options apply (DL4J's global builder values). */
export type LayerBase = Pick<ResolvedLayer,
  'index' | 'type' | 'name' | 'weightInit' | 'distribution' | 'updater' | 'l1' | 'l2' | 'weightDecay' | 'dropOut' | 'hasBias' | 'lossFunction'
  | 'gradientNormalization' | 'gradientNormalizationThreshold'>;

export interface LayerContext {
  /** 'layer 3 (dense 'fc')': the prefix of every error about this layer. */
  readonly where: string;
  readonly defaults: NeuralNetDefaults;
  /** The incoming activations; undefined when neither an input type nor a previous layer tells. */
  readonly input: ActivationType | undefined;
  readonly base: LayerBase;
}

export interface LayerResolution {
  readonly layer: ResolvedLayer;
  readonly output: ActivationType;
}

export type LayerResolver<C extends LayerConfig> = (l: C, ctx: LayerContext) => LayerResolution;

export const DEFAULT_ACTIVATION: Activation = 'sigmoid';

export function layerLabel(i: number | string, l: { type?: unknown; name?: unknown }): string {
  return `layer ${i} (${String(l.type)}${typeof l.name === 'string' ? ` '${l.name}'` : ''})`;
}

export function fail(where: string, msg: string): never {
  throw new Error(`NeuralNetConfiguration: ${where}: ${msg}`);
}

export function checkNonNegative(where: string, name: string, v: number | undefined): void {
  if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) fail(where, `${name} must be a finite number >= 0, got ${String(v)}`);
}

/** `onError` throws (default: a NeuralNetConfiguration error; graph vertices name their own class). */
export function checkSize(where: string, name: string, v: number | undefined, onError: (where: string, msg: string) => never = fail): void {
  if (v !== undefined && !(Number.isInteger(v) && v > 0)) onError(where, `${name} must be a positive integer, got ${String(v)}`);
}

export function checkActivation(where: string, v: unknown): void {
  if (v !== undefined && !(typeof v === 'string' && isActivation(v))) fail(where, `unknown activation '${String(v)}'; expected one of ${ACTIVATIONS.join(', ')}`);
}

export function checkLoss(where: string, v: unknown): void {
  if (!(typeof v === 'string' && (LOSS_FUNCTIONS as readonly string[]).includes(v))) {
    fail(where, `unknown or missing lossFunction '${String(v)}'; expected one of ${LOSS_FUNCTIONS.join(', ')}`);
  }
}

export function checkRetain(where: string, v: DropOutConfig | undefined): void {
  const problem = v === undefined ? null : dropOutProblem(v);
  if (problem !== null) fail(where, problem);
}

export function checkPnorm(where: string, p: number | undefined): number {
  if (p !== undefined && !(Number.isFinite(p) && p > 0)) fail(where, `pnorm must be a positive number, got ${String(p)}`);
  return p ?? 2;
}

/** Options shared by the global configuration and parameterized layers. */
export function checkCommon(where: string, o: {
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

/** The defaults every layer starts from, before its own options. */
export function layerBase(index: number, l: LayerConfig, defaults: NeuralNetDefaults): LayerBase {
  return {
    index, type: l.type, name: l.name ?? `layer${index}`,
    weightInit: defaults.weightInit ?? 'XAVIER', distribution: defaults.distribution,
    updater: defaults.updater ?? { type: 'sgd' }, l1: 0, l2: 0, weightDecay: 0, dropOut: 1, hasBias: false, lossFunction: null,
    gradientNormalization: defaults.gradientNormalization ?? 'None',
    gradientNormalizationThreshold: defaults.gradientNormalizationThreshold ?? DEFAULT_GRADIENT_NORMALIZATION_THRESHOLD,
  };
}

/**
 * Checks and resolves the options of a layer with weights (dense, output, convolution, recurrent, ...):
 * nOut, activation, init, updater, regularization, dropout, bias, gradient normalization.
 */
export function resolveParamOptions(l: ParamLayerOptions, ctx: LayerContext, defaultActivation: Activation = DEFAULT_ACTIVATION) {
  const { where, defaults, base } = ctx;
  checkSize(where, 'nIn', l.nIn);
  checkSize(where, 'nOut', l.nOut);
  if (l.nOut === undefined) fail(where, 'nOut is required');
  checkActivation(where, l.activation);
  checkCommon(where, l, defaults.distribution);
  checkRetain(where, l.dropOut);
  if (l.hasBias !== undefined && typeof l.hasBias !== 'boolean') fail(where, `hasBias must be a boolean, got ${String(l.hasBias)}`);
  return {
    ...base, nOut: l.nOut,
    activation: l.activation ?? defaults.activation ?? defaultActivation,
    weightInit: l.weightInit ?? base.weightInit, distribution: l.distribution ?? base.distribution,
    updater: l.updater ?? base.updater,
    l1: l.l1 ?? defaults.l1 ?? 0, l2: l.l2 ?? defaults.l2 ?? 0, weightDecay: l.weightDecay ?? defaults.weightDecay ?? 0,
    dropOut: l.dropOut ?? 1, hasBias: l.hasBias ?? true,
    gradientNormalization: l.gradientNormalization ?? base.gradientNormalization,
    gradientNormalizationThreshold: l.gradientNormalizationThreshold ?? base.gradientNormalizationThreshold,
  };
}

/** The incoming activations, or an error saying they cannot be inferred. */
export function needInput(ctx: LayerContext, what = 'its input size'): ActivationType {
  if (!ctx.input) fail(ctx.where, `${what} cannot be inferred (no previous layer and no inputType)`);
  return ctx.input;
}

/** The incoming image, or an error explaining how to provide one. */
export function needImage(ctx: LayerContext): CnnShape {
  const t = ctx.input;
  if (!t || t.kind !== 'convolutional') {
    fail(ctx.where, `needs a convolutional input${t ? ` (got ${describeActivationType(t)})` : ''}: set inputType { type: 'convolutional' | 'convolutionalFlat', height, width, channels } or put it after a convolutional layer (for recurrent input: an inputPreProcessors entry { type: 'rnnToCnn', height, width, channels })`);
  }
  return { channels: t.channels, height: t.height, width: t.width };
}

/** The image fields of a resolved layer whose input is `t` (present only for convolutional input). */
export function imageOf(t: ActivationType | undefined): CnnShape | undefined {
  return t?.kind === 'convolutional' ? { channels: t.channels, height: t.height, width: t.width } : undefined;
}

export function convolutional(shape: CnnShape): ActivationType {
  return { kind: 'convolutional', channels: shape.channels, height: shape.height, width: shape.width };
}

export type { LossFunction };
