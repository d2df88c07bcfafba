/**
 * DL4J's PerformanceListener and a console progress bar. Both time the training loop from the
 * listener callbacks; the ETL (data loading) time is only measurable when the iterator is wrapped
 * with `track()`, which times each next() and counts the examples it returns.
 */
import type { DataSet } from '../data/dataset.js';
import { iterateDataSets, type DataSetIterator, type DataSetPreProcessor } from '../data/iterator.js';
import type { TrainableModel, TrainingListener } from './listeners.js';

/** What `track()` has seen since the last report: examples returned and milliseconds spent in next(). */
class IteratorMeter {
  examples = 0;
  etlMs = 0;
  batches = 0;
}

/** A DataSetIterator that forwards to another and records ETL time and example counts. */
class TrackedIterator implements DataSetIterator {
  constructor(private readonly inner: DataSetIterator, private readonly meter: IteratorMeter) {}
  get resetSupported(): boolean { return this.inner.resetSupported; }
  get asyncSupported(): boolean { return this.inner.asyncSupported; }
  get batch(): number { return this.inner.batch; }
  get inputColumns(): number { return this.inner.inputColumns; }
  get totalOutcomes(): number { return this.inner.totalOutcomes; }
  get preProcessor(): DataSetPreProcessor | null { return this.inner.preProcessor; }
  set preProcessor(p: DataSetPreProcessor | null) { this.inner.preProcessor = p; }
  hasNext(): boolean { return this.inner.hasNext(); }
  reset(): void { this.inner.reset(); }
  next(): DataSet {
    const t0 = performance.now();
    const ds = this.inner.next();
    this.meter.etlMs += performance.now() - t0;
    this.meter.examples += ds.features.shape[0] ?? 0;
    this.meter.batches++;
    return ds;
  }
  [Symbol.iterator](): Iterator<DataSet> { return iterateDataSets(this); }
}

/** One PerformanceListener report (also passed to a custom `log`). */
export interface PerformanceReport {
  iteration: number;
  epoch: number;
  /** Minibatches per second over the reporting window. */
  batchesPerSecond: number;
  /** Examples per second; NaN when neither track() nor `batchSize` tells the example count. */
  samplesPerSecond: number;
  /** Mean milliseconds per minibatch spent in the iterator's next(); NaN without track(). */
  etlMs: number;
  /** The score of the last step, when `reportScore` is on. */
  score?: number;
}

export interface PerformanceListenerOptions {
  /** Report every this-many iterations (default 10). */
  frequency?: number;
  /** Also read and report the score (one number copied back per report; default true). */
  reportScore?: boolean;
  /** Examples per minibatch, used for samples/s when the iterator is not tracked. */
  batchSize?: number;
  /** Where reports go; default console.log of a formatted line. */
  log?: (line: string, report: PerformanceReport) => void;
}

/** Throughput of training (DL4J's PerformanceListener): batches/s, samples/s, ETL time. */
export class PerformanceListener implements TrainingListener {
  readonly frequency: number;
  private readonly reportScore: boolean;
  private readonly batchSize: number | undefined;
  private readonly log: (line: string, report: PerformanceReport) => void;
  private readonly meter = new IteratorMeter();
  private tracked = false;
  private windowStart = -1;
  private windowBatches = 0;

  constructor(options: PerformanceListenerOptions = {}) {
    const frequency = options.frequency ?? 10;
    if (!Number.isInteger(frequency) || frequency < 1) throw new Error(`PerformanceListener: frequency must be a positive integer, got ${frequency}`);
    if (options.batchSize !== undefined && !(Number.isInteger(options.batchSize) && options.batchSize > 0)) {
      throw new Error(`PerformanceListener: batchSize must be a positive integer, got ${options.batchSize}`);
    }
    this.frequency = frequency;
    this.reportScore = options.reportScore ?? true;
    this.batchSize = options.batchSize;
    this.log = options.log ?? ((line) => console.log(line));
  }

  /** Wraps the training iterator so reports include ETL time and exact samples/s; pass the result to fit(). */
  track(iterator: DataSetIterator): DataSetIterator {
    this.tracked = true;
    return new TrackedIterator(iterator, this.meter);
  }

  onEpochStart(): void {
    // Time between epochs (evaluation, saving) is not training time: restart the window.
    this.restart();
  }

