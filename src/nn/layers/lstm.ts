/**
 * DL4J's LSTM (no peephole connections), NCW. Parameters 'W' [nIn, 4*nOut], 'RW' [nOut, 4*nOut] and
 * 'b' [4*nOut]. The four column blocks follow DL4J's LSTMHelpers order:
 *   0: block input   a = activation(z0)          (DL4J calls it "input activations")
 *   1: forget gate   f = gateActivation(z1)
 *   2: output gate   o = gateActivation(z2)
 *   3: input gate    g = gateActivation(z3)      (DL4J's "input modulation gate")
 * with z = x_t W + h_{t-1} RW + b, c_t = f * c_{t-1} + g * a and h_t = o * activation(c_t).
 * Weights are drawn with DL4J's fans (fanIn = nOut, fanOut = nIn + nOut); the forget block of the
 * bias starts at forgetGateBiasInit, the rest at 0.
 * Where the backend's fused cell computes the layer's activations, an unmasked run that records every
 * step is one lstmSequence node (a loop of backend kernels); otherwise each step is matmul + lstmCell.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import type { DataType } from '../../ndarray/dtype.js';
import { keep } from '../../ndarray/scope.js';
import { noGrad } from '../../autodiff/tape.js';
import { array } from '../../ops/create.js';
import type { LstmCellFunction, LstmCellOptions } from '../../ops/lstm-cell.js';
import { lstmSequence, lstmSequenceFused, lstmStep } from '../../ops/lstm-sequence.js';
import { activate, type Activation } from '../activations.js';
import type { ResolvedLayer } from '../config.js';
import { BaseRecurrentLayer, recurrentInit, recurrentSeed, type RecurrentState } from './recurrent-base.js';
import { weightParam } from './weight-param.js';

export class LstmLayer extends BaseRecurrentLayer {
  constructor(config: ResolvedLayer, dtype: DataType, seed?: number | bigint) {
    super(config, lstmParams(config, 0, dtype, seed));
  }

  protected cell(zx: NDArray, prev: RecurrentState | null): RecurrentState {
    return lstmStep(zx, prev?.[0] ?? null, prev?.[1] ?? null, this.params.get('RW')!, lstmActivations(this.config));
  }

  /** The whole sequence as one node of backend kernels, where the backend's fused cell runs this layer's activations. */
  protected override sequence(z: NDArray, initial: RecurrentState | null, reverse: boolean): { hs: NDArray; state: RecurrentState } | null {
    const rw = this.params.get('RW')!;
    const activations = lstmActivations(this.config);
    if (z.dtype !== rw.dtype || !lstmSequenceFused(z.backend, z.dtype, activations)) return null;
    const { hs, h, c } = lstmSequence(z, rw, initial?.[0] ?? null, initial?.[1] ?? null, { ...activations, reverse });
    return { hs, state: [h, c] };
  }
}

/**
 * 'W' [nIn, 4*nOut], 'RW' [nOut, 4*nOut + extraColumns] (GravesLSTM's 3 peephole columns) and 'b'
 * [4*nOut], drawn as DL4J's LSTM and GravesLSTM param initializers do (same fans for the whole 'RW').
 */
export function lstmParams(config: ResolvedLayer, extraColumns: number, dtype: DataType, seed?: number | bigint): Map<string, NDArray> {
  const { nIn, nOut } = config;
  const params = new Map<string, NDArray>();
  noGrad(() => {
    params.set('W', weightParam(config, [nIn, 4 * nOut], nOut, nIn + nOut, dtype, seed));
    params.set('RW', weightParam(recurrentInit(config), [nOut, 4 * nOut + extraColumns], nOut, nIn + nOut, dtype, recurrentSeed(seed)));
    const bias = new Float64Array(4 * nOut);
    bias.fill(config.recurrent!.forgetGateBiasInit, nOut, 2 * nOut);
    params.set('b', keep(array(bias, [4 * nOut], { dtype })).requireGrad());
  });
  return params;
}

/** The cell's activations from the layer's configuration. */
export function lstmActivations(config: ResolvedLayer): Pick<LstmCellOptions, 'activation' | 'gateActivation'> {
  return { activation: cellFunction(config.activation), gateActivation: cellFunction(config.recurrent!.gateActivation) };
}

/** The fused kernels' name for an activation they compute, else the layer's own function of it. */
function cellFunction(name: Activation): LstmCellFunction {
  return name === 'tanh' || name === 'sigmoid' || name === 'hardsigmoid' ? name : (x) => activate(name, x);
}
