/** DL4J's DropoutLayer: its dropOut (inverted dropout or a noise variant) while training, identity otherwise. */
import type { NDArray } from '../../ndarray/ndarray.js';
import type { ResolvedLayer } from '../config.js';
import { applyDropOutSpec } from '../dropout-variants.js';
import type { Training } from '../training-step.js';
import { layerName } from './image.js';
import type { Layer } from './layer.js';

/**
 * Applies a layer's dropOut (a retain probability, 1 = no-op, a schedule, or a DL4J IDropout choice)
 * in training only; a scheduled one takes its value at the network's training step.
 */
export function applyDropOut(x: NDArray, config: ResolvedLayer, training: Training): NDArray {
  if (training === false) return x;
  return applyDropOutSpec(x, config.dropOut, training === true ? undefined : training, layerName(config));
}

export class DropoutLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray> = new Map();

  constructor(readonly config: ResolvedLayer) {}

  forward(x: NDArray, training: Training): NDArray {
    return applyDropOut(x, this.config, training);
  }

  regularization(): null {
    return null;
  }
}