  iterationDone(model: TrainableModel, iteration: number, epoch: number): void {
    if (this.windowStart < 0) {
      // The first call only learns when the loop started; count it from the tracked iterator's view.
      this.restart();
      return;
    }
    this.windowBatches++;
    if (this.windowBatches < this.frequency) return;
    const seconds = (performance.now() - this.windowStart) / 1000;
    const examples = this.tracked ? this.meter.examples : this.batchSize !== undefined ? this.batchSize * this.windowBatches : NaN;
    const report: PerformanceReport = {
      iteration,
      epoch,
      batchesPerSecond: this.windowBatches / seconds,
      samplesPerSecond: examples / seconds,
      etlMs: this.tracked && this.meter.batches > 0 ? this.meter.etlMs / this.meter.batches : NaN,
    };
    if (this.reportScore) report.score = model.score();
    const parts = [`iteration ${iteration}`, `epoch ${epoch}`, `${report.batchesPerSecond.toFixed(2)} batches/s`];
    if (!Number.isNaN(report.samplesPerSecond)) parts.push(`${report.samplesPerSecond.toFixed(1)} samples/s`);
    if (!Number.isNaN(report.etlMs)) parts.push(`ETL ${report.etlMs.toFixed(2)} ms/batch`);
    if (report.score !== undefined) parts.push(`score ${report.score.toFixed(5)}`);
    this.log(parts.join('; '), report);
    this.restart();
  }

  /** Starts a new window at now; examples already fetched for the next step are not counted in it. */
  private restart(): void {
    this.windowStart = performance.now();
    this.windowBatches = 0;
    this.meter.examples = 0;
    this.meter.etlMs = 0;
    this.meter.batches = 0;
  }
}

/** Where a ProgressBarListener draws: a TTY-like stream (process.stdout by default). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

export interface ProgressBarOptions {
  /** Minibatches per epoch (for the bar's length and the ETA). */
  total: number;
  /** Stream to draw on; default process.stdout. Nothing is drawn unless `stream.isTTY` is true. */
  stream?: ProgressStream;
  /** Redraw at most every this-many milliseconds (default 100). */
  minIntervalMs?: number;
  /** Show the last score (reads one number per redraw; default true). */
  showScore?: boolean;
}

/** A one-line console progress bar per epoch, drawn only when the stream is a TTY (no log noise in CI). */
export class ProgressBarListener implements TrainingListener {
  readonly total: number;
  private readonly stream: ProgressStream;
  private readonly minIntervalMs: number;
  private readonly showScore: boolean;
  private done = 0;
  private epochStart = 0;
  private lastDraw = -Infinity;

  constructor(options: ProgressBarOptions) {
    if (!Number.isInteger(options.total) || options.total < 1) throw new Error(`ProgressBarListener: total must be a positive integer, got ${options.total}`);
    this.total = options.total;
    this.stream = options.stream ?? process.stdout;
    this.minIntervalMs = options.minIntervalMs ?? 100;
    this.showScore = options.showScore ?? true;
  }

  /** Whether anything is drawn: only on a TTY. */
  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  onEpochStart(): void {
    this.done = 0;
    this.epochStart = performance.now();
    this.lastDraw = -Infinity;
  }

  iterationDone(model: TrainableModel, _iteration: number, epoch: number): void {
    this.done++;
    if (!this.enabled) return;
    const now = performance.now();
    if (this.done < this.total && now - this.lastDraw < this.minIntervalMs) return;
    this.lastDraw = now;
    this.stream.write(`\r${this.render(epoch, now, this.showScore ? model.score() : undefined)}`);
  }

  onEpochEnd(): void {
    if (this.enabled) this.stream.write('\n');
  }

  /** The bar text: "epoch E [=====>    ] done/total  ETA s  score S", fitted to the stream's width. */
  render(epoch: number, now: number, score?: number): string {
    const frac = Math.min(1, this.done / this.total);
    const elapsed = (now - this.epochStart) / 1000;
    const eta = this.done > 0 ? (elapsed / this.done) * Math.max(0, this.total - this.done) : NaN;
    const tail = ` ${this.done}/${this.total} ${Number.isNaN(eta) ? '' : `ETA ${eta.toFixed(1)}s`}${score === undefined ? '' : ` score ${score.toFixed(4)}`}`;
    const head = `epoch ${epoch} `;
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - head.length - tail.length - 2));
    const filled = Math.round(frac * width);
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? (frac >= 1 ? '=' : '>') : '') + ' '.repeat(width - filled);
    return `${head}[${bar}]${tail}`;
  }
}
