// Updaters against float64 JS implementations of DL4J's update rules (written out per element here),
// on DOUBLE parameters: several steps, learning-rate and momentum schedules, state save/restore, and
// flat memory over many steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Updater, array, scope, memoryReport, type NDArray, type UpdaterConfig } from '../src/index.js';
import { Rng, assertClose } from './helpers.js';

const SHAPES: readonly (readonly number[])[] = [[3, 4], [4], [2, 1, 3]];
const STEPS = 6;

type RefState = Record<string, Float64Array>;

/** Hyperparameters resolved for the reference (plain numbers; lr/momentum may depend on the counters). */
interface RefHyper {
  lr: (iteration: number, epoch: number) => number;
  momentum: (iteration: number, epoch: number) => number;
  beta1: number;
  beta2: number;
  eps: number;
  rmsDecay: number;
  rho: number;
  weightDecay: number;
}

/** One DL4J update of p (in place) from g, t = iteration + 1 for bias corrections. */
function refStep(type: UpdaterConfig['type'], h: RefHyper, p: Float64Array, g: Float64Array, s: RefState, iteration: number, epoch: number): void {
  const n = p.length;
  const lr = h.lr(iteration, epoch);
  const zeros = (): Float64Array => new Float64Array(n);
  const fill = (v: number): Float64Array => new Float64Array(n).fill(v);
  const t = iteration + 1;
  switch (type) {
    case 'noop':
      return;
    case 'sgd':
      for (let i = 0; i < n; i++) p[i]! -= lr * g[i]!;
      return;
    case 'nesterovs': {
      const v = (s.V ??= zeros());
      const mu = h.momentum(iteration, epoch);
      for (let i = 0; i < n; i++) {
        const vPrev = v[i]!;
        v[i] = mu * vPrev - lr * g[i]!;
        p[i]! -= mu * vPrev - (1 + mu) * v[i]!;
      }
      return;
    }
    case 'adam':
    case 'adamw':
    case 'amsgrad': {
      const m = (s.M ??= zeros());
      const v = (s.V ??= zeros());
      const vh = type === 'amsgrad' ? (s.V_HAT ??= zeros()) : null;
      const alpha = (lr * Math.sqrt(1 - h.beta2 ** t)) / (1 - h.beta1 ** t);
      for (let i = 0; i < n; i++) {
        m[i] = h.beta1 * m[i]! + (1 - h.beta1) * g[i]!;
        v[i] = h.beta2 * v[i]! + (1 - h.beta2) * g[i]! * g[i]!;
        let second = v[i]!;
        if (vh) second = vh[i] = Math.max(vh[i]!, v[i]!);
        if (type === 'adamw') p[i]! -= lr * h.weightDecay * p[i]!;
        p[i]! -= (alpha * m[i]!) / (Math.sqrt(second) + h.eps);
      }
      return;
    }
    case 'adamax': {
      const m = (s.M ??= zeros());
      const u = (s.V ??= zeros());
      for (let i = 0; i < n; i++) {
        m[i] = h.beta1 * m[i]! + (1 - h.beta1) * g[i]!;
        u[i] = Math.max(h.beta2 * u[i]!, Math.abs(g[i]!));
        p[i]! -= ((lr / (1 - h.beta1 ** t)) * m[i]!) / (u[i]! + h.eps);
      }
      return;
    }
    case 'nadam': {
      const m = (s.M ??= zeros());
      const v = (s.V ??= zeros());
      const c = 1 - h.beta1 ** t;
      for (let i = 0; i < n; i++) {
        m[i] = h.beta1 * m[i]! + (1 - h.beta1) * g[i]!;
        v[i] = h.beta2 * v[i]! + (1 - h.beta2) * g[i]! * g[i]!;
        const mBar = (h.beta1 * m[i]!) / c + ((1 - h.beta1) * g[i]!) / c;
        p[i]! -= (lr * mBar) / (Math.sqrt(v[i]!) + h.eps);
      }
      return;
    }
    case 'rmsprop': {
      const cache = (s.G ??= fill(h.eps));
      for (let i = 0; i < n; i++) {
        cache[i] = h.rmsDecay * cache[i]! + (1 - h.rmsDecay) * g[i]! * g[i]!;
        p[i]! -= (lr * g[i]!) / (Math.sqrt(cache[i]!) + h.eps);
      }
      return;
    }
    case 'adagrad': {
      const hist = (s.grad ??= fill(h.eps));
      for (let i = 0; i < n; i++) {
        hist[i]! += g[i]! * g[i]!;
        p[i]! -= (lr * g[i]!) / (Math.sqrt(hist[i]!) + h.eps);
      }
      return;
    }
    case 'adadelta': {
      const msg = (s.msg ??= zeros());
      const msdx = (s.msdx ??= zeros());
      for (let i = 0; i < n; i++) {
        msg[i] = h.rho * msg[i]! + (1 - h.rho) * g[i]! * g[i]!;
        const dx = (Math.sqrt(msdx[i]! + h.eps) / Math.sqrt(msg[i]! + h.eps)) * g[i]!;
        msdx[i] = h.rho * msdx[i]! + (1 - h.rho) * dx * dx;
        p[i]! -= dx;
      }
      return;
    }
  }
}

