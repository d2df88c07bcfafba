/**
 * The Collective of CUDA workers: NCCL all-reduce and broadcast between device buffers, queued on
 * each worker's stream (no trip through the host). The main thread makes the unique id; each worker
 * joins with ncclCommInitRank on the device its thread is bound to. Before queueing a collective
 * the ranks meet at a host barrier (microseconds, abortable, with a timeout): a peer that failed or
 * died is noticed there, before any NCCL kernel waits for it on the GPU, so the survivors throw and
 * nothing hangs. A collective's completion is waited for (by polling an event, also abortable) only
 * when the next one is queued, at barrier() and at close(): the thread meanwhile queues the rest of
 * the step (updater, next forward and backward), so the GPU does not idle while the host catches up.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { type DataType, dtypeSize } from '../ndarray/dtype.js';
import type { Block } from '../backend/cuda/allocator.js';
import { formatShape } from '../ndarray/shape.js';
import { keep } from '../ndarray/scope.js';
import { zeros } from '../ops/create.js';
import { getBackend } from '../backend/registry.js';
import type { CudaBackend } from '../backend/cuda/cuda-backend.js';
import { check, cu, out, type Handle } from '../backend/cuda/driver.js';
import { CU_EVENT_DISABLE_TIMING } from '../backend/cuda/device.js';
import { NCCL_AVG, checkNccl, nccl, ncclType, ncclUniqueId } from '../backend/cuda/nccl.js';
import { ptrOf } from '../backend/cuda/tensor.js';
import { copySegments, segmentTable, type SegmentTable } from '../backend/cuda/segments.js';
import { CollectiveAbortedError, type Collective, type CollectiveGroup, type CollectiveInitBase } from './collective.js';
import { HostBarrier, abortBarrier, createBarrierControl } from './host-barrier.js';

const CUDA_ERROR_NOT_READY = 600;
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;
/** Spin this long on cuEventQuery before sleeping between polls (a step's all-reduce is usually done by then). */
const SPIN_MS = 2;

export interface NcclCollectiveInit extends CollectiveInitBase {
  readonly kind: 'nccl';
  /** ncclUniqueId bytes. */
  readonly id: readonly number[];
  /** The group's host barrier words (host-barrier.ts). */
  readonly control: SharedArrayBuffer;
  readonly timeoutMs: number;
}

