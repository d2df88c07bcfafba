// Acceptance (issue 4): on Fashion-MNIST, read from the IDX files of the Debian package
// dataset-fashion-mnist, a MultiLayerNetwork MLP reaches >= 87% and a small CNN >= 89% on the
// full 10,000 test images after training on all 60,000 training images. Skips, naming the
// package, where its directory is missing; .ci/run installs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MnistDataSetIterator, type NeuralNetConfiguration, type UpdaterConfig } from '../src/index.js';
import { trainAndTest } from './acceptance-helpers.js';

const DIR = '/usr/share/datasets/fashion-mnist';
const skip = existsSync(DIR) ? false : `${DIR} is missing: install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)`;
const SEED = 42;

/** The test labels parsed here from the IDX file (magic 2049, count, then one byte per label), independently of src/data. */
function testLabels(): number[] {
  const bytes = gunzipSync(readFileSync(join(DIR, 't10k-labels-idx1-ubyte.gz')));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(view.getUint32(0), 2049, 'IDX label magic');
  const n = view.getUint32(4);
  assert.equal(bytes.length, 8 + n);
  return Array.from(bytes.subarray(8));
}

/** Trains `conf` on all 60,000 training images and checks its accuracy on all 10,000 test images. */
function accept(name: string, conf: NeuralNetConfiguration, batch: number, epochs: number, threshold: number): void {
  const train = new MnistDataSetIterator({ batch, train: true, seed: SEED, directory: DIR });
  const testSet = new MnistDataSetIterator({ batch: 1000, train: false, directory: DIR });
  assert.equal(train.numExamples, 60000);
  const r = trainAndTest(name, conf, train, testSet, epochs);
  assert.deepEqual(r.labels, testLabels(), 'the test iterator yields all 10,000 test labels of the file, in order');
  assert.ok(r.accuracy >= threshold, `${name}: test accuracy ${(100 * r.accuracy).toFixed(2)}% < ${100 * threshold}%`);
}

/** Adam with the learning rate decayed once per epoch. */
function adam(initialValue: number, gamma: number): UpdaterConfig {
  return { type: 'adam', learningRate: { type: 'exponential', initialValue, gamma, scheduleType: 'epoch' } };
}

test('Fashion-MNIST: an MLP reaches >= 87% on the 10,000 test images', { skip }, () => {
  accept('Fashion-MNIST MLP', {
    seed: SEED,
    updater: adam(2e-3, 0.75),
    weightInit: 'RELU',
    inputType: { type: 'feedForward', size: 784 },
    layers: [
      { type: 'dense', nOut: 256, activation: 'relu' },
      { type: 'dense', nOut: 128, activation: 'relu' },
      { type: 'output', nOut: 10, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  }, 128, 8, 0.87);
});

test('Fashion-MNIST: a small CNN reaches >= 89% on the 10,000 test images', { skip }, () => {
  accept('Fashion-MNIST CNN', {
    seed: SEED,
    updater: adam(2e-3, 0.6),
    weightInit: 'RELU',
    // The iterator's rows of 784 pixels, reshaped to [N, 1, 28, 28].
    inputType: { type: 'convolutionalFlat', height: 28, width: 28, channels: 1 },
    layers: [
      { type: 'convolution2d', kernelSize: 5, nOut: 16, activation: 'relu' },
      { type: 'subsampling', poolingType: 'max', kernelSize: 2, stride: 2 },
      { type: 'convolution2d', kernelSize: 5, nOut: 32, activation: 'relu' },
      { type: 'subsampling', poolingType: 'max', kernelSize: 2, stride: 2 },
      { type: 'dense', nOut: 128, activation: 'relu' },
      { type: 'output', nOut: 10, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  }, 64, 4, 0.89);
});
