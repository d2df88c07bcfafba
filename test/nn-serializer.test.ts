// ModelSerializer (binary model file) and safetensors: exact round trips, exact continued training,
// clear errors for corrupted / truncated / mismatched files, and the safetensors byte layout
// checked against bytes built by hand in this test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MultiLayerNetwork, ModelSerializer, exportSafetensors, importSafetensors, NormalizerStandardize, DataSet, array, crc32,
  type NeuralNetConfiguration, type NDArray,
} from '../src/index.js';
import { Rng } from './helpers.js';

function conf(dataType: 'DOUBLE' | 'FLOAT', seed = 7): NeuralNetConfiguration {
  return {
    seed, dataType, updater: { type: 'adam', learningRate: 0.05 }, l2: 0.01,
    layers: [
      { type: 'dense', nIn: 3, nOut: 5, activation: 'tanh' },
      { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  };
}

function data(seed: number, n = 8, dtype: 'DOUBLE' | 'FLOAT' = 'DOUBLE'): DataSet {
  const rng = new Rng(seed);
  const x = Array.from({ length: n }, () => [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)]);
  const y = x.map((r) => (r[0]! + r[1]! > 0 ? [1, 0] : [0, 1]));
  return new DataSet(array(x, { dtype }), array(y, { dtype }));
}

/** Exact equality of raw storage (bit patterns), which also distinguishes -0 and NaN payloads. */
function assertBitEqual(a: NDArray, b: NDArray, what: string): void {
  assert.equal(a.dtype, b.dtype, what);
  assert.deepEqual(a.shape, b.shape, what);
  const ra = a.rawData();
  const rb = b.rawData();
  assert.deepEqual(new Uint8Array(ra.buffer, ra.byteOffset, ra.byteLength), new Uint8Array(rb.buffer, rb.byteOffset, rb.byteLength), what);
}

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dl4ts-ser-'));
  try {
    await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('crc32 matches the standard check value and a bitwise reference', () => {
  assert.equal(crc32(Buffer.from('123456789', 'latin1')), 0xcbf43926);
  const bytes = new Uint8Array(300).map((_, i) => (i * 37 + 11) & 0xff);
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  assert.equal(crc32(bytes), (c ^ 0xffffffff) >>> 0);
  assert.equal(crc32(bytes.subarray(100), crc32(bytes.subarray(0, 100))), crc32(bytes));
});

for (const dtype of ['DOUBLE', 'FLOAT'] as const) {
  test(`round trip (${dtype}): bit-identical params, updater state, outputs, counters and normalizer`, async () => {
    await withDir(async (dir) => {
      const net = new MultiLayerNetwork(conf(dtype)).init();
      const ds = data(1, 8, dtype);
      net.fit(ds, 3);
      const norm = new NormalizerStandardize();
      norm.fit(ds);
      const path = join(dir, 'model.bin');
      await ModelSerializer.writeModel(net, path, { normalizer: norm });
      const { network, normalizer } = await ModelSerializer.restoreMultiLayerNetwork(path);
      assert.equal(network.iterationCount, 3);
      assert.equal(network.epochCount, 3);
      assert.deepEqual(network.conf, net.conf);
      for (const [k, p] of net.paramTable()) assertBitEqual(network.paramTable().get(k)!, p, k);
      const s1 = net.updaterState();
      const s2 = network.updaterState();
      assert.deepEqual(Object.keys(s2).sort(), Object.keys(s1).sort());
      assert.ok(Object.keys(s1).length > 0);
      for (const k of Object.keys(s1)) assertBitEqual(s2[k]!, s1[k]!, k);
      assertBitEqual(network.output(ds.features), net.output(ds.features), 'output');
      assert.ok(normalizer);
      assertBitEqual(normalizer.transformFeatures(ds.features), norm.transformFeatures(ds.features), 'normalizer');
      net.close();
      network.close();
      ds.close();
    });
  });
}

test('continued training after restore is exact; without the updater state it differs', async () => {
  await withDir(async (dir) => {
    const ds = data(2);
    const net = new MultiLayerNetwork(conf('DOUBLE')).init();
    net.fit(ds, 5);
    const path = join(dir, 'm.bin');
    await ModelSerializer.writeModel(net, path);
    const { network, normalizer } = await ModelSerializer.restoreMultiLayerNetwork(path);
    assert.equal(normalizer, null);
    const fresh = (await ModelSerializer.restoreMultiLayerNetwork(path, { loadUpdater: false })).network;
    net.fit(ds, 5);
    network.fit(ds, 5);
    fresh.fit(ds, 5);
    assertBitEqual(network.params(), net.params(), 'params after 5 more steps');
    assert.equal(network.iterationCount, 10);
    const a = net.params().toFlatArray();
    const b = fresh.params().toFlatArray();
    assert.ok(a.some((v, i) => Math.abs(v - b[i]!) > 1e-9), 'fresh Adam state must change the trajectory');
    // saveUpdater: false stores no state, so it trains like loadUpdater: false.
    const p2 = join(dir, 'noupd.bin');
    const n0 = new MultiLayerNetwork(conf('DOUBLE')).init();
    n0.fit(ds, 5);
    await ModelSerializer.writeModel(n0, p2, { saveUpdater: false });
    const small = (await readFile(p2)).byteLength;
    assert.ok(small < (await readFile(path)).byteLength);
    const r = (await ModelSerializer.restoreMultiLayerNetwork(p2)).network;
    r.fit(ds, 5);
    assertBitEqual(r.params(), fresh.params(), 'no saved updater = fresh updater');
    for (const n of [net, network, fresh, n0, r]) n.close();
    ds.close();
  });
});

test('corrupted, truncated and foreign files give clear errors naming the file', async () => {
  await withDir(async (dir) => {
    const net = new MultiLayerNetwork(conf('FLOAT')).init();
    const path = join(dir, 'good.bin');
    await ModelSerializer.writeModel(net, path);
    const good = await readFile(path);
    const check = async (name: string, bytes: Buffer, re: RegExp): Promise<void> => {
      const p = join(dir, name);
      await writeFile(p, bytes);
      await assert.rejects(ModelSerializer.restoreMultiLayerNetwork(p), (e: Error) => e.message.includes(p) && re.test(e.message));
    };
    const flipped = Buffer.from(good);
    flipped[flipped.length - 3] ^= 0x10;
    await check('flip.bin', flipped, /CRC-32 mismatch/);
    const magic = Buffer.from(good);
    magic[0] = 0x58;
    await check('magic.bin', magic, /bad magic/);
    await check('trunc.bin', good.subarray(0, good.length - 10), /truncated/);
    await check('tiny.bin', good.subarray(0, 10), /truncated/);
    await check('head.bin', good.subarray(0, 40), /truncated/);
    await assert.rejects(ModelSerializer.restoreMultiLayerNetwork(join(dir, 'missing.bin')), /missing\.bin/);
    net.close();
  });
});

test('safetensors export: byte layout read back by hand; import restores exactly', async () => {
  await withDir(async (dir) => {
    const net = new MultiLayerNetwork(conf('FLOAT')).init();
    const path = join(dir, 'w.safetensors');
    await exportSafetensors(net, path, { note: 'hi' });
    const bytes = await readFile(path);
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    assert.deepEqual(header['__metadata__'], { format: 'dl4ts', note: 'hi' });
    const names = Object.keys(header).filter((k) => k !== '__metadata__').sort();
    assert.deepEqual(names, ['0_W', '0_b', '1_W', '1_b']);
    for (const [k, p] of net.paramTable()) {
      const e = header[k]!;
      assert.equal(e.dtype, 'F32');
      assert.deepEqual(e.shape, [...p.shape]);
      const vals = p.toFlatArray();
      assert.equal(e.data_offsets[1] - e.data_offsets[0], vals.length * 4);
      vals.forEach((v, i) => assert.equal(bytes.readFloatLE(8 + n + e.data_offsets[0] + 4 * i), v));
    }
    const other = new MultiLayerNetwork(conf('FLOAT', 99)).init();
    const meta = await importSafetensors(other, path);
    assert.equal(meta['note'], 'hi');
    for (const [k, p] of net.paramTable()) assertBitEqual(other.paramTable().get(k)!, p, k);
    net.close();
    other.close();
  });
});

/** A safetensors file assembled in the test: header JSON, padding-free, F64 data via DataView. */
function handBuilt(tensors: Record<string, { dtype: string; shape: number[]; values: number[] }>, extraHeader: Record<string, unknown> = {}): Buffer {
  const header: Record<string, unknown> = { __metadata__: { source: 'hand' }, ...extraHeader };
  let offset = 0;
  const parts: Buffer[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const width = t.dtype === 'F64' ? 8 : 4;
    const b = Buffer.alloc(t.values.length * width);
    t.values.forEach((v, i) => (width === 8 ? b.writeDoubleLE(v, 8 * i) : b.writeFloatLE(v, 4 * i)));
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + b.length] };
    offset += b.length;
    parts.push(b);
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...parts]);
}

