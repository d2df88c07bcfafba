/**
 * Resolvers of the further convolutional layers (deconvolution, depthwise and separable convolution,
 * upsampling, zero padding, cropping) and of layer normalization, with DL4J's output sizes.
 */
import { pair, resolveWindow, type CnnShape, type ConvolutionMode, type WindowGeometry, type WindowOptions } from '../cnn-config.js';
import type {
  CnnExtraLayerConfig, Cropping2DConfig, Deconvolution2DConfig, DepthwiseConvolution2DConfig, Margins,
  SeparableConvolution2DConfig, Upsampling2DConfig, ZeroPaddingConfig,
} from '../cnn-extra-config.js';
import {
  convolutional, fail, needImage, resolveParamOptions, type LayerContext, type LayerResolution, type LayerResolver,
} from './context.js';
import { resolveLayerNormalization } from './layer-normalization.js';

function convolutionMode(l: WindowOptions, ctx: LayerContext): ConvolutionMode {
  const mode = l.convolutionMode ?? ctx.defaults.convolutionMode ?? 'Truncate';
  if (mode !== 'Truncate' && mode !== 'Same') fail(ctx.where, `convolutionMode must be 'Truncate' or 'Same', got '${String(mode)}'`);
  return mode;
}

/** The incoming image, checking a given nIn against its channels. */
function imageWithChannels(l: { nIn?: number }, ctx: LayerContext): CnnShape {
  const input = needImage(ctx);
  if (l.nIn !== undefined && l.nIn !== input.channels) fail(ctx.where, `nIn ${String(l.nIn)} does not match the input's ${input.channels} channels`);
  return input;
}

/** A parameterized layer over images: the checked options, window and output image. */
function imageLayer(p: ReturnType<typeof resolveParamOptions>, input: CnnShape, window: WindowGeometry, out: readonly [number, number], extra: { depthMultiplier?: number } = {}): LayerResolution {
  const outputImage = { channels: p.nOut, height: out[0], width: out[1] };
  return { layer: { ...p, nIn: input.channels, inputImage: input, outputImage, window, ...extra }, output: convolutional(outputImage) };
}

/**
 * Deconvolution2D. Truncate: out = (in - 1) * stride + span - 2 * padding (span = dilated kernel);
 * Same: out = in * stride, the transposed convolution cropped by floor((span - stride) / 2) at the
 * top/left as ND4J's deconv2d (padding[1] / [3] hold the rest, cropped at the bottom/right).
 */
export function resolveDeconvolution(l: Deconvolution2DConfig, ctx: LayerContext): LayerResolution {
  const { where } = ctx;
  const p = resolveParamOptions(l, ctx);
  const input = imageWithChannels(l, ctx);
  const mode = convolutionMode(l, ctx);
  const kernel = pair(where, 'kernelSize', l.kernelSize ?? 5, 1);
  const stride = pair(where, 'stride', l.stride ?? 1, 1);
  const dilation = pair(where, 'dilation', l.dilation ?? 1, 1);
  const pad = pair(where, 'padding', l.padding ?? 0, 0);
  const size = [input.height, input.width] as const;
  const span = [0, 1].map((a) => dilation[a]! * (kernel[a]! - 1) + 1);
  let out: [number, number];
  let padding: [number, number, number, number];
  if (mode === 'Same') {
    out = [size[0] * stride[0], size[1] * stride[1]];
    const total = [0, 1].map((a) => Math.max(0, span[a]! - stride[a]!));
    const first = total.map((t) => Math.floor(t / 2));
    padding = [first[0]!, total[0]! - first[0]!, first[1]!, total[1]! - first[1]!];
  } else {
    out = [0, 1].map((a) => (size[a]! - 1) * stride[a]! + span[a]! - 2 * pad[a]!) as [number, number];
    if (out[0] < 1 || out[1] < 1) {
      fail(where, `padding ${pad.join('x')} leaves no output: (in - 1) * stride + dilated kernel - 2 * padding = ${out.join('x')} for input ${input.channels}x${input.height}x${input.width}, kernel ${kernel.join('x')}, stride ${stride.join('x')}, dilation ${dilation.join('x')}`);
    }
    padding = [pad[0], pad[0], pad[1], pad[1]];
  }
  return imageLayer(p, input, { kernel, stride, dilation, padding, mode }, out);
}

function depthMultiplier(where: string, v: unknown): number {
  if (v === undefined) return 1;
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1)) fail(where, `depthMultiplier must be an integer >= 1, got ${String(v)}`);
  return v;
}

