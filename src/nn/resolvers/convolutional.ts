/** Resolvers of the convolutional layers: convolution, subsampling (pooling) and global pooling. */
import { resolveWindow } from '../cnn-config.js';
import type { ConvolutionLayerConfig, GlobalPoolingConfig, SubsamplingLayerConfig } from '../config.js';
import { checkPnorm, convolutional, fail, needImage, resolveParamOptions, type LayerContext, type LayerResolution } from './context.js';

export function resolveConvolution(l: ConvolutionLayerConfig, ctx: LayerContext): LayerResolution {
  const p = resolveParamOptions(l, ctx);
  const input = needImage(ctx);
  if (l.nIn !== undefined && l.nIn !== input.channels) fail(ctx.where, `nIn ${l.nIn} does not match the input's ${input.channels} channels`);
  const { geometry, out } = resolveWindow(ctx.where, { ...l, convolutionMode: l.convolutionMode ?? ctx.defaults.convolutionMode ?? 'Truncate' }, 5, 1, input);
  const outputImage = { channels: p.nOut, height: out[0], width: out[1] };
  return { layer: { ...p, nIn: input.channels, inputImage: input, outputImage, window: geometry }, output: convolutional(outputImage) };
}

export function resolveSubsampling(l: SubsamplingLayerConfig, ctx: LayerContext): LayerResolution {
  const { where } = ctx;
  const input = needImage(ctx);
  const type = l.poolingType ?? 'max';
  if (!['max', 'avg', 'pnorm'].includes(type)) fail(where, `poolingType must be 'max', 'avg' or 'pnorm', got '${String(type)}'`);
  const pnorm = checkPnorm(where, l.pnorm);
  const kernel = l.kernelSize ?? 2;
  const { geometry, out } = resolveWindow(where, { ...l, convolutionMode: l.convolutionMode ?? ctx.defaults.convolutionMode ?? 'Truncate' }, kernel, l.stride ?? kernel, input);
  const outputImage = { channels: input.channels, height: out[0], width: out[1] };
  return {
    layer: { ...ctx.base, nIn: input.channels, nOut: input.channels, activation: 'identity', inputImage: input, outputImage, window: geometry, pooling: { type, pnorm } },
    output: convolutional(outputImage),
  };
}

export function resolveGlobalPooling(l: GlobalPoolingConfig, ctx: LayerContext): LayerResolution {
  const { where } = ctx;
  const type = l.poolingType ?? 'max';
  if (!['max', 'avg', 'sum', 'pnorm'].includes(type)) fail(where, `poolingType must be 'max', 'avg', 'sum' or 'pnorm', got '${String(type)}'`);
  if (ctx.input?.kind === 'recurrent') {
    // Over the time steps of [N, size, T] (DL4J's GlobalPoolingLayer on recurrent input).
    const n = ctx.input.size;
    return {
      layer: { ...ctx.base, nIn: n, nOut: n, activation: 'identity', pooling: { type, pnorm: checkPnorm(where, l.pnorm) } },
      output: { kind: 'feedForward', size: n },
    };
  }
  const input = needImage(ctx);
  return {
    layer: { ...ctx.base, nIn: input.channels, nOut: input.channels, activation: 'identity', inputImage: input, pooling: { type, pnorm: checkPnorm(where, l.pnorm) } },
    output: { kind: 'feedForward', size: input.channels },
  };
}
