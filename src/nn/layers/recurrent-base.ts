/**
 * What LSTM and SimpleRnn share: the input projection of all time steps in one matmul, the loop of
 * per-step recurrent updates (forwards or backwards in time), DL4J's masking, the stored state of
 * rnnTimeStep, and the l1/l2 penalty of 'W' and 'RW'. A layer may run an unmasked sequence whose
 * every step records gradients as a whole instead (sequence(): the LSTM's one-node lstmSequence).
 *
 * Masked steps follow DL4J's LSTMHelpers / SimpleRnn: the output AND the carried state are zeroed
 * at a step whose mask is 0, so the next present step starts from a zero state. Right padding thus
 * leaves the present steps untouched, and left padding (as the backward direction of a
 * Bidirectional layer sees right padding) starts the sequence from zeros as without padding.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import { keep } from '../../ndarray/scope.js';
import { noGrad } from '../../autodiff/tape.js';
import { add, mul } from '../../ops/binary.js';
import { matmul } from '../../ops/linalg.js';
import { stack } from '../../ops/join.js';
import { permute, reshape } from '../../ops/views.js';
import { describe } from '../../ops/util.js';
import type { ResolvedLayer } from '../config.js';
import { weightPenalty, type Layer, type RecurrentStepOptions } from './layer.js';
import { applyDropOut } from './dropout.js';
import { layerName } from './image.js';
import { checkMask, maskSteps, toSequence, unstack } from './time-steps.js';
import type { Training } from '../training-step.js';

/** The state carried between steps: [h] (SimpleRnn) or [h, c] (LSTM), each [N, nOut]; h is the step's output. */
export type RecurrentState = readonly NDArray[];

export interface SequenceRun {
  /** [N, nOut, T]. */
  readonly out: NDArray;
  /** The state after the last step processed. */
  readonly state: RecurrentState;
}

export interface RunOptions {
  /** Read the steps from last to first (the backward half of Bidirectional); outputs stay at their own step. */
  readonly reverse?: boolean;
  /** The state before the first step processed (default zeros). */
  readonly initial?: RecurrentState | null;
  /** Whether the final state is wanted (rnnTimeStep); otherwise the last step's cell state is left unmasked, as nothing reads it. */
  readonly finalState?: boolean;
  /** Only the last gradSteps steps processed record gradients; the earlier ones run detached (truncated BPTT's back length). */
  readonly gradSteps?: number;
}

/**
 * Seeds for a layer's further weight matrices (its 'RW', a Bidirectional's backward copy): offset by
 * multiples of 2^32, away from the per-layer seeds the network derives (seed + layer index).
 */
export function recurrentSeed(seed: number | bigint | undefined, k = 1): bigint | undefined {
  return seed === undefined ? undefined : BigInt(seed) + (BigInt(k) << 32n);
}

/** The layer's configuration with weightInitRecurrent as its weightInit: what its 'RW' is drawn with. */
export function recurrentInit(config: ResolvedLayer): ResolvedLayer {
  return { ...config, weightInit: config.recurrent!.weightInitRecurrent };
}

export abstract class BaseRecurrentLayer implements Layer {
  /** DL4J regularizes and weight-decays both weight matrices, not the bias. */
  readonly weightParams: ReadonlySet<string> = new Set(['W', 'RW']);
  private stored: NDArray[] | null = null;

  protected constructor(readonly config: ResolvedLayer, readonly params: ReadonlyMap<string, NDArray>) {}

  /** One step: zx = x_t W + b [N, width] and the previous state (null: zeros) to the new state. */
  protected abstract cell(zx: NDArray, prev: RecurrentState | null): RecurrentState;

  /**
   * All steps at once from z [T, N, width] (time-major) and the initial state (null: zeros): the
   * outputs [T, N, nOut] and the state after the last step processed, where the layer has such a
   * path for this input; null runs the per-step loop. Only asked for unmasked runs that record every step.
   */
  protected sequence(_z: NDArray, _initial: RecurrentState | null, _reverse: boolean): { readonly hs: NDArray; readonly state: RecurrentState } | null {
    return null;
  }

