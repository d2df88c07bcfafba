import type { ReduceOp, TensorRef } from '../backend.js';
import { type DataType, isFloating } from '../../ndarray/dtype.js';
import { formatShape } from '../../ndarray/shape.js';
import { cudaConfiguration } from './config.js';
import { checkAxis, describeRef } from './describe.js';
import type { CudaDevice } from './device.js';
import { unary } from './elementwise.js';
import { internSpec, type KernelSpec } from './kernel-library.js';
import type { ParamKind } from './launch.js';
import { type LaunchLimits, planReduceLaunch, planRowLaunch, reduceLayout, rowLayout, warpLaunch } from './reduce-plan.js';
import { dtypeMacro, kernelDesc, ptrOf, sizeOfShape } from './tensor.js';

/** Bytes per partial state in the split-TAD scratch buffer (kernels/cuda/reduce.cu checks its states fit). */
const PART_BYTES = 32;

const REDUCE_PARAMS: Record<string, readonly ParamKind[]> = {
  // x, kept (x strides), reduced (x strides), out, kept (out strides), [parts], numOut, L, ddof, [bx]
  reduce_rows_warp: ['ptr', 'desc', 'desc', 'ptr', 'desc', 'i64', 'i64', 'f64'],
  reduce_rows_block: ['ptr', 'desc', 'desc', 'ptr', 'desc', 'ptr', 'i64', 'i64', 'f64'],
  reduce_cols: ['ptr', 'desc', 'desc', 'ptr', 'desc', 'ptr', 'i64', 'i64', 'f64', 'i32'],
  // parts, parts per output, out, kept (out strides), numOut, L, ddof
  reduce_finish: ['ptr', 'i64', 'ptr', 'desc', 'i64', 'i64', 'f64'],
};

const SOFTMAX_PARAMS: Record<string, readonly ParamKind[]> = {
  // x, outer (x strides), row stride, out, outer (out strides), row stride, rows, n, log, [bx: rows per block]
  softmax_warp: ['ptr', 'desc', 'i64', 'ptr', 'desc', 'i64', 'i64', 'i64', 'i32'],
  softmax_block: ['ptr', 'desc', 'i64', 'ptr', 'desc', 'i64', 'i64', 'i64', 'i32'],
  softmax_cols: ['ptr', 'desc', 'i64', 'ptr', 'desc', 'i64', 'i64', 'i64', 'i32', 'i32'],
  // y, g, out (pointer, outer strides, row stride each), rows, n, log, [bx]
  softmax_grad_warp: ['ptr', 'desc', 'i64', 'ptr', 'desc', 'i64', 'ptr', 'desc', 'i64', 'i64', 'i64', 'i32'],
  softmax_grad_block: ['ptr', 'desc', 'i64', 'ptr', 'desc', 'i64', 'ptr', 'desc', 'i64', 'i64', 'i64', 'i32'],
  softmax_grad_cols: ['ptr', 'desc', 'i64', 'ptr', 'desc', 'i64', 'ptr', 'desc', 'i64', 'i64', 'i64', 'i32', 'i32'],
};

const ARG_OPS: ReadonlySet<ReduceOp> = new Set(['argmax', 'argmin']);
const ORDER_OPS: ReadonlySet<ReduceOp> = new Set(['max', 'min', 'argmax', 'argmin']);
const REDUCE_OPS: ReadonlySet<string> = new Set([
  'sum', 'mean', 'prod', 'max', 'min', 'argmax', 'argmin', 'variance', 'std', 'norm1', 'norm2', 'logsumexp', 'any', 'all',
]);

/**
 * Accumulation type, as the CPU backend: float for FLOAT/HALF/BFLOAT16, exact int64 for INT64
 * comparisons (max/min/argmax/argmin), double otherwise.
 */
export function accumulatorOf(op: ReduceOp, dtype: DataType): 'float' | 'double' | 'i64' {
  if (dtype === 'INT64' && ORDER_OPS.has(op)) return 'i64';
  return dtype === 'FLOAT' || dtype === 'HALF' || dtype === 'BFLOAT16' ? 'float' : 'double';
}

/** The reduction kernel of one (entry, op, input type, output type): each entry is its own small module. */
export function reduceSpec(entry: string, op: ReduceOp, tin: DataType, tout: DataType): KernelSpec {
  return internSpec(['reduce', entry, op, tin, tout], () => {
    const acc = accumulatorOf(op, tin);
    return {
      file: 'reduce.cu',
      defines: {
        [`OP_${op}`]: '1', TIN: dtypeMacro(tin), TOUT: dtypeMacro(tout), ACC: acc, ...(acc === 'i64' ? { ACC_EXACT: '1' } : {}), [`ENTRY_${entry}`]: '1',
      },
      entry,
      params: REDUCE_PARAMS[entry]!,
    };
  });
}

