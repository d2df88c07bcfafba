import { needsGrad, record } from '../autodiff/tape.js';
import { NDArray } from '../ndarray/ndarray.js';
import { normalizeAxis } from '../ndarray/shape.js';
import { outputLike, requireFloating } from './util.js';

function softmaxOp(x: NDArray, axis: number, log: boolean): NDArray {
  const op = log ? 'logSoftmax' : 'softmax';
  requireFloating(op, x);
  const ax = normalizeAxis(axis, x.rank, op);
  const y = outputLike(x);
  x.backend.softmax(x, y, ax, log);
  if (needsGrad([x])) {
    record(y, op, [x], [y], (g, [ys]) => {
      const dx = outputLike(g);
      g.backend.softmaxGrad(ys!, g, dx, ax, log);
      return [dx];
    });
  }
  return y;
}

/** exp(x) / sum(exp(x)) along `axis` (default last), computed stably. */
export const softmax = (x: NDArray, axis = -1): NDArray => softmaxOp(x, axis, false);
/** x - logsumexp(x) along `axis` (default last). */
export const logSoftmax = (x: NDArray, axis = -1): NDArray => softmaxOp(x, axis, true);
