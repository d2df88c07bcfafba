/** The messages between the main thread and parallel workers (all structured-clonable). */
import type { MemoryReport } from '../ndarray/memory.js';
import type { CollectiveInit } from './collective-factory.js';
import type { PackedArray, PackedBatch } from './transfer.js';

/** What a worker is for. */
export type WorkerRole = 'train' | 'infer';

/** workerData of a worker: fixed for its life. */
export interface WorkerSetup {
  readonly role: WorkerRole;
  readonly rank: number;
  /** The backend the worker binds to (setBackend) before anything else runs. */
  readonly backend: string;
  /** Training workers' end of the collective group. */
  readonly collective: CollectiveInit | null;
  /** Module URLs imported first (custom backends, layers, test hooks). */
  readonly modules: readonly string[];
}

export type WorkerRequest =
  /**
   * Replace the replica by the model in these bytes (ModelSerializer format; a ComputationGraph's when
   * `graph`); `seed` (when given) reseeds the worker's random generator, so dropout differs between
   * workers yet replays per run.
   */
  | { readonly type: 'load'; readonly model: SharedArrayBuffer; readonly graph: boolean; readonly sharedGradients: boolean; readonly seed?: bigint }
  /**
   * One training step on `data` at the given counters. With shared gradients the data-loss
   * gradients are multiplied by `gradientScale` before they are averaged over the workers.
   */
  | { readonly type: 'step'; readonly data: PackedBatch; readonly gradientScale: number; readonly iteration: number; readonly epoch: number; readonly wantScore: boolean }
  /** Parameters (and updater state) multiplied by `scale`, then averaged over the workers. */
  | { readonly type: 'average'; readonly scale: number; readonly updaters: boolean }
  /** The replica's bytes (ModelSerializer format, with updater state). */
  | { readonly type: 'save' }
  /** The replica's outputs for `inputs` (one per graph input; a MultiLayerNetwork takes one). */
  | { readonly type: 'output'; readonly inputs: readonly PackedArray[] }
  /** The worker's memoryReport() (leak checks, tuning). */
  | { readonly type: 'memory' }
  /** Release everything and end the thread (no reply: the main thread sees it exit). */
  | { readonly type: 'shutdown' };

export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'done' }
  | { readonly type: 'stepped'; readonly score: number | null }
  | { readonly type: 'saved'; readonly model: Uint8Array }
  /** One array per graph output (a MultiLayerNetwork gives one). */
  | { readonly type: 'output'; readonly outputs: readonly PackedArray[] }
  | { readonly type: 'memory'; readonly report: MemoryReport }
  | { readonly type: 'error'; readonly name: string; readonly message: string; readonly stack: string | null };

export type ReplyOf<T extends WorkerReply['type']> = Extract<WorkerReply, { type: T }>;

/** An exception as a reply. */
export function errorReply(e: unknown): WorkerReply {
  const err = e instanceof Error ? e : new Error(String(e));
  return { type: 'error', name: err.name, message: err.message, stack: err.stack ?? null };
}
