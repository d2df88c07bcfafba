/**
 * NCCL through koffi: the calls data parallelism needs (communicators, all-reduce, broadcast),
 * loaded on first use. Device addresses travel as 64-bit integers, as in driver.ts.
 */
import type { DataType } from '../../ndarray/dtype.js';
import { CudaError, koffi, type DevicePtr, type Handle } from './driver.js';
import { loadLibrary, type Library } from './libraries.js';

type Status = number;
type Out<T> = [T];

/** ncclUniqueId: 128 opaque bytes, made by one rank and given to all (by value). */
koffi.struct('dl4ts_ncclUniqueId', { internal: koffi.array('uint8', 128) });
export const NCCL_UNIQUE_ID_BYTES = 128;

function bind(lib: Library) {
  const f = <T extends (...args: never[]) => unknown>(signature: string): T => lib.func(signature) as unknown as T;
  return {
    getVersion: f<(v: Out<number>) => Status>('int ncclGetVersion(_Out_ int *version)'),
    getErrorString: f<(status: Status) => string>('const char *ncclGetErrorString(int status)'),
    getUniqueId: f<(id: { internal?: number[] }) => Status>('int ncclGetUniqueId(_Out_ dl4ts_ncclUniqueId *id)'),
    commInitRank: f<(comm: Out<Handle>, nranks: number, id: { internal: number[] }, rank: number) => Status>(
      'int ncclCommInitRank(_Out_ void **comm, int nranks, dl4ts_ncclUniqueId id, int rank)'),
    commDestroy: f<(comm: Handle) => Status>('int ncclCommDestroy(void *comm)'),
    commAbort: f<(comm: Handle) => Status>('int ncclCommAbort(void *comm)'),
    commGetAsyncError: f<(comm: Handle, status: Out<number>) => Status>('int ncclCommGetAsyncError(void *comm, _Out_ int *status)'),
    allReduce: f<(send: DevicePtr, recv: DevicePtr, count: number, type: number, op: number, comm: Handle, stream: Handle) => Status>(
      'int ncclAllReduce(uint64_t send, uint64_t recv, size_t count, int type, int op, void *comm, void *stream)'),
    broadcast: f<(send: DevicePtr, recv: DevicePtr, count: number, type: number, root: number, comm: Handle, stream: Handle) => Status>(
      'int ncclBroadcast(uint64_t send, uint64_t recv, size_t count, int type, int root, void *comm, void *stream)'),
    groupStart: f<() => Status>('int ncclGroupStart()'),
    groupEnd: f<() => Status>('int ncclGroupEnd()'),
  };
}

export type NcclApi = ReturnType<typeof bind>;
let api: NcclApi | undefined;

/** NCCL, loaded on first use; throws naming what was tried when it is not installed. */
export function nccl(): NcclApi {
  api ??= bind(loadLibrary('NCCL (libnccl)', ['libnccl.so.2', 'libnccl.so']));
  return api;
}

export class NcclError extends CudaError {
  constructor(call: string, status: number, op?: string) {
    super(call, status, api ? api.getErrorString(status) : `ncclResult ${status}`, op);
    this.name = 'NcclError';
  }
}

export function checkNccl(status: Status, call: string, op?: string): void {
  if (status !== 0) throw new NcclError(call, status, op);
}

/** ncclDataType_t */
const NCCL_TYPE: Partial<Record<DataType, number>> = { UINT8: 1, INT32: 2, INT64: 4, HALF: 6, FLOAT: 7, DOUBLE: 8, BFLOAT16: 9 };

export function ncclType(dtype: DataType, op: string): number {
  const t = NCCL_TYPE[dtype];
  if (t === undefined) throw new Error(`${op}: NCCL cannot reduce ${dtype} arrays`);
  return t;
}

/** ncclRedOp_t */
export const NCCL_SUM = 0;
export const NCCL_AVG = 4;

/** A new unique id as plain bytes (structured-clonable, for posting to workers). */
export function ncclUniqueId(): number[] {
  const id: { internal?: number[] } = {};
  checkNccl(nccl().getUniqueId(id), 'ncclGetUniqueId');
  return Array.from(id.internal!);
}
