/**
 * The networks of the GPU training benchmark (`npm run bench:gpu:networks`), defined once as dl4ts
 * configurations. PyTorch builds its models from the same configurations after dl4ts has resolved
 * them (every default applied, nIn inferred, window geometry computed): portableModel() turns a
 * model into plain JSON that bench/networks_gpu_torch.py reads, so both libraries train the same
 * architecture with the same batch and updater.
 */
import type { ComputationGraphConfiguration, DataType, LayerConfig, NeuralNetConfiguration, ResolvedLayer, VertexConfig, VertexEntry } from '../src/index.js';
import { resolveConfiguration, inputActivationType } from '../src/nn/config.js';
import { resolveGraph } from '../src/nn/graph/graph-config.js';
import type { ActivationType } from '../src/nn/resolvers/context.js';
import { NETWORKS } from './networks-spec.js';

export type GpuModelName = 'mlp' | 'lenet' | 'resnet18' | 'lstm';
export const GPU_MODEL_NAMES: readonly GpuModelName[] = ['mlp', 'lenet', 'resnet18', 'lstm'];

export type GpuDataType = Extract<DataType, 'FLOAT' | 'HALF' | 'BFLOAT16'>;
export const GPU_DTYPES: readonly GpuDataType[] = ['FLOAT', 'HALF', 'BFLOAT16'];

/** Plain SGD on both sides (torch.optim.SGD(lr=0.01), no momentum). */
export const SGD = { type: 'sgd', learningRate: 0.01 } as const;
export const CLASSES = 10;
const SEED = 123;

/** A model either library can build: a MultiLayerNetwork or a ComputationGraph configuration. */
export type GpuModelConfiguration =
  | { readonly kind: 'multiLayer'; readonly conf: NeuralNetConfiguration }
  | { readonly kind: 'graph'; readonly conf: ComputationGraphConfiguration };

export interface GpuModelSpec {
  readonly name: GpuModelName;
  readonly description: string;
  /** The batch size of the benchmark row. */
  readonly batch: number;
  /** One example's features as dl4ts takes them (the batch dimension goes in front). */
  readonly exampleShape: readonly number[];
  readonly configuration: (dataType: GpuDataType) => GpuModelConfiguration;
}

/** A network of one of the CPU benchmark's layer stacks (bench/networks-spec.ts), trained with SGD. */
function fromCpuBenchmark(name: 'mlp' | 'lenet'): (dataType: GpuDataType) => GpuModelConfiguration {
  const spec = NETWORKS.find((n) => n.name === name);
  if (!spec) throw new Error(`networks-gpu-spec: bench/networks-spec.ts has no network '${name}'`);
  return (dataType) => ({ kind: 'multiLayer', conf: { seed: SEED, updater: SGD, weightInit: 'RELU', dataType, inputType: spec.inputType, layers: [...spec.layers] } });
}

/**
 * ResNet-18 for 32x32 images: a 3x3 conv-BN-ReLU stem with 64 channels, four stages of two
 * BasicBlocks (64, 128, 256, 512 channels; stages 2-4 start with stride 2 and a 1x1 conv + BN
 * shortcut), global average pooling and a softmax classifier. Convolutions followed by BN have no bias.
 */
export function resnet18(dataType: GpuDataType): ComputationGraphConfiguration {
  const vertices: Record<string, VertexEntry> = {};
  const layer = (name: string, l: LayerConfig, input: string): string => {
    vertices[name] = { layer: l, inputs: [input] };
    return name;
  };
  const convBn = (name: string, input: string, nOut: number, kernelSize: number, stride: number): string => {
    const conv = layer(`${name}_conv`, { type: 'convolution2d', nOut, kernelSize, stride, padding: kernelSize >> 1, activation: 'identity', hasBias: false }, input);
    return layer(`${name}_bn`, { type: 'batchNormalization' }, conv);
  };
  const relu = (name: string, input: string): string => layer(name, { type: 'activation', activation: 'relu' }, input);
  const basicBlock = (name: string, input: string, channels: number, stride: number, projection: boolean): string => {
    const body = convBn(`${name}_b`, relu(`${name}_a_relu`, convBn(`${name}_a`, input, channels, 3, stride)), channels, 3, 1);
    const shortcut = projection ? convBn(`${name}_short`, input, channels, 1, stride) : input;
    const vertex: VertexConfig = { type: 'elementwise', op: 'add' };
    vertices[`${name}_add`] = { vertex, inputs: [body, shortcut] };
    return relu(`${name}_out`, `${name}_add`);
  };
  let x = relu('stem_relu', convBn('stem', 'input', 64, 3, 1));
  [64, 128, 256, 512].forEach((channels, s) => {
    for (let b = 0; b < 2; b++) x = basicBlock(`s${s + 1}b${b + 1}`, x, channels, s > 0 && b === 0 ? 2 : 1, s > 0 && b === 0);
  });
  layer('gap', { type: 'globalPooling', poolingType: 'avg' }, x);
  layer('out', { type: 'output', nOut: CLASSES, activation: 'softmax', lossFunction: 'MCXENT' }, 'gap');
  return {
    seed: SEED, updater: SGD, weightInit: 'RELU', dataType, inputs: ['input'],
    inputTypes: [{ type: 'convolutional', channels: 3, height: 32, width: 32 }], vertices, outputs: ['out'],
  };
}

