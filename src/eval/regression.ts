/**
 * RegressionEvaluation (DL4J's org.nd4j.evaluation.regression.RegressionEvaluation): per-column
 * error metrics accumulated over batches. Means and (co)variances are kept as Welford/Chan running
 * moments rather than raw sums of squares, so labels far from zero (say 1e8 ± 1) keep their precision
 * and evaluations of different batches or workers merge exactly.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { formatExp, readBatch } from './input.js';

export interface RegressionEvaluationOptions {
  /** Number of output columns; by default taken from the first batch. */
  columns?: number;
  /** Column names for stats() (default col_0, col_1, ...); also fixes the number of columns. */
  columnNames?: readonly string[];
  /** Significant digits after the point in stats() (default 5, as DL4J). */
  precision?: number;
}

/** DL4J's RegressionEvaluation.Metric: scoreForMetric() averages it over the columns. */
export type RegressionMetric = 'MSE' | 'MAE' | 'RMSE' | 'RSE' | 'PC' | 'R2';

/** Running moments of one column: means, squared deviations (M2) and co-deviation of labels and predictions. */
interface ColumnSums {
  n: number;
  meanLabel: number;
  meanPred: number;
  m2Label: number;
  m2Pred: number;
  coLabelPred: number;
  sumAbsErr: number;
  sumSqErr: number;
}

const emptySums = (): ColumnSums => ({ n: 0, meanLabel: 0, meanPred: 0, m2Label: 0, m2Pred: 0, coLabelPred: 0, sumAbsErr: 0, sumSqErr: 0 });

/** Welford's update with one (label, prediction) pair. */
function addValue(s: ColumnSums, y: number, p: number): void {
  s.n++;
  const dy = y - s.meanLabel;
  const dp = p - s.meanPred;
  s.meanLabel += dy / s.n;
  s.meanPred += dp / s.n;
  s.m2Label += dy * (y - s.meanLabel);
  s.m2Pred += dp * (p - s.meanPred);
  s.coLabelPred += dy * (p - s.meanPred);
  const e = p - y;
  s.sumAbsErr += Math.abs(e);
  s.sumSqErr += e * e;
}

/** Chan et al.'s combination of two sets of moments into `a`. */
function combine(a: ColumnSums, b: ColumnSums): void {
  if (b.n === 0) return;
  const n = a.n + b.n;
  const dy = b.meanLabel - a.meanLabel;
  const dp = b.meanPred - a.meanPred;
  const w = (a.n * b.n) / n;
  a.m2Label += b.m2Label + dy * dy * w;
  a.m2Pred += b.m2Pred + dp * dp * w;
  a.coLabelPred += b.coLabelPred + dy * dp * w;
  a.meanLabel += (dy * b.n) / n;
  a.meanPred += (dp * b.n) / n;
  a.n = n;
  a.sumAbsErr += b.sumAbsErr;
  a.sumSqErr += b.sumSqErr;
}

export class RegressionEvaluation {
  private cols: ColumnSums[] = [];
  private names: readonly string[] | null;
  readonly precision: number;

  constructor(options: RegressionEvaluationOptions | number = {}) {
    const o: RegressionEvaluationOptions = typeof options === 'number' ? { columns: options } : options;
    if (o.columnNames && o.columns !== undefined && o.columnNames.length !== o.columns) {
      throw new Error(`RegressionEvaluation: ${o.columnNames.length} column names given for ${o.columns} columns`);
    }
    const n = o.columnNames?.length ?? o.columns ?? 0;
    if (!Number.isInteger(n) || n < 0) throw new Error(`RegressionEvaluation: columns must be a non-negative integer, got ${n}`);
    this.names = o.columnNames ? [...o.columnNames] : null;
    this.precision = o.precision ?? 5;
    this.cols = Array.from({ length: n }, emptySums);
  }

  /**
   * Adds a batch: labels and predictions [N, C] (or [N] / [N, C, T]); mask per example ([N], [N, 1],
   * [N, T]) or per output ([N, C]).
   */
  eval(labels: NDArray, predictions: NDArray, mask?: NDArray): void {
    const b = readBatch('RegressionEvaluation.eval', labels, predictions, mask, true);
    const { rows, cols } = b.labels;
    if (this.cols.length === 0) this.cols = Array.from({ length: cols }, emptySums);
    if (cols !== this.cols.length) throw new Error(`RegressionEvaluation.eval: this evaluation has ${this.cols.length} columns, the batch has ${cols}`);
    for (let r = 0; r < rows; r++) {
      if (b.rowMask && b.rowMask[r] === 0) continue;
      for (let c = 0; c < cols; c++) {
        const i = r * cols + c;
        if (b.outputMask && b.outputMask[i] === 0) continue;
        addValue(this.cols[c]!, b.labels.values[i]!, b.predictions.values[i]!);
      }
    }
  }

