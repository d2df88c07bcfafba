/**
 * The benchmark networks built with tf.layers from the same dl4ts layer configurations, trained by
 * a custom step: optimizer.minimize over softmax cross-entropy of the logits, Adam as on dl4ts.
 */
import type { LayersModel, Scalar, Sequential, Tensor } from '@tensorflow/tfjs';
import type { LayerConfig } from '../src/index.js';
import { ADAM, CLASSES, INPUTS, type Minibatch, type NetworkSpec } from './networks-spec.js';
import type { NetworkRun } from './networks-dl4ts.js';
import { tfjsBackendDetails, useTfjsBackend, type Tf, type TfjsBackend } from './tfjs-setup.js';
import { time, type TimingOptions } from './timing.js';

export interface TfjsNetworkRun extends NetworkRun {
  readonly threads: number;
  readonly details: string;
}

type Window = number | readonly [number, number];

function windowPair(where: string, name: string, v: Window | undefined, fallback: number): [number, number] {
  const p = v ?? fallback;
  if (typeof p === 'number') return [p, p];
  if (p.length !== 2) throw new Error(`${where}: ${name} must be a number or [h, w], got ${JSON.stringify(p)}`);
  return [p[0], p[1]];
}

/** tfjs's dropout rate from DL4J's retain probability; only plain (inverted) dropout maps one to one. */
function dropoutRate(where: string, dropOut: unknown): number | undefined {
  if (dropOut === undefined || dropOut === 1) return undefined;
  if (typeof dropOut !== 'number') throw new Error(`${where}: only a numeric dropOut (retain probability) has a tfjs equivalent, got ${JSON.stringify(dropOut)}`);
  return 1 - dropOut;
}

/** The activations the benchmark networks use, by tfjs name. */
function activation(where: string, a: string | undefined): 'relu' | 'linear' {
  if (a === 'relu') return 'relu';
  if (a === undefined || a === 'identity') return 'linear';
  throw new Error(`${where}: activation '${a}' is not mapped to tfjs by this benchmark (relu, identity)`);
}

/**
 * One tf.layers model per dl4ts configuration, channels-last. The output layer becomes a linear dense
 * layer: its softmax is fused into the loss (tf.losses.softmaxCrossEntropy), as dl4ts fuses softmax + MCXENT.
 */
export function tfjsModel(t: Tf, spec: NetworkSpec): Sequential {
  const model = t.sequential();
  const inputShape = [INPUTS];
  let first = true;
  // Only the first layer names the input shape.
  const input = (): { inputShape?: number[] } => (first ? ((first = false), { inputShape }) : {});
  if (spec.inputType.type === 'convolutionalFlat') {
    const { height, width, channels } = spec.inputType;
    model.add(t.layers.reshape({ targetShape: [height, width, channels], ...input() }));
  } else if (spec.inputType.type !== 'feedForward') {
    throw new Error(`tfjsModel(${spec.name}): input type '${spec.inputType.type}' is not mapped to tfjs (feedForward, convolutionalFlat)`);
  }
  spec.layers.forEach((l: LayerConfig, i) => {
    const where = `tfjsModel(${spec.name}) layer ${i} (${l.type})`;
    if (l.type === 'dense' || l.type === 'output' || l.type === 'convolution2d') {
      const rate = dropoutRate(where, l.dropOut);
      if (rate !== undefined) model.add(t.layers.dropout({ rate, ...input() }));
    }
    if (l.type === 'dense' || l.type === 'output') {
      if (l.type === 'output' && !(l.activation === 'softmax' && l.lossFunction === 'MCXENT')) {
        throw new Error(`${where}: only softmax + MCXENT is mapped to tfjs, got ${l.activation ?? 'default'} + ${l.lossFunction}`);
      }
      const act = l.type === 'output' ? 'linear' : activation(where, l.activation);
      // A dense layer after convolutions sees the flattened activations, as dl4ts's cnnToFeedForward preprocessor does.
      if (model.outputs[0] && model.outputs[0].shape.length > 2) model.add(t.layers.flatten());
      model.add(t.layers.dense({ units: l.nOut, activation: act, kernelInitializer: 'heNormal', ...input() }));
    } else if (l.type === 'convolution2d') {
      if ((l.convolutionMode ?? 'Truncate') !== 'Truncate' || l.padding !== undefined || l.dilation !== undefined) {
        throw new Error(`${where}: only unpadded, undilated Truncate convolutions are mapped to tfjs`);
      }
      model.add(t.layers.conv2d({
        filters: l.nOut, kernelSize: windowPair(where, 'kernelSize', l.kernelSize, 5), strides: windowPair(where, 'stride', l.stride, 1),
        padding: 'valid', activation: activation(where, l.activation), kernelInitializer: 'heNormal', ...input(),
      }));
    } else if (l.type === 'subsampling') {
      if ((l.poolingType ?? 'max') !== 'max' || (l.convolutionMode ?? 'Truncate') !== 'Truncate' || l.padding !== undefined) {
        throw new Error(`${where}: only unpadded Truncate max pooling is mapped to tfjs`);
      }
      model.add(t.layers.maxPooling2d({ poolSize: windowPair(where, 'kernelSize', l.kernelSize, 2), strides: windowPair(where, 'stride', l.stride, 2), padding: 'valid', ...input() }));
    } else {
      throw new Error(`${where}: layer type not mapped to tfjs by this benchmark (dense, output, convolution2d, subsampling)`);
    }
  });
  return model;
}

export async function benchNetworkTfjs(backend: TfjsBackend, spec: NetworkSpec, data: Minibatch, options: TimingOptions): Promise<TfjsNetworkRun> {
  const t = await useTfjsBackend(backend);
  const model: LayersModel = tfjsModel(t, spec);
  const optimizer = t.train.adam(ADAM.learningRate, ADAM.beta1, ADAM.beta2, ADAM.epsilon);
  const x = t.tensor2d(data.x, [data.batch, INPUTS]);
  const labels = t.tensor2d(data.oneHot, [data.batch, CLASSES]);
  // The model's weights are the only trainable variables alive, so minimize's default variable list is exactly them.
  const step = (): number =>
    t.tidy(() => {
      const cost = optimizer.minimize(() => {
        const logits = model.apply(x, { training: true }) as Tensor;
        return t.losses.softmaxCrossEntropy(labels, logits) as Scalar;
      }, true);
      // The cpu and wasm backends run every kernel synchronously: the step is done; reading the loss costs next to nothing.
      return cost!.dataSync()[0]!;
    });
  try {
    const firstLoss = step();
    const timing = time(() => void step(), options);
    return { timing, firstLoss, numParams: model.countParams(), ...(await tfjsBackendDetails(t, backend)) };
  } finally {
    x.dispose();
    labels.dispose();
    optimizer.dispose();
    model.dispose();
  }
}
