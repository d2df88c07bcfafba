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
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import type { DataType } from '../../ndarray/dtype.js';
import { keep } from '../../ndarray/scope.js';
import { noGrad } from '../../autodiff/tape.js';
import { array } from '../../ops/create.js';
import { matmul } from '../../ops/linalg.js';
import { lstmCell, type LstmCellFunction } from '../../ops/lstm-cell.js';
import { activate, type Activation } from '../activations.js';
import type { ResolvedLayer } from '../config.js';
import { BaseRecurrentLayer, recurrentInit, recurrentSeed, type RecurrentState } from './recurrent-base.js';
import { weightParam } from './weight-param.js';

export class LstmLayer extends BaseRecurrentLayer {
  constructor(config: ResolvedLayer, dtype: DataType, seed?: number | bigint) {
    const { nIn, nOut } = config;
    const params = new Map<string, NDArray>();
    noGrad(() => {
      params.set('W', weightParam(config, [nIn, 4 * nOut], nOut, nIn + nOut, dtype, seed));
      params.set('RW', weightParam(recurrentInit(config), [nOut, 4 * nOut], nOut, nIn + nOut, dtype, recurrentSeed(seed)));
      const bias = new Float64Array(4 * nOut);
      bias.fill(config.recurrent!.forgetGateBiasInit, nOut, 2 * nOut);
      params.set('b', keep(array(bias, [4 * nOut], { dtype })).requireGrad());
    });
    super(config, params);
  }

  protected cell(zx: NDArray, prev: RecurrentState | null): RecurrentState {
    const recurrent = prev ? matmul(prev[0]!, this.params.get('RW')!) : null;
    return lstmCell(zx, prev?.[1] ?? null, {
      activation: cellFunction(this.config.activation),
      gateActivation: cellFunction(this.config.recurrent!.gateActivation),
      recurrent,
    });
  }
}

/** The fused kernels' name for an activation they compute, else the layer's own function of it. */
function cellFunction(name: Activation): LstmCellFunction {
  return name === 'tanh' || name === 'sigmoid' || name === 'hardsigmoid' ? name : (x) => activate(name, x);
}
