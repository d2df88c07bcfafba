/**
 * A barrier between the worker threads of one group, in shared memory: a sense-counting barrier
 * (the last rank to arrive resets the count and advances the generation) whose waits poll an abort
 * flag and give up after a timeout, so a dead peer never leaves the others blocked. The main thread
 * holds the same words and sets the flag when a worker dies.
 */
import { CollectiveAbortedError } from './collective.js';

const COUNT = 0;
const GENERATION = 1;
const ABORTED = 2;
const CONTROL_INTS = 4;
const POLL_MS = 100;

/** The shared control words of a new group. */
export function createBarrierControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_INTS * 4);
}

/** Main thread (or any rank): makes every current and future wait of the group throw. */
export function abortBarrier(control: SharedArrayBuffer): void {
  const words = new Int32Array(control);
  Atomics.store(words, ABORTED, 1);
  Atomics.notify(words, GENERATION);
}

export class HostBarrier {
  private readonly words: Int32Array;

  /** `label` names the collective in errors (e.g. 'NcclCollective'). */
  constructor(
    control: SharedArrayBuffer,
    private readonly rank: number,
    private readonly size: number,
    private readonly timeoutMs: number,
    private readonly label: string,
  ) {
    this.words = new Int32Array(control);
  }

  get aborted(): boolean {
    return Atomics.load(this.words, ABORTED) !== 0;
  }

  checkAborted(op: string): void {
    if (this.aborted) throw new CollectiveAbortedError(`${this.label}.${op}: rank ${this.rank} of ${this.size}: the group was aborted (another worker failed)`);
  }

  /** Returns once every rank has arrived; throws when the group is aborted or a peer is late by timeoutMs (aborting the group). */
  wait(op: string): void {
    const c = this.words;
    this.checkAborted(op);
    const generation = Atomics.load(c, GENERATION);
    if (Atomics.add(c, COUNT, 1) === this.size - 1) {
      Atomics.store(c, COUNT, 0);
      Atomics.add(c, GENERATION, 1);
      Atomics.notify(c, GENERATION);
      return;
    }
    const deadline = performance.now() + this.timeoutMs;
    while (Atomics.load(c, GENERATION) === generation) {
      this.checkAborted(op);
      const left = deadline - performance.now();
      if (left <= 0) {
        this.abort();
        throw new CollectiveAbortedError(`${this.label}.${op}: rank ${this.rank} waited ${this.timeoutMs} ms for the other ${this.size - 1} ranks; the group is aborted`);
      }
      Atomics.wait(c, GENERATION, generation, Math.min(left, POLL_MS));
    }
  }

  /** Aborts the whole group (a rank that gave up on its peers). */
  abort(): void {
    Atomics.store(this.words, ABORTED, 1);
    Atomics.notify(this.words, GENERATION);
  }

  /** Sleeps up to `ms` unless the group is aborted meanwhile (for pollers of other conditions). */
  pause(ms: number): void {
    Atomics.wait(this.words, ABORTED, 0, ms);
  }
}
