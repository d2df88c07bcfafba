import { test } from 'node:test';
import assert from 'node:assert/strict';
import { array, DataSet, MultiDataSet, scope, type NDArray } from '../src/index.js';
import { assertClose, Rng } from './helpers.js';

/** Rows of a row-major [n, k] flat array. */
function rows(flat: readonly number[], k: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < flat.length; i += k) out.push(flat.slice(i, i + k));
  return out;
}

/** A DataSet whose feature row i is [i, 10 i, 100 i] and label row i one-hot of i % 3 (so rows can be identified). */
function numbered(n: number, withMasks = false): DataSet {
  const f: number[] = [];
  const l: number[] = [];
  const fm: number[] = [];
  for (let i = 0; i < n; i++) {
    f.push(i, 10 * i, 100 * i);
    for (let k = 0; k < 3; k++) l.push(k === i % 3 ? 1 : 0);
    fm.push(i % 2, 1);
  }
  return new DataSet(
    array(f, [n, 3], { dtype: 'DOUBLE' }),
    array(l, [n, 3], { dtype: 'DOUBLE' }),
    withMasks ? array(fm, [n, 2], { dtype: 'DOUBLE' }) : null,
    null,
  );
}

function exampleIds(ds: DataSet): number[] {
  return rows(ds.features.toFlatArray(), 3).map((r) => r[0]!);
}

/** Checks every array row is consistent with the example id in its first feature. */
function assertConsistent(ds: DataSet): void {
  const ids = exampleIds(ds);
  const f = rows(ds.features.toFlatArray(), 3);
  const l = rows(ds.labels.toFlatArray(), 3);
  ids.forEach((id, r) => {
    assert.deepEqual(f[r], [id, 10 * id, 100 * id]);
    assert.deepEqual(l[r], [0, 1, 2].map((k) => (k === id % 3 ? 1 : 0)));
  });
  if (ds.featuresMask) {
    const m = rows(ds.featuresMask.toFlatArray(), 2);
    ids.forEach((id, r) => assert.deepEqual(m[r], [id % 2, 1]));
  }
}

test('DataSet: counts, get and slice pick the right examples with their masks', () => {
  const ds = numbered(7, true);
  assert.equal(ds.numExamples, 7);
  assert.equal(ds.numInputs, 3);
  assert.equal(ds.numOutcomes, 3);
  assert.ok(ds.hasMaskArrays());
  const picked = ds.get([5, 0, 5, 3]);
  assert.deepEqual(exampleIds(picked), [5, 0, 5, 3]);
  assertConsistent(picked);
  const one = ds.get(2);
  assert.deepEqual(one.features.shape, [1, 3]);
  assert.deepEqual(exampleIds(one), [2]);
  const s = ds.slice(2, 6);
  assert.deepEqual(exampleIds(s), [2, 3, 4, 5]);
  assertConsistent(s);
  assert.throws(() => ds.get([7]), /example index 7 is out of range for 7 examples/);
  assert.throws(() => ds.slice(3, 9), /not a range within 7 examples/);
  for (const d of [ds, picked, one, s]) d.close();
  assert.ok(ds.features.closed && ds.featuresMask!.closed);
});

test('DataSet: constructor rejects arrays with different example counts', () => {
  const f = array([1, 2, 3, 4], [2, 2]);
  const l = array([1, 2, 3], [3, 1]);
  assert.throws(() => new DataSet(f, l), /labels \[3,\s?1\] has 3 examples, features \[2,\s?2\] has 2/);
  f.close();
  l.close();
});

test('DataSet.shuffle: a seeded permutation, reproducible, rows kept together', () => {
  const a = numbered(20, true).shuffle(42);
  const b = numbered(20, true).shuffle(42);
  const c = numbered(20, true).shuffle(43);
  const ids = exampleIds(a);
  assert.deepEqual([...ids].sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i), 'a permutation');
  assert.notDeepEqual(ids, Array.from({ length: 20 }, (_, i) => i), 'actually reordered');
  assert.deepEqual(exampleIds(b), ids, 'same seed, same order');
  assert.notDeepEqual(exampleIds(c), ids, 'other seed, other order');
  assertConsistent(a);
  for (const d of [a, b, c]) d.close();
});

