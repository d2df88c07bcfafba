/** DL4J's Upsampling2D (NCHW, nearest neighbour): out[y][x] = in[floor(y / sh)][floor(x / sw)]. */
import type { NDArray } from '../../ndarray/ndarray.js';
import { broadcastTo, reshape } from '../../ops/views.js';
import type { ResolvedLayer } from '../config.js';
import type { Layer } from './layer.js';
import { toImage } from './image.js';

export class Upsampling2DLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray> = new Map();

  constructor(readonly config: ResolvedLayer) {}

  forward(input: NDArray): NDArray {
    const x = toImage(input, this.config);
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const [sh, sw] = this.config.upsampling!;
    // Each pixel broadcast over an sh x sw block; autograd sums the block back.
    const blocks = broadcastTo(reshape(x, [n, c, h, 1, w, 1]), [n, c, h, sh, w, sw]);
    return reshape(blocks, [n, c, h * sh, w * sw]);
  }

  regularization(): null {
    return null;
  }
}
