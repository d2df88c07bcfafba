/**
 * DL4J's ConvolutionLayer (NCHW): z = conv2d(x, W, b), activations = activation(z). Weights 'W'
 * [nOut, nIn, kh, kw] drawn with fanIn = nIn*kh*kw and fanOut = nOut*kh*kw / (sh*sw) as DL4J; bias
 * 'b' [nOut] zeros.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import { keep } from '../../ndarray/scope.js';
import { noGrad } from '../../autodiff/tape.js';
import { zeros } from '../../ops/create.js';
import { conv2d } from '../../ops/conv.js';
import { activate } from '../activations.js';
import { initWeights } from '../init.js';
import type { ResolvedLayer } from '../config.js';
import type { DataType } from '../../ndarray/dtype.js';
import { weightPenalty, type Layer } from './layer.js';
import { applyDropOut } from './dropout.js';
import { padForWindow, toImage } from './image.js';
import type { Training } from '../training-step.js';

export class ConvolutionLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray>;

  constructor(readonly config: ResolvedLayer, dtype: DataType, seed?: number | bigint) {
    const { nIn, nOut, weightInit, distribution, hasBias } = config;
    const g = config.window!;
    const [kh, kw] = g.kernel;
    const params = new Map<string, NDArray>();
    noGrad(() => {
      const w = initWeights(weightInit, [nOut, nIn, kh, kw], {
        fanIn: nIn * kh * kw, fanOut: (nOut * kh * kw) / (g.stride[0] * g.stride[1]), dtype,
        ...(seed !== undefined ? { seed } : {}), ...(distribution ? { distribution } : {}),
      });
      params.set('W', keep(w).requireGrad());
      if (hasBias) params.set('b', keep(zeros([nOut], { dtype })).requireGrad());
    });
    this.params = params;
  }

  forward(input: NDArray, training: Training): NDArray {
    const g = this.config.window!;
    const x = applyDropOut(toImage(input, this.config), this.config, training);
    const p = padForWindow(x, g, 0);
    const b = this.params.get('b');
    const z = conv2d(p.x, this.params.get('W')!, b, { stride: [...g.stride], padding: p.padding, dilation: [...g.dilation] });
    return activate(this.config.activation, z);
  }

  /** l1 * sum|W| + l2 / 2 * sum(W^2), as the dense layer. */
  regularization(): NDArray | null {
    return weightPenalty(this.params.get('W')!, this.config.l1, this.config.l2);
  }
}
