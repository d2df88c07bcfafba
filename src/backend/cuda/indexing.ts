import type { TensorRef } from '../backend.js';
import { type DataType, dtypeSize } from '../../ndarray/dtype.js';
import { formatShape, shapesEqual } from '../../ndarray/shape.js';
import type { CudaDevice } from './device.js';
import { checkAxis, describeRef } from './describe.js';
import { internSpec, type KernelSpec } from './kernel-library.js';
import type { ParamKind } from './launch.js';
import { coalesce, dtypeMacro, flatLaunch, kernelDesc, ptrOf, sizeOfShape } from './tensor.js';

const FILE = 'indexing.cu';

const PARAMS: Record<string, readonly ParamKind[]> = {
  // slot (set to ~0 before check_indices)
  reset_slot: ['ptr'],
  // indices, desc, n, bound, firstBad
  check_indices: ['ptr', 'desc', 'i64', 'i64', 'ptr'],
  // big (x / target), desc, gathered (out / updates), desc, indices, desc, axis stride, n
  gather_strided: ['ptr', 'desc', 'ptr', 'desc', 'ptr', 'desc', 'i64', 'i64'],
  scatter_add_strided: ['ptr', 'desc', 'ptr', 'desc', 'ptr', 'desc', 'i64', 'i64'],
};

/** Gather copies raw elements: one module per element size, whatever the type. */
const RAW_ELEM: Record<number, string> = { 1: 'unsigned char', 2: 'unsigned short', 4: 'unsigned int', 8: 'u64' };

const idxMacro = (d: DataType): string => (d === 'INT64' ? 'i64' : 'int');

function spec(entry: string, idx: DataType, defines: Record<string, string>): KernelSpec {
  return internSpec(['indexing', entry, idx, ...Object.values(defines)], () => ({ file: FILE, defines: { ...defines, IDX: idxMacro(idx) }, entry, params: PARAMS[entry]! }));
}

const ALL_ONES = 0xffffffffffffffffn;

/**
 * Throws, naming the first bad index (row-major position and value) and the bound, unless every
 * index lies in [0, bound), as the CPU backend does. Costs two small kernels (a 1-thread reset and
 * a pass over the indices), an 8-byte read back and so one stream synchronisation per call: the
 * error must be raised before anything is written (the CPU's contract), and JavaScript can only
 * learn of it by waiting for the GPU.
 */
function validateIndices(device: CudaDevice, op: string, idx: TensorRef, bound: number, bigName: string, big: TensorRef, axis: number): void {
  const n = sizeOfShape(idx.shape);
  if (n === 0) return;
  // Coalescing keeps the row-major order, so positions found in it are positions in idx.
  const { shape, strides } = coalesce(idx.shape, [idx.strides]);
  const result = new BigUint64Array(1);
  const slot = device.allocator.alloc(8);
  try {
    device.kernels.get(spec('reset_slot', idx.dtype, { KIND_CHECK: '1' }), op).launch(1, 1, device.streamAddress, [slot.ptr], op);
    const { grid, block } = flatLaunch(n, device);
    device.kernels.get(spec('check_indices', idx.dtype, { KIND_CHECK: '1' }), op)
      .launch(grid, block, device.streamAddress, [ptrOf(idx), kernelDesc(op, shape, strides[0]!), n, bound, slot.ptr], op);
    device.download(result, slot.ptr);
  } finally {
    device.allocator.free(slot);
  }
  if (result[0] === ALL_ONES) return;
  // The error path: locate the element and read its value (a second, tiny read).
  let pos = Number(result[0]);
  const coords = new Array<number>(idx.shape.length).fill(0);
  let offset = 0;
  for (let d = idx.shape.length - 1; d >= 0; d--) {
    coords[d] = pos % idx.shape[d]!;
    pos = Math.floor(pos / idx.shape[d]!);
    offset += coords[d]! * idx.strides[d]!;
  }
  const cell = idx.dtype === 'INT64' ? new BigInt64Array(1) : new Int32Array(1);
  device.download(cell, ptrOf(idx) + offset * dtypeSize(idx.dtype));
  const range = bound > 0 ? `(valid 0..${bound - 1})` : '(no valid index)';
  throw new Error(`${op}: indices[${coords.join(',')}] = ${cell[0]} is out of range: axis ${axis} of ${describeRef(bigName, big)} has size ${bound} ${range}`);
}

/** x.shape[:axis] + indices.shape + x.shape[axis+1:]. */
function gatheredShape(big: TensorRef, idx: TensorRef, axis: number): number[] {
  return [...big.shape.slice(0, axis), ...idx.shape, ...big.shape.slice(axis + 1)];
}

