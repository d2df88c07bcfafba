/**
 * Float32 master weights for networks whose parameters are HALF or BFLOAT16. A 16-bit parameter
 * cannot take an update much smaller than its own spacing (about 2^-11 of its value in HALF, 2^-8 in
 * BFLOAT16), and 16-bit optimizer state underflows (Adam's squared gradients go to 0 in HALF), so the
 * updaters work on a FLOAT copy of each trained parameter and the 16-bit parameter is refreshed from
 * it after every step. The forward and backward passes keep using the 16-bit arrays.
 *
 * A parameter written from outside the step (setParams, a restored file, parameter averaging) is
 * noticed by its storage version, and its master is re-derived from the new 16-bit values before
 * the masters are next read: no values are compared, so nothing is read back to JavaScript.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { isHalfFloat, type DataType } from '../ndarray/dtype.js';
import { keep, scope } from '../ndarray/scope.js';
import { noGrad } from '../autodiff/tape.js';
import { cast } from '../ops/views.js';
import { describe } from '../ops/util.js';

/** The updater-state name under which a parameter's master weights are saved ('3/MASTER'). */
export const MASTER_STATE_NAME = 'MASTER';

/** The type the masters, the updater state and the updaters' arithmetic use. */
export const MASTER_DTYPE: DataType = 'FLOAT';

/** Whether parameters of this type train through FLOAT master weights. */
export function needsMasterWeights(dtype: DataType): boolean {
  return isHalfFloat(dtype);
}

interface Slot {
  readonly param: NDArray;
  readonly master: NDArray;
  /** The parameter's storage version when it last matched the master (any other write bumps it). */
  version: number;
}

/** The masters of some parameters, keyed by their index in the model's flat parameter list. */
export class MasterWeights {
  private readonly slots = new Map<number, Slot>();

  /** `params` maps flat parameter index to the 16-bit parameter it shadows. */
  constructor(params: ReadonlyMap<number, NDArray>) {
    noGrad(() => {
      for (const [k, param] of params) this.slots.set(k, { param, master: keep(cast(param, MASTER_DTYPE)), version: param.storageVersion });
    });
  }

  has(index: number): boolean {
    return this.slots.has(index);
  }

  /** The master of parameter `index` (synced), or null when that parameter has none. */
  master(index: number): NDArray | null {
    const s = this.slots.get(index);
    if (!s) return null;
    this.syncSlot(s);
    return s.master;
  }

  /** Re-derives every master whose parameter was written since the master last matched it. */
  sync(): void {
    for (const s of this.slots.values()) this.syncSlot(s);
  }

  /** Writes the masters (rounded) into the 16-bit parameters after an update. */
  refresh(): void {
    noGrad(() => {
      for (const s of this.slots.values()) {
        s.param.assign(s.master);
        s.version = s.param.storageVersion;
      }
    });
  }

  /** The masters by `${index}/MASTER`, synced; the arrays stay owned by this object. */
  state(): Record<string, NDArray> {
    const out: Record<string, NDArray> = {};
    for (const [k, s] of this.slots) {
      this.syncSlot(s);
      out[`${k}/${MASTER_STATE_NAME}`] = s.master;
    }
    return out;
  }

  /**
   * Copies saved master values in (cast to FLOAT, moved to the parameter's backend). They become
   * what training continues from, so they are taken as matching the parameters as they are now:
   * restore the parameters first, then the masters (as the serializer and clone() do).
   */
  setMaster(index: number, value: NDArray, where: string): void {
    const s = this.slots.get(index);
    if (!s) throw new Error(`${where}: '${index}/${MASTER_STATE_NAME}' given, but parameter ${index} has no master weights`);
    if (value.rank !== s.master.rank || value.shape.some((d, j) => d !== s.master.shape[j])) {
      throw new Error(`${where}: '${index}/${MASTER_STATE_NAME}' is ${describe(value)}, expected the shape of parameter ${index} ${describe(s.param)}`);
    }
    noGrad(() => scope(() => s.master.assign(value.backend === s.master.backend ? value : value.toBackend(s.master.backend))));
    s.version = s.param.storageVersion;
  }

  close(): void {
    for (const s of this.slots.values()) s.master.close();
    this.slots.clear();
  }

  private syncSlot(s: Slot): void {
    if (s.param.storageVersion === s.version) return;
    noGrad(() => s.master.assign(s.param));
    s.version = s.param.storageVersion;
  }
}
