/**
 * The training machinery MultiLayerNetwork and ComputationGraph share: the flat parameter list in
 * DL4J's order, updater blocks, the backprop step (data-loss gradients, zero-filled gradients of
 * unreached parameters, the gradient-exchange hook, per-layer gradient normalization, l1/l2, weight
 * decay, updaters) inside one scope() so memory stays flat, listeners, the iteration/epoch counters,
 * fit over a batch or an iterator (truncated BPTT: one update per time segment), and the
 * params/updater-state flattening. HALF/BFLOAT16 networks train through FLOAT master weights
 * (master-weights.ts). A model supplies only its
 * layers (in parameter order, each under the key that prefixes its parameter names) and its data
 * loss; nothing is read back to JavaScript during a step unless a listener asks for the score.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { keep, scope } from '../ndarray/scope.js';
import { interval } from '../ndarray/indexing.js';
import { formatShape } from '../ndarray/shape.js';
import { noGrad } from '../autodiff/tape.js';
import { backward } from '../autodiff/backward.js';
import { add, mul } from '../ops/binary.js';
import { cast, reshape } from '../ops/views.js';
import { concat } from '../ops/join.js';
import { zeros } from '../ops/create.js';
import type { DataType } from '../ndarray/dtype.js';
import { computeLoss } from './losses.js';
import { computeTimeSeriesLoss } from './layers/rnn-output.js';
import { Updater } from './updaters.js';
import { MASTER_DTYPE, MASTER_STATE_NAME, MasterWeights, needsMasterWeights } from './master-weights.js';
import { applyGradientNormalization } from './gradient-normalization.js';
import { hasScheduledDropOut } from './dropout-variants.js';
import type { Layer, OutputLayerLike } from './layers/index.js';
import type { TrainableModel, TrainingListener } from './listeners.js';
import { BackpropRecorder, type BackpropPass, type RecordableBatch } from './recorded-backprop.js';
import { cudaConfiguration } from '../backend/cuda/config.js';

/** Whether fit replays recorded passes (configureCuda captureTrainingSteps). */
export interface TrainingCapture {
  /** Batch layouts whose forward and backward pass fit replays from a CUDA graph. */
  readonly recorded: number;
  /** Why the network trains eagerly although recording is on (a pass could not be recorded), else null. */
  readonly refusal: string | null;
}

/** A source of minibatches (DataSetIterator and MultiDataSet iterators have this shape). */
export interface BatchIterator<B> {
  hasNext(): boolean;
  next(): B;
  reset(): void;
  readonly resetSupported: boolean;
}

/** A layer of the model under the key of its parameters ('0' gives '0_W'; a graph vertex 'fc' gives 'fc_W'). */
export interface KeyedLayer {
  readonly key: string;
  readonly layer: Layer;
}

/** Called with the trainable parameters' gradients (flat parameter order) before normalization and l1/l2. */
export type GradientExchange = (grads: NDArray[]) => void;

