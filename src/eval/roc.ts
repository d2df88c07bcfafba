/**
 * ROC evaluations in DL4J's exact mode: ROC (one binary output), ROCMultiClass (one-vs-all per
 * class of a softmax output) and ROCBinary (independent sigmoid outputs, per-output masks).
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { formatShape } from '../ndarray/shape.js';
import { readBatch, type EvalBatch } from './input.js';
import { BinaryScores, type PrecisionRecallCurve, type RocCurve } from './roc-curve.js';

export type { RocCurve, PrecisionRecallCurve } from './roc-curve.js';

function checkLabel(op: string, v: number, r: number): boolean {
  if (v !== 0 && v !== 1) throw new Error(`${op}: labels must be 0 or 1, got ${v} at row ${r}`);
  return v === 1;
}

/** Binary ROC: labels and predictions [N] / [N, 1] (probability of the positive class) or [N, 2] (column 1 positive). */
export class ROC {
  private data = new BinaryScores();

  eval(labels: NDArray, predictions: NDArray, mask?: NDArray): void {
    const op = 'ROC.eval';
    const b = readBatch(op, labels, predictions, mask, false);
    const cols = b.labels.cols;
    if (cols !== 1 && cols !== 2) throw new Error(`${op}: expected labels [N], [N, 1] or [N, 2], got ${labels.dtype}${formatShape(labels.shape)}; use ROCMultiClass or ROCBinary for more columns`);
    const col = cols - 1; // the positive class column
    for (let r = 0; r < b.labels.rows; r++) {
      if (b.rowMask && b.rowMask[r] === 0) continue;
      this.data.add(b.predictions.values[r * cols + col]!, checkLabel(op, b.labels.values[r * cols + col]!, r));
    }
  }

  merge(other: ROC): void {
    this.data.merge(other.data);
  }

  reset(): void {
    this.data = new BinaryScores();
  }

  /** Exact area under the ROC curve. */
  calculateAUC(): number {
    return this.data.auc();
  }

  /** Area under the precision-recall curve. */
  calculateAUCPR(): number {
    return this.data.auprc();
  }

  getRocCurve(): RocCurve {
    return this.data.rocCurve();
  }

  getPrecisionRecallCurve(): PrecisionRecallCurve {
    return this.data.precisionRecallCurve();
  }

  getCountActualPositive(): number {
    return this.data.countPositive;
  }

  getCountActualNegative(): number {
    return this.data.countNegative;
  }

  stats(): string {
    return [
      `AUC (Area under ROC Curve):                ${this.calculateAUC()}`,
      `AUPRC (Area under Precision/Recall Curve): ${this.calculateAUCPR()}`,
      '(exact calculation: every distinct prediction is a threshold)',
    ].join('\n');
  }

  toString(): string {
    return this.stats();
  }
}

/** Per-column binary ROC over C outputs; subclasses decide which rows/outputs count. */
abstract class PerColumnROC {
  protected columns: BinaryScores[] = [];
  protected abstract readonly name: string;

  protected add(op: string, b: EvalBatch): void {
    const { rows, cols } = b.labels;
    if (this.columns.length === 0) this.columns = Array.from({ length: cols }, () => new BinaryScores());
    if (cols !== this.columns.length) throw new Error(`${op}: this evaluation has ${this.columns.length} columns, the batch has ${cols}`);
    for (let r = 0; r < rows; r++) {
      if (b.rowMask && b.rowMask[r] === 0) continue;
      for (let c = 0; c < cols; c++) {
        const i = r * cols + c;
        if (b.outputMask && b.outputMask[i] === 0) continue;
        this.columns[c]!.add(b.predictions.values[i]!, checkLabel(op, b.labels.values[i]!, r));
      }
    }
  }

  protected mergeColumns(other: PerColumnROC): void {
    if (other.columns.length === 0) return;
    if (this.columns.length === 0) this.columns = Array.from({ length: other.columns.length }, () => new BinaryScores());
    if (other.columns.length !== this.columns.length) throw new Error(`${this.name}.merge: cannot merge ${other.columns.length} columns into ${this.columns.length}`);
    this.columns.forEach((c, i) => c.merge(other.columns[i]!));
  }

  reset(): void {
    this.columns = this.columns.map(() => new BinaryScores());
  }

  protected column(op: string, c: number): BinaryScores {
    const s = this.columns[c];
    if (!Number.isInteger(c) || !s) throw new Error(`${this.name}.${op}: class ${c} is not in [0, ${this.columns.length})`);
    return s;
  }

  numColumns(): number {
    return this.columns.length;
  }

  /** Exact AUC of one class (one vs all) or output. */
  calculateAUC(c: number): number {
    return this.column('calculateAUC', c).auc();
  }

  calculateAUCPR(c: number): number {
    return this.column('calculateAUCPR', c).auprc();
  }

  getRocCurve(c: number): RocCurve {
    return this.column('getRocCurve', c).rocCurve();
  }

  getPrecisionRecallCurve(c: number): PrecisionRecallCurve {
    return this.column('getPrecisionRecallCurve', c).precisionRecallCurve();
  }

  /** Mean AUC over the classes. */
  calculateAverageAUC(): number {
    let s = 0;
    for (let c = 0; c < this.columns.length; c++) s += this.calculateAUC(c);
    return s / this.columns.length;
  }

  calculateAverageAUCPR(): number {
    let s = 0;
    for (let c = 0; c < this.columns.length; c++) s += this.calculateAUCPR(c);
    return s / this.columns.length;
  }

  stats(): string {
    const lines = [`${'Label'.padEnd(8)}${'AUC'.padEnd(24)}${'AUPRC'.padEnd(24)}# Pos, # Neg`];
    for (let c = 0; c < this.columns.length; c++) {
      const s = this.columns[c]!;
      lines.push(`${String(c).padEnd(8)}${s.auc().toFixed(4).padEnd(24)}${s.auprc().toFixed(4).padEnd(24)}${s.countPositive}, ${s.countNegative}`);
    }
    lines.push(`Average AUC: ${this.calculateAverageAUC().toFixed(4)}`, `Average AUPRC: ${this.calculateAverageAUCPR().toFixed(4)}`);
    return lines.join('\n');
  }

  toString(): string {
    return this.stats();
  }
}

/** One-vs-all ROC per class of a softmax output: one-hot labels [N, C], probabilities [N, C]; per-example mask. */
export class ROCMultiClass extends PerColumnROC {
  protected readonly name = 'ROCMultiClass';

  eval(labels: NDArray, predictions: NDArray, mask?: NDArray): void {
    const op = 'ROCMultiClass.eval';
    const b = readBatch(op, labels, predictions, mask, false);
    if (b.labels.cols < 2) throw new Error(`${op}: expected one-hot labels [N, C] with C >= 2, got ${labels.dtype}${formatShape(labels.shape)}; use ROC for one binary output`);
    this.add(op, b);
  }

  merge(other: ROCMultiClass): void {
    this.mergeColumns(other);
  }
}

/** Independent binary ROC per output (multi-label sigmoid outputs): labels and predictions [N, C]; per-example or per-output mask. */
export class ROCBinary extends PerColumnROC {
  protected readonly name = 'ROCBinary';

  eval(labels: NDArray, predictions: NDArray, mask?: NDArray): void {
    this.add('ROCBinary.eval', readBatch('ROCBinary.eval', labels, predictions, mask, true));
  }

  merge(other: ROCBinary): void {
    this.mergeColumns(other);
  }
}