/** The softmax kernel of one (entry, floating type). */
export function softmaxSpec(entry: string, dtype: DataType): KernelSpec {
  return internSpec(['softmax', entry, dtype], () => ({
    file: 'softmax.cu',
    defines: { T: dtypeMacro(dtype), [`ENTRY_${entry}`]: '1' },
    entry,
    params: SOFTMAX_PARAMS[entry]!,
  }));
}

function limits(device: CudaDevice): LaunchLimits {
  const c = cudaConfiguration();
  return { multiprocessors: device.multiprocessors, maxBlock: c.maximumBlockSize, maxGrid: c.maximumGridSize };
}

/** The value a reduction over zero elements gives (API.md "Along axes"). */
function emptyValue(op: ReduceOp): number {
  switch (op) {
    case 'prod':
    case 'all':
      return 1;
    case 'mean':
    case 'variance':
    case 'std':
      return NaN;
    case 'logsumexp':
      return -Infinity;
    default:
      return 0;
  }
}

/** Reduced axes as a set, checked (negative axes count from the end, as on the CPU). */
function reducedAxes(name: string, x: TensorRef, axes: readonly number[]): Set<number> {
  const set = new Set<number>();
  for (const a of axes) {
    const d = checkAxis(name, a, 'x', x);
    if (set.has(d)) throw new Error(`${name}: axis ${a} is listed twice in [${axes.join(', ')}]`);
    set.add(d);
  }
  return set;
}

/**
 * out = op over `axes` of x; out has x's rank with the reduced axes of size 1. Each output's TAD is
 * reduced by a warp, a block, or (few outputs, long TADs) several blocks whose partial states a
 * second kernel combines.
 */
export function reduce(device: CudaDevice, op: ReduceOp, x: TensorRef, out: TensorRef, axes: readonly number[], ddof: number): void {
  const name = `reduce ${op}`;
  if (!REDUCE_OPS.has(op)) throw new Error(`reduce: unknown op '${op}'`);
  const red = reducedAxes(name, x, axes);
  const expected = x.shape.map((d, i) => (red.has(i) ? 1 : d));
  if (out.shape.length !== expected.length || out.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`${name}: ${describeRef('out', out)} must have shape ${formatShape(expected)} for ${describeRef('x', x)} reduced over [${axes.join(', ')}]`);
  }
  if (ARG_OPS.has(op) && out.dtype !== 'INT64') throw new Error(`${name}: ${describeRef('out', out)} must be INT64`);
  if ((op === 'any' || op === 'all') && out.dtype !== 'BOOL') throw new Error(`${name}: ${describeRef('out', out)} must be BOOL`);
  // Value reductions store in x's type (as the front end asks): one kernel module per (op, type).
  if (!ARG_OPS.has(op) && op !== 'any' && op !== 'all' && out.dtype !== x.dtype) {
    throw new Error(`${name}: ${describeRef('out', out)} must have the type of ${describeRef('x', x)}`);
  }
  if (!Number.isFinite(ddof)) throw new Error(`${name}: ddof must be finite, got ${ddof}`);

  const layout = reduceLayout(x.shape, x.strides, out.strides, red, ARG_OPS.has(op));
  if (layout.L === 0 && ORDER_OPS.has(op)) throw new Error(`${name}: cannot take ${op} over an empty axis (${describeRef('x', x)})`);
  if (layout.numOut === 0) return;
  if (layout.L === 0) {
    unary(device, 'fill', out, out, emptyValue(op), 0);
    return;
  }

  const lim = limits(device);
  const plan = planReduceLaunch(layout, lim);
  const kx = kernelDesc(name, layout.keptShape, layout.keptX);
  const ko = kernelDesc(name, layout.keptShape, layout.keptOut);
  const rd = kernelDesc(name, layout.redShape, layout.redX);
  const xp = ptrOf(x);
  const outPtr = ptrOf(out);
  const { numOut, L } = layout;
  if (plan.kind === 'warp') {
    device.kernels.get(reduceSpec('reduce_rows_warp', op, x.dtype, out.dtype), name)
      .launch(plan.grid, plan.block, device.streamAddress, [xp, kx, rd, outPtr, ko, numOut, L, ddof], name);
    return;
  }
  const entry = plan.kind === 'block' ? 'reduce_rows_block' : 'reduce_cols';
  const tail = plan.kind === 'cols' ? [plan.bx] : [];
  const kernel = device.kernels.get(reduceSpec(entry, op, x.dtype, out.dtype), name);
  if (plan.parts === 1) {
    kernel.launch(plan.grid, plan.block, device.streamAddress, [xp, kx, rd, outPtr, ko, 0, numOut, L, ddof, ...tail], name);
    return;
  }
  // Split TADs: partial states of (output, part) go to scratch memory, then one warp per output combines them.
  const finish = device.kernels.get(reduceSpec('reduce_finish', op, x.dtype, out.dtype), name);
  const scratch = device.allocator.alloc(numOut * plan.parts * PART_BYTES);
  try {
    kernel.launch(plan.grid, plan.block, device.streamAddress, [xp, kx, rd, outPtr, ko, scratch.ptr, numOut, L, ddof, ...tail], name, 0, plan.parts);
    const f = warpLaunch(numOut, lim);
    finish.launch(f.grid, f.block, device.streamAddress, [scratch.ptr, plan.parts, outPtr, ko, numOut, L, ddof], name);
  } finally {
    // Stream-ordered: a later user of this memory queues behind the kernels above.
    device.allocator.free(scratch);
  }
}

