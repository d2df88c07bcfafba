import type { NDArray } from '../ndarray/ndarray.js';
import { keep, scope } from '../ndarray/scope.js';
import { formatShape } from '../ndarray/shape.js';
import { add } from '../ops/binary.js';
import { full } from '../ops/create.js';
import { noGrad, type GradNode } from './tape.js';

/** The nodes reachable from `root`, ordered so that each comes after every node that consumes it. */
function topologicalOrder(root: NDArray): NDArray[] {
  const order: NDArray[] = [];
  const visited = new Set<NDArray>();
  const stack: [NDArray, boolean][] = [[root, false]];
  while (stack.length) {
    const [x, expanded] = stack.pop()!;
    if (expanded) {
      order.push(x);
      continue;
    }
    if (visited.has(x)) continue;
    visited.add(x);
    stack.push([x, true]);
    for (const input of x.gradNode?.inputs ?? []) if (input.requiresGrad && !visited.has(input)) stack.push([input, false]);
  }
  return order.reverse();
}

/**
 * Reverse-mode differentiation from `root`: accumulates d(root)/d(leaf) into `leaf.grad` for every
 * leaf that requires grad. `grad` seeds the output gradient (needed when root is not a scalar).
 * The graph's saved values are released afterwards unless retainGraph is set.
 */
export function backward(root: NDArray, grad?: NDArray, options: { retainGraph?: boolean } = {}): void {
  if (!root.requiresGrad) throw new Error('backward: the array does not require grad (no input was marked with requireGrad())');
  if (!grad && root.size !== 1) throw new Error(`backward: the output has shape ${formatShape(root.shape)}; pass its gradient for a non-scalar output`);
  if (grad && (grad.rank !== root.rank || grad.shape.some((d, i) => d !== root.shape[i]))) {
    throw new Error(`backward: the seed gradient's shape ${formatShape(grad.shape)} differs from the output's ${formatShape(root.shape)}`);
  }
  const order = topologicalOrder(root);
  const nodes: GradNode[] = [];
  noGrad(() =>
    scope(() => {
      const grads = new Map<NDArray, NDArray>();
      const handed = new Set<NDArray>();
      grads.set(root, grad ?? full(root.shape, 1, { dtype: root.dtype, backend: root.backend }));
      for (const x of order) {
        const g = grads.get(x);
        if (!g) continue;
        const node = x.gradNode;
        if (!node) {
          // A leaf gets its own handle; the same gradient array reaching two leaves is copied for the second.
          const own = g === grad || handed.has(g) || !g.isContiguous ? g.dup() : g.share();
          handed.add(g);
          if (x.grad) {
            const sum = keep(add(x.grad, own));
            x.grad.close();
            own.close();
            x.grad = sum;
          } else {
            x.grad = keep(own);
          }
          continue;
        }
        nodes.push(node);
        const needs = node.inputs.map((i) => i.requiresGrad);
        const inputGrads = node.backwardFn(g, node.savedForBackward(), needs);
        node.inputs.forEach((input, i) => {
          const gi = inputGrads[i];
          if (!needs[i] || !gi) return;
          const prev = grads.get(input);
          grads.set(input, prev ? add(prev, gi) : gi);
        });
        grads.delete(x);
      }
    }),
  );
  if (!options.retainGraph) for (const node of nodes) node.release();
}
