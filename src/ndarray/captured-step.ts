/**
 * Whole training (or inference) steps recorded once and replayed as one CUDA graph: the kernels of
 * a step are queued by a single launch instead of one launch per op, which removes the host cost
 * that bounds small models. Same idea as torch.cuda.CUDAGraph; on backends without capture the
 * step simply runs eagerly, so the same code runs everywhere.
 */
import type { Backend, CapturedGraph, StepCapture } from '../backend/backend.js';
import { backendByName, getBackend } from '../backend/registry.js';
import { noGrad } from '../autodiff/tape.js';
import { generatorPosition, restoreGeneratorPosition } from '../random/generator.js';
import { NDArray } from './ndarray.js';
import { keep, scope } from './scope.js';

/** What a step may return: the arrays it computes (a loss, gradients), alone, in a list, or named (a name may hold a list). */
export type StepOutputs = void | NDArray | readonly NDArray[] | { readonly [name: string]: NDArray | readonly NDArray[] };

export interface CaptureStepOptions {
  /**
   * Eager runs before the recording (default 2). They compile kernels, choose library plans and fill
   * the memory cache: things that wait for the GPU, which a recording cannot do.
   */
  readonly warmup?: number;
  /** The backend whose work is recorded; default: the default backend when the step is made. */
  readonly backend?: Backend | string;
  /**
   * What a replay returns: 'copy' (default), new arrays the caller owns; 'shared', the recording's own
   * arrays, valid until the next run and never closed by the caller (no copy, for callers that consume
   * the outputs at once, such as a network's gradients).
   */
  readonly outputs?: 'copy' | 'shared';
}

const OP = 'captureStep';

// A step dropped without close() still returns its graph's memory.
const graphs = new FinalizationRegistry<CapturedGraph>((g) => g.dispose());

type OutputValue = NDArray | readonly NDArray[];

function mapValue(v: OutputValue, f: (a: NDArray) => NDArray): OutputValue {
  return v instanceof NDArray ? f(v) : v.map(f);
}

function mapOutputs<T extends StepOutputs>(value: T, f: (a: NDArray) => NDArray): T {
  if (value === undefined) return value;
  if (value instanceof NDArray || Array.isArray(value)) return mapValue(value as OutputValue, f) as T;
  const record = value as { readonly [name: string]: OutputValue };
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, mapValue(v, f)])) as T;
}

function validateOutputs(value: unknown): void {
  const isValue = (v: unknown): boolean => v instanceof NDArray || (Array.isArray(v) && v.every((a) => a instanceof NDArray));
  const valid = value === undefined || isValue(value)
    || (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype && Object.values(value).every(isValue));
  if (!valid) throw new Error(`${OP}: a step returns nothing, an NDArray, a list of them or an object of NDArrays and lists (values read on the host would not change on replay)`);
}

/**
 * A step function run by recording: `run()` calls it eagerly for the warm-up runs, then records it
 * once (running it too) and afterwards replays the recording.
 *
 * The recording keeps what the function did on the host at that time: the same arrays (by address),
 * shapes, scalars and branches on every replay. Inputs therefore live in arrays the step closes over,
 * refreshed in place before each run (`x.assign(batch)`); arrays the step creates and stores outside
 * (gradients, for instance) are rewritten by every replay. Inside a recorded step nothing may wait for
 * the GPU or move host data (item(), toArray(), new arrays from host values) and random ops are
 * refused, as their numbers would repeat.
 */
export class CapturedStep<T extends StepOutputs> implements Disposable {
  readonly backend: Backend;
  private readonly warmup: number;
  private readonly shareOutputs: boolean;
  private runs = 0;
  private graph: CapturedGraph | null = null;
  /** The arrays the recording returned: each replay writes them; run() hands out copies, or these with outputs 'shared'. */
  private outputs: T | undefined;
  private closed = false;

  constructor(
    private readonly fn: () => T,
    options: CaptureStepOptions = {},
  ) {
    const warmup = options.warmup ?? 2;
    if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`${OP}: warmup must be an integer >= 0, got ${warmup}`);
    this.warmup = warmup;
    this.shareOutputs = options.outputs === 'shared';
    this.backend = typeof options.backend === 'string' ? backendByName(options.backend) : (options.backend ?? getBackend());
  }

  /** Whether the step has been recorded (false while warming up, and always on backends without capture). */
  get captured(): boolean {
    return this.graph !== null;
  }

  /** Whether the next run() records the step (the warm-up is over and the backend can record). */
  get recordsNext(): boolean {
    return !this.closed && this.graph === null && this.runs >= this.warmup && !!this.backend.capture;
  }

  /** Operations in the recording (0 before it). */
  get nodes(): number {
    return this.graph?.nodes ?? 0;
  }

  /** Device bytes the recording keeps for its replays (0 before it). */
  get memoryBytes(): number {
    return this.graph?.memoryBytes ?? 0;
  }

  /** Runs the step once: eagerly, by recording it, or by replaying the recording. */
  run(): T {
    if (this.closed) throw new Error(`${OP}: the step was closed`);
    const capture = this.backend.capture;
    if (!capture || this.runs < this.warmup) {
      this.runs++;
      const result = scope(this.fn);
      validateOutputs(result);
      return result;
    }
    if (!this.graph) this.record(capture);
    this.graph!.replay();
    this.runs++;
    const outputs = this.outputs as T;
    if (this.shareOutputs) {
      mapOutputs(outputs, (a) => {
        if (a.closed) throw new Error(`${OP}: an output the recording shares was closed; it belongs to the step`);
        return a;
      });
      return outputs;
    }
    return noGrad(() => mapOutputs(outputs, (a) => a.dup()));
  }

  private record(capture: StepCapture): void {
    // A failed recording ran nothing: the random numbers it drew are handed out again.
    const generator = generatorPosition();
    capture.begin();
    let outputs: T;
    try {
      outputs = scope(this.fn);
      validateOutputs(outputs);
    } catch (e) {
      capture.abort();
      restoreGeneratorPosition(generator);
      throw new Error(`${OP}: recording the step failed: ${(e as Error).message}`, { cause: e });
    }
    try {
      this.graph = capture.end();
    } catch (e) {
      mapOutputs(outputs, (a) => (a.close(), a));
      throw e;
    }
    graphs.register(this, this.graph, this);
    this.outputs = mapOutputs(outputs, (a) => keep(a));
  }

  /** Frees the recording and its memory; the step cannot run afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.outputs !== undefined) mapOutputs(this.outputs, (a) => (a.close(), a));
    this.outputs = undefined;
    graphs.unregister(this);
    this.graph?.dispose();
    this.graph = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Records `fn` as one replayable step on the default (or given) backend; see CapturedStep. */
export function captureStep<T extends StepOutputs>(fn: () => T, options?: CaptureStepOptions): CapturedStep<T> {
  return new CapturedStep(fn, options);
}
