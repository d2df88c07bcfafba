/** DL4J's DropoutLayer: its dropOut (inverted dropout or a noise variant) while training, identity otherwise. */
import type { NDArray } from '../../ndarray/ndarray.js';
import type { ResolvedLayer } from '../config.js';
import { applyDropOutSpec, type DropOutConfig } from '../dropout-variants.js';
import type { Layer } from './layer.js';

/** Applies a layer's dropOut (a retain probability, 1 = no-op, or a DL4J IDropout choice) in training only. */
export function applyDropOut(x: NDArray, dropOut: DropOutConfig, training: boolean): NDArray {
  return training ? applyDropOutSpec(x, dropOut) : x;
}

export class DropoutLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray> = new Map();

  constructor(readonly config: ResolvedLayer) {}

  forward(x: NDArray, training: boolean): NDArray {
    return applyDropOut(x, this.config.dropOut, training);
  }

  regularization(): null {
    return null;
  }
}
