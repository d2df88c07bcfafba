/**
 * Gradient normalization and clipping (DL4J's GradientNormalization), applied in place to one
 * layer's named gradients ({ W, b, ... }) before the updater runs. Norms stay on the device: the
 * conditional parts (zero norm, clip only above the threshold) are tensor ops, not JS branches.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { scope } from '../ndarray/scope.js';
import { noGrad } from '../autodiff/tape.js';
import { clip, sqrt, square } from '../ops/unary.js';
import { add, div, eq, maximum, where } from '../ops/binary.js';
import { sum } from '../ops/reduce.js';
import { describe } from '../ops/util.js';
import { isFloating } from '../ndarray/dtype.js';

export type GradientNormalization =
  | 'None'
  /** Divide every gradient of the layer by the layer's L2 norm (all its parameters together). */
  | 'RenormalizeL2PerLayer'
  /** Divide each parameter's gradient by its own L2 norm. */
  | 'RenormalizeL2PerParamType'
  /** Clip each element to [-threshold, threshold]. */
  | 'ClipElementWiseAbsoluteValue'
  /** Scale the layer's gradients by threshold / L2 when the layer's L2 norm exceeds threshold. */
  | 'ClipL2PerLayer'
  /** Scale each parameter's gradient by threshold / L2 when its L2 norm exceeds threshold. */
  | 'ClipL2PerParamType';

export const GRADIENT_NORMALIZATIONS: readonly GradientNormalization[] = [
  'None', 'RenormalizeL2PerLayer', 'RenormalizeL2PerParamType', 'ClipElementWiseAbsoluteValue', 'ClipL2PerLayer', 'ClipL2PerParamType',
];

/** DL4J's default gradientNormalizationThreshold. */
export const DEFAULT_GRADIENT_NORMALIZATION_THRESHOLD = 1.0;

/** The L2 norm over several arrays together, as a 0-d array. */
function l2(grads: readonly NDArray[]): NDArray {
  let total = sum(square(grads[0]!));
  for (const g of grads.slice(1)) total = add(total, sum(square(g)));
  return sqrt(total);
}

/** grads /= norm, with DL4J's 1e-5 in place of a zero norm (so all-zero gradients stay zero, not NaN). */
function renormalize(grads: readonly NDArray[]): void {
  const n = l2(grads);
  const safe = where(eq(n, 0), 1e-5, n);
  for (const g of grads) g.divi(safe);
}

/** grads *= threshold / max(norm, threshold): unchanged at or below the threshold. */
function clipL2(grads: readonly NDArray[], threshold: number): void {
  const scale = div(threshold, maximum(l2(grads), threshold));
  for (const g of grads) g.muli(scale);
}

/** Normalizes or clips a layer's gradients in place; threshold applies to the Clip* modes. */
export function applyGradientNormalization(
  mode: GradientNormalization,
  gradients: Readonly<Record<string, NDArray>>,
  threshold = DEFAULT_GRADIENT_NORMALIZATION_THRESHOLD,
): void {
  if (!GRADIENT_NORMALIZATIONS.includes(mode)) {
    throw new Error(`gradient normalization: unknown mode '${String(mode)}'; expected one of ${GRADIENT_NORMALIZATIONS.join(', ')}`);
  }
  if (mode.startsWith('Clip') && !(Number.isFinite(threshold) && threshold > 0)) {
    throw new Error(`gradient normalization '${mode}': threshold must be a positive number (got ${threshold})`);
  }
  const grads = Object.values(gradients);
  for (const [name, g] of Object.entries(gradients)) {
    if (!isFloating(g.dtype)) {
      throw new Error(`gradient normalization '${mode}': gradient '${name}' must be floating, got ${describe(g)}`);
    }
  }
  if (mode === 'None' || grads.length === 0) return;
  noGrad(() =>
    scope(() => {
      switch (mode) {
        case 'RenormalizeL2PerLayer':
          renormalize(grads);
          return;
        case 'RenormalizeL2PerParamType':
          for (const g of grads) renormalize([g]);
          return;
        case 'ClipElementWiseAbsoluteValue':
          for (const g of grads) g.assign(clip(g, -threshold, threshold));
          return;
        case 'ClipL2PerLayer':
          clipL2(grads, threshold);
          return;
        case 'ClipL2PerParamType':
          for (const g of grads) clipL2([g], threshold);
          return;
      }
    }),
  );
}
