/**
 * DL4J's DepthwiseConvolution2D (NCHW): each input channel c is convolved with its own
 * depthMultiplier kernels, giving output channel c*depthMultiplier + m. Built as im2col
 * [N, C*kh*kw, L] viewed as [N, C, kh*kw, L] and one batched matmul with the per-channel kernels
 * [C, dm, kh*kw]. 'W' [kh, kw, nIn, depthMultiplier] as DL4J stores it (fanIn = nIn*kh*kw,
 * fanOut = dm*kh*kw / (sh*sw)); bias 'b' [nIn*depthMultiplier] zeros.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import type { DataType } from '../../ndarray/dtype.js';
import { noGrad } from '../../autodiff/tape.js';
import { add } from '../../ops/binary.js';
import { convGeometry, convOutputSize, im2col } from '../../ops/conv.js';
import { matmul } from '../../ops/linalg.js';
import { permute, reshape } from '../../ops/views.js';
import { activate } from '../activations.js';
import type { WindowGeometry } from '../cnn-config.js';
import type { ResolvedLayer } from '../config.js';
import { weightPenalty, type Layer } from './layer.js';
import { applyDropOut } from './dropout.js';
import { padForWindow, toImage } from './image.js';
import { biasParam, weightParam } from './weight-param.js';
import type { Training } from '../training-step.js';

/**
 * Depthwise convolution of x [N, C, H, W] with kernels [C, dm, kh*kw] over window g (Same mode's
 * asymmetric padding included): [N, C*dm, oh, ow].
 */
export function depthwiseConv2d(x: NDArray, kernels: NDArray, g: WindowGeometry): NDArray {
  const [n, c] = x.shape as [number, number];
  const dm = kernels.shape[1]!;
  const [kh, kw] = g.kernel;
  const p = padForWindow(x, g, 0);
  const geometry = convGeometry([kh, kw], { stride: [...g.stride], padding: p.padding, dilation: [...g.dilation] }, 'depthwiseConv2d');
  const [oh, ow] = convOutputSize('depthwiseConv2d', p.x.shape[2]!, p.x.shape[3]!, geometry);
  const y = matmul(kernels, reshape(im2col(p.x, geometry), [n, c, kh * kw, oh * ow]));
  return reshape(y, [n, c * dm, oh, ow]);
}

/**
 * The depthwise kernels of a layer in the given layout (the depthwise and separable layers store
 * them differently), drawn with DL4J's fans for depthwise convolution.
 */
export function depthwiseWeight(config: ResolvedLayer, layout: 'khkwCdm' | 'dmCkhkw', dtype: DataType, seed?: number | bigint): NDArray {
  const { nIn } = config;
  const g = config.window!;
  const dm = config.depthMultiplier!;
  const [kh, kw] = g.kernel;
  const shape = layout === 'khkwCdm' ? [kh, kw, nIn, dm] : [dm, nIn, kh, kw];
  return weightParam(config, shape, nIn * kh * kw, (dm * kh * kw) / (g.stride[0] * g.stride[1]), dtype, seed);
}

export class DepthwiseConvolution2DLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray>;

  constructor(readonly config: ResolvedLayer, dtype: DataType, seed?: number | bigint) {
    const params = new Map<string, NDArray>();
    noGrad(() => {
      params.set('W', depthwiseWeight(config, 'khkwCdm', dtype, seed));
      if (config.hasBias) params.set('b', biasParam(config.nOut, dtype));
    });
    this.params = params;
  }

  forward(input: NDArray, training: Training): NDArray {
    const c = this.config;
    const g = c.window!;
    const x = applyDropOut(toImage(input, c), c, training);
    const [kh, kw] = g.kernel;
    // [kh, kw, C, dm] -> [C, dm, kh*kw]
    const kernels = permute(reshape(this.params.get('W')!, [kh * kw, c.nIn, c.depthMultiplier!]), [1, 2, 0]);
    const z = depthwiseConv2d(x, kernels, g);
    const b = this.params.get('b');
    return activate(c.activation, b ? add(z, reshape(b, [c.nOut, 1, 1])) : z);
  }

  regularization(): NDArray | null {
    return weightPenalty(this.params.get('W')!, this.config.l1, this.config.l2);
  }
}
