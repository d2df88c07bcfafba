/** Training throughput of a benchmark network on dl4ts: MultiLayerNetwork.fit(DataSet), one Adam step per call. */
import { DataSet, MultiLayerNetwork, array } from '../src/index.js';
import { ADAM, CLASSES, INPUTS, type Minibatch, type NetworkSpec } from './networks-spec.js';
import { time, type Timing, type TimingOptions } from './timing.js';

export interface NetworkRun {
  readonly timing: Timing;
  /** Loss of the first (untimed) step: a sanity check that both sides train the same problem. */
  readonly firstLoss: number;
  readonly numParams: number;
}

export function benchNetworkDl4ts(spec: NetworkSpec, data: Minibatch, options: TimingOptions): NetworkRun {
  const net = new MultiLayerNetwork({
    seed: 123,
    updater: { type: 'adam', ...ADAM },
    weightInit: 'RELU',
    inputType: spec.inputType,
    layers: [...spec.layers],
  }).init();
  const ds = new DataSet(array(data.x, [data.batch, INPUTS]), array(data.oneHot, [data.batch, CLASSES]));
  try {
    net.fit(ds);
    const firstLoss = net.score();
    const timing = time(() => net.fit(ds), options);
    return { timing, firstLoss, numParams: net.numParams() };
  } finally {
    ds.close();
    net.close();
  }
}
