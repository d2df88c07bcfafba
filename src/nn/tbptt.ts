/**
 * DL4J's truncated backpropagation through time: the configuration options (backpropType,
 * tbpttFwdLength, tbpttBackLength), their validation, and cutting a minibatch of sequences (a
 * DataSet or MultiDataSet) into its time segments. MultiLayerNetwork and ComputationGraph train
 * each segment as one update, their recurrent layers continuing (through their rnnTimeStep state,
 * detached) from where the previous segment ended.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { all, interval } from '../ndarray/indexing.js';
import { formatShape } from '../ndarray/shape.js';
import { getView } from '../ops/views.js';
import { DataSet } from '../data/dataset.js';
import { MultiDataSet } from '../data/multi-dataset.js';
import type { ResolvedLayer } from './config.js';
import { checkSize, fail, layerLabel } from './resolvers/context.js';
import type { SegmentedBackprop } from './training-core.js';

/** DL4J's BackpropType. */
export type BackpropType = 'Standard' | 'TruncatedBPTT';
export const BACKPROP_TYPES: readonly BackpropType[] = ['Standard', 'TruncatedBPTT'];

/** DL4J's default tbpttFwdLength / tbpttBackLength. */
export const DEFAULT_TBPTT_LENGTH = 20;

/** The global options of truncated BPTT (part of NeuralNetConfiguration). */
export interface TbpttOptions {
  /** Default 'Standard': the gradient of each minibatch goes through all its time steps. */
  backpropType?: BackpropType;
  /** Time steps per segment with 'TruncatedBPTT' (default 20, DL4J's); each segment is one parameter update. */
  tbpttFwdLength?: number;
  /**
   * Time steps the gradient goes back through in the recurrent layers, counted from the end of each
   * segment (default and at most tbpttFwdLength): the earlier steps of a segment still feed the
   * loss and the layers above, but their recurrent steps run detached (DL4J's LSTMHelpers).
   */
  tbpttBackLength?: number;
}

/** Resolved truncated BPTT lengths. */
export interface TbpttLengths {
  readonly fwdLength: number;
  readonly backLength: number;
}

/** Layer types that carry state between segments (a LastTimeStep ends the time axis, a Bidirectional needs the whole sequence). */
const STATEFUL_TYPES: ReadonlySet<string> = new Set(['lstm', 'simpleRnn', 'gravesLstm']);

/**
 * Checks the options against the resolved layers; returns the lengths with 'TruncatedBPTT' and
 * undefined with 'Standard'.
 */
export function resolveTbptt(conf: TbpttOptions, layers: readonly ResolvedLayer[]): TbpttLengths | undefined {
  const type = conf.backpropType ?? 'Standard';
  if (!BACKPROP_TYPES.includes(type)) fail('backpropType', `expected one of ${BACKPROP_TYPES.map((t) => `'${t}'`).join(', ')}, got '${String(type)}'`);
  checkSize('tbpttFwdLength', 'tbpttFwdLength', conf.tbpttFwdLength);
  checkSize('tbpttBackLength', 'tbpttBackLength', conf.tbpttBackLength);
  if (type === 'Standard') {
    for (const k of ['tbpttFwdLength', 'tbpttBackLength'] as const) {
      if (conf[k] !== undefined) fail(k, `only applies with backpropType 'TruncatedBPTT' (backpropType is 'Standard')`);
    }
    return undefined;
  }
  const fwd = conf.tbpttFwdLength ?? DEFAULT_TBPTT_LENGTH;
  const back = conf.tbpttBackLength ?? fwd;
  if (back > fwd) fail('tbpttBackLength', `must not exceed tbpttFwdLength (${fwd}), got ${back}`);
  for (const l of layers) {
    if (l.type === 'bidirectional' || l.type === 'gravesBidirectionalLstm' || l.wrapped?.type === 'bidirectional') {
      fail(layerLabel(l.index, l), "backpropType 'TruncatedBPTT' is not possible with a bidirectional layer (its backward direction needs the whole sequence)");
    }
    if (l.type === 'lastTimeStep') {
      fail(layerLabel(l.index, l), "backpropType 'TruncatedBPTT' needs time-series labels, but a lastTimeStep layer ends the time axis");
    }
  }
  if (!layers.some((l) => STATEFUL_TYPES.has(l.type))) {
    fail('backpropType', "'TruncatedBPTT' needs at least one recurrent layer (lstm, gravesLstm or simpleRnn)");
  }
  return { fwdLength: fwd, backLength: back };
}

/** The number of segments of `length` steps a sequence of T steps is cut into (the last may be shorter). */
export function segmentCount(timeSteps: number, length: number): number {
  return Math.ceil(timeSteps / length);
}

/** Time steps [from, to) of an array along its last (time) axis, as a view. */
function timeSteps(a: NDArray, from: number, to: number): NDArray {
  return getView(a, [...Array.from({ length: a.rank - 1 }, () => all()), interval(from, to)]);
}

/**
 * The time steps [from, to) of a sequence batch, every array cut along its last (time) axis
 * (views: the segment must not be closed on its own, its arrays belong to `ds`). Throws unless
 * features and labels are time series of the same length.
 */
export function timeSegment(where: string, ds: DataSet, from: number, to: number): DataSet {
  checkSequenceBatch(where, ds);
  const cut = (a: NDArray): NDArray => timeSteps(a, from, to);
  return new DataSet(cut(ds.features), cut(ds.labels), ds.featuresMask && cut(ds.featuresMask), ds.labelsMask && cut(ds.labelsMask));
}

