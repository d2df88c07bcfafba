import type { Conv2dGeometry, PoolOp, TensorRef } from '../backend.js';
import { type DataType, dtypeSize, isFloating } from '../../ndarray/dtype.js';
import { formatShape, shapesEqual } from '../../ndarray/shape.js';
import type { CudaDevice } from './device.js';
import { describeRef } from './describe.js';
import { internSpec, type KernelSpec } from './kernel-library.js';
import type { ParamKind } from './launch.js';
import { dtypeMacro, flatLaunch, kernelDesc, ptrOf, sizeOfShape } from './tensor.js';

const FILE = 'conv.cu';
const GEOM: readonly ParamKind[] = ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']; // kh..dw, oh, ow

const PARAMS: Record<string, readonly ParamKind[]> = {
  im2col: ['ptr', 'desc', 'ptr', 'desc', ...GEOM, 'i64'],
  col2im: ['ptr', 'desc', 'ptr', 'desc', ...GEOM, 'i64'],
  pool2d: ['ptr', 'desc', 'ptr', 'desc', ...GEOM, 'i32', 'i64'],
  pool2d_argmax: ['ptr', 'desc', 'ptr', ...GEOM, 'i64'],
  pool2d_grad_max: ['ptr', 'ptr', 'desc', 'ptr', 'desc', ...GEOM, 'i64'],
  pool2d_grad_avg: ['ptr', 'desc', 'ptr', 'desc', ...GEOM, 'i32', 'i64'],
};

/** im2col copies raw elements: one module per element size, whatever the type. */
const RAW_ELEM: Record<number, string> = { 1: 'unsigned char', 2: 'unsigned short', 4: 'unsigned int', 8: 'u64' };

function spec(entry: string, defines: Record<string, string>): KernelSpec {
  return internSpec(['conv', entry, Object.entries(defines).join(',')], () => ({ file: FILE, defines, entry, params: PARAMS[entry]! }));
}

const poolDefines = (op: PoolOp, dtype: DataType): Record<string, string> =>
  ({ KIND_POOL: '1', T: dtypeMacro(dtype), [op === 'max' ? 'POOL_MAX' : 'POOL_AVG']: '1' });

/** Window coordinates in the kernels are int: every extent they combine must stay below 2^31. */
const INT_LIMIT = 2 ** 31 - 1;

interface Plan {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly oh: number;
  readonly ow: number;
  /** kh, kw, sh, sw, ph, pw, dh, dw, oh, ow: the kernels' geometry parameters. */
  readonly geom: readonly number[];
}

function describeWindow(g: Conv2dGeometry): string {
  return `kernel ${g.kh}x${g.kw}, stride ${g.sh}x${g.sw}, padding ${g.ph}x${g.pw}, dilation ${g.dh}x${g.dw}`;
}

/** Checks x [N,C,H,W] and the window (ranges as the CPU's parseWindow), and computes oh, ow. */
function plan(op: string, x: TensorRef, g: Conv2dGeometry): Plan {
  if (x.shape.length !== 4) throw new Error(`${op}: ${describeRef('x', x)} must be [N,C,H,W]`);
  const names = ['kh', 'kw', 'sh', 'sw', 'ph', 'pw', 'dh', 'dw'] as const;
  for (const k of names) {
    const lo = k === 'ph' || k === 'pw' ? 0 : 1;
    const v = g[k];
    if (!Number.isInteger(v) || v < lo || v > 2 ** 30) throw new Error(`${op}: '${k}' is ${v}, expected ${lo}..${2 ** 30}`);
  }
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const extent = (axis: string, size: number, k: number, s: number, p: number, d: number): number => {
    const num = size + 2 * p - d * (k - 1) - 1;
    if (num < 0) {
      throw new Error(`${op}: the dilated kernel (${d * (k - 1) + 1}) exceeds the padded ${axis} extent (${size + 2 * p}) of ${describeRef('x', x)} with ${describeWindow(g)}`);
    }
    return Math.floor(num / s) + 1;
  };
  const oh = extent('height', H, g.kh, g.sh, g.ph, g.dh);
  const ow = extent('width', W, g.kw, g.sw, g.pw, g.dw);
  const limits: [string, number][] = [
    ['H + 2*ph', H + 2 * g.ph], ['W + 2*pw', W + 2 * g.pw], ['H*W', H * W], ['C*kh*kw', C * g.kh * g.kw], ['kh*kw', g.kh * g.kw], ['oh*ow', oh * ow],
  ];
  for (const [what, v] of limits) {
    if (v > INT_LIMIT) throw new Error(`${op}: ${what} = ${v} is too large for the CUDA kernels (at most ${INT_LIMIT}); ${describeRef('x', x)} with ${describeWindow(g)}`);
  }
  return { N, C, H, W, oh, ow, geom: [g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, oh, ow] };
}