/** Sequence length, input size and hidden size of the LSTM row. */
export const LSTM_SHAPE = { timeSteps: 64, inputSize: 128, hidden: 512 } as const;

/** Two stacked LSTM layers; the second's last time step feeds a softmax classifier. */
export function lstm2(dataType: GpuDataType): NeuralNetConfiguration {
  const { timeSteps, inputSize, hidden } = LSTM_SHAPE;
  return {
    seed: SEED, updater: SGD, weightInit: 'XAVIER', dataType,
    inputType: { type: 'recurrent', size: inputSize, timeSeriesLength: timeSteps },
    layers: [
      { type: 'lstm', nOut: hidden, activation: 'tanh' },
      { type: 'lastTimeStep', layer: { type: 'lstm', nOut: hidden, activation: 'tanh' } },
      { type: 'output', nOut: CLASSES, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  };
}

export const GPU_MODELS: readonly GpuModelSpec[] = [
  { name: 'mlp', description: 'the MLP of bench/networks-spec.ts: 784-500-100-10 relu, dropout (retain 0.8) into layers 2 and 3', batch: 128, exampleShape: [784], configuration: fromCpuBenchmark('mlp') },
  { name: 'lenet', description: "the LeNet of bench/networks-spec.ts: conv 5x5x20, maxpool 2, conv 5x5x50, maxpool 2, dense 500 relu (28x28x1 input)", batch: 128, exampleShape: [784], configuration: fromCpuBenchmark('lenet') },
  {
    name: 'resnet18', description: 'ResNet-18 for 3x32x32 (ComputationGraph): 3x3 stem 64 + BN + relu, 4 stages x 2 BasicBlocks (64/128/256/512, stride 2 + 1x1 conv/BN shortcut in stages 2-4), global avg pool, dense 10',
    batch: 256, exampleShape: [3, 32, 32], configuration: (dataType) => ({ kind: 'graph', conf: resnet18(dataType) }),
  },
  {
    name: 'lstm', description: `2-layer LSTM, input ${LSTM_SHAPE.inputSize}, hidden ${LSTM_SHAPE.hidden}, ${LSTM_SHAPE.timeSteps} steps; the last step -> dense 10`,
    batch: 64, exampleShape: [LSTM_SHAPE.inputSize, LSTM_SHAPE.timeSteps], configuration: (dataType) => ({ kind: 'multiLayer', conf: lstm2(dataType) }),
  },
];

export function gpuModel(name: GpuModelName): GpuModelSpec {
  const spec = GPU_MODELS.find((m) => m.name === name);
  if (!spec) throw new Error(`networks-gpu-spec: unknown model '${name}'; expected one of ${GPU_MODEL_NAMES.join(', ')}`);
  return spec;
}

/**
 * One vertex of the portable graph: a resolved dl4ts layer with the prefix of its parameter keys
 * in paramTable() ('0' of '0_W' in a MultiLayerNetwork, the vertex name in a graph), or a
 * parameterless vertex.
 */
export type PortableVertex =
  | { readonly name: string; readonly inputs: readonly string[]; readonly layer: ResolvedLayer; readonly paramKey: string }
  | { readonly name: string; readonly inputs: readonly string[]; readonly vertex: VertexConfig };

/** What bench/networks_gpu_torch.py builds a model from (JSON). */
export interface PortableModel {
  readonly name: GpuModelName;
  readonly batch: number;
  readonly dtype: GpuDataType;
  /** The name vertices use for the single network input. */
  readonly inputName: string;
  /** The network input's activations per example (recurrent: size and timeSeriesLength). */
  readonly input: ActivationType;
  /** Topological order; a MultiLayerNetwork becomes a chain from 'input'. */
  readonly vertices: readonly PortableVertex[];
  readonly output: string;
  readonly updater: typeof SGD;
}

/** The resolved form of a model as plain data, for the PyTorch side to rebuild. */
export function portableModel(spec: GpuModelSpec, dtype: GpuDataType, batch = spec.batch): PortableModel {
  const model = spec.configuration(dtype);
  const base = { name: spec.name, batch, dtype, updater: SGD } as const;
  if (model.kind === 'multiLayer') {
    const resolved = resolveConfiguration(model.conf);
    if (model.conf.inputType === undefined) throw new Error(`portableModel(${spec.name}): the configuration needs an inputType`);
    const vertices = resolved.layers.map((layer, i) => ({ name: `layer${i}`, inputs: [i === 0 ? 'input' : `layer${i - 1}`], layer, paramKey: String(i) }));
    return { ...base, inputName: 'input', input: inputActivationType(model.conf.inputType), vertices, output: vertices[vertices.length - 1]!.name };
  }
  const graph = resolveGraph(model.conf);
  const input = graph.inputTypes[0];
  if (graph.inputs.length !== 1 || graph.outputs.length !== 1 || input === undefined) {
    throw new Error(`portableModel(${spec.name}): expected one typed input and one output, got inputs [${graph.inputs.join(', ')}] and outputs [${graph.outputs.join(', ')}]`);
  }
  const vertices = graph.vertices.map((v): PortableVertex => (v.kind === 'layer' ? { name: v.name, inputs: v.inputs, layer: v.layer, paramKey: v.name } : { name: v.name, inputs: v.inputs, vertex: v.vertex }));
  return { ...base, inputName: graph.inputs[0]!, input, vertices, output: graph.outputs[0]! };
}
