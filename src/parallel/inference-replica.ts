/** An inference worker's model replica: outputs for packed inputs. */
import { scope } from '../ndarray/scope.js';
import type { MultiLayerNetwork } from '../nn/multilayer-network.js';
import { deserializeModel } from '../nn/model-serializer.js';
import type { WorkerReply, WorkerRequest } from './messages.js';
import { packArray, unpackArray } from './transfer.js';

export class InferenceReplica {
  private net: MultiLayerNetwork | null = null;

  constructor(private readonly rank: number) {}

  handle(req: WorkerRequest): WorkerReply {
    switch (req.type) {
      case 'load':
        this.net?.close();
        this.net = null;
        this.net = deserializeModel(new Uint8Array(req.model), `model posted to inference worker ${this.rank}`).network;
        return { type: 'done' };
      case 'output': {
        const net = this.net;
        if (!net) throw new Error(`inference worker ${this.rank}: 'output' before a model was loaded`);
        const output = scope(() => packArray(net.output(unpackArray(req.input, `inference worker ${this.rank}`))));
        return { type: 'output', output };
      }
      default:
        throw new Error(`inference worker ${this.rank}: unexpected request '${req.type}'`);
    }
  }

  close(): void {
    this.net?.close();
    this.net = null;
  }
}
