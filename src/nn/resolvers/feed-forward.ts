/** Resolvers of the feed-forward layers: dense, output, activation, dropout, loss, batch normalization. */
import type { Activation } from '../activations.js';
import type { LossFunction } from '../losses.js';
import type { DropOutConfig } from '../dropout-variants.js';
import type {
  ActivationLayerConfig, BatchNormalizationConfig, DenseLayerConfig, DropoutLayerConfig, LossLayerConfig, OutputLayerConfig,
} from '../config.js';
import {
  activationSize, checkActivation, checkCommon, checkLoss, checkRetain, checkSize, fail, imageOf, needInput, resolveParamOptions,
  type LayerContext, type LayerResolution,
} from './context.js';

/** Dense and output layers: a flattened input of nIn values (images are flattened, as DL4J's CnnToFeedForward). */
export function resolveDense(l: DenseLayerConfig | OutputLayerConfig, ctx: LayerContext): LayerResolution {
  const { where, input } = ctx;
  const p = resolveParamOptions(l, ctx, l.type === 'output' ? 'softmax' : undefined);
  if (l.type === 'output') checkLoss(where, l.lossFunction);
  const prevOut = input ? activationSize(input) : undefined;
  const nIn = l.nIn ?? prevOut;
  if (nIn === undefined) fail(where, 'nIn is not set and cannot be inferred (no previous layer and no inputType)');
  if (l.nIn !== undefined && prevOut !== undefined && l.nIn !== prevOut) {
    fail(where, `nIn ${l.nIn} does not match the ${ctx.base.index === 0 ? "inputType's size" : "previous layer's nOut"} ${prevOut}`);
  }
  if (l.type === 'output' && input?.kind === 'recurrent') {
    fail(where, "an 'output' layer cannot take recurrent input: use 'rnnOutput' (a loss at every time step) or wrap the last recurrent layer in 'lastTimeStep'");
  }
  const image = imageOf(input);
  return {
    layer: { ...p, nIn, lossFunction: l.type === 'output' ? l.lossFunction : null, ...(image ? { inputImage: image } : {}) },
    // On recurrent input a dense layer acts per time step and its output stays recurrent.
    output: input?.kind === 'recurrent' ? { ...input, size: p.nOut } : { kind: 'feedForward', size: p.nOut },
  };
}

/** Activation, dropout and loss layers keep their input's shape. */
export function resolveShapePreserving(l: ActivationLayerConfig | DropoutLayerConfig | LossLayerConfig, ctx: LayerContext): LayerResolution {
  const { where, base } = ctx;
  const input = needInput(ctx, 'its size');
  let activation: Activation = 'identity';
  let dropOut: DropOutConfig = 1;
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
  const image = imageOf(input);
  if (l.type === 'loss' && image) fail(where, 'a loss layer cannot follow a convolutional layer (add a globalPooling or dense/output layer)');
  const n = activationSize(input);
  return {
    layer: { ...base, nIn: n, nOut: n, activation, dropOut, lossFunction, ...(image ? { inputImage: image, outputImage: image } : {}) },
    output: input,
  };
}

/** Batch normalization over features [N, C] or per channel over images [N, C, H, W]. */
export function resolveBatchNormalization(l: BatchNormalizationConfig, ctx: LayerContext): LayerResolution {
  const { where, base } = ctx;
  checkSize(where, 'nIn', l.nIn);
  checkSize(where, 'nOut', l.nOut);
  const input = needInput(ctx, 'nIn');
  const image = imageOf(input);
  const n = image ? image.channels : activationSize(input);
  for (const [k, v] of [['nIn', l.nIn], ['nOut', l.nOut]] as const) {
    if (v !== undefined && v !== n) fail(where, `${k} ${v} does not match the input's ${image ? 'channels' : 'size'} ${n}`);
  }
  const decay = l.decay ?? 0.9;
  const eps = l.eps ?? 1e-5;
  if (!(Number.isFinite(decay) && decay >= 0 && decay <= 1)) fail(where, `decay must be in [0, 1], got ${String(decay)}`);
  if (!(Number.isFinite(eps) && eps > 0)) fail(where, `eps must be a positive number, got ${String(eps)}`);
  checkCommon(where, l, ctx.defaults.distribution);
  return {
    layer: {
      ...base, nIn: n, nOut: n, activation: 'identity', updater: l.updater ?? base.updater, hasBias: true,
      batchNorm: { decay, eps }, ...(image ? { inputImage: image, outputImage: image } : {}),
    },
    output: input,
  };
}
