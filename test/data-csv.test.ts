import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSVRecordReaderDataSetIterator } from '../src/index.js';
import { assertClose, Rng } from './helpers.js';

function withFile(text: string, fn: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'dl4ts-csv-'));
  const path = join(dir, 'data.csv');
  writeFileSync(path, text);
  try {
    fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function collect(it: CSVRecordReaderDataSetIterator): { features: number[]; labels: number[]; sizes: number[] } {
  const out = { features: [] as number[], labels: [] as number[], sizes: [] as number[] };
  for (const b of it) {
    out.sizes.push(b.numExamples);
    out.features.push(...b.features.toFlatArray());
    out.labels.push(...b.labels.toFlatArray());
    b.close();
  }
  return out;
}

test('CSV classification: header skipped, label column anywhere, one-hot labels', () => {
  const rng = new Rng(4);
  const rowsData = Array.from({ length: 9 }, () => [rng.uniform(-5, 5), rng.int(0, 3), rng.uniform(0, 1), rng.uniform(-1, 1)]);
  const text = ['a;label;b;c', ...rowsData.map((r) => r.join(';')), ''].join('\n');
  withFile(text, (path) => {
    const it = new CSVRecordReaderDataSetIterator({ path, batch: 4, delimiter: ';', skipLines: 1, labelIndex: 1, numClasses: 3 });
    assert.equal(it.inputColumns, 3);
    assert.equal(it.totalOutcomes, 3);
    assert.equal(it.numExamples, 9);
    const got = collect(it);
    assert.deepEqual(got.sizes, [4, 4, 1]);
    assertClose(got.features, rowsData.flatMap((r) => [r[0]!, r[2]!, r[3]!]), { rtol: 1e-6, atol: 1e-7 });
    assert.deepEqual(got.labels, rowsData.flatMap((r) => [0, 1, 2].map((k) => (k === r[1] ? 1 : 0))));
    assert.deepEqual(collect(it).sizes, [4, 4, 1], 'iterating again resets');
  });
});

test('CSV regression: several label columns, CRLF lines and blank lines', () => {
  const text = '1,2,10,20,3\r\n\r\n4,5,40,50,6\r\n7,8,70,80,9\r\n';
  withFile(text, (path) => {
    const it = new CSVRecordReaderDataSetIterator({ path, batch: 2, labelIndex: 2, labelIndexTo: 3, regression: true });
    assert.equal(it.inputColumns, 3);
    assert.equal(it.totalOutcomes, 2);
    const got = collect(it);
    assert.deepEqual(got.sizes, [2, 1]);
    assert.deepEqual(got.features, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(got.labels, [10, 20, 40, 50, 70, 80]);
  });
});

test('CSV: bad values, ragged rows, bad labels and bad options name the file and line', () => {
  withFile('h\n1,2,0\n3,x,1\n', (path) => {
    assert.throws(() => new CSVRecordReaderDataSetIterator({ path, batch: 1, skipLines: 1, labelIndex: 2, numClasses: 2 }), (e: Error) => e.message.includes(`${path}:3: column 1 'x' is not a number`));
  });
  withFile('1,2,0\n3,1\n', (path) => {
    assert.throws(() => new CSVRecordReaderDataSetIterator({ path, batch: 1, labelIndex: 2, numClasses: 2 }), (e: Error) => e.message.includes(`${path}:2: expected 3 columns, got 2`));
  });
  withFile('1,2,0\n3,4,2\n', (path) => {
    assert.throws(() => new CSVRecordReaderDataSetIterator({ path, batch: 1, labelIndex: 2, numClasses: 2 }), (e: Error) => e.message.includes(`${path}:2: label '2' is not a class index in [0, 2)`));
    assert.throws(() => new CSVRecordReaderDataSetIterator({ path, batch: 1, labelIndex: 2 }), /classification needs numClasses/);
    assert.throws(() => new CSVRecordReaderDataSetIterator({ path, batch: 1, labelIndex: 5, numClasses: 3 }), /:1: label column 5 is beyond the 3 columns/);
    assert.throws(() => new CSVRecordReaderDataSetIterator({ path, batch: 0, labelIndex: 2, numClasses: 3 }), /batch must be a positive integer/);
  });
  withFile('1,0.5,0\n', (path) => {
    assert.throws(() => new CSVRecordReaderDataSetIterator({ path, batch: 1, labelIndex: 1, numClasses: 2 }), /:1: label '0.5' is not a class index/);
  });
  withFile('header only\n', (path) => {
    assert.throws(() => new CSVRecordReaderDataSetIterator({ path, batch: 1, skipLines: 1, labelIndex: 0, regression: true }), /has no records after skipping 1 lines/);
  });
  assert.throws(() => new CSVRecordReaderDataSetIterator({ path: '/nonexistent/x.csv', batch: 1, labelIndex: 0, regression: true }), /cannot read '\/nonexistent\/x\.csv'/);
});
