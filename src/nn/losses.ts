/**
 * DL4J's loss functions (org.nd4j.linalg.lossfunctions.LossFunctions), built from differentiable
 * front-end ops. Like DL4J's ILossFunction.computeScore(average = true): each example's score is
 * the sum over its outputs of the (weighted, masked) per-output loss, and the result is the sum of
 * the example scores divided by the number of examples N (masked-out examples still count in N).
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { formatShape, shapesEqual } from '../ndarray/shape.js';
import { abs, addScalar, clip, log, relu, softplus, sqrt, square } from '../ops/unary.js';
import { add, div, maximum, mul, sub } from '../ops/binary.js';
import { sum } from '../ops/reduce.js';
import { logSoftmax } from '../ops/softmax.js';
import { reshape } from '../ops/views.js';
import { describe, requireFloating } from '../ops/util.js';
import { activate, type Activation } from './activations.js';

/** DL4J's LossFunction names; MAE, MAPE and MSLE are accepted as short aliases. */
export type LossFunction =
  | 'MCXENT' | 'NEGATIVELOGLIKELIHOOD' | 'MSE' | 'L1' | 'MEAN_ABSOLUTE_ERROR' | 'L2' | 'XENT' | 'HINGE' | 'SQUARED_HINGE'
  | 'KL_DIVERGENCE' | 'COSINE_PROXIMITY' | 'POISSON' | 'MEAN_ABSOLUTE_PERCENTAGE_ERROR' | 'MEAN_SQUARED_LOGARITHMIC_ERROR'
  | 'MAE' | 'MAPE' | 'MSLE';

export const LOSS_FUNCTIONS: readonly LossFunction[] = [
  'MCXENT', 'NEGATIVELOGLIKELIHOOD', 'MSE', 'L1', 'MEAN_ABSOLUTE_ERROR', 'L2', 'XENT', 'HINGE', 'SQUARED_HINGE',
  'KL_DIVERGENCE', 'COSINE_PROXIMITY', 'POISSON', 'MEAN_ABSOLUTE_PERCENTAGE_ERROR', 'MEAN_SQUARED_LOGARITHMIC_ERROR',
  'MAE', 'MAPE', 'MSLE',
];

export interface LossInput {
  /** Targets, [N, C]. */
  labels: NDArray;
  /** The layer's pre-activation output z, [N, C]; `activation` is applied to it. Give this or `output`. */
  preOutput?: NDArray;
  /** An already activated output, [N, C] (then `activation` must be absent or 'identity'). */
  output?: NDArray;
  /** Applied to preOutput (default 'identity'). */
  activation?: Activation;
  /** Per-output weights, [C] (DL4J's weights array): each output's loss is multiplied by its weight. */
  weights?: NDArray;
  /** 1 keeps, 0 drops: per example [N] (or [N, 1]) or per output [N, C]. */
  mask?: NDArray;
}

/** DL4J's clipping constants: LossMCXENT.softmaxClipEps, LossBinaryXENT.clipEps and Nd4j.EPS_THRESHOLD (KLD). */
const MCXENT_CLIP_EPS = 1e-10;
const XENT_CLIP_EPS = 1e-5;
const KLD_EPS = 1e-5;

function canonical(name: LossFunction): LossFunction {
  return name === 'MAE' ? 'MEAN_ABSOLUTE_ERROR' : name === 'MAPE' ? 'MEAN_ABSOLUTE_PERCENTAGE_ERROR' : name === 'MSLE' ? 'MEAN_SQUARED_LOGARITHMIC_ERROR' : name;
}

/** Validates the input; returns the array the loss starts from, its activation and whether it is a pre-output. */
function checkInput(op: string, input: LossInput): { z: NDArray; activation: Activation; isPre: boolean } {
  const { labels, preOutput, output, weights, mask } = input;
  if ((preOutput === undefined) === (output === undefined)) throw new Error(`${op}: give exactly one of preOutput and output`);
  const z = (preOutput ?? output)!;
  const activation = input.activation ?? 'identity';
  if (output !== undefined && activation !== 'identity') {
    throw new Error(`${op}: activation '${activation}' given with an already activated output; pass preOutput instead`);
  }
  requireFloating(op, z);
  if (labels.rank !== 2) throw new Error(`${op}: labels must be [N, C], got ${describe(labels)}`);
  if (!shapesEqual(labels.shape, z.shape)) {
    throw new Error(`${op}: labels ${formatShape(labels.shape)} and ${preOutput ? 'preOutput' : 'output'} ${formatShape(z.shape)} must have the same shape`);
  }
  const [n, c] = labels.shape as [number, number];
  if (weights && !(weights.size === c && (weights.rank === 1 || (weights.rank === 2 && weights.shape[0] === 1)))) {
    throw new Error(`${op}: weights must be per output, [${c}] (or [1, ${c}]), got ${describe(weights)}`);
  }
  if (mask) {
    const perExample = (mask.rank === 1 && mask.shape[0] === n) || (mask.rank === 2 && mask.shape[0] === n && mask.shape[1] === 1);
    const perOutput = mask.rank === 2 && mask.shape[0] === n && mask.shape[1] === c;
    if (!perExample && !perOutput) throw new Error(`${op}: mask must be per example [${n}] or per output [${n}, ${c}], got ${describe(mask)}`);
  }
  return { z, activation, isPre: preOutput !== undefined };
}

