import { test } from 'node:test';
import assert from 'node:assert/strict';
import { array, DataSet, ImagePreProcessingScaler, ListDataSetIterator, NormalizerMinMaxScaler, NormalizerStandardize, normalizerFromJSON, type DataSetIterator, type NDArray, type NormalizerJSON } from '../src/index.js';
import { assertClose, Rng } from './helpers.js';

/** Random [n, f] data with a different offset and scale per column, plus its columns in plain JS. */
function columnsData(rng: Rng, n: number, f: number): { flat: number[]; cols: number[][] } {
  const flat: number[] = [];
  const cols: number[][] = Array.from({ length: f }, () => []);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) {
      const v = (j + 1) * 3 * rng.uniform(-1, 1) + 10 * j;
      flat.push(v);
      cols[j]!.push(v);
    }
  }
  return { flat, cols };
}

const jsMean = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const jsStd = (v: readonly number[]): number => {
  const m = jsMean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) * (b - m), 0) / v.length);
};

function dataSet(flat: number[], n: number, f: number): DataSet {
  return new DataSet(array(flat, [n, f], { dtype: 'DOUBLE' }), array(new Array<number>(n).fill(0), [n, 1], { dtype: 'DOUBLE' }));
}

test('NormalizerStandardize: fit on a DataSet and on an iterator agree with plain-JS mean/std', () => {
  const rng = new Rng(11);
  const n = 37;
  const f = 4;
  const { flat, cols } = columnsData(rng, n, f);
  const ds = dataSet(flat, n, f);
  const direct = new NormalizerStandardize();
  direct.fit(ds);
  assertClose(direct.mean, cols.map(jsMean), { rtol: 1e-12, atol: 1e-12, message: 'mean' });
  assertClose(direct.std, cols.map(jsStd), { rtol: 1e-12, message: 'std' });
  const it = new ListDataSetIterator(ds, 5);
  const streamed = new NormalizerStandardize();
  streamed.fit(it);
  assertClose(streamed.mean, cols.map(jsMean), { rtol: 1e-12, atol: 1e-12, message: 'batched mean' });
  assertClose(streamed.std, cols.map(jsStd), { rtol: 1e-12, message: 'batched std (parallel variance)' });
  assert.ok(it.hasNext(), 'the iterator is reset after fitting');

  const t = ds.copy();
  direct.transform(t);
  const expected = flat.map((v, i) => (v - jsMean(cols[i % f]!)) / jsStd(cols[i % f]!));
  assertClose(t.features.toFlatArray(), expected, { rtol: 1e-10, atol: 1e-12, message: 'transform' });
  direct.revert(t);
  assertClose(t.features.toFlatArray(), flat, { rtol: 1e-10, atol: 1e-10, message: 'revert' });
  t.close();
  ds.close();
});

test('NormalizerStandardize: per-channel stats for 4-D features, constant features only centred', () => {
  const rng = new Rng(3);
  const [n, c, h, w] = [3, 2, 2, 3];
  const flat = Array.from({ length: n * c * h * w }, (_, i) => (Math.floor(i / (h * w)) % c === 1 ? 7 : rng.uniform(0, 5)));
  const perChannel: number[][] = [[], []];
  flat.forEach((v, i) => perChannel[Math.floor(i / (h * w)) % c]!.push(v));
  const ds = new DataSet(array(flat, [n, c, h, w], { dtype: 'DOUBLE' }), array([0, 1, 0], [n, 1], { dtype: 'DOUBLE' }));
  const norm = new NormalizerStandardize();
  norm.fit(ds);
  assertClose(norm.mean, perChannel.map(jsMean), { rtol: 1e-12 });
  assertClose(norm.std, perChannel.map(jsStd), { rtol: 1e-12, atol: 1e-12 });
  const out = norm.transformFeatures(ds.features);
  const expected = flat.map((v, i) => {
    const ch = Math.floor(i / (h * w)) % c;
    return ch === 1 ? v - 7 : (v - jsMean(perChannel[0]!)) / jsStd(perChannel[0]!);
  });
  assertClose(out.toFlatArray(), expected, { rtol: 1e-10, atol: 1e-12 });
  const bad = array([1, 2, 3], [1, 3], { dtype: 'DOUBLE' });
  assert.throws(() => norm.transformFeatures(bad), /fitted on 2 features, got features \[1,\s?3\] with 3/);
  for (const a of [out, bad]) a.close();
  ds.close();
});

test('NormalizerMinMaxScaler: [0,1] and a custom range; revert; save/restore', () => {
  const rng = new Rng(21);
  const n = 19;
  const f = 3;
  const { flat, cols } = columnsData(rng, n, f);
  const ds = dataSet(flat, n, f);
  const lo = cols.map((v) => Math.min(...v));
  const hi = cols.map((v) => Math.max(...v));
  for (const [a, b] of [[0, 1], [-1, 1]] as const) {
    const norm = new NormalizerMinMaxScaler(a, b);
    norm.fit(new ListDataSetIterator(ds, 4));
    assert.deepEqual(norm.min, lo);
    assert.deepEqual(norm.max, hi);
    const out = norm.transformFeatures(ds.features);
    const expected = flat.map((v, i) => ((v - lo[i % f]!) / (hi[i % f]! - lo[i % f]!)) * (b - a) + a);
    assertClose(out.toFlatArray(), expected, { rtol: 1e-10, atol: 1e-12, message: `range [${a}, ${b}]` });
    const restored = normalizerFromJSON(JSON.stringify(norm.toJSON()));
    assert.ok(restored instanceof NormalizerMinMaxScaler);
    const back = restored.revertFeatures(out);
    assertClose(back.toFlatArray(), flat, { rtol: 1e-10, atol: 1e-10, message: 'revert after restore' });
    out.close();
    back.close();
  }
  assert.throws(() => new NormalizerMinMaxScaler(1, 1), /expected finite minRange < maxRange, got \[1, 1\]/);
  ds.close();
});

