/** DL4J's DropoutLayer: inverted dropout of its input while training, identity otherwise. */
import type { NDArray } from '../../ndarray/ndarray.js';
import { dropout } from '../../ops/random.js';
import type { ResolvedLayer } from '../config.js';
import type { Layer } from './layer.js';

/** Applies DL4J-style dropout where `retain` is the probability of keeping each value (1 = no-op). */
export function applyDropOut(x: NDArray, retain: number, training: boolean): NDArray {
  return training && retain < 1 ? dropout(x, 1 - retain) : x;
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
