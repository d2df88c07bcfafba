/**
 * Evaluation (DL4J's org.nd4j.evaluation.classification.Evaluation): a confusion matrix accumulated
 * over batches, and the metrics DL4J derives from it, with DL4J's defaults: for two classes the
 * metrics report the positive class (1) only; otherwise they are macro-averaged over the classes
 * where they are defined (a class never predicted has no precision and is left out of the average).
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { isFloating } from '../ndarray/dtype.js';
import { formatShape } from '../ndarray/shape.js';
import { readBatch, toMatrix, type Matrix } from './input.js';

export type EvaluationAveraging = 'Macro' | 'Micro';

/** DL4J's Evaluation.Metric: the single number scoreForMetric() reports (e.g. for early stopping). */
export type EvaluationMetric = 'ACCURACY' | 'F1' | 'PRECISION' | 'RECALL' | 'GMEASURE' | 'MCC';

export interface EvaluationOptions {
  /** Number of classes; by default taken from the first batch (2 for a single sigmoid column). */
  numClasses?: number;
  /** Class names for stats(); also fixes the number of classes. */
  labels?: readonly string[];
  /** Also count top-N accuracy: the true class among the N most probable (DL4J's topN; default 1). */
  topN?: number;
  /** For two classes, the class precision(), recall(), f1() report; null: macro average instead. Default 1. */
  binaryPositiveClass?: number | null;
  /** For two classes, predict class 1 when its probability is at least this (default: argmax / 0.5). */
  binaryDecisionThreshold?: number;
}

/** Marks a metric that is undefined for a class (no predictions / no examples), as DL4J's -1 edge value does. */
const UNDEFINED = -1;
/** DL4J's DEFAULT_EDGE_VALUE: what a per-class metric returns when undefined, unless asked otherwise. */
const EDGE = 0;
/** DL4J's CONFUSION_PRINT_MAX_CLASSES: stats() leaves out larger confusion matrices. */
const CONFUSION_PRINT_MAX_CLASSES = 20;

function ratio(num: number, den: number, edge: number): number {
  return den === 0 ? edge : num / den;
}

function fBetaOf(beta: number, precision: number, recall: number): number {
  if (precision === 0 && recall === 0) return 0;
  const b2 = beta * beta;
  return ((1 + b2) * precision * recall) / (b2 * precision + recall);
}

function mccOf(tp: number, fp: number, fn: number, tn: number): number {
  const den = Math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
  return (tp * tn - fp * fn) / den; // NaN when a margin is empty: MCC is undefined there
}

export class Evaluation {
  private nClasses: number;
  private labelNames: readonly string[] | null;
  readonly topN: number;
  readonly binaryPositiveClass: number | null;
  readonly binaryDecisionThreshold: number | null;
  /** confusion[actual][predicted] = count. */
  private confusion: number[][] = [];
  private topNCorrect = 0;
  private topNTotal = 0;

  constructor(options: EvaluationOptions | number = {}) {
    const o: EvaluationOptions = typeof options === 'number' ? { numClasses: options } : options;
    const topN = o.topN ?? 1;
    if (!Number.isInteger(topN) || topN < 1) throw new Error(`Evaluation: topN must be a positive integer, got ${topN}`);
    if (o.labels && o.numClasses !== undefined && o.labels.length !== o.numClasses) {
      throw new Error(`Evaluation: ${o.labels.length} label names given for numClasses ${o.numClasses}`);
    }
    const n = o.labels?.length ?? o.numClasses ?? 0;
    if (!Number.isInteger(n) || n < 0 || n === 1) throw new Error(`Evaluation: numClasses must be an integer of at least 2, got ${n}`);
    const t = o.binaryDecisionThreshold;
    if (t !== undefined && !(t >= 0 && t <= 1)) throw new Error(`Evaluation: binaryDecisionThreshold must be in [0, 1], got ${t}`);
    this.topN = topN;
    this.labelNames = o.labels ? [...o.labels] : null;
    this.binaryPositiveClass = o.binaryPositiveClass === undefined ? 1 : o.binaryPositiveClass;
    this.binaryDecisionThreshold = t ?? null;
    this.nClasses = 0;
    if (n > 0) this.setClasses(n);
  }

  private setClasses(n: number): void {
    this.nClasses = n;
    this.confusion = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  }

