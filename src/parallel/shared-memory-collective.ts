/**
 * The Collective of CPU workers: values meet in one SharedArrayBuffer and ranks synchronize with an
 * Atomics barrier. Each rank copies its arrays into its own slot, waits at the barrier, then sums
 * every slot in rank order (float64) and writes the mean back, so all ranks get bit-identical
 * results. Arrays larger than a slot go in several rounds. Two regions alternate between rounds,
 * which makes one barrier per round enough: a rank can only overwrite a region after every rank
 * has passed the next round's barrier, i.e. has finished reading it.
 *
 * Waits poll an abort flag that the main thread sets when a worker dies, and give up after
 * `timeoutMs`, so a dead peer never leaves the others blocked.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { dtypeSize, type DataType } from '../ndarray/dtype.js';
import { formatShape } from '../ndarray/shape.js';
import type { Collective, CollectiveGroup, CollectiveInitBase } from './collective.js';
import { HostBarrier, abortBarrier, createBarrierControl } from './host-barrier.js';

/** Each slot starts with [pieces, bytes] (Int32) so ranks can check they passed the same arrays. */
const HEADER_BYTES = 16;
const DEFAULT_SLOT_BYTES = 4 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

export interface SharedMemoryCollectiveInit extends CollectiveInitBase {
  readonly kind: 'shared-memory';
  readonly control: SharedArrayBuffer;
  readonly data: SharedArrayBuffer;
  /** Payload bytes of one rank's slot (a multiple of 8). */
  readonly slotBytes: number;
  /** How long a rank waits at a barrier for the others before aborting the group. */
  readonly timeoutMs: number;
}

export interface SharedMemoryGroupOptions {
  /** Payload bytes per rank and round (default 4 MiB); larger transfers take several rounds. */
  slotBytes?: number;
  /** Barrier wait limit in milliseconds (default 10 minutes). */
  timeoutMs?: number;
}

