import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, MnistDataSetIterator, readIdx, readIdxImages, readIdxLabels } from '../src/index.js';
import { assertClose, Rng } from './helpers.js';

/** IDX bytes written by hand here (independent of encodeIdx): big-endian magic, dims, data. */
function idxBytes(magic: number, dims: readonly number[], data: readonly number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}

interface Fake {
  pixels: number[];
  labels: number[];
}

/** A tiny MNIST-like set: n images of 3x4 pixels with random bytes and labels. */
function fakeSet(rng: Rng, n: number): Fake {
  return { pixels: Array.from({ length: n * 12 }, () => rng.int(0, 256)), labels: Array.from({ length: n }, () => rng.int(0, 10)) };
}

function writeSet(dir: string, prefix: string, s: Fake, gz: boolean): void {
  const img = idxBytes(0x803, [s.labels.length, 3, 4], s.pixels);
  const lab = idxBytes(0x801, [s.labels.length], s.labels);
  writeFileSync(join(dir, `${prefix}-images-idx3-ubyte${gz ? '.gz' : ''}`), gz ? gzipSync(img) : img);
  writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte${gz ? '.gz' : ''}`), gz ? gzipSync(lab) : lab);
}

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'dl4ts-idx-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('readIdx: raw and gzipped files, labels and images', () => {
  withDir((dir) => {
    const raw = join(dir, 'a.idx');
    const gz = join(dir, 'b.bin');
    writeFileSync(raw, idxBytes(0x803, [2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255]));
    writeFileSync(gz, gzipSync(idxBytes(0x801, [4], [9, 0, 3, 7])));
    const img = readIdxImages(raw);
    assert.deepEqual([img.count, img.rows, img.cols], [2, 2, 3]);
    assert.deepEqual([...img.pixels], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255]);
    assert.deepEqual([...readIdxLabels(gz)], [9, 0, 3, 7], 'gzip detected by content, not name');
    const any = readIdx(gz);
    assert.deepEqual(any.dims, [4]);
    assert.deepEqual(Buffer.from(encodeIdx([2, 2, 3], img.pixels)), idxBytes(0x803, [2, 2, 3], [...img.pixels]), 'encodeIdx writes the same bytes');
  });
});

test('readIdx: corrupt files give errors naming the file', () => {
  withDir((dir) => {
    const p = (name: string): string => join(dir, name);
    writeFileSync(p('labels-as-images'), idxBytes(0x801, [3], [1, 2, 3]));
    assert.throws(() => readIdxImages(p('labels-as-images')), (e: Error) => e.message.includes(p('labels-as-images')) && /magic number 0x00000801, expected 0x00000803/.test(e.message));
    writeFileSync(p('garbage'), Buffer.from('hello world, not idx'));
    assert.throws(() => readIdx(p('garbage')), /'.*garbage' has magic number 0x68656c6c, not an unsigned-byte IDX file/);
    writeFileSync(p('short-data'), idxBytes(0x803, [2, 3, 4], new Array<number>(20).fill(1)));
    assert.throws(() => readIdxImages(p('short-data')), /short-data' is truncated: dimensions \[2, 3, 4\] need 24 data bytes, the file has 20/);
    writeFileSync(p('short-header'), idxBytes(0x803, [], []));
    assert.throws(() => readIdxImages(p('short-header')), /short-header' is truncated: 4 bytes, the header of a rank-3 IDX file needs 16/);
    writeFileSync(p('tiny'), Buffer.from([0, 0]));
    assert.throws(() => readIdx(p('tiny')), /tiny' is truncated: 2 bytes/);
    writeFileSync(p('extra'), idxBytes(0x801, [2], [1, 2, 3]));
    assert.throws(() => readIdxLabels(p('extra')), /extra' has 1 bytes after the 2 data bytes/);
    const full = gzipSync(idxBytes(0x801, [50], new Array<number>(50).fill(4)));
    writeFileSync(p('cut.gz'), full.subarray(0, full.length - 10));
    assert.throws(() => readIdxLabels(p('cut.gz')), /cut\.gz' is not a valid gzip file/);
    assert.throws(() => readIdx(p('missing')), /cannot read '.*missing'/);
  });
});

test('MnistDataSetIterator: features scaled or binarized, one-hot labels, order and reset', () => {
  withDir((dir) => {
    const rng = new Rng(8);
    const train = fakeSet(rng, 7);
    const t10k = fakeSet(rng, 5);
    writeSet(dir, 'train', train, true);
    writeSet(dir, 't10k', t10k, false);

    const it = new MnistDataSetIterator({ batch: 3, train: false, directory: dir });
    assert.equal(it.inputColumns, 12);
    assert.equal(it.totalOutcomes, 10);
    const feats: number[] = [];
    const labels: number[] = [];
    const sizes: number[] = [];
    for (const b of it) {
      sizes.push(b.numExamples);
      feats.push(...b.features.toFlatArray());
      labels.push(...b.labels.toFlatArray());
      b.close();
    }
    assert.deepEqual(sizes, [3, 2]);
    assertClose(feats, t10k.pixels.map((v) => v / 255), { rtol: 1e-6, message: 'test set is not shuffled by default' });
    assert.deepEqual(labels, t10k.labels.flatMap((l) => Array.from({ length: 10 }, (_, k) => (k === l ? 1 : 0))));

    const bin = new MnistDataSetIterator({ batch: 10, train: false, directory: dir, binarize: true, numExamples: 4 });
    const b = bin.next();
    assert.deepEqual(b.features.toFlatArray(), t10k.pixels.slice(0, 48).map((v) => (v > 30 ? 1 : 0)));
    assert.ok(!bin.hasNext(), 'numExamples limits the set');
    b.close();

    // Training set: shuffled; every example appears once per epoch with its own label.
    const tr = new MnistDataSetIterator({ batch: 4, train: true, directory: dir, seed: 5 });
    const epoch = (): number[][] => {
      const rows: number[][] = [];
      for (const d of tr) {
        const f = d.features.toFlatArray();
        const l = d.labels.toFlatArray();
        for (let r = 0; r < d.numExamples; r++) rows.push([...f.slice(r * 12, r * 12 + 12).map((v) => Math.round(v * 255)), l.slice(r * 10, r * 10 + 10).indexOf(1)]);
        d.close();
      }
      return rows;
    };
    const key = (r: number[]): string => r.join(',');
    const truth = train.labels.map((l, i) => [...train.pixels.slice(i * 12, i * 12 + 12), l]);
    const e1 = epoch();
    const e2 = epoch();
    assert.deepEqual(e1.map(key).sort(), truth.map(key).sort());
    assert.deepEqual(e2.map(key).sort(), truth.map(key).sort());
    assert.notDeepEqual(e1.map(key), truth.map(key), 'shuffled');
    assert.notDeepEqual(e1.map(key), e2.map(key), 'reshuffled each epoch');
  });
});

test('MnistDataSetIterator: no directory (bundled), missing files and count mismatch', () => {
  // Without `directory` the bundled digits are used (test/data-mnist-bundled.test.ts covers them).
  assert.equal(new MnistDataSetIterator({ batch: 1, train: true }).numExamples, 8000);
  withDir((dir) => {
    assert.throws(() => new MnistDataSetIterator({ batch: 1, train: true, directory: dir }), /train-images-idx3-ubyte' \(or \.gz\) not found/);
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), idxBytes(0x803, [3, 3, 4], new Array<number>(36).fill(0)));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxBytes(0x801, [2], [1, 2]));
    assert.throws(
      () => new MnistDataSetIterator({ batch: 1, train: true, directory: dir }),
      /train-images-idx3-ubyte' holds 3 images but '.*train-labels-idx1-ubyte' holds 2 labels/,
    );
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxBytes(0x801, [3], [1, 12, 2]));
    assert.throws(() => new MnistDataSetIterator({ batch: 1, train: true, directory: dir }), /train-labels-idx1-ubyte' has label 12 at example 1, expected 0\.\.9/);
  });
});