  protected get where(): string {
    return layerName(this.config);
  }

  /** Runs over x [N, nIn, T] (or [N, nIn], one step) with an optional mask [N, T]. */
  run(x: NDArray, training: Training, mask: NDArray | null, options: RunOptions = {}): SequenceRun {
    const { nIn } = this.config;
    const seq = applyDropOut(toSequence(x, nIn, this.where), this.config, training);
    const [n, , t] = seq.shape as [number, number, number];
    const w = this.params.get('W')!;
    const b = this.params.get('b');
    // All steps' input projections in one matmul over time-major rows [T*N, nIn].
    let z = matmul(reshape(permute(seq, [2, 0, 1]), [t * n, nIn]), w);
    if (b) z = add(z, b);
    const zt = reshape(z, [t, n, w.shape[1]!]);
    const masks = mask ? maskSteps(checkMask(mask, seq, this.where)) : null;
    let state = options.initial ?? null;
    if (state && state[0]!.shape[0] !== n) {
      throw new Error(`${this.where}: the stored state has ${state[0]!.shape[0]} examples but the input ${describe(x)} has ${n}; call rnnClearPreviousState() between different batches`);
    }
    const whole = !masks && t > 0 && (options.gradSteps === undefined || options.gradSteps >= t) ? this.sequence(zt, state, options.reverse ?? false) : null;
    // [T, N, nOut] read as [N, nOut, T]: a view, which the next layer's time-major rows read without a copy.
    if (whole) return { out: permute(whole.hs, [1, 2, 0]), state: whole.state };
    const steps = unstack(zt, 0);
    const outs = new Array<NDArray>(t);
    const detached = options.gradSteps === undefined ? 0 : t - options.gradSteps;
    for (let k = 0; k < t; k++) {
      const step = options.reverse ? t - 1 - k : k;
      const prev = state;
      let next = k < detached ? noGrad(() => this.cell(steps[step]!, prev)) : this.cell(steps[step]!, prev);
      const m = masks?.[step];
      // A product nothing reads would leave an unreached node holding its saved arrays after backward:
      // the last step's cell state is read only by the stored state, which is detached anyway.
      if (m) next = next.map((s, i) => (i === 0 || k < t - 1 ? mul(s, m) : options.finalState ? noGrad(() => mul(s, m)) : s));
      outs[step] = next[0]!;
      state = next;
    }
    return { out: stack(outs, 2), state: state! };
  }

  forward(x: NDArray, training: Training, mask?: NDArray | null): NDArray {
    return this.run(x, training, mask ?? null).out;
  }

  /** A run from the stored state, which the final state then replaces, detached (DL4J's rnnTimeStep; truncated BPTT when training). */
  rnnTimeStep(x: NDArray, mask?: NDArray | null, options: RecurrentStepOptions = {}): NDArray {
    const { training = false, backLength } = options;
    const { out, state } = this.run(x, training, mask ?? null, { initial: this.stored, finalState: true, ...(backLength === undefined ? {} : { gradSteps: backLength }) });
    noGrad(() => {
      const kept = state.map((s) => keep(s.dup()));
      this.rnnClearPreviousState();
      this.stored = kept;
    });
    return out;
  }

  rnnClearPreviousState(): void {
    for (const s of this.stored ?? []) s.close();
    this.stored = null;
  }

  /** l1/l2 over 'W' and 'RW' (DL4J's isWeightParam of recurrent layers). */
  regularization(): NDArray | null {
    const { l1, l2 } = this.config;
    const pw = weightPenalty(this.params.get('W')!, l1, l2);
    const pr = weightPenalty(this.params.get('RW')!, l1, l2);
    return pw && pr ? add(pw, pr) : pw ?? pr;
  }
}
