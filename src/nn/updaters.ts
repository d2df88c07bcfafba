/**
 * Updaters (DL4J's IUpdater set): per-parameter optimizer state and the in-place parameter update.
 * Configurations are plain options objects with DL4J's defaults; the Updater class owns the state
 * arrays (allocated lazily on each parameter's backend and dtype) and updates with front-end ops only,
 * so it runs unchanged on any backend. The update rules follow DL4J's, including where they differ
 * from the papers (Adam's folded bias correction, Nadam without second-moment correction, AdaGrad and
 * RMSProp state starting at epsilon).
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { keep, scope } from '../ndarray/scope.js';
import { noGrad } from '../autodiff/tape.js';
import { full } from '../ops/create.js';
import { abs, sqrt, square } from '../ops/unary.js';
import { add, div, maximum, mul } from '../ops/binary.js';
import { describe } from '../ops/util.js';
import { adamStep, adamStepApplies } from '../ops/optimizer.js';
import { scheduleValue, validateSchedule, type Schedule } from './schedules.js';

type Hyper = number | Schedule;

/** Plain SGD: p -= lr * g. */
export interface SgdConfig { readonly type: 'sgd'; readonly learningRate?: Hyper }
/** Nesterov momentum (DL4J Nesterovs). */
export interface NesterovsConfig { readonly type: 'nesterovs'; readonly learningRate?: Hyper; readonly momentum?: Hyper }
export interface AdamConfig { readonly type: 'adam'; readonly learningRate?: Hyper; readonly beta1?: number; readonly beta2?: number; readonly epsilon?: number }
/** Adam with decoupled weight decay: p *= 1 - lr * weightDecay before the Adam step. */
export interface AdamWConfig {
  readonly type: 'adamw'; readonly learningRate?: Hyper; readonly beta1?: number; readonly beta2?: number; readonly epsilon?: number;
  readonly weightDecay?: number;
}
export interface AdaMaxConfig { readonly type: 'adamax'; readonly learningRate?: Hyper; readonly beta1?: number; readonly beta2?: number; readonly epsilon?: number }
export interface NadamConfig { readonly type: 'nadam'; readonly learningRate?: Hyper; readonly beta1?: number; readonly beta2?: number; readonly epsilon?: number }
export interface AMSGradConfig { readonly type: 'amsgrad'; readonly learningRate?: Hyper; readonly beta1?: number; readonly beta2?: number; readonly epsilon?: number }
export interface RmsPropConfig { readonly type: 'rmsprop'; readonly learningRate?: Hyper; readonly rmsDecay?: number; readonly epsilon?: number }
export interface AdaGradConfig { readonly type: 'adagrad'; readonly learningRate?: Hyper; readonly epsilon?: number }
/** AdaDelta has no learning rate. */
export interface AdaDeltaConfig { readonly type: 'adadelta'; readonly rho?: number; readonly epsilon?: number }
/** Leaves parameters unchanged (frozen layers). */
export interface NoOpConfig { readonly type: 'noop' }

export type UpdaterConfig =
  | SgdConfig | NesterovsConfig | AdamConfig | AdamWConfig | AdaMaxConfig | NadamConfig | AMSGradConfig
  | RmsPropConfig | AdaGradConfig | AdaDeltaConfig | NoOpConfig;

export type UpdaterType = UpdaterConfig['type'];

