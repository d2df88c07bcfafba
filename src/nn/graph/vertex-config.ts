/**
 * Configurations of ComputationGraph's parameterless vertices (DL4J's graph vertices), as plain
 * JSON-serializable data. Feature-axis vertices work on axis 1: the features of feed-forward
 * activations [N, size], the channels of images [N, C, H, W], the size of sequences [N, size, T].
 */
import type { CnnToRnnPreProcessorConfig, RnnToCnnPreProcessorConfig } from '../preprocessors.js';

/** DL4J's MergeVertex: concatenation along the feature/channel axis. */
export interface MergeVertexConfig {
  type: 'merge';
}

export type ElementWiseOp = 'add' | 'subtract' | 'product' | 'average' | 'max';

/** DL4J's ElementWiseVertex over inputs of one shape ('subtract' takes exactly two). */
export interface ElementWiseVertexConfig {
  type: 'elementwise';
  op: ElementWiseOp;
}

/** DL4J's SubsetVertex: features (channels) from..to, both inclusive. */
export interface SubsetVertexConfig {
  type: 'subset';
  from: number;
  to: number;
}

/** DL4J's StackVertex: concatenation along the minibatch axis. */
export interface StackVertexConfig {
  type: 'stack';
}

/** DL4J's UnstackVertex: part `from` of `stackSize` equal parts along the minibatch axis. */
export interface UnstackVertexConfig {
  type: 'unstack';
  from: number;
  stackSize: number;
}

/** DL4J's ScaleVertex: x * scaleFactor. */
export interface ScaleVertexConfig {
  type: 'scale';
  scaleFactor: number;
}

/** DL4J's ShiftVertex: x + shiftFactor. */
export interface ShiftVertexConfig {
  type: 'shift';
  shiftFactor: number;
}

/** DL4J's L2Vertex: the Euclidean distance between two inputs per example, [N, 1]. */
export interface L2VertexConfig {
  type: 'l2';
  /** Added under the square root so the gradient stays finite at distance 0 (default 1e-8). */
  eps?: number;
}

/** DL4J's L2NormalizeVertex: each example divided by its L2 norm over all non-minibatch axes. */
export interface L2NormalizeVertexConfig {
  type: 'l2Normalize';
  /** Norms below eps are replaced by eps (default 1e-8, DL4J's). */
  eps?: number;
}

/** DL4J's ReshapeVertex; `shape` is the per-example shape (without the minibatch axis). */
export interface ReshapeVertexConfig {
  type: 'reshape';
  /** [size] gives feed-forward activations, [channels, height, width] images, [size, timeSteps] sequences. */
  shape: number[];
}

/** DL4J's CnnToFeedForwardPreProcessor: [N, C, H, W] flattened in C, H, W order. */
export interface CnnToFeedForwardConfig {
  type: 'cnnToFeedForward';
}

/** DL4J's FeedForwardToCnnPreProcessor: [N, C*H*W] to [N, C, H, W]. */
export interface FeedForwardToCnnConfig {
  type: 'feedForwardToCnn';
  height: number;
  width: number;
  channels: number;
}

/**
 * DL4J's PreprocessorVertex wraps any input preprocessor: rnnToCnn / cnnToRnn run convolutions on
 * every time step of a sequence, with the options and semantics of MultiLayerNetwork's
 * inputPreProcessors (cnnToRnn splits its [N*T, ...] rows by the graph input's minibatch size N).
 */
export type PreProcessorConfig = CnnToFeedForwardConfig | FeedForwardToCnnConfig | RnnToCnnPreProcessorConfig | CnnToRnnPreProcessorConfig;

/** DL4J's PreprocessorVertex. */
export interface PreprocessorVertexConfig {
  type: 'preprocessor';
  preProcessor: PreProcessorConfig;
}

export type VertexConfig =
  | MergeVertexConfig | ElementWiseVertexConfig | SubsetVertexConfig | StackVertexConfig | UnstackVertexConfig
  | ScaleVertexConfig | ShiftVertexConfig | L2VertexConfig | L2NormalizeVertexConfig | ReshapeVertexConfig | PreprocessorVertexConfig;
export type VertexType = VertexConfig['type'];