  merge(other: RegressionEvaluation): void {
    if (other.cols.length === 0) return;
    if (this.cols.length === 0) this.cols = Array.from({ length: other.cols.length }, emptySums);
    if (other.cols.length !== this.cols.length) throw new Error(`RegressionEvaluation.merge: cannot merge ${other.cols.length} columns into ${this.cols.length}`);
    this.cols.forEach((a, c) => combine(a, other.cols[c]!));
  }

  reset(): void {
    this.cols = this.cols.map(emptySums);
  }

  numColumns(): number {
    return this.cols.length;
  }

  columnName(c: number): string {
    return this.names?.[c] ?? `col_${c}`;
  }

  private col(op: string, c: number): ColumnSums {
    const s = this.cols[c];
    if (!Number.isInteger(c) || !s) throw new Error(`RegressionEvaluation.${op}: column ${c} is not in [0, ${this.cols.length})`);
    return s;
  }

  /** Values counted in a column (after masking). */
  exampleCount(column: number): number {
    return this.col('exampleCount', column).n;
  }

  meanSquaredError(column: number): number {
    const s = this.col('meanSquaredError', column);
    return s.sumSqErr / s.n;
  }

  meanAbsoluteError(column: number): number {
    const s = this.col('meanAbsoluteError', column);
    return s.sumAbsErr / s.n;
  }

  rootMeanSquaredError(column: number): number {
    return Math.sqrt(this.meanSquaredError(column));
  }

  /** Relative squared error: squared error over the labels' squared deviation from their mean. */
  relativeSquaredError(column: number): number {
    const s = this.col('relativeSquaredError', column);
    return s.sumSqErr / s.m2Label;
  }

  /** Coefficient of determination 1 − SSE / SST. */
  rSquared(column: number): number {
    return 1 - this.relativeSquaredError(column);
  }

  /** Pearson correlation between labels and predictions. */
  pearsonCorrelation(column: number): number {
    const s = this.col('pearsonCorrelation', column);
    return s.coLabelPred / Math.sqrt(s.m2Label * s.m2Pred);
  }

  private average(metric: (c: number) => number): number {
    let s = 0;
    for (let c = 0; c < this.cols.length; c++) s += metric(c);
    return s / this.cols.length;
  }

  averageMeanSquaredError(): number {
    return this.average((c) => this.meanSquaredError(c));
  }

  averageMeanAbsoluteError(): number {
    return this.average((c) => this.meanAbsoluteError(c));
  }

  averageRootMeanSquaredError(): number {
    return this.average((c) => this.rootMeanSquaredError(c));
  }

  averageRelativeSquaredError(): number {
    return this.average((c) => this.relativeSquaredError(c));
  }

  averagePearsonCorrelation(): number {
    return this.average((c) => this.pearsonCorrelation(c));
  }

  averageRSquared(): number {
    return this.average((c) => this.rSquared(c));
  }

  /** One metric averaged over the columns, by DL4J's name. */
  scoreForMetric(metric: RegressionMetric): number {
    switch (metric) {
      case 'MSE': return this.averageMeanSquaredError();
      case 'MAE': return this.averageMeanAbsoluteError();
      case 'RMSE': return this.averageRootMeanSquaredError();
      case 'RSE': return this.averageRelativeSquaredError();
      case 'PC': return this.averagePearsonCorrelation();
      case 'R2': return this.averageRSquared();
      default: throw new Error(`RegressionEvaluation.scoreForMetric: unknown metric ${String(metric)}; expected MSE, MAE, RMSE, RSE, PC or R2`);
    }
  }

  /** A table like DL4J's RegressionEvaluation.stats(): one row per column, values as %.Ne. */
  stats(): string {
    const headers = ['MSE', 'MAE', 'RMSE', 'RSE', 'PC', 'R^2'];
    const metrics: ((c: number) => number)[] = [
      (c) => this.meanSquaredError(c), (c) => this.meanAbsoluteError(c), (c) => this.rootMeanSquaredError(c),
      (c) => this.relativeSquaredError(c), (c) => this.pearsonCorrelation(c), (c) => this.rSquared(c),
    ];
    let nameWidth = 'Column'.length;
    for (let c = 0; c < this.cols.length; c++) nameWidth = Math.max(nameWidth, this.columnName(c).length);
    nameWidth += 4;
    const valueWidth = this.precision + 10;
    const lines = ['Column'.padEnd(nameWidth) + headers.map((h) => h.padEnd(valueWidth)).join('')];
    for (let c = 0; c < this.cols.length; c++) {
      lines.push(this.columnName(c).padEnd(nameWidth) + metrics.map((m) => formatExp(m(c), this.precision).padEnd(valueWidth)).join(''));
    }
    return lines.join('\n');
  }

  toString(): string {
    return this.stats();
  }
}
