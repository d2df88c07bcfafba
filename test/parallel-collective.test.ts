// The shared-memory Collective between worker threads: allReduceMean against means recomputed here
// (several rounds through a small slot, FLOAT and DOUBLE), broadcast, callers that pass different
// arrays, a peer that never arrives (abort from the main thread, and the wait limit), argument
// errors; and the worker device binding on the CPU backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { array, zeros } from '../src/index.js';
import { createSharedMemoryGroup, SharedMemoryCollective, workerBackendNames, defaultWorkerCount, type CollectiveGroup, type SharedMemoryCollectiveInit } from '../src/parallel/index.js';

interface Outcome {
  error?: string | null;
  name?: string;
  first?: { small: number[]; big: number[] };
  second?: number[];
  values?: number[];
}

/** Same formula as the worker's. */
function contribution(rank: number, n: number, salt: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(rank * 7.1 + i * 0.37 + salt) * (rank + 1));
}

/** Mean over ranks summed in rank order in float64, then stored as the array's dtype. */
function mean(size: number, n: number, salt: number, float32: boolean): number[] {
  const per = Array.from({ length: size }, (_, r) => contribution(r, n, salt).map((v) => (float32 ? Math.fround(v) : v)));
  return Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let r = 0; r < size; r++) s += per[r]![i]!;
    return float32 ? Math.fround(s / size) : s / size;
  });
}

interface Run {
  readonly workers: Worker[];
  readonly outcomes: Promise<Outcome[]>;
  readonly exits: Promise<unknown[]>;
}

function run(group: CollectiveGroup<SharedMemoryCollectiveInit>, scenario: string): Run {
  const workers = group.inits.map((init) => new Worker(new URL('./parallel-collective-worker.js', import.meta.url), { workerData: { init, scenario } }));
  const outcomes = Promise.all(workers.map((w) => new Promise<Outcome>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  })));
  const exits = Promise.all(workers.map((w) => new Promise((resolve) => w.once('exit', resolve))));
  return { workers, outcomes, exits };
}

/**
 * Waits for the workers to end by themselves (a lonely rank 1 is released first): terminate() on a
 * thread that is inside a native call, or already exiting, can abort the whole process.
 */
async function stop(r: Run): Promise<void> {
  r.workers[1]?.postMessage('release');
  await r.exits;
}

test('allReduceMean over 3 ranks equals the mean of their contributions, through many slot-sized rounds', async () => {
  const group = createSharedMemoryGroup(3, { slotBytes: 256 });
  const r = run(group, 'reduce');
  const got = await r.outcomes;
  await stop(r);
  const small = mean(3, 15, 0, true);
  const big = mean(3, 1000, 1, false);
  const second = mean(3, 15, 2, true);
  for (const o of got) {
    assert.equal(o.error, undefined, o.error ?? '');
    assert.deepEqual(o.first!.small, small);
    assert.deepEqual(o.first!.big, big);
    assert.deepEqual(o.second, second);
  }
});

test('broadcast copies the root rank\'s values to every rank', async () => {
  const group = createSharedMemoryGroup(3, { slotBytes: 512 });
  const r = run(group, 'broadcast');
  const got = await r.outcomes;
  await stop(r);
  for (const o of got) assert.deepEqual(o.values, contribution(1, 300, 3));
});

test('ranks that pass different arrays get an error instead of mixed values', async () => {
  const group = createSharedMemoryGroup(2);
  const r = run(group, 'mismatch');
  const got = await r.outcomes;
  await stop(r);
  for (const o of got) assert.match(o.error ?? '', /every rank must pass the same arrays in the same order/);
});

test('a rank waiting for a peer that never comes: the main thread\'s abort wakes it at once', async () => {
  const group = createSharedMemoryGroup(2, { timeoutMs: 60_000 });
  const r = run(group, 'lonely');
  const rank0 = new Promise<Outcome>((resolve) => r.workers[0]!.once('message', resolve));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const t0 = performance.now();
  group.abort('test');
  const o = await rank0;
  assert.ok(performance.now() - t0 < 2000, `woke after ${performance.now() - t0} ms`);
  assert.equal(o.name, 'CollectiveAbortedError');
  assert.match(o.error!, /rank 0 of 2: the group was aborted/);
  await stop(r);
});

test('a rank waiting for a peer that never comes gives up after timeoutMs and aborts the group', async () => {
  const group = createSharedMemoryGroup(2, { timeoutMs: 300 });
  const r = run(group, 'lonely');
  const o = await new Promise<Outcome>((resolve) => r.workers[0]!.once('message', resolve));
  assert.equal(o.name, 'CollectiveAbortedError');
  assert.match(o.error!, /rank 0 waited 300 ms for the other 1 ranks; the group is aborted/);
  // The group stays aborted for everyone.
  const c = new SharedMemoryCollective(group.inits[1]!);
  assert.throws(() => c.barrier(), /rank 1 of 2: the group was aborted/);
  await stop(r);
});

test('argument errors name the array, its dtype and shape', () => {
  const c = new SharedMemoryCollective(createSharedMemoryGroup(1).inits[0]!);
  const ints = array([1, 2], [2], { dtype: 'INT32' });
  assert.throws(() => c.allReduceMean([ints]), /allReduceMean: array 0 is INT32\[2\]; only FLOAT and DOUBLE arrays are supported/);
  const m = zeros([3, 4], { dtype: 'FLOAT' });
  const t = m.transpose();
  assert.throws(() => c.allReduceMean([m, t]), /allReduceMean: array 1 FLOAT\[4, 3\] is a non-contiguous view/);
  assert.throws(() => c.broadcast([m], 1), /root 1 is not a rank of a group of 1/);
  // One rank: the mean is the array itself.
  const v = array([1.5, -2], [2], { dtype: 'DOUBLE' });
  c.allReduceMean([v]);
  assert.deepEqual(v.toFlatArray(), [1.5, -2]);
  c.close();
  assert.throws(() => c.barrier(), /the collective is closed/);
  for (const a of [ints, m, t, v]) a.close();
  assert.throws(() => createSharedMemoryGroup(0), /size must be a positive integer, got 0/);
});

test('workers on the CPU backend all bind to cpu', () => {
  assert.deepEqual(workerBackendNames(3), ['cpu', 'cpu', 'cpu']);
  assert.equal(defaultWorkerCount(), 2);
  assert.throws(() => workerBackendNames(0), /workers must be a positive integer, got 0/);
});
