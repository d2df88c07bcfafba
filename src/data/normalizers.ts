import type { NDArray } from '../ndarray/ndarray.js';
import { defaultFloatType, isFloating } from '../ndarray/dtype.js';
import { add, div, mul, sub } from '../ops/binary.js';
import { cast } from '../ops/views.js';
import type { DataSet } from './dataset.js';
import type { DataSetPreProcessor } from './iterator.js';
import { broadcastStat, meanStd, minMax, type FitSource } from './normalizer-stats.js';

/** The saved form of a normalizer (toJSON / normalizerFromJSON). */
export type NormalizerJSON =
  | { type: 'NormalizerStandardize'; mean: number[]; std: number[]; labelMean?: number[]; labelStd?: number[] }
  | { type: 'NormalizerMinMaxScaler'; min: number[]; max: number[]; minRange: number; maxRange: number; labelMin?: number[]; labelMax?: number[] }
  | { type: 'ImagePreProcessingScaler'; minRange: number; maxRange: number; maxBits: number };

/**
 * A feature normalizer (DL4J's DataNormalization). Statistics are per feature: over axis 0 of 2-D
 * features, over all axes but 1 (channels, or time-series features) otherwise. Masks are not
 * consulted when fitting. transform/revert change a DataSet in place; the *Features forms return
 * new arrays. As a DataSetPreProcessor it transforms every batch an iterator returns.
 */
export interface Normalizer extends DataSetPreProcessor {
  fit(source: FitSource): void;
  readonly isFitted: boolean;
  transform(ds: DataSet): void;
  transformFeatures(x: NDArray): NDArray;
  revert(ds: DataSet): void;
  revertFeatures(x: NDArray): NDArray;
  toJSON(): NormalizerJSON;
}

/** Applies `fn` to the features of `ds`, replacing (and closing) the old array. */
function replaceFeatures(ds: DataSet, fn: (x: NDArray) => NDArray): void {
  ds.setArray('features', fn(ds.features));
}

/** (x - a) * b + c per feature, with broadcast arrays made for x and closed afterwards. */
function affine(x: NDArray, op: string, a: readonly number[], b: readonly number[], c: readonly number[] | null): NDArray {
  const [ta, tb] = [broadcastStat(a, x, op), broadcastStat(b, x, op)];
  const tc = c ? broadcastStat(c, x, op) : null;
  const centered = sub(x, ta);
  const scaled = mul(centered, tb);
  centered.close();
  ta.close();
  tb.close();
  if (!tc) return scaled;
  const out = add(scaled, tc);
  scaled.close();
  tc.close();
  return out;
}

function requireFitted(op: string, fitted: boolean): void {
  if (!fitted) throw new Error(`${op}: not fitted; call fit() first (or restore with fromJSON)`);
}

function checkNumbers(op: string, name: string, v: unknown): number[] {
  if (!Array.isArray(v) || !v.every((e) => typeof e === 'number' && Number.isFinite(e))) throw new Error(`${op}.fromJSON: '${name}' must be an array of finite numbers`);
  return v as number[];
}

interface MeanStd {
  mean: number[];
  std: number[];
}

interface MinMax {
  min: number[];
  max: number[];
}

/** Stats restored from JSON: two equally long arrays of finite numbers. */
function restorePair(op: string, names: [string, string], a: unknown, b: unknown): [number[], number[]] {
  const x = checkNumbers(op, names[0], a);
  const y = checkNumbers(op, names[1], b);
  if (x.length !== y.length) throw new Error(`${op}.fromJSON: ${names[0]} has ${x.length} values, ${names[1]} ${y.length}`);
  return [[...x], [...y]];
}

/**
 * What NormalizerStandardize and NormalizerMinMaxScaler share: per-column statistics of the
 * features (and, with fitLabel, of the labels), and applying them to whole DataSets.
 */
abstract class ColumnStatsNormalizer<S> implements Normalizer {
  protected featureStats: S | null = null;
  protected labelStats: S | null = null;
  protected withLabels = false;
  protected abstract readonly kind: string;

