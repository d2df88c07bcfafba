/**
 * The worker threads of ParallelWrapper / ParallelInference: started together, one backend each,
 * with request/reply calls (each worker answers in order). A worker that throws outside a request,
 * exits, or is killed fails the whole pool: the collective group is aborted (peers blocked in it
 * wake up and throw), every pending call rejects with the cause, and all threads are stopped.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { MemoryReport } from '../ndarray/memory.js';
import type { CollectiveGroup } from './collective.js';
import type { CollectiveInit } from './collective-factory.js';
import type { ReplyOf, WorkerReply, WorkerRequest, WorkerRole, WorkerSetup } from './messages.js';

export interface WorkerPoolOptions {
  /** Names the user-facing class in errors ('ParallelWrapper'). */
  readonly owner: string;
  readonly role: WorkerRole;
  /** One entry per worker: the backend it binds to. */
  readonly backends: readonly string[];
  /** The training workers' group (one init per worker), or null. */
  readonly collective: CollectiveGroup<CollectiveInit> | null;
  /** Module URLs every worker imports before binding its backend. */
  readonly modules?: readonly string[];
  /** JavaScript heap limits of each worker (a worker over them dies with ERR_WORKER_OUT_OF_MEMORY). */
  readonly resourceLimits?: ResourceLimits;
}

/** How long terminate() waits for busy workers to finish their request and end by themselves. */
const SHUTDOWN_GRACE_MS = 30_000;

interface PendingCall {
  readonly expect: WorkerReply['type'];
  resolve(reply: WorkerReply): void;
  reject(error: Error): void;
}

/** An error of a worker, rebuilt on this side with its original stack. */
function remoteError(reply: ReplyOf<'error'>): Error {
  const e = new Error(reply.message);
  e.name = reply.name;
  if (reply.stack) e.stack = reply.stack;
  return e;
}

