// Imported into ParallelWrapper workers by the failure tests (workerModules). The URL's query picks
// the fault (?fault=throw|exit|crash); worker 1 injects it at its second training step.
import { workerData } from 'node:worker_threads';
import { MultiLayerNetwork } from '../src/index.js';

const fault = new URL(import.meta.url).searchParams.get('fault');
const rank = (workerData as { rank: number }).rank;

if (fault && rank === 1) {
  const fit = MultiLayerNetwork.prototype.fit;
  let calls = 0;
  MultiLayerNetwork.prototype.fit = function (this: MultiLayerNetwork, ...args: Parameters<MultiLayerNetwork['fit']>): void {
    if (++calls === 2) {
      if (fault === 'throw') throw new Error('injected failure in a training step');
      if (fault === 'exit') process.exit(7);
      // An exception outside any request: the thread dies once the current step has returned.
      if (fault === 'crash') setImmediate(() => { throw new Error('injected crash'); });
    }
    fit.apply(this, args);
  };
}
