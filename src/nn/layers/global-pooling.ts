/** DL4J's GlobalPoolingLayer: pools [N, C, H, W] over H and W to [N, C] (max, avg, sum or p-norm). */
import type { NDArray } from '../../ndarray/ndarray.js';
import { abs, powScalar } from '../../ops/unary.js';
import { max, mean, sum } from '../../ops/reduce.js';
import type { ResolvedLayer } from '../config.js';
import type { Layer } from './layer.js';
import { toImage } from './image.js';

export class GlobalPoolingLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray> = new Map();

  constructor(readonly config: ResolvedLayer) {}

  forward(input: NDArray): NDArray {
    const x = toImage(input, this.config);
    const { type, pnorm } = this.config.pooling!;
    switch (type) {
      case 'max': return max(x, [2, 3]);
      case 'avg': return mean(x, [2, 3]);
      case 'sum': return sum(x, [2, 3]);
      case 'pnorm': return powScalar(sum(powScalar(abs(x), pnorm), [2, 3]), 1 / pnorm);
    }
  }

  regularization(): null {
    return null;
  }
}
