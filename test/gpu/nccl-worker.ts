/** Worker of multi-gpu.test.ts: binds to a device, joins the NCCL group, runs collectives, reports values. */
import { parentPort, workerData } from 'node:worker_threads';
import * as nd from '../../src/index.js';
import { openCollective, type CollectiveInit } from '../../src/parallel/collective-factory.js';

interface Job {
  readonly backend: string;
  readonly init: CollectiveInit;
  /** 'reduce': all-reduce + broadcast; 'abandon': exit before the collective without cleaning up (a crashed peer). */
  readonly mode: 'reduce' | 'abandon';
}

// The test runner also loads every .js under test/ on its own: then there is no job and nothing runs.
if (parentPort && workerData) await run(workerData as Job);

async function run(job: Job): Promise<void> {
  nd.setBackend(job.backend);
  const c = await openCollective(job.init);
  if (job.mode === 'abandon') {
    // A crashed worker: the thread ends without closing its communicator.
    process.exit(0);
  }
  const r = job.init.rank;
  // Stages on stderr, so a hang shows where it happened.
  const trace = (stage: string): void => void process.stderr.write(`# nccl-worker rank ${r}: ${stage} at ${Date.now() % 100000} ms\n`);
  const report: Record<string, number[] | string> = { backend: nd.getBackend().name };
  try {
    for (const dtype of ['FLOAT', 'HALF', 'BFLOAT16', 'DOUBLE'] as const) {
      const a = nd.array(Array.from({ length: 1000 }, (_, i) => (r + 1) * ((i % 7) - 3)), [10, 100], { dtype });
      const b = nd.full([3], r * 10, { dtype });
      trace(`all-reduce ${dtype}`);
      c.allReduceMean([a, b]);
      trace(`all-reduce ${dtype} done`);
      report[`mean_${dtype}`] = [...a.toFlatArray().slice(0, 7), ...b.toFlatArray()];
    }
    const w = nd.full([5], r === 1 ? 42 : -1);
    c.broadcast([w], 1);
    report['broadcast'] = w.toFlatArray();
    c.barrier();
    // The group is aborted by the test's main thread now; the next collective must throw, not hang.
    parentPort!.postMessage(report);
    await new Promise((resolve) => parentPort!.once('message', resolve));
    const t0 = Date.now();
    try {
      c.allReduceMean([nd.ones([4])]);
      report['afterAbort'] = 'no error';
    } catch (e) {
      report['afterAbort'] = `${(e as Error).name} after ${Date.now() - t0} ms`;
    }
    parentPort!.postMessage(report);
  } catch (e) {
    trace(`failed: ${(e as Error).message}`);
    throw e;
  } finally {
    c.close();
    trace('closed');
  }
}
