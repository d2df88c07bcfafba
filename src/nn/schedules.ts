/**
 * Hyperparameter schedules (DL4J's ISchedule): a value as a function of the iteration or the epoch,
 * used for learning rates and momentum. Plain options objects so configurations serialize as JSON.
 */

/** Which counter drives a schedule (DL4J's ScheduleType). */
export type ScheduleType = 'iteration' | 'epoch';

interface ScheduleBase {
  /** Counter the schedule follows; 'iteration' when omitted. */
  readonly scheduleType?: ScheduleType;
}

/** initialValue * decayRate^floor(t / step) (DL4J StepSchedule). */
export interface StepSchedule extends ScheduleBase {
  readonly type: 'step';
  readonly initialValue: number;
  readonly decayRate: number;
  readonly step: number;
}

/** initialValue * gamma^t (DL4J ExponentialSchedule). */
export interface ExponentialSchedule extends ScheduleBase {
  readonly type: 'exponential';
  readonly initialValue: number;
  readonly gamma: number;
}

/** initialValue / (1 + gamma * t)^power (DL4J InverseSchedule). */
export interface InverseSchedule extends ScheduleBase {
  readonly type: 'inverse';
  readonly initialValue: number;
  readonly gamma: number;
  readonly power: number;
}

/** initialValue * (1 - t / maxIter)^power, 0 from maxIter on (DL4J PolySchedule). */
export interface PolySchedule extends ScheduleBase {
  readonly type: 'poly';
  readonly initialValue: number;
  readonly power: number;
  readonly maxIter: number;
}

/** initialValue / (1 + exp(-gamma * (t - stepSize))) (DL4J SigmoidSchedule). */
export interface SigmoidSchedule extends ScheduleBase {
  readonly type: 'sigmoid';
  readonly initialValue: number;
  readonly gamma: number;
  readonly stepSize: number;
}

/**
 * Cosine annealing with restarts: minValue + (initialValue - minValue) * (1 + cos(pi * (t mod period) / period)) / 2,
 * so each period starts at initialValue and decays towards minValue (0 when omitted).
 */
export interface CosineSchedule extends ScheduleBase {
  readonly type: 'cosine';
  readonly initialValue: number;
  readonly period: number;
  readonly minValue?: number;
}

/**
 * Linear warm-up in front of another schedule (DL4J RampSchedule): inner(t) * (t + 1) / warmupSteps
 * for t < warmupSteps, then inner(t). The ramp follows this schedule's counter; the inner schedule its own.
 */
export interface WarmupSchedule extends ScheduleBase {
  readonly type: 'warmup';
  readonly warmupSteps: number;
  readonly schedule: Schedule | number;
}

/** The value at the largest key <= t (DL4J MapSchedule); key 0 is required so every t has a value. */
export interface MapSchedule extends ScheduleBase {
  readonly type: 'map';
  readonly values: Readonly<Record<number, number>>;
}

export type Schedule =
  | StepSchedule | ExponentialSchedule | InverseSchedule | PolySchedule | SigmoidSchedule
  | CosineSchedule | WarmupSchedule | MapSchedule;

/** Every schedule type, for callers that tell a schedule from other option objects. */
export const SCHEDULE_TYPES: readonly Schedule['type'][] = ['step', 'exponential', 'inverse', 'poly', 'sigmoid', 'cosine', 'warmup', 'map'];

function fail(schedule: Schedule, what: string): never {
  throw new Error(`schedule '${schedule.type}': ${what} (got ${JSON.stringify(schedule)})`);
}

function requireFinite(schedule: Schedule, name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(schedule, `${name} must be a finite number`);
}

function requirePositive(schedule: Schedule, name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(schedule, `${name} must be a positive number`);
}

