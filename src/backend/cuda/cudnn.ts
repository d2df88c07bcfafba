/**
 * cuDNN (optional): the library, its handles and the legacy convolution API of cuDNN 8/9 through
 * koffi (the graph API is in cudnn-graph.ts). The backend uses it for convolutions when the library
 * loads, and its own im2col kernels + cuBLAS when it does not.
 */
import type { DataType } from '../../ndarray/dtype.js';
import type { CudaDevice } from './device.js';
import { CudaError, type DevicePtr, type Handle } from './driver.js';
import { loadLibrary, type Library } from './libraries.js';

/** cudnnDataType_t of the float dtypes cuDNN convolves. */
export const CUDNN_DATA_TYPE: Partial<Record<DataType, number>> = { FLOAT: 0, DOUBLE: 1, HALF: 2, BFLOAT16: 9 };
/** cudnnConvolutionMode_t: what deep learning calls convolution. */
export const CUDNN_CROSS_CORRELATION = 1;

type Status = number;
type Out<T> = [T];
type Scalar = Float32Array | Float64Array;
type Desc = Handle;

function bind(lib: Library) {
  const f = <T extends (...args: never[]) => unknown>(signature: string): T => lib.func(signature) as unknown as T;
  const create = (what: string) => f<(d: Out<Desc>) => Status>(`int cudnnCreate${what}Descriptor(_Out_ void **desc)`);
  const destroy = (what: string) => f<(d: Desc) => Status>(`int cudnnDestroy${what}Descriptor(void *desc)`);
  // The three Find calls share a signature and a result layout (cudnnConvolution*AlgoPerf_t).
  const find = (pass: string) => f<(h: Handle, a: Desc, b: Desc, conv: Desc, c: Desc, requested: number, returned: Out<number>, perf: Buffer) => Status>(
    `int cudnnFindConvolution${pass}Algorithm(void *h, void *a, void *b, void *conv, void *c, int requested, _Out_ int *returned, void *perf)`);
  const workspace = (pass: string) => f<(h: Handle, a: Desc, b: Desc, conv: Desc, c: Desc, algo: number, bytes: Out<number>) => Status>(
    `int cudnnGetConvolution${pass}WorkspaceSize(void *h, void *a, void *b, void *conv, void *c, int algo, _Out_ size_t *bytes)`);
  // alpha, aDesc, a, bDesc, b, conv, algo, workspace, bytes, beta, outDesc, out: the order of all three passes.
  const run = (name: string) => f<(
    h: Handle, alpha: Scalar, aDesc: Desc, a: DevicePtr, bDesc: Desc, b: DevicePtr, conv: Desc, algo: number,
    ws: DevicePtr, wsBytes: number, beta: Scalar, outDesc: Desc, out: DevicePtr,
  ) => Status>(`int ${name}(void *h, const void *alpha, void *aDesc, uint64_t a, void *bDesc, uint64_t b, void *conv, int algo, uint64_t ws, size_t wsBytes, const void *beta, void *outDesc, uint64_t out)`);
  return {
    getVersion: f<() => number>('size_t cudnnGetVersion()'),
    getErrorString: f<(status: Status) => string>('const char *cudnnGetErrorString(int status)'),
    create: f<(h: Out<Handle>) => Status>('int cudnnCreate(_Out_ void **handle)'),
    setStream: f<(h: Handle, stream: Handle) => Status>('int cudnnSetStream(void *handle, void *stream)'),
    createTensor: create('Tensor'),
    destroyTensor: destroy('Tensor'),
    setTensor4d: f<(d: Desc, type: number, n: number, c: number, h: number, w: number, ns: number, cs: number, hs: number, ws: number) => Status>(
      'int cudnnSetTensor4dDescriptorEx(void *d, int type, int n, int c, int h, int w, int ns, int cs, int hs, int ws)'),
    createFilter: create('Filter'),
    destroyFilter: destroy('Filter'),
    setFilter4d: f<(d: Desc, type: number, format: number, k: number, c: number, h: number, w: number) => Status>(
      'int cudnnSetFilter4dDescriptor(void *d, int type, int format, int k, int c, int h, int w)'),
    createConvolution: create('Convolution'),
    destroyConvolution: destroy('Convolution'),
    setConvolution2d: f<(d: Desc, ph: number, pw: number, sh: number, sw: number, dh: number, dw: number, mode: number, compute: number) => Status>(
      'int cudnnSetConvolution2dDescriptor(void *d, int ph, int pw, int sh, int sw, int dh, int dw, int mode, int compute)'),
    setConvolutionMathType: f<(d: Desc, math: number) => Status>('int cudnnSetConvolutionMathType(void *d, int math)'),
    findForward: find('Forward'),
    findBackwardData: find('BackwardData'),
    findBackwardFilter: find('BackwardFilter'),
    forwardWorkspace: workspace('Forward'),
    backwardDataWorkspace: workspace('BackwardData'),
    backwardFilterWorkspace: workspace('BackwardFilter'),
    forward: run('cudnnConvolutionForward'),
    backwardData: run('cudnnConvolutionBackwardData'),
    backwardFilter: run('cudnnConvolutionBackwardFilter'),
  };
}

