import koffi from 'koffi';
import { loadLibrary, type Library } from './libraries.js';

/** A CUDA driver API failure: the call, its status name, and the dl4ts operation it served. */
export class CudaError extends Error {
  constructor(
    readonly call: string,
    readonly status: number,
    readonly statusName: string,
    op?: string,
  ) {
    super(`${op ? `${op}: ` : ''}${call} failed with ${statusName} (${status})`);
    this.name = 'CudaError';
  }
}

/** Device pointers are 48-bit addresses: plain numbers are exact. */
export type DevicePtr = number;
export type Handle = unknown;

type Status = number;
type Out<T> = [T];

/** Binds the driver's functions that dl4ts uses, typed. */
function bind(lib: Library) {
  const f = <T extends (...args: never[]) => unknown>(signature: string): T => lib.func(signature) as unknown as T;
  return {
  getErrorName: f<(status: number, out: Out<string | null>) => Status>('int cuGetErrorName(int status, _Out_ const char **name)'),
  init: f<(flags: number) => Status>('int cuInit(unsigned int flags)'),
  driverGetVersion: f<(v: Out<number>) => Status>('int cuDriverGetVersion(_Out_ int *version)'),
  deviceGetCount: f<(n: Out<number>) => Status>('int cuDeviceGetCount(_Out_ int *count)'),
  deviceGet: f<(dev: Out<number>, ordinal: number) => Status>('int cuDeviceGet(_Out_ int *dev, int ordinal)'),
  deviceGetName: f<(name: Buffer, len: number, dev: number) => Status>('int cuDeviceGetName(_Out_ uint8_t *name, int len, int dev)'),
  deviceTotalMem: f<(bytes: Out<number>, dev: number) => Status>('int cuDeviceTotalMem_v2(_Out_ size_t *bytes, int dev)'),
  deviceGetAttribute: f<(v: Out<number>, attr: number, dev: number) => Status>('int cuDeviceGetAttribute(_Out_ int *value, int attrib, int dev)'),
  primaryCtxRetain: f<(ctx: Out<Handle>, dev: number) => Status>('int cuDevicePrimaryCtxRetain(_Out_ void **ctx, int dev)'),
  ctxSetCurrent: f<(ctx: Handle) => Status>('int cuCtxSetCurrent(void *ctx)'),
  ctxSynchronize: f<() => Status>('int cuCtxSynchronize()'),
  streamCreate: f<(stream: Out<Handle>, flags: number) => Status>('int cuStreamCreate(_Out_ void **stream, unsigned int flags)'),
  streamSynchronize: f<(stream: Handle) => Status>('int cuStreamSynchronize(void *stream)'),
  /** CUDA_SUCCESS when the stream's work is done, CUDA_ERROR_NOT_READY (600) while it runs. */
  streamQuery: f<(stream: Handle) => Status>('int cuStreamQuery(void *stream)'),
  streamDestroy: f<(stream: Handle) => Status>('int cuStreamDestroy_v2(void *stream)'),
  memAlloc: f<(ptr: Out<DevicePtr>, bytes: number) => Status>('int cuMemAlloc_v2(_Out_ uint64_t *ptr, size_t bytes)'),
  memFree: f<(ptr: DevicePtr) => Status>('int cuMemFree_v2(uint64_t ptr)'),
  memGetInfo: f<(free: Out<number>, total: Out<number>) => Status>('int cuMemGetInfo_v2(_Out_ size_t *free, _Out_ size_t *total)'),
  memAllocHost: f<(ptr: Out<Handle>, bytes: number) => Status>('int cuMemAllocHost_v2(_Out_ void **ptr, size_t bytes)'),
  memFreeHost: f<(ptr: Handle) => Status>('int cuMemFreeHost(void *ptr)'),
  memcpyHtoDAsync: f<(dst: DevicePtr, src: Handle | ArrayBufferView, bytes: number, stream: Handle) => Status>('int cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t bytes, void *stream)'),
  memcpyDtoHAsync: f<(dst: Handle | ArrayBufferView, src: DevicePtr, bytes: number, stream: Handle) => Status>('int cuMemcpyDtoHAsync_v2(void *dst, uint64_t src, size_t bytes, void *stream)'),
  memcpyDtoDAsync: f<(dst: DevicePtr, src: DevicePtr, bytes: number, stream: Handle) => Status>('int cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t bytes, void *stream)'),
  memcpyPeerAsync: f<(dst: DevicePtr, dstCtx: Handle, src: DevicePtr, srcCtx: Handle, bytes: number, stream: Handle) => Status>('int cuMemcpyPeerAsync(uint64_t dst, void *dstCtx, uint64_t src, void *srcCtx, size_t bytes, void *stream)'),
  memsetD8Async: f<(dst: DevicePtr, value: number, count: number, stream: Handle) => Status>('int cuMemsetD8Async(uint64_t dst, unsigned char value, size_t count, void *stream)'),
  moduleLoadData: f<(mod: Out<Handle>, image: Buffer) => Status>('int cuModuleLoadData(_Out_ void **module, const void *image)'),
  moduleGetFunction: f<(fn: Out<Handle>, mod: Handle, name: string) => Status>('int cuModuleGetFunction(_Out_ void **fn, void *module, const char *name)'),
  /**
   * Launches through a CUlaunchConfig in host memory (grid, block, shared bytes, stream), everything by
   * address: four integers cost koffi less to pass than cuLaunchKernel's eleven (0.45 us a launch on an H200 host).
   */
  launchKernelEx: f<(config: DevicePtr, fn: DevicePtr, params: DevicePtr, extra: 0) => Status>(
    'int cuLaunchKernelEx(uint64_t config, uint64_t f, uint64_t params, uint64_t extra)',
  ),
  streamBeginCapture: f<(stream: Handle, mode: number) => Status>('int cuStreamBeginCapture_v2(void *stream, int mode)'),
  streamEndCapture: f<(stream: Handle, graph: Out<Handle>) => Status>('int cuStreamEndCapture(void *stream, _Out_ void **graph)'),
  graphGetNodes: f<(graph: Handle, nodes: null, count: Out<number>) => Status>('int cuGraphGetNodes(void *graph, void **nodes, _Inout_ size_t *count)'),
  graphInstantiate: f<(exec: Out<Handle>, graph: Handle, flags: number) => Status>('int cuGraphInstantiateWithFlags(_Out_ void **exec, void *graph, unsigned long long flags)'),
  graphDestroy: f<(graph: Handle) => Status>('int cuGraphDestroy(void *graph)'),
  graphLaunch: f<(exec: Handle, stream: Handle) => Status>('int cuGraphLaunch(void *exec, void *stream)'),
  graphExecDestroy: f<(exec: Handle) => Status>('int cuGraphExecDestroy(void *exec)'),
  eventCreate: f<(ev: Out<Handle>, flags: number) => Status>('int cuEventCreate(_Out_ void **event, unsigned int flags)'),
  eventRecord: f<(ev: Handle, stream: Handle) => Status>('int cuEventRecord(void *event, void *stream)'),
  eventSynchronize: f<(ev: Handle) => Status>('int cuEventSynchronize(void *event)'),
  eventQuery: f<(ev: Handle) => Status>('int cuEventQuery(void *event)'),
  eventElapsedTime: f<(ms: Out<number>, start: Handle, end: Handle) => Status>('int cuEventElapsedTime(_Out_ float *ms, void *start, void *end)'),
  eventDestroy: f<(ev: Handle) => Status>('int cuEventDestroy_v2(void *event)'),
  };
}

