// A rank of a shared-memory collective group for test/parallel-collective.test.ts: runs the scenario
// named in workerData and posts what it saw.
import { parentPort, workerData } from 'node:worker_threads';
import { array, setBackend } from '../src/index.js';
import { openCollective, type SharedMemoryCollectiveInit } from '../src/parallel/index.js';

/** Rank-dependent test values: what every rank contributes, so the test can recompute the mean. */
function contribution(rank: number, n: number, salt: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(rank * 7.1 + i * 0.37 + salt) * (rank + 1));
}

async function main(init: SharedMemoryCollectiveInit, scenario: string): Promise<void> {
  setBackend('cpu');
  const c = await openCollective(init);
  const r = c.rank;
  try {
    if (scenario === 'reduce') {
      const small = array(contribution(r, 15, 0), [3, 5], { dtype: 'FLOAT' });
      const big = array(contribution(r, 1000, 1), [1000], { dtype: 'DOUBLE' });
      c.allReduceMean([small, big]);
      const first = { small: small.toFlatArray(), big: big.toFlatArray() };
      // A second call reuses the regions: values must not mix with the first call's.
      small.assign(array(contribution(r, 15, 2), [3, 5], { dtype: 'FLOAT' }));
      c.allReduceMean([small]);
      parentPort!.postMessage({ first, second: small.toFlatArray() });
    } else if (scenario === 'broadcast') {
      const a = array(contribution(r, 300, 3), [300], { dtype: 'DOUBLE' });
      c.broadcast([a], 1);
      parentPort!.postMessage({ values: a.toFlatArray() });
    } else if (scenario === 'mismatch') {
      const arrays = Array.from({ length: r + 1 }, () => array([1, 2, 3], { dtype: 'FLOAT' }));
      c.allReduceMean(arrays);
      parentPort!.postMessage({ error: null });
    } else if (scenario === 'lonely') {
      // Only rank 0 reaches the barrier; rank 1 waits for the test to release it.
      if (r === 0) c.barrier();
      else await new Promise((resolve) => parentPort!.once('message', resolve));
      parentPort!.postMessage({ error: null });
    }
  } catch (e) {
    parentPort!.postMessage({ error: (e as Error).message, name: (e as Error).name });
  }
}

// Outside a worker (the test runner also runs every file under test/) it does nothing.
if (parentPort && workerData) {
  const { init, scenario } = workerData as { init: SharedMemoryCollectiveInit; scenario: string };
  await main(init, scenario);
}