const size = (shape: readonly number[]): number => shape.reduce((a, d) => a * d, 1);

/** Random initial parameters and STEPS gradients per parameter (grad scale varies so adaptive rules differ from sign-SGD). */
function problem(seed: number): { init: Float64Array[]; grads: Float64Array[][] } {
  const rng = new Rng(seed);
  const init = SHAPES.map((s) => Float64Array.from({ length: size(s) }, () => rng.uniform(-1, 1)));
  const grads = Array.from({ length: STEPS }, (_, k) => SHAPES.map((s) => Float64Array.from({ length: size(s) }, () => rng.uniform(-1, 1) * (1 + k))));
  return { init, grads };
}

const constant = (v: number) => (): number => v;

/** Runs `config` on DOUBLE params and the reference side by side, comparing after every step. */
function compare(config: UpdaterConfig, h: RefHyper, seed: number, epochOf: (it: number) => number = (it) => Math.floor(it / 4)): void {
  const { init, grads } = problem(seed);
  const params = SHAPES.map((s, i) => array(init[i]!, s, { dtype: 'DOUBLE' }));
  const ref = init.map((a) => Float64Array.from(a));
  const refStates: RefState[] = SHAPES.map(() => ({}));
  const updater = new Updater(config);
  for (let it = 0; it < STEPS; it++) {
    const epoch = epochOf(it);
    scope(() => {
      const g = SHAPES.map((s, i) => array(grads[it]![i]!, s, { dtype: 'DOUBLE' }));
      updater.apply(params, g, it, epoch);
    });
    SHAPES.forEach((_, i) => refStep(config.type, h, ref[i]!, grads[it]![i]!, refStates[i]!, it, epoch));
    params.forEach((p, i) => assertClose(p.toFlatArray(), ref[i]!, { rtol: 1e-12, atol: 1e-14, message: `${config.type} step ${it} param ${i}` }));
  }
  // The state arrays hold the reference's state too (same names, DL4J's keys).
  const state = updater.state();
  const expectedKeys = SHAPES.flatMap((_, i) => Object.keys(refStates[i]!).map((k) => `${i}/${k}`)).sort();
  assert.deepEqual(Object.keys(state).sort(), expectedKeys, `${config.type} state keys`);
  for (const [key, arr] of Object.entries(state)) {
    const [i, name] = key.split('/') as [string, string];
    assert.equal(arr.dtype, 'DOUBLE');
    assertClose(arr.toFlatArray(), refStates[Number(i)]![name]!, { rtol: 1e-12, atol: 1e-14, message: `${config.type} state ${key}` });
  }
  updater.close();
  for (const p of params) p.close();
}

const DEFAULTS: RefHyper = {
  lr: constant(NaN), momentum: constant(0.9), beta1: 0.9, beta2: 0.999, eps: 1e-8, rmsDecay: 0.95, rho: 0.95, weightDecay: 0.01,
};

test('each updater with DL4J defaults matches its float64 reference for several steps', () => {
  const cases: [UpdaterConfig, RefHyper][] = [
    [{ type: 'sgd' }, { ...DEFAULTS, lr: constant(1e-3) }],
    [{ type: 'nesterovs' }, { ...DEFAULTS, lr: constant(0.1) }],
    [{ type: 'adam' }, { ...DEFAULTS, lr: constant(1e-3) }],
    [{ type: 'adamw' }, { ...DEFAULTS, lr: constant(1e-3) }],
    [{ type: 'adamax' }, { ...DEFAULTS, lr: constant(1e-3) }],
    [{ type: 'nadam' }, { ...DEFAULTS, lr: constant(1e-3) }],
    [{ type: 'amsgrad' }, { ...DEFAULTS, lr: constant(1e-3) }],
    [{ type: 'rmsprop' }, { ...DEFAULTS, lr: constant(0.1) }],
    [{ type: 'adagrad' }, { ...DEFAULTS, lr: constant(0.1), eps: 1e-6 }],
    [{ type: 'adadelta' }, { ...DEFAULTS, eps: 1e-6 }],
    [{ type: 'noop' }, DEFAULTS],
  ];
  cases.forEach(([config, h], k) => compare(config, h, 100 + k));
});

