import { needsGrad, record } from '../autodiff/tape.js';
import { NDArray } from '../ndarray/ndarray.js';
import { broadcastShapes, broadcastStrides, formatShape } from '../ndarray/shape.js';
import { castDiff } from './binary.js';
import { promoteTypes } from '../ndarray/dtype.js';
import { sumToShape } from './reduce.js';
import { commonBackend, describe } from './util.js';
import { expandDims, squeeze, transposeLast2 } from './views.js';
import type { TensorRef } from '../backend/backend.js';

/** x viewed with leading batch dims broadcast to `batch` (stride 0 where broadcast). */
function batchRef(x: NDArray, batch: readonly number[]): TensorRef {
  const shape = [...batch, ...x.shape.slice(-2)];
  return { buffer: x.buffer, dtype: x.dtype, offset: x.offset, shape, strides: broadcastStrides(x.shape, x.strides, shape) };
}

/** Matrix product of two arrays of rank >= 2 with broadcast batch dims (no autograd). */
function matmul2(a: NDArray, b: NDArray): NDArray {
  const backend = commonBackend('matmul', [a, b]);
  const [m, k] = a.shape.slice(-2) as [number, number];
  const [k2, n] = b.shape.slice(-2) as [number, number];
  if (k !== k2) throw new Error(`matmul: inner dimensions differ: ${describe(a)} @ ${describe(b)} (${k} vs ${k2})`);
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matmul (batch dimensions)');
  const out = NDArray.uninitialized([...batch, m, n], a.dtype, backend);
  backend.matmul(batchRef(a, batch), batchRef(b, batch), out, 1, 0);
  return out;
}

/**
 * Matrix product as numpy's matmul: 1-D operands are promoted to a row/column and the added axis
 * dropped; batch dims broadcast. Transposed views cost nothing: the kernels read any strides.
 */
export function matmul(a: NDArray, b: NDArray): NDArray {
  if (a.rank === 0 || b.rank === 0) throw new Error(`matmul: operands must have at least one axis, got ${describe(a)} @ ${describe(b)}`);
  if (a.dtype !== b.dtype) {
    const t = promoteTypes(a.dtype, b.dtype);
    return matmul(castDiff(a, t), castDiff(b, t));
  }
  // Vector . vector: both added axes go (squeezing one at a time would drop the wrong one).
  if (a.rank === 1 && b.rank === 1) return squeeze(matmul(expandDims(a, 0), expandDims(b, -1)), [0, 1]);
  if (a.rank === 1) return squeeze(matmul(expandDims(a, 0), b), -2);
  if (b.rank === 1) return squeeze(matmul(a, expandDims(b, -1)), -1);
  const out = matmul2(a, b);
  if (needsGrad([a, b])) {
    record(out, 'matmul', [a, b], [a, b], (g, [as, bs], needs) => [
      needs[0] ? sumToShape(matmul2(g, transposeLast2(bs!)), as!.shape) : null,
      needs[1] ? sumToShape(matmul2(transposeLast2(as!), g), bs!.shape) : null,
    ]);
  }
  return out;
}

export interface GemmOptions {
  transposeA?: boolean;
  transposeB?: boolean;
  alpha?: number;
  beta?: number;
}

/** c = alpha * op(a) @ op(b) + beta * c, in place in c (BLAS gemm; ND4J's Nd4j.gemm). Not recorded for autograd. */
export function gemm(a: NDArray, b: NDArray, c: NDArray, options: GemmOptions = {}): NDArray {
  const { transposeA = false, transposeB = false, alpha = 1, beta = 0 } = options;
  if (a.rank !== 2 || b.rank !== 2 || c.rank !== 2) throw new Error(`gemm: expected 2-D arrays, got ${describe(a)}, ${describe(b)}, ${describe(c)}`);
  if (a.dtype !== b.dtype || a.dtype !== c.dtype) throw new Error(`gemm: dtypes differ: ${describe(a)}, ${describe(b)}, ${describe(c)}`);
  const opA = transposeA ? transposeLast2(a) : a;
  const opB = transposeB ? transposeLast2(b) : b;
  const [m, k] = opA.shape as [number, number];
  const [k2, n] = opB.shape as [number, number];
  if (k !== k2 || c.shape[0] !== m || c.shape[1] !== n) {
    throw new Error(`gemm: op(a) ${formatShape(opA.shape)} @ op(b) ${formatShape(opB.shape)} does not give c ${formatShape(c.shape)}`);
  }
  if (c.requiresGrad) throw new Error(`gemm: c ${describe(c)} requires grad; gemm writes it in place`);
  commonBackend('gemm', [a, b, c]).matmul(opA, opB, c, alpha, beta);
  c.bumpVersion();
  return c;
}
