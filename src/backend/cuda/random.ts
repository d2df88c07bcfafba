import type { RandomDistribution, TensorRef } from '../backend.js';
import type { DataType } from '../../ndarray/dtype.js';
import type { CudaDevice } from './device.js';
import { describeRef } from './describe.js';
import { internSpec, type KernelSpec } from './kernel-library.js';
import type { ParamKind } from './launch.js';
import { coalesce, dtypeMacro, flatLaunch, isUnitStride, kernelDesc, ptrOf, sizeOfShape } from './tensor.js';

const PARAMS: Record<string, readonly ParamKind[]> = {
  // out, [desc], n, seedLo, seedHi, stream (uint32 bit patterns), p1, p2
  random_contig: ['ptr', 'i64', 'i32', 'i32', 'i32', 'f64', 'f64'],
  random_strided: ['ptr', 'desc', 'i64', 'i32', 'i32', 'i32', 'f64', 'f64'],
};

const DISTS: ReadonlySet<string> = new Set<RandomDistribution>(['uniform', 'normal', 'truncnormal', 'bernoulli']);

function spec(entry: string, dist: RandomDistribution, dtype: DataType): KernelSpec {
  return internSpec(['random', entry, dist, dtype], () => ({
    file: 'random.cu',
    defines: { [`DIST_${dist}`]: '1', TOUT: dtypeMacro(dtype) },
    entry,
    params: PARAMS[entry]!,
  }));
}

/**
 * Fills out with Philox4x32-10 draws exactly as the CPU backend (native/cpu/API.md "Random"):
 * element i (row-major) uses counter (i lo, i hi, stream, attempt) and key (seed lo, seed hi),
 * so a seed gives the same values on both backends, whatever out's strides.
 */
export function random(device: CudaDevice, dist: RandomDistribution, out: TensorRef, seed: bigint, stream: number, p1: number, p2: number): void {
  const op = `random ${dist}`;
  if (!DISTS.has(dist)) throw new Error(`random: unknown dist '${dist}' (uniform, normal, truncnormal, bernoulli)`);
  if (Number.isNaN(p1) || Number.isNaN(p2)) throw new Error(`${op}: p1 (${p1}) and p2 (${p2}) must not be NaN`);
  if (dist === 'bernoulli' && !(p1 >= 0 && p1 <= 1)) throw new Error(`${op}: p1 (the probability of 1) must be in [0, 1], got ${p1}`);
  if ((dist === 'normal' || dist === 'truncnormal') && !(p2 >= 0)) throw new Error(`${op}: p2 (standard deviation) must be >= 0, got ${p2}`);
  if (typeof seed !== 'bigint') throw new Error(`${op}: seed must be a bigint, got ${typeof seed}`);
  if (!Number.isInteger(stream)) throw new Error(`${op}: stream must be an integer, got ${stream} (for ${describeRef('out', out)})`);
  // The same 32-bit words the CPU backend passes to its kernel.
  const seedLo = Number(seed & 0xffffffffn);
  const seedHi = Number((seed >> 32n) & 0xffffffffn);
  const s = stream >>> 0;
  const n = sizeOfShape(out.shape);
  if (n === 0) return;
  // Coalescing keeps the row-major order, so linear positions stay element indices.
  const { shape, strides } = coalesce(out.shape, [out.strides]);
  const { grid, block } = flatLaunch(n, device);
  if (isUnitStride(shape, strides[0]!)) {
    device.kernels.get(spec('random_contig', dist, out.dtype), op)
      .launch(grid, block, device.streamAddress, [ptrOf(out), n, seedLo, seedHi, s, p1, p2], op);
  } else {
    device.kernels.get(spec('random_strided', dist, out.dtype), op)
      .launch(grid, block, device.streamAddress, [ptrOf(out), kernelDesc(op, shape, strides[0]!), n, seedLo, seedHi, s, p1, p2], op);
  }
}
