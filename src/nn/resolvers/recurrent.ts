/**
 * Resolvers of the sequence layers: LSTM, SimpleRnn, Bidirectional, LastTimeStep, RnnOutputLayer,
 * EmbeddingLayer and EmbeddingSequenceLayer. Recurrent layers take recurrent input [N, size, T] or
 * feed-forward input [N, size] (DL4J's FeedForwardToRnn: one time step).
 */
import type { ResolvedLayer } from '../config.js';
import {
  BIDIRECTIONAL_MODES, type BidirectionalLayerConfig, type EmbeddingLayerConfig, type EmbeddingSequenceLayerConfig,
  type LastTimeStepLayerConfig, type RecurrentLayerConfig, type RnnOutputLayerConfig,
} from '../recurrent-config.js';
import {
  checkActivation, checkCommon, checkLoss, checkSize, describeActivationType, fail, layerBase, resolveParamOptions,
  type ActivationType, type LayerContext, type LayerResolution,
} from './context.js';

/** The size per step of a recurrent layer's input: recurrent or feed-forward (one step), never images. */
function sequenceInput(ctx: LayerContext, nIn: number | undefined, what: string): { size: number; timeSeriesLength?: number } {
  const t = ctx.input;
  if (t === undefined) {
    if (nIn === undefined) fail(ctx.where, 'nIn is not set and cannot be inferred (no previous layer and no inputType)');
    return { size: nIn };
  }
  if (t.kind === 'convolutional') {
    fail(ctx.where, `${what} needs recurrent input [N, size, T] or feed-forward input [N, size], got ${describeActivationType(t)} (add a globalPooling or dense layer first, or an inputPreProcessors entry { type: 'cnnToRnn' } for images of each time step)`);
  }
  if (nIn !== undefined && nIn !== t.size) fail(ctx.where, `nIn ${nIn} does not match the input's size ${t.size}`);
  return t.kind === 'recurrent' && t.timeSeriesLength !== undefined ? { size: t.size, timeSeriesLength: t.timeSeriesLength } : { size: t.size };
}

function recurrent(size: number, timeSeriesLength: number | undefined): ActivationType {
  return timeSeriesLength === undefined ? { kind: 'recurrent', size } : { kind: 'recurrent', size, timeSeriesLength };
}

/** LSTM and SimpleRnn: output [N, nOut, T]. */
export function resolveRecurrent(l: RecurrentLayerConfig, ctx: LayerContext): LayerResolution {
  const { where } = ctx;
  const p = resolveParamOptions(l, ctx, 'tanh');
  const input = sequenceInput(ctx, l.nIn, l.type === 'simpleRnn' ? 'a SimpleRnn layer' : 'an LSTM layer');
  checkCommon(where, { weightInit: l.weightInitRecurrent, ...(l.distribution ? { distribution: l.distribution } : {}) }, ctx.defaults.distribution);
  const weightInitRecurrent = l.weightInitRecurrent ?? p.weightInit;
  let recurrentOptions: ResolvedLayer['recurrent'] = { gateActivation: 'sigmoid', forgetGateBiasInit: 0, weightInitRecurrent };
  if (l.type === 'lstm' || l.type === 'gravesLstm') {
    checkActivation(where, l.gateActivationFunction);
    const fg = l.forgetGateBiasInit ?? 1;
    if (!(typeof fg === 'number' && Number.isFinite(fg))) fail(where, `forgetGateBiasInit must be a finite number, got ${String(fg)}`);
    if (l.hasBias === false) fail(where, "hasBias cannot be false: DL4J's LSTM always has a bias (it holds the forget gate's initial bias)");
    recurrentOptions = { gateActivation: l.gateActivationFunction ?? 'sigmoid', forgetGateBiasInit: fg, weightInitRecurrent };
  } else if (l.type !== 'simpleRnn') {
    fail(where, `expected an 'lstm', 'gravesLstm' or 'simpleRnn' layer, got '${String((l as { type: unknown }).type)}'`);
  }
  return { layer: { ...p, nIn: input.size, recurrent: recurrentOptions }, output: recurrent(p.nOut, input.timeSeriesLength) };
}

/** Resolves the layer inside a wrapper, its errors prefixed by the wrapper's location. */
function resolveWrapped(layer: unknown, ctx: LayerContext, allowed: readonly string[]): LayerResolution {
  if (layer === null || typeof layer !== 'object') fail(ctx.where, `layer must be a layer configuration object of type ${allowed.join(' or ')}, got ${String(layer)}`);
  const inner = layer as RecurrentLayerConfig | BidirectionalLayerConfig;
  if (!allowed.includes(inner.type)) fail(ctx.where, `cannot wrap a '${String(inner.type)}' layer; expected ${allowed.join(' or ')}`);
  const innerCtx: LayerContext = { ...ctx, where: `${ctx.where}: wrapped ${inner.type} layer`, base: layerBase(ctx.base.index, inner, ctx.defaults) };
  return inner.type === 'bidirectional' ? resolveBidirectional(inner, innerCtx) : resolveRecurrent(inner, innerCtx);
}

