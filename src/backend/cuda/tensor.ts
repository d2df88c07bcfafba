import type { BackendBuffer, TensorRef } from '../backend.js';
import { type DataType, dtypeSize } from '../../ndarray/dtype.js';
import { formatShape } from '../../ndarray/shape.js';
import type { Block } from './allocator.js';
import { cudaConfiguration } from './config.js';
import type { CudaDevice } from './device.js';
import { MAX_KERNEL_RANK, type KernelDesc } from './launch.js';

/** Device memory behind an array: a block of the device's caching allocator. */
export class CudaBuffer implements BackendBuffer {
  constructor(
    readonly block: Block,
    readonly bytes: number,
    readonly device: CudaDevice,
  ) {}

  get ptr(): number {
    return this.block.ptr;
  }
}

/** The element type's name in kernels/cuda/common.cuh. */
export function dtypeMacro(d: DataType): string {
  return `DT_${d}`;
}

/** Device address of a view's first element. */
export function ptrOf(ref: TensorRef): number {
  return (ref.buffer as CudaBuffer).ptr + ref.offset * dtypeSize(ref.dtype);
}

export function sizeOfShape(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Merges adjacent axes that every operand walks contiguously with each other, and drops size-1
 * axes, so most views reach the kernels with rank 1 (the contiguous fast path) or 2.
 */
export function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, k) => st[k]![last] === s[i]! * shape[i]!)) {
      dims[last]! *= shape[i]!;
      strides.forEach((s, k) => (st[k]![last] = s[i]!));
    } else {
      dims.push(shape[i]!);
      strides.forEach((s, k) => st[k]!.push(s[i]!));
    }
  }
  return { shape: dims, strides: st };
}

export function isUnitStride(shape: readonly number[], strides: readonly number[]): boolean {
  return shape.length === 0 || (shape.length === 1 && strides[0] === 1);
}

/** A kernel descriptor, checking the rank limit of the kernels. */
export function kernelDesc(op: string, shape: readonly number[], strides: readonly number[]): KernelDesc {
  if (shape.length > MAX_KERNEL_RANK) {
    throw new Error(`${op}: a view of shape ${formatShape(shape)} keeps ${shape.length} axes after merging; the CUDA kernels take at most ${MAX_KERNEL_RANK} (make it contiguous with dup())`);
  }
  return { shape, strides };
}

/** Grid and block for a flat launch over n items, within the configured limits. */
export function flatLaunch(n: number, device: CudaDevice, preferredBlock = 256): { grid: number; block: number } {
  const c = cudaConfiguration();
  const block = Math.min(preferredBlock, c.maximumBlockSize);
  const grid = Math.max(1, Math.min(Math.ceil(n / block), c.maximumGridSize, device.multiprocessors * 32));
  return { grid, block };
}
