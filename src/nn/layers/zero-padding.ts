/** DL4J's ZeroPaddingLayer (NCHW): zeros added at [top, bottom, left, right]. */
import type { NDArray } from '../../ndarray/ndarray.js';
import { pad } from '../../ops/join.js';
import type { ResolvedLayer } from '../config.js';
import type { Layer } from './layer.js';
import { toImage } from './image.js';

export class ZeroPaddingLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray> = new Map();

  constructor(readonly config: ResolvedLayer) {}

  forward(input: NDArray): NDArray {
    const [t, b, l, r] = this.config.margins!;
    return pad(toImage(input, this.config), [[0, 0], [0, 0], [t, b], [l, r]], 0);
  }

  regularization(): null {
    return null;
  }
}
