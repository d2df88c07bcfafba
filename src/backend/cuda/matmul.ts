import type { TensorRef } from '../backend.js';
import { type DataType, dtypeSize, isFloating } from '../../ndarray/dtype.js';
import { formatShape } from '../../ndarray/shape.js';
import { cudaConfiguration } from './config.js';
import {
  CUBLAS_COMPUTE_32F, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_COMPUTE_64F, CUBLAS_GEMM_DEFAULT,
  CUDA_R_16BF, CUDA_R_16F, CUDA_R_32F, CUDA_R_64F, checkCublas, cublas, cublasContext, type CublasApi, type CublasContext,
} from './cublas.js';
import type { CudaDevice } from './device.js';
import { unary } from './elementwise.js';
import { INT32_MAX, contiguousStrides, forEachOuter, planMatmul, rangesOverlap, type GemmCall } from './matmul-plan.js';
import { CudaBuffer, ptrOf, sizeOfShape } from './tensor.js';

const OP = 'matmul';

/** cuBLAS types of a dtype: data type, compute type, and whether alpha/beta are doubles. */
function cublasTypes(dtype: DataType): { data: number; compute: number; double: boolean } {
  switch (dtype) {
    case 'DOUBLE': return { data: CUDA_R_64F, compute: CUBLAS_COMPUTE_64F, double: true };
    case 'FLOAT': return { data: CUDA_R_32F, compute: cudaConfiguration().allowTF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, double: false };
    case 'HALF': return { data: CUDA_R_16F, compute: CUBLAS_COMPUTE_32F, double: false };
    case 'BFLOAT16': return { data: CUDA_R_16BF, compute: CUBLAS_COMPUTE_32F, double: false };
    default: throw new Error(`${OP}: unsupported dtype ${dtype}`);
  }
}

const describe = (name: string, t: TensorRef): string => `${name} ${t.dtype}${formatShape(t.shape)}`;

/** The CPU backend's checks (native/cpu/matmul.cc), with its wording. */
function validate(a: TensorRef, b: TensorRef, out: TensorRef): void {
  const shapes = `${describe('a', a)}, ${describe('b', b)}, ${describe('out', out)}`;
  if (!isFloating(a.dtype) || a.dtype !== b.dtype || a.dtype !== out.dtype) {
    throw new Error(`${OP}: a, b and out must share one floating dtype (DOUBLE, FLOAT, HALF or BFLOAT16); got ${shapes}`);
  }
  const r = a.shape.length;
  if (r < 2 || b.shape.length !== r || out.shape.length !== r) {
    throw new Error(`${OP}: a [..., M, K], b [..., K, N] and out [..., M, N] must have one rank >= 2; got ${shapes}`);
  }
  for (let d = 0; d < r - 2; d++) {
    if (a.shape[d] !== b.shape[d] || a.shape[d] !== out.shape[d]) {
      throw new Error(`${OP}: batch dimension ${d} differs (broadcast with stride 0 first); got ${shapes}`);
    }
  }
  const M = a.shape[r - 2]!;
  const K = a.shape[r - 1]!;
  const N = b.shape[r - 1]!;
  if (b.shape[r - 2] !== K) throw new Error(`${OP}: inner dimensions differ: a has K = ${K}, b has K = ${b.shape[r - 2]}; got ${shapes}`);
  if (out.shape[r - 2] !== M || out.shape[r - 1] !== N) throw new Error(`${OP}: out must be [..., ${M}, ${N}]; got ${shapes}`);
  for (let d = 0; d < r; d++) {
    if (out.shape[d]! > 1 && out.strides[d] === 0) throw new Error(`${OP}: out must not be broadcast (stride 0 on dimension ${d}); got ${shapes}`);
  }
}

/** A contiguous temporary of `shape` (strides given by the caller), freed by the caller. */
function temporary(device: CudaDevice, dtype: DataType, shape: readonly number[], strides: readonly number[], temps: CudaBuffer[]): TensorRef {
  const bytes = sizeOfShape(shape) * dtypeSize(dtype);
  const buffer = new CudaBuffer(device.allocator.alloc(bytes), bytes, device);
  temps.push(buffer);
  return { buffer, dtype, offset: 0, shape, strides };
}

/** Copies `copy.shape` of x into a contiguous temporary; returns the view of it that stands for x (read with `copy.strides`). */
function copyInto(device: CudaDevice, x: TensorRef, copy: { shape: number[]; strides: number[] }, temps: CudaBuffer[]): TensorRef {
  const dst = temporary(device, x.dtype, copy.shape, contiguousStrides(copy.shape), temps);
  unary(device, 'identity', { ...x, shape: copy.shape }, dst, 0, 0);
  return { ...dst, shape: x.shape, strides: copy.strides };
}

