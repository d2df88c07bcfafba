// ParallelWrapper AVERAGING with a larger averaging frequency converges to the accuracy of one model
// trained alone (6 epochs of 12,000 images each way), on real data: Fashion-MNIST from the IDX files of the Debian package
// dataset-fashion-mnist (CI installs it; the test skips with a message where it is missing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { MnistDataSetIterator, MultiLayerNetwork, type NeuralNetConfiguration } from '../src/index.js';
import { ParallelWrapper } from '../src/parallel/index.js';

const FASHION = '/usr/share/datasets/fashion-mnist';
const skip = existsSync(FASHION) ? false : `Fashion-MNIST not found in ${FASHION} (install the Debian package dataset-fashion-mnist)`;
if (skip) console.log(`# ${skip}`);

const conf = (learningRate: number): NeuralNetConfiguration => ({
  seed: 12, updater: { type: 'adam', learningRate }, weightInit: 'RELU', inputType: { type: 'feedForward', size: 784 },
  layers: [
    { type: 'dense', nOut: 128, activation: 'relu' },
    { type: 'output', nOut: 10, activation: 'softmax', lossFunction: 'MCXENT' },
  ],
});

test('AVERAGING every 5 rounds over 2 workers reaches the accuracy of one model on Fashion-MNIST', { skip }, async () => {
  const train = (): MnistDataSetIterator => new MnistDataSetIterator({ directory: FASHION, train: true, batch: 50, numExamples: 12_000, seed: 5 });
  const testSet = (): MnistDataSetIterator => new MnistDataSetIterator({ directory: FASHION, train: false, batch: 1000 });
  const t0 = performance.now();
  const alone = new MultiLayerNetwork(conf(1e-3)).init();
  alone.fit(train(), 6);
  const accAlone = alone.evaluate(testSet()).accuracy();
  const t1 = performance.now();
  // DL4J's advice for averaging: a somewhat higher learning rate (+20%).
  const averaged = new MultiLayerNetwork(conf(1.2e-3)).init();
  const wrapper = new ParallelWrapper(averaged, { workers: 2, trainingMode: 'AVERAGING', averagingFrequency: 5, averageUpdaters: true });
  try {
    await wrapper.fit(train(), 6);
  } finally {
    await wrapper.close();
  }
  const accAveraged = averaged.evaluate(testSet()).accuracy();
  console.log(`# Fashion-MNIST (12,000 train, 10,000 test): one model ${(100 * accAlone).toFixed(2)}% in ${((t1 - t0) / 1000).toFixed(1)} s, ` +
    `2 workers averaging every 5 rounds ${(100 * accAveraged).toFixed(2)}% in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  assert.ok(accAlone > 0.83, `one model: ${accAlone}`);
  assert.ok(accAveraged > 0.83, `averaged: ${accAveraged}`);
  assert.ok(Math.abs(accAveraged - accAlone) < 0.02, `averaged ${accAveraged} vs alone ${accAlone}`);
  alone.close();
  averaged.close();
});
