/** The models ParallelWrapper trains: a MultiLayerNetwork or a ComputationGraph, rebuilt from bytes in workers. */
import { MultiLayerNetwork } from '../nn/multilayer-network.js';
import { ComputationGraph } from '../nn/graph/computation-graph.js';
import { deserializeGraph, deserializeModel } from '../nn/model-serializer.js';

export type ParallelModel = MultiLayerNetwork | ComputationGraph;

/** Whether the model is a ComputationGraph (its bytes are read back with deserializeGraph). */
export function isGraph(model: ParallelModel): model is ComputationGraph {
  return model instanceof ComputationGraph;
}

/** The model in ModelSerializer bytes; `what` names the bytes in errors. */
export function modelFromBytes(bytes: Uint8Array, graph: boolean, what: string): ParallelModel {
  return graph ? deserializeGraph(bytes, what).graph : deserializeModel(bytes, what).network;
}
