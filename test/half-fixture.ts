/**
 * Shared by test/nn-half.test.ts and test/gpu/half-training.test.ts: the networks, the MNIST runs
 * and the accuracy cases that HALF and BFLOAT16 must match FLOAT on, and readers of parameters and
 * master weights.
 */
import assert from 'node:assert/strict';
import {
  MnistDataSetIterator, MultiLayerNetwork,
  type DataSet, type DataType, type NDArray, type LayerConfig, type NeuralNetConfiguration, type UpdaterConfig,
} from '../src/index.js';

export type Half = 'HALF' | 'BFLOAT16';
export const HALVES: readonly Half[] = ['HALF', 'BFLOAT16'];
/** Largest relative distance from a value to its rounding: half a unit in the last place (10 and 7 stored mantissa bits). */
export const HALF_ULP: Readonly<Record<Half, number>> = { HALF: 2 ** -11, BFLOAT16: 2 ** -8 };

export const MLP: readonly LayerConfig[] = [
  { type: 'dense', nOut: 64, activation: 'relu' },
  { type: 'output', nOut: 10, activation: 'softmax', lossFunction: 'MCXENT' },
];
export const CNN: readonly LayerConfig[] = [
  { type: 'convolution2d', kernelSize: 5, nOut: 8, activation: 'relu' },
  { type: 'subsampling', poolingType: 'max', kernelSize: 2, stride: 2 },
  { type: 'output', nOut: 10, activation: 'softmax', lossFunction: 'MCXENT' },
];

export function conf(dataType: DataType, updater: UpdaterConfig, layers: readonly LayerConfig[] = MLP): NeuralNetConfiguration {
  const cnn = layers === CNN;
  return {
    seed: 7, dataType, updater, weightInit: 'RELU',
    inputType: cnn ? { type: 'convolutionalFlat', height: 28, width: 28, channels: 1 } : { type: 'feedForward', size: 784 },
    layers: [...layers],
  };
}

/** Held-out accuracy after training on the first `n` bundled training digits (same order for every type). */
export function accuracy(c: NeuralNetConfiguration, n: number, epochs: number): number {
  const net = new MultiLayerNetwork(c).init();
  try {
    net.fit(new MnistDataSetIterator({ train: true, batch: 50, numExamples: n, seed: 3 }), epochs);
    return net.evaluate(new MnistDataSetIterator({ train: false, batch: 500, numExamples: 1000 })).accuracy();
  } finally {
    net.close();
  }
}

/** The first batches of the bundled training digits (closed by the caller). */
export function batches(count: number, batch = 32): DataSet[] {
  const it = new MnistDataSetIterator({ train: true, batch, numExamples: count * batch, seed: 1 });
  const out: DataSet[] = [];
  while (it.hasNext()) out.push(it.next());
  return out;
}

/** What MultiLayerNetwork and ComputationGraph both offer. */
export interface Trained {
  paramTable(): Map<string, NDArray>;
  updaterState(): Record<string, NDArray>;
}

/** The master weights by flat parameter index, as plain numbers. */
export function masters(net: Trained): Map<number, { dtype: DataType; values: number[] }> {
  const out = new Map<number, { dtype: DataType; values: number[] }>();
  for (const [key, a] of Object.entries(net.updaterState())) {
    const m = /^(\d+)\/MASTER$/.exec(key);
    if (m) out.set(Number(m[1]), { dtype: a.dtype, values: a.toFlatArray() });
  }
  return out;
}

export const paramValues = (net: Trained): number[][] => [...net.paramTable().values()].map((a) => a.toFlatArray());

export const ADAM: UpdaterConfig = { type: 'adam', learningRate: 1e-3 };
export const SGD: UpdaterConfig = { type: 'sgd', learningRate: 0.1 };

/**
 * The MNIST MLP runs (3,000 digits x 2 epochs) with the FLOAT accuracy each must exceed. The small
 * learning rates make steps below BFLOAT16's spacing: trained without masters, BFLOAT16 reached 0.30
 * (Adam 1e-4) and 0.62 (SGD 0.01) where FLOAT reached 0.61 and 0.66; HALF with Adam fails at any rate
 * there (0.09: its squared gradients and epsilon underflow to 0).
 */
export const MLP_CASES: readonly (readonly [string, UpdaterConfig, number])[] = [
  ['Adam 1e-3', ADAM, 0.85], ['SGD 0.1', SGD, 0.85], ['Adam 1e-4', { type: 'adam', learningRate: 1e-4 }, 0.5], ['SGD 0.01', { type: 'sgd', learningRate: 0.01 }, 0.5],
];

/** Trains `layers` in FLOAT, HALF and BFLOAT16 on the default backend; FLOAT must pass `floor` and each 16-bit type come within 2 points of it. */
export function assertSameAccuracy(what: string, updater: UpdaterConfig, floor: number, layers: readonly LayerConfig[], n: number, epochs: number): void {
  const ref = accuracy(conf('FLOAT', updater, layers), n, epochs);
  assert.ok(ref > floor, `${what}: FLOAT accuracy ${ref}, expected above ${floor}`);
  for (const dt of HALVES) {
    const acc = accuracy(conf(dt, updater, layers), n, epochs);
    assert.ok(Math.abs(acc - ref) <= 0.02, `${what}: ${dt} accuracy ${acc}, FLOAT ${ref}`);
  }
}