test('ImagePreProcessingScaler: pixel bytes to a range and back; as an iterator pre-processor', () => {
  const pixels = [0, 17, 128, 255, 3, 200];
  const ds = new DataSet(array(Uint8Array.from(pixels), [2, 3]), array([1, 0], [2, 1]));
  const scaler = new ImagePreProcessingScaler(-1, 1);
  const it = new ListDataSetIterator(ds, 1);
  it.preProcessor = scaler;
  const got: number[] = [];
  for (const b of it) {
    assert.equal(b.features.dtype, 'FLOAT', 'bytes are scaled in the default float type');
    got.push(...b.features.toFlatArray());
    b.close();
  }
  assertClose(got, pixels.map((p) => (p / 255) * 2 - 1), { rtol: 1e-6, atol: 1e-6 });
  const x = array(got, [2, 3], { dtype: 'DOUBLE' });
  const back = scaler.revertFeatures(x);
  assertClose(back.toFlatArray(), pixels, { rtol: 1e-5, atol: 1e-4 });
  const copy = normalizerFromJSON(scaler.toJSON());
  assert.deepEqual(copy.toJSON(), { type: 'ImagePreProcessingScaler', minRange: -1, maxRange: 1, maxBits: 8 });
  for (const a of [x, back]) a.close();
  ds.close();
});

test('Normalizers: unfitted use, bad JSON and empty iterators give clear errors', () => {
  const norm = new NormalizerStandardize();
  const x: NDArray = array([1, 2], [1, 2]);
  assert.throws(() => norm.transformFeatures(x), /not fitted; call fit\(\) first/);
  assert.throws(() => norm.toJSON(), /not fitted/);
  assert.throws(() => normalizerFromJSON('{"type":"Nope"}'), /unknown normalizer type 'Nope'/);
  assert.throws(() => normalizerFromJSON({ type: 'NormalizerStandardize', mean: [1, 2], std: [1] }), /mean has 2 values, std 1/);
  const empty: DataSetIterator = {
    batch: 1,
    inputColumns: 2,
    totalOutcomes: 1,
    resetSupported: true,
    asyncSupported: true,
    preProcessor: null,
    hasNext: () => false,
    next: () => {
      throw new Error('unreachable');
    },
    reset: () => undefined,
    [Symbol.iterator]: () => [][Symbol.iterator](),
  };
  assert.throws(() => norm.fit(empty), /NormalizerStandardize\.fit: the iterator returned no data/);
  const restored = NormalizerStandardize.fromJSON({ type: 'NormalizerStandardize', mean: [1, 2], std: [2, 4] });
  const y = restored.transformFeatures(x);
  assert.deepEqual(y.toFlatArray(), [0, 0]);
  x.close();
  y.close();
});

test('fitLabel: regression labels standardized / min-max scaled with their own stats, reverted, saved', () => {
  const rng = new Rng(31);
  const n = 17;
  const x = columnsData(rng, n, 2);
  const y = columnsData(rng, n, 3);
  const ds = new DataSet(array(x.flat, [n, 2], { dtype: 'DOUBLE' }), array(y.flat, [n, 3], { dtype: 'DOUBLE' }));

  const st = new NormalizerStandardize().fitLabel(true);
  st.fit(new ListDataSetIterator(ds, 6));
  assertClose(st.labelMean, y.cols.map(jsMean), { rtol: 1e-12, atol: 1e-12 });
  assertClose(st.labelStd, y.cols.map(jsStd), { rtol: 1e-12 });
  const t = ds.copy();
  st.transform(t);
  assertClose(t.labels.toFlatArray(), y.flat.map((v, i) => (v - jsMean(y.cols[i % 3]!)) / jsStd(y.cols[i % 3]!)), { rtol: 1e-10, atol: 1e-12 });
  assertClose(t.features.toFlatArray(), x.flat.map((v, i) => (v - jsMean(x.cols[i % 2]!)) / jsStd(x.cols[i % 2]!)), { rtol: 1e-10, atol: 1e-12 });
  const restored = normalizerFromJSON(JSON.parse(JSON.stringify(st.toJSON())) as NormalizerJSON);
  restored.revert(t);
  assertClose(t.labels.toFlatArray(), y.flat, { rtol: 1e-10, atol: 1e-10, message: 'labels reverted by the restored normalizer' });
  assertClose(t.features.toFlatArray(), x.flat, { rtol: 1e-10, atol: 1e-10 });
  t.close();

  const mm = new NormalizerMinMaxScaler().fitLabel();
  mm.fit(ds);
  const lo = y.cols.map((c) => Math.min(...c));
  const hi = y.cols.map((c) => Math.max(...c));
  const scaled = mm.transformLabels(ds.labels);
  assertClose(scaled.toFlatArray(), y.flat.map((v, i) => (v - lo[i % 3]!) / (hi[i % 3]! - lo[i % 3]!)), { rtol: 1e-10, atol: 1e-12 });
  const back = (normalizerFromJSON(mm.toJSON()) as NormalizerMinMaxScaler).revertLabels(scaled);
  assertClose(back.toFlatArray(), y.flat, { rtol: 1e-10, atol: 1e-10 });
  scaled.close();
  back.close();

  const plain = new NormalizerStandardize();
  plain.fit(ds);
  assert.throws(() => plain.transformLabels(ds.labels), /labels were not fitted; call fitLabel\(true\) before fit\(\)/);
  const copy = ds.copy();
  plain.transform(copy);
  assert.deepEqual(copy.labels.toFlatArray(), y.flat, 'labels untouched without fitLabel');
  copy.close();
  ds.close();
});