  abstract fit(source: FitSource): void;
  abstract transformFeatures(x: NDArray): NDArray;
  abstract revertFeatures(x: NDArray): NDArray;
  abstract transformLabels(y: NDArray): NDArray;
  abstract revertLabels(y: NDArray): NDArray;
  abstract toJSON(): NormalizerJSON;

  /** Also fit, transform and revert the labels (DL4J's fitLabel). Takes effect at the next fit(). */
  fitLabel(flag = true): this {
    this.withLabels = flag;
    return this;
  }

  get isFitLabel(): boolean {
    return this.withLabels;
  }

  get isFitted(): boolean {
    return this.featureStats !== null;
  }

  protected stats(op: string, labels: boolean): S {
    requireFitted(`${this.kind}.${op}`, this.isFitted);
    if (!labels) return this.featureStats!;
    if (!this.labelStats) throw new Error(`${this.kind}.${op}: labels were not fitted; call fitLabel(true) before fit()`);
    return this.labelStats;
  }

  transform(ds: DataSet): void {
    replaceFeatures(ds, (x) => this.transformFeatures(x));
    if (this.labelStats) ds.setArray('labels', this.transformLabels(ds.labels));
  }

  revert(ds: DataSet): void {
    replaceFeatures(ds, (x) => this.revertFeatures(x));
    if (this.labelStats) ds.setArray('labels', this.revertLabels(ds.labels));
  }

  preProcess(ds: DataSet): void {
    this.transform(ds);
  }
}

/**
 * Zero mean, unit variance per feature (DL4J's NormalizerStandardize): x' = (x - mean) / std with
 * the population std; a feature with std below 1e-8 (constant) is only centred, not divided.
 * With fitLabel(true) the labels are standardized too (for regression), with their own stats.
 */
export class NormalizerStandardize extends ColumnStatsNormalizer<MeanStd> {
  protected readonly kind = 'NormalizerStandardize';

  get mean(): readonly number[] {
    return this.stats('mean', false).mean;
  }

  get std(): readonly number[] {
    return this.stats('std', false).std;
  }

  get labelMean(): readonly number[] {
    return this.stats('labelMean', true).mean;
  }

  get labelStd(): readonly number[] {
    return this.stats('labelStd', true).std;
  }

  fit(source: FitSource): void {
    const f = meanStd(source, 'NormalizerStandardize');
    const l = this.withLabels ? meanStd(source, 'NormalizerStandardize', 'labels') : null;
    this.featureStats = { mean: f.mean, std: f.std };
    this.labelStats = l ? { mean: l.mean, std: l.std } : null;
  }

  private forward(x: NDArray, st: MeanStd, op: string): NDArray {
    return affine(x, op, st.mean, safeStd(st.std).map((s) => 1 / s), null);
  }

  private inverse(x: NDArray, st: MeanStd, op: string): NDArray {
    return affine(x, op, st.mean.map(() => 0), safeStd(st.std), st.mean);
  }

  transformFeatures(x: NDArray): NDArray {
    return this.forward(x, this.stats('transform', false), 'NormalizerStandardize.transform');
  }

  revertFeatures(x: NDArray): NDArray {
    return this.inverse(x, this.stats('revert', false), 'NormalizerStandardize.revert');
  }

  transformLabels(y: NDArray): NDArray {
    return this.forward(y, this.stats('transformLabels', true), 'NormalizerStandardize.transformLabels');
  }

  revertLabels(y: NDArray): NDArray {
    return this.inverse(y, this.stats('revertLabels', true), 'NormalizerStandardize.revertLabels');
  }

  toJSON(): NormalizerJSON {
    const f = this.stats('toJSON', false);
    const json: NormalizerJSON = { type: 'NormalizerStandardize', mean: [...f.mean], std: [...f.std] };
    if (this.labelStats) {
      json.labelMean = [...this.labelStats.mean];
      json.labelStd = [...this.labelStats.std];
    }
    return json;
  }

