/**
 * x cut along `axis` into its slices with that axis removed (x[:, t] for every t), as views,
 * differentiably. split() and getView() give each piece a gradient of x's full shape, which over T
 * pieces costs O(T^2) time and memory in backward; here the pieces are one multi-output node whose
 * backward joins their gradients with a single stack, O(x.size) in all.
 */
import { needsGrad } from '../autodiff/tape.js';
import { recordOutputs } from '../autodiff/multi-output.js';
import type { NDArray } from '../ndarray/ndarray.js';
import { normalizeAxis } from '../ndarray/shape.js';
import { zeros } from './create.js';
import { stack } from './join.js';

export function unstack(x: NDArray, axis: number): NDArray[] {
  const ax = normalizeAxis(axis, x.rank, 'unstack');
  const count = x.shape[ax]!;
  const shape = x.shape.filter((_, i) => i !== ax);
  const strides = x.strides.filter((_, i) => i !== ax);
  const pieces = Array.from({ length: count }, (_, t) => x.view(shape, strides, x.offset + t * x.strides[ax]!));
  if (count > 0 && needsGrad([x])) {
    // Zeros for the pieces the loss does not depend on.
    recordOutputs(pieces, 'unstack', [x], [], (grads) => [stack(grads.map((g) => g ?? zeros(shape, { dtype: x.dtype, backend: x.backend })), ax)]);
  }
  return pieces;
}
