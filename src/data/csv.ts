import { readFileSync } from 'node:fs';
import { defaultFloatType } from '../ndarray/dtype.js';
import { array } from '../ops/create.js';
import { DataSet } from './dataset.js';
import { applyPreProcessor, iterateDataSets, type DataSetIterator, type DataSetPreProcessor } from './iterator.js';

/**
 * Options of CSVRecordReaderDataSetIterator: DL4J's CSVRecordReader(skipLines, delimiter) plus
 * RecordReaderDataSetIterator(reader, batch, labelIndex, numClasses) for classification, or
 * (reader, batch, labelIndex, labelIndexTo, regression = true) for regression.
 */
export interface CSVIteratorOptions {
  /** The CSV file. */
  path: string;
  batch: number;
  /** Field separator; default ','. */
  delimiter?: string;
  /** Lines to skip at the start (headers); default 0. */
  skipLines?: number;
  /** Column of the label (classification), or the first label column (regression). */
  labelIndex: number;
  /** Classification: the class count; labels must be integers in [0, numClasses) and become one-hot. */
  numClasses?: number;
  /** Regression: the last label column (inclusive); default labelIndex. */
  labelIndexTo?: number;
  /** Regression: labels are the raw values of columns labelIndex..labelIndexTo. */
  regression?: boolean;
}

interface Parsed {
  features: Float64Array;
  labels: Float64Array;
  rows: number;
  numFeatures: number;
  numLabels: number;
}

function parseFile(o: CSVIteratorOptions): Parsed {
  const where = 'CSVRecordReaderDataSetIterator';
  const delimiter = o.delimiter ?? ',';
  if (delimiter.length === 0) throw new Error(`${where}: the delimiter must not be empty`);
  const skip = o.skipLines ?? 0;
  if (!Number.isInteger(skip) || skip < 0) throw new Error(`${where}: skipLines must be a non-negative integer, got ${skip}`);
  const regression = o.regression ?? false;
  if (!regression && (o.numClasses === undefined || !Number.isInteger(o.numClasses) || o.numClasses < 2)) {
    throw new Error(`${where}: classification needs numClasses (an integer >= 2), got ${String(o.numClasses)}; set regression: true for real-valued labels`);
  }
  const from = o.labelIndex;
  const to = regression ? (o.labelIndexTo ?? from) : from;
  if (!Number.isInteger(from) || from < 0 || !Number.isInteger(to) || to < from) {
    throw new Error(`${where}: label columns ${from}..${to} are not a valid range`);
  }
  let text: string;
  try {
    text = readFileSync(o.path, 'utf8');
  } catch (e) {
    throw new Error(`${where}: cannot read '${o.path}': ${(e as Error).message}`);
  }
  const lines = text.split(/\r?\n/);
  const feats: number[] = [];
  const labs: number[] = [];
  let columns = -1;
  let rows = 0;
  const numLabels = regression ? to - from + 1 : o.numClasses!;
  for (let li = skip; li < lines.length; li++) {
    const line = lines[li]!;
    if (line.trim() === '') continue;
    const at = `${o.path}:${li + 1}`;
    const fields = line.split(delimiter);
    if (columns < 0) {
      columns = fields.length;
      if (to >= columns) throw new Error(`${where}: ${at}: label column ${to} is beyond the ${columns} columns of the first record`);
      if (columns - (to - from + 1) < 1) throw new Error(`${where}: ${at}: no feature columns left besides the label columns ${from}..${to}`);
    } else if (fields.length !== columns) {
      throw new Error(`${where}: ${at}: expected ${columns} columns, got ${fields.length}`);
    }
    for (let c = 0; c < columns; c++) {
      const s = fields[c]!.trim();
      const v = Number(s);
      if (s === '' || !Number.isFinite(v)) throw new Error(`${where}: ${at}: column ${c} '${fields[c]}' is not a number`);
      if (c < from || c > to) {
        feats.push(v);
      } else if (regression) {
        labs.push(v);
      } else {
        if (!Number.isInteger(v) || v < 0 || v >= numLabels) throw new Error(`${where}: ${at}: label '${s}' is not a class index in [0, ${numLabels})`);
        for (let k = 0; k < numLabels; k++) labs.push(k === v ? 1 : 0);
      }
    }
    rows++;
  }
  if (rows === 0) throw new Error(`${where}: '${o.path}' has no records after skipping ${skip} lines`);
  return { features: Float64Array.from(feats), labels: Float64Array.from(labs), rows, numFeatures: columns - (to - from + 1), numLabels };
}

/**
 * Minibatches from a numeric CSV file: features are every column but the label columns, in
 * order. The file is read and validated once, at construction, so a bad value surfaces with its
 * file and line before training starts. Fields are split on the delimiter (no quoting).
 */
export class CSVRecordReaderDataSetIterator implements DataSetIterator {
  readonly batch: number;
  readonly resetSupported = true;
  readonly asyncSupported = true;
  preProcessor: DataSetPreProcessor | null = null;
  private readonly data: Parsed;
  private cursor = 0;

  constructor(options: CSVIteratorOptions) {
    if (!Number.isInteger(options.batch) || options.batch < 1) throw new Error(`CSVRecordReaderDataSetIterator: batch must be a positive integer, got ${options.batch}`);
    this.batch = options.batch;
    this.data = parseFile(options);
  }

  get inputColumns(): number {
    return this.data.numFeatures;
  }

  get totalOutcomes(): number {
    return this.data.numLabels;
  }

  get numExamples(): number {
    return this.data.rows;
  }

  hasNext(): boolean {
    return this.cursor < this.data.rows;
  }

  next(): DataSet {
    if (!this.hasNext()) throw new Error(`CSVRecordReaderDataSetIterator.next: no more data (${this.data.rows} records consumed); call reset()`);
    const end = Math.min(this.cursor + this.batch, this.data.rows);
    const { numFeatures: f, numLabels: l } = this.data;
    const dtype = defaultFloatType();
    const features = array(this.data.features.subarray(this.cursor * f, end * f), [end - this.cursor, f], { dtype });
    const labels = array(this.data.labels.subarray(this.cursor * l, end * l), [end - this.cursor, l], { dtype });
    this.cursor = end;
    return applyPreProcessor(new DataSet(features, labels), this.preProcessor);
  }

  reset(): void {
    this.cursor = 0;
  }

  [Symbol.iterator](): Iterator<DataSet> {
    return iterateDataSets(this);
  }
}
