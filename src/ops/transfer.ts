import type { Backend } from '../backend/backend.js';
import { backendByName } from '../backend/registry.js';
import { needsGrad, record } from '../autodiff/tape.js';
import { dtypeSize } from '../ndarray/dtype.js';
import { NDArray } from '../ndarray/ndarray.js';

/**
 * A copy of x on another backend or device (the same values, dtype and shape; contiguous).
 * Differentiable: the gradient comes back to x's backend.
 */
export function toBackend(x: NDArray, target: Backend | string): NDArray {
  const backend = typeof target === 'string' ? backendByName(target) : target;
  const raw = x.rawData();
  const out = NDArray.uninitialized(x.shape, x.dtype, backend);
  if (raw.byteLength !== x.size * dtypeSize(x.dtype)) throw new Error('toBackend: internal size mismatch');
  backend.write(out.buffer, 0, raw);
  if (needsGrad([x])) record(out, 'toBackend', [x], [], (g) => [toBackend(g, x.backend)]);
  return out;
}

/** A copy on the CPU backend. */
export const toCpu = (x: NDArray): NDArray => toBackend(x, 'cpu');