/** A features mask must be [N, T]; a labels mask may also be per output, [N, K, T]. */
function checkTimeMask(where: string, name: string, m: NDArray | null | undefined, labels: boolean, t: number): void {
  const ranks = labels ? [2, 3] : [2];
  if (m && (!ranks.includes(m.rank) || m.shape[m.rank - 1] !== t)) {
    throw new Error(`${where}: ${name} must be [N, ${labels ? '(K, )' : ''}T] with T = ${t} for truncated BPTT, got ${formatShape(m.shape)}`);
  }
}

/** The time steps T of a batch trained with truncated BPTT (features [N, C, T], labels [N, K, T]). */
export function checkSequenceBatch(where: string, ds: DataSet): number {
  const { features, labels } = ds;
  if (features.rank !== 3 || labels.rank !== 3 || features.shape[2] !== labels.shape[2]) {
    throw new Error(`${where}: truncated BPTT needs features [N, C, T] and labels [N, K, T] with the same T, got features ${formatShape(features.shape)} and labels ${formatShape(labels.shape)}`);
  }
  const t = features.shape[2]!;
  checkTimeMask(where, 'featuresMask', ds.featuresMask, false, t);
  checkTimeMask(where, 'labelsMask', ds.labelsMask, true, t);
  return t;
}

/**
 * The time steps T of a MultiDataSet trained with truncated BPTT: every rank-3 features and labels
 * array is a time series [N, C, T] of the same T (at least one features array is); other arrays
 * (static inputs, per-sequence labels) are given whole to every segment, as DL4J does.
 */
export function checkMultiSequenceBatch(where: string, mds: MultiDataSet): number {
  const series = [...mds.features.map((a, i) => [`features[${i}]`, a] as const), ...mds.labels.map((a, i) => [`labels[${i}]`, a] as const)].filter(([, a]) => a.rank === 3);
  const describeAll = (): string => [...mds.features.map((a, i) => `features[${i}] ${formatShape(a.shape)}`), ...mds.labels.map((a, i) => `labels[${i}] ${formatShape(a.shape)}`)].join(', ');
  if (!mds.features.some((a) => a.rank === 3)) throw new Error(`${where}: truncated BPTT needs at least one time-series features array [N, C, T], got ${describeAll()}`);
  const t = series[0]![1].shape[2]!;
  if (series.some(([, a]) => a.shape[2] !== t)) throw new Error(`${where}: truncated BPTT needs every time-series array [N, C, T] to have the same T, got ${describeAll()}`);
  mds.features.forEach((a, i) => {
    if (a.rank === 3) checkTimeMask(where, `featuresMasks[${i}]`, mds.featuresMasks?.[i], false, t);
  });
  mds.labels.forEach((a, i) => {
    if (a.rank === 3) checkTimeMask(where, `labelsMasks[${i}]`, mds.labelsMasks?.[i], true, t);
  });
  return t;
}

/** The time steps [from, to) of a MultiDataSet: its time-series arrays and their masks cut (views, owned by `mds`), the rest shared. */
export function multiTimeSegment(where: string, mds: MultiDataSet, from: number, to: number): MultiDataSet {
  checkMultiSequenceBatch(where, mds);
  const cut = (a: NDArray): NDArray => (a.rank === 3 ? timeSteps(a, from, to) : a);
  // A mask is cut with the array it belongs to.
  const cutMasks = (arrays: readonly NDArray[], masks: readonly (NDArray | null)[] | null): (NDArray | null)[] | null =>
    masks && masks.map((m, i) => (m && arrays[i]!.rank === 3 ? timeSteps(m, from, to) : m));
  return new MultiDataSet(mds.features.map(cut), mds.labels.map(cut), cutMasks(mds.features, mds.featuresMasks), cutMasks(mds.labels, mds.labelsMasks));
}

/**
 * Truncated BPTT for TrainingCore over batches of type B: `length` steps per segment, `steps`
 * checks a batch and gives its T, `cut` its steps [from, to), and each segment's data loss comes
 * from `segmentLoss` (which must run the recurrent layers statefully: rnnTimeStep in training mode,
 * with the back length).
 */
function timeSegments<B>(where: (op: string) => string, length: number, steps: (where: string, b: B) => number, cut: (where: string, b: B, from: number, to: number) => B,
  segmentLoss: (segment: B, op: string) => NDArray): SegmentedBackprop<B> {
  return {
    count: (b, op) => segmentCount(steps(where(op), b), length),
    loss: (b, k, op) => {
      const t = steps(where(op), b);
      return segmentLoss(cut(where(op), b, k * length, Math.min(t, (k + 1) * length)), op);
    },
  };
}

/** Truncated BPTT over DataSets (MultiLayerNetwork). */
export function dataSetSegments(kind: string, length: number, segmentLoss: (segment: DataSet, op: string) => NDArray): SegmentedBackprop<DataSet> {
  return timeSegments((op) => `${kind}.${op}`, length, checkSequenceBatch, timeSegment, segmentLoss);
}

/** Truncated BPTT over MultiDataSets (ComputationGraph). */
export function multiDataSetSegments(kind: string, length: number, segmentLoss: (segment: MultiDataSet, op: string) => NDArray): SegmentedBackprop<MultiDataSet> {
  return timeSegments((op) => `${kind}.${op}`, length, checkMultiSequenceBatch, multiTimeSegment, segmentLoss);
}