test('safetensors import: a hand-built file, and validation of names, shapes, dtypes and bounds', async () => {
  await withDir(async (dir) => {
    const net = new MultiLayerNetwork(conf('DOUBLE')).init();
    const vals = (n: number, k: number): number[] => Array.from({ length: n }, (_, i) => (i + 1) * 0.125 * k - 0.3);
    const tensors = {
      '0_W': { dtype: 'F64', shape: [3, 5], values: vals(15, 1) },
      '0_b': { dtype: 'F64', shape: [1, 5], values: vals(5, 2) },
      '1_W': { dtype: 'F64', shape: [5, 2], values: vals(10, 3) },
      '1_b': { dtype: 'F64', shape: [1, 2], values: vals(2, 4) },
    };
    // The parameter shapes are the network's own; read them so the file matches whatever layout it uses.
    for (const [k, p] of net.paramTable()) tensors[k as keyof typeof tensors].shape = [...p.shape];
    const p = join(dir, 'hand.safetensors');
    await writeFile(p, handBuilt(tensors));
    const meta = await importSafetensors(net, p);
    assert.equal(meta['source'], 'hand');
    for (const [k, t] of Object.entries(tensors)) assert.deepEqual(net.paramTable().get(k)!.toFlatArray(), t.values);

    const before = net.params().toFlatArray();
    const fail = async (name: string, bytes: Buffer, re: RegExp): Promise<void> => {
      const f = join(dir, name);
      await writeFile(f, bytes);
      await assert.rejects(importSafetensors(net, f), (e: Error) => e.message.includes(f) && re.test(e.message));
      assert.deepEqual(net.params().toFlatArray(), before, `${name} must leave the network unchanged`);
    };
    const { '1_b': _drop, ...missing } = tensors;
    await fail('missing.st', handBuilt(missing), /missing \[1_b\]/);
    await fail('extra.st', handBuilt({ ...tensors, '2_W': { dtype: 'F64', shape: [1], values: [1] } }), /unexpected \[2_W\]/);
    await fail('shape.st', handBuilt({ ...tensors, '0_W': { dtype: 'F64', shape: [15], values: vals(15, 1) } }), /'0_W' is F64\[15\]/);
    await fail('dtype.st', handBuilt({ ...tensors, '0_b': { ...tensors['0_b'], dtype: 'F32' } }), /'0_b' is F32.*F64/);
    await fail('unknown.st', handBuilt({ ...tensors, '0_b': { ...tensors['0_b'], dtype: 'I8' } }), /dtype 'I8'/);
    const full = handBuilt(tensors);
    await fail('trunc.st', full.subarray(0, full.length - 4), /truncated/);
    await fail('short.st', full.subarray(0, 5), /truncated/);
    const badJson = Buffer.from(full);
    badJson[9] = 0x7d;
    await fail('json.st', badJson, /not valid JSON/);
    net.close();
  });
});

