/**
 * Which operands an op's gradient reads, by role (x, y for the output, a, b): record() saves only
 * those. add, sum and the scalar ops read none (the shapes suffice), so a step keeps less memory
 * alive until backward and creates fewer saved handles.
 */
import type { NDArray } from '../ndarray/ndarray.js';

export type SavedValues<K extends string> = Readonly<Record<K, NDArray>>;

/** The operands named in `reads`, in that order: what record() saves. */
export function pickSaved<K extends string>(reads: readonly K[], operands: SavedValues<K>): NDArray[] {
  return reads.map((k) => operands[k]);
}

/** Backward's view of the saved values by role (only the roles in `reads` are present). */
export function savedByRole<K extends string>(reads: readonly K[], saved: readonly NDArray[]): SavedValues<K> {
  const values: Partial<Record<K, NDArray>> = {};
  reads.forEach((k, i) => (values[k] = saved[i]));
  return values as SavedValues<K>;
}
