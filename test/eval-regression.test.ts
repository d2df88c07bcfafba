/**
 * RegressionEvaluation against two-pass float64 references computed here (means first, then
 * deviations), over batches, with per-example and per-output masks, merge, and the stats() table.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../src/index.js';
import { Rng } from './helpers.js';

const D = { dtype: 'DOUBLE' as const };
const close = (a: number, b: number, tol = 1e-10): void => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

interface ColumnRef { mse: number; mae: number; rmse: number; rse: number; r2: number; pc: number }

/** Metrics of one column from paired values, two-pass. */
function refColumn(y: number[], p: number[]): ColumnRef {
  const n = y.length;
  const my = y.reduce((a, b) => a + b, 0) / n;
  const mp = p.reduce((a, b) => a + b, 0) / n;
  let sse = 0, sae = 0, sst = 0, spp = 0, syp = 0;
  for (let i = 0; i < n; i++) {
    const e = p[i]! - y[i]!;
    sse += e * e;
    sae += Math.abs(e);
    sst += (y[i]! - my) ** 2;
    spp += (p[i]! - mp) ** 2;
    syp += (y[i]! - my) * (p[i]! - mp);
  }
  return { mse: sse / n, mae: sae / n, rmse: Math.sqrt(sse / n), rse: sse / sst, r2: 1 - sse / sst, pc: syp / Math.sqrt(sst * spp) };
}

function checkColumn(ev: dl.RegressionEvaluation, c: number, r: ColumnRef): void {
  close(ev.meanSquaredError(c), r.mse);
  close(ev.meanAbsoluteError(c), r.mae);
  close(ev.rootMeanSquaredError(c), r.rmse);
  close(ev.relativeSquaredError(c), r.rse);
  close(ev.rSquared(c), r.r2);
  close(ev.pearsonCorrelation(c), r.pc);
}

function randomData(rng: Rng, n: number, cols: number): { y: number[][]; p: number[][] } {
  const y = Array.from({ length: n }, () => Array.from({ length: cols }, (_, c) => rng.uniform(-3, 3) + c));
  const p = y.map((row) => row.map((v) => 0.8 * v + rng.uniform(-0.5, 0.5)));
  return { y, p };
}
const column = (m: number[][], c: number, keep?: (i: number) => boolean): number[] => m.map((r) => r[c]!).filter((_, i) => !keep || keep(i));

