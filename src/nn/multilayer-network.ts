/**
 * DL4J's MultiLayerNetwork on autograd: layers define forward passes only; a training step runs
 * forward, loss (+ l1/l2), backward(), gradient normalization and the updaters inside one scope(),
 * so every temporary is released and memory stays flat across iterations. Nothing is read back
 * to JavaScript during a step except the score when a listener asks for it.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { keep, scope, scopeChildren, type HoldsArrays } from '../ndarray/scope.js';
import { interval } from '../ndarray/indexing.js';
import { formatShape } from '../ndarray/shape.js';
import { noGrad } from '../autodiff/tape.js';
import { backward } from '../autodiff/backward.js';
import { add, mul } from '../ops/binary.js';
import { cast, reshape } from '../ops/views.js';
import { concat } from '../ops/join.js';
import { zeros } from '../ops/create.js';
import { DataSet } from '../data/dataset.js';
import type { DataSetIterator } from '../data/iterator.js';
import { Evaluation } from '../eval/classification.js';
import { computeLoss } from './losses.js';
import { computeTimeSeriesLoss } from './layers/rnn-output.js';
import { Updater } from './updaters.js';
import { applyGradientNormalization } from './gradient-normalization.js';
import { resolveConfiguration, type NeuralNetConfiguration, type ResolvedConfiguration } from './config.js';
import { createLayer, isOutputLayer, type Layer, type OutputLayerLike } from './layers/index.js';
import { CNN_EXTRA_LAYER_CLASS } from './layers/cnn-extra.js';
import type { TrainableModel, TrainingListener } from './listeners.js';
import { doEvaluation } from './evaluative-listener.js';

/** One parameter of the network, in DL4J's flattening order. */
interface ParamEntry {
  readonly layer: number;
  readonly name: string;
  readonly array: NDArray;
  /** False for state kept as a parameter but not trained (batch normalization's running mean/var). */
  readonly trainable: boolean;
}

/** A run of consecutive parameters sharing one updater configuration (DL4J's UpdaterBlock). */
interface UpdaterBlock {
  readonly updater: Updater;
  /** Indices into the flat parameter list. */
  readonly params: readonly number[];
}

const LAYER_CLASS: Readonly<Record<string, string>> = {
  dense: 'DenseLayer', output: 'OutputLayer', activation: 'ActivationLayer', dropout: 'DropoutLayer', loss: 'LossLayer',
  convolution2d: 'ConvolutionLayer', subsampling: 'SubsamplingLayer', batchNormalization: 'BatchNormalization', globalPooling: 'GlobalPoolingLayer',
  ...CNN_EXTRA_LAYER_CLASS,
  lstm: 'LSTM', simpleRnn: 'SimpleRnn', bidirectional: 'Bidirectional', lastTimeStep: 'LastTimeStep', rnnOutput: 'RnnOutputLayer', embedding: 'EmbeddingLayer', embeddingSequence: 'EmbeddingSequenceLayer',
};

/** The features mask the layer after `l` sees (recurrent layers pass it on; LastTimeStep ends it). */
function nextMask(l: Layer, mask: NDArray | null): NDArray | null {
  return l.feedForwardMask ? l.feedForwardMask(mask) : mask;
}

const DEFAULT_WEIGHT_PARAMS: ReadonlySet<string> = new Set(['W']);

export class MultiLayerNetwork implements TrainableModel, HoldsArrays {
  /** The configuration as given (a private copy: plain data). */
  readonly conf: NeuralNetConfiguration;
  readonly resolved: ResolvedConfiguration;
  /** Minibatch steps done so far (DL4J's iterationCount). */
  iterationCount = 0;
  /** Epochs completed so far (DL4J's epochCount). */
  epochCount = 0;
  private layerList: Layer[] | null = null;
  private entries: ParamEntry[] = [];
  private blocks: UpdaterBlock[] = [];
  private lastScore: NDArray | null = null;
  private listenerList: TrainingListener[] = [];
  private closedFlag = false;
  private gradientExchange: ((grads: NDArray[]) => void) | null = null;

  /** Validates the configuration (throws naming the bad layer and option); call init() before use. */
  constructor(conf: NeuralNetConfiguration) {
    this.resolved = resolveConfiguration(conf);
    this.conf = structuredClone(conf);
  }

