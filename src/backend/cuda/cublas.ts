import type { Block } from './allocator.js';
import type { CudaDevice } from './device.js';
import { addressOf, CudaError, type DevicePtr, type Handle } from './driver.js';
import { loadLibrary, type Library } from './libraries.js';

/** A cuBLAS failure: the call, its CUBLAS_STATUS_* name, and the dl4ts operation it served. */
export class CublasError extends CudaError {
  constructor(call: string, status: number, op?: string) {
    super(call, status, cublasStatusName(status), op);
    this.name = 'CublasError';
  }
}

/** cublasStatus_t (cublas_api.h). */
const STATUS_NAMES: Readonly<Record<number, string>> = {
  0: 'CUBLAS_STATUS_SUCCESS',
  1: 'CUBLAS_STATUS_NOT_INITIALIZED',
  3: 'CUBLAS_STATUS_ALLOC_FAILED',
  7: 'CUBLAS_STATUS_INVALID_VALUE',
  8: 'CUBLAS_STATUS_ARCH_MISMATCH',
  11: 'CUBLAS_STATUS_MAPPING_ERROR',
  13: 'CUBLAS_STATUS_EXECUTION_FAILED',
  14: 'CUBLAS_STATUS_INTERNAL_ERROR',
  15: 'CUBLAS_STATUS_NOT_SUPPORTED',
  16: 'CUBLAS_STATUS_LICENSE_ERROR',
};

export function cublasStatusName(status: number): string {
  return STATUS_NAMES[status] ?? `CUBLAS_STATUS_${status}`;
}

/** cudaDataType_t (library_types.h). */
export const CUDA_R_32F = 0;
export const CUDA_R_64F = 1;
export const CUDA_R_16F = 2;
export const CUDA_R_16BF = 14;

/** cublasComputeType_t (cublas_api.h). */
export const CUBLAS_COMPUTE_32F = 68;
export const CUBLAS_COMPUTE_64F = 70;
export const CUBLAS_COMPUTE_32F_FAST_TF32 = 77;

/** cublasGemmAlgo_t: let cuBLAS choose (tensor cores included when the compute type allows them). */
export const CUBLAS_GEMM_DEFAULT = -1;

/** cublasMath_t flags. */
const CUBLAS_DEFAULT_MATH = 0;
/** Split-K partial sums of HALF/BFLOAT16 products stay in float32, as the CPU backend accumulates. */
const CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION = 16;

type Status = number;
type Out<T> = [T];
/** A host address as a number (48 bits: exact). */
type HostPtr = number;

function bind(lib: Library) {
  const f = <T extends (...args: never[]) => unknown>(signature: string): T => lib.func(signature) as unknown as T;
  return {
    create: f<(handle: Out<Handle>) => Status>('int cublasCreate_v2(_Out_ void **handle)'),
    destroy: f<(handle: Handle) => Status>('int cublasDestroy_v2(void *handle)'),
    getVersion: f<(handle: Handle, version: Out<number>) => Status>('int cublasGetVersion_v2(void *handle, _Out_ int *version)'),
    setStream: f<(handle: Handle, stream: Handle) => Status>('int cublasSetStream_v2(void *handle, void *stream)'),
    // Device addresses travel as 64-bit integers (as in driver.ts): the same register as a pointer.
    setWorkspace: f<(handle: Handle, workspace: DevicePtr, bytes: number) => Status>('int cublasSetWorkspace_v2(void *handle, uint64_t workspace, size_t bytes)'),
    setMathMode: f<(handle: Handle, mode: number) => Status>('int cublasSetMathMode(void *handle, int mode)'),
    // The products take the handle and the host scalars by address too: integers cost koffi less to
    // pass than a pointer object and typed arrays.
    gemmEx: f<(
      handle: HostPtr, transa: number, transb: number, m: number, n: number, k: number,
      alpha: HostPtr, A: DevicePtr, Atype: number, lda: number,
      B: DevicePtr, Btype: number, ldb: number,
      beta: HostPtr, C: DevicePtr, Ctype: number, ldc: number,
      computeType: number, algo: number,
    ) => Status>(
      'int cublasGemmEx(uint64_t handle, int transa, int transb, int m, int n, int k, uint64_t alpha, ' +
        'uint64_t A, int Atype, int lda, uint64_t B, int Btype, int ldb, uint64_t beta, ' +
        'uint64_t C, int Ctype, int ldc, int computeType, int algo)',
    ),
    gemmStridedBatchedEx: f<(
      handle: HostPtr, transa: number, transb: number, m: number, n: number, k: number,
      alpha: HostPtr, A: DevicePtr, Atype: number, lda: number, strideA: number,
      B: DevicePtr, Btype: number, ldb: number, strideB: number,
      beta: HostPtr, C: DevicePtr, Ctype: number, ldc: number, strideC: number,
      batchCount: number, computeType: number, algo: number,
    ) => Status>(
      'int cublasGemmStridedBatchedEx(uint64_t handle, int transa, int transb, int m, int n, int k, uint64_t alpha, ' +
        'uint64_t A, int Atype, int lda, int64_t strideA, uint64_t B, int Btype, int ldb, int64_t strideB, ' +
        'uint64_t beta, uint64_t C, int Ctype, int ldc, int64_t strideC, int batchCount, int computeType, int algo)',
    ),
  };
}

