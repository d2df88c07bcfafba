/**
 * DL4J's IDropout choices for a layer's dropOut option and the dropout layer: a plain number is
 * the retain probability of inverted dropout (DL4J's dropOut(p)); objects pick Dropout, GaussianDropout,
 * GaussianNoise or AlphaDropout. All apply in training only and draw from the global Philox
 * generator (setSeed() replays them), with front-end ops so they run on any backend. Each numeric
 * parameter may also be a schedule (DL4J's ISchedule) of the model's iteration or epoch.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { add, mul } from '../ops/binary.js';
import { addScalar } from '../ops/unary.js';
import { bernoulli, dropout, randn } from '../ops/random.js';
import { SCHEDULE_TYPES, scheduleValue, validateSchedule, type Schedule } from './schedules.js';
import type { TrainingStep } from './training-step.js';

/** A fixed value, or a schedule of the iteration or epoch (V = number: fixed only). */
export type DropOutValue = number | Schedule;

/** DL4J's Dropout(p): inverted dropout keeping each value with probability p. */
export interface DropoutSpec<V extends DropOutValue = number> {
  type: 'dropout';
  /** Retain probability in (0, 1]. */
  p: V;
}

/** DL4J's GaussianDropout(rate): x * n with n ~ N(1, rate / (1 - rate)) (variance). */
export interface GaussianDropoutSpec<V extends DropOutValue = number> {
  type: 'gaussianDropout';
  /** In [0, 1); 0 is the identity. */
  rate: V;
}

/** DL4J's GaussianNoise(stddev): x + n with n ~ N(0, stddev^2). */
export interface GaussianNoiseSpec<V extends DropOutValue = number> {
  type: 'gaussianNoise';
  /** >= 0; 0 is the identity. */
  stddev: V;
}

/**
 * DL4J's AlphaDropout(p) for SELU networks: a * (x d + alpha' (1 - d)) + b with d ~ Bernoulli(p),
 * alpha' = -lambda * alpha and a, b chosen so a unit-normal input keeps mean 0 and variance 1.
 */
export interface AlphaDropoutSpec<V extends DropOutValue = number> {
  type: 'alphaDropout';
  /** Retain probability in (0, 1]. */
  p: V;
}

/** An IDropout choice; DropOutSpec<DropOutValue> allows schedules for its parameter. */
export type DropOutSpec<V extends DropOutValue = number> = DropoutSpec<V> | GaussianDropoutSpec<V> | GaussianNoiseSpec<V> | AlphaDropoutSpec<V>;
/**
 * A number is the retain probability (1 = no dropout), as DL4J's dropOut(double); a schedule is a
 * scheduled retain probability (DL4J's dropOut(ISchedule)); objects pick an IDropout.
 */
export type DropOutConfig = DropOutValue | DropOutSpec<DropOutValue>;

export const DROPOUT_TYPES: readonly DropOutSpec['type'][] = ['dropout', 'gaussianDropout', 'gaussianNoise', 'alphaDropout'];

/** DL4J's AlphaDropout defaults: the SELU constants. */
export const SELU_ALPHA = 1.6732632423543772;
export const SELU_LAMBDA = 1.0507009873554804;

const isRetain = (v: unknown): boolean => typeof v === 'number' && v > 0 && v <= 1;

/** The name of the scheduled parameter and its schedule, or null when the dropOut has none. */
function scheduledParameter(v: DropOutConfig): { name: string; schedule: Schedule } | null {
  if (typeof v === 'number') return null;
  if (!isSpec(v)) return { name: 'retain probability', schedule: v };
  const value = v.type === 'gaussianDropout' ? v.rate : v.type === 'gaussianNoise' ? v.stddev : v.p;
  // Non-objects (numbers and malformed values) are fixed values for fixedProblem to judge.
  return typeof value !== 'object' || value === null ? null : { name: v.type === 'gaussianDropout' ? 'rate' : v.type === 'gaussianNoise' ? 'stddev' : 'p', schedule: value };
}

function isSpec(v: DropOutValue | DropOutSpec<DropOutValue>): v is DropOutSpec<DropOutValue> {
  return typeof v === 'object' && (DROPOUT_TYPES as readonly string[]).includes(v.type);
}

/** The dropOut with its schedule evaluated at this step (a fixed dropOut is returned as is). */
function valueAt(v: DropOutConfig, step: TrainingStep): number | DropOutSpec {
  if (typeof v === 'number') return v;
  const at = (x: DropOutValue): number => scheduleValue(x, step.iteration, step.epoch);
  if (!isSpec(v)) return at(v);
  switch (v.type) {
    case 'dropout':
    case 'alphaDropout':
      return { type: v.type, p: at(v.p) };
    case 'gaussianDropout':
      return { type: v.type, rate: at(v.rate) };
    case 'gaussianNoise':
      return { type: v.type, stddev: at(v.stddev) };
  }
}

