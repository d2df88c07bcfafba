/**
 * DL4J's MultiLayerNetwork on autograd: layers define forward passes only. Training (the parameter
 * list, updaters, the backprop step with gradient normalization, l1/l2 and weight decay inside one
 * scope(), listeners, counters, fit, parameter and updater-state flattening) is the TrainingCore that
 * ComputationGraph shares; this class supplies the chain of layers and its loss. Nothing is read
 * back to JavaScript during a step except the score when a listener asks for it.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { scope } from '../ndarray/scope.js';
import { noGrad } from '../autodiff/tape.js';
import { cast, reshape } from '../ops/views.js';
import { DataSet } from '../data/dataset.js';
import type { DataSetIterator } from '../data/iterator.js';
import { Evaluation } from '../eval/classification.js';
import { resolveConfiguration, type NeuralNetConfiguration, type ResolvedConfiguration } from './config.js';
import { createLayer, isOutputLayer, type Layer, type OutputLayerLike } from './layers/index.js';
import { CNN_EXTRA_LAYER_CLASS } from './layers/cnn-extra.js';
import type { TrainableModel } from './listeners.js';
import { doEvaluation } from './evaluative-listener.js';
import { NetworkModel } from './network-model.js';
import { TrainingCore, nextMask, outputLayerLoss, summaryTable } from './training-core.js';
import { dataSetSegments } from './tbptt.js';
import { preProcessLayerInput } from './preprocessors.js';
import { trainingStep } from './training-step.js';

/** DL4J's class names of the layer types, for summary() (ComputationGraph's too). */
export const LAYER_CLASS: Readonly<Record<string, string>> = {
  dense: 'DenseLayer', output: 'OutputLayer', activation: 'ActivationLayer', dropout: 'DropoutLayer', loss: 'LossLayer',
  convolution2d: 'ConvolutionLayer', subsampling: 'SubsamplingLayer', batchNormalization: 'BatchNormalization', globalPooling: 'GlobalPoolingLayer',
  ...CNN_EXTRA_LAYER_CLASS,
  lstm: 'LSTM', simpleRnn: 'SimpleRnn', bidirectional: 'Bidirectional', lastTimeStep: 'LastTimeStep', rnnOutput: 'RnnOutputLayer', embedding: 'EmbeddingLayer', embeddingSequence: 'EmbeddingSequenceLayer',
  gravesLstm: 'GravesLSTM', gravesBidirectionalLstm: 'GravesBidirectionalLSTM',
};

export class MultiLayerNetwork extends NetworkModel<DataSet> implements TrainableModel {
  /** The configuration as given (a private copy: plain data). */
  readonly conf: NeuralNetConfiguration;
  readonly resolved: ResolvedConfiguration;
  private layerList: Layer[] | null = null;
  protected readonly core: TrainingCore<DataSet>;

  /** Validates the configuration (throws naming the bad layer and option); call init() before use. */
  constructor(conf: NeuralNetConfiguration) {
    super();
    this.resolved = resolveConfiguration(conf);
    this.conf = structuredClone(conf);
    const { tbptt } = this.resolved;
    this.core = new TrainingCore<DataSet>({
      kind: 'MultiLayerNetwork', model: this, dataType: this.resolved.dataType,
      dataLoss: (ds, training, op) => this.dataLoss(ds, training, op),
      isBatch: (d): d is DataSet => d instanceof DataSet,
      ...(tbptt === undefined ? {} : { truncatedBptt: dataSetSegments('MultiLayerNetwork', tbptt.fwdLength, (s, op) => this.dataLoss(s, true, op, tbptt.backLength)) }),
    });
  }

  /** Creates and initializes the parameters (seeded from conf.seed when given) and the updaters. */
  init(): this {
    this.core.checkOpen('init');
    if (this.layerList) return this;
    const { seed, dataType } = this.resolved;
    this.layerList = this.resolved.layers.map((c, i) => createLayer(c, dataType, seed === undefined ? undefined : BigInt(seed) + BigInt(i)));
    this.core.init(this.layerList.map((layer, i) => ({ key: String(i), layer })));
    return this;
  }

