// Memory management: a training loop must hold memory exactly flat; close()/`using`, views, scopes,
// keep() and garbage collection must release storage when (and only when) they should.
// The GC case needs node's --expose-gc flag (the package's test script passes it); without it
// that case is skipped.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  NDArray, array, zeros, scope, keep, noGrad, memoryReport, interval, getBackend, type MemoryReport,
  add, mul, neg, sum, mean, tanh, matmul, logSoftmax,
} from '../src/index.js';
import { Rng } from './helpers.js';

/** The counters that must not drift: front-end handles and storages, and every backend's own bytes and buffers. */
function snapshot(): { arrays: number; storages: number; totalBytes: number; backends: Record<string, { bytes: number; buffers: number }> } {
  const r: MemoryReport = memoryReport();
  const backends: Record<string, { bytes: number; buffers: number }> = {};
  for (const [name, m] of Object.entries(r.backends)) backends[name] = { bytes: m.bytes, buffers: m.buffers };
  return { arrays: r.arrays, storages: r.storages, totalBytes: r.totalBytes, backends };
}

function randomArray(rng: Rng, shape: readonly number[], scale: number): NDArray {
  const n = shape.reduce((a, d) => a * d, 1);
  return array(rng.fill(n, -scale, scale), shape, { dtype: 'FLOAT' });
}

test('an MLP training loop holds memory exactly flat and learns', () => {
  const rng = new Rng(2024);
  const batch = 32;
  const [nIn, nHidden, nOut] = [64, 32, 10];
  // A learnable task: labels from a fixed random linear teacher.
  const xs = rng.fill(batch * nIn, -1, 1);
  const teacher = rng.fill(nIn * nOut, -1, 1);
  const oneHot = new Float32Array(batch * nOut);
  for (let i = 0; i < batch; i++) {
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < nOut; c++) {
      let s = 0;
      for (let k = 0; k < nIn; k++) s += xs[i * nIn + k]! * teacher[k * nOut + c]!;
      if (s > bestScore) [best, bestScore] = [c, s];
    }
    oneHot[i * nOut + best] = 1;
  }
  const x = array(xs, [batch, nIn], { dtype: 'FLOAT' });
  const y = array(oneHot, [batch, nOut], { dtype: 'FLOAT' });
  const params = [
    randomArray(rng, [nIn, nHidden], 1 / Math.sqrt(nIn)),
    zeros([nHidden], { dtype: 'FLOAT' }),
    randomArray(rng, [nHidden, nOut], 1 / Math.sqrt(nHidden)),
    zeros([nOut], { dtype: 'FLOAT' }),
  ].map((p) => p.requireGrad());
  const [w1, b1, w2, b2] = params as [NDArray, NDArray, NDArray, NDArray];
  const lr = 0.5;

  const step = (): number =>
    scope(() => {
      const h = tanh(add(matmul(x, w1), b1));
      const logits = add(matmul(h, w2), b2);
      const loss = neg(mean(sum(mul(y, logSoftmax(logits, -1)), -1)));
      loss.backward();
      noGrad(() => {
        for (const p of params) {
          p.subi(mul(p.grad!, lr));
          p.grad!.close();
          p.grad = null;
        }
      });
      return loss.item();
    });

  const losses: number[] = [];
  let warm: ReturnType<typeof snapshot> | undefined;
  for (let i = 1; i <= 1000; i++) {
    losses.push(step());
    if (i === 10) warm = snapshot();
  }
  const end = snapshot();
  assert.deepEqual(end, warm, 'memory after iteration 1000 equals memory after iteration 10');
  // Only the inputs and parameters remain: 6 arrays, 6 storages.
  const expectedBytes = 4 * (x.size + y.size + params.reduce((s, p) => s + p.size, 0));
  assert.equal(end.totalBytes, expectedBytes, 'live bytes are exactly the inputs and parameters');

  const first = losses[0]!;
  const last = losses[losses.length - 1]!;
  assert.ok(Math.abs(first - Math.log(nOut)) < 0.5, `initial loss ${first} is near log(${nOut})`);
  assert.ok(last < 0.25 * first, `loss fell from ${first} to ${last}`);
  assert.ok(losses.every(Number.isFinite));
  for (const a of [x, y, ...params]) a.close();
});

test('close() and `using` release storage immediately', () => {
  const before = snapshot();
  const a = zeros([1000], { dtype: 'DOUBLE' });
  const during = snapshot();
  assert.equal(during.arrays, before.arrays + 1);
  assert.equal(during.storages, before.storages + 1);
  assert.equal(during.totalBytes, before.totalBytes + 8000);
  const backend = getBackend().name;
  assert.ok(during.backends[backend]!.bytes >= before.backends[backend]!.bytes + 8000, `the ${backend} backend holds the buffer`);
  a.close();
  assert.deepEqual(snapshot(), before);
  assert.equal(a.closed, true);
  assert.throws(() => a.toFlatArray(), /was closed/);
  a.close(); // idempotent
  assert.deepEqual(snapshot(), before);

  {
    using b = zeros([500], { dtype: 'FLOAT' });
    assert.equal(snapshot().totalBytes, before.totalBytes + 2000);
    assert.equal(b.closed, false);
  }
  assert.deepEqual(snapshot(), before, '`using` closed the array at the end of the block');
});

