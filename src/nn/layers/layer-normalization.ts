/**
 * Layer normalization (ND4J's layerNorm op as a layer): each example standardized with its own
 * mean and biased variance, (x - mean) / sqrt(var + eps), over its features [N, C], over C, H, W
 * of an image, or over the features of each time step of [N, C, T]; then times 'gain' [C] (ones)
 * plus 'b' [C] (zeros) along the feature/channel axis. Same in training and inference.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import type { DataType } from '../../ndarray/dtype.js';
import { keep } from '../../ndarray/scope.js';
import { noGrad } from '../../autodiff/tape.js';
import { add, mul, sub } from '../../ops/binary.js';
import { ones } from '../../ops/create.js';
import { mean, variance } from '../../ops/reduce.js';
import { rsqrt } from '../../ops/unary.js';
import { reshape } from '../../ops/views.js';
import type { ResolvedLayer } from '../config.js';
import type { Layer } from './layer.js';
import { layerName, toImage } from './image.js';
import { biasParam } from './weight-param.js';

export class LayerNormalizationLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray>;

  constructor(readonly config: ResolvedLayer, dtype: DataType) {
    const n = config.nOut;
    const params = new Map<string, NDArray>();
    noGrad(() => {
      params.set('gain', keep(ones([n], { dtype })).requireGrad());
      if (config.hasBias) params.set('b', biasParam(n, dtype));
    });
    this.params = params;
  }

  forward(input: NDArray): NDArray {
    const c = this.config;
    const x = c.inputImage ? toImage(input, c) : input;
    if (!c.inputImage && !((x.rank === 2 || x.rank === 3) && x.shape[1] === c.nIn)) {
      throw new Error(`${layerName(c)}: expected input [N, ${c.nIn}] or [N, ${c.nIn}, T], got ${x.dtype}[${x.shape.join(', ')}]`);
    }
    const axes = x.rank === 4 ? [1, 2, 3] : [1];
    const xHat = mul(sub(x, mean(x, axes, true)), rsqrt(add(variance(x, axes, true), c.layerNorm!.eps)));
    // Per-feature vectors along axis 1.
    const along = (p: NDArray): NDArray => reshape(p, [c.nOut, ...new Array<number>(x.rank - 2).fill(1)]);
    const scaled = mul(xHat, along(this.params.get('gain')!));
    const b = this.params.get('b');
    return b ? add(scaled, along(b)) : scaled;
  }

  regularization(): null {
    return null;
  }
}
