import type { NDArray } from '../ndarray/ndarray.js';
import { defaultFloatType, isFloating } from '../ndarray/dtype.js';
import { add, div, mul, sub } from '../ops/binary.js';
import { cast } from '../ops/views.js';
import type { DataSet } from './dataset.js';
import type { DataSetPreProcessor } from './iterator.js';
import { broadcastStat, meanStd, minMax, type FitSource } from './normalizer-stats.js';

/** The saved form of a normalizer (toJSON / normalizerFromJSON). */
export type NormalizerJSON =
  | { type: 'NormalizerStandardize'; mean: number[]; std: number[] }
  | { type: 'NormalizerMinMaxScaler'; min: number[]; max: number[]; minRange: number; maxRange: number }
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

/**
 * Zero mean, unit variance per feature (DL4J's NormalizerStandardize): x' = (x - mean) / std with
 * the population std; a feature with std below 1e-8 (constant) is only centred, not divided.
 */
export class NormalizerStandardize implements Normalizer {
  private meanValues: number[] | null = null;
  private stdValues: number[] | null = null;

  get isFitted(): boolean {
    return this.meanValues !== null;
  }

  get mean(): readonly number[] {
    requireFitted('NormalizerStandardize.mean', this.isFitted);
    return this.meanValues!;
  }

  get std(): readonly number[] {
    requireFitted('NormalizerStandardize.std', this.isFitted);
    return this.stdValues!;
  }

  fit(source: FitSource): void {
    const s = meanStd(source, 'NormalizerStandardize');
    this.meanValues = s.mean;
    this.stdValues = s.std;
  }

  private safeStd(): number[] {
    return this.stdValues!.map((s) => (s < 1e-8 ? 1 : s));
  }

  transformFeatures(x: NDArray): NDArray {
    requireFitted('NormalizerStandardize.transform', this.isFitted);
    return affine(x, 'NormalizerStandardize.transform', this.meanValues!, this.safeStd().map((s) => 1 / s), null);
  }

  revertFeatures(x: NDArray): NDArray {
    requireFitted('NormalizerStandardize.revert', this.isFitted);
    const zeros = this.meanValues!.map(() => 0);
    return affine(x, 'NormalizerStandardize.revert', zeros, this.safeStd(), this.meanValues!);
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
    requireFitted('NormalizerStandardize.toJSON', this.isFitted);
    return { type: 'NormalizerStandardize', mean: [...this.meanValues!], std: [...this.stdValues!] };
  }

  static fromJSON(json: NormalizerJSON): NormalizerStandardize {
    if (json.type !== 'NormalizerStandardize') throw new Error(`NormalizerStandardize.fromJSON: got a '${String(json.type)}'`);
    const mean = checkNumbers('NormalizerStandardize', 'mean', json.mean);
    const std = checkNumbers('NormalizerStandardize', 'std', json.std);
    if (mean.length !== std.length) throw new Error(`NormalizerStandardize.fromJSON: mean has ${mean.length} values, std ${std.length}`);
    const n = new NormalizerStandardize();
    n.meanValues = [...mean];
    n.stdValues = [...std];
    return n;
  }
}

/**
 * Scales each feature linearly so its fitted [min, max] maps onto [minRange, maxRange] (DL4J's
 * NormalizerMinMaxScaler, default [0, 1]); a constant feature maps to minRange.
 */
export class NormalizerMinMaxScaler implements Normalizer {
  private minValues: number[] | null = null;
  private maxValues: number[] | null = null;
  readonly minRange: number;
  readonly maxRange: number;

  constructor(minRange = 0, maxRange = 1) {
    if (!(Number.isFinite(minRange) && Number.isFinite(maxRange) && minRange < maxRange)) {
      throw new Error(`NormalizerMinMaxScaler: expected finite minRange < maxRange, got [${minRange}, ${maxRange}]`);
    }
    this.minRange = minRange;
    this.maxRange = maxRange;
  }

  get isFitted(): boolean {
    return this.minValues !== null;
  }

  get min(): readonly number[] {
    requireFitted('NormalizerMinMaxScaler.min', this.isFitted);
    return this.minValues!;
  }

  get max(): readonly number[] {
    requireFitted('NormalizerMinMaxScaler.max', this.isFitted);
    return this.maxValues!;
  }

  fit(source: FitSource): void {
    const s = minMax(source, 'NormalizerMinMaxScaler');
    this.minValues = s.min;
    this.maxValues = s.max;
  }

  /** Data range per feature, 1 for constant features so they do not divide by zero. */
  private spans(): number[] {
    return this.maxValues!.map((hi, i) => (hi - this.minValues![i]! > 0 ? hi - this.minValues![i]! : 1));
  }

  transformFeatures(x: NDArray): NDArray {
    requireFitted('NormalizerMinMaxScaler.transform', this.isFitted);
    const r = this.maxRange - this.minRange;
    const scale = this.spans().map((s) => r / s);
    return affine(x, 'NormalizerMinMaxScaler.transform', this.minValues!, scale, this.minValues!.map(() => this.minRange));
  }

  revertFeatures(x: NDArray): NDArray {
    requireFitted('NormalizerMinMaxScaler.revert', this.isFitted);
    const r = this.maxRange - this.minRange;
    const scale = this.spans().map((s) => s / r);
    return affine(x, 'NormalizerMinMaxScaler.revert', this.minValues!.map(() => this.minRange), scale, this.minValues!);
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
    requireFitted('NormalizerMinMaxScaler.toJSON', this.isFitted);
    return { type: 'NormalizerMinMaxScaler', min: [...this.minValues!], max: [...this.maxValues!], minRange: this.minRange, maxRange: this.maxRange };
  }

  static fromJSON(json: NormalizerJSON): NormalizerMinMaxScaler {
    if (json.type !== 'NormalizerMinMaxScaler') throw new Error(`NormalizerMinMaxScaler.fromJSON: got a '${String(json.type)}'`);
    const lo = checkNumbers('NormalizerMinMaxScaler', 'min', json.min);
    const hi = checkNumbers('NormalizerMinMaxScaler', 'max', json.max);
    if (lo.length !== hi.length) throw new Error(`NormalizerMinMaxScaler.fromJSON: min has ${lo.length} values, max ${hi.length}`);
    const n = new NormalizerMinMaxScaler(json.minRange, json.maxRange);
    n.minValues = [...lo];
    n.maxValues = [...hi];
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