export class WorkerPool {
  private readonly workers: Worker[];
  /** Per worker, the calls awaiting replies in order. */
  private readonly queues: PendingCall[][];
  private readonly exits: Promise<void>[];
  private failure: Error | null = null;
  private stopping = false;
  private killTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly options: WorkerPoolOptions) {
    const { backends, collective, role } = options;
    if (collective && collective.size !== backends.length) {
      throw new Error(`${options.owner}: the collective group has ${collective.size} ranks for ${backends.length} workers`);
    }
    const url = new URL('./worker.js', import.meta.url);
    this.queues = backends.map(() => []);
    this.workers = backends.map((backend, rank) => {
      const setup: WorkerSetup = { role, rank, backend, collective: collective?.inits[rank] ?? null, modules: [...(options.modules ?? [])] };
      return new Worker(url, { workerData: setup, ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}) });
    });
    this.exits = this.workers.map((w, rank) => {
      w.on('message', (reply: WorkerReply) => this.onReply(rank, reply));
      w.on('error', (e: Error) => this.fail(new Error(`${this.describe(rank)} crashed: ${e.message}`, { cause: e })));
      w.on('messageerror', (e: Error) => this.fail(new Error(`${this.describe(rank)}: a message could not be deserialized: ${e.message}`, { cause: e })));
      return new Promise<void>((resolve) =>
        w.once('exit', (code) => {
          if (!this.stopping) this.fail(new Error(`${this.describe(rank)} exited unexpectedly with code ${code}`));
          resolve();
        }),
      );
    });
  }

  /** Starts the workers and waits until each is bound to its backend and ready; throws (with no thread left) when one fails. */
  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    if (options.backends.length === 0) throw new Error(`${options.owner}: no workers to start`);
    const pool = new WorkerPool(options);
    try {
      await Promise.all(pool.workers.map((_, rank) => pool.enqueue(rank, 'ready')));
    } catch (e) {
      await pool.terminate();
      throw e;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** The backend each worker is bound to. */
  get backends(): readonly string[] {
    return this.options.backends;
  }

  /** The cause of the pool's failure, or null while it works. */
  get failed(): Error | null {
    return this.failure;
  }

  /** Sends a request to worker `rank`; resolves with its reply of type `expect`, rejects with its error. */
  call<T extends WorkerReply['type']>(rank: number, request: WorkerRequest, expect: T, transfer: readonly ArrayBuffer[] = []): Promise<ReplyOf<T>> {
    const worker = this.workers[rank];
    if (!worker) throw new Error(`${this.options.owner}: no worker ${rank} (the pool has ${this.workers.length})`);
    if (this.failure) return Promise.reject(this.failure);
    if (this.stopping) return Promise.reject(new Error(`${this.options.owner}: the workers are shut down`));
    const reply = this.enqueue(rank, expect);
    // A failure rejects every pending call at once; callers await them together, so one that is
    // not awaited yet must not count as an unhandled rejection.
    reply.catch(() => undefined);
    try {
      worker.postMessage(request, [...transfer]);
    } catch (e) {
      // Not sent (e.g. an uncloneable value): no reply will come for it.
      this.queues[rank]!.pop()!.reject(new Error(`${this.describe(rank)}: could not send '${request.type}': ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
      this.updateRefs();
    }
    return reply;
  }

  /** Each worker's memoryReport(), in worker order. */
  async memory(): Promise<MemoryReport[]> {
    const replies = await Promise.all(this.workers.map((_, k) => this.call(k, { type: 'memory' }, 'memory')));
    return replies.map((r) => r.report);
  }

  /**
   * Fails the pool with `cause` (first cause wins): aborts the collective, rejects every pending call
   * and terminates all workers. terminate() waits until they are gone.
   */
  fail(cause: Error): void {
    if (this.failure || this.stopping) return;
    this.failure = cause;
    this.options.collective?.abort(cause.message);
    for (const q of this.queues) for (const p of q.splice(0)) p.reject(cause);
    void this.terminate();
  }

  /**
   * Stops every worker and waits for their threads to end. Workers are asked to end by themselves
   * once their current request is done (a rank blocked in a collective wakes up at the abort): a
   * thread killed inside a native call can abort the whole process. One still running after
   * SHUTDOWN_GRACE_MS (stuck) is killed.
   */
  async terminate(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      const reason = this.failure ?? new Error(`${this.options.owner}: the workers were shut down`);
      for (const q of this.queues) for (const p of q.splice(0)) p.reject(reason);
      this.options.collective?.abort('shutdown');
      this.updateRefs();
      for (const w of this.workers) {
        try {
          w.postMessage({ type: 'shutdown' } satisfies WorkerRequest);
        } catch {
          // Already gone: its exit is (or will be) reported.
        }
      }
      this.killTimer = setTimeout(() => {
        for (const w of this.workers) void w.terminate();
      }, SHUTDOWN_GRACE_MS);
    }
    await Promise.all(this.exits);
    clearTimeout(this.killTimer);
    this.options.collective?.close();
  }

  private describe(rank: number): string {
    return `${this.options.owner}: worker ${rank} (${this.options.backends[rank]})`;
  }

  private enqueue<T extends WorkerReply['type']>(rank: number, expect: T): Promise<ReplyOf<T>> {
    return new Promise<ReplyOf<T>>((resolve, reject) => {
      this.queues[rank]!.push({ expect, resolve: resolve as (r: WorkerReply) => void, reject });
      this.updateRefs();
    });
  }

  private onReply(rank: number, reply: WorkerReply): void {
    const call = this.queues[rank]!.shift();
    this.updateRefs();
    if (!call) {
      this.fail(new Error(`${this.describe(rank)} sent an unexpected '${reply.type}' reply`));
      return;
    }
    if (reply.type === 'error') call.reject(new Error(`${this.describe(rank)} failed: ${reply.message}`, { cause: remoteError(reply) }));
    else if (reply.type !== call.expect) call.reject(new Error(`${this.describe(rank)} replied '${reply.type}', expected '${call.expect}'`));
    else call.resolve(reply);
  }

  /**
   * Idle workers do not keep the process alive (a forgotten close() must not hang Node); busy or
   * terminating ones do, so that awaiting their replies or their exit cannot end the event loop.
   */
  private updateRefs(): void {
    const busy = this.stopping || this.queues.some((q) => q.length > 0);
    for (const w of this.workers) {
      if (busy) w.ref();
      else w.unref();
    }
  }
}
