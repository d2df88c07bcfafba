import type { Backend, TensorRef } from '../backend/backend.js';
import { getBackend } from '../backend/registry.js';
import { type DataType, defaultFloatType, isFloating } from '../ndarray/dtype.js';
import { NDArray } from '../ndarray/ndarray.js';
import { broadcastStrides, formatShape, shapesEqual, type Shape } from '../ndarray/shape.js';

/** "FLOAT[2, 3]" for error messages. */
export function describe(x: NDArray): string {
  return `${x.dtype}${formatShape(x.shape)}`;
}

/** The backend shared by all operands, or an error naming the op when they differ. */
export function commonBackend(op: string, arrays: readonly NDArray[]): Backend {
  const first = arrays[0];
  if (!first) return getBackend();
  const b = first.backend;
  for (const x of arrays) {
    if (x.backend !== b) {
      throw new Error(`${op}: operands are on different backends (${arrays.map((a) => `${describe(a)} on ${a.backend.name}`).join(', ')}); move them with toBackend()`);
    }
  }
  return b;
}

/** A kernel's view of `x` broadcast to `shape` (stride 0 on the broadcast axes). */
export function broadcastRef(x: NDArray, shape: Shape): TensorRef {
  if (shapesEqual(x.shape, shape)) return x;
  return { buffer: x.buffer, dtype: x.dtype, offset: x.offset, shape, strides: broadcastStrides(x.shape, x.strides, shape) };
}

/** A kernel's view of `x` with another shape of the same size laid out contiguously (x must be contiguous). */
export function reshapedRef(x: NDArray, shape: Shape, strides: readonly number[]): TensorRef {
  return { buffer: x.buffer, dtype: x.dtype, offset: x.offset, shape, strides };
}

/** A zero-filled array on x's backend. */
export function emptyLike(x: NDArray, shape: Shape = x.shape, dtype: DataType = x.dtype): NDArray {
  return NDArray.empty(shape, dtype, x.backend);
}

/** An array on x's backend for a kernel to overwrite entirely (not zero-filled). */
export function outputLike(x: NDArray, shape: Shape = x.shape, dtype: DataType = x.dtype): NDArray {
  return NDArray.uninitialized(shape, dtype, x.backend);
}

/** The floating type math on `x` is computed in (integers promote to the default float type). */
export function floatTypeOf(x: NDArray): DataType {
  return isFloating(x.dtype) ? x.dtype : defaultFloatType();
}

export function requireFloating(op: string, x: NDArray): void {
  if (!isFloating(x.dtype)) throw new Error(`${op}: expected a floating array (DOUBLE, FLOAT, HALF, BFLOAT16), got ${describe(x)}`);
}

export function checkOpen(op: string, x: NDArray): void {
  if (x.closed) throw new Error(`${op}: an operand was closed (its storage was released)`);
}
