/**
 * A network's forward and backward pass recorded as one CUDA graph per batch layout and replayed on
 * later steps (captureStep with shared outputs), so a training step costs a few launches of host
 * time instead of one per op. The minibatch is copied into arrays the recording owns before each
 * replay. A pass that cannot be recorded (random layers such as dropout, values read on the host)
 * makes the network train eagerly from then on; `refusal` says why.
 */
import type { Backend } from '../backend/backend.js';
import { CapturedStep } from '../ndarray/captured-step.js';
import type { NDArray } from '../ndarray/ndarray.js';
import { keep, scope, scopeChildren } from '../ndarray/scope.js';
import { noGrad } from '../autodiff/tape.js';

/** A minibatch whose arrays can be listed (in a fixed order, absent masks as null) and mapped. */
export interface RecordableBatch<B> {
  map(fn: (a: NDArray) => NDArray): B;
  [scopeChildren](): Iterable<NDArray | null>;
  close(): void;
}

/** What a pass leaves: the data loss and the trainable parameters' gradients in flat order. */
export type BackpropPass = {
  readonly loss: NDArray;
  readonly grads: NDArray[];
};

const WARMUP = 2;
/**
 * Batch layouts recorded per network: a full batch and the last, shorter one. Each recording keeps a
 * step's memory for itself, so further layouts (variable-length sequences) train eagerly.
 */
const MAX_RECORDINGS = 2;

interface Recording<B> {
  /** The arrays the recording reads its minibatch from. */
  readonly inputs: B;
  readonly step: CapturedStep<BackpropPass>;
}

const arraysOf = <B extends RecordableBatch<B>>(b: B): (NDArray | null)[] => [...b[scopeChildren]()];

function layoutKey(arrays: readonly (NDArray | null)[]): string {
  return arrays.map((a) => (a ? `${a.dtype}[${a.shape.join(',')}]` : '-')).join(' ');
}

export class BackpropRecorder<B extends RecordableBatch<B>> {
  private readonly recordings = new Map<string, Recording<B>>();
  /** Why passes run eagerly, once recording failed (null while it works). */
  refusal: string | null = null;

  /** `pass` runs forward and backward eagerly; `backend` is where the parameters live (capture needs it to record). */
  constructor(
    private readonly pass: (batch: B) => BackpropPass,
    private readonly backend: () => Backend | null,
  ) {}

  /**
   * The pass over `batch`. `replayed` tells whether it came from a recording: its arrays then belong
   * to the recording (valid until the next pass; share() them to keep them).
   */
  run(batch: B): BackpropPass & { readonly replayed: boolean } {
    const arrays = arraysOf(batch);
    const rec = this.recordingFor(batch, arrays);
    if (!rec) return { ...this.pass(batch), replayed: false };
    noGrad(() =>
      scope(() => {
        const target = arraysOf(rec.inputs);
        arrays.forEach((a, i) => {
          if (a) target[i]!.assign(a.backend === target[i]!.backend ? a : a.toBackend(target[i]!.backend));
        });
      }),
    );
    const recording = rec.step.recordsNext;
    try {
      const out = rec.step.run();
      return { ...out, replayed: rec.step.captured };
    } catch (e) {
      if (!recording) throw e;
      this.refuse((e as Error).message);
      return { ...this.pass(batch), replayed: false };
    }
  }

  private recordingFor(batch: B, arrays: readonly (NDArray | null)[]): Recording<B> | null {
    const backend = this.backend();
    if (this.refusal !== null || !backend?.capture) return null;
    const key = layoutKey(arrays);
    const existing = this.recordings.get(key);
    if (existing) return existing;
    if (this.recordings.size >= MAX_RECORDINGS) return null;
    const inputs = noGrad(() => batch.map((a) => keep(a.toBackend(backend))));
    const step = new CapturedStep<BackpropPass>(() => this.pass(inputs), { backend, warmup: WARMUP, outputs: 'shared' });
    const rec: Recording<B> = { inputs, step };
    this.recordings.set(key, rec);
    return rec;
  }

  /** Trains eagerly from now on, for `reason`. */
  refuse(reason: string): void {
    this.refusal = reason;
    this.close();
  }

  /** Batch layouts whose pass is recorded now. */
  get recorded(): number {
    let n = 0;
    for (const r of this.recordings.values()) if (r.step.captured) n++;
    return n;
  }

  /** Frees every recording and its memory. */
  close(): void {
    for (const { inputs, step } of this.recordings.values()) {
      step.close();
      inputs.close();
    }
    this.recordings.clear();
  }
}