function gemm(lib: CublasApi, ctx: CublasContext, c: GemmCall, types: ReturnType<typeof cublasTypes>, pa: number, pb: number, pc: number, item: number): void {
  const s = ctx.scalars;
  const alpha = types.double ? s.f64Address : s.f32Address;
  const beta = types.double ? s.f64Address + 8 : s.f32Address + 4;
  const t = types.data;
  if (c.batch === 1) {
    checkCublas(lib.gemmEx(ctx.handleAddress, c.transa, c.transb, c.m, c.n, c.k, alpha, pa, t, c.lda, pb, t, c.ldb, beta, pc, t, c.ldc, types.compute, CUBLAS_GEMM_DEFAULT), 'cublasGemmEx', OP);
    return;
  }
  // batchCount is an int: very long batches go in chunks.
  for (let start = 0; start < c.batch; start += INT32_MAX) {
    const count = Math.min(INT32_MAX, c.batch - start);
    checkCublas(lib.gemmStridedBatchedEx(
      ctx.handleAddress, c.transa, c.transb, c.m, c.n, c.k,
      alpha, pa + start * c.strideA * item, t, c.lda, c.strideA,
      pb + start * c.strideB * item, t, c.ldb, c.strideB,
      beta, pc + start * c.strideC * item, t, c.ldc, c.strideC,
      count, types.compute, CUBLAS_GEMM_DEFAULT,
    ), 'cublasGemmStridedBatchedEx', OP);
  }
}

/**
 * out = alpha * a @ b + beta * out on cuBLAS (native/cpu/API.md "Matrices"): a [..., M, K],
 * b [..., K, N], out [..., M, N] with equal batch dims, any strides. Operands are read in place
 * when cuBLAS can (see matmul-plan.ts), else through contiguous temporaries. beta == 0 ignores
 * out's contents (NaN included); K == 0 or alpha == 0 only scales out, never reading a or b.
 */
export function matmul(device: CudaDevice, a: TensorRef, b: TensorRef, out: TensorRef, alpha: number, beta: number): void {
  validate(a, b, out);
  const types = cublasTypes(a.dtype);
  if (sizeOfShape(out.shape) === 0) return;
  const r = a.shape.length;
  if (a.shape[r - 1] === 0 || alpha === 0) {
    // out = beta * out, exactly as the CPU's scaleOutput (beta == 0 writes zeros without reading).
    if (beta === 0) unary(device, 'fill', out, out, 0, 0);
    else if (beta !== 1) unary(device, 'mulScalar', out, out, beta, 0);
    return;
  }

  const item = dtypeSize(a.dtype);
  const outBuffer = out.buffer as CudaBuffer;
  const overlaps = {
    a: (a.buffer as CudaBuffer).ptr === outBuffer.ptr && rangesOverlap(a, out),
    b: (b.buffer as CudaBuffer).ptr === outBuffer.ptr && rangesOverlap(b, out),
  };
  const plan = planMatmul(a, b, out, overlaps, item);
  const lib = cublas();
  const ctx = cublasContext(device, OP);
  if (types.double) {
    ctx.scalars.f64[0] = alpha;
    ctx.scalars.f64[1] = beta;
  } else {
    ctx.scalars.f32[0] = alpha;
    ctx.scalars.f32[1] = beta;
  }

  const temps: CudaBuffer[] = [];
  try {
    const A = plan.copyA ? copyInto(device, a, plan.copyA, temps) : a;
    const B = plan.copyB ? copyInto(device, b, plan.copyB, temps) : b;
    let C = out;
    if (plan.outTemp) {
      C = temporary(device, out.dtype, out.shape, contiguousStrides(out.shape), temps);
      if (beta !== 0) unary(device, 'identity', out, C, 0, 0);
    }
    // cuBLAS's A is b when it computes out^T = b^T a^T.
    const [first, second] = plan.call.swap ? [B, A] : [A, B];
    const p1 = ptrOf(first);
    const p2 = ptrOf(second);
    const pc = ptrOf(C);
    if (plan.outer.shape.length === 0) {
      gemm(lib, ctx, plan.call, types, p1, p2, pc, item);
    } else {
      forEachOuter(plan.outer, (oa, ob, oc) => {
        const [o1, o2] = plan.call.swap ? [ob, oa] : [oa, ob];
        gemm(lib, ctx, plan.call, types, p1 + o1 * item, p2 + o2 * item, pc + oc * item, item);
      });
    }
    if (plan.outTemp) unary(device, 'identity', C, out, 0, 0);
  } finally {
    // Stream order makes this safe: later work that reuses the memory is queued after the product.
    for (const t of temps) device.allocator.free(t.block);
  }
}