test('each updater with non-default hyperparameters matches its float64 reference', () => {
  const cases: [UpdaterConfig, RefHyper][] = [
    [{ type: 'sgd', learningRate: 0.3 }, { ...DEFAULTS, lr: constant(0.3) }],
    [{ type: 'nesterovs', learningRate: 0.05, momentum: 0.5 }, { ...DEFAULTS, lr: constant(0.05), momentum: constant(0.5) }],
    [{ type: 'adam', learningRate: 0.02, beta1: 0.8, beta2: 0.95, epsilon: 1e-3 }, { ...DEFAULTS, lr: constant(0.02), beta1: 0.8, beta2: 0.95, eps: 1e-3 }],
    [{ type: 'adamw', learningRate: 0.02, beta1: 0.7, beta2: 0.9, epsilon: 1e-4, weightDecay: 0.3 }, { ...DEFAULTS, lr: constant(0.02), beta1: 0.7, beta2: 0.9, eps: 1e-4, weightDecay: 0.3 }],
    [{ type: 'adamax', learningRate: 0.01, beta1: 0.85, beta2: 0.9, epsilon: 1e-3 }, { ...DEFAULTS, lr: constant(0.01), beta1: 0.85, beta2: 0.9, eps: 1e-3 }],
    [{ type: 'nadam', learningRate: 0.01, beta1: 0.8, beta2: 0.99, epsilon: 1e-4 }, { ...DEFAULTS, lr: constant(0.01), beta1: 0.8, beta2: 0.99, eps: 1e-4 }],
    [{ type: 'amsgrad', learningRate: 0.01, beta1: 0.5, beta2: 0.6, epsilon: 1e-5 }, { ...DEFAULTS, lr: constant(0.01), beta1: 0.5, beta2: 0.6, eps: 1e-5 }],
    [{ type: 'rmsprop', learningRate: 0.01, rmsDecay: 0.8, epsilon: 1e-3 }, { ...DEFAULTS, lr: constant(0.01), rmsDecay: 0.8, eps: 1e-3 }],
    [{ type: 'adagrad', learningRate: 0.5, epsilon: 1e-2 }, { ...DEFAULTS, lr: constant(0.5), eps: 1e-2 }],
    [{ type: 'adadelta', rho: 0.7, epsilon: 1e-3 }, { ...DEFAULTS, rho: 0.7, eps: 1e-3 }],
  ];
  cases.forEach(([config, h], k) => compare(config, h, 200 + k));
});

test('learning-rate and momentum schedules drive the updates by iteration and by epoch', () => {
  // Reference schedules are written out as formulas here, independent of scheduleValue.
  compare(
    { type: 'sgd', learningRate: { type: 'exponential', initialValue: 0.1, gamma: 0.5 } },
    { ...DEFAULTS, lr: (it) => 0.1 * Math.pow(0.5, it) }, 301,
  );
  compare(
    { type: 'adam', learningRate: { type: 'step', scheduleType: 'epoch', initialValue: 0.05, decayRate: 0.1, step: 1 } },
    { ...DEFAULTS, lr: (_it, ep) => 0.05 * Math.pow(0.1, ep) }, 302, (it) => Math.floor(it / 2),
  );
  compare(
    { type: 'nesterovs', learningRate: { type: 'map', values: { 0: 0.2, 3: 0.02 } }, momentum: { type: 'warmup', warmupSteps: 4, schedule: 0.9 } },
    { ...DEFAULTS, lr: (it) => (it >= 3 ? 0.02 : 0.2), momentum: (it) => (it < 4 ? (0.9 * (it + 1)) / 4 : 0.9) }, 303,
  );
  compare(
    { type: 'rmsprop', learningRate: { type: 'cosine', initialValue: 0.1, period: 4, minValue: 0.001 } },
    { ...DEFAULTS, lr: (it) => 0.001 + 0.099 * 0.5 * (1 + Math.cos((Math.PI * (it % 4)) / 4)) }, 304,
  );
});

