/**
 * DL4J's input preprocessors between recurrent and convolutional activations, so convolutions can
 * run on every time step of a sequence (video frames): RnnToCnn turns [N, C*H*W, T] into
 * [N*T, C, H, W] (the steps become examples, example-major: row n*T + t) and CnnToRnn turns
 * [N*T, C, H, W] back into [N, C*H*W, T]. Each value is flattened channel-major (c, h, w), as DL4J.
 * A network names them per layer index in `inputPreProcessors` (DL4J's inputPreProcessor(i, ...));
 * they are applied to a layer's input before its forward pass.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { permute, reshape } from '../ops/views.js';
import { describe } from '../ops/util.js';
import { activationSize, checkSize, describeActivationType, fail, type ActivationType } from './resolvers/context.js';

/** DL4J's RnnToCnnPreProcessor(height, width, channels): recurrent [N, C*H*W, T] to images [N*T, C, H, W]. */
export interface RnnToCnnPreProcessorConfig {
  type: 'rnnToCnn';
  height: number;
  width: number;
  channels: number;
}

/** DL4J's CnnToRnnPreProcessor: images [N*T, C, H, W] to recurrent [N, C*H*W, T] (N: the network input's minibatch size). */
export interface CnnToRnnPreProcessorConfig {
  type: 'cnnToRnn';
}

export type InputPreProcessorConfig = RnnToCnnPreProcessorConfig | CnnToRnnPreProcessorConfig;
export const PREPROCESSOR_TYPES: readonly InputPreProcessorConfig['type'][] = ['rnnToCnn', 'cnnToRnn'];

/**
 * Checks a preprocessor against the activations it receives (undefined: unknown) and returns the
 * activations the layer then sees (undefined when still unknown). `onError` throws for a bad
 * configuration (ComputationGraph's preprocessor vertices name their configuration class).
 */
export function resolvePreProcessor(where: string, p: InputPreProcessorConfig, input: ActivationType | undefined, onError: (where: string, msg: string) => never = fail): ActivationType | undefined {
  if (p === null || typeof p !== 'object') onError(where, `expected a preprocessor object, got ${String(p)}`);
  if (p.type === 'rnnToCnn') {
    for (const k of ['height', 'width', 'channels'] as const) {
      if (p[k] === undefined) onError(where, `${k} is required`);
      checkSize(where, k, p[k], onError);
    }
    const size = p.channels * p.height * p.width;
    if (input && (input.kind !== 'recurrent' || input.size !== size)) {
      onError(where, `rnnToCnn needs recurrent input of size channels*height*width = ${p.channels}*${p.height}*${p.width} = ${size}, got ${describeActivationType(input)}`);
    }
    return { kind: 'convolutional', channels: p.channels, height: p.height, width: p.width };
  }
  if (p.type === 'cnnToRnn') {
    if (input && input.kind !== 'convolutional') onError(where, `cnnToRnn needs convolutional input, got ${describeActivationType(input)}`);
    return input && { kind: 'recurrent', size: activationSize(input) };
  }
  return onError(where, `unknown preprocessor type '${String((p as { type: unknown }).type)}'; expected one of ${PREPROCESSOR_TYPES.join(', ')}`);
}

/**
 * Applies a preprocessor to a layer's input x; `miniBatch` is the network input's number of
 * examples N (CnnToRnn's [N*T, ...] rows are split into N sequences by it).
 */
export function preProcess(where: string, p: InputPreProcessorConfig, x: NDArray, miniBatch: number): NDArray {
  if (p.type === 'rnnToCnn') {
    const { channels: c, height: h, width: w } = p;
    if ((x.rank !== 3 && x.rank !== 2) || x.shape[1] !== c * h * w) {
      throw new Error(`${where}: rnnToCnn expected recurrent input [N, ${c * h * w}, T] or one step [N, ${c * h * w}] (channels*height*width = ${c}*${h}*${w}), got ${describe(x)}`);
    }
    // One time step [N, C*H*W] (rnnTimeStep) is a sequence of length 1.
    if (x.rank === 2) return reshape(x, [x.shape[0]!, c, h, w]);
    const [n, , t] = x.shape as [number, number, number];
    return reshape(permute(x, [0, 2, 1]), [n * t, c, h, w]);
  }
  if (x.rank !== 4 || x.shape[0]! % miniBatch !== 0) {
    throw new Error(`${where}: cnnToRnn expected images [N*T, C, H, W] with N = ${miniBatch} examples per minibatch, got ${describe(x)}`);
  }
  const [rows, c, h, w] = x.shape as [number, number, number, number];
  const t = rows / miniBatch;
  return permute(reshape(x, [miniBatch, t, c * h * w]), [0, 2, 1]);
}

/** Checks that the keys of inputPreProcessors are layer indices of the network. */
export function checkPreProcessorIndices(map: unknown, layerCount: number): void {
  if (map === undefined) return;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) fail('inputPreProcessors', `expected an object from layer index to preprocessor, got ${JSON.stringify(map)}`);
  for (const key of Object.keys(map)) {
    const i = Number(key);
    if (!/^\d+$/.test(key) || i >= layerCount) fail('inputPreProcessors', `key '${key}' is not a layer index (0 to ${layerCount - 1})`);
  }
}

/** A layer's input after its preprocessor, if it has one (the network input had `miniBatch` examples). */
export function preProcessLayerInput(config: { readonly index: number; readonly type: string; readonly name: string; readonly preProcessor?: InputPreProcessorConfig }, x: NDArray, miniBatch: number): NDArray {
  return config.preProcessor ? preProcess(`layer ${config.index} (${config.type} '${config.name}') input preprocessor`, config.preProcessor, x, miniBatch) : x;
}
