// Imported into parallel workers by the failure tests (workerModules). The URL's query picks the
// fault (?fault=throw|exit|crash|oom at worker 1's second training step, exit-output at its second output).
import { workerData } from 'node:worker_threads';
import { MultiLayerNetwork } from '../src/index.js';

const fault = new URL(import.meta.url).searchParams.get('fault');
// Outside a worker (the test runner also runs every file under test/) it does nothing.
const rank = (workerData as { rank: number } | null)?.rank;

if (fault === 'exit-output' && rank === 1) {
  const output = MultiLayerNetwork.prototype.output;
  let calls = 0;
  MultiLayerNetwork.prototype.output = function (this: MultiLayerNetwork, ...args: Parameters<MultiLayerNetwork['output']>) {
    if (++calls === 2) process.exit(9);
    return output.apply(this, args);
  };
} else if (fault && rank === 1) {
  const fit = MultiLayerNetwork.prototype.fit;
  let calls = 0;
  MultiLayerNetwork.prototype.fit = function (this: MultiLayerNetwork, ...args: Parameters<MultiLayerNetwork['fit']>): void {
    if (++calls === 2) {
      if (fault === 'throw') throw new Error('injected failure in a training step');
      if (fault === 'exit') process.exit(7);
      // An exception outside any request: the thread dies once the current step has returned.
      if (fault === 'crash') setImmediate(() => { throw new Error('injected crash'); });
      if (fault === 'oom') {
        const hog: number[][] = [];
        for (;;) hog.push(new Array<number>(1 << 20).fill(hog.length));
      }
    }
    fit.apply(this, args);
  };
}