  /**
   * Adds a batch. `labels`: one-hot [N, C] (or [N, C, T] time series), or class indices [N] (or an
   * integer [N, 1]); a single column [N, 1] of 0/1 with sigmoid predictions [N, 1] is binary.
   * `predictions`: probabilities [N, C]. `mask`: [N] / [N, 1] (or [N, T]); zero rows are skipped.
   */
  eval(labels: NDArray, predictions: NDArray, mask?: NDArray): void {
    const op = 'Evaluation.eval';
    const predCols = predictions.rank >= 2 ? predictions.shape[1]! : 1;
    const asIndices = predCols > 1 && (labels.rank === 1 || (labels.rank === 2 && labels.shape[1] === 1 && !isFloating(labels.dtype)));
    let l: Matrix;
    let p: Matrix;
    let rowMask: Uint8Array | null;
    if (asIndices) {
      if (predictions.rank !== 2 || predictions.shape[0] !== labels.shape[0]) {
        throw new Error(`${op}: class-index labels ${labels.dtype}${formatShape(labels.shape)} need predictions [${labels.shape[0]}, C], got ${predictions.dtype}${formatShape(predictions.shape)}`);
      }
      const idx = toMatrix(op, 'labels', labels);
      p = toMatrix(op, 'predictions', predictions);
      const oneHot = new Float64Array(p.rows * p.cols);
      for (let r = 0; r < idx.rows; r++) {
        const c = idx.values[r]!;
        if (!Number.isInteger(c) || c < 0 || c >= p.cols) throw new Error(`${op}: label index ${c} at row ${r} is not a class in [0, ${p.cols})`);
        oneHot[r * p.cols + c] = 1;
      }
      l = { rows: p.rows, cols: p.cols, values: oneHot };
      rowMask = mask ? readBatch(op, labels, labels, mask, false).rowMask : null;
    } else {
      const b = readBatch(op, labels, predictions, mask, false);
      l = b.labels;
      p = b.predictions;
      rowMask = b.rowMask;
    }
    const classes = l.cols === 1 ? 2 : l.cols;
    if (this.nClasses === 0) this.setClasses(classes);
    if (classes !== this.nClasses) {
      throw new Error(`${op}: this evaluation has ${this.nClasses} classes, but the batch has ${l.cols} columns (labels ${labels.dtype}${formatShape(labels.shape)})`);
    }
    for (let r = 0; r < l.rows; r++) {
      if (rowMask && rowMask[r] === 0) continue;
      const actual = this.classOf(l, r, null);
      const predicted = this.classOf(p, r, this.binaryDecisionThreshold);
      this.confusion[actual]![predicted]!++;
      if (this.topN > 1 && p.cols > 1) {
        // DL4J's rule: correct when fewer than N classes score strictly above the true class.
        const base = r * p.cols;
        const trueProb = p.values[base + actual]!;
        let greater = 0;
        for (let c = 0; c < p.cols; c++) if (p.values[base + c]! > trueProb) greater++;
        if (greater < this.topN) this.topNCorrect++;
        this.topNTotal++;
      }
    }
  }

  /**
   * The class of a row: argmax (first maximum), or for a single column, 1 when at least the
   * threshold; with a decision threshold set, a two-column prediction thresholds column 1.
   */
  private classOf(m: Matrix, r: number, threshold: number | null): number {
    const base = r * m.cols;
    if (m.cols === 1) return m.values[base]! >= (threshold ?? 0.5) ? 1 : 0;
    if (m.cols === 2 && threshold !== null) return m.values[base + 1]! >= threshold ? 1 : 0;
    let best = 0;
    for (let c = 1; c < m.cols; c++) if (m.values[base + c]! > m.values[base + best]!) best = c;
    return best;
  }

  /** Adds another evaluation's counts (e.g. from another worker). */
  merge(other: Evaluation): void {
    if (other.nClasses === 0) return;
    if (this.nClasses === 0) this.setClasses(other.nClasses);
    if (other.nClasses !== this.nClasses) throw new Error(`Evaluation.merge: cannot merge ${other.nClasses} classes into ${this.nClasses}`);
    if (other.topN !== this.topN) throw new Error(`Evaluation.merge: topN differs (${this.topN} vs ${other.topN})`);
    for (let i = 0; i < this.nClasses; i++) for (let j = 0; j < this.nClasses; j++) this.confusion[i]![j]! += other.confusion[i]![j]!;
    this.topNCorrect += other.topNCorrect;
    this.topNTotal += other.topNTotal;
  }

  reset(): void {
    if (this.nClasses > 0) this.setClasses(this.nClasses);
    this.topNCorrect = 0;
    this.topNTotal = 0;
  }