/** Throws a clear error for a malformed schedule (checked once when an updater is built, and on every use here). */
export function validateSchedule(schedule: Schedule | number): void {
  if (typeof schedule === 'number') {
    if (!Number.isFinite(schedule)) throw new Error(`schedule: a fixed value must be finite (got ${schedule})`);
    return;
  }
  if (schedule.scheduleType !== undefined && schedule.scheduleType !== 'iteration' && schedule.scheduleType !== 'epoch') {
    fail(schedule, `scheduleType must be 'iteration' or 'epoch'`);
  }
  switch (schedule.type) {
    case 'step':
      requireFinite(schedule, 'initialValue', schedule.initialValue);
      requireFinite(schedule, 'decayRate', schedule.decayRate);
      requirePositive(schedule, 'step', schedule.step);
      return;
    case 'exponential':
      requireFinite(schedule, 'initialValue', schedule.initialValue);
      requireFinite(schedule, 'gamma', schedule.gamma);
      return;
    case 'inverse':
      requireFinite(schedule, 'initialValue', schedule.initialValue);
      requireFinite(schedule, 'gamma', schedule.gamma);
      requireFinite(schedule, 'power', schedule.power);
      return;
    case 'poly':
      requireFinite(schedule, 'initialValue', schedule.initialValue);
      requireFinite(schedule, 'power', schedule.power);
      requirePositive(schedule, 'maxIter', schedule.maxIter);
      return;
    case 'sigmoid':
      requireFinite(schedule, 'initialValue', schedule.initialValue);
      requireFinite(schedule, 'gamma', schedule.gamma);
      requireFinite(schedule, 'stepSize', schedule.stepSize);
      return;
    case 'cosine':
      requireFinite(schedule, 'initialValue', schedule.initialValue);
      requirePositive(schedule, 'period', schedule.period);
      if (schedule.minValue !== undefined) requireFinite(schedule, 'minValue', schedule.minValue);
      return;
    case 'warmup':
      requirePositive(schedule, 'warmupSteps', schedule.warmupSteps);
      validateSchedule(schedule.schedule);
      return;
    case 'map': {
      const keys = Object.keys(schedule.values).map(Number);
      if (!keys.includes(0)) fail(schedule, 'values must have a value for key 0');
      for (const k of keys) {
        if (!Number.isInteger(k) || k < 0) fail(schedule, `keys must be non-negative integers (found '${k}')`);
        requireFinite(schedule, `values[${k}]`, schedule.values[k]!);
      }
      return;
    }
    default: {
      const unknown: { type?: unknown } = schedule;
      throw new Error(`schedule: unknown type '${String(unknown.type)}'; expected step, exponential, inverse, poly, sigmoid, cosine, warmup or map`);
    }
  }
}

/** The schedule's value at this iteration and epoch (both counted from 0); a number is a fixed value. */
export function scheduleValue(schedule: Schedule | number, iteration: number, epoch: number): number {
  validateSchedule(schedule);
  return valueOf(schedule, iteration, epoch);
}

function valueOf(schedule: Schedule | number, iteration: number, epoch: number): number {
  if (typeof schedule === 'number') return schedule;
  const t = schedule.scheduleType === 'epoch' ? epoch : iteration;
  switch (schedule.type) {
    case 'step':
      return schedule.initialValue * Math.pow(schedule.decayRate, Math.floor(t / schedule.step));
    case 'exponential':
      return schedule.initialValue * Math.pow(schedule.gamma, t);
    case 'inverse':
      return schedule.initialValue / Math.pow(1 + schedule.gamma * t, schedule.power);
    case 'poly':
      // Clamped at maxIter: past it (1 - t/maxIter) turns negative and fractional powers give NaN.
      return schedule.initialValue * Math.pow(Math.max(0, 1 - t / schedule.maxIter), schedule.power);
    case 'sigmoid':
      return schedule.initialValue / (1 + Math.exp(-schedule.gamma * (t - schedule.stepSize)));
    case 'cosine': {
      const min = schedule.minValue ?? 0;
      const phase = (t % schedule.period) / schedule.period;
      return min + (schedule.initialValue - min) * 0.5 * (1 + Math.cos(Math.PI * phase));
    }
    case 'warmup': {
      const inner = valueOf(schedule.schedule, iteration, epoch);
      return t < schedule.warmupSteps ? (inner * (t + 1)) / schedule.warmupSteps : inner;
    }
    case 'map': {
      let bestKey = -1;
      for (const key of Object.keys(schedule.values)) {
        const k = Number(key);
        if (k <= t && k > bestKey) bestKey = k;
      }
      return schedule.values[bestKey]!;
    }
  }
}