test('views keep their base storage alive', () => {
  const before = snapshot();
  const base = array([1, 2, 3, 4, 5, 6], [2, 3], { dtype: 'DOUBLE' });
  const row = base.get(1);
  const col = base.get(interval(0, 2), 2);
  const t = base.transpose();
  let s = snapshot();
  assert.equal(s.arrays, before.arrays + 4, 'each view is its own handle');
  assert.equal(s.storages, before.storages + 1, 'views share the base storage');
  base.close();
  s = snapshot();
  assert.equal(s.storages, before.storages + 1, 'the storage outlives its base while views are open');
  assert.equal(s.totalBytes, before.totalBytes + 48);
  assert.deepEqual(row.toFlatArray(), [4, 5, 6]);
  assert.deepEqual(col.toFlatArray(), [3, 6]);
  row.close();
  col.close();
  assert.deepEqual(t.toFlatArray(), [1, 4, 2, 5, 3, 6]);
  t.close();
  assert.deepEqual(snapshot(), before, 'the last view released the storage');
});

test('scope() closes temporaries, returned arrays survive (moving to the outer scope), keep() opts out', () => {
  const before = snapshot();
  let temp: NDArray | undefined;
  let innerTemp: NDArray | undefined;
  let kept: NDArray | undefined;
  const result = scope(() => {
    const a = array([1, 2, 3], [3], { dtype: 'DOUBLE' });
    temp = mul(a, 2);
    const fromInner = scope(() => {
      innerTemp = add(a, 1);
      kept = keep(add(a, 10));
      return { value: mul(innerTemp, 3) };
    });
    assert.equal(innerTemp!.closed, true, 'the inner scope closed its temporary');
    assert.equal(fromInner.value.closed, false, 'the inner result is open in the outer scope');
    return [add(fromInner.value, temp)];
  });
  assert.equal(temp!.closed, true);
  assert.equal(result[0]!.closed, false);
  assert.equal(kept!.closed, false);
  assert.deepEqual(result[0]!.toFlatArray(), [(1 + 1) * 3 + 2, (2 + 1) * 3 + 4, (3 + 1) * 3 + 6]);
  assert.deepEqual(kept!.toFlatArray(), [11, 12, 13]);
  const s = snapshot();
  assert.equal(s.storages, before.storages + 2, 'only the result and the kept array remain');
  assert.equal(s.arrays, before.arrays + 2);
  result[0]!.close();
  kept!.close();
  assert.deepEqual(snapshot(), before);

  // An exception closes everything the scope created.
  let leaked: NDArray | undefined;
  assert.throws(() =>
    scope(() => {
      leaked = zeros([10], { dtype: 'DOUBLE' });
      throw new Error('boom');
    }),
  /boom/);
  assert.equal(leaked!.closed, true);
  assert.deepEqual(snapshot(), before);
});

/** Collects garbage and gives finalizers (which run in a later task) a few turns. */
async function settle(gc: () => void): Promise<void> {
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Settles until the storage count is back to `before` (at most 20 rounds). */
async function collectUntil(gc: () => void, before: ReturnType<typeof snapshot>): Promise<void> {
  for (let round = 0; round < 20 && snapshot().storages !== before.storages; round++) await settle(gc);
}

/** The collector and the memory snapshot once earlier garbage is gone; null (test skipped) without --expose-gc. */
async function gcBaseline(t: TestContext): Promise<{ gc: () => void; before: ReturnType<typeof snapshot> } | null> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    t.skip('needs node --expose-gc (global.gc is not defined)');
    return null;
  }
  await settle(gc);
  return { gc, before: snapshot() };
}

test('arrays dropped without close are released after garbage collection', async (t) => {
  const baseline = await gcBaseline(t);
  if (!baseline) return;
  const { gc, before } = baseline;
  (() => {
    for (let i = 0; i < 50; i++) zeros([256], { dtype: 'DOUBLE' });
    // A base dropped while its view lives on, and then the view dropped too.
    const base = zeros([64], { dtype: 'DOUBLE' });
    base.get(interval(0, 8));
  })();
  const held = snapshot();
  assert.equal(held.storages, before.storages + 51);
  assert.equal(held.totalBytes, before.totalBytes + 50 * 256 * 8 + 64 * 8);
  await collectUntil(gc, before);
  assert.deepEqual(snapshot(), before, 'every unreachable array released its storage');
});

test('many arrays dropped in one synchronous run, between closed ones, are all released after garbage collection', async (t) => {
  // The safety net registers handles in batches (at the next microtask, or every few thousand
  // handles); a run longer than a batch, mixing closed and dropped arrays, must lose none.
  const baseline = await gcBaseline(t);
  if (!baseline) return;
  const { gc, before } = baseline;
  (() => {
    for (let i = 0; i < 12000; i++) {
      const x = zeros([4], { dtype: 'DOUBLE' });
      if (i % 3 === 0) x.close();
    }
  })();
  assert.equal(snapshot().storages, before.storages + 8000);
  await collectUntil(gc, before);
  assert.deepEqual(snapshot(), before, 'every dropped array released its storage');
});

test('values saved by a recorded graph that never runs backward are released after garbage collection', async (t) => {
  const baseline = await gcBaseline(t);
  if (!baseline) return;
  const { gc, before } = baseline;
  const w = zeros([8], { dtype: 'DOUBLE' }).requireGrad();
  const x = zeros([8], { dtype: 'DOUBLE' });
  const withLeaves = snapshot();
  scope(() => {
    for (let i = 0; i < 50; i++) {
      // y is a scope temporary, but mul(y, y) saves it for a backward that never comes.
      const y = mul(w, x);
      mul(y, y);
    }
  });
  assert.equal(snapshot().storages, withLeaves.storages + 50, 'the saved temporaries outlive the scope');
  await collectUntil(gc, withLeaves);
  assert.deepEqual(snapshot(), withLeaves, 'every saved value was released with its unreachable graph');
  w.close();
  x.close();
  assert.deepEqual(snapshot(), before);
});
