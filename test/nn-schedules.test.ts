// Schedules against float64 formulas written out here (DL4J's ISchedule definitions), by iteration and by epoch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scheduleValue, validateSchedule, type Schedule } from '../src/index.js';
import { assertClose } from './helpers.js';

const ITERS = Array.from({ length: 40 }, (_, i) => i);

/** Checks the schedule over iterations 0..39 (epoch = floor(i / 7)) against ref(t), where t is its counter. */
function check(schedule: Schedule, ref: (t: number) => number): void {
  const byIteration = ITERS.map((i) => scheduleValue(schedule, i, Math.floor(i / 7)));
  assertClose(byIteration, ITERS.map((i) => ref(i)), { rtol: 1e-14, atol: 1e-300, message: `${schedule.type} by iteration` });
  const epochSchedule = { ...schedule, scheduleType: 'epoch' } as Schedule;
  const byEpoch = ITERS.map((i) => scheduleValue(epochSchedule, i, Math.floor(i / 7)));
  assertClose(byEpoch, ITERS.map((i) => ref(Math.floor(i / 7))), { rtol: 1e-14, atol: 1e-300, message: `${schedule.type} by epoch` });
}

test('step, exponential, inverse, poly and sigmoid schedules follow their formulas', () => {
  check({ type: 'step', initialValue: 0.1, decayRate: 0.5, step: 4 }, (t) => {
    let v = 0.1;
    for (let k = 4; k <= t; k += 4) v *= 0.5;
    return v;
  });
  check({ type: 'exponential', initialValue: 0.2, gamma: 0.9 }, (t) => {
    let v = 0.2;
    for (let k = 0; k < t; k++) v *= 0.9;
    return v;
  });
  check({ type: 'inverse', initialValue: 0.3, gamma: 0.1, power: 0.75 }, (t) => 0.3 * Math.exp(-0.75 * Math.log(1 + 0.1 * t)));
  check({ type: 'poly', initialValue: 0.5, power: 2, maxIter: 25 }, (t) => (t >= 25 ? 0 : 0.5 * (1 - t / 25) * (1 - t / 25)));
  check({ type: 'sigmoid', initialValue: 1.5, gamma: 0.3, stepSize: 10 }, (t) => 1.5 / (1 + Math.exp(-0.3 * (t - 10))));
});

test('cosine schedule decays from initialValue to minValue over each period, then restarts', () => {
  check({ type: 'cosine', initialValue: 0.1, period: 12, minValue: 0.01 }, (t) => {
    const k = t - 12 * Math.floor(t / 12);
    return 0.01 + 0.09 * (Math.cos((Math.PI * k) / 12) + 1) / 2;
  });
  check({ type: 'cosine', initialValue: 2, period: 5 }, (t) => (Math.cos((Math.PI * (t % 5)) / 5) + 1));
  assert.equal(scheduleValue({ type: 'cosine', initialValue: 0.1, period: 12, minValue: 0.01 }, 0, 0), 0.1);
});

test('warm-up ramps linearly into the wrapped schedule, a fixed number or another schedule', () => {
  check({ type: 'warmup', warmupSteps: 5, schedule: 0.4 }, (t) => (t < 5 ? (0.4 * (t + 1)) / 5 : 0.4));
  const inner: Schedule = { type: 'exponential', initialValue: 0.2, gamma: 0.95 };
  const ws = ITERS.map((i) => scheduleValue({ type: 'warmup', warmupSteps: 8, schedule: inner }, i, 0));
  assertClose(ws, ITERS.map((i) => (i < 8 ? (i + 1) / 8 : 1) * 0.2 * Math.pow(0.95, i)), { rtol: 1e-14 });
  // Epoch-driven ramp over an iteration-driven inner schedule: each follows its own counter.
  const mixed = ITERS.map((i) => scheduleValue({ type: 'warmup', scheduleType: 'epoch', warmupSteps: 2, schedule: inner }, i, Math.floor(i / 7)));
  assertClose(mixed, ITERS.map((i) => (Math.floor(i / 7) < 2 ? (Math.floor(i / 7) + 1) / 2 : 1) * 0.2 * Math.pow(0.95, i)), { rtol: 1e-14 });
});

test('map schedule holds the value of the largest key not above the counter', () => {
  const values = { 0: 0.1, 5: 0.05, 17: 0.01, 30: 0.001 };
  check({ type: 'map', values }, (t) => (t >= 30 ? 0.001 : t >= 17 ? 0.01 : t >= 5 ? 0.05 : 0.1));
});

test('fixed values pass through; malformed schedules fail with a clear message', () => {
  assert.equal(scheduleValue(0.25, 100, 3), 0.25);
  assert.throws(() => scheduleValue({ type: 'map', values: { 3: 0.1 } }, 0, 0), /'map'.*key 0/);
  assert.throws(() => scheduleValue({ type: 'step', initialValue: 0.1, decayRate: 0.5, step: 0 }, 0, 0), /'step'.*step must be a positive number/);
  assert.throws(() => validateSchedule({ type: 'cosine', initialValue: 0.1, period: -1 }), /'cosine'.*period/);
  assert.throws(() => validateSchedule({ type: 'warmup', warmupSteps: 3, schedule: { type: 'poly', initialValue: 1, power: 1, maxIter: 0 } }), /'poly'.*maxIter/);
  assert.throws(() => validateSchedule({ type: 'bogus' } as unknown as Schedule), /unknown type 'bogus'/);
  assert.throws(() => validateSchedule({ type: 'exponential', initialValue: 1, gamma: 0.9, scheduleType: 'batch' } as unknown as Schedule), /scheduleType/);
  assert.throws(() => scheduleValue(NaN, 0, 0), /finite/);
});
