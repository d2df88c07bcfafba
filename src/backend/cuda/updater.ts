import type { AdamStepParams, TensorRef } from '../backend.js';
import { type DataType, dtypeSize } from '../../ndarray/dtype.js';
import { isContiguous } from '../../ndarray/shape.js';
import type { CudaDevice } from './device.js';
import { describeRef } from './describe.js';
import { internSpec, type KernelSpec } from './kernel-library.js';
import { dtypeMacro, flatLaunch, ptrOf, sizeOfShape, type CudaBuffer } from './tensor.js';

function spec(dtype: DataType): KernelSpec {
  return internSpec(['updater', 'adam_step', dtype], () => ({
    file: 'updater.cu',
    defines: { T_DT: dtypeMacro(dtype) },
    entry: 'adam_step',
    // p, g, m, v, n, beta1, beta2, epsilon, alpha, decay
    params: ['ptr', 'ptr', 'ptr', 'ptr', 'i64', 'f64', 'f64', 'f64', 'f64', 'f64'],
  }));
}

/** Device byte range of a contiguous view. */
function range(ref: TensorRef): { buffer: CudaBuffer; start: number; end: number } {
  const start = ref.offset * dtypeSize(ref.dtype);
  return { buffer: ref.buffer as CudaBuffer, start, end: start + sizeOfShape(ref.shape) * dtypeSize(ref.dtype) };
}

/** Backend.adamStep on the device: validates as the CPU addon does, then one flat launch. */
export function adamStep(device: CudaDevice, p: TensorRef, g: TensorRef, m: TensorRef, v: TensorRef, h: AdamStepParams): void {
  const op = 'adamStep';
  const all: readonly [string, TensorRef][] = [['p', p], ['g', g], ['m', m], ['v', v]];
  if (p.dtype !== 'FLOAT' && p.dtype !== 'DOUBLE') throw new Error(`${op}: ${describeRef('p', p)} must be FLOAT or DOUBLE`);
  for (const [name, t] of all) {
    if (t.dtype !== p.dtype || t.shape.length !== p.shape.length || t.shape.some((d, k) => d !== p.shape[k])) {
      throw new Error(`${op}: ${describeRef(name, t)} does not match ${describeRef('p', p)} (expected one dtype and shape for all four)`);
    }
    if (!isContiguous(t.shape, t.strides)) throw new Error(`${op}: ${describeRef(name, t)} must be contiguous`);
  }
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const [a, b] = [range(all[i]![1]), range(all[j]![1])];
      if (a.buffer === b.buffer && a.start < b.end && b.start < a.end && a.start < a.end) {
        throw new Error(`${op}: ${all[i]![0]} and ${all[j]![0]} overlap (expected four separate arrays)`);
      }
    }
  }
  const n = sizeOfShape(p.shape);
  if (n === 0) return;
  const { grid, block } = flatLaunch(n, device);
  device.kernels.get(spec(p.dtype), op).launch(grid, block, device.streamAddress,
    [ptrOf(p), ptrOf(g), ptrOf(m), ptrOf(v), n, h.beta1, h.beta2, h.epsilon, h.alpha, h.decay], op);
}