/** Bidirectional: CONCAT doubles the wrapped layer's nOut; ADD, MUL and AVERAGE keep it. */
export function resolveBidirectional(l: BidirectionalLayerConfig, ctx: LayerContext): LayerResolution {
  const mode = l.mode ?? 'CONCAT';
  if (!BIDIRECTIONAL_MODES.includes(mode)) fail(ctx.where, `mode must be one of ${BIDIRECTIONAL_MODES.join(', ')}, got '${String(mode)}'`);
  const inner = resolveWrapped(l.layer, ctx, ['lstm', 'gravesLstm', 'simpleRnn']);
  const nOut = mode === 'CONCAT' ? 2 * inner.layer.nOut : inner.layer.nOut;
  const ts = inner.output.kind === 'recurrent' ? inner.output.timeSeriesLength : undefined;
  return {
    layer: { ...inner.layer, type: 'bidirectional', name: ctx.base.name, nOut, bidirectionalMode: mode, wrapped: inner.layer },
    output: recurrent(nOut, ts),
  };
}

/** LastTimeStep: the wrapped recurrent layer's last present step, feed-forward [N, nOut]. */
export function resolveLastTimeStep(l: LastTimeStepLayerConfig, ctx: LayerContext): LayerResolution {
  const inner = resolveWrapped(l.layer, ctx, ['lstm', 'gravesLstm', 'simpleRnn', 'bidirectional']);
  return {
    layer: { ...inner.layer, type: 'lastTimeStep', name: ctx.base.name, wrapped: inner.layer },
    output: { kind: 'feedForward', size: inner.layer.nOut },
  };
}

/** RnnOutputLayer: a dense layer per time step; needs recurrent input. */
export function resolveRnnOutput(l: RnnOutputLayerConfig, ctx: LayerContext): LayerResolution {
  const p = resolveParamOptions(l, ctx, 'softmax');
  checkLoss(ctx.where, l.lossFunction);
  const t = ctx.input;
  if (t !== undefined && t.kind !== 'recurrent') {
    fail(ctx.where, `an rnnOutput layer needs recurrent input [N, size, T], got ${describeActivationType(t)} (use an 'output' layer for feed-forward input)`);
  }
  const input = sequenceInput(ctx, l.nIn, 'an rnnOutput layer');
  return { layer: { ...p, nIn: input.size, lossFunction: l.lossFunction }, output: recurrent(p.nOut, input.timeSeriesLength) };
}

/** The embedding layers: nIn is the number of distinct indices and must be given (the input holds one index per step). */
function embeddingOptions(l: EmbeddingLayerConfig | EmbeddingSequenceLayerConfig, ctx: LayerContext) {
  // DL4J's embedding layers have no bias unless asked for.
  const p = resolveParamOptions({ ...l, hasBias: l.hasBias ?? false }, ctx);
  if (l.nIn === undefined) fail(ctx.where, 'nIn (the number of distinct indices) is required');
  if (p.dropOut !== 1) fail(ctx.where, 'dropOut is not supported on embedding layers (DL4J neither)');
  return { ...p, nIn: l.nIn };
}

/** EmbeddingLayer: indices [N] or [N, 1] to [N, nOut]. */
export function resolveEmbedding(l: EmbeddingLayerConfig, ctx: LayerContext): LayerResolution {
  const p = embeddingOptions(l, ctx);
  const t = ctx.input;
  if (t !== undefined && !(t.kind === 'feedForward' && t.size === 1)) {
    fail(ctx.where, `an embedding layer takes one index per example (input [N, 1] or [N]), got ${describeActivationType(t)}`);
  }
  return { layer: p, output: { kind: 'feedForward', size: p.nOut } };
}

/** EmbeddingSequenceLayer: indices [N, T] to [N, nOut, T]; T from inputLength, else the input type. */
export function resolveEmbeddingSequence(l: EmbeddingSequenceLayerConfig, ctx: LayerContext): LayerResolution {
  const p = embeddingOptions(l, ctx);
  checkSize(ctx.where, 'inputLength', l.inputLength);
  const t = ctx.input;
  let fromInput: number | undefined;
  if (t?.kind === 'feedForward') fromInput = t.size;
  else if (t?.kind === 'recurrent' && t.size === 1) fromInput = t.timeSeriesLength;
  else if (t !== undefined) fail(ctx.where, `an embeddingSequence layer takes indices [N, T] (inputType feedForward(T) or recurrent(1, T)), got ${describeActivationType(t)}`);
  if (l.inputLength !== undefined && fromInput !== undefined && l.inputLength !== fromInput) {
    fail(ctx.where, `inputLength ${l.inputLength} does not match the input's sequence length ${fromInput}`);
  }
  const inputLength = l.inputLength ?? fromInput;
  return { layer: { ...p, ...(inputLength !== undefined ? { inputLength } : {}) }, output: recurrent(p.nOut, inputLength) };
}
