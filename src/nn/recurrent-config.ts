/**
 * Configurations of the sequence layers (DL4J's LSTM, SimpleRnn, Bidirectional, LastTimeStep,
 * RnnOutputLayer, EmbeddingLayer, EmbeddingSequenceLayer) and of the recurrent input type. Data
 * format NCW throughout (DL4J's default RNNFormat.NCW): activations [N, size, T], masks [N, T] with
 * 1 for present steps and 0 for padding.
 */
import type { Activation } from './activations.js';
import type { WeightInit } from './init.js';
import type { LossFunction } from './losses.js';
import type { ParamLayerOptions } from './config.js';
import type { GravesLstmLayerConfig } from './graves-lstm-config.js';

/** DL4J's InputType.recurrent(size, timeSeriesLength): input [N, size, T]. */
export interface RecurrentInputType {
  type: 'recurrent';
  size: number;
  /** Known sequence length (optional: recurrent layers accept any T). */
  timeSeriesLength?: number;
}

/** Options of every recurrent layer (DL4J's BaseRecurrentLayer.Builder). */
export interface RecurrentOptions extends ParamLayerOptions {
  /** Initialization of the recurrent weights 'RW' (default: weightInit); 'DISTRIBUTION' uses the layer's distribution. */
  weightInitRecurrent?: WeightInit;
}

/**
 * DL4J's LSTM (no peepholes): 'W' [nIn, 4*nOut], 'RW' [nOut, 4*nOut], 'b' [4*nOut], the four blocks
 * in DL4J's order: block input (activation), forget gate, output gate, input modulation gate.
 */
export interface LstmLayerConfig extends RecurrentOptions {
  type: 'lstm';
  /** Initial bias of the forget gate block (default 1.0, DL4J's). */
  forgetGateBiasInit?: number;
  /** Activation of the three gates (default 'sigmoid'); `activation` (default 'tanh') is the block input's and the cell output's. */
  gateActivationFunction?: Activation;
}

/** DL4J's SimpleRnn: out_t = activation(x_t W + out_{t-1} RW + b); 'W' [nIn, nOut], 'RW' [nOut, nOut], 'b' [nOut]. */
export interface SimpleRnnLayerConfig extends RecurrentOptions {
  type: 'simpleRnn';
}

/** The layers a Bidirectional wrapper accepts. */
export type RecurrentLayerConfig = LstmLayerConfig | SimpleRnnLayerConfig | GravesLstmLayerConfig;

/** How Bidirectional combines the forward and backward outputs (DL4J's Bidirectional.Mode). */
export type BidirectionalMode = 'CONCAT' | 'ADD' | 'MUL' | 'AVERAGE';
export const BIDIRECTIONAL_MODES: readonly BidirectionalMode[] = ['CONCAT', 'ADD', 'MUL', 'AVERAGE'];

/**
 * DL4J's Bidirectional wrapper: two copies of `layer`, one reading the sequence forwards and one
 * backwards, with parameters prefixed 'f' and 'b' ('fW', 'fRW', 'fb', 'bW', 'bRW', 'bb').
 */
export interface BidirectionalLayerConfig {
  type: 'bidirectional';
  name?: string;
  /** Default 'CONCAT' (output size 2 * nOut). */
  mode?: BidirectionalMode;
  layer: RecurrentLayerConfig;
}

/** DL4J's LastTimeStep wrapper: the underlying layer's output at the last present step of each sequence, [N, nOut]. */
export interface LastTimeStepLayerConfig {
  type: 'lastTimeStep';
  name?: string;
  layer: RecurrentLayerConfig | BidirectionalLayerConfig;
}

/** DL4J's RnnOutputLayer: a dense layer applied at every time step, with a loss over [N, nOut, T] labels. */
export interface RnnOutputLayerConfig extends ParamLayerOptions {
  type: 'rnnOutput';
  lossFunction: LossFunction;
}

/** DL4J's EmbeddingLayer: integer indices [N] or [N, 1] in [0, nIn) to rows of 'W' [nIn, nOut] (+ 'b' when hasBias). */
export interface EmbeddingLayerConfig extends ParamLayerOptions {
  type: 'embedding';
}

/** DL4J's EmbeddingSequenceLayer: indices [N, T] (or [N, 1, T]) to [N, nOut, T]. */
export interface EmbeddingSequenceLayerConfig extends ParamLayerOptions {
  type: 'embeddingSequence';
  /** The sequence length T; default: from the input type, else any length (DL4J's inferInputLength). */
  inputLength?: number;
}

export type SequenceLayerConfig = LstmLayerConfig | SimpleRnnLayerConfig | BidirectionalLayerConfig | LastTimeStepLayerConfig
  | RnnOutputLayerConfig | EmbeddingLayerConfig | EmbeddingSequenceLayerConfig;

/** Resolved options of LSTM and SimpleRnn layers (a ResolvedLayer field). */
export interface ResolvedRecurrent {
  readonly gateActivation: Activation;
  readonly forgetGateBiasInit: number;
  readonly weightInitRecurrent: WeightInit;
}