/** One parameter, in DL4J's flattening order. */
interface ParamEntry {
  /** Index into the layer list. */
  readonly owner: number;
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

export interface TrainingCoreOptions<B> {
  /** The model's class name, prefixing errors ('MultiLayerNetwork.fit: ...'). */
  readonly kind: string;
  /** Handed to listeners. */
  readonly model: TrainableModel;
  readonly dataType: DataType;
  /** The differentiable data loss of a batch, averaged over examples, without the l1/l2 penalty. */
  readonly dataLoss: (batch: B, training: boolean, op: string) => NDArray;
  /** Tells a single batch from an iterator of batches. */
  readonly isBatch: (data: B | BatchIterator<B>) => data is B;
  /** Truncated BPTT: fit trains each batch as time segments (absent: each batch is one update). */
  readonly truncatedBptt?: SegmentedBackprop<B>;
}

/**
 * DL4J's truncated BPTT as a model supplies it. fit clears the layers' recurrent state, makes one
 * update per segment in order, then clears the state again, so segments of one batch share state
 * and different batches do not.
 */
export interface SegmentedBackprop<B> {
  /** How many segments the batch is trained as. */
  count(batch: B, op: string): number;
  /** The data loss of segment k, continuing from the recurrent state segment k - 1 stored (which it replaces, detached). */
  loss(batch: B, k: number, op: string): NDArray;
}

/** The time-series mask the next layer sees after `l` (recurrent layers pass it on; LastTimeStep ends it). */
export function nextMask(l: Layer, mask: NDArray | null): NDArray | null {
  return l.feedForwardMask ? l.feedForwardMask(mask) : mask;
}

/** Parameters that weight decay applies to when a layer does not say (DL4J: the weights only). */
const DEFAULT_WEIGHT_PARAMS: ReadonlySet<string> = new Set(['W']);

/**
 * Loss of one output layer from its pre-output z: the labels (and mask) cast to z's type and
 * checked against it; time-series output [N, C, T] gets a loss per step, masked by the labels mask.
 */
export function outputLayerLoss(where: string, layer: OutputLayerLike, z: NDArray, labels: NDArray, mask: NDArray | null): NDArray {
  const as = (a: NDArray): NDArray => (a.dtype === z.dtype ? a : cast(a, z.dtype));
  const { lossFunction, activation } = layer.config;
  if (z.rank === 3) return computeTimeSeriesLoss(lossFunction!, { labels: as(labels), preOutput: z, activation, mask: mask ? as(mask) : undefined }, where);
  if (labels.rank !== z.rank || labels.shape.some((d, k) => d !== z.shape[k])) {
    throw new Error(`${where}: labels ${labels.dtype}${formatShape(labels.shape)} do not match the network output ${z.dtype}${formatShape(z.shape)}`);
  }
  return computeLoss(lossFunction!, { labels: as(labels), preOutput: z, activation, ...(mask ? { mask: as(mask) } : {}) });
}

/**
 * Runs `fn` on each batch of an iterator (reset first when it can be); each batch is closed after
 * use. `epoch` > 0 with an iterator that cannot reset is an error.
 */
export function forEachBatch<B extends { close(): void }>(where: string, it: BatchIterator<B>, epoch: number, fn: (b: B) => void): void {
  if (it.resetSupported) it.reset();
  else if (epoch > 0) throw new Error(`${where}: the iterator does not support reset, so it cannot be used for more than one epoch`);
  while (it.hasNext()) {
    const b = it.next();
    try {
      fn(b);
    } finally {
      b.close();
    }
  }
}

/** DL4J's summary() table: the header, one row per layer/vertex, then parameter totals. */
export function summaryTable(header: readonly string[], rows: readonly (readonly string[])[], total: number, frozen: number): string {
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  const line = (cells: readonly string[]): string => cells.slice(0, header.length).map((s, k) => s.padEnd(widths[k]!)).join('   ').trimEnd();
  const rule = '='.repeat(widths.reduce((a, w) => a + w, 0) + 3 * (widths.length - 1));
  return [rule, line(header), rule, ...rows.map(line), '-'.repeat(rule.length),
    `            Total Parameters:  ${total}`, `        Trainable Parameters:  ${total - frozen}`, `           Frozen Parameters:  ${frozen}`, rule].join('\n');
}

export class TrainingCore<B extends RecordableBatch<B>> {
  /** Minibatch steps done so far (DL4J's iterationCount). */
  iterationCount = 0;
  /** Epochs completed so far (DL4J's epochCount). */
  epochCount = 0;
  private layers: readonly KeyedLayer[] | null = null;
  private entries: ParamEntry[] = [];
  private blocks: UpdaterBlock[] = [];
  /** FLOAT copies the updaters train for HALF/BFLOAT16 networks; null for FLOAT and DOUBLE (no extra work). */
  private masters: MasterWeights | null = null;
  private lastScore: NDArray | null = null;
  private listenerList: TrainingListener[] = [];
  private gradientExchange: GradientExchange | null = null;
  private closedFlag = false;
  /** fit's forward + backward as CUDA graphs (configureCuda captureTrainingSteps). */
  private readonly recorder: BackpropRecorder<B>;

