/**
 * DL4J's ComputationGraph: a directed acyclic graph of layers and parameterless vertices with named
 * inputs and several output layers. Forward passes run the vertices in topological order with
 * differentiable ops; training (updaters, normalization, l1/l2, listeners, counters, parameter
 * flattening) is the TrainingCore that MultiLayerNetwork uses too. With several outputs the score
 * is the sum of the output layers' losses, plus the l1/l2 penalty once (DL4J). Truncated BPTT
 * trains each minibatch's time-series arrays in segments, as MultiLayerNetwork does.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import { scope } from '../../ndarray/scope.js';
import { noGrad } from '../../autodiff/tape.js';
import { add } from '../../ops/binary.js';
import { cast, reshape } from '../../ops/views.js';
import { DataSet } from '../../data/dataset.js';
import { MultiDataSet } from '../../data/multi-dataset.js';
import type { DataSetIterator } from '../../data/iterator.js';
import { Evaluation } from '../../eval/classification.js';
import { activate } from '../activations.js';
import { createLayer, isOutputLayer, type Layer } from '../layers/index.js';
import type { RecurrentStepOptions } from '../layers/layer.js';
import { LAYER_CLASS } from '../multilayer-network.js';
import { describeActivationType } from '../resolvers/context.js';
import { NetworkModel } from '../network-model.js';
import { TrainingCore, forEachBatch, nextMask, outputLayerLoss, summaryTable, type BatchIterator } from '../training-core.js';
import type { TrainableModel } from '../listeners.js';
import { multiDataSetSegments } from '../tbptt.js';
import { resolveGraph, type ComputationGraphConfiguration, type ResolvedGraph, type ResolvedVertex } from './graph-config.js';
import { combineMasks, mergeForward, vertexClassName, vertexForward, vertexMask } from './vertices.js';
import { trainingStep, type Training } from '../training-step.js';

/** A source of MultiDataSet minibatches (DL4J's MultiDataSetIterator). */
export type MultiDataSetIterator = BatchIterator<MultiDataSet>;

/** Training data of a graph: one DataSet or MultiDataSet, or an iterator of either. */
export type GraphTrainingData = DataSet | MultiDataSet | DataSetIterator | MultiDataSetIterator;

const asMulti = (b: DataSet | MultiDataSet): MultiDataSet => (b instanceof DataSet ? MultiDataSet.fromDataSet(b) : b);

/** An iterator of DataSets or MultiDataSets seen as MultiDataSets (a DataSet's arrays are shared, so closing either closes both). */
function multiIterator(it: DataSetIterator | MultiDataSetIterator): MultiDataSetIterator {
  const source = it as BatchIterator<DataSet | MultiDataSet>;
  return {
    hasNext: () => source.hasNext(),
    next: () => asMulti(source.next()),
    reset: () => source.reset(),
    get resetSupported() {
      return source.resetSupported;
    },
  };
}

/** DL4J's output(train, input...) puts the mode first; listeners pass it last (output(input, train)). */
function splitMode(args: readonly (NDArray | boolean | undefined)[]): { train: boolean; inputs: NDArray[] } {
  const first = args[0];
  const last = args[args.length - 1];
  if (typeof first === 'boolean') return { train: first, inputs: args.slice(1) as NDArray[] };
  if (typeof last === 'boolean' || (last === undefined && args.length > 1)) return { train: last === true, inputs: args.slice(0, -1) as NDArray[] };
  return { train: false, inputs: args as NDArray[] };
}

export class ComputationGraph extends NetworkModel<MultiDataSet> implements TrainableModel {
  /** The configuration as given (a private copy: plain data). */
  readonly conf: ComputationGraphConfiguration;
  readonly resolved: ResolvedGraph;
  protected readonly core: TrainingCore<MultiDataSet>;
  private layerMap: Map<string, Layer> | null = null;
  /** Vertices whose activations another vertex consumes. */
  private readonly consumed: ReadonlySet<string>;

