/**
 * DL4J's BatchNormalization over features [N, C] or channels of [N, C, H, W]. Parameters in DL4J
 * order: 'gamma' and 'beta' (trained), then the running 'mean' and 'var' (DL4J keeps them as
 * parameters the updater does not train). Training normalizes with the batch statistics (biased
 * variance) and updates running = decay * running + (1 - decay) * batch; inference uses the running ones.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import { keep } from '../../ndarray/scope.js';
import { noGrad } from '../../autodiff/tape.js';
import { rsqrt } from '../../ops/unary.js';
import { add, mul, sub } from '../../ops/binary.js';
import { mean, variance } from '../../ops/reduce.js';
import { ones, zeros } from '../../ops/create.js';
import { reshape } from '../../ops/views.js';
import type { ResolvedLayer } from '../config.js';
import type { DataType } from '../../ndarray/dtype.js';
import type { Layer } from './layer.js';
import { layerName, toImage } from './image.js';

export class BatchNormalizationLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray>;
  readonly nonTrainable: ReadonlySet<string> = new Set(['mean', 'var']);

  constructor(readonly config: ResolvedLayer, dtype: DataType) {
    const n = config.nOut;
    const params = new Map<string, NDArray>();
    noGrad(() => {
      params.set('gamma', keep(ones([n], { dtype })).requireGrad());
      params.set('beta', keep(zeros([n], { dtype })).requireGrad());
      params.set('mean', keep(zeros([n], { dtype })));
      params.set('var', keep(ones([n], { dtype })));
    });
    this.params = params;
  }

  forward(input: NDArray, training: boolean): NDArray {
    const c = this.config;
    const image = c.inputImage !== undefined;
    const x = image ? toImage(input, c) : input;
    // Time series [N, C, T]: per feature over examples and steps (DL4J's BatchNormalization on recurrent input).
    const steps = !image && x.rank === 3;
    if (!image && !((x.rank === 2 || steps) && x.shape[1] === c.nIn)) {
      throw new Error(`${layerName(c)}: expected input [N, ${c.nIn}] (or [N, ${c.nIn}, T]), got ${x.dtype}[${x.shape.join(', ')}]`);
    }
    const axes = image ? [0, 2, 3] : steps ? [0, 2] : [0];
    // Per-channel vectors broadcast against x.
    const shape = image ? [c.nOut, 1, 1] : steps ? [c.nOut, 1] : [c.nOut];
    const p = (k: string): NDArray => reshape(this.params.get(k)!, shape);
    const { decay, eps } = c.batchNorm!;
    let mu: NDArray;
    let v: NDArray;
    if (training) {
      mu = mean(x, axes);
      v = variance(x, axes);
      noGrad(() => {
        const runMean = this.params.get('mean')!;
        const runVar = this.params.get('var')!;
        runMean.assign(add(mul(runMean, decay), mul(mu, 1 - decay)));
        runVar.assign(add(mul(runVar, decay), mul(v, 1 - decay)));
      });
      mu = reshape(mu, shape);
      v = reshape(v, shape);
    } else {
      mu = p('mean');
      v = p('var');
    }
    const xHat = mul(sub(x, mu), rsqrt(add(v, eps)));
    return add(mul(xHat, p('gamma')), p('beta'));
  }

  regularization(): null {
    return null;
  }
}
