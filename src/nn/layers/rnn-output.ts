/**
 * DL4J's RnnOutputLayer: the output layer's W [nIn, nOut] and b applied at every time step of
 * [N, nIn, T] (as rows [N*T, nIn]), giving [N, nOut, T]; the activation (softmax too) acts per step.
 * Its loss (computeTimeSeriesLoss) sums the per-step losses, masked by the labels mask, and divides
 * by N as DL4J's score does.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import { formatShape } from '../../ndarray/shape.js';
import { mul } from '../../ops/binary.js';
import { sum } from '../../ops/reduce.js';
import { expandDims, reshape } from '../../ops/views.js';
import { describe } from '../../ops/util.js';
import { activate, type Activation } from '../activations.js';
import { computeScoreArray, type LossFunction } from '../losses.js';
import { OutputLayer } from './dense.js';
import { layerName } from './image.js';
import { checkMask, perTimeStep, stepsAsRows } from './time-steps.js';
import type { Training } from '../training-step.js';

export class RnnOutputLayer extends OutputLayer {
  private checked(x: NDArray): NDArray {
    const { nIn } = this.config;
    if (x.rank !== 3 || x.shape[1] !== nIn) throw new Error(`${layerName(this.config)}: expected input [N, ${nIn}, T], got ${describe(x)}`);
    return x;
  }

  override preOutput(x: NDArray, training: Training): NDArray {
    return perTimeStep(this.checked(x), (rows) => super.preOutput(rows, training));
  }

  /** The activations per step; steps masked out by the features mask are zeroed (DL4J's RnnOutputLayer.activate). */
  override forward(x: NDArray, training: Training, mask?: NDArray | null): NDArray {
    const y = perTimeStep(this.checked(x), (rows) => activate(this.config.activation, super.preOutput(rows, training)));
    return mask ? mul(y, expandDims(checkMask(mask, y, layerName(this.config)), 1)) : y;
  }
}

export interface TimeSeriesLossInput {
  /** [N, C, T]. */
  readonly labels: NDArray;
  /** The pre-activation output [N, C, T]. */
  readonly preOutput: NDArray;
  readonly activation: Activation;
  /** Per step [N, T] or per output [N, C, T]; 1 keeps, 0 drops. */
  readonly mask?: NDArray | undefined;
}

/**
 * The loss of time-series output: each (example, step) is a row of [N*T, C]; the masked row losses
 * are summed and divided by N (DL4J's RnnOutputLayer score, which counts examples, not steps).
 */
export function computeTimeSeriesLoss(name: LossFunction, input: TimeSeriesLossInput, op = 'computeTimeSeriesLoss'): NDArray {
  const { labels, preOutput, activation, mask } = input;
  if (labels.rank !== 3 || labels.shape.some((d, i) => d !== preOutput.shape[i])) {
    throw new Error(`${op}: labels ${labels.dtype}${formatShape(labels.shape)} do not match the network output ${preOutput.dtype}${formatShape(preOutput.shape)} (time series labels are [N, nOut, T])`);
  }
  const [n, c, t] = preOutput.shape as [number, number, number];
  let rowMask: NDArray | undefined;
  if (mask) {
    const perStep = mask.rank === 2 && mask.shape[0] === n && mask.shape[1] === t;
    const perOutput = mask.rank === 3 && mask.shape[0] === n && mask.shape[1] === c && mask.shape[2] === t;
    if (!perStep && !perOutput) throw new Error(`${op}: the labels mask must be [N, T] = [${n}, ${t}] or [N, nOut, T] = [${n}, ${c}, ${t}], got ${describe(mask)}`);
    rowMask = perStep ? reshape(mask, [n * t]) : stepsAsRows(mask);
  }
  const rows = computeScoreArray(name, { labels: stepsAsRows(labels), preOutput: stepsAsRows(preOutput), activation, ...(rowMask ? { mask: rowMask } : {}) });
  return mul(sum(rows), 1 / n);
}