/** DL4J's default hyperparameters (AdamW's weight decay follows the AdamW paper's common 0.01). */
export const UPDATER_DEFAULTS = {
  sgd: { learningRate: 1e-3 },
  nesterovs: { learningRate: 0.1, momentum: 0.9 },
  adam: { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
  adamw: { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 },
  adamax: { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
  nadam: { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
  amsgrad: { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
  rmsprop: { learningRate: 0.1, rmsDecay: 0.95, epsilon: 1e-8 },
  adagrad: { learningRate: 0.1, epsilon: 1e-6 },
  adadelta: { rho: 0.95, epsilon: 1e-6 },
  noop: {},
} as const;

/** State arrays per parameter, by DL4J's state keys. */
const STATE_NAMES: Readonly<Record<UpdaterType, readonly string[]>> = {
  sgd: [], noop: [],
  nesterovs: ['V'],
  adam: ['M', 'V'], adamw: ['M', 'V'], adamax: ['M', 'V'], nadam: ['M', 'V'],
  amsgrad: ['M', 'V', 'V_HAT'],
  rmsprop: ['G'],
  adagrad: ['grad'],
  adadelta: ['msg', 'msdx'],
};

/** The names of the state arrays each parameter gets under this configuration. */
export function updaterStateNames(config: UpdaterConfig): readonly string[] {
  return STATE_NAMES[config.type];
}

/** The learning rate at this iteration/epoch (NaN for updaters without one: AdaDelta, NoOp). */
export function updaterLearningRate(config: UpdaterConfig, iteration: number, epoch: number): number {
  if (config.type === 'adadelta' || config.type === 'noop') return NaN;
  return scheduleValue(config.learningRate ?? UPDATER_DEFAULTS[config.type].learningRate, iteration, epoch);
}

function checkNumber(config: UpdaterConfig, name: string, v: number | undefined, lo: number, hi: number, hiOpen: boolean): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || (hiOpen ? v >= hi : v > hi)) {
    throw new Error(`updater '${config.type}': ${name} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'} (got ${String(v)})`);
  }
}

/** Throws a clear error for an unknown type or out-of-range hyperparameter. */
export function validateUpdaterConfig(config: UpdaterConfig): void {
  if (!(config.type in STATE_NAMES)) {
    throw new Error(`updater: unknown type '${String((config as { type?: unknown }).type)}'; expected one of ${Object.keys(STATE_NAMES).join(', ')}`);
  }
  if ('learningRate' in config && config.learningRate !== undefined) validateSchedule(config.learningRate);
  if ('momentum' in config && config.momentum !== undefined) validateSchedule(config.momentum);
  if ('beta1' in config) checkNumber(config, 'beta1', config.beta1, 0, 1, true);
  if ('beta2' in config) checkNumber(config, 'beta2', config.beta2, 0, 1, true);
  if ('epsilon' in config) checkNumber(config, 'epsilon', config.epsilon, 0, Infinity, false);
  if ('rmsDecay' in config) checkNumber(config, 'rmsDecay', config.rmsDecay, 0, 1, true);
  if ('rho' in config) checkNumber(config, 'rho', config.rho, 0, 1, true);
  if ('weightDecay' in config) checkNumber(config, 'weightDecay', config.weightDecay, 0, Infinity, false);
}

/** Adam-family step size with bias correction folded in, as DL4J computes it (t = iteration + 1). */
function adamAlpha(lr: number, b1: number, b2: number, eps: number, iteration: number): number {
  const t = iteration + 1;
  const alpha = (lr * Math.sqrt(1 - Math.pow(b2, t))) / (1 - Math.pow(b1, t));
  // DL4J falls back to epsilon when the correction degenerates (e.g. beta1 = 0 gives 0/0 only in theory; NaN/0 in practice).
  return Number.isNaN(alpha) || alpha === 0 ? eps : alpha;
}

/** One parameter's in-place step; `s` holds its state arrays in STATE_NAMES order. Runs inside noGrad + scope. */
function step(config: UpdaterConfig, p: NDArray, g: NDArray, s: readonly NDArray[], iteration: number, epoch: number): void {
  switch (config.type) {
    case 'noop':
      return;
    case 'sgd':
      p.subi(mul(g, updaterLearningRate(config, iteration, epoch)));
      return;
    case 'nesterovs': {
      const lr = updaterLearningRate(config, iteration, epoch);
      const mu = scheduleValue(config.momentum ?? UPDATER_DEFAULTS.nesterovs.momentum, iteration, epoch);
      const [v] = s as [NDArray];
      // v' = mu v - lr g; p -= mu v - (1 + mu) v'.
      p.subi(mul(v, mu));
      v.muli(mu).subi(mul(g, lr));
      p.addi(mul(v, 1 + mu));
      return;
    }
    case 'adam':
    case 'adamw':
    case 'amsgrad': {
      const d = UPDATER_DEFAULTS[config.type];
      const lr = updaterLearningRate(config, iteration, epoch);
      const [b1, b2, eps] = [config.beta1 ?? d.beta1, config.beta2 ?? d.beta2, config.epsilon ?? d.epsilon];
      const [m, v] = s as [NDArray, NDArray];
      const decay = config.type === 'adamw' ? 1 - lr * (config.weightDecay ?? UPDATER_DEFAULTS.adamw.weightDecay) : 1;
      if (config.type !== 'amsgrad' && adamStepApplies(p, g, m, v)) {
        // The same rule in one pass over memory instead of a dozen.
        adamStep(p, g, m, v, { beta1: b1, beta2: b2, epsilon: eps, alpha: adamAlpha(lr, b1, b2, eps, iteration), decay });
        return;
      }
      m.muli(b1).addi(mul(g, 1 - b1));
      v.muli(b2).addi(mul(square(g), 1 - b2));
      let second = v;
      if (config.type === 'amsgrad') {
        const vHat = s[2]!;
        vHat.assign(maximum(vHat, v));
        second = vHat;
      }
      if (config.type === 'adamw') p.muli(decay);
      p.subi(mul(div(m, add(sqrt(second), eps)), adamAlpha(lr, b1, b2, eps, iteration)));
      return;
    }
    case 'adamax': {
      const d = UPDATER_DEFAULTS.adamax;
      const lr = updaterLearningRate(config, iteration, epoch);
      const [b1, b2, eps] = [config.beta1 ?? d.beta1, config.beta2 ?? d.beta2, config.epsilon ?? d.epsilon];
      const [m, u] = s as [NDArray, NDArray];
      m.muli(b1).addi(mul(g, 1 - b1));
      u.assign(maximum(mul(u, b2), abs(g)));
      let alpha = lr / (1 - Math.pow(b1, iteration + 1));
      if (!Number.isFinite(alpha) || alpha === 0) alpha = eps;
      // epsilon in the denominator keeps an all-zero gradient history from dividing 0 by 0.
      p.subi(mul(div(m, add(u, eps)), alpha));
      return;
    }
    case 'nadam': {
      const d = UPDATER_DEFAULTS.nadam;
      const lr = updaterLearningRate(config, iteration, epoch);
      const [b1, b2, eps] = [config.beta1 ?? d.beta1, config.beta2 ?? d.beta2, config.epsilon ?? d.epsilon];
      const [m, v] = s as [NDArray, NDArray];
      m.muli(b1).addi(mul(g, 1 - b1));
      v.muli(b2).addi(mul(square(g), 1 - b2));
      const c = 1 - Math.pow(b1, iteration + 1);
      // lr * (b1 m / c + (1 - b1) g / c) / (sqrt(v) + eps): Nesterov look-ahead on the corrected momentum.
      const num = add(mul(m, b1 / c), mul(g, (1 - b1) / c));
      p.subi(mul(div(num, add(sqrt(v), eps)), lr));
      return;
    }
    case 'rmsprop': {
      const d = UPDATER_DEFAULTS.rmsprop;
      const lr = updaterLearningRate(config, iteration, epoch);
      const [decay, eps] = [config.rmsDecay ?? d.rmsDecay, config.epsilon ?? d.epsilon];
      const [cache] = s as [NDArray];
      cache.muli(decay).addi(mul(square(g), 1 - decay));
      p.subi(div(mul(g, lr), add(sqrt(cache), eps)));
      return;
    }
    case 'adagrad': {
      const lr = updaterLearningRate(config, iteration, epoch);
      const eps = config.epsilon ?? UPDATER_DEFAULTS.adagrad.epsilon;
      const [hist] = s as [NDArray];
      hist.addi(square(g));
      p.subi(div(mul(g, lr), add(sqrt(hist), eps)));
      return;
    }
    case 'adadelta': {
      const d = UPDATER_DEFAULTS.adadelta;
      const [rho, eps] = [config.rho ?? d.rho, config.epsilon ?? d.epsilon];
      const [msg, msdx] = s as [NDArray, NDArray];
      msg.muli(rho).addi(mul(square(g), 1 - rho));
      const dx = mul(g, div(sqrt(add(msdx, eps)), sqrt(add(msg, eps))));
      msdx.muli(rho).addi(mul(square(dx), 1 - rho));
      p.subi(dx);
      return;
    }
  }
}

/** The value a fresh state array starts at (DL4J starts AdaGrad's and RMSProp's at epsilon). */
function initialStateValue(config: UpdaterConfig): number {
  if (config.type === 'adagrad') return config.epsilon ?? UPDATER_DEFAULTS.adagrad.epsilon;
  if (config.type === 'rmsprop') return config.epsilon ?? UPDATER_DEFAULTS.rmsprop.epsilon;
  return 0;
}

/**
 * Applies one configuration to a fixed list of parameters. State is keyed `${paramIndex}/${name}`
 * (e.g. '0/M', '0/V') and is part of the model: save it with state(), restore it with setState().
 */
export class Updater {
  readonly config: UpdaterConfig;
  /** Per parameter, its state arrays in updaterStateNames order; null until the first apply or setState. */
  private slots: NDArray[][] | null = null;
  private closedFlag = false;

  constructor(config: UpdaterConfig) {
    validateUpdaterConfig(config);
    this.config = config;
  }

  get stateNames(): readonly string[] {
    return updaterStateNames(this.config);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** The learning rate this updater uses at the given counters (NaN for AdaDelta and NoOp). */
  learningRate(iteration: number, epoch: number): number {
    return updaterLearningRate(this.config, iteration, epoch);
  }

  /** Updates each params[i] in place from grads[i]; iteration and epoch count from 0 and drive schedules and bias correction. */
  apply(params: readonly NDArray[], grads: readonly NDArray[], iteration: number, epoch: number): void {
    const where = `Updater(${this.config.type}).apply`;
    if (this.closedFlag) throw new Error(`${where}: the updater is closed`);
    if (params.length !== grads.length) throw new Error(`${where}: ${params.length} parameters but ${grads.length} gradients`);
    if (!Number.isInteger(iteration) || iteration < 0 || !Number.isInteger(epoch) || epoch < 0) {
      throw new Error(`${where}: iteration and epoch must be non-negative integers (got ${iteration}, ${epoch})`);
    }
    for (let i = 0; i < params.length; i++) {
      const [p, g] = [params[i]!, grads[i]!];
      if (p.shape.length !== g.shape.length || p.shape.some((d, k) => d !== g.shape[k])) {
        throw new Error(`${where}: gradient ${i} ${describe(g)} does not match parameter ${describe(p)}`);
      }
      if (p.backend !== g.backend) throw new Error(`${where}: parameter ${i} is on ${p.backend.name}, its gradient on ${g.backend.name}`);
    }
    const slots = this.slotsFor(params, where);
    noGrad(() => {
      for (let i = 0; i < params.length; i++) {
        scope(() => step(this.config, params[i]!, grads[i]!, slots[i]!, iteration, epoch));
      }
    });
  }

  /** The state arrays by key (`${paramIndex}/${name}`); they stay owned by the updater (dup() them to keep a copy). */
  state(): Record<string, NDArray> {
    const out: Record<string, NDArray> = {};
    if (!this.slots) return out;
    const names = this.stateNames;
    this.slots.forEach((arrays, i) => arrays.forEach((a, k) => (out[`${i}/${names[k]!}`] = a)));
    return out;
  }

  /**
   * Restores state saved by state(): copies the values into the updater's own arrays (the caller keeps
   * ownership of its arrays). Before the first apply() the arrays take the saved shapes, dtypes and backends.
   */
  setState(state: Readonly<Record<string, NDArray>>): void {
    const where = `Updater(${this.config.type}).setState`;
    if (this.closedFlag) throw new Error(`${where}: the updater is closed`);
    const names = this.stateNames;
    const keys = Object.keys(state);
    let count = 0;
    for (const key of keys) {
      const m = /^(\d+)\/(.+)$/.exec(key);
      if (!m || !names.includes(m[2]!)) throw new Error(`${where}: unexpected key '${key}'; expected '<paramIndex>/<name>' with name in [${names.join(', ')}]`);
      count = Math.max(count, Number(m[1]) + 1);
    }
    if (keys.length !== count * names.length) {
      throw new Error(`${where}: expected every parameter index 0..${count - 1} to have all of [${names.join(', ')}], got keys [${keys.join(', ')}]`);
    }
    if (this.slots && this.slots.length !== count) throw new Error(`${where}: state for ${count} parameters, but the updater has ${this.slots.length}`);
    for (let i = 0; i < count; i++) {
      for (const name of names) {
        if (!state[`${i}/${name}`]) throw new Error(`${where}: missing key '${i}/${name}'`);
      }
    }
    noGrad(() => {
      if (!this.slots) {
        this.slots = Array.from({ length: count }, (_, i) => names.map((n) => keep(state[`${i}/${n}`]!.dup())));
        return;
      }
      this.slots.forEach((arrays, i) =>
        arrays.forEach((a, k) => {
          const src = state[`${i}/${names[k]!}`]!;
          if (src.shape.length !== a.shape.length || src.shape.some((d, j) => d !== a.shape[j])) {
            throw new Error(`${where}: '${i}/${names[k]!}' is ${describe(src)}, expected the shape of ${describe(a)}`);
          }
          scope(() => a.assign(src.backend === a.backend ? src : src.toBackend(a.backend)));
        }),
      );
    });
  }

  /** Releases the state arrays; the next apply() would start from fresh state, so it is refused instead. */
  close(): void {
    if (this.slots) for (const arrays of this.slots) for (const a of arrays) a.close();
    this.slots = null;
    this.closedFlag = true;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private slotsFor(params: readonly NDArray[], where: string): NDArray[][] {
    const names = this.stateNames;
    if (!this.slots) {
      const init = initialStateValue(this.config);
      this.slots = params.map((p) => names.map(() => keep(full(p.shape, init, { dtype: p.dtype, backend: p.backend }))));
      return this.slots;
    }
    if (this.slots.length !== params.length) throw new Error(`${where}: state for ${this.slots.length} parameters, called with ${params.length}`);
    params.forEach((p, i) =>
      this.slots![i]!.forEach((a, k) => {
        if (a.dtype !== p.dtype || a.backend !== p.backend || a.shape.length !== p.shape.length || a.shape.some((d, j) => d !== p.shape[j])) {
          throw new Error(`${where}: state '${i}/${names[k]!}' ${describe(a)} on ${a.backend.name} does not match parameter ${i} ${describe(p)} on ${p.backend.name}`);
        }
      }),
    );
    return this.slots;
  }
}
