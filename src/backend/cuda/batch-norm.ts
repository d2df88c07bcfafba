/**
 * Backend.batchNorm on the device: three launches forward (partial sums per channel slice, a
 * per-channel finish that also updates the running averages, an elementwise apply) and three
 * backward, where the composed ops of the front end take about a dozen passes over the activations.
 */
import type { FusedBatchNorm, TensorRef } from '../backend.js';
import { type DataType, dtypeSize, isFloating } from '../../ndarray/dtype.js';
import { formatShape, isContiguous } from '../../ndarray/shape.js';
import type { CudaDevice } from './device.js';
import { describeRef } from './describe.js';
import { internSpec, type KernelSpec } from './kernel-library.js';
import type { ParamKind } from './launch.js';
import { cudaConfiguration } from './config.js';
import { dtypeMacro, flatLaunch, ptrOf } from './tensor.js';

const PARAMS: Record<string, readonly ParamKind[]> = {
  // x, parts, N, C, S, P
  bn_stats_partial: ['ptr', 'ptr', 'i64', 'i64', 'i64', 'i64'],
  // x, parts, mean, invStd, runMean, runVar, N, C, S, P, eps, decay
  bn_stats_finish: ['ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'i64', 'i64', 'i64', 'i64', 'f64', 'f64'],
  // x, y, mean, invStd, gamma, beta, total, C, S
  bn_apply: ['ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'i64', 'i64', 'i64'],
  // x, dy, mean, invStd, parts, N, C, S, P
  bn_grad_partial: ['ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'i64', 'i64', 'i64', 'i64'],
  // parts, sums, dgamma, dbeta, C, P
  bn_grad_finish: ['ptr', 'ptr', 'ptr', 'ptr', 'i64', 'i64'],
  // x, dy, dx, mean, invStd, gamma, sums, total, C, S, M
  bn_grad_apply: ['ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'i64', 'i64', 'i64', 'i64'],
};

/** Most threads per block of the per-slice sums (kernels/cuda/batchnorm.cu sizes its shared memory for it). */
const SUM_THREADS = 256;

/** Block size of the sums and finishes: SUM_THREADS within the configured maximumBlockSize. */
const sumThreads = (): number => Math.min(SUM_THREADS, cudaConfiguration().maximumBlockSize);

/** Grid width over channels: kernels loop when there are more channels than the configured maximumGridSize. */
const channelGrid = (channels: number): number => Math.min(channels, cudaConfiguration().maximumGridSize);
/** Values per block below which more slices do not pay for their launch share. */
const MIN_SLICE = 2048;

function spec(entry: string, dtype: DataType): KernelSpec {
  return internSpec(['batchnorm', entry, dtype], () => ({
    file: 'batchnorm.cu',
    defines: { T_DT: dtypeMacro(dtype), [`ENTRY_${entry}`]: '1' },
    entry,
    params: PARAMS[entry]!,
  }));
}

/** The type statistics are kept in: DOUBLE for DOUBLE, FLOAT for the other float types. */
export function batchNormStatsType(dtype: DataType): DataType {
  return dtype === 'DOUBLE' ? 'DOUBLE' : 'FLOAT';
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export class CudaBatchNorm implements FusedBatchNorm {
  constructor(private readonly device: CudaDevice) {}

  supports(dtype: DataType): boolean {
    return isFloating(dtype);
  }

  forwardTraining(x: TensorRef, gamma: TensorRef, beta: TensorRef, y: TensorRef, mean: TensorRef, invStd: TensorRef, runMean: TensorRef, runVar: TensorRef, eps: number, decay: number): void {
    const op = 'batchNorm forward';
    const [n, c, s] = this.check(op, x, [['y', y]], [['gamma', gamma], ['beta', beta], ['runMean', runMean], ['runVar', runVar]], [['mean', mean], ['invStd', invStd]]);
    if (!(eps > 0) || !(decay >= 0 && decay <= 1)) throw new Error(`${op}: expected eps > 0 and decay in [0, 1], got eps ${eps}, decay ${decay}`);
    if (n * s === 0) throw new Error(`${op}: ${describeRef('x', x)} has no values per channel to normalize over`);
    if (c === 0) return;
    const p = this.slices(n * s, c);
    this.withParts(c * p, x.dtype, (parts) => {
      this.launch('bn_stats_partial', x.dtype, channelGrid(c), sumThreads(), [ptrOf(x), parts, n, c, s, p], op, p);
      this.launch('bn_stats_finish', x.dtype, Math.ceil(c / sumThreads()), sumThreads(),
        [ptrOf(x), parts, ptrOf(mean), ptrOf(invStd), ptrOf(runMean), ptrOf(runVar), n, c, s, p, eps, decay], op);
    });
    const total = n * c * s;
    const { grid, block } = flatLaunch(total, this.device);
    this.launch('bn_apply', x.dtype, grid, block, [ptrOf(x), ptrOf(y), ptrOf(mean), ptrOf(invStd), ptrOf(gamma), ptrOf(beta), total, c, s], op);
  }

  backward(x: TensorRef, dy: TensorRef, gamma: TensorRef, mean: TensorRef, invStd: TensorRef, dx: TensorRef, dgamma: TensorRef, dbeta: TensorRef): void {
    const op = 'batchNorm backward';
    const [n, c, s] = this.check(op, x, [['dy', dy], ['dx', dx]], [['gamma', gamma], ['dgamma', dgamma], ['dbeta', dbeta]], [['mean', mean], ['invStd', invStd]]);
    if (c === 0 || n * s === 0) return;
    const p = this.slices(n * s, c);
    const stats = batchNormStatsType(x.dtype);
    const sums = this.device.allocator.alloc(2 * c * dtypeSize(stats));
    try {
      this.withParts(c * p, x.dtype, (parts) => {
        this.launch('bn_grad_partial', x.dtype, channelGrid(c), sumThreads(), [ptrOf(x), ptrOf(dy), ptrOf(mean), ptrOf(invStd), parts, n, c, s, p], op, p);
        this.launch('bn_grad_finish', x.dtype, Math.ceil(c / sumThreads()), sumThreads(), [parts, sums.ptr, ptrOf(dgamma), ptrOf(dbeta), c, p], op);
      });
      const total = n * c * s;
      const { grid, block } = flatLaunch(total, this.device);
      this.launch('bn_grad_apply', x.dtype, grid, block,
        [ptrOf(x), ptrOf(dy), ptrOf(dx), ptrOf(mean), ptrOf(invStd), ptrOf(gamma), sums.ptr, total, c, s, n * s], op);
    } finally {
      // Stream-ordered: the block is reused only by work queued after these launches.
      this.device.allocator.free(sums);
    }
  }

  /** Validates every operand before any launch; returns [N, C, S]. */
  private check(
    op: string, x: TensorRef,
    likeX: readonly [string, TensorRef][], perChannel: readonly [string, TensorRef][], statistics: readonly [string, TensorRef][],
  ): [number, number, number] {
    if (!this.supports(x.dtype)) throw new Error(`${op}: ${describeRef('x', x)} must be a floating type`);
    if (x.shape.length !== 3) throw new Error(`${op}: ${describeRef('x', x)} must be a packed [N, C, S] view`);
    const [n, c, s] = x.shape as [number, number, number];
    const stats = batchNormStatsType(x.dtype);
    const expect = (name: string, t: TensorRef, dtype: DataType, shape: readonly number[]): void => {
      if (t.dtype !== dtype || !sameShape(t.shape, shape)) {
        throw new Error(`${op}: ${describeRef(name, t)} must be ${dtype}${formatShape(shape)} for ${describeRef('x', x)}`);
      }
      if (!isContiguous(t.shape, t.strides)) throw new Error(`${op}: ${describeRef(name, t)} must be contiguous`);
    };
    expect('x', x, x.dtype, x.shape);
    for (const [name, t] of likeX) expect(name, t, x.dtype, x.shape);
    for (const [name, t] of perChannel) expect(name, t, x.dtype, [c]);
    for (const [name, t] of statistics) expect(name, t, stats, [c]);
    return [n, c, s];
  }

  /** Slices per channel: enough blocks to fill the device, none smaller than MIN_SLICE values. */
  private slices(perChannel: number, channels: number): number {
    const wanted = Math.ceil((4 * this.device.multiprocessors) / channels);
    return Math.max(1, Math.min(wanted, Math.ceil(perChannel / MIN_SLICE), 65535));
  }

  /** Scratch for two partial sums per (channel, slice), released after the launches that use it are queued. */
  private withParts(count: number, dtype: DataType, fn: (parts: number) => void): void {
    const block = this.device.allocator.alloc(2 * count * dtypeSize(batchNormStatsType(dtype)));
    try {
      fn(block.ptr);
    } finally {
      this.device.allocator.free(block);
    }
  }

  private launch(entry: string, dtype: DataType, grid: number, block: number, args: readonly number[], op: string, gridY = 1): void {
    this.device.kernels.get(spec(entry, dtype), op).launch(grid, block, this.device.streamAddress, args, op, 0, gridY);
  }
}
