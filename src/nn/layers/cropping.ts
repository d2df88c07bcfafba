/** DL4J's Cropping2D (NCHW): drops [top, bottom, left, right] rows and columns (a view; autograd pads the gradient back). */
import type { NDArray } from '../../ndarray/ndarray.js';
import { all, interval } from '../../ndarray/indexing.js';
import { getView } from '../../ops/views.js';
import type { ResolvedLayer } from '../config.js';
import type { Layer } from './layer.js';
import { toImage } from './image.js';

export class Cropping2DLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray> = new Map();

  constructor(readonly config: ResolvedLayer) {}

  forward(input: NDArray): NDArray {
    const [t, , l] = this.config.margins!;
    const out = this.config.outputImage!;
    return getView(toImage(input, this.config), [all(), all(), interval(t, t + out.height), interval(l, l + out.width)]);
  }

  regularization(): null {
    return null;
  }
}
