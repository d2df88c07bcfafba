/**
 * Entry of every parallel worker thread (ParallelWrapper, ParallelInference): imports the
 * configured modules, binds the thread to its backend for life, opens its collective, then
 * answers requests one at a time, in order. An exception answers the request with an error
 * reply; anything that kills the thread is seen by the main thread's 'error'/'exit' handlers.
 * 'shutdown' makes the worker release its replica and end by itself.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setBackend } from '../backend/registry.js';
import { memoryReport } from '../ndarray/memory.js';
import { openCollective } from './collective-factory.js';
import { errorReply, type WorkerReply, type WorkerRequest, type WorkerSetup } from './messages.js';
import { TrainingReplica } from './training-replica.js';
import { InferenceReplica } from './inference-replica.js';

const port = parentPort;
if (!port) throw new Error('dl4ts parallel worker: this module runs only as a worker thread');
const setup = workerData as WorkerSetup;

for (const m of setup.modules) await import(m);
setBackend(setup.backend);

let replica: TrainingReplica | InferenceReplica;
if (setup.role === 'train') {
  if (!setup.collective) throw new Error(`dl4ts parallel worker ${setup.rank}: a training worker needs a collective`);
  replica = new TrainingReplica(await openCollective(setup.collective));
} else {
  replica = new InferenceReplica(setup.rank);
}

function send(reply: WorkerReply): void {
  port!.postMessage(reply, reply.type === 'output' ? [...new Set(reply.outputs.map((o) => o.bytes))] : []);
}

// Each request runs from the check phase (setImmediate, FIFO) rather than straight from the port:
// the main thread posts the next round before the last one is answered, and callbacks that a
// request scheduled (a failure thrown asynchronously, timers) must still run between requests.
port.on('message', (req: WorkerRequest) => setImmediate(() => handle(req)));

function handle(req: WorkerRequest): void {
  if (req.type === 'shutdown') {
    // Ending on its own, between requests, means no native call is ever cut off (terminate() during
    // one can abort the whole process); closing the port lets the thread's event loop run out.
    try {
      replica.close();
    } finally {
      port!.close();
    }
    return;
  }
  let reply: WorkerReply;
  try {
    reply = req.type === 'memory' ? { type: 'memory', report: memoryReport() } : replica.handle(req);
  } catch (e) {
    reply = errorReply(e);
  }
  send(reply);
}
send({ type: 'ready' });