/** Main thread: a new NCCL clique of `size` ranks (loads NCCL here; throws when it is missing). */
export function createNcclGroup(size: number, options: { timeoutMs?: number } = {}): CollectiveGroup<NcclCollectiveInit> {
  if (!Number.isInteger(size) || size < 1) throw new Error(`createNcclGroup: size must be a positive integer, got ${size}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const id = ncclUniqueId();
  const control = createBarrierControl();
  return {
    kind: 'nccl',
    size,
    inits: Array.from({ length: size }, (_, rank): NcclCollectiveInit => ({ kind: 'nccl', rank, size, id, control, timeoutMs })),
    abort(): void {
      abortBarrier(control);
    },
    close(): void {
      // The communicators belong to the workers; nothing is held here.
    },
  };
}

export class NcclCollective implements Collective {
  readonly rank: number;
  readonly size: number;
  private comm: Handle;
  private readonly hostBarrier: HostBarrier;
  private readonly timeoutMs: number;
  private readonly backend: CudaBackend;
  private scratch: NDArray | null = null;
  /** Recorded after the last queued collective; `outstanding` until it was seen complete. */
  private readonly done: Handle;
  private outstanding = false;

  constructor(init: NcclCollectiveInit) {
    this.rank = init.rank;
    this.size = init.size;
    this.hostBarrier = new HostBarrier(init.control, init.rank, init.size, init.timeoutMs, 'NcclCollective');
    this.timeoutMs = init.timeoutMs;
    const b = getBackend();
    if (!(b.name === 'cuda' || b.name.startsWith('cuda:'))) throw new Error(`NcclCollective: rank ${init.rank} runs on backend '${b.name}', not a CUDA device`);
    this.backend = b as CudaBackend;
    this.backend.device.makeCurrent();
    const comm: [Handle] = [null];
    checkNccl(nccl().commInitRank(comm, init.size, { internal: [...init.id] }, init.rank), 'ncclCommInitRank', `NcclCollective rank ${init.rank}`);
    this.comm = comm[0];
    this.done = out('cuEventCreate', (o) => cu().eventCreate(o, CU_EVENT_DISABLE_TIMING), null as Handle, `NcclCollective rank ${init.rank}`);
  }

  allReduceMean(arrays: readonly NDArray[]): void {
    this.collective('allReduceMean', arrays, (ptr, count, type, stream) => nccl().allReduce(ptr, ptr, count, type, NCCL_AVG, this.comm, stream));
  }

  broadcast(arrays: readonly NDArray[], root: number): void {
    if (!Number.isInteger(root) || root < 0 || root >= this.size) throw new Error(`NcclCollective.broadcast: root must be a rank in 0..${this.size - 1}, got ${root}`);
    this.collective('broadcast', arrays, (ptr, count, type, stream) => nccl().broadcast(ptr, ptr, count, type, root, this.comm, stream));
  }

  barrier(): void {
    // A one-element all-reduce completes on every rank only after all ranks have queued it.
    this.scratch ??= keep(zeros([1], { dtype: 'FLOAT', backend: this.backend }));
    this.allReduceMean([this.scratch]);
    this.waitOutstanding('barrier');
  }

  close(): void {
    this.scratch?.close();
    this.scratch = null;
    if (this.comm) {
      // After a peer failed, destroying would wait for it: abort instead (it stops pending operations).
      if (!this.hostBarrier.aborted && this.outstanding) {
        try {
          this.waitOutstanding('close');
        } catch {
          // waitOutstanding aborted the communicator; nothing is left to destroy.
        }
      }
      if (this.hostBarrier.aborted) this.abortComm();
      else if (this.comm) checkNccl(nccl().commDestroy(this.comm), 'ncclCommDestroy', 'NcclCollective.close');
      this.comm = null;
    }
    check(cu().eventDestroy(this.done), 'cuEventDestroy', 'NcclCollective.close');
  }

  /**
   * Queues `call` over the arrays. Arrays of one dtype travel together: gathered into one staging
   * buffer by one launch, reduced or broadcast by one NCCL call and scattered back by one launch (a
   * model's gradients are dozens of small arrays, and NCCL pays its latency per call even inside a
   * group, as the host pays a driver call per copy).
   */
  private collective(op: string, arrays: readonly NDArray[], call: (ptr: number, count: number, type: number, stream: Handle) => number): void {
    if (!this.comm) throw new Error(`NcclCollective.${op}: the communicator is closed`);
    this.checkAborted(op);
    const device = this.backend.device;
    for (const a of arrays) {
      if (a.backend !== this.backend) throw new Error(`NcclCollective.${op}: an array ${formatShape(a.shape)} ${a.dtype} lives on '${a.backend.name}', not this rank's '${this.backend.name}'`);
      if (!a.isContiguous) throw new Error(`NcclCollective.${op}: arrays must be contiguous, got a view ${formatShape(a.shape)} with strides [${a.strides.join(', ')}]`);
    }
    // At most one collective in flight: the previous one must have completed on this rank.
    this.waitOutstanding(op);
    try {
      this.hostBarrier.wait(op);
    } catch (e) {
      this.abortComm();
      throw e;
    }
    device.makeCurrent();
    const lib = nccl();
    const byType = new Map<DataType, NDArray[]>();
    for (const a of arrays) {
      if (a.size === 0) continue;
      const group = byType.get(a.dtype);
      if (group) group.push(a);
      else byType.set(a.dtype, [a]);
    }
    const context = `NcclCollective.${op}`;
    // One buffer per dtype: a lone array is reduced in place (table null), several are gathered
    // into a staging block by their segment table.
    const buffers: { ptr: number; count: number; type: number; table: SegmentTable | null }[] = [];
    const blocks: Block[] = [];
    try {
      for (const [dtype, group] of byType) {
        const type = ncclType(dtype, context);
        if (group.length === 1) {
          buffers.push({ ptr: ptrOf(group[0]!), count: group[0]!.size, type, table: null });
          continue;
        }
        const table = segmentTable(device, group, context);
        blocks.push(table.block);
        const block = device.allocator.alloc(table.elements * dtypeSize(dtype));
        blocks.push(block);
        buffers.push({ ptr: block.ptr, count: table.elements, type, table });
        copySegments(device, table, block.ptr, 'in', context);
      }
      checkNccl(lib.groupStart(), 'ncclGroupStart', op);
      try {
        for (const b of buffers) checkNccl(call(b.ptr, b.count, b.type, device.stream), `nccl ${op}`, context);
      } finally {
        checkNccl(lib.groupEnd(), 'ncclGroupEnd', op);
      }
      for (const b of buffers) if (b.table) copySegments(device, b.table, b.ptr, 'out', context);
    } finally {
      // Stream-ordered: the allocator hands the blocks out again only to work queued after the copies.
      for (const b of blocks) device.allocator.free(b);
    }
    // Written in place: autograd's saved values and 16-bit master weights must see the new version.
    for (const a of arrays) a.bumpVersion();
    check(cu().eventRecord(this.done, device.stream), 'cuEventRecord', context);
    this.outstanding = true;
  }

  private checkAborted(op: string): void {
    if (this.hostBarrier.aborted) {
      this.abortComm();
      this.hostBarrier.checkAborted(op);
    }
  }

  private abortComm(): void {
    if (this.comm) {
      nccl().commAbort(this.comm);
      this.comm = null;
    }
  }

  /** Waits for the last queued collective, watching the abort flag and the deadline. */
  private waitOutstanding(op: string): void {
    if (!this.outstanding) return;
    const start = performance.now();
    for (;;) {
      const status = cu().eventQuery(this.done);
      if (status === 0) {
        this.outstanding = false;
        return;
      }
      if (status !== CUDA_ERROR_NOT_READY) check(status, 'cuEventQuery', `NcclCollective.${op}`);
      this.checkAborted(op);
      const waited = performance.now() - start;
      if (waited > this.timeoutMs) {
        this.hostBarrier.abort();
        this.abortComm();
        throw new CollectiveAbortedError(`NcclCollective.${op}: rank ${this.rank} waited ${this.timeoutMs} ms for the other ${this.size - 1} ranks; the communicator is aborted`);
      }
      if (waited > SPIN_MS) this.hostBarrier.pause(1);
    }
  }
}

export function openNcclCollective(init: NcclCollectiveInit): NcclCollective {
  return new NcclCollective(init);
}
