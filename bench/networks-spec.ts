/**
 * The networks of the training-throughput benchmark: the two models of examples/mnist.ts, trained
 * with the same Adam settings by dl4ts and by TensorFlow.js on the same random minibatch.
 */
import type { LayerConfig, NeuralNetConfiguration } from '../src/index.js';
import { lenetLayers, mlpLayers } from '../examples/mnist-models.js';
import { seededUniform } from './seeded.js';

export interface NetworkSpec {
  readonly name: string;
  readonly description: string;
  readonly inputType: NonNullable<NeuralNetConfiguration['inputType']>;
  readonly layers: readonly LayerConfig[];
}

export const NETWORKS: readonly NetworkSpec[] = [
  { name: 'mlp', description: '784-500-100-10 relu MLP (dropout 0.8 retain before layers 2 and 3), softmax + MCXENT', inputType: { type: 'feedForward', size: 784 }, layers: mlpLayers },
  {
    name: 'lenet', description: "DL4J's LeNet: conv 5x5x20, maxpool 2, conv 5x5x50, maxpool 2, dense 500 relu, softmax + MCXENT",
    inputType: { type: 'convolutionalFlat', height: 28, width: 28, channels: 1 }, layers: lenetLayers,
  },
];

export const INPUTS = 784;
export const CLASSES = 10;

/** Adam as both libraries default it, except tfjs's epsilon (1e-7), set to DL4J's 1e-8. */
export const ADAM = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;

export interface Minibatch {
  readonly batch: number;
  /** [batch, 784] pixels in [0, 1). */
  readonly x: Float32Array;
  /** [batch, 10] one-hot labels. */
  readonly oneHot: Float32Array;
}

/** A reproducible random minibatch: every implementation trains on these values. */
export function randomMinibatch(batch: number, seed = 11): Minibatch {
  const next = seededUniform(seed);
  const x = new Float32Array(batch * INPUTS);
  for (let i = 0; i < x.length; i++) x[i] = next();
  const oneHot = new Float32Array(batch * CLASSES);
  for (let r = 0; r < batch; r++) oneHot[r * CLASSES + Math.floor(next() * CLASSES)] = 1;
  return { batch, x, oneHot };
}