/** Main thread: the shared buffers of a group of `size` ranks and their init messages. */
export function createSharedMemoryGroup(size: number, options: SharedMemoryGroupOptions = {}): CollectiveGroup<SharedMemoryCollectiveInit> {
  const where = 'createSharedMemoryGroup';
  if (!Number.isInteger(size) || size < 1) throw new Error(`${where}: size must be a positive integer, got ${size}`);
  const requested = options.slotBytes ?? DEFAULT_SLOT_BYTES;
  if (!Number.isInteger(requested) || requested < 8) throw new Error(`${where}: slotBytes must be an integer >= 8, got ${requested}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new Error(`${where}: timeoutMs must be positive, got ${timeoutMs}`);
  const slotBytes = Math.ceil(requested / 8) * 8;
  const control = createBarrierControl();
  const data = new SharedArrayBuffer(2 * size * (HEADER_BYTES + slotBytes));
  const inits = Array.from({ length: size }, (_, rank): SharedMemoryCollectiveInit => ({ kind: 'shared-memory', rank, size, control, data, slotBytes, timeoutMs }));
  return {
    kind: 'shared-memory',
    size,
    inits,
    abort(): void {
      abortBarrier(control);
    },
    close(): void {
      // Nothing to release: the buffers go with the last reference.
    },
  };
}

type FloatArray = Float32Array | Float64Array;

/** A contiguous range of one array that travels in one round, at `byteOffset` within the slot. */
interface Piece {
  readonly array: NDArray;
  readonly start: number;
  readonly count: number;
  readonly byteOffset: number;
}

function typedView(dtype: DataType, buffer: ArrayBufferLike, byteOffset: number, length: number): FloatArray {
  return dtype === 'DOUBLE' ? new Float64Array(buffer, byteOffset, length) : new Float32Array(buffer, byteOffset, length);
}

/** One rank's end of a shared-memory group (worker side). */
export class SharedMemoryCollective implements Collective {
  readonly rank: number;
  readonly size: number;
  private readonly hostBarrier: HostBarrier;
  private readonly data: SharedArrayBuffer;
  private readonly slotBytes: number;
  private readonly stride: number;
  /** Rounds done so far: selects the region (rounds alternate between two). */
  private rounds = 0;
  /** Host staging for reads and writes (backends read into and write from unshared memory only). */
  private staging: ArrayBuffer = new ArrayBuffer(0);
  private sums = new Float64Array(0);
  private closedFlag = false;

  constructor(init: SharedMemoryCollectiveInit) {
    this.rank = init.rank;
    this.size = init.size;
    this.hostBarrier = new HostBarrier(init.control, init.rank, init.size, init.timeoutMs, 'SharedMemoryCollective');
    this.data = init.data;
    this.slotBytes = init.slotBytes;
    this.stride = HEADER_BYTES + init.slotBytes;
  }

  allReduceMean(arrays: readonly NDArray[]): void {
    this.run('allReduceMean', arrays, (pieces, region) => {
      this.publish(pieces, region);
      this.hostBarrier.wait('allReduceMean');
      this.checkPeers('allReduceMean', pieces, region, null);
      for (const p of pieces) this.reducePiece(p, region);
    });
  }

  broadcast(arrays: readonly NDArray[], root: number): void {
    if (!Number.isInteger(root) || root < 0 || root >= this.size) throw new Error(`SharedMemoryCollective.broadcast: root ${root} is not a rank of a group of ${this.size}`);
    this.run('broadcast', arrays, (pieces, region) => {
      if (this.rank === root) this.publish(pieces, region);
      this.hostBarrier.wait('broadcast');
      if (this.rank === root) return;
      this.checkPeers('broadcast', pieces, region, root);
      for (const p of pieces) {
        const src = typedView(p.array.dtype, this.data, this.slotOffset(region, root) + HEADER_BYTES + p.byteOffset, p.count);
        const out = this.stage(p.array.dtype, p.count);
        out.set(src);
        this.writeBack(p, out);
      }
    });
  }

  barrier(): void {
    this.checkOpen('barrier');
    this.hostBarrier.wait('barrier');
  }

  close(): void {
    this.closedFlag = true;
    this.staging = new ArrayBuffer(0);
    this.sums = new Float64Array(0);
  }

  // ---- rounds -------------------------------------------------------------------------------------

  /** Validates the arrays, cuts them into slot-sized rounds and runs `round` on each. */
  private run(op: string, arrays: readonly NDArray[], round: (pieces: Piece[], region: number) => void): void {
    this.checkOpen(op);
    const where = `SharedMemoryCollective.${op}`;
    arrays.forEach((a, i) => {
      if (a.dtype !== 'FLOAT' && a.dtype !== 'DOUBLE') throw new Error(`${where}: array ${i} is ${a.dtype}${formatShape(a.shape)}; only FLOAT and DOUBLE arrays are supported`);
      if (!a.isContiguous) throw new Error(`${where}: array ${i} ${a.dtype}${formatShape(a.shape)} is a non-contiguous view; pass contiguous arrays`);
    });
    let pieces: Piece[] = [];
    let used = 0;
    const flush = (): void => {
      round(pieces, this.rounds & 1);
      this.rounds++;
      pieces = [];
      used = 0;
    };
    for (const a of arrays) {
      const bytes = dtypeSize(a.dtype);
      let start = 0;
      while (start < a.size) {
        if (this.slotBytes - used < bytes) flush();
        const count = Math.min(a.size - start, Math.floor((this.slotBytes - used) / bytes));
        pieces.push({ array: a, start, count, byteOffset: used });
        used += Math.ceil((count * bytes) / 8) * 8;
        start += count;
      }
    }
    // Arrays without elements need no round (every rank skips it alike).
    if (pieces.length > 0) flush();
  }

  private slotOffset(region: number, rank: number): number {
    return (region * this.size + rank) * this.stride;
  }

  /** Copies this rank's pieces (and the header describing them) into its slot. */
  private publish(pieces: readonly Piece[], region: number): void {
    const base = this.slotOffset(region, this.rank);
    const header = new Int32Array(this.data, base, 2);
    header[0] = pieces.length;
    header[1] = pieces.reduce((n, p) => n + p.count * dtypeSize(p.array.dtype), 0);
    for (const p of pieces) {
      const host = this.stage(p.array.dtype, p.count);
      p.array.backend.read(p.array.buffer, (p.array.offset + p.start) * dtypeSize(p.array.dtype), host);
      typedView(p.array.dtype, this.data, base + HEADER_BYTES + p.byteOffset, p.count).set(host);
    }
  }

  /** Throws when a peer's slot describes other arrays than ours (callers broke the contract). */
  private checkPeers(op: string, pieces: readonly Piece[], region: number, only: number | null): void {
    const bytes = pieces.reduce((n, p) => n + p.count * dtypeSize(p.array.dtype), 0);
    for (let r = 0; r < this.size; r++) {
      if (only !== null && r !== only) continue;
      const h = new Int32Array(this.data, this.slotOffset(region, r), 2);
      if (h[0] !== pieces.length || h[1] !== bytes) {
        throw new Error(`SharedMemoryCollective.${op}: rank ${this.rank} passed ${pieces.length} pieces of ${bytes} bytes in round ${this.rounds}, rank ${r} passed ${h[0]} of ${h[1]}; every rank must pass the same arrays in the same order`);
      }
    }
  }

  private reducePiece(p: Piece, region: number): void {
    const sums = this.sumBuffer(p.count);
    sums.fill(0);
    // Rank order is fixed, so every rank rounds identically.
    for (let r = 0; r < this.size; r++) {
      const v = typedView(p.array.dtype, this.data, this.slotOffset(region, r) + HEADER_BYTES + p.byteOffset, p.count);
      for (let i = 0; i < p.count; i++) sums[i]! += v[i]!;
    }
    const out = this.stage(p.array.dtype, p.count);
    for (let i = 0; i < p.count; i++) out[i] = sums[i]! / this.size;
    this.writeBack(p, out);
  }

  private writeBack(p: Piece, values: FloatArray): void {
    p.array.backend.write(p.array.buffer, (p.array.offset + p.start) * dtypeSize(p.array.dtype), values);
    p.array.bumpVersion();
  }

  private stage(dtype: DataType, count: number): FloatArray {
    const bytes = count * dtypeSize(dtype);
    if (this.staging.byteLength < bytes) this.staging = new ArrayBuffer(Math.max(bytes, this.staging.byteLength * 2));
    return typedView(dtype, this.staging, 0, count);
  }

  private sumBuffer(count: number): Float64Array {
    if (this.sums.length < count) this.sums = new Float64Array(Math.max(count, this.sums.length * 2));
    return this.sums.subarray(0, count);
  }

  private checkOpen(op: string): void {
    if (this.closedFlag) throw new Error(`SharedMemoryCollective.${op}: the collective is closed`);
    this.hostBarrier.checkAborted(op);
  }
}

/** Worker side: the collective of the rank described by `init`. */
export function openSharedMemoryCollective(init: SharedMemoryCollectiveInit): SharedMemoryCollective {
  return new SharedMemoryCollective(init);
}
