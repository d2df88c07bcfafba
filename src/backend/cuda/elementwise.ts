import type { BinaryOp, TensorRef, UnaryOp } from '../backend.js';
import type { CudaDevice } from './device.js';
import { coalesce, dtypeMacro, flatLaunch, isUnitStride, kernelDesc, ptrOf, sizeOfShape } from './tensor.js';

const FILE = 'elementwise.cu';

/** out = op(x) over any views; contiguous operands take the flat kernel. */
export function unary(device: CudaDevice, op: UnaryOp, x: TensorRef, out: TensorRef, alpha: number, beta: number): void {
  const n = sizeOfShape(out.shape);
  if (n === 0) return;
  const { shape, strides } = coalesce(out.shape, [x.strides, out.strides]);
  const { grid, block } = flatLaunch(n, device);
  if (op === 'identity' && x.dtype === out.dtype && !(isUnitStride(shape, strides[0]!) && isUnitStride(shape, strides[1]!))) {
    const k = device.kernels.get({ file: FILE, defines: { KIND_COPY: '1', TIN: dtypeMacro(x.dtype), TOUT: dtypeMacro(x.dtype) }, entry: 'copy_strided', params: ['ptr', 'desc', 'ptr', 'desc', 'i64'] }, op);
    k.launch(grid, block, device.stream, [ptrOf(x), kernelDesc(op, shape, strides[0]!), ptrOf(out), kernelDesc(op, shape, strides[1]!), n], op);
    return;
  }
  const defines = { KIND_UNARY: '1', OP: `u_${op}`, TIN: dtypeMacro(x.dtype), TOUT: dtypeMacro(out.dtype) };
  if (isUnitStride(shape, strides[0]!) && isUnitStride(shape, strides[1]!)) {
    const k = device.kernels.get({ file: FILE, defines, entry: 'unary_contig', params: ['ptr', 'ptr', 'i64', 'f64', 'f64'] }, op);
    k.launch(grid, block, device.stream, [ptrOf(x), ptrOf(out), n, alpha, beta], op);
  } else {
    const k = device.kernels.get({ file: FILE, defines, entry: 'unary_strided', params: ['ptr', 'desc', 'ptr', 'desc', 'i64', 'f64', 'f64'] }, op);
    k.launch(grid, block, device.stream, [ptrOf(x), kernelDesc(op, shape, strides[0]!), ptrOf(out), kernelDesc(op, shape, strides[1]!), n, alpha, beta], op);
  }
}

/** out = op(a, b); a and b arrive broadcast to out's shape (stride 0). */
export function binary(device: CudaDevice, op: BinaryOp, a: TensorRef, b: TensorRef, out: TensorRef, alpha: number, beta: number): void {
  const n = sizeOfShape(out.shape);
  if (n === 0) return;
  const { shape, strides } = coalesce(out.shape, [a.strides, b.strides, out.strides]);
  const { grid, block } = flatLaunch(n, device);
  const defines = { KIND_BINARY: '1', OP: `b_${op}`, TIN: dtypeMacro(a.dtype), TOUT: dtypeMacro(out.dtype) };
  if (strides.every((s) => isUnitStride(shape, s))) {
    const k = device.kernels.get({ file: FILE, defines, entry: 'binary_contig', params: ['ptr', 'ptr', 'ptr', 'i64', 'f64', 'f64'] }, op);
    k.launch(grid, block, device.stream, [ptrOf(a), ptrOf(b), ptrOf(out), n, alpha, beta], op);
  } else {
    const k = device.kernels.get({ file: FILE, defines, entry: 'binary_strided', params: ['ptr', 'desc', 'ptr', 'desc', 'ptr', 'desc', 'i64', 'f64', 'f64'] }, op);
    k.launch(grid, block, device.stream, [ptrOf(a), kernelDesc(op, shape, strides[0]!), ptrOf(b), kernelDesc(op, shape, strides[1]!), ptrOf(out), kernelDesc(op, shape, strides[2]!), n, alpha, beta], op);
  }
}

export function where(device: CudaDevice, cond: TensorRef, a: TensorRef, b: TensorRef, out: TensorRef): void {
  const n = sizeOfShape(out.shape);
  if (n === 0) return;
  const { shape, strides } = coalesce(out.shape, [cond.strides, a.strides, b.strides, out.strides]);
  const { grid, block } = flatLaunch(n, device);
  const k = device.kernels.get({ file: FILE, defines: { KIND_WHERE: '1', TIN: dtypeMacro(a.dtype), TOUT: dtypeMacro(a.dtype) }, entry: 'where_strided', params: ['ptr', 'desc', 'ptr', 'desc', 'ptr', 'desc', 'ptr', 'desc', 'i64'] }, 'where');
  k.launch(grid, block, device.stream, [ptrOf(cond), kernelDesc('where', shape, strides[0]!), ptrOf(a), kernelDesc('where', shape, strides[1]!), ptrOf(b), kernelDesc('where', shape, strides[2]!), ptrOf(out), kernelDesc('where', shape, strides[3]!), n], 'where');
}
