/**
 * Fused optimizer steps (Backend.adamStep): the updaters call them when the arrays allow, so a
 * parameter's update streams it through memory once instead of once per elementwise op.
 */
import type { AdamStepParams } from '../backend/backend.js';
import { isGradEnabled } from '../autodiff/tape.js';
import type { NDArray } from '../ndarray/ndarray.js';
import { commonBackend, describe } from './util.js';

/**
 * Whether adamStep takes these arrays: one float dtype the kernels compute in (FLOAT or DOUBLE), one
 * shape, contiguous, one backend, and four separate storages. Otherwise the caller runs the rule as
 * separate ops.
 */
export function adamStepApplies(p: NDArray, g: NDArray, m: NDArray, v: NDArray): boolean {
  if (p.dtype !== 'FLOAT' && p.dtype !== 'DOUBLE') return false;
  const all = [p, g, m, v];
  for (const a of all) {
    if (a.dtype !== p.dtype || a.backend !== p.backend || !a.isContiguous) return false;
    if (a.shape.length !== p.shape.length || a.shape.some((d, k) => d !== p.shape[k])) return false;
  }
  return new Set(all.map((a) => a.buffer)).size === all.length;
}

/**
 * One Adam step in place, not recorded for autograd: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * p = decay p - alpha (m / (sqrt(v) + epsilon)). The arrays must satisfy adamStepApplies.
 */
export function adamStep(p: NDArray, g: NDArray, m: NDArray, v: NDArray, h: AdamStepParams): void {
  const op = 'adamStep';
  if (p.requiresGrad && isGradEnabled()) throw new Error(`${op}: ${describe(p)} requires grad; update it inside noGrad`);
  if (!adamStepApplies(p, g, m, v)) {
    throw new Error(`${op}: expected four separate contiguous FLOAT or DOUBLE arrays of one shape, dtype and backend; got p ${describe(p)}, g ${describe(g)}, m ${describe(m)}, v ${describe(v)}`);
  }
  for (const [name, x] of Object.entries(h)) {
    if (typeof x !== 'number' || Number.isNaN(x)) throw new Error(`${op}: ${name} must be a number (got ${String(x)})`);
  }
  commonBackend(op, [p, g, m, v]).adamStep(p, g, m, v, h);
  // Graphs that saved these values detect the write by the version.
  p.bumpVersion();
  m.bumpVersion();
  v.bumpVersion();
}
