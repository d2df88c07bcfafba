/**
 * Which Collective a group uses. The main thread picks the implementation from the backends its
 * workers are bound to and makes one init message per rank; each worker opens its end from that
 * message. A new implementation (NCCL) adds its init type to CollectiveInit, a branch to
 * createCollectiveGroup and a case to openCollective.
 */
import type { Collective, CollectiveGroup, CollectiveInitBase } from './collective.js';
import { createSharedMemoryGroup, openSharedMemoryCollective, type SharedMemoryCollectiveInit } from './shared-memory-collective.js';
import { createNcclGroup, openNcclCollective, type NcclCollectiveInit } from './nccl-collective.js';

/** The init messages of every implementation (structured-clonable). */
export type CollectiveInit = SharedMemoryCollectiveInit | NcclCollectiveInit | SingleRankInit;

interface SingleRankInit extends CollectiveInitBase {
  readonly kind: 'single';
}

/** The collective of a group of one: the mean of one array is itself. */
const SINGLE_RANK: Collective = {
  rank: 0,
  size: 1,
  allReduceMean(): void {},
  broadcast(): void {},
  barrier(): void {},
  close(): void {},
};

function singleRankGroup(): CollectiveGroup<SingleRankInit> {
  return { kind: 'single', size: 1, inits: [{ kind: 'single', rank: 0, size: 1 }], abort(): void {}, close(): void {} };
}

export interface CollectiveGroupOptions {
  /** Bytes the group mostly moves per call (e.g. a model's parameters): sizes staging buffers. */
  payloadBytes?: number;
  /** How long a rank waits for its peers before the group is aborted (milliseconds). */
  timeoutMs?: number;
}

const MIN_SLOT_BYTES = 64 * 1024;
const MAX_SLOT_BYTES = 64 * 1024 * 1024;

/**
 * Main thread: a group for one worker per entry of `backendNames` (rank = index): NCCL when every
 * worker has a CUDA device of its own, shared host memory otherwise (the CPU backend).
 */
export function createCollectiveGroup(backendNames: readonly string[], options: CollectiveGroupOptions = {}): CollectiveGroup<CollectiveInit> {
  // One worker has nobody to meet: every call is a no-op (no host round trip per step).
  if (backendNames.length === 1) return singleRankGroup();
  // CUDA workers on distinct devices meet through NCCL (libnccl is loaded only then); several
  // workers per device (NCCL allows one rank per device) fall back to shared host memory.
  const cuda = backendNames.every((n) => n === 'cuda' || n.startsWith('cuda:'));
  if (cuda && backendNames.length > 1 && new Set(backendNames).size === backendNames.length) {
    return createNcclGroup(backendNames.length, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs });
  }
  const payload = options.payloadBytes ?? MIN_SLOT_BYTES;
  const slotBytes = Math.min(MAX_SLOT_BYTES, Math.max(MIN_SLOT_BYTES, payload));
  return createSharedMemoryGroup(backendNames.length, { slotBytes, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) });
}

/**
 * Worker side: opens this rank's end of the group. Async so that an implementation's bindings (NCCL
 * through koffi) can be imported only in the workers that use them.
 */
export async function openCollective(init: CollectiveInit): Promise<Collective> {
  switch (init.kind) {
    case 'shared-memory':
      return openSharedMemoryCollective(init);
    case 'nccl':
      return openNcclCollective(init);
    case 'single':
      return SINGLE_RANK;
    default:
      throw new Error(`openCollective: unknown collective kind '${(init as CollectiveInitBase).kind}'`);
  }
}