export type CudnnApi = ReturnType<typeof bind>;
let api: CudnnApi | null | undefined;
let library: Library | null = null;
let loadError = '';

/** cuDNN, loaded on first use; null when it is not installed (the reason is in cudnnUnavailableReason()). */
export function cudnn(): CudnnApi | null {
  if (api === undefined) {
    try {
      library = loadLibrary('cuDNN (libcudnn)', ['libcudnn.so.9', 'libcudnn.so.8', 'libcudnn.so']);
      api = bind(library);
    } catch (e) {
      api = null;
      loadError = e instanceof Error ? e.message : String(e);
    }
  }
  return api;
}

export function cudnnUnavailableReason(): string {
  return loadError;
}

/** A cuDNN failure: the call, cuDNN's own status text, and the dl4ts operation it served. */
export class CudnnError extends CudaError {
  constructor(call: string, status: number, op?: string) {
    super(call, status, api ? api.getErrorString(status) : `CUDNN_STATUS_${status}`, op);
    this.name = 'CudnnError';
  }
}

export function checkCudnn(status: Status, call: string, op?: string): void {
  if (status !== 0) throw new CudnnError(call, status, op);
}

/** A descriptor handle from cudnnCreate*Descriptor. */
export function createDescriptor(lib: CudnnApi, kind: 'Tensor' | 'Filter' | 'Convolution', op: string): Desc {
  const d: Out<Desc> = [null];
  checkCudnn(lib[`create${kind}`](d), `cudnnCreate${kind}Descriptor`, op);
  return d[0];
}

/** A device's cuDNN handle, bound to its stream so convolutions are ordered with the kernels. */
export interface CudnnContext {
  readonly lib: CudnnApi;
  /** The loaded library (its graph API is bound separately, cudnn-graph.ts). */
  readonly library: Library;
  readonly handle: Handle;
  readonly version: number;
  readonly one32: Float32Array;
  readonly zero32: Float32Array;
  readonly one64: Float64Array;
  readonly zero64: Float64Array;
}

const contexts = new WeakMap<CudaDevice, CudnnContext | null>();

/** The device's cuDNN context, or null without cuDNN (or when a handle cannot be made: the backend falls back). */
export function cudnnContext(device: CudaDevice): CudnnContext | null {
  if (contexts.has(device)) return contexts.get(device)!;
  const lib = cudnn();
  let ctx: CudnnContext | null = null;
  if (lib && library) {
    device.makeCurrent();
    const h: Out<Handle> = [null];
    const status = lib.create(h);
    if (status === 0) {
      checkCudnn(lib.setStream(h[0], device.stream), 'cudnnSetStream');
      ctx = {
        lib, library, handle: h[0], version: Number(lib.getVersion()),
        one32: Float32Array.of(1), zero32: Float32Array.of(0), one64: Float64Array.of(1), zero64: Float64Array.of(0),
      };
    } else {
      loadError = `cudnnCreate failed: ${lib.getErrorString(status)}`;
    }
  }
  contexts.set(device, ctx);
  return ctx;
}
