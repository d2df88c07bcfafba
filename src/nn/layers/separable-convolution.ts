/**
 * DL4J's SeparableConvolution2D (NCHW): a depthwise convolution (no bias) followed by a 1x1
 * convolution mixing the nIn*depthMultiplier channels into nOut. Parameters in DL4J's order and
 * layouts: depthwise 'W' [depthMultiplier, nIn, kh, kw] (fanIn = nIn*kh*kw, fanOut = dm*kh*kw / (sh*sw)),
 * pointwise 'pW' [nOut, nIn*depthMultiplier, 1, 1] (fanIn = fanOut = nIn*dm), bias 'b' [nOut].
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import type { DataType } from '../../ndarray/dtype.js';
import { noGrad } from '../../autodiff/tape.js';
import { conv2d } from '../../ops/conv.js';
import { permute, reshape } from '../../ops/views.js';
import { activate } from '../activations.js';
import type { ResolvedLayer } from '../config.js';
import { weightPenalty, type Layer } from './layer.js';
import { add } from '../../ops/binary.js';
import { applyDropOut } from './dropout.js';
import { toImage } from './image.js';
import { depthwiseConv2d, depthwiseWeight } from './depthwise-convolution.js';
import { biasParam, weightParam } from './weight-param.js';
import type { Training } from '../training-step.js';

/** Decorrelates the pointwise draw from the depthwise one made with the layer's seed (2^64 / golden ratio). */
const POINTWISE_SEED_MIX = 0x9e3779b97f4a7c15n;

export class SeparableConvolution2DLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray>;

  constructor(readonly config: ResolvedLayer, dtype: DataType, seed?: number | bigint) {
    const { nIn, nOut, hasBias } = config;
    const dm = config.depthMultiplier!;
    const params = new Map<string, NDArray>();
    noGrad(() => {
      params.set('W', depthwiseWeight(config, 'dmCkhkw', dtype, seed));
      const pSeed = seed === undefined ? undefined : BigInt.asUintN(64, BigInt(seed) ^ POINTWISE_SEED_MIX);
      params.set('pW', weightParam(config, [nOut, nIn * dm, 1, 1], nIn * dm, nIn * dm, dtype, pSeed));
      if (hasBias) params.set('b', biasParam(nOut, dtype));
    });
    this.params = params;
  }

  forward(input: NDArray, training: Training): NDArray {
    const c = this.config;
    const g = c.window!;
    const x = applyDropOut(toImage(input, c), c, training);
    const [kh, kw] = g.kernel;
    // [dm, C, kh, kw] -> [C, dm, kh*kw]
    const kernels = reshape(permute(this.params.get('W')!, [1, 0, 2, 3]), [c.nIn, c.depthMultiplier!, kh * kw]);
    const z = conv2d(depthwiseConv2d(x, kernels, g), this.params.get('pW')!, this.params.get('b'));
    return activate(c.activation, z);
  }

  /** l1/l2 over both weight arrays (DL4J regularizes every weight parameter, not biases). */
  regularization(): NDArray | null {
    const w = weightPenalty(this.params.get('W')!, this.config.l1, this.config.l2);
    const pw = weightPenalty(this.params.get('pW')!, this.config.l1, this.config.l2);
    return w && pw ? add(w, pw) : w ?? pw;
  }
}
