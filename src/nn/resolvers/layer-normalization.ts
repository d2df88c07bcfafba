/** Resolver of layer normalization over feed-forward, recurrent or image activations (shape preserving). */
import type { LayerNormalizationConfig } from '../cnn-extra-config.js';
import { checkCommon, checkSize, fail, imageOf, needInput, type LayerContext, type LayerResolution } from './context.js';

export function resolveLayerNormalization(l: LayerNormalizationConfig, ctx: LayerContext): LayerResolution {
  const { where, base } = ctx;
  checkSize(where, 'nIn', l.nIn);
  checkSize(where, 'nOut', l.nOut);
  const input = needInput(ctx, 'nIn');
  const image = imageOf(input);
  // gain and b run along the feature axis: channels of images, features of [N, C] and [N, C, T].
  const n = input.kind === 'convolutional' ? input.channels : input.size;
  for (const [k, v] of [['nIn', l.nIn], ['nOut', l.nOut]] as const) {
    if (v !== undefined && v !== n) fail(where, `${k} ${v} does not match the input's ${image ? 'channels' : 'size'} ${n}`);
  }
  const eps = l.eps ?? 1e-5;
  if (!(typeof eps === 'number' && Number.isFinite(eps) && eps > 0)) fail(where, `eps must be a positive number, got ${String(eps)}`);
  if (l.hasBias !== undefined && typeof l.hasBias !== 'boolean') fail(where, `hasBias must be a boolean, got ${String(l.hasBias)}`);
  checkCommon(where, l, ctx.defaults.distribution);
  return {
    layer: {
      ...base, nIn: n, nOut: n, activation: 'identity', updater: l.updater ?? base.updater, hasBias: l.hasBias ?? true,
      layerNorm: { eps }, ...(image ? { inputImage: image, outputImage: image } : {}),
    },
    output: input,
  };
}