  // ---- counts ----------------------------------------------------------------------------------

  numClasses(): number {
    return this.nClasses;
  }

  /** Examples counted so far (DL4J's getNumRowCounter). */
  numRowCounter(): number {
    let s = 0;
    for (const row of this.confusion) for (const v of row) s += v;
    return s;
  }

  /** confusion[actual][predicted]: a copy. */
  confusionMatrix(): number[][] {
    return this.confusion.map((row) => [...row]);
  }

  /** Examples of `actual` predicted as `predicted`. */
  confusionCount(actual: number, predicted: number): number {
    this.checkClass('confusionCount', actual);
    this.checkClass('confusionCount', predicted);
    return this.confusion[actual]![predicted]!;
  }

  /** Examples whose label is the class. */
  classCount(classLabel: number): number {
    this.checkClass('classCount', classLabel);
    return this.confusion[classLabel]!.reduce((s, v) => s + v, 0);
  }

  truePositives(classLabel: number): number {
    this.checkClass('truePositives', classLabel);
    return this.confusion[classLabel]![classLabel]!;
  }

  falsePositives(classLabel: number): number {
    this.checkClass('falsePositives', classLabel);
    let s = 0;
    for (let i = 0; i < this.nClasses; i++) if (i !== classLabel) s += this.confusion[i]![classLabel]!;
    return s;
  }

  falseNegatives(classLabel: number): number {
    return this.classCount(classLabel) - this.truePositives(classLabel);
  }

  trueNegatives(classLabel: number): number {
    return this.numRowCounter() - this.truePositives(classLabel) - this.falsePositives(classLabel) - this.falseNegatives(classLabel);
  }

  getTopNCorrectCount(): number {
    return this.topN > 1 ? this.topNCorrect : this.correct();
  }

  getTopNTotalCount(): number {
    return this.topN > 1 ? this.topNTotal : this.numRowCounter();
  }

  private correct(): number {
    let s = 0;
    for (let i = 0; i < this.nClasses; i++) s += this.confusion[i]![i]!;
    return s;
  }

  private checkClass(op: string, c: number): void {
    if (!Number.isInteger(c) || c < 0 || c >= this.nClasses) throw new Error(`Evaluation.${op}: class ${c} is not in [0, ${this.nClasses})`);
  }

  private sums(): { tp: number; fp: number; fn: number; tn: number } {
    const s = { tp: 0, fp: 0, fn: 0, tn: 0 };
    for (let i = 0; i < this.nClasses; i++) {
      s.tp += this.truePositives(i);
      s.fp += this.falsePositives(i);
      s.fn += this.falseNegatives(i);
      s.tn += this.trueNegatives(i);
    }
    return s;
  }

  /** The binary positive class when the two-class rule applies, else null. */
  private binaryClass(): number | null {
    return this.nClasses === 2 && this.binaryPositiveClass !== null ? this.binaryPositiveClass : null;
  }

  /** Mean of the defined per-class values (DL4J's macro average skips classes marked undefined). */
  private macro(perClass: (c: number) => number): number {
    let s = 0;
    let n = 0;
    for (let c = 0; c < this.nClasses; c++) {
      const v = perClass(c);
      if (v !== UNDEFINED) {
        s += v;
        n++;
      }
    }
    return s / n;
  }

  // ---- metrics ---------------------------------------------------------------------------------

  accuracy(): number {
    const n = this.numRowCounter();
    return n === 0 ? 0 : this.correct() / n;
  }

  /** Fraction of examples whose true class is among the topN most probable (accuracy() when topN is 1). */
  topNAccuracy(): number {
    if (this.topN <= 1) return this.accuracy();
    return this.topNTotal === 0 ? 0 : this.topNCorrect / this.topNTotal;
  }

  /**
   * precision(): the positive class for two classes, else the macro average; precision(c): one
   * class (`edge` when it was never predicted); precision('Micro' | 'Macro').
   */
  precision(arg?: number | EvaluationAveraging, edge = EDGE): number {
    if (typeof arg === 'number') return ratio(this.truePositives(arg), this.truePositives(arg) + this.falsePositives(arg), edge);
    if (arg === undefined && this.binaryClass() !== null) return this.precision(this.binaryClass()!);
    if (this.numRowCounter() === 0) return 0;
    if (arg === 'Micro') {
      const s = this.sums();
      return ratio(s.tp, s.tp + s.fp, EDGE);
    }
    return this.macro((c) => this.precision(c, UNDEFINED));
  }

