/** An inference worker's model replica (a MultiLayerNetwork or a ComputationGraph): outputs for packed inputs. */
import { scope } from '../ndarray/scope.js';
import type { WorkerReply, WorkerRequest } from './messages.js';
import { isGraph, modelFromBytes, type ParallelModel } from './parallel-model.js';
import { packArray, unpackArray } from './transfer.js';

export class InferenceReplica {
  private model: ParallelModel | null = null;

  constructor(private readonly rank: number) {}

  handle(req: WorkerRequest): WorkerReply {
    switch (req.type) {
      case 'load':
        this.model?.close();
        this.model = null;
        this.model = modelFromBytes(new Uint8Array(req.model), req.graph, `model posted to inference worker ${this.rank}`);
        return { type: 'done' };
      case 'output': {
        const model = this.model;
        const op = `inference worker ${this.rank}`;
        if (!model) throw new Error(`${op}: 'output' before a model was loaded`);
        const outputs = scope(() => {
          const inputs = req.inputs.map((p) => unpackArray(p, op));
          if (isGraph(model)) return model.output(...inputs).map(packArray);
          if (inputs.length !== 1) throw new Error(`${op}: a MultiLayerNetwork takes one input array, got ${inputs.length}`);
          return [packArray(model.output(inputs[0]!))];
        });
        return { type: 'output', outputs };
      }
      default:
        throw new Error(`inference worker ${this.rank}: unexpected request '${req.type}'`);
    }
  }

  close(): void {
    this.model?.close();
    this.model = null;
  }
}
