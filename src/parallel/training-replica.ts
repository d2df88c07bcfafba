/**
 * A training worker's model replica: loaded from ModelSerializer bytes, trained one minibatch per
 * request, and averaged with the other replicas through the group's Collective.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { noGrad } from '../autodiff/tape.js';
import { setSeed } from '../random/generator.js';
import { DataSet } from '../data/dataset.js';
import { serializeModel } from '../nn/model-serializer.js';
import type { Collective } from './collective.js';
import type { ReplyOf, WorkerReply, WorkerRequest } from './messages.js';
import { isGraph, modelFromBytes, type ParallelModel } from './parallel-model.js';
import { unpackBatch } from './transfer.js';

function scaleInPlace(arrays: readonly NDArray[], factor: number): void {
  // Exactly 1 (equal shares) leaves the values untouched, so equal workers average bit-exactly.
  if (factor === 1) return;
  noGrad(() => {
    for (const a of arrays) a.muli(factor);
  });
}

export class TrainingReplica {
  private net: ParallelModel | null = null;
  private gradientScale = 1;

  constructor(private readonly collective: Collective) {}

  handle(req: WorkerRequest): WorkerReply {
    switch (req.type) {
      case 'load': return this.load(req);
      case 'step': return this.step(req);
      case 'average': return this.average(req);
      case 'save': return { type: 'saved', model: serializeModel(this.model('save')) };
      default: throw new Error(`training worker ${this.collective.rank}: unexpected request '${req.type}'`);
    }
  }

  close(): void {
    this.net?.close();
    this.net = null;
    this.collective.close();
  }

  private model(op: string): ParallelModel {
    if (!this.net) throw new Error(`training worker ${this.collective.rank}: '${op}' before a model was loaded`);
    return this.net;
  }

  private load(req: Extract<WorkerRequest, { type: 'load' }>): ReplyOf<'done'> {
    this.net?.close();
    this.net = null;
    if (req.seed !== undefined) setSeed(req.seed);
    const net = modelFromBytes(new Uint8Array(req.model), req.graph, `model posted to worker ${this.collective.rank}`);
    if (req.sharedGradients) {
      net.setGradientExchange((grads) => {
        scaleInPlace(grads, this.gradientScale);
        this.collective.allReduceMean(grads);
      });
    }
    this.net = net;
    return { type: 'done' };
  }

  private step(req: Extract<WorkerRequest, { type: 'step' }>): ReplyOf<'stepped'> {
    const net = this.model('step');
    const ds = unpackBatch(req.data, `training worker ${this.collective.rank}`);
    try {
      // The main thread's counters drive schedules and bias correction identically on every replica.
      net.iterationCount = req.iteration;
      net.epochCount = req.epoch;
      this.gradientScale = req.gradientScale;
      if (isGraph(net)) net.fit(ds);
      else if (ds instanceof DataSet) net.fit(ds);
      else throw new Error(`training worker ${this.collective.rank}: a MultiLayerNetwork trains on DataSets, got a MultiDataSet of ${ds.numFeatureArrays} features arrays`);
    } finally {
      ds.close();
    }
    return { type: 'stepped', score: req.wantScore ? net.score() : null };
  }

  private average(req: Extract<WorkerRequest, { type: 'average' }>): ReplyOf<'done'> {
    const net = this.model('average');
    const arrays = [...net.paramTable().values()];
    if (req.updaters) arrays.push(...Object.values(net.updaterState()));
    scaleInPlace(arrays, req.scale);
    this.collective.allReduceMean(arrays);
    return { type: 'done' };
  }
}