function requireFloatingImage(op: string, x: TensorRef): void {
  if (!isFloating(x.dtype)) throw new Error(`${op}: ${describeRef('x', x)} must be DOUBLE, FLOAT, HALF or BFLOAT16`);
}

function requireSameDtype(op: string, name: string, t: TensorRef, x: TensorRef): void {
  if (t.dtype !== x.dtype) throw new Error(`${op}: ${describeRef(name, t)} and ${describeRef('x', x)} differ in dtype`);
}

function requireShape(op: string, name: string, t: TensorRef, expected: readonly number[], what: string, x: TensorRef, g: Conv2dGeometry): void {
  if (!shapesEqual(t.shape, expected)) {
    throw new Error(`${op}: ${describeRef(name, t)} must be ${formatShape(expected)} = ${what} for ${describeRef('x', x)} with ${describeWindow(g)}`);
  }
}

/** Outputs are written once per element: a broadcast (stride 0) output axis would be written by several threads. */
function requireNoBroadcast(op: string, name: string, t: TensorRef): void {
  if (t.shape.some((d, i) => d > 1 && t.strides[i] === 0)) throw new Error(`${op}: ${describeRef(name, t)} must not be broadcast (stride 0)`);
}

/** Window taps [lo, hi) of output position o inside [0, size) (pool.cc's windowTaps). */
function windowTaps(o: number, size: number, s: number, p: number, d: number, k: number): [number, number] {
  const start = o * s - p;
  const lo = start >= 0 ? 0 : Math.floor((-start + d - 1) / d);
  const hi = start > size - 1 ? 0 : Math.min(k, Math.floor((size - 1 - start) / d) + 1);
  return [lo, Math.max(lo, hi)];
}

/** Every pooling window must hold an in-bounds element (as the CPU checks). */
function requireNonEmptyWindows(op: string, p: Plan, x: TensorRef, g: Conv2dGeometry): void {
  for (let o = 0; o < p.oh; o++) {
    const [lo, hi] = windowTaps(o, p.H, g.sh, g.ph, g.dh, g.kh);
    if (lo >= hi) throw new Error(`${op}: the window of output row ${o} lies entirely in the padding (${describeRef('x', x)}, ${describeWindow(g)})`);
  }
  for (let o = 0; o < p.ow; o++) {
    const [lo, hi] = windowTaps(o, p.W, g.sw, g.pw, g.dw, g.kw);
    if (lo >= hi) throw new Error(`${op}: the window of output column ${o} lies entirely in the padding (${describeRef('x', x)}, ${describeWindow(g)})`);
  }
}

function requirePoolOp(op: string, pool: PoolOp): void {
  if (pool !== 'max' && pool !== 'avg') throw new Error(`${op}: unknown op '${pool}', expected max or avg`);
}

/** cols [N, C*kh*kw, oh*ow] from x [N,C,H,W] (any dtype; zeros outside the image). */
export function im2col(device: CudaDevice, x: TensorRef, cols: TensorRef, g: Conv2dGeometry): void {
  const op = 'im2col';
  const p = plan(op, x, g);
  requireSameDtype(op, 'cols', cols, x);
  requireShape(op, 'cols', cols, [p.N, p.C * g.kh * g.kw, p.oh * p.ow], '[N, C*kh*kw, oh*ow]', x, g);
  requireNoBroadcast(op, 'cols', cols);
  const n = sizeOfShape(cols.shape);
  if (n === 0) return;
  const { grid, block } = flatLaunch(n, device);
  device.kernels.get(spec('im2col', { KIND_IM2COL: '1', ELEM: RAW_ELEM[dtypeSize(x.dtype)]! }), op).launch(grid, block, device.streamAddress, [
    ptrOf(x), kernelDesc(op, x.shape, x.strides), ptrOf(cols), kernelDesc(op, cols.shape, cols.strides), ...p.geom, n,
  ], op);
}

