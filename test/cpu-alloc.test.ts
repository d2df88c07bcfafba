// The CPU backend's buffers, which native/cpu/block_cache.cc recycles by size: a recycled block is
// zero-filled when asked, two live buffers never share memory, and the live-byte count stays exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendByName } from '../src/index.js';

const cpu = backendByName('cpu');

function pattern(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + 1) & 0xff);
}

for (const bytes of [100, 70_000, 1 << 20, 5_000_003]) {
  test(`buffers of ${bytes} bytes: recycled memory is zeroed on request and never shared`, () => {
    const before = cpu.memory();
    // A dirty block goes back to the allocator, then the same size is asked for zero-filled.
    const dirty = cpu.alloc(bytes, false);
    cpu.write(dirty, 0, pattern(bytes, 1));
    cpu.free(dirty);
    const zeroed = cpu.alloc(bytes, true);
    const back = new Uint8Array(bytes);
    cpu.read(zeroed, 0, back);
    assert.equal(back.findIndex((b) => b !== 0), -1, 'a zeroed buffer reads as zeros');
    // Two live buffers of one size hold their own values.
    const other = cpu.alloc(bytes, false);
    cpu.write(zeroed, 0, pattern(bytes, 2));
    cpu.write(other, 0, pattern(bytes, 3));
    const a = new Uint8Array(bytes);
    const b = new Uint8Array(bytes);
    cpu.read(zeroed, 0, a);
    cpu.read(other, 0, b);
    assert.deepEqual(a, pattern(bytes, 2));
    assert.deepEqual(b, pattern(bytes, 3));
    assert.equal(cpu.memory().bytes, before.bytes + 2 * bytes, 'live bytes count both buffers');
    cpu.free(zeroed);
    cpu.free(other);
    assert.equal(cpu.memory().bytes, before.bytes, 'live bytes back where they were');
    assert.equal(cpu.memory().buffers, before.buffers);
  });
}

test('many allocations of changing sizes keep the live-byte count exact', () => {
  const before = cpu.memory();
  for (let round = 0; round < 40; round++) {
    // Enough distinct large sizes to overflow the recycling cache (128 MiB) and make it start over.
    const sizes = [1 << 16, 3 << 18, 9 << 20, 17 << 20, (round + 1) * 100_003];
    const buffers = sizes.map((s) => cpu.alloc(s, round % 2 === 0));
    assert.equal(cpu.memory().bytes, before.bytes + sizes.reduce((x, y) => x + y, 0));
    // The first and last bytes are usable (a short block would corrupt the heap or fault).
    buffers.forEach((buf, i) => {
      cpu.write(buf, 0, new Uint8Array([round & 0xff]));
      cpu.write(buf, sizes[i]! - 1, new Uint8Array([i]));
    });
    for (const buf of buffers) cpu.free(buf);
  }
  assert.equal(cpu.memory().bytes, before.bytes);
  assert.equal(cpu.memory().buffers, before.buffers);
});

test('small buffers are kept when freed and handed out again for their size, never for zero-filled requests; the freed buffer stays refused', () => {
  const before = cpu.memory();
  const a = cpu.alloc(4096, false);
  cpu.write(a, 0, pattern(4096, 5));
  cpu.free(a);
  assert.equal(cpu.memory().bytes, before.bytes, 'a kept buffer is not live');
  assert.equal(cpu.memory().buffers, before.buffers);
  const zeroed = cpu.alloc(4096, true);
  const back = new Uint8Array(4096);
  cpu.read(zeroed, 0, back);
  assert.equal(back.findIndex((v) => v !== 0), -1, 'a zero-filled request never gets a dirty kept buffer');
  const again = cpu.alloc(4096, false);
  const reused = new Uint8Array(4096);
  cpu.read(again, 0, reused);
  assert.deepEqual(reused, pattern(4096, 5), 'the kept memory comes back for its size (uninitialized: the old bytes)');
  // The freed buffer itself is refused by name, though its memory lives on in the new one.
  assert.throws(() => cpu.read(a, 0, reused), /dl4ts cpu read: the buffer was already released \(array closed\)/);
  assert.throws(() => cpu.write(a, 0, reused), /dl4ts cpu write: the buffer was already released/);
  assert.equal(cpu.memory().bytes, before.bytes + 2 * 4096);
  for (const b of [zeroed, again]) cpu.free(b);
  assert.equal(cpu.memory().bytes, before.bytes);
  assert.equal(cpu.memory().buffers, before.buffers);
});
