/**
 * DL4J's BatchNormalization over features [N, C] or channels of [N, C, H, W]. Parameters in DL4J
 * order: 'gamma' and 'beta' (trained), then the running 'mean' and 'var' (DL4J keeps them as
 * parameters the updater does not train). Training normalizes with the batch statistics and updates
 * the running ones (ops/batch-norm.ts, fused kernels where the backend has them); inference uses the running ones.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import { keep } from '../../ndarray/scope.js';
import { noGrad } from '../../autodiff/tape.js';
import { rsqrt } from '../../ops/unary.js';
import { add, mul, sub } from '../../ops/binary.js';
import { batchNormTraining } from '../../ops/batch-norm.js';
import { ones, zeros } from '../../ops/create.js';
import { reshape } from '../../ops/views.js';
import type { ResolvedLayer } from '../config.js';
import type { DataType } from '../../ndarray/dtype.js';
import type { Layer } from './layer.js';
import { layerName, toImage } from './image.js';
import type { Training } from '../training-step.js';

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

  forward(input: NDArray, training: Training): NDArray {
    const c = this.config;
    const image = c.inputImage !== undefined;
    const x = image ? toImage(input, c) : input;
    // Time series [N, C, T]: per feature over examples and steps (DL4J's BatchNormalization on recurrent input).
    const steps = !image && x.rank === 3;
    if (!image && !((x.rank === 2 || steps) && x.shape[1] === c.nIn)) {
      throw new Error(`${layerName(c)}: expected input [N, ${c.nIn}] (or [N, ${c.nIn}, T]), got ${x.dtype}[${x.shape.join(', ')}]`);
    }
    const gamma = this.params.get('gamma')!;
    const beta = this.params.get('beta')!;
    const runningMean = this.params.get('mean')!;
    const runningVar = this.params.get('var')!;
    const { decay, eps } = c.batchNorm!;
    if (training) return batchNormTraining(x, gamma, beta, { eps, decay, runningMean, runningVar });
    // Per-channel vectors broadcast against x.
    const shape = image ? [c.nOut, 1, 1] : steps ? [c.nOut, 1] : [c.nOut];
    const p = (t: NDArray): NDArray => reshape(t, shape);
    const xHat = mul(sub(x, p(runningMean)), rsqrt(add(p(runningVar), eps)));
    return add(mul(xHat, p(gamma)), p(beta));
  }

  regularization(): null {
    return null;
  }
}
