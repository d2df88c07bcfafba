/**
 * DL4J's SimpleRnn, NCW: out_t = activation(x_t W + out_{t-1} RW + b), with 'W' [nIn, nOut] drawn
 * over fans (nIn, nOut), 'RW' [nOut, nOut] over (nOut, nOut) and 'b' [nOut] zeros.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import type { DataType } from '../../ndarray/dtype.js';
import { noGrad } from '../../autodiff/tape.js';
import { add } from '../../ops/binary.js';
import { matmul } from '../../ops/linalg.js';
import { activate } from '../activations.js';
import type { ResolvedLayer } from '../config.js';
import { BaseRecurrentLayer, recurrentInit, recurrentSeed, type RecurrentState } from './recurrent-base.js';
import { biasParam, weightParam } from './weight-param.js';

export class SimpleRnnLayer extends BaseRecurrentLayer {
  constructor(config: ResolvedLayer, dtype: DataType, seed?: number | bigint) {
    const { nIn, nOut, hasBias } = config;
    const params = new Map<string, NDArray>();
    noGrad(() => {
      params.set('W', weightParam(config, [nIn, nOut], nIn, nOut, dtype, seed));
      params.set('RW', weightParam(recurrentInit(config), [nOut, nOut], nOut, nOut, dtype, recurrentSeed(seed)));
      if (hasBias) params.set('b', biasParam(nOut, dtype));
    });
    super(config, params);
  }

  protected cell(zx: NDArray, prev: RecurrentState | null): RecurrentState {
    const z = prev ? add(zx, matmul(prev[0]!, this.params.get('RW')!)) : zx;
    return [activate(this.config.activation, z)];
  }
}
