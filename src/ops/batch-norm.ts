/**
 * Batch normalization in training mode, per channel (axis 1) of x [N, C, ...]: normalized with the
 * batch's mean and biased variance, scaled by gamma and shifted by beta, and the running averages
 * updated in place (running = decay * running + (1 - decay) * batch, as DL4J's BatchNormalization).
 * A backend with fused kernels (Backend.batchNorm) runs it in three launches forward and three
 * backward; otherwise the same math is composed from reductions and elementwise ops.
 */
import type { FusedBatchNorm } from '../backend/backend.js';
import { needsGrad, noGrad, record } from '../autodiff/tape.js';
import { NDArray } from '../ndarray/ndarray.js';
import { isHalfFloat } from '../ndarray/dtype.js';
import { add, mul, sub } from './binary.js';
import { mean, variance } from './reduce.js';
import { rsqrt } from './unary.js';
import { commonBackend, describe, outputLike, requireFloating } from './util.js';
import { cast, reshape } from './views.js';

export interface BatchNormTrainingOptions {
  readonly eps: number;
  readonly decay: number;
  /** [C], updated in place. */
  readonly runningMean: NDArray;
  /** [C], updated in place (biased batch variance). */
  readonly runningVar: NDArray;
}

export function batchNormTraining(x: NDArray, gamma: NDArray, beta: NDArray, options: BatchNormTrainingOptions): NDArray {
  const op = 'batchNormTraining';
  if (x.rank < 2) throw new Error(`${op}: expected x of shape [N, C, ...], got ${describe(x)}`);
  requireFloating(op, x);
  const c = x.shape[1]!;
  const { runningMean, runningVar, eps, decay } = options;
  for (const [name, t] of [['gamma', gamma], ['beta', beta], ['runningMean', runningMean], ['runningVar', runningVar]] as const) {
    if (t.rank !== 1 || t.shape[0] !== c || t.dtype !== x.dtype) throw new Error(`${op}: expected ${name} of shape [${c}] and dtype ${x.dtype} for x ${describe(x)}, got ${describe(t)}`);
  }
  if (!(eps > 0) || !(decay >= 0 && decay <= 1)) throw new Error(`${op}: expected eps > 0 and decay in [0, 1], got eps ${eps}, decay ${decay}`);
  const backend = commonBackend(op, [x, gamma, beta, runningMean, runningVar]);
  const fused = backend.batchNorm;
  const packedParams = [gamma, beta, runningMean, runningVar].every((t) => t.isContiguous);
  return fused?.supports(x.dtype) && packedParams && x.size > 0 ? fusedTraining(fused, x, gamma, beta, options) : composedTraining(x, gamma, beta, options);
}

/** x as the packed [N, C, S] view the fused kernels take (a packed copy when x is strided). */
function asNcs(x: NDArray): NDArray {
  const [n, c] = x.shape as [number, number];
  const packed = x.isContiguous ? x : x.dup();
  return reshape(packed, [n, c, x.size / (n * c)]);
}

function fusedTraining(fused: FusedBatchNorm, x: NDArray, gamma: NDArray, beta: NDArray, o: BatchNormTrainingOptions): NDArray {
  const c = x.shape[1]!;
  const statsType = x.dtype === 'DOUBLE' ? 'DOUBLE' : 'FLOAT';
  const batchMean = outputLike(x, [c], statsType);
  const invStd = outputLike(x, [c], statsType);
  const y = outputLike(x, x.shape);
  const x3 = asNcs(x);
  fused.forwardTraining(x3, gamma, beta, reshape(y, x3.shape), batchMean, invStd, o.runningMean, o.runningVar, o.eps, o.decay);
  // Graphs that saved the running statistics detect the write by the version.
  o.runningMean.bumpVersion();
  o.runningVar.bumpVersion();
  if (needsGrad([x, gamma, beta])) {
    record(y, 'batchNorm', [x, gamma, beta], [x, gamma, batchMean, invStd], (gy, [xs, gs, ms, is]) => {
      const xs3 = asNcs(xs!);
      const dx = outputLike(xs!, xs!.shape);
      const dgamma = outputLike(gs!, gs!.shape);
      const dbeta = outputLike(gs!, gs!.shape);
      fused.backward(xs3, asNcs(gy), gs!, ms!, is!, reshape(dx, xs3.shape), dgamma, dbeta);
      return [dx, dgamma, dbeta];
    });
  }
  return y;
}

function composedTraining(x: NDArray, gamma: NDArray, beta: NDArray, o: BatchNormTrainingOptions): NDArray {
  // 16-bit inputs are normalized in float32, as the fused kernels do: a 16-bit mean is off by up to
  // half its spacing (0.125 at 300), which would shift every normalized value by that much.
  if (isHalfFloat(x.dtype)) {
    const runningMean = cast(o.runningMean, 'FLOAT');
    const runningVar = cast(o.runningVar, 'FLOAT');
    const y = composedTraining(cast(x, 'FLOAT'), cast(gamma, 'FLOAT'), cast(beta, 'FLOAT'), { ...o, runningMean, runningVar });
    noGrad(() => {
      o.runningMean.assign(cast(runningMean, x.dtype));
      o.runningVar.assign(cast(runningVar, x.dtype));
    });
    return cast(y, x.dtype);
  }
  const c = x.shape[1]!;
  const axes = [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2)];
  // Per-channel vectors broadcast against x.
  const perChannel = [c, ...Array.from({ length: x.rank - 2 }, () => 1)];
  const mu = mean(x, axes);
  const v = variance(x, axes);
  noGrad(() => {
    o.runningMean.assign(add(mul(o.runningMean, o.decay), mul(mu, 1 - o.decay)));
    o.runningVar.assign(add(mul(o.runningVar, o.decay), mul(v, 1 - o.decay)));
  });
  const xHat = mul(sub(x, reshape(mu, perChannel)), rsqrt(add(reshape(v, perChannel), o.eps)));
  return add(mul(xHat, reshape(gamma, perChannel)), reshape(beta, perChannel));
}