test('16-bit floats travel as their IEEE bit patterns in both directions', async () => {
  const { tensorBytes, tensorFromBytes } = await import('../src/nn/tensor-bytes.js');
  const values = [0.5, -2, 1.25, 0, 1];
  // Standard encodings: half 0.5=0x3800, -2=0xC000, 1.25=0x3D00, 0=0, 1=0x3C00; bfloat16 = top 16 bits of float32.
  const cases = { HALF: [0x3800, 0xc000, 0x3d00, 0x0000, 0x3c00], BFLOAT16: [0x3f00, 0xc000, 0x3fa0, 0x0000, 0x3f80] } as const;
  for (const [dtype, bits] of Object.entries(cases) as [('HALF' | 'BFLOAT16'), readonly number[]][]) {
    const a = array(values, [5], { dtype });
    const bytes = tensorBytes(a, 'test');
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => bytes.readUInt16LE(2 * i)), bits, dtype);
    const extra = [2 ** -24, 65504, -0.0009765625];
    const raw = Buffer.alloc(2 * (bits.length + extra.length));
    bits.forEach((b, i) => raw.writeUInt16LE(b, 2 * i));
    if (dtype === 'HALF') [0x0001, 0x7bff, 0x9400].forEach((b, i) => raw.writeUInt16LE(b, 2 * (bits.length + i)));
    else extra.forEach((v, i) => { const f = Buffer.alloc(4); f.writeFloatLE(v); raw.writeUInt16LE(f.readUInt16LE(2), 2 * (bits.length + i)); });
    const back = tensorFromBytes(raw, dtype, [8], 'test');
    assert.deepEqual(tensorBytes(back, 'test'), raw, `${dtype} bits round trip`);
    if (dtype === 'HALF') assert.deepEqual(back.toFlatArray(), [...values, ...extra]);
    assert.throws(() => tensorFromBytes(raw.subarray(2), dtype, [8], 'test'), /14 bytes do not hold/);
    a.close();
    back.close();
  }
});