  /** Validates the configuration (throws naming the bad vertex and option); call init() before use. */
  constructor(conf: ComputationGraphConfiguration) {
    super();
    this.resolved = resolveGraph(conf);
    this.conf = structuredClone(conf);
    this.consumed = new Set(this.resolved.vertices.flatMap((v) => v.inputs));
    const { tbptt } = this.resolved;
    this.core = new TrainingCore<MultiDataSet>({
      kind: 'ComputationGraph', model: this, dataType: this.resolved.dataType,
      dataLoss: (b, training, op) => this.dataLoss(b, training, op),
      isBatch: (d): d is MultiDataSet => d instanceof MultiDataSet,
      ...(tbptt === undefined ? {} : { truncatedBptt: multiDataSetSegments('ComputationGraph', tbptt.fwdLength, (s, op) => this.dataLoss(s, true, op, tbptt.backLength)) }),
    });
  }

  /** Creates and initializes the parameters (seeded from conf.seed when given) and the updaters. */
  init(): this {
    this.core.checkOpen('init');
    if (this.layerMap) return this;
    const { seed, dataType } = this.resolved;
    const layers = this.resolved.vertices.flatMap((v) => {
      if (v.kind !== 'layer') return [];
      // Seeded per layer as MultiLayerNetwork seeds its layers, by the layer's index.
      const layer = createLayer(v.layer, dataType, seed === undefined ? undefined : BigInt(seed) + BigInt(v.layer.index));
      return [{ key: v.name, layer }];
    });
    this.layerMap = new Map(layers.map((l) => [l.key, l.layer]));
    this.core.init(layers);
    return this;
  }

  /** The layer of a layer vertex. */
  getLayer(name: string): Layer {
    const layer = this.layers('getLayer').get(name);
    if (!layer) throw new Error(`ComputationGraph.getLayer: no layer vertex '${name}'; the layer vertices are ${[...this.layers('getLayer').keys()].join(', ')}`);
    return layer;
  }

  private layers(op: string): Map<string, Layer> {
    this.core.checkReady(op);
    return this.layerMap!;
  }

  // ---- forward ------------------------------------------------------------------------------------

  /** The inputs cast to the network's type; flat images ([N, C*H*W] for an image input) reshaped to [N, C, H, W]. */
  private prepareInputs(inputs: readonly NDArray[], op: string): NDArray[] {
    const { inputs: names, inputTypes, dataType } = this.resolved;
    if (inputs.length !== names.length) throw new Error(`ComputationGraph.${op}: expected ${names.length} input arrays (${names.join(', ')}), got ${inputs.length}`);
    return inputs.map((x, i) => {
      const t = inputTypes[i];
      let h = x.dtype === dataType ? x : cast(x, dataType);
      if (t?.kind === 'convolutional' && h.rank === 2 && h.shape[1] === t.channels * t.height * t.width) h = reshape(h, [h.shape[0]!, t.channels, t.height, t.width]);
      return h;
    });
  }

  /**
   * Runs every vertex in topological order, carrying each input's time-series mask [N, T] (or null)
   * through the vertices as DL4J does. With `preOutputs`, output layers yield their pre-activation z
   * there (the loss applies the activation) and their activations only where another vertex consumes them.
   * With `stateful` options the recurrent layers step on from their stored state (rnnTimeStep; truncated BPTT).
   */
  private run(inputs: readonly NDArray[], training: boolean, op: string, inputMasks: readonly (NDArray | null)[] | null, preOutputs?: Map<string, NDArray>, stateful: RecurrentStepOptions | null = null): Map<string, NDArray> {
    const layers = this.layers(op);
    const { inputs: names } = this.resolved;
    if (inputMasks && inputMasks.length !== names.length) throw new Error(`ComputationGraph.${op}: expected ${names.length} input masks (null for none), got ${inputMasks.length}`);
    const acts = new Map<string, NDArray>();
    const masks = new Map<string, NDArray | null>();
    // DL4J's input minibatch size: cnnToRnn splits [N*T, ...] rows into N sequences by it.
    const miniBatch = inputs[0]?.shape[0] ?? 0;
    // Layers see the training step, so scheduled dropout follows this graph's counters.
    const mode = trainingStep(training, this.core);
    this.prepareInputs(inputs, op).forEach((x, i) => {
      acts.set(names[i]!, x);
      masks.set(names[i]!, inputMasks?.[i] ?? null);
    });
    for (const v of this.resolved.vertices) {
      const xs = v.inputs.map((m) => acts.get(m)!);
      const ms = v.inputs.map((m) => masks.get(m)!);
      const { y, mask } = this.vertexOutput(v, xs, ms, miniBatch, layers, mode, op, preOutputs, stateful);
      acts.set(v.name, y);
      masks.set(v.name, mask);
    }
    return acts;
  }

