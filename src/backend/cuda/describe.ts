import type { TensorRef } from '../backend.js';
import { formatShape } from '../../ndarray/shape.js';

/** `name DTYPE[shape]`, how CUDA kernel launchers name an operand in their errors. */
export function describeRef(name: string, t: TensorRef): string {
  return `${name} ${t.dtype}${formatShape(t.shape)}`;
}

/** An axis in [-rank, rank) made non-negative, or an error naming the op and operand. */
export function checkAxis(op: string, axis: number, name: string, t: TensorRef): number {
  const rank = t.shape.length;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new Error(`${op}: axis ${axis} is out of range for ${describeRef(name, t)}`);
  return axis < 0 ? axis + rank : axis;
}
