/**
 * DL4J's DenseLayer and OutputLayer: z = dropOut(x) W + b, activations = activation(z). Weights
 * 'W' [nIn, nOut] and bias 'b' [nOut] (zeros, DL4J's biasInit 0) are leaves that require grad.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import { keep } from '../../ndarray/scope.js';
import { noGrad } from '../../autodiff/tape.js';
import { add } from '../../ops/binary.js';
import { matmul } from '../../ops/linalg.js';
import { reshape } from '../../ops/views.js';
import { zeros } from '../../ops/create.js';
import { activate } from '../activations.js';
import { initWeights } from '../init.js';
import type { ResolvedLayer } from '../config.js';
import type { DataType } from '../../ndarray/dtype.js';
import { weightPenalty, type Layer, type OutputLayerLike } from './layer.js';
import { applyDropOut } from './dropout.js';
import { perTimeStep } from './time-steps.js';
import type { Training } from '../training-step.js';

export class DenseLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray>;

  /** `seed` makes the weight draw reproducible (the network derives one per layer from its seed). */
  constructor(readonly config: ResolvedLayer, dtype: DataType, seed?: number | bigint) {
    const { nIn, nOut, weightInit, distribution, hasBias } = config;
    const params = new Map<string, NDArray>();
    noGrad(() => {
      const w = initWeights(weightInit, [nIn, nOut], {
        fanIn: nIn, fanOut: nOut, dtype, ...(seed !== undefined ? { seed } : {}), ...(distribution ? { distribution } : {}),
      });
      params.set('W', keep(w).requireGrad());
      if (hasBias) params.set('b', keep(zeros([nOut], { dtype })).requireGrad());
    });
    this.params = params;
  }

  preOutput(x: NDArray, training: Training): NDArray {
    // Recurrent input [N, nIn, T]: applied at every time step (DL4J's RnnToFeedForward / FeedForwardToRnn).
    if (x.rank === 3) return perTimeStep(x, (rows) => this.preOutput(rows, training));
    const { nIn, index, name } = this.config;
    // DL4J's CnnToFeedForwardPreProcessor: [N, C, H, W] flattened in C, H, W order.
    if (this.config.inputImage && x.rank === 4) x = reshape(x, [x.shape[0]!, nIn]);
    if (x.rank !== 2 || x.shape[1] !== nIn) {
      throw new Error(`layer ${index} (${this.config.type} '${name}'): expected input [N, ${nIn}], got ${x.dtype}[${x.shape.join(', ')}]`);
    }
    const z = matmul(applyDropOut(x, this.config, training), this.params.get('W')!);
    const b = this.params.get('b');
    return b ? add(z, b) : z;
  }

  forward(x: NDArray, training: Training): NDArray {
    if (x.rank === 3) return perTimeStep(x, (rows) => this.forward(rows, training));
    return activate(this.config.activation, this.preOutput(x, training));
  }

  /** l1 * sum|W| + l2 / 2 * sum(W^2) over the weights (DL4J regularizes biases only through l1Bias/l2Bias). */
  regularization(): NDArray | null {
    return weightPenalty(this.params.get('W')!, this.config.l1, this.config.l2);
  }
}

/** The output layer: a dense layer whose pre-output feeds the network's loss. */
export class OutputLayer extends DenseLayer implements OutputLayerLike {}