/** Checks softmax operands (the first is the reference: a floating type, the others match it) and the axis. */
function checkSoftmax(name: string, axis: number, operands: readonly [string, TensorRef][]): number {
  const [refName, ref] = operands[0]!;
  if (!isFloating(ref.dtype)) throw new Error(`${name}: ${describeRef(refName, ref)} must be a floating type (DOUBLE, FLOAT, HALF or BFLOAT16)`);
  for (const [n, t] of operands) {
    if (t.dtype !== ref.dtype || t.shape.length !== ref.shape.length || t.shape.some((d, i) => d !== ref.shape[i])) {
      throw new Error(`${name}: ${describeRef(n, t)} must match ${describeRef(refName, ref)}`);
    }
  }
  return checkAxis(name, axis, refName, ref);
}

/** out = softmax (or log-softmax) of x along `axis`; any views, out may be x exactly. */
export function softmax(device: CudaDevice, x: TensorRef, out: TensorRef, axis: number, log: boolean): void {
  const name = log ? 'logSoftmax' : 'softmax';
  const ax = checkSoftmax(name, axis, [['x', x], ['out', out]]);
  if (sizeOfShape(x.shape) === 0) return;
  const rl = rowLayout(x.shape, [x.strides, out.strides], ax);
  const plan = planRowLaunch(rl, limits(device));
  device.kernels.get(softmaxSpec(`softmax_${plan.kind}`, x.dtype), name).launch(plan.grid, plan.block, device.streamAddress, [
    ptrOf(x), kernelDesc(name, rl.outerShape, rl.outer[0]!), rl.rowStride[0]!,
    ptrOf(out), kernelDesc(name, rl.outerShape, rl.outer[1]!), rl.rowStride[1]!,
    rl.rows, rl.n, log ? 1 : 0, ...(plan.kind === 'cols' ? [plan.bx] : []),
  ], name);
}

/** out = gradient of softmax (y its output) or log-softmax (y = log-softmax output) for upstream g. */
export function softmaxGrad(device: CudaDevice, y: TensorRef, g: TensorRef, out: TensorRef, axis: number, log: boolean): void {
  const name = log ? 'logSoftmaxGrad' : 'softmaxGrad';
  const ax = checkSoftmax(name, axis, [['y', y], ['g', g], ['out', out]]);
  if (sizeOfShape(y.shape) === 0) return;
  const rl = rowLayout(y.shape, [y.strides, g.strides, out.strides], ax);
  const plan = planRowLaunch(rl, limits(device));
  device.kernels.get(softmaxSpec(`softmax_grad_${plan.kind}`, y.dtype), name).launch(plan.grid, plan.block, device.streamAddress, [
    ptrOf(y), kernelDesc(name, rl.outerShape, rl.outer[0]!), rl.rowStride[0]!,
    ptrOf(g), kernelDesc(name, rl.outerShape, rl.outer[1]!), rl.rowStride[1]!,
    ptrOf(out), kernelDesc(name, rl.outerShape, rl.outer[2]!), rl.rowStride[2]!,
    rl.rows, rl.n, log ? 1 : 0, ...(plan.kind === 'cols' ? [plan.bx] : []),
  ], name);
}