/** The per-element loss [N, C] (before weights and masks; COSINE_PROXIMITY's is already normalized per example). */
function elementLoss(name: LossFunction, y: NDArray, z: NDArray, activation: Activation, isPre: boolean): NDArray {
  const out = (): NDArray => (isPre ? activate(activation, z) : z);
  const nOut = y.shape[1]!;
  switch (name) {
    case 'MCXENT':
    case 'NEGATIVELOGLIKELIHOOD':
      // -y log(softmax z) as y * -(logSoftmax z): no log of an underflowed probability.
      if (isPre && activation === 'softmax') return mul(y, mul(logSoftmax(z, -1), -1));
      return mul(y, mul(log(clip(out(), MCXENT_CLIP_EPS, 1)), -1));
    case 'XENT':
      // With p = sigmoid(z): -log p = softplus(-z) and -log(1 - p) = softplus(z), exact for large |z|.
      if (isPre && activation === 'sigmoid') return addMul(y, softplus(mul(z, -1)), sub(1, y), softplus(z));
      {
        const p = clip(out(), XENT_CLIP_EPS, 1 - XENT_CLIP_EPS);
        return addMul(y, mul(log(p), -1), sub(1, y), mul(log(sub(1, p)), -1));
      }
    case 'L2': return square(sub(out(), y));
    case 'MSE': return mul(square(sub(out(), y)), 1 / nOut);
    case 'L1': return abs(sub(out(), y));
    case 'MEAN_ABSOLUTE_ERROR': return mul(abs(sub(out(), y)), 1 / nOut);
    // Labels are -1 / +1 (DL4J): max(0, 1 - y * yhat), squared for SQUARED_HINGE.
    case 'HINGE': return relu(sub(1, mul(y, out())));
    case 'SQUARED_HINGE': return square(relu(sub(1, mul(y, out()))));
    case 'KL_DIVERGENCE': {
      // y * log(y / yhat), yhat clipped to [eps, 1]; labels clipped inside the log so y = 0 contributes 0.
      const yhat = clip(out(), KLD_EPS, 1);
      return mul(y, sub(log(maximum(y, KLD_EPS)), log(yhat)));
    }
    case 'COSINE_PROXIMITY': {
      // -(y * yhat) / (|y| |yhat|): summed over outputs it is minus the cosine similarity.
      const yhat = out();
      const norms = mul(sqrt(sum(square(y), 1, true)), sqrt(sum(square(yhat), 1, true)));
      return mul(div(mul(y, yhat), norms), -1);
    }
    case 'POISSON': {
      const yhat = out();
      return sub(yhat, mul(y, log(yhat)));
    }
    case 'MEAN_ABSOLUTE_PERCENTAGE_ERROR': return mul(abs(div(sub(y, out()), y)), 100 / nOut);
    case 'MEAN_SQUARED_LOGARITHMIC_ERROR':
      return mul(square(sub(log(addScalar(out(), 1)), log(addScalar(y, 1)))), 1 / nOut);
    default:
      throw new Error(`computeLoss: unknown loss function '${String(name)}'; expected one of ${LOSS_FUNCTIONS.join(', ')}`);
  }
}

/** a * b + c * d. */
function addMul(a: NDArray, b: NDArray, c: NDArray, d: NDArray): NDArray {
  return add(mul(a, b), mul(c, d));
}

/** Each example's score, [N]: the sum over outputs of the weighted, masked per-output loss (DL4J's computeScoreArray). */
export function computeScoreArray(name: LossFunction, input: LossInput): NDArray {
  const op = `computeLoss(${name})`;
  const { z, activation, isPre } = checkInput(op, input);
  const { labels, weights, mask } = input;
  const [n, c] = labels.shape as [number, number];
  let loss = elementLoss(canonical(name), labels, z, activation, isPre);
  if (weights) loss = mul(loss, reshape(weights, [1, c]));
  if (mask) loss = mul(loss, mask.size === n ? reshape(mask, [n, 1]) : mask);
  return sum(loss, 1);
}

/** The loss as a scalar: the summed example scores divided by the number of examples (DL4J's score). Differentiable. */
export function computeLoss(name: LossFunction, input: LossInput): NDArray {
  const perExample = computeScoreArray(name, input);
  return mul(sum(perExample), 1 / input.labels.shape[0]!);
}
