import { test } from 'node:test';
import assert from 'node:assert/strict';
import { array, AsyncDataSetIterator, DataSet, ListDataSetIterator, scopeAsync, type DataSetIterator, type DataSetPreProcessor } from '../src/index.js';

/** n examples: features [i, 100 + i], labels [2 i]. */
function numbered(n: number): DataSet {
  const f: number[] = [];
  const l: number[] = [];
  for (let i = 0; i < n; i++) {
    f.push(i, 100 + i);
    l.push(2 * i);
  }
  return new DataSet(array(f, [n, 2], { dtype: 'DOUBLE' }), array(l, [n, 1], { dtype: 'DOUBLE' }));
}

function drain(it: DataSetIterator): number[][] {
  const out: number[][] = [];
  while (it.hasNext()) {
    const ds = it.next();
    out.push(ds.labels.toFlatArray());
    ds.close();
  }
  return out;
}

const expectedBatches = (n: number, b: number): number[][] => {
  const out: number[][] = [];
  for (let i = 0; i < n; i += b) out.push(Array.from({ length: Math.min(b, n - i) }, (_, k) => 2 * (i + k)));
  return out;
};

/** Lets the prefetcher run: it fetches one batch per event-loop turn, so counting turns (not milliseconds) keeps this deterministic under load. */
async function idleTurns(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

test('ListDataSetIterator: batches in order, last partial, reset, for..of restarts', () => {
  const ds = numbered(10);
  const it = new ListDataSetIterator(ds, 4);
  assert.equal(it.batch, 4);
  assert.equal(it.inputColumns, 2);
  assert.equal(it.totalOutcomes, 1);
  assert.ok(it.resetSupported && it.asyncSupported);
  assert.deepEqual(drain(it), expectedBatches(10, 4));
  assert.throws(() => it.next(), /no more data \(10 examples consumed\); call reset\(\)/);
  it.reset();
  assert.deepEqual(drain(it), expectedBatches(10, 4));
  const seen: number[][] = [];
  for (const b of it) {
    seen.push(b.labels.toFlatArray());
    b.close();
  }
  assert.deepEqual(seen, expectedBatches(10, 4), 'for..of resets first, even after exhaustion');
  assert.ok(!ds.features.closed, 'the source DataSet stays open');
  ds.close();
});

test('ListDataSetIterator: from a list of DataSets (merged) and with a pre-processor', () => {
  const parts = [numbered(3), numbered(2)];
  const it = new ListDataSetIterator(parts, 2);
  const doubler: DataSetPreProcessor = {
    preProcess(ds) {
      ds.setArray('features', ds.features.mul(2));
    },
  };
  it.preProcessor = doubler;
  const feats: number[] = [];
  while (it.hasNext()) {
    const b = it.next();
    feats.push(...b.features.toFlatArray());
    b.close();
  }
  assert.deepEqual(feats, [0, 200, 2, 202, 4, 204, 0, 200, 2, 202]);
  it.close();
  parts.forEach((p) => p.close());
  assert.throws(() => new ListDataSetIterator(numbered(1), 0), /batch must be a positive integer, got 0/);
});

test('AsyncDataSetIterator: prefetches up to queueSize between calls, same batches as the base', async () => {
  const ds = numbered(13);
  const base = new ListDataSetIterator(ds, 3);
  const it = new AsyncDataSetIterator(base, { queueSize: 2 });
  await idleTurns();
  assert.equal(it.queued, 2, 'two batches fetched while idle, not more');
  const first = it.next();
  assert.deepEqual(first.labels.toFlatArray(), [0, 2, 4]);
  first.close();
  assert.deepEqual(drain(it), expectedBatches(13, 3).slice(1));
  it.reset();
  const got: number[][] = [];
  for await (const b of it) {
    got.push(b.labels.toFlatArray());
    b.close();
  }
  assert.deepEqual(got, expectedBatches(13, 3));
  const again: number[][] = [];
  for (const b of it) {
    again.push(b.labels.toFlatArray());
    b.close();
  }
  assert.deepEqual(again, expectedBatches(13, 3), 'sync for..of works too');
  it.shutdown();
  ds.close();
});

test('AsyncDataSetIterator: batches prefetched while an async scope is open outlive it; reset closes queued ones', async () => {
  const ds = numbered(6);
  const it = new AsyncDataSetIterator(new ListDataSetIterator(ds, 2), { queueSize: 3 });
  const labels = await scopeAsync(async () => {
    await idleTurns();
    const b = it.next();
    const v = b.labels.toFlatArray();
    b.close();
    await idleTurns();
    return v;
  });
  assert.deepEqual(labels, [0, 2]);
  assert.equal(it.queued, 2);
  assert.deepEqual(drain(it), [[4, 6], [8, 10]], 'queued arrays are still open after the scope ended');
  it.reset();
  await idleTurns();
  it.reset();
  assert.deepEqual(drain(it), expectedBatches(6, 2));
  it.shutdown();
  assert.throws(() => new AsyncDataSetIterator(new ListDataSetIterator(ds, 2), { queueSize: 0 }), /queueSize must be a positive integer/);
  ds.close();
});

test('AsyncDataSetIterator: an error of the base surfaces on the consumer side', async () => {
  let calls = 0;
  const failing: DataSetIterator = {
    batch: 1,
    inputColumns: 1,
    totalOutcomes: 1,
    resetSupported: true,
    asyncSupported: true,
    preProcessor: null,
    hasNext: () => true,
    next: () => {
      calls++;
      if (calls === 2) throw new Error('disk gone');
      return new DataSet(array([calls], [1, 1]), array([0], [1, 1]));
    },
    reset: () => undefined,
    [Symbol.iterator]() {
      return [][Symbol.iterator]();
    },
  };
  const it = new AsyncDataSetIterator(failing, { queueSize: 4 });
  await idleTurns();
  assert.throws(() => it.next(), /disk gone/);
  it.shutdown();
});
