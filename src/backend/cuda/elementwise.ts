import type { BinaryOp, TensorRef, UnaryOp } from '../backend.js';
import type { DataType } from '../../ndarray/dtype.js';
import type { CudaDevice } from './device.js';
import { internSpec, type KernelSpec } from './kernel-library.js';
import type { ParamKind } from './launch.js';
import { isContiguous } from '../../ndarray/shape.js';
import { coalesce, dtypeMacro, flatLaunch, kernelDesc, ptrOf, sizeOfShape } from './tensor.js';

const FILE = 'elementwise.cu';

const PARAMS: Record<string, readonly ParamKind[]> = {
  unary_contig: ['ptr', 'ptr', 'i64', 'f64', 'f64'],
  unary_strided: ['ptr', 'desc', 'ptr', 'desc', 'i64', 'f64', 'f64'],
  copy_strided: ['ptr', 'desc', 'ptr', 'desc', 'i64'],
  binary_contig: ['ptr', 'ptr', 'ptr', 'i64', 'f64', 'f64'],
  binary_strided: ['ptr', 'desc', 'ptr', 'desc', 'ptr', 'desc', 'i64', 'f64', 'f64'],
  where_strided: ['ptr', 'desc', 'ptr', 'desc', 'ptr', 'desc', 'ptr', 'desc', 'i64'],
};

const KIND: Record<string, string> = {
  unary_contig: 'KIND_UNARY', unary_strided: 'KIND_UNARY', copy_strided: 'KIND_COPY',
  binary_contig: 'KIND_BINARY', binary_strided: 'KIND_BINARY', where_strided: 'KIND_WHERE',
};

/** The kernel module of one (entry, op, types): one op = one kernel. */
function spec(entry: string, op: string, tin: DataType, tout: DataType): KernelSpec {
  return internSpec(['elementwise', entry, op, tin, tout], () => ({
    file: FILE,
    // The op's device function: u_<op> for unary kernels, b_<op> for binary ones.
    defines: { [KIND[entry]!]: '1', ...(op ? { OP: `${entry.startsWith('unary') ? 'u' : 'b'}_${op}` } : {}), TIN: dtypeMacro(tin), TOUT: dtypeMacro(tout) },
    entry,
    params: PARAMS[entry]!,
  }));
}

/** out = op(x) over any views; contiguous operands take the flat kernel. */
export function unary(device: CudaDevice, op: UnaryOp, x: TensorRef, out: TensorRef, alpha: number, beta: number): void {
  const n = sizeOfShape(out.shape);
  if (n === 0) return;
  const { grid, block } = flatLaunch(n, device);
  if (isContiguous(out.shape, x.strides) && isContiguous(out.shape, out.strides)) {
    device.kernels.get(spec('unary_contig', op, x.dtype, out.dtype), op)
      .launch(grid, block, device.streamAddress, [ptrOf(x), ptrOf(out), n, alpha, beta], op);
    return;
  }
  const { shape, strides } = coalesce(out.shape, [x.strides, out.strides]);
  if (op === 'identity' && x.dtype === out.dtype) {
    device.kernels.get(spec('copy_strided', '', x.dtype, x.dtype), op)
      .launch(grid, block, device.streamAddress, [ptrOf(x), kernelDesc(op, shape, strides[0]!), ptrOf(out), kernelDesc(op, shape, strides[1]!), n], op);
  } else {
    device.kernels.get(spec('unary_strided', op, x.dtype, out.dtype), op)
      .launch(grid, block, device.streamAddress, [ptrOf(x), kernelDesc(op, shape, strides[0]!), ptrOf(out), kernelDesc(op, shape, strides[1]!), n, alpha, beta], op);
  }
}

/** out = op(a, b); a and b arrive broadcast to out's shape (stride 0). */
export function binary(device: CudaDevice, op: BinaryOp, a: TensorRef, b: TensorRef, out: TensorRef, alpha: number, beta: number): void {
  const n = sizeOfShape(out.shape);
  if (n === 0) return;
  const { grid, block } = flatLaunch(n, device);
  if (isContiguous(out.shape, a.strides) && isContiguous(out.shape, b.strides) && isContiguous(out.shape, out.strides)) {
    device.kernels.get(spec('binary_contig', op, a.dtype, out.dtype), op)
      .launch(grid, block, device.streamAddress, [ptrOf(a), ptrOf(b), ptrOf(out), n, alpha, beta], op);
  } else {
    const { shape, strides } = coalesce(out.shape, [a.strides, b.strides, out.strides]);
    device.kernels.get(spec('binary_strided', op, a.dtype, out.dtype), op).launch(grid, block, device.streamAddress, [
      ptrOf(a), kernelDesc(op, shape, strides[0]!), ptrOf(b), kernelDesc(op, shape, strides[1]!), ptrOf(out), kernelDesc(op, shape, strides[2]!), n, alpha, beta,
    ], op);
  }
}

export function where(device: CudaDevice, cond: TensorRef, a: TensorRef, b: TensorRef, out: TensorRef): void {
  const n = sizeOfShape(out.shape);
  if (n === 0) return;
  const { shape, strides } = coalesce(out.shape, [cond.strides, a.strides, b.strides, out.strides]);
  const { grid, block } = flatLaunch(n, device);
  device.kernels.get(spec('where_strided', '', a.dtype, a.dtype), 'where').launch(grid, block, device.streamAddress, [
    ptrOf(cond), kernelDesc('where', shape, strides[0]!), ptrOf(a), kernelDesc('where', shape, strides[1]!),
    ptrOf(b), kernelDesc('where', shape, strides[2]!), ptrOf(out), kernelDesc('where', shape, strides[3]!), n,
  ], 'where');
}