/** Depthwise and separable convolutions: windows as a convolution's, nIn * depthMultiplier intermediate channels. */
function resolveDepthwiseLike(l: DepthwiseConvolution2DConfig | SeparableConvolution2DConfig, ctx: LayerContext, nOut: (input: CnnShape, dm: number) => number): LayerResolution {
  const input = imageWithChannels(l, ctx);
  const dm = depthMultiplier(ctx.where, l.depthMultiplier);
  const p = resolveParamOptions({ ...l, nOut: nOut(input, dm) }, ctx);
  const { geometry, out } = resolveWindow(ctx.where, { ...l, convolutionMode: convolutionMode(l, ctx) }, 5, 1, input);
  return imageLayer(p, input, geometry, out, { depthMultiplier: dm });
}

export function resolveDepthwiseConvolution(l: DepthwiseConvolution2DConfig, ctx: LayerContext): LayerResolution {
  return resolveDepthwiseLike(l, ctx, (input, dm) => {
    const n = input.channels * dm;
    if (l.nOut !== undefined && l.nOut !== n) fail(ctx.where, `nOut ${String(l.nOut)} must equal nIn * depthMultiplier = ${input.channels} * ${dm} = ${n}`);
    return n;
  });
}

export function resolveSeparableConvolution(l: SeparableConvolution2DConfig, ctx: LayerContext): LayerResolution {
  return resolveDepthwiseLike(l, ctx, () => l.nOut);
}

/** A parameterless layer mapping the incoming image to an image of `out` height x width. */
function reshapeImage(ctx: LayerContext, out: (input: CnnShape) => [number, number], extra: { margins?: readonly [number, number, number, number]; upsampling?: readonly [number, number] }): LayerResolution {
  const input = needImage(ctx);
  const [height, width] = out(input);
  const outputImage = { channels: input.channels, height, width };
  return {
    layer: { ...ctx.base, nIn: input.channels, nOut: input.channels, activation: 'identity', inputImage: input, outputImage, ...extra },
    output: convolutional(outputImage),
  };
}

export function resolveUpsampling(l: Upsampling2DConfig, ctx: LayerContext): LayerResolution {
  const size = pair(ctx.where, 'size', l.size ?? 1, 1);
  return reshapeImage(ctx, (i) => [i.height * size[0], i.width * size[1]], { upsampling: size });
}

/** [top, bottom, left, right] from DL4J's one, two or four values. */
function margins(where: string, name: string, v: Margins | undefined): [number, number, number, number] {
  if (v === undefined) fail(where, `${name} is required`);
  const m: readonly number[] = typeof v === 'number' ? [v, v, v, v] : Array.isArray(v) && v.length === 2 ? [v[0]!, v[0]!, v[1]!, v[1]!] : v;
  if (!Array.isArray(m) && typeof v !== 'number') fail(where, `${name} must be an integer, [height, width] or [top, bottom, left, right], got ${JSON.stringify(v)}`);
  if (m.length !== 4 || !m.every((d) => Number.isInteger(d) && d >= 0)) {
    fail(where, `${name} must be an integer >= 0, [height, width] or [top, bottom, left, right] of them, got ${JSON.stringify(v)}`);
  }
  return [m[0]!, m[1]!, m[2]!, m[3]!];
}

export function resolveZeroPadding(l: ZeroPaddingConfig, ctx: LayerContext): LayerResolution {
  const m = margins(ctx.where, 'padding', l.padding);
  return reshapeImage(ctx, (i) => [i.height + m[0] + m[1], i.width + m[2] + m[3]], { margins: m });
}

export function resolveCropping(l: Cropping2DConfig, ctx: LayerContext): LayerResolution {
  const m = margins(ctx.where, 'cropping', l.cropping);
  return reshapeImage(ctx, (i) => {
    const out: [number, number] = [i.height - m[0] - m[1], i.width - m[2] - m[3]];
    if (out[0] < 1 || out[1] < 1) fail(ctx.where, `cropping [${m.join(', ')}] removes the whole ${i.height}x${i.width} image`);
    return out;
  }, { margins: m });
}

export const CNN_EXTRA_RESOLVERS: { readonly [K in CnnExtraLayerConfig['type']]: LayerResolver<Extract<CnnExtraLayerConfig, { type: K }>> } = {
  deconvolution2d: resolveDeconvolution,
  depthwiseConvolution2d: resolveDepthwiseConvolution,
  separableConvolution2d: resolveSeparableConvolution,
  upsampling2d: resolveUpsampling,
  zeroPadding: resolveZeroPadding,
  cropping2d: resolveCropping,
  layerNormalization: resolveLayerNormalization,
};