export type CublasApi = ReturnType<typeof bind>;
let api: CublasApi | undefined;

/** cuBLAS, loaded on first use (importing this module needs no GPU). */
export function cublas(): CublasApi {
  api ??= bind(loadLibrary('cuBLAS (libcublas)', ['libcublas.so.13', 'libcublas.so.12', 'libcublas.so']));
  return api;
}

/** Throws a CublasError unless the call succeeded. */
export function checkCublas(status: Status, call: string, op?: string): void {
  if (status !== 0) throw new CublasError(call, status, op);
}

/**
 * alpha and beta for the products, in one host buffer that never moves: [alpha, beta] as float32
 * and as float64, written through the views and passed by address (no allocation per product).
 */
export interface GemmScalars {
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  readonly f32Address: HostPtr;
  readonly f64Address: HostPtr;
}

function gemmScalars(): GemmScalars {
  const buffer = Buffer.alloc(32);
  const f64 = new Float64Array(buffer.buffer, buffer.byteOffset, 2);
  const f32 = new Float32Array(buffer.buffer, buffer.byteOffset + 16, 2);
  const base = addressOf(buffer);
  return { f32, f64, f64Address: base, f32Address: base + 16 };
}

/**
 * A device's cuBLAS state: the handle (bound to the device's stream, so products are ordered with
 * the kernels) and its address, its workspace, and the host scalars every product reuses.
 */
export interface CublasContext {
  readonly handle: Handle;
  readonly handleAddress: HostPtr;
  readonly version: number;
  readonly workspace: Block;
  readonly scalars: GemmScalars;
}

/** cuBLAS's recommendation: 32 MiB on Hopper and later, 4 MiB before. */
function workspaceBytes(device: CudaDevice): number {
  return (device.computeCapability[0] >= 9 ? 32 : 4) * 1024 * 1024;
}

const contexts = new WeakMap<CudaDevice, CublasContext>();

/** The device's cuBLAS context, created on first use (the handle lives as long as the device). */
export function cublasContext(device: CudaDevice, op = 'matmul'): CublasContext {
  const existing = contexts.get(device);
  if (existing) return existing;
  const lib = cublas();
  // cuBLAS binds a handle to the context current at creation.
  device.makeCurrent();
  const h: Out<Handle> = [null];
  checkCublas(lib.create(h), 'cublasCreate_v2', op);
  const handle = h[0];
  let workspace: Block | undefined;
  try {
    const v: Out<number> = [0];
    checkCublas(lib.getVersion(handle, v), 'cublasGetVersion_v2', op);
    // Stream first: cublasSetStream_v2 resets the workspace to cuBLAS's own pool.
    checkCublas(lib.setStream(handle, device.stream), 'cublasSetStream_v2', op);
    const bytes = workspaceBytes(device);
    workspace = device.allocator.alloc(bytes);
    checkCublas(lib.setWorkspace(handle, workspace.ptr, bytes), 'cublasSetWorkspace_v2', op);
    checkCublas(lib.setMathMode(handle, CUBLAS_DEFAULT_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION), 'cublasSetMathMode', op);
    const ctx: CublasContext = {
      handle,
      handleAddress: addressOf(handle),
      version: v[0],
      workspace,
      scalars: gemmScalars(),
    };
    contexts.set(device, ctx);
    return ctx;
  } catch (e) {
    lib.destroy(handle);
    if (workspace) device.allocator.free(workspace);
    throw e;
  }
}