function checkIndexType(op: string, idx: TensorRef): void {
  if (idx.dtype !== 'INT32' && idx.dtype !== 'INT64') throw new Error(`${op}: ${describeRef('indices', idx)} must be INT32 or INT64`);
}

/**
 * The index space of gather/scatter (the gathered shape, coalesced) with the strides of the
 * indexed tensor (0 on the index dims), the gathered tensor, and the indices (0 elsewhere).
 */
function indexSpace(op: string, big: TensorRef, gathered: TensorRef, idx: TensorRef, axis: number) {
  const r = idx.shape.length;
  const zeros = (k: number): number[] => new Array<number>(k).fill(0);
  const bigStrides = [...big.strides.slice(0, axis), ...zeros(r), ...big.strides.slice(axis + 1)];
  const idxStrides = [...zeros(axis), ...idx.strides, ...zeros(big.shape.length - axis - 1)];
  const { shape, strides } = coalesce(gathered.shape, [bigStrides, gathered.strides, idxStrides]);
  return { big: kernelDesc(op, shape, strides[0]!), gathered: kernelDesc(op, shape, strides[1]!), idx: kernelDesc(op, shape, strides[2]!) };
}

/** out = x.take(indices, axis): out.shape = x.shape[:axis] + indices.shape + x.shape[axis+1:]. */
export function gather(device: CudaDevice, x: TensorRef, indices: TensorRef, out: TensorRef, axis: number): void {
  const op = 'gather';
  checkIndexType(op, indices);
  const ax = checkAxis(op, axis, 'x', x);
  if (out.dtype !== x.dtype) throw new Error(`${op}: ${describeRef('out', out)} must have the dtype of ${describeRef('x', x)}`);
  const expected = gatheredShape(x, indices, ax);
  if (!shapesEqual(out.shape, expected)) {
    throw new Error(`${op}: ${describeRef('out', out)} must have shape ${formatShape(expected)} = x.shape[:axis] + indices.shape + x.shape[axis+1:] (${describeRef('x', x)}, ${describeRef('indices', indices)}, axis ${ax})`);
  }
  validateIndices(device, op, indices, x.shape[ax]!, 'x', x, ax);
  const n = sizeOfShape(out.shape);
  if (n === 0) return;
  const d = indexSpace(op, x, out, indices, ax);
  const { grid, block } = flatLaunch(n, device);
  device.kernels.get(spec('gather_strided', indices.dtype, { KIND_GATHER: '1', ELEM: RAW_ELEM[dtypeSize(x.dtype)]! }), op)
    .launch(grid, block, device.streamAddress, [ptrOf(x), d.big, ptrOf(out), d.gathered, ptrOf(indices), d.idx, x.strides[ax]!, n], op);
}

/**
 * target[.., indices[j..], ..] += updates[.., j.., ..] (the adjoint of gather). Duplicate indices
 * accumulate through atomics (FLOAT/DOUBLE in a nondeterministic order, so float sums may differ
 * from the CPU's in the last bits; integer types are exact).
 */
export function scatterAdd(device: CudaDevice, target: TensorRef, indices: TensorRef, updates: TensorRef, axis: number): void {
  const op = 'scatterAdd';
  checkIndexType(op, indices);
  const ax = checkAxis(op, axis, 'target', target);
  if (updates.dtype !== target.dtype) throw new Error(`${op}: ${describeRef('updates', updates)} must have the dtype of ${describeRef('target', target)}`);
  const expected = gatheredShape(target, indices, ax);
  if (!shapesEqual(updates.shape, expected)) {
    throw new Error(`${op}: ${describeRef('updates', updates)} must have shape ${formatShape(expected)} = target.shape[:axis] + indices.shape + target.shape[axis+1:] (${describeRef('target', target)}, ${describeRef('indices', indices)}, axis ${ax})`);
  }
  validateIndices(device, op, indices, target.shape[ax]!, 'target', target, ax);
  const n = sizeOfShape(updates.shape);
  if (n === 0) return;
  const d = indexSpace(op, target, updates, indices, ax);
  const { grid, block } = flatLaunch(n, device);
  device.kernels.get(spec('scatter_add_strided', indices.dtype, { KIND_SCATTER: '1', T: dtypeMacro(target.dtype) }), op)
    .launch(grid, block, device.streamAddress, [ptrOf(target), d.big, ptrOf(updates), d.gathered, ptrOf(indices), d.idx, target.strides[ax]!, n], op);
}