  static fromJSON(json: NormalizerJSON): NormalizerStandardize {
    const op = 'NormalizerStandardize';
    if (json.type !== 'NormalizerStandardize') throw new Error(`${op}.fromJSON: got a '${String(json.type)}'`);
    const n = new NormalizerStandardize();
    const [mean, std] = restorePair(op, ['mean', 'std'], json.mean, json.std);
    n.featureStats = { mean, std };
    if (json.labelMean !== undefined || json.labelStd !== undefined) {
      const [lm, ls] = restorePair(op, ['labelMean', 'labelStd'], json.labelMean, json.labelStd);
      n.labelStats = { mean: lm, std: ls };
      n.withLabels = true;
    }
    return n;
  }
}

/** Std per column with constant columns (std below 1e-8) mapped to 1, so they are not divided by zero. */
function safeStd(std: readonly number[]): number[] {
  return std.map((s) => (s < 1e-8 ? 1 : s));
}

/**
 * Scales each feature linearly so its fitted [min, max] maps onto [minRange, maxRange] (DL4J's
 * NormalizerMinMaxScaler, default [0, 1]); a constant feature maps to minRange. With
 * fitLabel(true) the labels are scaled too, with their own min and max.
 */
export class NormalizerMinMaxScaler extends ColumnStatsNormalizer<MinMax> {
  protected readonly kind = 'NormalizerMinMaxScaler';
  readonly minRange: number;
  readonly maxRange: number;

  constructor(minRange = 0, maxRange = 1) {
    super();
    if (!(Number.isFinite(minRange) && Number.isFinite(maxRange) && minRange < maxRange)) {
      throw new Error(`NormalizerMinMaxScaler: expected finite minRange < maxRange, got [${minRange}, ${maxRange}]`);
    }
    this.minRange = minRange;
    this.maxRange = maxRange;
  }

  get min(): readonly number[] {
    return this.stats('min', false).min;
  }

  get max(): readonly number[] {
    return this.stats('max', false).max;
  }

  get labelMin(): readonly number[] {
    return this.stats('labelMin', true).min;
  }

  get labelMax(): readonly number[] {
    return this.stats('labelMax', true).max;
  }

  fit(source: FitSource): void {
    this.featureStats = minMax(source, 'NormalizerMinMaxScaler');
    this.labelStats = this.withLabels ? minMax(source, 'NormalizerMinMaxScaler', 'labels') : null;
  }

  /** Data range per column, 1 for constant columns so they do not divide by zero. */
  private static spans(st: MinMax): number[] {
    return st.max.map((hi, i) => (hi - st.min[i]! > 0 ? hi - st.min[i]! : 1));
  }

  private forward(x: NDArray, st: MinMax, op: string): NDArray {
    const r = this.maxRange - this.minRange;
    const scale = NormalizerMinMaxScaler.spans(st).map((s) => r / s);
    return affine(x, op, st.min, scale, st.min.map(() => this.minRange));
  }

  private inverse(x: NDArray, st: MinMax, op: string): NDArray {
    const r = this.maxRange - this.minRange;
    const scale = NormalizerMinMaxScaler.spans(st).map((s) => s / r);
    return affine(x, op, st.min.map(() => this.minRange), scale, st.min);
  }

  transformFeatures(x: NDArray): NDArray {
    return this.forward(x, this.stats('transform', false), 'NormalizerMinMaxScaler.transform');
  }

  revertFeatures(x: NDArray): NDArray {
    return this.inverse(x, this.stats('revert', false), 'NormalizerMinMaxScaler.revert');
  }

  transformLabels(y: NDArray): NDArray {
    return this.forward(y, this.stats('transformLabels', true), 'NormalizerMinMaxScaler.transformLabels');
  }

  revertLabels(y: NDArray): NDArray {
    return this.inverse(y, this.stats('revertLabels', true), 'NormalizerMinMaxScaler.revertLabels');
  }

  toJSON(): NormalizerJSON {
    const f = this.stats('toJSON', false);
    const json: NormalizerJSON = { type: 'NormalizerMinMaxScaler', min: [...f.min], max: [...f.max], minRange: this.minRange, maxRange: this.maxRange };
    if (this.labelStats) {
      json.labelMin = [...this.labelStats.min];
      json.labelMax = [...this.labelStats.max];
    }
    return json;
  }