  private vertexOutput(v: ResolvedVertex, xs: NDArray[], ms: (NDArray | null)[], miniBatch: number, layers: Map<string, Layer>, training: Training, op: string,
    preOutputs: Map<string, NDArray> | undefined, stateful: RecurrentStepOptions | null): { y: NDArray; mask: NDArray | null } {
    if (v.kind === 'vertex') return this.named(v, op, () => ({ y: vertexForward(v.vertex, xs, miniBatch), mask: vertexMask(v.vertex, ms) }));
    const layer = layers.get(v.name)!;
    // Layer errors name the layer themselves; the implicit merge of several inputs names the vertex.
    const [x, inMask] = xs.length === 1 ? [xs[0]!, ms[0]!] : this.named(v, op, () => [mergeForward(xs), combineMasks(ms)] as const);
    const mask = nextMask(layer, inMask);
    if (preOutputs && isOutputLayer(layer) && this.resolved.outputs.includes(v.name)) {
      const z = layer.preOutput(x, training);
      preOutputs.set(v.name, z);
      // The activations are computed only when another vertex consumes them; otherwise z stands in.
      return { y: this.consumed.has(v.name) ? activate(layer.config.activation, z) : z, mask };
    }
    return { y: stateful && layer.rnnTimeStep ? layer.rnnTimeStep(x, inMask, stateful) : layer.forward(x, training, inMask), mask };
  }

