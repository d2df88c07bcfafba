/**
 * A GC safety net (a FinalizationRegistry) whose registrations are batched.
 *
 * Registering costs about as much as a small op, and most objects put under the net are released by
 * their owner (close, `using`, a backward pass) within the synchronous run that made them, before any
 * finalizer could run anyway. So an object waits in a batch that is registered at the next microtask,
 * or once the batch is full, and whatever was released by then is never registered.
 */

export const enum SafetyNetState {
  None,
  Pending,
  Registered,
}

export interface SafetyNetMember<H> {
  /** Kept by SafetyNet: whether the object waits in a batch or is registered. */
  safetyNetState: SafetyNetState;
  /** What the finalizer receives; undefined once the owner released the object itself. */
  safetyNetHeld(): H | undefined;
}

const BATCH_LIMIT = 4096;

export class SafetyNet<H, T extends SafetyNetMember<H>> {
  private readonly registry: FinalizationRegistry<H>;
  private readonly pending: T[] = [];

  constructor(finalize: (held: H) => void) {
    this.registry = new FinalizationRegistry(finalize);
  }

  /** Puts `member` under the net (once). */
  add(member: T): void {
    if (member.safetyNetState !== SafetyNetState.None) return;
    member.safetyNetState = SafetyNetState.Pending;
    const pending = this.pending;
    pending.push(member);
    if (pending.length === 1) queueMicrotask(this.flush);
    else if (pending.length >= BATCH_LIMIT) this.flush();
  }

  /** Takes `member` off the net; its owner has released it (a pending one is skipped by the batch). */
  remove(member: T): void {
    if (member.safetyNetState === SafetyNetState.Registered) this.registry.unregister(member);
    member.safetyNetState = SafetyNetState.None;
  }

  private readonly flush = (): void => {
    for (const member of this.pending) {
      if (member.safetyNetState !== SafetyNetState.Pending) continue;
      const held = member.safetyNetHeld();
      if (held === undefined) {
        member.safetyNetState = SafetyNetState.None;
        continue;
      }
      member.safetyNetState = SafetyNetState.Registered;
      this.registry.register(member, held, member);
    }
    this.pending.length = 0;
  };
}
