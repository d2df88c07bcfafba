/**
 * Convolutional layer configurations (DL4J's ConvolutionLayer, SubsamplingLayer,
 * BatchNormalization, GlobalPoolingLayer) and their shape inference, NCHW throughout.
 */
import { convOutputSize } from '../ops/conv.js';

export type ConvolutionMode = 'Truncate' | 'Same';
export type PoolingType = 'max' | 'avg' | 'pnorm';
export type GlobalPoolingType = 'max' | 'avg' | 'sum' | 'pnorm';
export type Size2D = number | readonly [number, number];

/** Image shape of one example: channels, height, width. */
export interface CnnShape {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

/** Resolved window geometry; padding is [top, bottom, left, right] (Same mode may be asymmetric). */
export interface WindowGeometry {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly padding: readonly [number, number, number, number];
  readonly mode: ConvolutionMode;
}

export interface WindowOptions {
  kernelSize?: Size2D;
  stride?: Size2D;
  padding?: Size2D;
  dilation?: Size2D;
  convolutionMode?: ConvolutionMode;
}

/** DL4J's InputType.convolutional(height, width, channels): input [N, C, H, W]. */
export interface ConvolutionalInputType {
  type: 'convolutional';
  height: number;
  width: number;
  channels: number;
}

/** DL4J's InputType.convolutionalFlat(height, width, channels): input [N, C*H*W], reshaped to NCHW. */
export interface ConvolutionalFlatInputType {
  type: 'convolutionalFlat';
  height: number;
  width: number;
  channels: number;
}

/** A Size2D option as [h, w], each an integer >= min; throws naming the option. */
export function pair(where: string, name: string, v: Size2D, min: number): [number, number] {
  const p: readonly number[] = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) && typeof v !== 'number') throw new Error(`${where}: ${name} must be an integer or [h, w], got ${JSON.stringify(v)}`);
  if (p.length !== 2 || !p.every((d) => Number.isInteger(d) && d >= min)) {
    throw new Error(`${where}: ${name} must be an integer >= ${min} or a pair [h, w] of them, got ${JSON.stringify(v)}`);
  }
  return [p[0]!, p[1]!];
}

/**
 * Resolves a window's geometry over `input` and returns it with the output size. Same mode pads so
 * out = ceil(in / stride), the extra row/column going to the bottom/right (as DL4J).
 */
export function resolveWindow(where: string, o: WindowOptions, defaultKernel: Size2D, defaultStride: Size2D, input: CnnShape): { geometry: WindowGeometry; out: [number, number] } {
  const mode = o.convolutionMode ?? 'Truncate';
  if (mode !== 'Truncate' && mode !== 'Same') throw new Error(`${where}: convolutionMode must be 'Truncate' or 'Same', got '${String(mode)}'`);
  const kernel = pair(where, 'kernelSize', o.kernelSize ?? defaultKernel, 1);
  const stride = pair(where, 'stride', o.stride ?? defaultStride, 1);
  const dilation = pair(where, 'dilation', o.dilation ?? 1, 1);
  const pad = pair(where, 'padding', o.padding ?? 0, 0);
  const span = [dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1] as const;
  const size = [input.height, input.width] as const;
  if (mode === 'Same') {
    const out: [number, number] = [Math.ceil(size[0] / stride[0]), Math.ceil(size[1] / stride[1])];
    const total = [0, 1].map((a) => Math.max(0, (out[a]! - 1) * stride[a]! + span[a]! - size[a]!));
    const padding = [Math.floor(total[0]! / 2), total[0]! - Math.floor(total[0]! / 2), Math.floor(total[1]! / 2), total[1]! - Math.floor(total[1]! / 2)] as const;
    return { geometry: { kernel, stride, dilation, padding, mode }, out };
  }
  let out: [number, number];
  try {
    out = convOutputSize(where, input.height, input.width, { kh: kernel[0], kw: kernel[1], sh: stride[0], sw: stride[1], ph: pad[0], pw: pad[1], dh: dilation[0], dw: dilation[1] });
  } catch (e) {
    throw new Error(`NeuralNetConfiguration: ${(e as Error).message} (input ${input.channels}x${input.height}x${input.width})`);
  }
  return { geometry: { kernel, stride, dilation, padding: [pad[0], pad[0], pad[1], pad[1]], mode }, out };
}