  constructor(private readonly options: TrainingCoreOptions<B>) {
    this.recorder = new BackpropRecorder(
      (batch) => this.pass(() => this.options.dataLoss(batch, true, 'fit')),
      () => (cudaConfiguration().captureTrainingSteps ? (this.entries[0]?.array.backend ?? null) : null),
    );
  }

  /** Recorded passes of fit (batch layouts), and why passes run eagerly when recording failed. */
  get trainingCapture(): TrainingCapture {
    return { recorded: this.recorder.recorded, refusal: this.recorder.refusal };
  }

  /** Builds the parameter list and the updater blocks from the layers (in parameter order). */
  init(layers: readonly KeyedLayer[]): void {
    this.layers = layers;
    const scheduled = layers.find(({ layer }) => hasScheduledDropOut(layer.config));
    // A recording would keep the dropout of the step it was made at (a scheduled retain probability of 1 draws nothing).
    if (scheduled) this.recorder.refuse(`layer ${scheduled.key}: its dropOut follows a schedule, which a recorded pass would freeze`);
    this.entries = layers.flatMap(({ layer }, i) => [...layer.params].map(([name, array]) => ({ owner: i, name, array, trainable: !layer.nonTrainable?.has(name) })));
    let current: { key: string; updater: Updater; params: number[] } | null = null;
    this.entries.forEach((e, k) => {
      if (!e.trainable) return;
      const config = layers[e.owner]!.layer.config.updater;
      const key = JSON.stringify(config);
      if (!current || current.key !== key) {
        current = { key, updater: new Updater(config), params: [] };
        this.blocks.push(current);
      }
      current.params.push(k);
    });
    if (needsMasterWeights(this.options.dataType)) {
      const trained = new Map<number, NDArray>();
      for (const b of this.blocks) if (b.updater.config.type !== 'noop') for (const k of b.params) trained.set(k, this.entries[k]!.array);
      if (trained.size > 0) this.masters = new MasterWeights(trained);
    }
  }