test('state saved after some steps and restored into a new updater continues identically', () => {
  for (const config of [{ type: 'adam' }, { type: 'amsgrad', learningRate: 0.01 }, { type: 'adadelta' }, { type: 'nesterovs' }] as UpdaterConfig[]) {
    const { init, grads } = problem(400);
    const a = SHAPES.map((s, i) => array(init[i]!, s, { dtype: 'DOUBLE' }));
    const ua = new Updater(config);
    const gradArrays = grads.map((gs) => SHAPES.map((s, i) => array(gs[i]!, s, { dtype: 'DOUBLE' })));
    for (let it = 0; it < 3; it++) ua.apply(a, gradArrays[it]!, it, 0);
    // Save copies (as a model file would), then continue both.
    const saved: Record<string, NDArray> = {};
    for (const [k, v] of Object.entries(ua.state())) saved[k] = v.dup();
    const b = a.map((p) => p.dup());
    const ub = new Updater(config);
    ub.setState(saved);
    for (const v of Object.values(saved)) v.close(); // the updater copied them
    for (let it = 3; it < STEPS; it++) {
      ua.apply(a, gradArrays[it]!, it, 0);
      ub.apply(b, gradArrays[it]!, it, 0);
    }
    a.forEach((p, i) => assert.deepEqual(b[i]!.toFlatArray(), p.toFlatArray(), `${config.type} param ${i} after restore`));
    // A restore into an updater that already has state overwrites it in place.
    const uc = new Updater(config);
    const c = a.map((p) => p.dup());
    uc.apply(c, gradArrays[0]!, 0, 0);
    uc.setState(ua.state());
    for (const [k, v] of Object.entries(uc.state())) assert.deepEqual(v.toFlatArray(), ua.state()[k]!.toFlatArray(), `${config.type} ${k}`);
    for (const u of [ua, ub, uc]) u.close();
    for (const x of [...a, ...b, ...c, ...gradArrays.flat()]) x.close();
  }
});

test('mismatches and misuse give clear errors', () => {
  const p = array([1, 2, 3], [3], { dtype: 'DOUBLE' });
  const g = array([1, 2], [2], { dtype: 'DOUBLE' });
  const u = new Updater({ type: 'adam' });
  assert.throws(() => u.apply([p], [g], 0, 0), /adam.*gradient 0.*does not match parameter/);
  assert.throws(() => u.apply([p], [], 0, 0), /1 parameters but 0 gradients/);
  assert.throws(() => new Updater({ type: 'adam', beta1: 1 }), /'adam': beta1 must be in \[0, 1\)/);
  assert.throws(() => new Updater({ type: 'rmsprop', learningRate: { type: 'map', values: { 2: 1 } } }), /key 0/);
  assert.throws(() => new Updater({ type: 'sgdx' } as unknown as UpdaterConfig), /unknown type 'sgdx'/);
  const g3 = array([1, 1, 1], [3], { dtype: 'DOUBLE' });
  u.apply([p], [g3], 0, 0);
  const f = array([1, 2, 3], [3], { dtype: 'FLOAT' });
  assert.throws(() => u.apply([f], [array([1, 1, 1], [3], { dtype: 'FLOAT' })], 1, 0), /state '0\/M'.*DOUBLE.*does not match parameter 0.*FLOAT/);
  assert.throws(() => u.setState({ '0/M': g3 }), /expected every parameter index/);
  assert.throws(() => u.setState({ '0/X': g3, '0/V': g3 }), /unexpected key '0\/X'/);
  u.close();
  assert.throws(() => u.apply([p], [g3], 1, 0), /closed/);
});

test('memory stays flat over many updater steps', () => {
  const rng = new Rng(7);
  const params = SHAPES.map((s) => array(Float64Array.from({ length: size(s) }, () => rng.uniform(-1, 1)), s, { dtype: 'DOUBLE' }));
  for (const config of [{ type: 'adam' }, { type: 'nadam' }, { type: 'adadelta' }, { type: 'amsgrad' }, { type: 'nesterovs' }] as UpdaterConfig[]) {
    const u = new Updater(config);
    const stepOnce = (it: number): void =>
      scope(() => {
        const g = SHAPES.map((s) => array(Float64Array.from({ length: size(s) }, () => rng.uniform(-1, 1)), s, { dtype: 'DOUBLE' }));
        u.apply(params, g, it, 0);
      });
    stepOnce(0); // allocates the state
    const before = memoryReport();
    for (let it = 1; it < 300; it++) stepOnce(it);
    const after = memoryReport();
    assert.equal(after.arrays, before.arrays, `${config.type}: open arrays`);
    assert.equal(after.storages, before.storages, `${config.type}: storages`);
    assert.equal(after.totalBytes, before.totalBytes, `${config.type}: bytes`);
    const stateArrays = Object.keys(u.state()).length;
    u.close();
    const closed = memoryReport();
    assert.equal(closed.arrays, before.arrays - stateArrays, `${config.type}: close() releases the state`);
  }
  for (const p of params) p.close();
});
