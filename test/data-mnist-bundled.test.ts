import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { MnistDataSetIterator, scope } from '../src/index.js';

// The package's own files, read here independently of src/data/mnist-bundled.ts.
const digitsDir = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
const source: number[][] = Array.from({ length: 10 }, (_, d) => (JSON.parse(readFileSync(join(digitsDir, `${d}.json`), 'utf8')) as { data: number[] }).data);
const perClass = source.map((a) => a.length / 784);

/** Every example of the split: labels (argmax of one-hot, checked one-hot) and float pixel rows. */
function collect(it: MnistDataSetIterator): { labels: number[]; rows: Float64Array[] } {
  const labels: number[] = [];
  const rows: Float64Array[] = [];
  while (it.hasNext()) {
    const ds = it.next();
    scope(() => {
      const [b, c] = ds.features.shape as [number, number];
      assert.equal(c, 784);
      assert.deepEqual(ds.labels.shape, [b, 10]);
      const f = Float64Array.from(ds.features.toFlatArray());
      const l = Float64Array.from(ds.labels.toFlatArray());
      for (let r = 0; r < b; r++) {
        const row = l.subarray(r * 10, (r + 1) * 10);
        assert.equal(row.reduce((s, v) => s + v, 0), 1, 'one-hot row sums to 1');
        assert.ok(row.every((v) => v === 0 || v === 1));
        labels.push(row.indexOf(1));
        rows.push(f.slice(r * 784, (r + 1) * 784));
      }
    });
    ds.close();
  }
  return { labels, rows };
}

test('bundled MNIST: 8000 train + 2000 test digits, per-class counts add up to the package files', () => {
  const train = collect(new MnistDataSetIterator({ batch: 500, train: true }));
  const testSet = collect(new MnistDataSetIterator({ batch: 500, train: false }));
  assert.equal(train.labels.length, 8000);
  assert.equal(testSet.labels.length, 2000);
  assert.equal(perClass.reduce((s, v) => s + v, 0), 10000);
  const counts = new Array<number>(10).fill(0);
  for (const l of [...train.labels, ...testSet.labels]) counts[l]!++;
  assert.deepEqual(counts, perClass);
  // The fixed shuffle mixes the classes: every class has a sensible share of the test split.
  const testCounts = new Array<number>(10).fill(0);
  for (const l of testSet.labels) testCounts[l]!++;
  for (let d = 0; d < 10; d++) assert.ok(testCounts[d]! > 120 && testCounts[d]! < 300, `class ${d}: ${testCounts[d]} of 2000 test digits`);
  // Pixels in [0, 1], not all blank, and each row equals an image of its class in the package (to byte rounding).
  for (const split of [train, testSet]) {
    for (const row of split.rows) {
      assert.ok(row.every((v) => v >= 0 && v <= 1));
      assert.ok(row.some((v) => v > 0.5));
    }
  }
  for (let k = 0; k < 40; k++) {
    const row = testSet.rows[k]!;
    const src = source[testSet.labels[k]!]!;
    let found = false;
    for (let i = 0; i < src.length / 784 && !found; i++) {
      let same = true;
      for (let p = 0; p < 784 && same; p++) same = Math.abs(src[i * 784 + p]! - row[p]!) <= 0.5 / 255 + 1e-6;
      found = same;
    }
    assert.ok(found, `test example ${k} (label ${testSet.labels[k]}) matches an image of its class`);
  }
});

test('bundled MNIST: deterministic order for a seed, a new order per seed and per epoch, binarize', () => {
  const labelsOf = (seed: number): number[] => collect(new MnistDataSetIterator({ batch: 256, train: true, seed, numExamples: 600 })).labels;
  const a = labelsOf(7);
  assert.deepEqual(labelsOf(7), a);
  assert.notDeepEqual(labelsOf(8), a);
  const it = new MnistDataSetIterator({ batch: 600, train: true, seed: 7, numExamples: 600 });
  const first = collect(it).labels;
  it.reset();
  const second = collect(it).labels;
  assert.deepEqual(first, a);
  assert.notDeepEqual(second, first);
  assert.deepEqual([...second].sort(), [...first].sort(), 'same examples, another order');
  // Test split unshuffled by default: two iterators agree.
  assert.deepEqual(collect(new MnistDataSetIterator({ batch: 300, train: false, numExamples: 300 })).labels,
    collect(new MnistDataSetIterator({ batch: 100, train: false, numExamples: 300 })).labels);
  const plain = collect(new MnistDataSetIterator({ batch: 50, train: false, numExamples: 50 })).rows;
  const bin = collect(new MnistDataSetIterator({ batch: 50, train: false, numExamples: 50, binarize: true })).rows;
  plain.forEach((row, r) => row.forEach((v, p) => assert.equal(bin[r]![p], Math.round(v * 255) > 30 ? 1 : 0)));
});
