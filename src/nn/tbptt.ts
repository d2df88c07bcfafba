/**
 * DL4J's truncated backpropagation through time: the configuration options (backpropType,
 * tbpttFwdLength, tbpttBackLength), their validation, and cutting a minibatch of sequences into
 * its time segments. MultiLayerNetwork trains each segment as one update, its recurrent layers
 * continuing (through their rnnTimeStep state, detached) from where the previous segment ended.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { all, interval } from '../ndarray/indexing.js';
import { formatShape } from '../ndarray/shape.js';
import { getView } from '../ops/views.js';
import { DataSet } from '../data/dataset.js';
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
const STATEFUL_TYPES: ReadonlySet<string> = new Set(['lstm', 'simpleRnn']);

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
    if (l.type === 'bidirectional' || l.wrapped?.type === 'bidirectional') {
      fail(layerLabel(l.index, l), "backpropType 'TruncatedBPTT' is not possible with a bidirectional layer (its backward direction needs the whole sequence)");
    }
    if (l.type === 'lastTimeStep') {
      fail(layerLabel(l.index, l), "backpropType 'TruncatedBPTT' needs time-series labels, but a lastTimeStep layer ends the time axis");
    }
  }
  if (!layers.some((l) => STATEFUL_TYPES.has(l.type))) {
    fail('backpropType', "'TruncatedBPTT' needs at least one recurrent layer (lstm or simpleRnn)");
  }
  return { fwdLength: fwd, backLength: back };
}

/** The number of segments of `length` steps a sequence of T steps is cut into (the last may be shorter). */
export function segmentCount(timeSteps: number, length: number): number {
  return Math.ceil(timeSteps / length);
}

/**
 * The time steps [from, to) of a sequence batch, every array cut along its last (time) axis
 * (views: the segment must not be closed on its own, its arrays belong to `ds`). Throws unless
 * features and labels are time series of the same length.
 */
export function timeSegment(where: string, ds: DataSet, from: number, to: number): DataSet {
  const { features, labels } = ds;
  checkSequenceBatch(where, ds);
  const steps = (a: NDArray): NDArray => getView(a, [...Array.from({ length: a.rank - 1 }, () => all()), interval(from, to)]);
  return new DataSet(steps(features), steps(labels), ds.featuresMask && steps(ds.featuresMask), ds.labelsMask && steps(ds.labelsMask));
}

/** The time steps T of a batch trained with truncated BPTT (features [N, C, T], labels [N, K, T]). */
export function checkSequenceBatch(where: string, ds: DataSet): number {
  const { features, labels } = ds;
  if (features.rank !== 3 || labels.rank !== 3 || features.shape[2] !== labels.shape[2]) {
    throw new Error(`${where}: truncated BPTT needs features [N, C, T] and labels [N, K, T] with the same T, got features ${formatShape(features.shape)} and labels ${formatShape(labels.shape)}`);
  }
  const t = features.shape[2]!;
  // A labels mask may also be per output, [N, K, T].
  for (const [name, m, ranks] of [['featuresMask', ds.featuresMask, [2]], ['labelsMask', ds.labelsMask, [2, 3]]] as const) {
    if (m && (!(ranks as readonly number[]).includes(m.rank) || m.shape[m.rank - 1] !== t)) {
      throw new Error(`${where}: ${name} must be [N, ${ranks.length > 1 ? '(K, )' : ''}T] with T = ${t} for truncated BPTT, got ${formatShape(m.shape)}`);
    }
  }
  return t;
}

/**
 * Truncated BPTT over DataSets for TrainingCore: `length` steps per segment, each segment's data
 * loss from `segmentLoss` (which must run the recurrent layers statefully: rnnTimeStep in training
 * mode, with the back length).
 */
export function dataSetSegments(kind: string, length: number, segmentLoss: (segment: DataSet, op: string) => NDArray): SegmentedBackprop<DataSet> {
  return {
    count: (ds, op) => segmentCount(checkSequenceBatch(`${kind}.${op}`, ds), length),
    loss: (ds, k, op) => {
      const t = ds.features.shape[2]!;
      return segmentLoss(timeSegment(`${kind}.${op}`, ds, k * length, Math.min(t, (k + 1) * length)), op);
    },
  };
}
