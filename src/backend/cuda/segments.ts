/**
 * Many contiguous arrays of one dtype gathered into (or scattered from) one staging buffer with a
 * single launch each way (kernels/cuda/segments.cu): NCCL reduces the staging buffer in one call,
 * and the host pays one table upload and two launches instead of a driver copy per array and way.
 */
import type { TensorRef } from '../backend.js';
import type { DataType } from '../../ndarray/dtype.js';
import type { Block } from './allocator.js';
import { cudaConfiguration } from './config.js';
import type { CudaDevice } from './device.js';
import { internSpec, type KernelSpec } from './kernel-library.js';
import { dtypeMacro, flatLaunch, ptrOf, sizeOfShape } from './tensor.js';

/** The launch grid's y extent walks the segments (blocks beyond it loop). */
const MAX_GRID_Y = 65535;

function spec(dtype: DataType): KernelSpec {
  return internSpec(['segments', 'copy', dtype], () => ({
    file: 'segments.cu',
    defines: { T_DT: dtypeMacro(dtype) },
    entry: 'copy_segments',
    // table, segments, staging, to_staging
    params: ['ptr', 'i32', 'ptr', 'i32'],
  }));
}

/** The segment table of arrays on the device, valid for copies queued before `release`. */
export interface SegmentTable {
  readonly dtype: DataType;
  /** Elements of all arrays together: the staging buffer's length. */
  readonly elements: number;
  readonly segments: number;
  readonly largest: number;
  readonly block: Block;
}

/** Uploads the (address, offset, count) table of contiguous arrays of one dtype, laid out in order. */
export function segmentTable(device: CudaDevice, arrays: readonly TensorRef[], op: string): SegmentTable {
  const dtype = arrays[0]?.dtype;
  if (dtype === undefined) throw new Error(`${op}: no arrays to stage`);
  const table = new BigInt64Array(3 * arrays.length);
  let elements = 0;
  let largest = 0;
  arrays.forEach((a, s) => {
    if (a.dtype !== dtype) throw new Error(`${op}: staged arrays must share one dtype, got ${a.dtype} after ${dtype}`);
    const n = sizeOfShape(a.shape);
    table[3 * s] = BigInt(ptrOf(a));
    table[3 * s + 1] = BigInt(elements);
    table[3 * s + 2] = BigInt(n);
    elements += n;
    largest = Math.max(largest, n);
  });
  const block = device.allocator.alloc(table.byteLength);
  device.upload(block.ptr, table);
  return { dtype, elements, segments: arrays.length, largest, block };
}

/** Queues the copy of every segment into (`in`) or out of (`out`) the staging buffer at `staging`. */
export function copySegments(device: CudaDevice, table: SegmentTable, staging: number, direction: 'in' | 'out', op: string): void {
  if (table.largest === 0) return;
  const { grid, block } = flatLaunch(table.largest, device);
  const gridY = Math.min(table.segments, MAX_GRID_Y, cudaConfiguration().maximumGridSize);
  device.kernels.get(spec(table.dtype), op).launch(grid, block, device.streamAddress, [table.block.ptr, table.segments, staging, direction === 'in' ? 1 : 0], op, 0, gridY);
}