  private named<T>(v: ResolvedVertex, op: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw new Error(`ComputationGraph.${op}: vertex '${v.name}' (${v.kind === 'layer' ? v.layer.type : v.vertex.type}): ${(e as Error).message}`);
    }
  }

  /** A result array that is not one of the caller's arrays nor an earlier result, so each can be closed on its own. */
  private static own(a: NDArray, caller: readonly NDArray[], seen: Set<NDArray>): NDArray {
    const out = caller.includes(a) || seen.has(a) ? a.dup() : a;
    seen.add(out);
    return out;
  }

  /**
   * The output layers' activations, in the order of `outputs` (DL4J's output(input...)). Inference
   * mode; pass `true` first for training mode (dropout active), as DL4J's output(train, input...).
   */
  output(...inputs: NDArray[]): NDArray[];
  output(train: boolean, ...inputs: NDArray[]): NDArray[];
  /** With time-series masks [N, T] per input (null for none), as DL4J's output(train, input[], inputMasks[]). */
  output(train: boolean, inputs: readonly NDArray[], inputMasks: readonly (NDArray | null)[]): NDArray[];
  /**
   * A one-input graph with the mode last and an optional time-series mask [N, T] of that input, as
   * listeners and doEvaluation call models (TrainableModel.output).
   */
  output(input: NDArray, train?: boolean, featuresMask?: NDArray | null): NDArray[];
  output(...args: (NDArray | boolean | null | undefined | readonly NDArray[] | readonly (NDArray | null)[])[]): NDArray[] {
    const withMasks = Array.isArray(args[1]);
    // (input, train, mask): the only form with a boolean second (the others put it first or last).
    const oneMasked = !withMasks && args.length === 3 && typeof args[0] !== 'boolean' && typeof args[1] === 'boolean';
    const { train, inputs } = withMasks ? { train: args[0] === true, inputs: args[1] as NDArray[] }
      : oneMasked ? { train: args[1] === true, inputs: [args[0] as NDArray] }
      : splitMode(args as (NDArray | boolean | undefined)[]);
    const masks = withMasks ? (args[2] as readonly (NDArray | null)[] | undefined) ?? null : oneMasked ? [(args[2] as NDArray | null | undefined) ?? null] : null;
    return noGrad(() =>
      scope(() => {
        const acts = this.run(inputs, train, 'output', masks);
        const seen = new Set<NDArray>();
        return this.resolved.outputs.map((o) => ComputationGraph.own(acts.get(o)!, inputs, seen));
      }),
    );
  }

  /** The single output of a one-output graph (DL4J's outputSingle). */
  outputSingle(...inputs: NDArray[]): NDArray;
  outputSingle(train: boolean, ...inputs: NDArray[]): NDArray;
  outputSingle(...args: (NDArray | boolean)[]): NDArray {
    if (this.resolved.outputs.length !== 1) throw new Error(`ComputationGraph.outputSingle: the graph has ${this.resolved.outputs.length} outputs (${this.resolved.outputs.join(', ')}); use output()`);
    const { train, inputs } = splitMode(args);
    return this.output(train, ...inputs)[0]!;
  }

  /** Every input's and vertex's activations by name (DL4J's feedForward); the caller closes them. */
  feedForward(inputs: NDArray | readonly NDArray[], train = false, inputMasks: readonly (NDArray | null)[] | null = null): Map<string, NDArray> {
    const list = Array.isArray(inputs) ? (inputs as readonly NDArray[]) : [inputs as NDArray];
    return noGrad(() =>
      scope(() => {
        const acts = this.run(list, train, 'feedForward', inputMasks);
        const seen = new Set<NDArray>();
        return new Map([...acts].map(([k, a]) => [k, ComputationGraph.own(a, list, seen)]));
      }),
    );
  }

  /**
   * Stateful inference (DL4J's rnnTimeStep): each sequence input is [N, C] for one time step or
   * [N, C, T] for several; the recurrent layers continue from the state the previous call left, so
   * feeding a sequence step by step gives the full-sequence outputs. One-step inputs give one-step
   * outputs [N, nOut]. rnnClearPreviousState() resets.
   */
  rnnTimeStep(...inputs: NDArray[]): NDArray[] {
    const types = this.resolved.inputTypes;
    const oneStep = inputs.some((x, i) => types[i]?.kind === 'recurrent' && x.rank === 2);
    return noGrad(() =>
      scope(() => {
        const steps = inputs.map((x, i) => (types[i]?.kind === 'recurrent' && x.rank === 2 ? reshape(x, [x.shape[0]!, x.shape[1]!, 1]) : x));
        const acts = this.run(steps, false, 'rnnTimeStep', null, undefined, {});
        const seen = new Set<NDArray>();
        return this.resolved.outputs.map((o) => {
          const y = acts.get(o)!;
          return ComputationGraph.own(oneStep && y.rank === 3 && y.shape[2] === 1 ? reshape(y, [y.shape[0]!, y.shape[1]!]) : y, inputs, seen);
        });
      }),
    );
  }

  /** Forgets the recurrent state stored by rnnTimeStep (DL4J's rnnClearPreviousState). */
  rnnClearPreviousState(): void {
    for (const l of this.layers('rnnClearPreviousState').values()) l.rnnClearPreviousState?.();
  }

  /**
   * The sum over the output layers of their loss against the matching labels, without l1/l2. With
   * `backLength` (truncated BPTT) recurrent layers continue from their stored state, store their
   * final one, and record gradients through their last backLength steps only.
   */
  private dataLoss(ds: MultiDataSet, training: boolean, op: string, backLength?: number): NDArray {
    const { outputs } = this.resolved;
    if (ds.labels.length !== outputs.length) throw new Error(`ComputationGraph.${op}: expected ${outputs.length} labels arrays (${outputs.join(', ')}), got ${ds.labels.length}`);
    const pre = new Map<string, NDArray>();
    this.run(ds.features, training, op, ds.featuresMasks, pre, backLength === undefined ? null : { training: trainingStep(training, this.core), backLength });
    const layers = this.layers(op);
    let total: NDArray | null = null;
    outputs.forEach((o, i) => {
      const layer = layers.get(o)!;
      if (!isOutputLayer(layer)) throw new Error(`ComputationGraph.${op}: output '${o}' has no loss function`);
      const loss = outputLayerLoss(`ComputationGraph.${op}: output '${o}'`, layer, pre.get(o)!, ds.labels[i]!, ds.labelsMasks?.[i] ?? null);
      total = total ? add(total, loss) : loss;
    });
    return total!;
  }

  // ---- score and gradients ------------------------------------------------------------------------

  /**
   * Without arguments: the score of the last fit step or computeGradientAndScore. With data: the sum
   * of the output losses plus the l1/l2 penalty, inference mode unless `training` (DL4J's score).
   */
  score(data?: DataSet | MultiDataSet, training = false): number {
    return this.core.score(data === undefined ? undefined : asMulti(data), training);
  }

  /** The score of `data` as a 0-d array that records gradients (for custom loops and gradient checks). */
  computeScore(data: DataSet | MultiDataSet, training = false): NDArray {
    this.core.checkReady('computeScore');
    return this.core.loss(asMulti(data), training, 'computeScore');
  }

  /** Computes the gradients (available from gradient()) and returns the score. */
  computeGradientAndScore(data: DataSet | MultiDataSet): number {
    return this.core.computeGradientAndScore(asMulti(data));
  }

  // ---- training -----------------------------------------------------------------------------------

  /**
   * Trains for `epochs` epochs over one DataSet/MultiDataSet (one step per epoch) or an iterator of
   * either (reset before each epoch; each minibatch it returns is closed after its step).
   */
  fit(data: GraphTrainingData, epochs = 1): void {
    const batch = data instanceof DataSet || data instanceof MultiDataSet;
    this.core.fit(batch ? asMulti(data) : multiIterator(data), epochs);
  }

  /** Classification metrics of the first output against the first labels over the iterator (DL4J's evaluate). */
  evaluate(iterator: DataSetIterator | MultiDataSetIterator): Evaluation {
    this.core.checkReady('evaluate');
    const evaluation = new Evaluation();
    forEachBatch('ComputationGraph.evaluate', multiIterator(iterator), 0, (b) =>
      scope(() => evaluation.eval(b.labels[0]!, this.output(false, b.features, b.featuresMasks ?? b.features.map(() => null))[0]!, b.labelsMasks?.[0] ?? undefined)),
    );
    return evaluation;
  }

  // ---- parameters ---------------------------------------------------------------------------------

  /** An independent copy: same configuration, parameters, updater state and counters. */
  clone(): ComputationGraph {
    this.core.checkReady('clone');
    const copy = new ComputationGraph(this.conf).init();
    copy.core.copyFrom(this.core);
    return copy;
  }

  /** A table of the inputs and vertices: name and type, nIn/nOut, parameters, output type and inputs. */
  summary(): string {
    const layers = this.layers('summary');
    const header = ['VertexName (VertexType)', 'nIn,nOut', 'TotalParams', 'ParamsShape', 'OutputType', 'Vertex Inputs'];
    const type = (t: Parameters<typeof describeActivationType>[0] | undefined): string => (t ? describeActivationType(t) : '-');
    const rows = [
      ...this.resolved.inputs.map((n, i) => [`${n} (InputVertex)`, '-', '0', '-', type(this.resolved.inputTypes[i]), '-']),
      ...this.resolved.vertices.map((v) => {
        const inputs = `[${v.inputs.join(', ')}]`;
        if (v.kind === 'vertex') return [`${v.name} (${vertexClassName(v.vertex)})`, '-', '0', '-', type(v.output), inputs];
        const l = layers.get(v.name)!;
        const count = [...l.params.values()].reduce((n, p) => n + p.size, 0);
        const shapes = [...l.params].map(([name, p]) => `${name}:{${p.shape.join(',')}}`).join(', ');
        return [`${v.name} (${LAYER_CLASS[v.layer.type] ?? v.layer.type})`, `${v.layer.nIn},${v.layer.nOut}`, String(count), shapes || '-', type(v.output), inputs];
      }),
    ];
    return summaryTable(header, rows, this.core.numParams(), this.core.numFrozenParams());
  }

}