/** x = the sum of the columns back onto the image (overwrites x; the adjoint of im2col). */
export function col2im(device: CudaDevice, cols: TensorRef, x: TensorRef, g: Conv2dGeometry): void {
  const op = 'col2im';
  const p = plan(op, x, g);
  requireSameDtype(op, 'cols', cols, x);
  requireFloatingImage(op, x);
  requireShape(op, 'cols', cols, [p.N, p.C * g.kh * g.kw, p.oh * p.ow], '[N, C*kh*kw, oh*ow]', x, g);
  requireNoBroadcast(op, 'x', x);
  const n = sizeOfShape(x.shape);
  if (n === 0) return;
  const { grid, block } = flatLaunch(n, device);
  device.kernels.get(spec('col2im', { KIND_COL2IM: '1', T: dtypeMacro(x.dtype) }), op).launch(grid, block, device.streamAddress, [
    ptrOf(cols), kernelDesc(op, cols.shape, cols.strides), ptrOf(x), kernelDesc(op, x.shape, x.strides), ...p.geom, n,
  ], op);
}

function poolPlan(op: string, pool: PoolOp, x: TensorRef, y: TensorRef, yName: string, g: Conv2dGeometry): Plan {
  requirePoolOp(op, pool);
  const p = plan(op, x, g);
  requireFloatingImage(op, x);
  requireSameDtype(op, yName, y, x);
  requireShape(op, yName, y, [p.N, p.C, p.oh, p.ow], '[N, C, oh, ow]', x, g);
  if (p.N * p.C > 0) requireNonEmptyWindows(op, p, x, g);
  return p;
}

/** out [N,C,oh,ow] = the max (first max; NaN wins) or mean of each window of x. */
export function pool2d(device: CudaDevice, pool: PoolOp, x: TensorRef, out: TensorRef, g: Conv2dGeometry, countIncludePad: boolean): void {
  const op = 'pool2d';
  const p = poolPlan(op, pool, x, out, 'out', g);
  requireNoBroadcast(op, 'out', out);
  const n = sizeOfShape(out.shape);
  if (n === 0) return;
  const { grid, block } = flatLaunch(n, device);
  device.kernels.get(spec('pool2d', poolDefines(pool, x.dtype)), op).launch(grid, block, device.streamAddress, [
    ptrOf(x), kernelDesc(op, x.shape, x.strides), ptrOf(out), kernelDesc(op, out.shape, out.strides), ...p.geom, countIncludePad ? 1 : 0, n,
  ], op);
}

/**
 * gradIn (overwritten) = the gradient of pool2d for upstream gradOut. Each input pixel sums, in
 * the CPU's order, the windows that route gradient to it, so no atomics are needed. For max, a
 * first kernel stores each window's max tap (int32 scratch of N*C*oh*ow) for the second to compare.
 */
export function pool2dGrad(device: CudaDevice, pool: PoolOp, x: TensorRef, gradOut: TensorRef, gradIn: TensorRef, g: Conv2dGeometry, countIncludePad: boolean): void {
  const op = 'pool2dGrad';
  const p = poolPlan(op, pool, x, gradOut, 'gradOut', g);
  if (gradIn.dtype !== x.dtype || !shapesEqual(gradIn.shape, x.shape)) {
    throw new Error(`${op}: ${describeRef('gradIn', gradIn)} must match ${describeRef('x', x)} in shape and dtype`);
  }
  requireNoBroadcast(op, 'gradIn', gradIn);
  const n = sizeOfShape(gradIn.shape);
  if (n === 0) return;
  const gd = kernelDesc(op, gradOut.shape, gradOut.strides);
  const id = kernelDesc(op, gradIn.shape, gradIn.strides);
  const { grid, block } = flatLaunch(n, device);
  if (pool === 'avg') {
    device.kernels.get(spec('pool2d_grad_avg', poolDefines(pool, x.dtype)), op)
      .launch(grid, block, device.streamAddress, [ptrOf(gradOut), gd, ptrOf(gradIn), id, ...p.geom, countIncludePad ? 1 : 0, n], op);
    return;
  }
  const windows = p.N * p.C * p.oh * p.ow;
  const arg = device.allocator.alloc(windows * 4);
  try {
    const a = flatLaunch(windows, device);
    device.kernels.get(spec('pool2d_argmax', poolDefines(pool, x.dtype)), op)
      .launch(a.grid, a.block, device.streamAddress, [ptrOf(x), kernelDesc(op, x.shape, x.strides), arg.ptr, ...p.geom, windows], op);
    device.kernels.get(spec('pool2d_grad_max', poolDefines(pool, x.dtype)), op)
      .launch(grid, block, device.streamAddress, [arg.ptr, ptrOf(gradOut), gd, ptrOf(gradIn), id, ...p.geom, n], op);
  } finally {
    // Stream-ordered: whoever reuses this memory queues behind the kernels above.
    device.allocator.free(arg);
  }
}