  get layers(): readonly Layer[] {
    return this.initialized('layers');
  }

  getLayer(index: number): Layer {
    const layers = this.initialized('getLayer');
    const l = layers[index];
    if (!l) throw new Error(`MultiLayerNetwork.getLayer: no layer ${index}; the network has ${layers.length}`);
    return l;
  }

  // ---- forward ------------------------------------------------------------------------------------

  private asNetType(x: NDArray): NDArray {
    return x.dtype === this.resolved.dataType ? x : cast(x, this.resolved.dataType);
  }

  /** The network's output (the last layer's activations) for input x [N, nIn] (time series: [N, nIn, T] with an optional features mask [N, T]). */
  output(x: NDArray, train = false, featuresMask: NDArray | null = null): NDArray {
    const layers = this.initialized('output');
    const mode = trainingStep(train, this.core);
    return noGrad(() =>
      scope(() => {
        let h = this.asNetType(x);
        let mask = featuresMask;
        for (const l of layers) {
          h = l.forward(preProcessLayerInput(l.config, h, x.shape[0]!), mode, mask);
          mask = nextMask(l, mask);
        }
        // Identity-only networks would hand back the caller's own array; the result is always new.
        return h === x ? x.dup() : h;
      }),
    );
  }

  /** The input followed by every layer's activations (DL4J's feedForward: length = layers + 1). */
  feedForward(x: NDArray, train = false, featuresMask: NDArray | null = null): NDArray[] {
    const layers = this.initialized('feedForward');
    const mode = trainingStep(train, this.core);
    return noGrad(() =>
      scope(() => {
        const acts = [this.asNetType(x)];
        if (acts[0] === x) acts[0] = x.dup();
        let mask = featuresMask;
        for (const l of layers) {
          const prev = acts[acts.length - 1]!;
          const y = l.forward(preProcessLayerInput(l.config, prev, x.shape[0]!), mode, mask);
          mask = nextMask(l, mask);
          // Each entry is its own array (identity layers return their input), so each can be closed.
          acts.push(y === prev ? prev.dup() : y);
        }
        return acts;
      }),
    );
  }

  /**
   * The loss function's value averaged over examples, without the l1/l2 penalty. With `backLength`
   * (truncated BPTT) recurrent layers continue from their stored state, store their final one, and
   * record gradients through their last backLength steps only.
   */
  private dataLoss(ds: DataSet, train: boolean, op: string, backLength?: number): NDArray {
    const layers = this.initialized(op);
    // Layers see the training step, so scheduled dropout follows this network's counters.
    const training = trainingStep(train, this.core);
    const last = layers[layers.length - 1]!;
    if (!isOutputLayer(last)) throw new Error(`MultiLayerNetwork.${op}: the last layer has no loss function`);
    const out: OutputLayerLike = last;
    let h = this.asNetType(ds.features);
    let fMask = ds.featuresMask;
    for (const l of layers.slice(0, -1)) {
      h = preProcessLayerInput(l.config, h, ds.numExamples);
      h = backLength !== undefined && l.rnnTimeStep ? l.rnnTimeStep(h, fMask, { training, backLength }) : l.forward(h, training, fMask);
      fMask = nextMask(l, fMask);
    }
    h = preProcessLayerInput(out.config, h, ds.numExamples);
    return outputLayerLoss(`MultiLayerNetwork.${op}`, out, out.preOutput(h, training), ds.labels, ds.labelsMask);
  }

  // ---- score and gradients ------------------------------------------------------------------------

  /**
   * Without arguments: the score of the last fit step or computeGradientAndScore (reads one number
   * back). With a DataSet: its loss plus l1/l2 penalty, without dropout (DL4J's score(ds)).
   */
  score(ds?: DataSet, training = false): number {
    return this.core.score(ds, training);
  }

