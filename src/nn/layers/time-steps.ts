/**
 * Time-step helpers of the sequence layers (NCW: activations [N, size, T], masks [N, T]): cutting a
 * tensor into per-step pieces with a cheap gradient, applying 2-D functions and activations per
 * time step, picking each sequence's last present step, and pooling over the present steps.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import { formatShape } from '../../ndarray/shape.js';
import { point, all } from '../../ndarray/indexing.js';
import { noGrad } from '../../autodiff/tape.js';
import { div, eq, gt, mul, where } from '../../ops/binary.js';
import { arange } from '../../ops/create.js';
import { max, mean, sum } from '../../ops/reduce.js';
import { abs, powScalar } from '../../ops/unary.js';
import { softmax } from '../../ops/softmax.js';
import { cast, expandDims, getView, permute, reshape } from '../../ops/views.js';
import { describe } from '../../ops/util.js';
import { unstack } from '../../ops/unstack.js';
import { activate, type Activation } from '../activations.js';
import type { GlobalPoolingType } from '../cnn-config.js';

/** Per-step pieces with a cheap gradient (in ops, where the LSTM cell op uses it too). */
export { unstack };

/** Checks a recurrent input [N, size, T]; a 2-D [N, size] is one time step (DL4J's FeedForwardToRnn). */
export function toSequence(x: NDArray, size: number, where: string): NDArray {
  const seq = x.rank === 2 ? expandDims(x, 2) : x;
  if (seq.rank !== 3 || seq.shape[1] !== size) {
    throw new Error(`${where}: expected input [N, ${size}, T] (or [N, ${size}] for one step), got ${describe(x)}`);
  }
  return seq;
}

/** Checks a time-series mask against a sequence [N, ?, T] and casts it to the sequence's type. */
export function checkMask(mask: NDArray, seq: NDArray, where: string): NDArray {
  const [n, , t] = seq.shape as [number, number, number];
  if (mask.rank !== 2 || mask.shape[0] !== n || mask.shape[1] !== t) {
    throw new Error(`${where}: the features mask must be [N, T] = [${n}, ${t}] for input ${formatShape(seq.shape)}, got ${describe(mask)}`);
  }
  return mask.dtype === seq.dtype ? mask : noGrad(() => cast(mask, seq.dtype));
}

/** The columns of a mask [N, T] as T arrays [N, 1], to multiply per-step activations with. */
export function maskSteps(mask: NDArray): NDArray[] {
  return unstack(noGrad(() => expandDims(mask, 1)), 2);
}

/**
 * Applies a 2-D function to every time step of [N, C, T] at once: the steps become rows of [N*T, C]
 * (DL4J's RnnToFeedForward) and the result [N*T, K] is laid back out as [N, K, T] (FeedForwardToRnn).
 */
export function perTimeStep(x: NDArray, fn: (rows: NDArray) => NDArray): NDArray {
  const [n, c, t] = x.shape as [number, number, number];
  const rows = fn(reshape(permute(x, [0, 2, 1]), [n * t, c]));
  return permute(reshape(rows, [n, t, rows.shape[1]!]), [0, 2, 1]);
}

/** Labels, outputs or masks [N, C, T] as rows [N*T, C], one row per example and step (example-major). */
export function stepsAsRows(x: NDArray): NDArray {
  const [n, c, t] = x.shape as [number, number, number];
  return reshape(permute(x, [0, 2, 1]), [n * t, c]);
}

/**
 * Each sequence's output at its last present step: y [N, C, T] to [N, C]. Without a mask the last
 * step; with one the step of the last 1 in each row (DL4J's LastTimeStep; a row with no present
 * step gives zeros). Selected by multiplying with a one-hot of that step, so nothing is read back.
 */
export function lastTimeStep(y: NDArray, mask: NDArray | null): NDArray {
  const t = y.shape[2]!;
  if (!mask) return getView(y, [all(), all(), point(t - 1)]);
  const select = noGrad(() => {
    // (step + 1) where present, 0 where not: its row maximum sits at the last present step.
    const weighted = mul(mask, arange(1, t + 1, 1, { dtype: mask.dtype, backend: mask.backend }));
    const last = eq(weighted, max(weighted, 1, true));
    return expandDims(mul(cast(last, mask.dtype), mask), 1);
  });
  return sum(mul(y, select), 2);
}

/** An activation of a layer that keeps its input's shape: on time series [N, C, T] softmax normalizes over C at each step. */
export function activateSteps(name: Activation, x: NDArray): NDArray {
  return name === 'softmax' && x.rank === 3 ? softmax(x, 1) : activate(name, x);
}

/**
 * Global pooling over time, [N, C, T] to [N, C] (DL4J's GlobalPoolingLayer on recurrent input):
 * with a mask only the present steps count (max over them, avg = their sum / their number, sum and
 * p-norm of the masked values), as DL4J's MaskedReductionUtil.
 */
export function poolTimeSteps(x: NDArray, type: GlobalPoolingType, pnorm: number, mask: NDArray | null): NDArray {
  const m = mask ? expandDims(mask, 1) : null;
  switch (type) {
    case 'max': return max(m ? where(noGrad(() => gt(m, 0)), x, -Infinity) : x, 2);
    case 'avg': return m ? div(sum(mul(x, m), 2), sum(m, 2)) : mean(x, 2);
    case 'sum': return sum(m ? mul(x, m) : x, 2);
    case 'pnorm': return powScalar(sum(powScalar(abs(m ? mul(x, m) : x), pnorm), 2), 1 / pnorm);
  }
}