  /** Creates and initializes the parameters (seeded from conf.seed when given) and the updaters. */
  init(): this {
    this.checkOpen('init');
    if (this.layerList) return this;
    const { seed, dataType } = this.resolved;
    this.layerList = this.resolved.layers.map((c, i) => createLayer(c, dataType, seed === undefined ? undefined : BigInt(seed) + BigInt(i)));
    this.entries = this.layerList.flatMap((l, i) => [...l.params].map(([name, array]) => ({ layer: i, name, array, trainable: !l.nonTrainable?.has(name) })));
    let current: { key: string; updater: Updater; params: number[] } | null = null;
    this.entries.forEach((e, k) => {
      if (!e.trainable) return;
      const config = this.resolved.layers[e.layer]!.updater;
      const key = JSON.stringify(config);
      if (!current || current.key !== key) {
        current = { key, updater: new Updater(config), params: [] };
        this.blocks.push(current);
      }
      current.params.push(k);
    });
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

  get closed(): boolean {
    return this.closedFlag;
  }

  [scopeChildren](): Iterable<NDArray> {
    return this.entries.map((e) => e.array);
  }

  // ---- forward ------------------------------------------------------------------------------------

  private asNetType(x: NDArray): NDArray {
    return x.dtype === this.resolved.dataType ? x : cast(x, this.resolved.dataType);
  }

  /** The network's output (the last layer's activations) for input x [N, nIn] (time series: [N, nIn, T] with an optional features mask [N, T]). */
  output(x: NDArray, train = false, featuresMask: NDArray | null = null): NDArray {
    const layers = this.initialized('output');
    return noGrad(() =>
      scope(() => {
        let h = this.asNetType(x);
        let mask = featuresMask;
        for (const l of layers) {
          h = l.forward(h, train, mask);
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
    return noGrad(() =>
      scope(() => {
        const acts = [this.asNetType(x)];
        if (acts[0] === x) acts[0] = x.dup();
        let mask = featuresMask;
        for (const l of layers) {
          const prev = acts[acts.length - 1]!;
          const y = l.forward(prev, train, mask);
          mask = nextMask(l, mask);
          // Each entry is its own array (identity layers return their input), so each can be closed.
          acts.push(y === prev ? prev.dup() : y);
        }
        return acts;
      }),
    );
  }

  /** The l1/l2 penalty over all layers as a 0-d array, or null when no layer is regularized. */
  private regularization(): NDArray | null {
    let total: NDArray | null = null;
    for (const l of this.initialized('regularization')) {
      const r = l.regularization();
      if (r) total = total ? add(total, r) : r;
    }
    return total;
  }

  /** Loss (averaged over examples) plus the regularization penalty, differentiable w.r.t. the parameters. */
  private lossOf(ds: DataSet, training: boolean, op: string): NDArray {
    const loss = this.dataLoss(ds, training, op);
    const reg = this.regularization();
    return reg ? add(loss, reg) : loss;
  }

  /** The loss function's value averaged over examples, without the l1/l2 penalty. */
  private dataLoss(ds: DataSet, training: boolean, op: string): NDArray {
    const layers = this.initialized(op);
    const last = layers[layers.length - 1]!;
    if (!isOutputLayer(last)) throw new Error(`MultiLayerNetwork.${op}: the last layer has no loss function`);
    const out: OutputLayerLike = last;
    let h = this.asNetType(ds.features);
    let fMask = ds.featuresMask;
    for (const l of layers.slice(0, -1)) {
      h = l.forward(h, training, fMask);
      fMask = nextMask(l, fMask);
    }
    const z = out.preOutput(h, training);
    const labels = this.asNetType(ds.labels);
    if (z.rank === 3) {
      // Time-series output (rnnOutput, or a loss layer after recurrent layers): a loss per step, masked by the labels mask.
      const lMask = ds.labelsMask ? this.asNetType(ds.labelsMask) : undefined;
      return computeTimeSeriesLoss(out.config.lossFunction!, { labels, preOutput: z, activation: out.config.activation, mask: lMask }, `MultiLayerNetwork.${op}`);
    }
    if (labels.rank !== 2 || labels.shape[0] !== z.shape[0] || labels.shape[1] !== z.shape[1]) {
      throw new Error(`MultiLayerNetwork.${op}: labels ${labels.dtype}${formatShape(labels.shape)} do not match the network output ${z.dtype}${formatShape(z.shape)}`);
    }
    const mask = ds.labelsMask ? this.asNetType(ds.labelsMask) : undefined;
    return computeLoss(out.config.lossFunction!, { labels, preOutput: z, activation: out.config.activation, ...(mask ? { mask } : {}) });
  }

  // ---- score and gradients ------------------------------------------------------------------------

  /**
   * Without arguments: the score of the last fit step or computeGradientAndScore (reads one number
   * back). With a DataSet: its loss plus l1/l2 penalty, without dropout (DL4J's score(ds)).
   */
  score(ds?: DataSet, training = false): number {
    if (ds === undefined) {
      if (!this.lastScore) throw new Error('MultiLayerNetwork.score: no score yet; call fit or computeGradientAndScore first, or pass a DataSet');
      return this.lastScore.item();
    }
    return noGrad(() => scope(() => this.lossOf(ds, training, 'score').item()));
  }

  /**
   * The score of ds (loss + l1/l2) as a 0-d array that records gradients: for custom training
   * loops and gradient checks. A backward() from it accumulates into the parameters' .grad.
   */
  computeScore(ds: DataSet, training = false): NDArray {
    this.checkOpen('computeScore');
    return this.lossOf(ds, training, 'computeScore');
  }

  private clearGradients(): void {
    for (const e of this.entries) {
      e.array.grad?.close();
      e.array.grad = null;
    }
  }

  /**
   * Forward + backward on ds (training mode); the gradients then sit on the parameters' .grad (see
   * gradient()). As DL4J, `normalize` (gradient normalization) sees the loss gradients only; the
   * l1/l2 gradients are added after it, by a second backward() that accumulates into .grad.
   */
  private backprop(ds: DataSet, op: string, normalize?: () => void): void {
    this.clearGradients();
    const loss = this.dataLoss(ds, true, op);
    backward(loss);
    // A parameter the loss does not reach gets a zero gradient, so the updaters see every parameter.
    for (const e of this.entries) if (e.trainable) e.array.grad ??= keep(zeros(e.array.shape, { dtype: e.array.dtype, backend: e.array.backend }));
    if (this.gradientExchange) {
      const grads = this.entries.filter((e) => e.trainable).map((e) => e.array.grad!);
      noGrad(() => this.gradientExchange!(grads));
    }
    normalize?.();
    const reg = this.regularization();
    if (reg) backward(reg);
    const s = noGrad(() => keep(reg ? add(loss, reg) : loss.dup()));
    this.lastScore?.close();
    this.lastScore = s;
  }

  /**
   * Installs (or removes, with null) a hook that every backprop calls right after the data-loss
   * gradients exist, before gradient normalization and before the l1/l2 gradients are added. It gets
   * the trainable parameters' .grad arrays in flat parameter order and may replace their values in
   * place: data-parallel training averages them over workers here, so normalization and
   * regularization then act identically on every replica (DL4J's SHARED_GRADIENTS).
   */
  setGradientExchange(fn: ((grads: NDArray[]) => void) | null): void {
    this.gradientExchange = fn;
  }

  /** Computes the gradients for ds (available from gradient()) and returns the score. */
  computeGradientAndScore(ds: DataSet): number {
    this.checkOpen('computeGradientAndScore');
    scope(() => this.backprop(ds, 'computeGradientAndScore'));
    return this.score();
  }

  /** The gradients of the last computeGradientAndScore, keyed like DL4J ('0_W', '0_b', ...); owned by the network. */
  gradient(): Map<string, NDArray> {
    this.initialized('gradient');
    const out = new Map<string, NDArray>();
    for (const e of this.entries) {
      if (!e.trainable) continue;
      if (!e.array.grad) throw new Error('MultiLayerNetwork.gradient: no gradients; call computeGradientAndScore first');
      out.set(`${e.layer}_${e.name}`, e.array.grad);
    }
    return out;
  }

  // ---- training -----------------------------------------------------------------------------------

  setListeners(...listeners: TrainingListener[]): void {
    this.listenerList = [...listeners];
  }

  addListeners(...listeners: TrainingListener[]): void {
    this.listenerList.push(...listeners);
  }

  get listeners(): readonly TrainingListener[] {
    return this.listenerList;
  }

  /** One minibatch step: gradients, normalization, updaters, weight decay; then the listeners. */
  private step(ds: DataSet): void {
    const iteration = this.iterationCount;
    const epoch = this.epochCount;
    const layers = this.resolved.layers;
    const normalize = (): void =>
      layers.forEach((c, i) => {
        const grads: Record<string, NDArray> = {};
        for (const e of this.entries) if (e.layer === i && e.trainable) grads[e.name] = e.array.grad!;
        if (Object.keys(grads).length > 0) applyGradientNormalization(c.gradientNormalization, grads, c.gradientNormalizationThreshold);
      });
    scope(() => {
      this.backprop(ds, 'fit', normalize);
      noGrad(() => {
        for (const b of this.blocks) {
          const ps = b.params.map((k) => this.entries[k]!);
          // DL4J's WeightDecay (applyLR, weights only): lr * decay * W of the parameters before this update.
          const lr = b.updater.learningRate(iteration, epoch);
          const decay = ps.map((e) => {
            const wd = layers[e.layer]!.weightDecay;
            return wd > 0 && (this.layerList![e.layer]!.weightParams ?? DEFAULT_WEIGHT_PARAMS).has(e.name) ? mul(e.array, (Number.isNaN(lr) ? 1 : lr) * wd) : null;
          });
          b.updater.apply(ps.map((e) => e.array), ps.map((e) => e.array.grad!), iteration, epoch);
          ps.forEach((e, k) => {
            if (decay[k]) e.array.subi(decay[k]);
          });
        }
      });
      this.clearGradients();
    });
    for (const l of this.listenerList) l.iterationDone?.(this, iteration, epoch);
    this.iterationCount++;
  }

  /**
   * Trains for `epochs` epochs: over a DataSet (one step per epoch) or a DataSetIterator (reset
   * before each epoch; each minibatch it returns is closed after its step).
   */
  fit(data: DataSet | DataSetIterator, epochs = 1): void {
    this.initialized('fit');
    if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`MultiLayerNetwork.fit: epochs must be a positive integer, got ${epochs}`);
    for (let e = 0; e < epochs; e++) {
      for (const l of this.listenerList) l.onEpochStart?.(this);
      if (data instanceof DataSet) {
        this.step(data);
      } else {
        if (data.resetSupported) data.reset();
        else if (e > 0) throw new Error('MultiLayerNetwork.fit: the iterator does not support reset, so it cannot be used for more than one epoch');
        while (data.hasNext()) {
          const ds = data.next();
          try {
            this.step(ds);
          } finally {
            ds.close();
          }
        }
      }
      for (const l of this.listenerList) l.onEpochEnd?.(this);
      this.epochCount++;
    }
  }

  /** Classification metrics of the network's outputs over the iterator (DL4J's evaluate). */
  evaluate(iterator: DataSetIterator): Evaluation {
    this.initialized('evaluate');
    const evaluation = new Evaluation();
    doEvaluation(this, iterator, [evaluation]);
    return evaluation;
  }

  // ---- parameters ---------------------------------------------------------------------------------

  numParams(): number {
    this.initialized('numParams');
    return this.entries.reduce((n, e) => n + e.array.size, 0);
  }

  /** All parameters as one new 1-D array: layer by layer, W then b, each row-major (DL4J's params()). */
  params(): NDArray {
    this.initialized('params');
    return noGrad(() =>
      scope(() =>
        this.entries.length === 0
          ? zeros([0], { dtype: this.resolved.dataType })
          : concat(this.entries.map((e) => reshape(e.array, [e.array.size])), 0),
      ),
    );
  }

  /** Copies a flat vector laid out as params() into the parameters (in place). */
  setParams(flat: NDArray): void {
    this.initialized('setParams');
    const n = this.numParams();
    if (flat.rank !== 1 || flat.size !== n) throw new Error(`MultiLayerNetwork.setParams: expected a 1-D array of ${n} values, got ${flat.dtype}${formatShape(flat.shape)}`);
    noGrad(() =>
      scope(() => {
        let offset = 0;
        for (const e of this.entries) {
          e.array.assign(reshape(flat.get(interval(offset, offset + e.array.size)), e.array.shape));
          offset += e.array.size;
        }
      }),
    );
  }

  /** The parameters by DL4J key ('0_W', '0_b', ...); owned by the network. */
  paramTable(): Map<string, NDArray> {
    this.initialized('paramTable');
    return new Map(this.entries.map((e) => [`${e.layer}_${e.name}`, e.array]));
  }

  /** Updater state keyed `${paramIndex}/${stateName}` over the flat parameter list; arrays owned by the network. */
  updaterState(): Record<string, NDArray> {
    this.initialized('updaterState');
    const out: Record<string, NDArray> = {};
    for (const b of this.blocks) {
      for (const [key, a] of Object.entries(b.updater.state())) {
        const [local, name] = key.split('/') as [string, string];
        out[`${b.params[Number(local)]!}/${name}`] = a;
      }
    }
    return out;
  }

  /** Restores state saved by updaterState() (values are copied). */
  setUpdaterState(state: Readonly<Record<string, NDArray>>): void {
    this.initialized('setUpdaterState');
    for (const b of this.blocks) {
      const part: Record<string, NDArray> = {};
      b.params.forEach((k, local) => {
        for (const name of b.updater.stateNames) {
          const a = state[`${k}/${name}`];
          if (a) part[`${local}/${name}`] = a;
        }
      });
      if (Object.keys(part).length > 0) b.updater.setState(part);
    }
  }

  /** An independent copy: same configuration, parameters, updater state and counters. */
  clone(): MultiLayerNetwork {
    this.initialized('clone');
    const copy = new MultiLayerNetwork(this.conf).init();
    scope(() => copy.setParams(this.params()));
    copy.setUpdaterState(this.updaterState());
    copy.iterationCount = this.iterationCount;
    copy.epochCount = this.epochCount;
    return copy;
  }

  /** A table of the layers: name, type, nIn/nOut, parameter count and shapes, with the total. */
  summary(): string {
    const layers = this.initialized('summary');
    const header = ['LayerName (LayerType)', 'nIn,nOut', 'TotalParams', 'ParamsShape'];
    const rows = layers.map((l, i) => {
      const c = l.config;
      const count = [...l.params.values()].reduce((n, p) => n + p.size, 0);
      const shapes = [...l.params].map(([name, p]) => `${name}:{${p.shape.join(',')}}`).join(', ');
      return [`${c.name} (${LAYER_CLASS[c.type]!})`, `${c.nIn},${c.nOut}`, String(count), shapes || '-', String(i)];
    });
    const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
    const line = (cells: readonly string[]): string => cells.slice(0, 4).map((s, k) => s.padEnd(widths[k]!)).join('   ').trimEnd();
    const rule = '='.repeat(widths.reduce((a, w) => a + w, 0) + 3 * (widths.length - 1));
    const total = this.numParams();
    const frozen = this.entries.reduce((n, e) => n + (e.trainable ? 0 : e.array.size), 0);
    return [rule, line(header), rule, ...rows.map(line), '-'.repeat(rule.length),
      `            Total Parameters:  ${total}`, `        Trainable Parameters:  ${total - frozen}`, `           Frozen Parameters:  ${frozen}`, rule].join('\n');
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

  /** Releases the parameters, gradients, updater state and score. */
  close(): void {
    if (this.closedFlag) return;
    for (const l of this.layerList ?? []) l.rnnClearPreviousState?.();
    this.clearGradients();
    for (const e of this.entries) e.array.close();
    for (const b of this.blocks) b.updater.close();
    this.lastScore?.close();
    this.lastScore = null;
    this.closedFlag = true;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private checkOpen(op: string): void {
    if (this.closedFlag) throw new Error(`MultiLayerNetwork.${op}: the network is closed`);
  }

  private initialized(op: string): Layer[] {
    this.checkOpen(op);
    if (!this.layerList) throw new Error(`MultiLayerNetwork.${op}: call init() first`);
    return this.layerList;
  }
}
