/** DL4J's LossLayer: no parameters; its input is the pre-output, the network applies activation and loss. */
import type { NDArray } from '../../ndarray/ndarray.js';
import type { ResolvedLayer } from '../config.js';
import { activateSteps } from './time-steps.js';
import type { OutputLayerLike } from './layer.js';

export class LossLayer implements OutputLayerLike {
  readonly params: ReadonlyMap<string, NDArray> = new Map();

  constructor(readonly config: ResolvedLayer) {}

  preOutput(x: NDArray): NDArray {
    return x;
  }

  forward(x: NDArray): NDArray {
    return activateSteps(this.config.activation, x);
  }

  regularization(): null {
    return null;
  }
}
