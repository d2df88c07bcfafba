import { CachingAllocator } from './allocator.js';
import { cudaConfiguration } from './config.js';
import { CU_DEVICE_ATTRIBUTE, CudaError, addressOf, check, cu, koffi, out, statusName, type DevicePtr, type Handle } from './driver.js';
import { KernelLibrary } from './kernel-library.js';

const CUDA_ERROR_OUT_OF_MEMORY = 2;

let initialized = false;

function init(): void {
  if (initialized) return;
  check(cu().init(0), 'cuInit');
  initialized = true;
}

export function deviceCount(): number {
  init();
  return out('cuDeviceGetCount', (o) => cu().deviceGetCount(o), 0);
}

/** A pinned host buffer and the event of the last upload that read it (null: nothing in flight). */
interface PinnedBlock {
  readonly ptr: Handle;
  readonly size: number;
  event: Handle | null;
}

/**
 * Pinned (page-locked) host buffers for transfers, cached by size under the host limits. An upload
 * leaves its block in flight behind an event: the block is handed out again only once that copy
 * is done, so uploads never make the host wait for the stream.
 */
class PinnedHostCache {
  private readonly free = new Map<number, PinnedBlock[]>();
  private cachedBytes = 0;

  take(bytes: number): PinnedBlock {
    const size = 2 ** Math.ceil(Math.log2(Math.max(bytes, 4096)));
    const block = this.free.get(size)?.pop();
    if (block) {
      this.cachedBytes -= size;
      settle(block);
      return block;
    }
    return { ptr: out('cuMemAllocHost', (o) => cu().memAllocHost(o, size), null as Handle, 'pinned host allocation'), size, event: null };
  }

  /** Returns a block; `inFlight` marks an upload from it queued on `stream` and not yet waited for. */
  give(block: PinnedBlock, inFlight: Handle | null = null): void {
    if (inFlight) {
      block.event ??= out('cuEventCreate', (o) => cu().eventCreate(o, CU_EVENT_DISABLE_TIMING), null as Handle);
      check(cu().eventRecord(block.event, inFlight), 'cuEventRecord');
    }
    const { maximumHostCache, maximumHostCacheableLength } = cudaConfiguration();
    if (block.size > maximumHostCacheableLength || this.cachedBytes + block.size > maximumHostCache) {
      settle(block);
      if (block.event) check(cu().eventDestroy(block.event), 'cuEventDestroy');
      check(cu().memFreeHost(block.ptr), 'cuMemFreeHost');
      return;
    }
    const list = this.free.get(block.size) ?? [];
    list.push(block);
    this.free.set(block.size, list);
    this.cachedBytes += block.size;
  }

  get bytes(): number {
    return this.cachedBytes;
  }
}

/** Waits for the block's last upload (usually long finished) before the host writes it again. */
function settle(block: PinnedBlock): void {
  if (block.event) check(cu().eventSynchronize(block.event), 'cuEventSynchronize', 'pinned staging');
}

/** cuEventCreate flag: an event only for ordering and completion (cheaper to record). */
export const CU_EVENT_DISABLE_TIMING = 2;

/** Transfers at least this large are staged through pinned memory (DMA at full speed, no host wait). */
const PINNED_THRESHOLD = 64 * 1024;

/**
 * One GPU as seen from one thread: its primary context, a stream, a caching allocator and the
 * kernels compiled for its architecture. Work is queued on the stream; the host waits only to read.
 */
export class CudaDevice {
  readonly ctx: Handle;
  readonly stream: Handle;
  /** The stream handle's address, as kernel launches take it. */
  readonly streamAddress: number;
  readonly name: string;
  readonly computeCapability: [number, number];
  readonly multiprocessors: number;
  readonly totalMemory: number;
  readonly allocator: CachingAllocator;
  readonly kernels: KernelLibrary;
  /** Set while the stream is captured into a graph (graph.ts): work is recorded, not run. */
  capturing = false;
  private readonly pinned = new PinnedHostCache();

