/** DL4J's GlobalPoolingLayer: pools [N, C, H, W] over H and W, or time series [N, C, T] over (present) steps, to [N, C] (max, avg, sum or p-norm). */
import type { NDArray } from '../../ndarray/ndarray.js';
import { abs, powScalar } from '../../ops/unary.js';
import { max, mean, sum } from '../../ops/reduce.js';
import type { ResolvedLayer } from '../config.js';
import type { Layer } from './layer.js';
import { layerName, toImage } from './image.js';
import { checkMask, poolTimeSteps } from './time-steps.js';
import type { Training } from '../training-step.js';

export class GlobalPoolingLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray> = new Map();

  constructor(readonly config: ResolvedLayer) {}

  forward(input: NDArray, _training?: Training, mask?: NDArray | null): NDArray {
    const { type, pnorm } = this.config.pooling!;
    if (!this.config.inputImage) {
      const { nIn } = this.config;
      if (input.rank !== 3 || input.shape[1] !== nIn) throw new Error(`${layerName(this.config)}: expected input [N, ${nIn}, T], got ${input.dtype}[${input.shape.join(', ')}]`);
      return poolTimeSteps(input, type, pnorm, mask ? checkMask(mask, input, layerName(this.config)) : null);
    }
    const x = toImage(input, this.config);
    switch (type) {
      case 'max': return max(x, [2, 3]);
      case 'avg': return mean(x, [2, 3]);
      case 'sum': return sum(x, [2, 3]);
      case 'pnorm': return powScalar(sum(powScalar(abs(x), pnorm), [2, 3]), 1 / pnorm);
    }
  }

  /** The time axis ends here. */
  feedForwardMask(): null {
    return null;
  }

  regularization(): null {
    return null;
  }
}