describe('RegressionEvaluation', () => {
  it('a hand example: labels [1, 2, 3], predictions [1.5, 2, 2.5]', () => {
    const ev = new dl.RegressionEvaluation();
    ev.eval(dl.array([1, 2, 3], [3, 1], D), dl.array([1.5, 2, 2.5], [3, 1], D));
    close(ev.meanSquaredError(0), 0.5 / 3); // errors 0.5, 0, -0.5
    close(ev.meanAbsoluteError(0), 1 / 3);
    close(ev.relativeSquaredError(0), 0.5 / 2); // SST = 1 + 0 + 1
    close(ev.rSquared(0), 0.75);
    close(ev.pearsonCorrelation(0), 1); // predictions are an affine function of the labels
  });

  it('per-column metrics and averages over two batches, and merge', () => {
    const rng = new Rng(21);
    const a = randomData(rng, 30, 3);
    const b = randomData(rng, 25, 3);
    const ev = new dl.RegressionEvaluation({ columnNames: ['x', 'y', 'z'] });
    ev.eval(dl.array(a.y, D), dl.array(a.p, D));
    ev.eval(dl.array(b.y, D), dl.array(b.p, D));
    const y = [...a.y, ...b.y], p = [...a.p, ...b.p];
    const refs = [0, 1, 2].map((c) => refColumn(column(y, c), column(p, c)));
    refs.forEach((r, c) => checkColumn(ev, c, r));
    const mean = (f: (r: ColumnRef) => number): number => refs.reduce((s, r) => s + f(r), 0) / refs.length;
    close(ev.averageMeanSquaredError(), mean((r) => r.mse));
    close(ev.averageMeanAbsoluteError(), mean((r) => r.mae));
    close(ev.averageRootMeanSquaredError(), mean((r) => r.rmse));
    close(ev.averageRelativeSquaredError(), mean((r) => r.rse));
    close(ev.averageRSquared(), mean((r) => r.r2));
    close(ev.averagePearsonCorrelation(), mean((r) => r.pc));
    close(ev.scoreForMetric('R2'), mean((r) => r.r2));
    close(ev.scoreForMetric('MAE'), mean((r) => r.mae));

    const first = new dl.RegressionEvaluation();
    first.eval(dl.array(a.y, D), dl.array(a.p, D));
    const second = new dl.RegressionEvaluation();
    second.eval(dl.array(b.y, D), dl.array(b.p, D));
    first.merge(second);
    refs.forEach((r, c) => checkColumn(first, c, r));
  });

  it('per-example and per-output masks', () => {
    const rng = new Rng(4);
    const { y, p } = randomData(rng, 40, 2);
    const rowKeep = y.map(() => rng.next() < 0.7);
    const ev = new dl.RegressionEvaluation();
    ev.eval(dl.array(y, D), dl.array(p, D), dl.array(rowKeep.map(Number), D));
    for (let c = 0; c < 2; c++) checkColumn(ev, c, refColumn(column(y, c, (i) => rowKeep[i]!), column(p, c, (i) => rowKeep[i]!)));

    const outKeep = y.map(() => [rng.next() < 0.6, rng.next() < 0.8]);
    const ev2 = new dl.RegressionEvaluation();
    ev2.eval(dl.array(y, D), dl.array(p, D), dl.array(outKeep.map((r) => r.map(Number)), D));
    for (let c = 0; c < 2; c++) {
      const keep = (i: number): boolean => outKeep[i]![c]!;
      checkColumn(ev2, c, refColumn(column(y, c, keep), column(p, c, keep)));
      assert.equal(ev2.exampleCount(c), outKeep.filter((r) => r[c]).length);
    }
  });

  it('stats(): a header and one row per column, values as %.5e', () => {
    const ev = new dl.RegressionEvaluation();
    ev.eval(dl.array([[1, 0], [2, 1], [3, 2]], D), dl.array([[1.5, 0], [2, 1], [2.5, 2]], D));
    const lines = ev.stats().split('\n');
    assert.deepEqual(lines[0]!.trim().split(/\s+/), ['Column', 'MSE', 'MAE', 'RMSE', 'RSE', 'PC', 'R^2']);
    const row0 = lines[1]!.trim().split(/\s+/);
    assert.equal(row0[0], 'col_0');
    assert.equal(row0[1], '1.66667e-01'); // 0.5 / 3
    assert.equal(row0[4], '2.50000e-01');
    assert.equal(row0[6], '7.50000e-01');
    assert.equal(lines[2]!.trim().split(/\s+/)[1], '0.00000e+00');
  });

  it('errors name the shapes', () => {
    const ev = new dl.RegressionEvaluation(2);
    assert.throws(() => ev.eval(dl.zeros([3, 3]), dl.zeros([3, 3])), /2 columns, the batch has 3/);
    assert.throws(() => ev.eval(dl.zeros([3, 2]), dl.zeros([3, 1])), /labels FLOAT\[3, 2\] and predictions FLOAT\[3, 1\]/);
    assert.throws(() => ev.eval(dl.zeros([3, 2]), dl.zeros([3, 2]), dl.zeros([2, 2])), /mask FLOAT\[2, 2\]/);
  });
});

describe('RegressionEvaluation: precision', () => {
  it('labels far from zero (1e8 + small) keep R^2 and Pearson accurate, also across merged batches', () => {
    const rng = new Rng(12);
    const { y, p } = randomData(rng, 40, 1);
    const shift = (m: number[][]): number[][] => m.map((r) => r.map((v) => v + 1e8));
    const ys = shift(y), ps = shift(p);
    const a = new dl.RegressionEvaluation();
    a.eval(dl.array(ys.slice(0, 15), D), dl.array(ps.slice(0, 15), D));
    const b = new dl.RegressionEvaluation();
    b.eval(dl.array(ys.slice(15), D), dl.array(ps.slice(15), D));
    a.merge(b);
    // the reference works on the unshifted values: the metrics do not depend on the offset
    const r = refColumn(column(y, 0), column(p, 0));
    close(a.rSquared(0), r.r2, 1e-6);
    close(a.pearsonCorrelation(0), r.pc, 1e-6);
    close(a.relativeSquaredError(0), r.rse, 1e-6);
  });
});