  /**
   * The score of ds (loss + l1/l2) as a 0-d array that records gradients: for custom training
   * loops and gradient checks. A backward() from it accumulates into the parameters' .grad.
   */
  computeScore(ds: DataSet, training = false): NDArray {
    this.core.checkOpen('computeScore');
    return this.core.loss(ds, training, 'computeScore');
  }

  /**
   * Computes the gradients for ds (available from gradient()) and returns the score. As DL4J,
   * gradient normalization (in fit) sees the loss gradients only; the l1/l2 gradients are added after it.
   */
  computeGradientAndScore(ds: DataSet): number {
    return this.core.computeGradientAndScore(ds);
  }

  // ---- training -----------------------------------------------------------------------------------

  /**
   * Trains for `epochs` epochs: over a DataSet (one step per epoch) or a DataSetIterator (reset
   * before each epoch; each minibatch it returns is closed after its step).
   */
  fit(data: DataSet | DataSetIterator, epochs = 1): void {
    this.core.fit(data, epochs);
  }

  /** Classification metrics of the network's outputs over the iterator (DL4J's evaluate). */
  evaluate(iterator: DataSetIterator): Evaluation {
    this.initialized('evaluate');
    const evaluation = new Evaluation();
    doEvaluation(this, iterator, [evaluation]);
    return evaluation;
  }

  // ---- parameters ---------------------------------------------------------------------------------

  /** An independent copy: same configuration, parameters, updater state and counters. */
  clone(): MultiLayerNetwork {
    this.initialized('clone');
    const copy = new MultiLayerNetwork(this.conf).init();
    copy.core.copyFrom(this.core);
    return copy;
  }

  /** A table of the layers: name, type, nIn/nOut, parameter count and shapes, with the total. */
  summary(): string {
    const layers = this.initialized('summary');
    const header = ['LayerName (LayerType)', 'nIn,nOut', 'TotalParams', 'ParamsShape'];
    const rows = layers.map((l) => {
      const c = l.config;
      const count = [...l.params.values()].reduce((n, p) => n + p.size, 0);
      const shapes = [...l.params].map(([name, p]) => `${name}:{${p.shape.join(',')}}`).join(', ');
      return [`${c.name} (${LAYER_CLASS[c.type]!})`, `${c.nIn},${c.nOut}`, String(count), shapes || '-'];
    });
    return summaryTable(header, rows, this.core.numParams(), this.core.numFrozenParams());
  }

  // ---- stateful time steps ------------------------------------------------------------------------

  /**
   * Stateful inference (DL4J's rnnTimeStep): x [N, nIn] is one time step (output [N, nOut]) and
   * [N, nIn, T] several; the recurrent layers continue from the state the previous call left, so
   * feeding a sequence step by step gives the full-sequence output. rnnClearPreviousState() resets.
   */
  rnnTimeStep(x: NDArray, featuresMask: NDArray | null = null): NDArray {
    const layers = this.initialized('rnnTimeStep');
    return noGrad(() =>
      scope(() => {
        let h = this.asNetType(x);
        let mask = featuresMask;
        for (const l of layers) {
          h = preProcessLayerInput(l.config, h, x.shape[0]!);
          h = l.rnnTimeStep ? l.rnnTimeStep(h, mask) : l.forward(h, false, mask);
          mask = nextMask(l, mask);
        }
        // A 2-D input was one step: a time-series output of that step comes back 2-D too.
        if (x.rank === 2 && h.rank === 3 && h.shape[2] === 1) h = reshape(h, [h.shape[0]!, h.shape[1]!]);
        return h === x ? x.dup() : h;
      }),
    );
  }

  /** Forgets the recurrent state stored by rnnTimeStep (DL4J's rnnClearPreviousState). */
  rnnClearPreviousState(): void {
    for (const l of this.initialized('rnnClearPreviousState')) l.rnnClearPreviousState?.();
  }

  private initialized(op: string): Layer[] {
    this.core.checkReady(op);
    return this.layerList!;
  }
}
