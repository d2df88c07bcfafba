/**
 * Collective operations between the workers of one data-parallel group (the part of NCCL that
 * ParallelWrapper needs). The interface is device-agnostic: an implementation may move values
 * through shared host memory (SharedMemoryCollective, used on the CPU backend) or between device
 * buffers (NCCL for CUDA workers). Each worker opens its own Collective from a serializable init
 * message that the main thread made for its rank (see collective-factory.ts).
 */
import type { NDArray } from '../ndarray/ndarray.js';

/** One rank's end of a collective group; used from the worker thread that opened it. */
export interface Collective {
  /** This worker's index in the group, 0..size-1. */
  readonly rank: number;
  /** Number of ranks in the group. */
  readonly size: number;
  /**
   * Replaces every array, in place, by its element-wise mean over all ranks. Every rank calls it
   * with the same number of arrays, in the same order, with the same shapes and dtypes; every rank
   * ends with identical values. Blocks until all ranks have contributed.
   */
  allReduceMean(arrays: readonly NDArray[]): void;
  /** Copies the arrays of rank `root` into the other ranks' arrays (same contract as allReduceMean). */
  broadcast(arrays: readonly NDArray[], root: number): void;
  /** Returns once every rank has entered it. */
  barrier(): void;
  /** Releases this rank's resources (communicators, scratch buffers). */
  close(): void;
}

/** What every init message carries; implementations add their own (structured-clonable) fields. */
export interface CollectiveInitBase {
  /** Selects the implementation on the worker side (openCollective's switch). */
  readonly kind: string;
  readonly rank: number;
  readonly size: number;
}

/**
 * The main thread's handle on a group: it makes the per-rank init messages and can abort the group
 * when a worker dies, so that peers blocked in a collective call throw instead of waiting forever.
 */
export interface CollectiveGroup<Init extends CollectiveInitBase = CollectiveInitBase> {
  readonly kind: string;
  readonly size: number;
  /** The init message of each rank (index = rank), to post to that rank's worker. */
  readonly inits: readonly Init[];
  /** Makes every current and future collective call of the group throw CollectiveAbortedError. */
  abort(reason: string): void;
  /** Releases what the main thread holds for the group (after the workers are gone). */
  close(): void;
}

/** Thrown by a collective call when the group was aborted or a peer did not arrive in time. */
export class CollectiveAbortedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CollectiveAbortedError';
  }
}