  static fromJSON(json: NormalizerJSON): NormalizerMinMaxScaler {
    const op = 'NormalizerMinMaxScaler';
    if (json.type !== 'NormalizerMinMaxScaler') throw new Error(`${op}.fromJSON: got a '${String(json.type)}'`);
    const n = new NormalizerMinMaxScaler(json.minRange, json.maxRange);
    const [lo, hi] = restorePair(op, ['min', 'max'], json.min, json.max);
    n.featureStats = { min: lo, max: hi };
    if (json.labelMin !== undefined || json.labelMax !== undefined) {
      const [llo, lhi] = restorePair(op, ['labelMin', 'labelMax'], json.labelMin, json.labelMax);
      n.labelStats = { min: llo, max: lhi };
      n.withLabels = true;
    }
    return n;
  }
}

/**
 * Maps pixel values [0, 2^maxBits - 1] onto [minRange, maxRange] (DL4J's
 * ImagePreProcessingScaler, default 8 bits to [0, 1]). Needs no fitting; fit() is accepted and
 * does nothing.
 */
export class ImagePreProcessingScaler implements Normalizer {
  readonly minRange: number;
  readonly maxRange: number;
  readonly maxBits: number;
  readonly isFitted = true;

  constructor(minRange = 0, maxRange = 1, maxBits = 8) {
    if (!(Number.isFinite(minRange) && Number.isFinite(maxRange) && minRange < maxRange)) {
      throw new Error(`ImagePreProcessingScaler: expected finite minRange < maxRange, got [${minRange}, ${maxRange}]`);
    }
    if (!Number.isInteger(maxBits) || maxBits < 1 || maxBits > 32) throw new Error(`ImagePreProcessingScaler: maxBits must be an integer in [1, 32], got ${maxBits}`);
    this.minRange = minRange;
    this.maxRange = maxRange;
    this.maxBits = maxBits;
  }

  private get maxPixel(): number {
    return 2 ** this.maxBits - 1;
  }

  fit(_source: FitSource): void {
    // Nothing to learn: the pixel range is fixed by maxBits.
  }

  transformFeatures(x: NDArray): NDArray {
    // Raw pixels often arrive as UINT8: scale in the default float type, not the integer type.
    const src = isFloating(x.dtype) ? x : cast(x, defaultFloatType());
    const scaled = mul(src, (this.maxRange - this.minRange) / this.maxPixel);
    if (src !== x) src.close();
    if (this.minRange === 0) return scaled;
    const out = add(scaled, this.minRange);
    scaled.close();
    return out;
  }

  revertFeatures(x: NDArray): NDArray {
    const shifted = sub(x, this.minRange);
    const out = div(shifted, (this.maxRange - this.minRange) / this.maxPixel);
    shifted.close();
    return out;
  }

  transform(ds: DataSet): void {
    replaceFeatures(ds, (x) => this.transformFeatures(x));
  }

  revert(ds: DataSet): void {
    replaceFeatures(ds, (x) => this.revertFeatures(x));
  }

  preProcess(ds: DataSet): void {
    this.transform(ds);
  }

  toJSON(): NormalizerJSON {
    return { type: 'ImagePreProcessingScaler', minRange: this.minRange, maxRange: this.maxRange, maxBits: this.maxBits };
  }

  static fromJSON(json: NormalizerJSON): ImagePreProcessingScaler {
    if (json.type !== 'ImagePreProcessingScaler') throw new Error(`ImagePreProcessingScaler.fromJSON: got a '${String(json.type)}'`);
    return new ImagePreProcessingScaler(json.minRange, json.maxRange, json.maxBits);
  }
}

/** Restores any normalizer from its toJSON() form (also accepts the JSON text). */
export function normalizerFromJSON(json: NormalizerJSON | string): Normalizer {
  const j = (typeof json === 'string' ? JSON.parse(json) : json) as NormalizerJSON;
  switch (j.type) {
    case 'NormalizerStandardize':
      return NormalizerStandardize.fromJSON(j);
    case 'NormalizerMinMaxScaler':
      return NormalizerMinMaxScaler.fromJSON(j);
    case 'ImagePreProcessingScaler':
      return ImagePreProcessingScaler.fromJSON(j);
    default:
      throw new Error(`normalizerFromJSON: unknown normalizer type '${String((j as { type?: unknown }).type)}'`);
  }
}
