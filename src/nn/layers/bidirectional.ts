/**
 * DL4J's Bidirectional wrapper: a forward copy of the wrapped LSTM/SimpleRnn reads the steps first
 * to last, a backward copy last to first (each output stays at its own step), and the two outputs
 * [N, nOut, T] are combined by the mode: CONCAT along the size axis ([N, 2*nOut, T]), ADD, MUL or
 * AVERAGE. Parameters are the copies' with DL4J's prefixes: 'fW', 'fRW', 'fb', then 'bW', 'bRW', 'bb'.
 * With a mask, the backward copy meets the padding first and (as in DL4J) starts the real steps
 * from a zero state, so padding does not change the result.
 *
 * DL4J's GravesBidirectionalLSTM is this layer over two GravesLSTMs in ADD mode, its parameters
 * suffixed instead: 'WF', 'RWF', 'bF', 'WB', 'RWB', 'bB'.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import type { DataType } from '../../ndarray/dtype.js';
import { add, mul } from '../../ops/binary.js';
import { concat } from '../../ops/join.js';
import type { ResolvedLayer } from '../config.js';
import type { Layer } from './layer.js';
import { layerName } from './image.js';
import { LstmLayer } from './lstm.js';
import { GravesLstmLayer } from './graves-lstm.js';
import { SimpleRnnLayer } from './simple-rnn.js';
import { recurrentSeed, type BaseRecurrentLayer } from './recurrent-base.js';
import type { Training } from '../training-step.js';

function createRecurrent(config: ResolvedLayer, dtype: DataType, seed?: number | bigint): BaseRecurrentLayer {
  if (config.type === 'lstm') return new LstmLayer(config, dtype, seed);
  if (config.type === 'simpleRnn') return new SimpleRnnLayer(config, dtype, seed);
  if (config.type === 'gravesLstm') return new GravesLstmLayer(config, dtype, seed);
  throw new Error(`${layerName(config)}: expected an lstm, gravesLstm or simpleRnn layer`);
}

export class BidirectionalLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray>;
  readonly weightParams: ReadonlySet<string>;
  private readonly fwd: BaseRecurrentLayer;
  private readonly bwd: BaseRecurrentLayer;

  constructor(readonly config: ResolvedLayer, dtype: DataType, seed?: number | bigint) {
    const inner = config.wrapped!;
    this.fwd = createRecurrent(inner, dtype, seed);
    this.bwd = createRecurrent(inner, dtype, recurrentSeed(seed, 2));
    const params = new Map<string, NDArray>();
    const weights = new Set<string>();
    const suffixed = config.type === 'gravesBidirectionalLstm';
    for (const [dir, layer] of [['f', this.fwd], ['b', this.bwd]] as const) {
      const key = (k: string): string => (suffixed ? k + dir.toUpperCase() : dir + k);
      for (const [k, v] of layer.params) params.set(key(k), v);
      for (const k of layer.weightParams) weights.add(key(k));
    }
    this.params = params;
    this.weightParams = weights;
  }

  forward(x: NDArray, training: Training, mask?: NDArray | null): NDArray {
    const f = this.fwd.run(x, training, mask ?? null).out;
    const b = this.bwd.run(x, training, mask ?? null, { reverse: true }).out;
    switch (this.config.bidirectionalMode!) {
      case 'CONCAT': return concat([f, b], 1);
      case 'ADD': return add(f, b);
      case 'MUL': return mul(f, b);
      case 'AVERAGE': return mul(add(f, b), 0.5);
    }
  }

  /** As DL4J: stepping needs the future steps the backward direction reads first. */
  rnnTimeStep(): NDArray {
    throw new Error(`${layerName(this.config)}: rnnTimeStep is not possible with a bidirectional layer (its backward direction needs the whole sequence)`);
  }

  rnnClearPreviousState(): void {}

  regularization(): NDArray | null {
    const f = this.fwd.regularization();
    const b = this.bwd.regularization();
    return f && b ? add(f, b) : f ?? b;
  }
}

/** The layers LastTimeStep may wrap. */
export function createSequenceLayer(config: ResolvedLayer, dtype: DataType, seed?: number | bigint): BaseRecurrentLayer | BidirectionalLayer {
  return config.type === 'bidirectional' ? new BidirectionalLayer(config, dtype, seed) : createRecurrent(config, dtype, seed);
}
