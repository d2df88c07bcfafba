// Shared by the acceptance tests: train a network for some epochs and count its correct test
// predictions in plain JS, independently of Evaluation.
import assert from 'node:assert/strict';
import { MultiLayerNetwork, memoryReport, scope, type DataSetIterator, type NeuralNetConfiguration } from '../src/index.js';

/** Index of the largest of `n` values of `flat` starting at `offset` (first on ties). */
function argmaxJs(flat: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  for (let k = 1; k < n; k++) if (flat[offset + k]! > flat[offset + best]!) best = k;
  return best;
}

export interface AcceptanceResult {
  /** Fraction of the test examples classified correctly. */
  accuracy: number;
  /** The true class of every test example, in iterator order. */
  labels: number[];
  /** Wall-clock seconds of the training epochs (evaluation excluded). */
  trainSeconds: number;
}

/**
 * Trains a network of `conf` for `epochs` over `train`, then classifies every example of `test`;
 * prints the training time under `name`. Closes the network and checks that no array outlives it.
 */
export function trainAndTest(name: string, conf: NeuralNetConfiguration, train: DataSetIterator, test: DataSetIterator, epochs: number): AcceptanceResult {
  const arraysBefore = memoryReport().arrays;
  const net = new MultiLayerNetwork(conf).init();
  const t0 = performance.now();
  net.fit(train, epochs);
  const trainSeconds = (performance.now() - t0) / 1000;
  const labels: number[] = [];
  let correct = 0;
  test.reset();
  while (test.hasNext()) {
    const ds = test.next();
    scope(() => {
      const [rows, classes] = ds.labels.shape as [number, number];
      const probs = net.output(ds.features).toFlatArray();
      const onehot = ds.labels.toFlatArray();
      for (let r = 0; r < rows; r++) {
        const truth = argmaxJs(onehot, r * classes, classes);
        labels.push(truth);
        if (argmaxJs(probs, r * classes, classes) === truth) correct++;
      }
    });
    ds.close();
  }
  net.close();
  assert.equal(memoryReport().arrays, arraysBefore, `${name}: arrays left alive after training, testing and closing the network`);
  const accuracy = correct / labels.length;
  console.log(`${name}: ${epochs} epochs trained in ${trainSeconds.toFixed(1)} s; test accuracy ${(100 * accuracy).toFixed(2)}% (${correct}/${labels.length})`);
  return { accuracy, labels, trainSeconds };
}