test('DataSet.splitTestAndTrain: fraction and count, ordered and seeded', () => {
  const ds = numbered(10);
  const { train, test: held } = ds.splitTestAndTrain(0.75);
  assert.deepEqual(exampleIds(train), [0, 1, 2, 3, 4, 5, 6, 7], 'round(7.5) = 8 train examples');
  assert.deepEqual(exampleIds(held), [8, 9]);
  const byCount = ds.splitTestAndTrain(3, 7);
  const all = [...exampleIds(byCount.train), ...exampleIds(byCount.test)];
  assert.equal(byCount.train.numExamples, 3);
  assert.equal(byCount.test.numExamples, 7);
  assert.deepEqual([...all].sort((x, y) => x - y), Array.from({ length: 10 }, (_, i) => i), 'disjoint and complete');
  assertConsistent(byCount.train);
  assertConsistent(byCount.test);
  assert.throws(() => ds.splitTestAndTrain(10), /fraction in \(0, 1\) or an integer count in \[1, 10\)/);
  assert.throws(() => ds.splitTestAndTrain(1.5), /got 1.5/);
  assert.throws(() => ds.splitTestAndTrain(0.01), /a fraction of 0.01 of 10 examples leaves 0 for training and 10 for testing/);
  assert.throws(() => ds.splitTestAndTrain(0.99), /leaves 10 for training and 0 for testing/);
  for (const d of [ds, train, held, byCount.train, byCount.test]) d.close();
});

test('DataSet.batchBy / asList / merge round trip', () => {
  const ds = numbered(11, true);
  const batches = ds.batchBy(4);
  assert.deepEqual(batches.map((b) => b.numExamples), [4, 4, 3]);
  assert.deepEqual(batches.map(exampleIds), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]);
  const merged = DataSet.merge(batches);
  assert.deepEqual(merged.features.toFlatArray(), ds.features.toFlatArray());
  assert.deepEqual(merged.labels.toFlatArray(), ds.labels.toFlatArray());
  assert.deepEqual(merged.featuresMask!.toFlatArray(), ds.featuresMask!.toFlatArray());
  assert.equal(merged.labelsMask, null);
  const list = ds.asList();
  assert.equal(list.length, 11);
  assert.deepEqual(list.map((d) => exampleIds(d)[0]), Array.from({ length: 11 }, (_, i) => i));
  assert.throws(() => ds.batchBy(0), /batch size must be a positive integer/);
  const noMask = numbered(2);
  assert.throws(() => DataSet.merge([batches[0]!, noMask]), /featuresMask is present in 1 of 2 DataSets/);
  const wide = new DataSet(array([1, 2, 3, 4], [1, 4]), array([1, 0, 0], [1, 3]));
  assert.throws(() => DataSet.merge([noMask, wide]), /features shapes differ beyond the example axis/);
  assert.throws(() => DataSet.merge([]), /nothing to merge/);
  for (const d of [ds, merged, noMask, wide, ...batches, ...list]) d.close();
});

test('DataSet: random data survives shuffle + batchBy + merge as a multiset of rows', () => {
  const rng = new Rng(5);
  const n = 23;
  const f = Array.from({ length: n * 4 }, () => rng.uniform(-3, 3));
  const ds = new DataSet(array(f, [n, 4], { dtype: 'DOUBLE' }), array(Array.from({ length: n }, (_, i) => i), [n, 1], { dtype: 'DOUBLE' }));
  ds.shuffle(9);
  const parts = ds.batchBy(5);
  const merged = DataSet.merge(parts);
  const labels = merged.labels.toFlatArray();
  const got = rows(merged.features.toFlatArray(), 4);
  labels.forEach((id, r) => assertClose(got[r]!, f.slice(id * 4, id * 4 + 4), { rtol: 0, message: `row of example ${id}` }));
  for (const d of [ds, merged, ...parts]) d.close();
});

test('MultiDataSet: holds several arrays, checks counts, converts from and to DataSet', () => {
  const a: NDArray = array([1, 2, 3, 4, 5, 6], [3, 2]);
  const b = array([1, 2, 3], [3, 1]);
  const y = array([0, 1, 0], [3, 1]);
  const m = new MultiDataSet([a, b], [y], [null, array([1, 1, 0], [3, 1])]);
  assert.equal(m.numExamples, 3);
  assert.equal(m.numFeatureArrays, 2);
  assert.equal(m.numLabelsArrays, 1);
  assert.throws(() => m.toDataSet(), /exactly one features and one labels array, has 2 and 1/);
  const bad = array([1, 2], [2, 1]);
  assert.throws(() => new MultiDataSet([a], [bad]), /labels\[0\] \[2,\s?1\] has 2 examples, features\[0\] has 3/);
  assert.throws(() => new MultiDataSet([a], [y], [null, null]), /featuresMasks has 2 entries, expected 1/);
  const ds = new DataSet(array([1, 2], [2, 1]), array([3, 4], [2, 1]));
  const single = MultiDataSet.fromDataSet(ds);
  const back = single.toDataSet();
  assert.deepEqual(back.labels.toFlatArray(), [3, 4]);
  m.close();
  assert.ok(a.closed && b.closed && y.closed);
  single.close();
  assert.ok(ds.features.closed);
  bad.close();
});

test('a DataSet returned from scope() keeps its arrays', () => {
  const ds = scope(() => new DataSet(array([[1, 2], [3, 4]]), array([[1, 0], [0, 1]])));
  assert.deepEqual(ds.features.toArray(), [[1, 2], [3, 4]]);
  assert.deepEqual(ds.labels.toArray(), [[1, 0], [0, 1]]);
  ds.close();
});
