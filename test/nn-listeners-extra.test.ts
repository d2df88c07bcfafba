import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  array, DataSet, ListDataSetIterator, MultiLayerNetwork, PerformanceListener, ProgressBarListener,
  type PerformanceReport, type ProgressStream,
} from '../src/index.js';
import { Rng } from './helpers.js';

/** n examples of 3 features and 2 one-hot classes. */
function data(n: number): DataSet {
  const rng = new Rng(5);
  const xs: number[][] = [];
  const ys: number[][] = [];
  for (let i = 0; i < n; i++) {
    const x = [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)];
    xs.push(x);
    ys.push(x[0]! > 0 ? [0, 1] : [1, 0]);
  }
  return new DataSet(array(xs, { dtype: 'FLOAT' }), array(ys, { dtype: 'FLOAT' }));
}

function network(): MultiLayerNetwork {
  return new MultiLayerNetwork({
    seed: 1, updater: { type: 'sgd', learningRate: 0.1 },
    inputType: { type: 'feedForward', size: 3 },
    layers: [{ type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }],
  }).init();
}

test('PerformanceListener: reports every N iterations with samples/s from the tracked iterator and ETL time', () => {
  const ds = data(50); // batches of 8: 6 full + one of 2 per epoch
  const reports: PerformanceReport[] = [];
  const perf = new PerformanceListener({ frequency: 3, log: (_line, r) => reports.push(r) });
  const net = network();
  net.setListeners(perf);
  const it = perf.track(new ListDataSetIterator(ds, 8));
  assert.equal(it.batch, 8);
  assert.equal(it.inputColumns, 3);
  net.fit(it, 2);
  // 7 steps per epoch, the window restarts each epoch: reports after steps 3 and 6 of each epoch.
  assert.deepEqual(reports.map((r) => [r.epoch, r.iteration]), [[0, 2], [0, 5], [1, 9], [1, 12]]);
  for (const r of reports) {
    assert.ok(r.batchesPerSecond > 0 && Number.isFinite(r.batchesPerSecond));
    // All 3 batches in each window are full: exactly 8 examples per batch.
    assert.ok(Math.abs(r.samplesPerSecond / r.batchesPerSecond - 8) < 1e-9, `${r.samplesPerSecond} vs ${r.batchesPerSecond}`);
    assert.ok(r.etlMs >= 0 && Number.isFinite(r.etlMs));
    assert.ok(r.score !== undefined && r.score > 0 && Number.isFinite(r.score));
  }
  net.close();
  ds.close();
});

test('PerformanceListener: untracked iterator uses batchSize or reports no samples/s; bad options', () => {
  const ds = data(16);
  const lines: string[] = [];
  const withSize: PerformanceReport[] = [];
  const net = network();
  net.setListeners(
    new PerformanceListener({ frequency: 2, reportScore: false, log: (line) => lines.push(line) }),
    new PerformanceListener({ frequency: 2, batchSize: 4, log: (_l, r) => withSize.push(r) }),
  );
  net.fit(new ListDataSetIterator(ds, 4));
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^iteration 1; epoch 0; [\d.]+ batches\/s$/);
  assert.equal(withSize.length, 2);
  for (const r of withSize) {
    assert.ok(Math.abs(r.samplesPerSecond / r.batchesPerSecond - 4) < 1e-9);
    assert.ok(Number.isNaN(r.etlMs));
  }
  assert.throws(() => new PerformanceListener({ frequency: 0 }), /frequency must be a positive integer, got 0/);
  assert.throws(() => new PerformanceListener({ batchSize: 2.5 }), /batchSize must be a positive integer, got 2.5/);
  net.close();
  ds.close();
});

/** A fake terminal recording what is written. */
class FakeStream implements ProgressStream {
  readonly chunks: string[] = [];
  constructor(readonly isTTY: boolean, readonly columns = 80) {}
  write(text: string): boolean {
    this.chunks.push(text);
    return true;
  }
}

test('ProgressBarListener: draws only on a TTY, one line per epoch ending full', () => {
  const ds = data(20);
  const tty = new FakeStream(true);
  const pipe = new FakeStream(false);
  const net = network();
  const bar = new ProgressBarListener({ total: 5, stream: tty, minIntervalMs: 0 });
  net.setListeners(bar, new ProgressBarListener({ total: 5, stream: pipe }));
  net.fit(new ListDataSetIterator(ds, 4), 2);
  assert.equal(pipe.chunks.length, 0, 'nothing written when not a TTY');
  const draws = tty.chunks.filter((c) => c.startsWith('\r'));
  assert.equal(draws.length, 10);
  assert.equal(tty.chunks.filter((c) => c === '\n').length, 2);
  assert.match(draws[4]!, /^\repoch 0 \[=+\] 5\/5 ETA 0\.0s score [\d.]+$/);
  assert.match(draws[9]!, /^\repoch 1 \[=+\] 5\/5 /);
  // Partial bar: 2 of 5 with a 40-wide bar is 16 cells, the last one an arrow.
  const mid = draws[1]!.slice(1);
  const inner = /\[([^\]]*)\]/.exec(mid)![1]!;
  assert.equal(inner.length, 40);
  assert.equal(inner.trimEnd(), '='.repeat(15) + '>');
  assert.throws(() => new ProgressBarListener({ total: 0 }), /total must be a positive integer, got 0/);
  net.close();
  ds.close();
});
