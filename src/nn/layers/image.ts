/** Shared helpers of the convolutional layers: input checks, the flat-to-NCHW preprocessing and windows. */
import type { NDArray } from '../../ndarray/ndarray.js';
import { pad } from '../../ops/join.js';
import { reshape } from '../../ops/views.js';
import type { ResolvedLayer } from '../config.js';
import type { WindowGeometry } from '../cnn-config.js';

export function layerName(c: ResolvedLayer): string {
  return `layer ${c.index} (${c.type} '${c.name}')`;
}

/**
 * The layer's input as [N, C, H, W]: a flat [N, C*H*W] input (DL4J's convolutionalFlat, its
 * FeedForwardToCnnPreProcessor) is reshaped in C, H, W order; anything else of the wrong shape throws.
 */
export function toImage(x: NDArray, c: ResolvedLayer): NDArray {
  const img = c.inputImage!;
  const flat = img.channels * img.height * img.width;
  if (x.rank === 2 && x.shape[1] === flat) return reshape(x, [x.shape[0]!, img.channels, img.height, img.width]);
  if (x.rank !== 4 || x.shape[1] !== img.channels || x.shape[2] !== img.height || x.shape[3] !== img.width) {
    throw new Error(`${layerName(c)}: expected input [N, ${img.channels}, ${img.height}, ${img.width}] (or [N, ${flat}]), got ${x.dtype}[${x.shape.join(', ')}]`);
  }
  return x;
}

/**
 * Applies Same mode's padding: symmetric padding goes to the op; asymmetric padding is applied
 * explicitly with `value` (the op then pads nothing). Returns the input and the op's [ph, pw].
 */
export function padForWindow(x: NDArray, g: WindowGeometry, value: number): { x: NDArray; padding: [number, number] } {
  const [t, b, l, r] = g.padding;
  if (t === b && l === r) return { x, padding: [t, l] };
  return { x: pad(x, [[0, 0], [0, 0], [t, b], [l, r]], value), padding: [0, 0] };
}
