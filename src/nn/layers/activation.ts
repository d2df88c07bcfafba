/** DL4J's ActivationLayer: applies an activation function, no parameters. */
import type { NDArray } from '../../ndarray/ndarray.js';
import type { ResolvedLayer } from '../config.js';
import { activateSteps } from './time-steps.js';
import type { Layer } from './layer.js';

export class ActivationLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray> = new Map();

  constructor(readonly config: ResolvedLayer) {}

  forward(x: NDArray): NDArray {
    return activateSteps(this.config.activation, x);
  }

  regularization(): null {
    return null;
  }
}
