/** Creating a layer's weight leaf from its ResolvedLayer init options (shared by the convolution-like layers). */
import type { DataType } from '../../ndarray/dtype.js';
import type { NDArray } from '../../ndarray/ndarray.js';
import { keep } from '../../ndarray/scope.js';
import { zeros } from '../../ops/create.js';
import type { ResolvedLayer } from '../config.js';
import { initWeights } from '../init.js';

/** A kept leaf requiring grad, drawn with the layer's weightInit over the given fans. Call inside noGrad(). */
export function weightParam(config: ResolvedLayer, shape: readonly number[], fanIn: number, fanOut: number, dtype: DataType, seed?: number | bigint): NDArray {
  const { weightInit, distribution } = config;
  const w = initWeights(weightInit, shape, { fanIn, fanOut, dtype, ...(seed !== undefined ? { seed } : {}), ...(distribution ? { distribution } : {}) });
  return keep(w).requireGrad();
}

/** A kept zero bias leaf [n] requiring grad (DL4J's biasInit 0). Call inside noGrad(). */
export function biasParam(n: number, dtype: DataType): NDArray {
  return keep(zeros([n], { dtype })).requireGrad();
}