  /** As precision(), for recall: tp / (tp + fn); a class absent from the labels is left out of the macro average. */
  recall(arg?: number | EvaluationAveraging, edge = EDGE): number {
    if (typeof arg === 'number') return ratio(this.truePositives(arg), this.truePositives(arg) + this.falseNegatives(arg), edge);
    if (arg === undefined && this.binaryClass() !== null) return this.recall(this.binaryClass()!);
    if (this.numRowCounter() === 0) return 0;
    if (arg === 'Micro') {
      const s = this.sums();
      return ratio(s.tp, s.tp + s.fn, EDGE);
    }
    return this.macro((c) => this.recall(c, UNDEFINED));
  }

  /** F-beta: per class (`edge` when precision or recall is undefined), binary positive class, or averaged. */
  fBeta(beta: number, arg?: number | EvaluationAveraging, edge = EDGE): number {
    if (typeof arg === 'number') {
      const p = this.precision(arg, UNDEFINED);
      const r = this.recall(arg, UNDEFINED);
      return p === UNDEFINED || r === UNDEFINED ? edge : fBetaOf(beta, p, r);
    }
    if (arg === undefined && this.binaryClass() !== null) return this.fBeta(beta, this.binaryClass()!);
    if (this.numRowCounter() === 0) return NaN;
    if (arg === 'Micro') {
      const s = this.sums();
      return fBetaOf(beta, ratio(s.tp, s.tp + s.fp, EDGE), ratio(s.tp, s.tp + s.fn, EDGE));
    }
    return this.macro((c) => this.fBeta(beta, c, UNDEFINED));
  }

  f1(arg?: number | EvaluationAveraging): number {
    return this.fBeta(1, arg);
  }

  /** G-measure sqrt(precision · recall): per class, or averaged (macro: mean over all classes). */
  gMeasure(arg: number | EvaluationAveraging = 'Macro'): number {
    if (typeof arg === 'number') return Math.sqrt(this.precision(arg) * this.recall(arg));
    if (arg === 'Micro') return Math.sqrt(this.precision('Micro') * this.recall('Micro'));
    let s = 0;
    for (let c = 0; c < this.nClasses; c++) s += this.gMeasure(c);
    return s / this.nClasses;
  }

  /** fp / (fp + tn): per class (`edge` when undefined), binary positive class, or averaged over all classes. */
  falsePositiveRate(arg?: number | EvaluationAveraging, edge = EDGE): number {
    if (typeof arg === 'number') return ratio(this.falsePositives(arg), this.falsePositives(arg) + this.trueNegatives(arg), edge);
    if (arg === undefined && this.binaryClass() !== null) return this.falsePositiveRate(this.binaryClass()!);
    if (arg === 'Micro') {
      const s = this.sums();
      return ratio(s.fp, s.fp + s.tn, EDGE);
    }
    let s = 0;
    for (let c = 0; c < this.nClasses; c++) s += this.falsePositiveRate(c);
    return s / this.nClasses;
  }

  /**
   * fn / (fn + tp): per class, binary positive class, or averaged over all classes. (Micro uses the
   * summed fn and tp; DL4J's micro variant divides by fn + tn, which is not a false negative rate.)
   */
  falseNegativeRate(arg?: number | EvaluationAveraging, edge = EDGE): number {
    if (typeof arg === 'number') return ratio(this.falseNegatives(arg), this.falseNegatives(arg) + this.truePositives(arg), edge);
    if (arg === undefined && this.binaryClass() !== null) return this.falseNegativeRate(this.binaryClass()!);
    if (arg === 'Micro') {
      const s = this.sums();
      return ratio(s.fn, s.fn + s.tp, EDGE);
    }
    let s = 0;
    for (let c = 0; c < this.nClasses; c++) s += this.falseNegativeRate(c);
    return s / this.nClasses;
  }

  /** (false positive rate + false negative rate) / 2. */
  falseAlarmRate(): number {
    return (this.falsePositiveRate() + this.falseNegativeRate()) / 2;
  }

  /** Matthews correlation: per class (one vs all), or averaged (macro: mean over classes; micro: from summed counts). */
  matthewsCorrelation(arg: number | EvaluationAveraging = 'Macro'): number {
    if (typeof arg === 'number') return mccOf(this.truePositives(arg), this.falsePositives(arg), this.falseNegatives(arg), this.trueNegatives(arg));
    if (arg === 'Micro') {
      const s = this.sums();
      return mccOf(s.tp, s.fp, s.fn, s.tn);
    }
    let s = 0;
    for (let c = 0; c < this.nClasses; c++) s += this.matthewsCorrelation(c);
    return s / this.nClasses;
  }