  get initialized(): boolean {
    return this.layers !== null;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Throws when closed. */
  checkOpen(op: string): void {
    if (this.closedFlag) throw new Error(`${this.options.kind}.${op}: the network is closed`);
  }

  /** Throws when closed or before init(). */
  checkReady(op: string): void {
    this.checkOpen(op);
    if (!this.layers) throw new Error(`${this.options.kind}.${op}: call init() first`);
  }

  /** Every parameter array (for scopeChildren). */
  arrays(): NDArray[] {
    return this.entries.map((e) => e.array);
  }

  private keyOf(e: ParamEntry): string {
    return `${this.layers![e.owner]!.key}_${e.name}`;
  }

  // ---- score and gradients ------------------------------------------------------------------------

  /** The l1/l2 penalty over all layers as a 0-d array, or null when no layer is regularized. */
  regularization(): NDArray | null {
    let total: NDArray | null = null;
    for (const { layer } of this.layers ?? []) {
      const r = layer.regularization();
      if (r) total = total ? add(total, r) : r;
    }
    return total;
  }

  /** Data loss plus the regularization penalty, differentiable w.r.t. the parameters. */
  loss(batch: B, training: boolean, op: string): NDArray {
    const loss = this.options.dataLoss(batch, training, op);
    const reg = this.regularization();
    return reg ? add(loss, reg) : loss;
  }

  /** The score of the last step (reads one number back), or the score of `batch` without recording gradients. */
  score(batch?: B, training = false): number {
    if (batch === undefined) {
      if (!this.lastScore) throw new Error(`${this.options.kind}.score: no score yet; call fit or computeGradientAndScore first, or pass a DataSet`);
      return this.lastScore.item();
    }
    this.checkReady('score');
    return noGrad(() => scope(() => this.loss(batch, training, 'score').item()));
  }

  private clearGradients(): void {
    for (const e of this.entries) {
      e.array.grad?.close();
      e.array.grad = null;
    }
  }

  /**
   * Installs (or removes, with null) a hook that every backprop calls right after the data-loss
   * gradients exist, before gradient normalization and before the l1/l2 gradients are added. It gets
   * the trainable parameters' .grad arrays in flat parameter order and may replace their values in
   * place: data-parallel training averages them over workers here, so normalization and
   * regularization then act identically on every replica (DL4J's SHARED_GRADIENTS).
   */
  setGradientExchange(fn: GradientExchange | null): void {
    this.gradientExchange = fn;
  }

  /**
   * Forward + backward on the batch (training mode); the gradients then sit on the parameters'
   * .grad. As DL4J, `normalize` sees the loss gradients only; the l1/l2 gradients are added after
   * it, by a second backward() that accumulates into .grad.
   */
  private backprop(dataLoss: () => NDArray, normalize?: () => void, batch?: B): void {
    let loss: NDArray;
    if (batch) {
      const pass = this.recorder.run(batch);
      loss = pass.loss;
      // A replay's gradients belong to the recording: the parameters get handles of their own.
      if (pass.replayed) this.trainable().forEach((e, i) => (e.array.grad = keep(pass.grads[i]!.share())));
    } else {
      loss = this.pass(dataLoss).loss;
    }
    if (this.gradientExchange) {
      const grads = this.trainable().map((e) => e.array.grad!);
      noGrad(() => this.gradientExchange!(grads));
    }
    normalize?.();
    const reg = this.regularization();
    if (reg) backward(reg);
    const s = noGrad(() => keep(reg ? add(loss, reg) : loss.dup()));
    this.lastScore?.close();
    this.lastScore = s;
  }

  /** Forward and backward from cleared gradients; every trainable parameter ends with a .grad. */
  private pass(dataLoss: () => NDArray): BackpropPass {
    this.clearGradients();
    const loss = dataLoss();
    backward(loss);
    // A parameter the loss does not reach gets a zero gradient, so the updaters see every parameter.
    const trainable = this.trainable();
    for (const e of trainable) e.array.grad ??= keep(zeros(e.array.shape, { dtype: e.array.dtype, backend: e.array.backend }));
    return { loss, grads: trainable.map((e) => e.array.grad!) };
  }

  private trainable(): ParamEntry[] {
    return this.entries.filter((e) => e.trainable);
  }

  /** Computes the gradients for the batch (available from gradient()) and returns the score. */
  computeGradientAndScore(batch: B): number {
    this.checkReady('computeGradientAndScore');
    scope(() => this.backprop(() => this.options.dataLoss(batch, true, 'computeGradientAndScore')));
    return this.score();
  }

  /** The gradients of the last computeGradientAndScore by DL4J key; owned by the model. */
  gradient(): Map<string, NDArray> {
    this.checkReady('gradient');
    const out = new Map<string, NDArray>();
    for (const e of this.entries) {
      if (!e.trainable) continue;
      if (!e.array.grad) throw new Error(`${this.options.kind}.gradient: no gradients; call computeGradientAndScore first`);
      out.set(this.keyOf(e), e.array.grad);
    }
    return out;
  }

  // ---- training -----------------------------------------------------------------------------------

  setListeners(listeners: readonly TrainingListener[]): void {
    this.listenerList = [...listeners];
  }

  addListeners(listeners: readonly TrainingListener[]): void {
    this.listenerList.push(...listeners);
  }

  get listeners(): readonly TrainingListener[] {
    return this.listenerList;
  }

  /** One minibatch: one update, or with truncated BPTT one per time segment. */
  private step(batch: B): void {
    const tbptt = this.options.truncatedBptt;
    if (!tbptt) {
      this.update(() => this.options.dataLoss(batch, true, 'fit'), batch);
      return;
    }
    const count = tbptt.count(batch, 'fit');
    this.clearRecurrentState();
    try {
      for (let k = 0; k < count; k++) this.update(() => tbptt.loss(batch, k, 'fit'));
    } finally {
      this.clearRecurrentState();
    }
  }

  private clearRecurrentState(): void {
    for (const { layer } of this.layers ?? []) layer.rnnClearPreviousState?.();
  }

  /**
   * One update from a data loss: gradients, normalization, updaters, weight decay; then the listeners.
   * `batch`: the minibatch the loss is of, when its forward and backward pass may be recorded (fit without TBPTT).
   */
  private update(dataLoss: () => NDArray, batch?: B): void {
    const iteration = this.iterationCount;
    const epoch = this.epochCount;
    const layers = this.layers!.map((l) => l.layer);
    const normalize = (): void =>
      layers.forEach(({ config: c }, i) => {
        const grads: Record<string, NDArray> = {};
        for (const e of this.entries) if (e.owner === i && e.trainable) grads[e.name] = e.array.grad!;
        if (Object.keys(grads).length > 0) applyGradientNormalization(c.gradientNormalization, grads, c.gradientNormalizationThreshold);
      });
    const masters = this.masters;
    scope(() => {
      this.backprop(dataLoss, normalize, batch);
      noGrad(() => {
        for (const b of this.blocks) {
          const ps = b.params.map((k) => this.entries[k]!);
          // 16-bit networks: the updater steps the FLOAT masters with the gradients cast up.
          const targets = b.params.map((k, j) => masters?.master(k) ?? ps[j]!.array);
          const grads = ps.map((e, j) => (targets[j] === e.array ? e.array.grad! : cast(e.array.grad!, MASTER_DTYPE)));
          // DL4J's WeightDecay (applyLR, weights only): lr * decay * W of the parameters before this update.
          const lr = b.updater.learningRate(iteration, epoch);
          const decay = ps.map((e, j) => {
            const layer = layers[e.owner]!;
            const wd = layer.config.weightDecay;
            return wd > 0 && (layer.weightParams ?? DEFAULT_WEIGHT_PARAMS).has(e.name) ? mul(targets[j]!, (Number.isNaN(lr) ? 1 : lr) * wd) : null;
          });
          b.updater.apply(targets, grads, iteration, epoch);
          targets.forEach((t, k) => {
            if (decay[k]) t.subi(decay[k]);
          });
        }
        masters?.refresh();
      });
      this.clearGradients();
    });
    for (const l of this.listenerList) l.iterationDone?.(this.options.model, iteration, epoch);
    this.iterationCount++;
  }

  /**
   * Trains for `epochs` epochs: over one batch (one step per epoch) or an iterator (reset before
   * each epoch; each batch it returns is closed after its step).
   */
  fit(data: B | BatchIterator<B>, epochs: number): void {
    const { kind, model, isBatch } = this.options;
    this.checkReady('fit');
    if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`${kind}.fit: epochs must be a positive integer, got ${epochs}`);
    for (let e = 0; e < epochs; e++) {
      for (const l of this.listenerList) l.onEpochStart?.(model);
      if (isBatch(data)) this.step(data);
      else forEachBatch(`${kind}.fit`, data, e, (b) => this.step(b));
      for (const l of this.listenerList) l.onEpochEnd?.(model);
      this.epochCount++;
    }
  }

