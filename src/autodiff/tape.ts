import type { NDArray } from '../ndarray/ndarray.js';
import { SafetyNet, SafetyNetState, type SafetyNetMember } from '../ndarray/safety-net.js';

/** Gradients for each input given the output's gradient; null where an input needs none. */
export type BackwardFn = (grad: NDArray, saved: readonly NDArray[], needs: readonly boolean[]) => readonly (NDArray | null)[];

/** A value kept for the backward pass: its own handle on the storage, and the storage version it saw. */
interface Saved {
  readonly handle: NDArray;
  readonly version: number;
}

/** Closes a node's saved handles when the node becomes unreachable without a backward pass. */
const unreachableNodes = new SafetyNet<readonly NDArray[], GradNode>((handles) => {
  for (const h of handles) h.close();
});

/** One recorded operation in the graph that reverse-mode differentiation walks back. */
export class GradNode implements SafetyNetMember<readonly NDArray[]> {
  private savedValues: Saved[];
  private released = false;
  /** @internal Kept by the GC safety net. */
  safetyNetState = SafetyNetState.None;

  constructor(
    readonly op: string,
    readonly inputs: readonly NDArray[],
    readonly backwardFn: BackwardFn,
    saved: readonly NDArray[],
  ) {
    // Saved handles belong to the graph, not to the scope that ran the forward pass: backward may come
    // after it ends. One safety-net registration per node (not per value) keeps recording cheap.
    this.savedValues = saved.map((s) => ({ handle: s.ownedShare(), version: s.storageVersion }));
    if (this.savedValues.length > 0) unreachableNodes.add(this);
  }

  /** @internal The saved handles the safety net closes if this node becomes unreachable unreleased. */
  safetyNetHeld(): readonly NDArray[] | undefined {
    return this.released ? undefined : this.savedValues.map((v) => v.handle);
  }

  /** The saved values, after checking that no in-place op changed them since the forward pass. */
  savedForBackward(): NDArray[] {
    // Also for nodes that saved nothing (views), so a second pass without retainGraph is always refused.
    if (this.released) throw new Error(`backward through '${this.op}': its saved values were released (the graph was already used; pass retainGraph to backward twice)`);
    return this.savedValues.map((s) => {
      if (s.handle.storageVersion !== s.version) {
        throw new Error(`backward through '${this.op}': a value it saved was modified in place after the forward pass`);
      }
      return s.handle;
    });
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    unreachableNodes.remove(this);
    for (const s of this.savedValues) s.handle.close();
  }
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording operations for autograd (inference, parameter updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Whether an op on these inputs must be recorded. */
export function needsGrad(inputs: readonly NDArray[]): boolean {
  if (!gradEnabled) return false;
  for (const x of inputs) if (x.requiresGrad) return true;
  return false;
}

/** Records `out` as produced by `op` from `inputs`; `saved` are the values the gradient needs. */
export function record(out: NDArray, op: string, inputs: readonly NDArray[], saved: readonly NDArray[], backwardFn: BackwardFn): NDArray {
  out.gradNode = new GradNode(op, inputs, backwardFn, saved);
  out.requiresGrad = true;
  return out;
}