  /** One metric by name, with the same defaults as its method (GMEASURE and MCC macro-averaged). */
  scoreForMetric(metric: EvaluationMetric): number {
    switch (metric) {
      case 'ACCURACY': return this.accuracy();
      case 'F1': return this.f1();
      case 'PRECISION': return this.precision();
      case 'RECALL': return this.recall();
      case 'GMEASURE': return this.gMeasure('Macro');
      case 'MCC': return this.matthewsCorrelation('Macro');
      default: throw new Error(`Evaluation.scoreForMetric: unknown metric ${String(metric)}; expected ACCURACY, F1, PRECISION, RECALL, GMEASURE or MCC`);
    }
  }

  // ---- text ------------------------------------------------------------------------------------

  /** Name of a class: the given label, else its index. */
  className(c: number): string {
    return this.labelNames?.[c] ?? String(c);
  }

  /**
   * The confusion matrix as DL4J's stats() prints it: predicted classes across, actual classes down,
   * each cell one wider than the widest count, the divider one longer than the header.
   */
  confusionToString(): string {
    const n = this.nClasses;
    let digits = String(Math.max(0, n - 1)).length;
    for (const row of this.confusion) for (const v of row) digits = Math.max(digits, String(v).length);
    const cell = (v: number): string => String(v).padStart(digits + 1);
    let header = '';
    for (let c = 0; c < n; c++) header += cell(c);
    const lines = [header, '-'.repeat((digits + 1) * n + 1)];
    for (let a = 0; a < n; a++) lines.push(`${this.confusion[a]!.map(cell).join('')} | ${a} = ${this.className(a)}`);
    lines.push('', 'Confusion matrix format: Actual (rowClass) predicted as (columnClass) N times');
    return lines.join('\n');
  }

  /** Text laid out like DL4J's Evaluation.stats(): metrics, averaging note, warnings, confusion matrix. */
  stats(suppressWarnings = false, includeConfusion = true): string {
    const n = this.nClasses;
    const f4 = (v: number): string => v.toFixed(4);
    const out: string[] = ['', '========================Evaluation Metrics========================'];
    out.push(` # of classes:    ${n}`);
    out.push(` Accuracy:        ${f4(this.accuracy())}`);
    if (this.topN > 1) out.push(` Top ${this.topN} Accuracy:  ${f4(this.topNAccuracy())}`);
    out.push(` Precision:       ${f4(this.precision())}`);
    out.push(` Recall:          ${f4(this.recall())}`);
    out.push(` F1 Score:        ${f4(this.f1())}`);
    const bin = this.binaryClass();
    if (bin !== null) {
      out.push(`Precision, recall & F1: reported for positive class (class ${bin} - "${this.className(bin)}") only`);
    } else {
      out.push(`Precision, recall & F1: macro-averaged (equally weighted avg. of ${n} classes)`);
      if (!suppressWarnings) {
        const neverPredicted: number[] = [];
        const neverLabelled: number[] = [];
        for (let c = 0; c < n; c++) {
          if (this.precision(c, UNDEFINED) === UNDEFINED) neverPredicted.push(c);
          if (this.recall(c, UNDEFINED) === UNDEFINED) neverLabelled.push(c);
        }
        const warn = (list: number[], what: string, metric: string): void => {
          if (list.length === 0) return;
          const one = list.length === 1;
          out.push(`\nWarning: ${list.length} class${one ? ' was' : 'es were'} never ${what} and ${one ? 'was' : 'were'} excluded from average ${metric}`);
          out.push(`Classes excluded from average ${metric}: [${list.join(', ')}]`);
        };
        warn(neverPredicted, 'predicted by the model', 'precision');
        warn(neverLabelled, 'present in the labels', 'recall');
      }
    }
    if (includeConfusion) {
      out.push('', '', '=========================Confusion Matrix=========================');
      out.push(n > CONFUSION_PRINT_MAX_CLASSES ? `Confusion matrix not printed: ${n} classes (more than ${CONFUSION_PRINT_MAX_CLASSES})` : this.confusionToString());
    }
    out.push('==================================================================');
    return out.join('\n');
  }

  toString(): string {
    return this.stats();
  }
}