  // ---- parameters ---------------------------------------------------------------------------------

  numParams(): number {
    this.checkReady('numParams');
    return this.entries.reduce((n, e) => n + e.array.size, 0);
  }

  /** Values of the parameters the updaters do not train. */
  numFrozenParams(): number {
    return this.entries.reduce((n, e) => n + (e.trainable ? 0 : e.array.size), 0);
  }

  /** All parameters as one new 1-D array in flat order, each row-major (DL4J's params()). */
  params(): NDArray {
    this.checkReady('params');
    return noGrad(() =>
      scope(() =>
        this.entries.length === 0
          ? zeros([0], { dtype: this.options.dataType })
          : concat(this.entries.map((e) => reshape(e.array, [e.array.size])), 0),
      ),
    );
  }

  /** Copies a flat vector laid out as params() into the parameters (in place). */
  setParams(flat: NDArray): void {
    this.checkReady('setParams');
    const n = this.numParams();
    if (flat.rank !== 1 || flat.size !== n) throw new Error(`${this.options.kind}.setParams: expected a 1-D array of ${n} values, got ${flat.dtype}${formatShape(flat.shape)}`);
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

  /** The parameters by DL4J key; owned by the model. */
  paramTable(): Map<string, NDArray> {
    this.checkReady('paramTable');
    return new Map(this.entries.map((e) => [this.keyOf(e), e.array]));
  }

  /**
   * Updater state keyed `${paramIndex}/${stateName}` over the flat parameter list; arrays owned by the
   * model. HALF/BFLOAT16 networks add each trained parameter's FLOAT master weights as
   * `${paramIndex}/MASTER`: training continues from them, not from the rounded parameters, so a model
   * saved with its updater state continues exactly; without them the masters are re-derived from the
   * 16-bit parameters.
   */
  updaterState(): Record<string, NDArray> {
    this.checkReady('updaterState');
    const out: Record<string, NDArray> = this.masters ? this.masters.state() : {};
    for (const b of this.blocks) {
      for (const [key, a] of Object.entries(b.updater.state())) {
        const [local, name] = key.split('/') as [string, string];
        out[`${b.params[Number(local)]!}/${name}`] = a;
      }
    }
    return out;
  }

  /**
   * Restores state saved by updaterState() (values are copied). Master weights are taken as matching
   * the parameters as they are now, so restore the parameters first. A 16-bit network's updater state
   * is FLOAT; 16-bit state (saved without masters) is cast up.
   */
  setUpdaterState(state: Readonly<Record<string, NDArray>>): void {
    this.checkReady('setUpdaterState');
    const where = `${this.options.kind}.setUpdaterState`;
    const suffix = `/${MASTER_STATE_NAME}`;
    noGrad(() =>
      scope(() => {
        for (const [key, a] of Object.entries(state)) {
          if (!key.endsWith(suffix)) continue;
          if (!this.masters) throw new Error(`${where}: '${key}' holds master weights, but this ${this.options.dataType} network keeps none (only HALF and BFLOAT16 networks do)`);
          this.masters.setMaster(Number(key.slice(0, -suffix.length)), a, where);
        }
        for (const b of this.blocks) {
          const part: Record<string, NDArray> = {};
          b.params.forEach((k, local) => {
            const up = this.masters?.has(k) ?? false;
            for (const name of b.updater.stateNames) {
              const a = state[`${k}/${name}`];
              if (a) part[`${local}/${name}`] = up && a.dtype !== MASTER_DTYPE ? cast(a, MASTER_DTYPE) : a;
            }
          });
          if (Object.keys(part).length > 0) b.updater.setState(part);
        }
      }),
    );
  }

  /** Copies parameters, updater state and counters from a core of the same configuration (clone()). */
  copyFrom(other: TrainingCore<B>): void {
    scope(() => this.setParams(other.params()));
    this.setUpdaterState(other.updaterState());
    this.iterationCount = other.iterationCount;
    this.epochCount = other.epochCount;
  }

  /** Releases the parameters, gradients, updater state, score and the layers' recurrent state. */
  close(): void {
    if (this.closedFlag) return;
    this.clearRecurrentState();
    this.clearGradients();
    this.recorder.close();
    for (const e of this.entries) e.array.close();
    for (const b of this.blocks) b.updater.close();
    this.masters?.close();
    this.masters = null;
    this.lastScore?.close();
    this.lastScore = null;
    this.closedFlag = true;
  }
}
