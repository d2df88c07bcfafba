/**
 * DL4J's SubsamplingLayer: max, average or p-norm pooling over windows of [N, C, H, W]. P-norm is
 * (sum |x|^p)^(1/p) per window, built from the average pool so autograd gives its gradient.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import { abs, powScalar } from '../../ops/unary.js';
import { div, mul } from '../../ops/binary.js';
import { ones } from '../../ops/create.js';
import { avgPool2d, maxPool2d } from '../../ops/conv.js';
import type { ResolvedLayer } from '../config.js';
import type { Layer } from './layer.js';
import { padForWindow, toImage } from './image.js';

export class SubsamplingLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray> = new Map();

  constructor(readonly config: ResolvedLayer) {}

  forward(input: NDArray): NDArray {
    const g = this.config.window!;
    const { type, pnorm } = this.config.pooling!;
    const x = toImage(input, this.config);
    // Padding never wins a max (the op skips it; explicit padding uses -Infinity).
    const p = padForWindow(x, g, type === 'max' ? -Infinity : 0);
    const opts = { kernel: [...g.kernel] as [number, number], stride: [...g.stride] as [number, number], padding: p.padding, dilation: [...g.dilation] as [number, number] };
    if (type === 'max') return maxPool2d(p.x, opts);
    if (type === 'avg') {
      if (g.mode !== 'Same') return avgPool2d(p.x, { ...opts, countIncludePad: true });
      // Same mode averages over the in-bounds part of each window only: the window sums divided by
      // the in-bounds counts (the same pooling of an all-ones image), which also covers asymmetric padding.
      const count = padForWindow(ones([1, 1, x.shape[2]!, x.shape[3]!], { dtype: x.dtype, backend: x.backend }), g, 0);
      return div(avgPool2d(p.x, { ...opts, countIncludePad: true }), avgPool2d(count.x, { ...opts, countIncludePad: true }));
    }
    const windowSum = mul(avgPool2d(powScalar(abs(p.x), pnorm), { ...opts, countIncludePad: true }), g.kernel[0] * g.kernel[1]);
    return powScalar(windowSum, 1 / pnorm);
  }

  regularization(): null {
    return null;
  }
}