export type CudaDriver = ReturnType<typeof bind>;
let driver: CudaDriver | undefined;

/** The CUDA driver API, loaded on first use (importing this module never needs a GPU). */
export function cu(): CudaDriver {
  driver ??= bind(loadLibrary('the CUDA driver (libcuda)', ['libcuda.so.1', 'libcuda.so']));
  return driver;
}

export function statusName(status: number): string {
  const out: Out<string | null> = [null];
  return cu().getErrorName(status, out) === 0 && out[0] ? out[0] : `CUDA_ERROR_${status}`;
}

/** Throws a CudaError unless the call succeeded. */
export function check(status: Status, call: string, op?: string): void {
  if (status !== 0) throw new CudaError(call, status, statusName(status), op);
}

/** Calls a driver function with one out parameter and returns its value. */
export function out<T>(call: string, fn: (o: Out<T>) => Status, initial: T, op?: string): T {
  const o: Out<T> = [initial];
  check(fn(o), call, op);
  return o[0];
}

export const CU_DEVICE_ATTRIBUTE = {
  MAX_THREADS_PER_BLOCK: 1,
  MAX_GRID_DIM_X: 5,
  MULTIPROCESSOR_COUNT: 16,
  COMPUTE_CAPABILITY_MAJOR: 75,
  COMPUTE_CAPABILITY_MINOR: 76,
} as const;

/** The address behind an opaque handle or a buffer, as a number (host addresses fit in 48 bits). */
export function addressOf(handleOrBuffer: unknown): number {
  return Number(koffi.address(handleOrBuffer) as bigint);
}

export { koffi };
