/**
 * DL4J's Deconvolution2D (transposed convolution, NCHW): the gradient of a convolution with respect
 * to its input. Each input pixel scatters W[c] [nOut, kh, kw] into the output: one matmul gives the
 * columns [N, nOut*kh*kw, H*W] and col2im sums them into the image. 'W' [nIn, nOut, kh, kw] with
 * fanIn = nIn*kh*kw and fanOut = nOut*kh*kw / (sh*sw) as DL4J; bias 'b' [nOut] zeros.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import type { DataType } from '../../ndarray/dtype.js';
import { all, interval } from '../../ndarray/indexing.js';
import { noGrad } from '../../autodiff/tape.js';
import { add } from '../../ops/binary.js';
import { col2im } from '../../ops/conv.js';
import { matmul } from '../../ops/linalg.js';
import { getView, reshape, transposeLast2 } from '../../ops/views.js';
import { activate } from '../activations.js';
import type { ResolvedLayer } from '../config.js';
import { weightPenalty, type Layer } from './layer.js';
import { applyDropOut } from './dropout.js';
import { toImage } from './image.js';
import { biasParam, weightParam } from './weight-param.js';
import type { Training } from '../training-step.js';

export class Deconvolution2DLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray>;

  constructor(readonly config: ResolvedLayer, dtype: DataType, seed?: number | bigint) {
    const { nIn, nOut, hasBias } = config;
    const g = config.window!;
    const [kh, kw] = g.kernel;
    const params = new Map<string, NDArray>();
    noGrad(() => {
      params.set('W', weightParam(config, [nIn, nOut, kh, kw], nIn * kh * kw, (nOut * kh * kw) / (g.stride[0] * g.stride[1]), dtype, seed));
      if (hasBias) params.set('b', biasParam(nOut, dtype));
    });
    this.params = params;
  }

  forward(input: NDArray, training: Training): NDArray {
    const c = this.config;
    const g = c.window!;
    const out = c.outputImage!;
    const x = applyDropOut(toImage(input, c), c, training);
    const [n, nIn, h, w] = x.shape as [number, number, number, number];
    const [kh, kw] = g.kernel;
    const wt = transposeLast2(reshape(this.params.get('W')!, [nIn, c.nOut * kh * kw]));
    const cols = matmul(wt, reshape(x, [n, nIn, h * w]));
    // col2im pads symmetrically by the top/left crop; Same mode's odd total leaves one extra
    // bottom row / right column, cut off by the view below.
    const [top, bottom, left, right] = g.padding;
    const full = col2im(cols, [n, c.nOut, out.height + bottom - top, out.width + right - left], {
      kh, kw, sh: g.stride[0], sw: g.stride[1], ph: top, pw: left, dh: g.dilation[0], dw: g.dilation[1],
    });
    const img = bottom === top && right === left ? full : getView(full, [all(), all(), interval(0, out.height), interval(0, out.width)]);
    const b = this.params.get('b');
    return activate(c.activation, b ? add(img, reshape(b, [c.nOut, 1, 1])) : img);
  }

  /** l1 * sum|W| + l2 / 2 * sum(W^2), as the convolution layer. */
  regularization(): NDArray | null {
    return weightPenalty(this.params.get('W')!, this.config.l1, this.config.l2);
  }
}
