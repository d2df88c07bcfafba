/**
 * Several GPUs from one process: a thread bound to each device, NCCL collectives between them, and
 * a group that aborts cleanly. Skips with a message on machines with fewer than two GPUs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import * as nd from '../../src/index.js';
import { createCollectiveGroup } from '../../src/parallel/collective-factory.js';
import { gpu } from './gpu-env.js';

/**
 * Waits for workers to end by themselves (terminate() during a native call can abort the process),
 * terminating only those still running after `ms`.
 */
async function joinWorkers(exits: readonly Promise<unknown>[], workers: readonly Worker[], ms = 20_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(exits), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
  await Promise.all(workers.map((w) => w.terminate()));
}

const deviceCount = 'cuda' in gpu ? (await import('../../src/backend/cuda/device.js')).deviceCount() : 0;
const skip = deviceCount < 2 ? `needs 2 GPUs, this machine has ${deviceCount}` : false;
if (skip) console.log(`# multi-GPU tests skipped (${skip})`);

test('setBackend(cuda:1) computes on the second device', { skip }, () => {
  const prev = nd.getBackend().name;
  try {
    const b = nd.setBackend('cuda:1');
    assert.equal(b.name, 'cuda:1');
    assert.equal(b.info().devices[0]!.id, 1);
    const x = nd.arange(0, 6).reshape([2, 3]);
    assert.deepEqual(nd.sum(nd.mul(x, x), 1).toArray(), [5, 50]);
  } finally {
    nd.setBackend(prev);
  }
});

test('NCCL all-reduce mean and broadcast across two devices; an aborted group throws instead of hanging', { skip }, async () => {
  const names = ['cuda', 'cuda:1'];
  const group = createCollectiveGroup(names, { timeoutMs: 20_000 });
  assert.equal(group.kind, 'nccl');
  const url = new URL('./nccl-worker.js', import.meta.url);
  const workers = names.map((backend, rank) => new Worker(url, { workerData: { backend, init: group.inits[rank], mode: 'reduce' } }));
  const exits = workers.map((w) => new Promise((resolve) => w.once('exit', resolve)));
  try {
    const first = await Promise.all(workers.map((w) => new Promise<Record<string, number[] | string>>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    })));
    for (const [rank, rep] of first.entries()) {
      assert.equal(rep['backend'], names[rank]);
      for (const dtype of ['FLOAT', 'HALF', 'BFLOAT16', 'DOUBLE']) {
        // Mean over ranks 0 and 1 of (r + 1) * v is 1.5 v; of r * 10 is 5.
        const expected = [...Array.from({ length: 7 }, (_, i) => 1.5 * ((i % 7) - 3)), 5, 5, 5];
        assert.deepEqual(rep[`mean_${dtype}`], expected, `${dtype} on rank ${rank}`);
      }
      assert.deepEqual(rep['broadcast'], [42, 42, 42, 42, 42]);
    }
    group.abort('test');
    const second = await Promise.all(workers.map((w) => new Promise<Record<string, number[] | string>>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.postMessage('go');
    })));
    for (const rep of second) assert.match(String(rep['afterAbort']), /^CollectiveAbortedError after \d+ ms$/);
  } finally {
    await joinWorkers(exits, workers);
    group.close();
  }
});

test('a rank whose peer never arrives gives up at the timeout instead of hanging', { skip }, async () => {
  const names = ['cuda', 'cuda:1'];
  const group = createCollectiveGroup(names, { timeoutMs: 3_000 });
  const url = new URL('./nccl-worker.js', import.meta.url);
  // Rank 1 joins the communicator and leaves; rank 0's all-reduce can never complete.
  const workers = names.map((backend, rank) => new Worker(url, { workerData: { backend, init: group.inits[rank], mode: rank === 1 ? 'abandon' : 'reduce' } }));
  const exits = workers.map((w) => new Promise((resolve) => w.once('exit', resolve)));
  try {
    const t0 = Date.now();
    const outcome = await new Promise<string>((resolve) => {
      workers[0]!.once('error', (e) => resolve(`${e.name}: ${e.message}`));
      workers[0]!.once('message', () => resolve('completed'));
    });
    assert.match(outcome, /CollectiveAbortedError: .*waited 3000 ms/);
    assert.ok(Date.now() - t0 < 30_000, 'gave up within seconds');
  } finally {
    await joinWorkers(exits, workers);
    group.close();
  }
});
