/**
 * DL4J's activation functions (org.nd4j.linalg.activations.Activation), each built from
 * differentiable front-end ops, so autograd supplies the gradients and every backend runs them.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import {
  abs, addScalar, clip, elu, gelu, hardSigmoid, hardTanh, leakyRelu, powScalar, relu, selu, sigmoid, sign, softplus, swish, tanh,
} from '../ops/unary.js';
import { add, div, mul, sub } from '../ops/binary.js';
import { softmax } from '../ops/softmax.js';

/** The activations of DL4J's Activation enum that dl4ts provides, by lower-case name. */
export type Activation =
  | 'identity' | 'relu' | 'relu6' | 'leakyrelu' | 'elu' | 'selu' | 'gelu' | 'swish' | 'mish'
  | 'sigmoid' | 'hardsigmoid' | 'tanh' | 'hardtanh' | 'softmax' | 'softplus' | 'softsign' | 'cube' | 'rationaltanh';

export const ACTIVATIONS: readonly Activation[] = [
  'identity', 'relu', 'relu6', 'leakyrelu', 'elu', 'selu', 'gelu', 'swish', 'mish',
  'sigmoid', 'hardsigmoid', 'tanh', 'hardtanh', 'softmax', 'softplus', 'softsign', 'cube', 'rationaltanh',
];

export interface ActivationOptions {
  /** leakyrelu's negative slope (DL4J default 0.01) or elu's alpha (DL4J default 1). */
  alpha?: number;
}

/** Whether `name` is one of the supported activations. */
export function isActivation(name: string): name is Activation {
  return (ACTIVATIONS as readonly string[]).includes(name);
}

/**
 * DL4J's ActivationRationalTanh (from arXiv:1508.01292): 1.7159 * tanh(2x/3), with tanh(y)
 * approximated by sgn(y) * (1 - 1 / (1 + |y| + y^2 + 1.41645 * y^4)).
 */
function rationalTanh(x: NDArray): NDArray {
  const y = mul(x, 2 / 3);
  const y2 = mul(y, y);
  const denom = addScalar(add(add(abs(y), y2), mul(mul(y2, y2), 1.41645)), 1);
  // sign has no gradient (zero almost everywhere), which is exactly the derivative of the sgn factor.
  return mul(mul(sign(y), sub(1, div(1, denom))), 1.7159);
}

/** Applies activation `name` elementwise (softmax: along the last axis). Differentiable. */
export function activate(name: Activation, x: NDArray, options: ActivationOptions = {}): NDArray {
  switch (name) {
    case 'identity': return x;
    case 'relu': return relu(x);
    // min(max(x, 0), 6); clip's gradient is 1 strictly inside the range.
    case 'relu6': return clip(x, 0, 6);
    case 'leakyrelu': return leakyRelu(x, options.alpha ?? 0.01);
    case 'elu': return elu(x, options.alpha ?? 1);
    case 'selu': return selu(x);
    case 'gelu': return gelu(x);
    case 'swish': return swish(x);
    // x * tanh(softplus(x)) (Misra 2019), DL4J's ActivationMish.
    case 'mish': return mul(x, tanh(softplus(x)));
    case 'sigmoid': return sigmoid(x);
    case 'hardsigmoid': return hardSigmoid(x);
    case 'tanh': return tanh(x);
    case 'hardtanh': return hardTanh(x, -1, 1);
    case 'softmax': return softmax(x, -1);
    case 'softplus': return softplus(x);
    case 'softsign': return div(x, addScalar(abs(x), 1));
    case 'cube': return powScalar(x, 3);
    case 'rationaltanh': return rationalTanh(x);
    default: {
      const never: never = name;
      throw new Error(`activate: unknown activation '${String(never)}'; expected one of ${ACTIVATIONS.join(', ')}`);
    }
  }
}