  constructor(readonly ordinal: number) {
    init();
    const dev = out('cuDeviceGet', (o) => cu().deviceGet(o, ordinal), 0);
    this.ctx = out('cuDevicePrimaryCtxRetain', (o) => cu().primaryCtxRetain(o, dev), null as Handle);
    this.makeCurrent();
    const nameBuf = Buffer.alloc(256);
    check(cu().deviceGetName(nameBuf, 256, dev), 'cuDeviceGetName');
    this.name = nameBuf.toString('utf8').replace(/\0.*$/s, '');
    const attr = (a: number): number => out('cuDeviceGetAttribute', (o) => cu().deviceGetAttribute(o, a, dev), 0);
    this.computeCapability = [attr(CU_DEVICE_ATTRIBUTE.COMPUTE_CAPABILITY_MAJOR), attr(CU_DEVICE_ATTRIBUTE.COMPUTE_CAPABILITY_MINOR)];
    this.multiprocessors = attr(CU_DEVICE_ATTRIBUTE.MULTIPROCESSOR_COUNT);
    this.totalMemory = out('cuDeviceTotalMem', (o) => cu().deviceTotalMem(o, dev), 0);
    this.stream = out('cuStreamCreate', (o) => cu().streamCreate(o, 1 /* non-blocking w.r.t. the legacy stream */), null as Handle);
    this.streamAddress = addressOf(this.stream);
    this.kernels = new KernelLibrary(`sm_${this.computeCapability[0]}${this.computeCapability[1]}`);
    this.allocator = new CachingAllocator(
      `cuda:${ordinal} allocator`,
      {
        alloc: (bytes) => {
          const ptr: [DevicePtr] = [0];
          const status = cu().memAlloc(ptr, bytes);
          if (status === CUDA_ERROR_OUT_OF_MEMORY) return null;
          if (status !== 0) throw new CudaError('cuMemAlloc', status, statusName(status), `allocating ${bytes} bytes`);
          return Number(ptr[0]);
        },
        free: (ptr) => {
          // Queued kernels may still read this memory: the stream must drain before the driver reuses it.
          check(cu().streamSynchronize(this.stream), 'cuStreamSynchronize');
          check(cu().memFree(ptr), 'cuMemFree');
        },
      },
      () => {
        const c = cudaConfiguration();
        return { maxCache: c.maximumDeviceCache, maxCacheableLength: c.maximumDeviceCacheableLength };
      },
    );
  }

  makeCurrent(): void {
    check(cu().ctxSetCurrent(this.ctx), 'cuCtxSetCurrent');
  }

  /** Throws when the stream is being captured: `what` needs the host to wait for, or hand data to, the GPU. */
  assertNotCapturing(op: string, what: string, hint = ''): void {
    if (this.capturing) {
      throw new Error(`${op}: cannot ${what} inside a captured step: the step is recorded once and replayed without running JavaScript (cuda:${this.ordinal})${hint}`);
    }
  }

  synchronize(op = 'synchronize'): void {
    this.assertNotCapturing(op, 'wait for the GPU');
    check(cu().streamSynchronize(this.stream), 'cuStreamSynchronize', op);
  }

  upload(dst: DevicePtr, data: ArrayBufferView): void {
    this.assertNotCapturing('write', 'copy host data to the GPU', '; write into the step\'s input arrays before running it');
    const bytes = data.byteLength;
    if (bytes === 0) return;
    if (bytes < PINNED_THRESHOLD) {
      // Pageable source: the driver stages it before returning, so the caller may reuse `data` at once.
      check(cu().memcpyHtoDAsync(dst, data, bytes, this.stream), 'cuMemcpyHtoDAsync', 'write');
      return;
    }
    // Events belong to a context: this device's must be current (a thread may use several devices).
    this.makeCurrent();
    const block = this.pinned.take(bytes);
    let queued = false;
    try {
      new Uint8Array(koffi.view(block.ptr, bytes) as ArrayBuffer).set(new Uint8Array(data.buffer, data.byteOffset, bytes));
      check(cu().memcpyHtoDAsync(dst, block.ptr, bytes, this.stream), 'cuMemcpyHtoDAsync', 'write');
      queued = true;
    } finally {
      // The copy runs on behind the block's event; the caller's `data` was already copied.
      this.pinned.give(block, queued ? this.stream : null);
    }
  }

  download(out: ArrayBufferView, src: DevicePtr): void {
    this.assertNotCapturing('read', 'read values back to the host');
    const bytes = out.byteLength;
    if (bytes === 0) return;
    if (bytes < PINNED_THRESHOLD) {
      check(cu().memcpyDtoHAsync(out, src, bytes, this.stream), 'cuMemcpyDtoHAsync', 'read');
      this.synchronize('read');
      return;
    }
    const block = this.pinned.take(bytes);
    try {
      check(cu().memcpyDtoHAsync(block.ptr, src, bytes, this.stream), 'cuMemcpyDtoHAsync', 'read');
      this.synchronize('read');
      new Uint8Array(out.buffer, out.byteOffset, bytes).set(new Uint8Array(koffi.view(block.ptr, bytes) as ArrayBuffer));
    } finally {
      this.pinned.give(block);
    }
  }

  get pinnedCachedBytes(): number {
    return this.pinned.bytes;
  }

  memoryInfo(): { free: number; total: number } {
    const free: [number] = [0];
    const total: [number] = [0];
    check(cu().memGetInfo(free, total), 'cuMemGetInfo');
    return { free: Number(free[0]), total: Number(total[0]) };
  }
}
