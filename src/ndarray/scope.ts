/**
 * Memory scopes: every array created while a scope is open belongs to it and is closed when the
 * scope ends, except what the scope's function returns (moved to the enclosing scope) and what was
 * passed to keep(). Like ND4J's workspaces and tf.tidy, for loops that would otherwise wait for GC.
 */
export interface ScopedResource {
  close(): void;
  readonly closed: boolean;
  /** Called when the resource leaves every scope alive (returned at top level, or kept): from then on only GC may release it. */
  escape(): void;
}

/**
 * Objects that hold arrays (a DataSet, later a network) list them under this key, so that returning
 * the object from a scope keeps its arrays as returning the arrays themselves would.
 */
export const scopeChildren: unique symbol = Symbol('dl4ts.scopeChildren');

export interface HoldsArrays {
  [scopeChildren](): Iterable<unknown>;
}

interface Frame {
  /** In creation order (a push costs less than a Set's add); null where keep() took one out. */
  readonly owned: (ScopedResource | null)[];
}

const frames: Frame[] = [];
const kept = new WeakSet<ScopedResource>();

/** Gives `r` to the innermost open scope; false when no scope is open. */
export function trackInScope(r: ScopedResource): boolean {
  const top = frames[frames.length - 1];
  if (!top) return false;
  top.owned.push(r);
  return true;
}

/** Excludes `r` from every enclosing scope: it lives until closed or unreachable. */
export function keep<T extends ScopedResource>(r: T): T {
  kept.add(r);
  // Usually kept right after it was made: the search from the end is short.
  for (const f of frames) {
    const i = f.owned.lastIndexOf(r);
    if (i >= 0) f.owned[i] = null;
  }
  r.escape();
  return r;
}

function collectReturned(value: unknown, out: Set<ScopedResource>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if ('close' in value && 'closed' in value) {
    out.add(value as ScopedResource);
    return;
  }
  if (scopeChildren in value) {
    for (const v of (value as HoldsArrays)[scopeChildren]()) collectReturned(v, out, seen);
  } else if (Array.isArray(value)) {
    for (const v of value) collectReturned(v, out, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collectReturned(v, out, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectReturned(v, out, seen);
  }
}

function endFrame(frame: Frame, result: unknown): void {
  frames.pop();
  const returned = new Set<ScopedResource>();
  collectReturned(result, returned, new Set());
  const parent = frames[frames.length - 1];
  for (const r of frame.owned) {
    if (!r) continue;
    if (returned.has(r)) {
      if (parent) parent.owned.push(r);
      else r.escape();
    } else if (!kept.has(r)) {
      r.close();
    }
  }
}

/** Runs fn; closes every array it created except those it returns (in arrays, maps or plain objects) or keeps. */
export function scope<T>(fn: () => T): T {
  const frame: Frame = { owned: [] };
  frames.push(frame);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    endFrame(frame, undefined);
    throw e;
  }
  if (result instanceof Promise) {
    endFrame(frame, undefined);
    throw new Error('scope: the function returned a Promise; use scopeAsync for async work');
  }
  endFrame(frame, result);
  return result;
}

/** scope() for async functions. Scopes are a stack: do not interleave two async scopes. */
export async function scopeAsync<T>(fn: () => Promise<T>): Promise<T> {
  const frame: Frame = { owned: [] };
  frames.push(frame);
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    frames.splice(frames.indexOf(frame) + 1);
    endFrame(frame, undefined);
    throw e;
  }
  frames.splice(frames.indexOf(frame) + 1);
  endFrame(frame, result);
  return result;
}