/** What is wrong with a fixed dropOut value, or null when it is valid. */
function fixedProblem(v: unknown): string | null {
  if (typeof v === 'number') return isRetain(v) ? null : `dropOut is DL4J's retain probability and must be in (0, 1], got ${String(v)}`;
  if (v === null || typeof v !== 'object') return `dropOut must be a retain probability or { type: ${DROPOUT_TYPES.map((t) => `'${t}'`).join(' | ')}, ... } or a schedule, got ${String(v)}`;
  const o = v as { type?: unknown; p?: unknown; rate?: unknown; stddev?: unknown };
  switch (o.type) {
    case 'dropout':
    case 'alphaDropout':
      return isRetain(o.p) ? null : `dropOut { type: '${o.type}' }: p is the retain probability and must be in (0, 1], got ${String(o.p)}`;
    case 'gaussianDropout':
      return typeof o.rate === 'number' && o.rate >= 0 && o.rate < 1 ? null : `dropOut { type: 'gaussianDropout' }: rate must be in [0, 1), got ${String(o.rate)}`;
    case 'gaussianNoise':
      return typeof o.stddev === 'number' && Number.isFinite(o.stddev) && o.stddev >= 0 ? null : `dropOut { type: 'gaussianNoise' }: stddev must be a finite number >= 0, got ${String(o.stddev)}`;
    default:
      return `unknown dropOut type '${String(o.type)}'; expected one of ${DROPOUT_TYPES.join(', ')} or a schedule (${SCHEDULE_TYPES.join(', ')})`;
  }
}

/**
 * What is wrong with a dropOut value, or null when it is valid (the caller names the layer). A
 * schedule must be well formed and give a valid value at iteration 0, epoch 0; later steps are
 * checked when they are reached (dropOutAt), since schedules are unbounded in t.
 */
export function dropOutProblem(v: unknown): string | null {
  if (v === null || typeof v !== 'object') return fixedProblem(v);
  const { type } = v as { type?: unknown };
  if (!(DROPOUT_TYPES as readonly unknown[]).includes(type) && !(SCHEDULE_TYPES as readonly unknown[]).includes(type)) return fixedProblem(v);
  const d = v as DropOutConfig;
  const scheduled = scheduledParameter(d);
  if (scheduled === null) return fixedProblem(d);
  try {
    validateSchedule(scheduled.schedule);
  } catch (e) {
    return `dropOut's ${scheduled.name}: ${(e as Error).message}`;
  }
  const first = fixedProblem(valueAt(d, { iteration: 0, epoch: 0 }));
  return first === null ? null : `dropOut's schedule at iteration 0, epoch 0: ${first}`;
}

/**
 * The fixed dropOut to apply at this training step; `where` (the layer) names the error when the
 * schedule leaves the parameter's range there. `step` undefined: no step is known, so a schedule is refused.
 */
export function dropOutAt(v: DropOutConfig, step: TrainingStep | undefined, where: string): number | DropOutSpec {
  if (scheduledParameter(v) === null) return v as number | DropOutSpec;
  if (step === undefined) {
    throw new Error(`${where}: dropOut follows a schedule, which needs the training step (iteration, epoch); run the layer through a network's training pass`);
  }
  const fixed = valueAt(v, step);
  const problem = fixedProblem(fixed);
  if (problem !== null) throw new Error(`${where}: dropOut's schedule at iteration ${step.iteration}, epoch ${step.epoch}: ${problem}`);
  return fixed;
}

/** Whether a layer configuration (wrapped layers included) has a dropOut that changes with the training step. */
export function hasScheduledDropOut(config: unknown): boolean {
  if (config === null || typeof config !== 'object') return false;
  return Object.entries(config).some(([k, v]) => (k === 'dropOut' && v !== undefined ? scheduledParameter(v as DropOutConfig) !== null : hasScheduledDropOut(v)));
}

/** AlphaDropout's affine constants for retain probability p (DL4J's a(p) and b(p)). */
export function alphaDropoutConstants(p: number): { a: number; b: number; alphaPrime: number } {
  const alphaPrime = -SELU_LAMBDA * SELU_ALPHA;
  const a = 1 / Math.sqrt(p + alphaPrime * alphaPrime * p * (1 - p));
  return { a, b: -a * (1 - p) * alphaPrime, alphaPrime };
}

/**
 * Applies the (validated) dropout to x as in training: the noise is a constant, so gradients flow
 * through it to x. A scheduled dropOut takes its value at `step` (required then); `where` names errors.
 */
export function applyDropOutSpec(x: NDArray, d: DropOutConfig, step?: TrainingStep, where = 'dropOut'): NDArray {
  const like = { dtype: x.dtype, backend: x.backend };
  const fixed = dropOutAt(d, step, where);
  const spec: DropOutSpec = typeof fixed === 'number' ? { type: 'dropout', p: fixed } : fixed;
  switch (spec.type) {
    case 'dropout':
      return spec.p < 1 ? dropout(x, 1 - spec.p) : x;
    case 'gaussianDropout':
      return spec.rate > 0 ? mul(x, randn(x.shape, { ...like, mean: 1, std: Math.sqrt(spec.rate / (1 - spec.rate)) })) : x;
    case 'gaussianNoise':
      return spec.stddev > 0 ? add(x, randn(x.shape, { ...like, std: spec.stddev })) : x;
    case 'alphaDropout': {
      if (spec.p >= 1) return x;
      const { a, b, alphaPrime } = alphaDropoutConstants(spec.p);
      const keep = bernoulli(x.shape, spec.p, like);
      // a x d + a alpha' (1 - d) + b = (a d) x + (-a alpha') d + (a alpha' + b)
      return add(mul(x, mul(keep, a)), addScalar(mul(keep, -a * alphaPrime), a * alphaPrime + b));
    }
  }
}
