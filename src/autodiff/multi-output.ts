/**
 * Ops with several outputs on the single-output tape. A hidden anchor node holds the op's inputs,
 * saved values and backward; each output's own node stashes the gradient it receives and hands the
 * anchor one zero-size placeholder, so that the anchor is reached, after every output the loss
 * reaches (they consume it), and its backward runs once with all their gradients.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { add } from '../ops/binary.js';
import { record } from './tape.js';

/** Gradients for each input given each output's gradient (null for outputs the loss does not reach). */
export type MultiBackwardFn = (grads: readonly (NDArray | null)[], saved: readonly NDArray[], needs: readonly boolean[]) => readonly (NDArray | null)[];

/** Records `outputs` (at least one) as produced together by `op` from `inputs`; `saved` are the values the gradient needs. */
export function recordOutputs(outputs: readonly NDArray[], op: string, inputs: readonly NDArray[], saved: readonly NDArray[], backwardFn: MultiBackwardFn): void {
  const first = outputs[0];
  if (!first) throw new Error(`recordOutputs: '${op}' has no outputs to record`);
  const stash = new Array<NDArray | null>(outputs.length).fill(null);
  let placeholderGiven = false;
  // The anchor's value is never read: a zero-size handle is enough to carry the node.
  const anchor = first.view([0], [1], first.offset);
  record(anchor, op, inputs, saved, (_placeholder, values, needs) => {
    const grads = stash.slice();
    stash.fill(null);
    placeholderGiven = false;
    return backwardFn(grads, values, needs);
  });
  outputs.forEach((out, i) => {
    record(out, `${op}.output${i}`, [anchor], [], (g) => {
      const prev = stash[i];
      stash[i] = prev ? add(prev, g) : g;
      if (placeholderGiven) return [null];
      placeholderGiven = true;
      return [g.view([0], [1], g.offset)];
    });
  });
}
