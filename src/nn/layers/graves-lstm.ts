/**
 * DL4J's GravesLSTM: the LSTM of lstm.ts with peephole connections, NCW. Parameters 'W' [nIn, 4*nOut],
 * 'RW' [nOut, 4*nOut + 3] and 'b' [4*nOut], blocks in DL4J's order (a, f, o, g). RW's first 4*nOut
 * columns are the recurrent weights; its last three are the peephole weights, in DL4J's order:
 *   column 4*nOut:     forget gate,            z_f += c_{t-1} * p_f
 *   column 4*nOut + 1: output gate,            z_o += c_t     * p_o
 *   column 4*nOut + 2: input modulation gate,  z_g += c_{t-1} * p_g
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import type { DataType } from '../../ndarray/dtype.js';
import { all, interval } from '../../ndarray/indexing.js';
import { matmul } from '../../ops/linalg.js';
import { lstmCell } from '../../ops/lstm-cell.js';
import { getView } from '../../ops/views.js';
import type { ResolvedLayer } from '../config.js';
import { BaseRecurrentLayer, type RecurrentState } from './recurrent-base.js';
import { lstmActivations, lstmParams } from './lstm.js';

export class GravesLstmLayer extends BaseRecurrentLayer {
  constructor(config: ResolvedLayer, dtype: DataType, seed?: number | bigint) {
    super(config, lstmParams(config, 3, dtype, seed));
  }

  protected cell(zx: NDArray, prev: RecurrentState | null): RecurrentState {
    const rw = this.params.get('RW')!;
    const h = this.config.nOut;
    const column = (k: number): NDArray => getView(rw, [all(), 4 * h + k]);
    const recurrent = prev ? matmul(prev[0]!, getView(rw, [all(), interval(0, 4 * h)])) : null;
    return lstmCell(zx, prev?.[1] ?? null, {
      ...lstmActivations(this.config),
      recurrent,
      peepholes: { forget: column(0), output: column(1), input: column(2) },
    });
  }
}
