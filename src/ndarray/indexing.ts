import { formatShape } from './shape.js';

/** Index specifications for NDArray.get(), as ND4J's NDArrayIndex. */
type IndexObject =
  | { readonly kind: 'point'; readonly index: number }
  | { readonly kind: 'interval'; readonly from: number; readonly to: number | undefined; readonly step: number }
  | { readonly kind: 'all' }
  | { readonly kind: 'newAxis' };

/** A number is a point index. */
export type IndexSpec = number | IndexObject;

/** One position along an axis (the axis is dropped). Negative counts from the end. */
export const point = (index: number): IndexObject => ({ kind: 'point', index });
/** [from, to) with a positive step; `to` undefined means to the end. Negative bounds count from the end. */
export const interval = (from: number, to?: number, step = 1): IndexSpec => ({ kind: 'interval', from, to, step });
export const all = (): IndexSpec => ({ kind: 'all' });
export const newAxis = (): IndexSpec => ({ kind: 'newAxis' });

export interface ResolvedView {
  readonly shape: number[];
  readonly strides: number[];
  readonly offset: number;
}

/** Applies index specs to a view; missing trailing specs mean all(). */
export function resolveIndex(shape: readonly number[], strides: readonly number[], offset: number, specs: readonly IndexSpec[]): ResolvedView {
  const consumed = specs.filter((s) => typeof s === 'number' || s.kind !== 'newAxis').length;
  if (consumed > shape.length) {
    throw new Error(`get: ${consumed} indices given for an array of shape ${formatShape(shape)}`);
  }
  const outShape: number[] = [];
  const outStrides: number[] = [];
  let off = offset;
  let axis = 0;
  for (const raw of specs) {
    const spec: IndexObject = typeof raw === 'number' ? point(raw) : raw;
    if (spec.kind === 'newAxis') {
      outShape.push(1);
      outStrides.push(0);
      continue;
    }
    const dim = shape[axis]!;
    const stride = strides[axis]!;
    if (spec.kind === 'point') {
      const i = spec.index < 0 ? spec.index + dim : spec.index;
      if (!Number.isInteger(spec.index) || i < 0 || i >= dim) {
        throw new Error(`get: index ${spec.index} is out of bounds for axis ${axis} of size ${dim} (shape ${formatShape(shape)})`);
      }
      off += i * stride;
    } else if (spec.kind === 'interval') {
      if (!Number.isInteger(spec.step) || spec.step <= 0) throw new Error(`get: interval step must be a positive integer, got ${spec.step}`);
      const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
      if (!Number.isInteger(spec.from) || (spec.to !== undefined && !Number.isInteger(spec.to))) {
        throw new Error(`get: interval bounds must be integers, got [${spec.from}, ${spec.to})`);
      }
      const from = clamp(spec.from);
      const to = spec.to === undefined ? dim : clamp(spec.to);
      const n = to > from ? Math.ceil((to - from) / spec.step) : 0;
      outShape.push(n);
      outStrides.push(stride * spec.step);
      if (n > 0) off += from * stride;
    } else {
      outShape.push(dim);
      outStrides.push(stride);
    }
    axis++;
  }
  for (; axis < shape.length; axis++) {
    outShape.push(shape[axis]!);
    outStrides.push(strides[axis]!);
  }
  return { shape: outShape, strides: outStrides, offset: off };
}
