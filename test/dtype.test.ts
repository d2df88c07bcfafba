/**
 * HALF and BFLOAT16 conversions, bit for bit: every 16-bit pattern widens exactly and narrows back
 * to itself, and float32 -> 16-bit rounds to nearest even (ties, overflow, subnormals, NaN) as the
 * bit-level references written here say. The value-level quantizers in helpers.ts are checked
 * against the same references, so the two cannot share a mistake unnoticed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../src/index.js';
import type { DataType, NDArray } from '../src/index.js';
import { Rng, toBfloat16, toHalf } from './helpers.js';

// ---- bit-level references -------------------------------------------------------------------------

/** The value of a binary16 bit pattern. */
function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1024 + m) * 2 ** (e - 25);
}

/** binary16 bits of a float32 given by its bits, rounding to nearest even (IEEE 754). */
function floatToHalfBits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  const mant = f & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127;
  if (e > 15) return sign | 0x7c00;
  if (e >= -14) {
    // Normal: keep the top 10 mantissa bits; a carry out of the mantissa correctly bumps the exponent (to Inf at the top).
    let h = ((e + 15) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
    return sign | h;
  }
  if (exp === 0) return sign; // float32 subnormals are far below half's smallest subnormal
  // Half subnormal: count units of 2^-24. The float is sig * 2^(e-23), i.e. sig / 2^shift units.
  const sig = mant | 0x800000;
  const shift = -e - 1;
  if (shift > 25) return sign;
  const q = Math.floor(sig / 2 ** shift);
  const rem = sig - q * 2 ** shift;
  const half = 2 ** (shift - 1);
  return sign | (rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q);
}

/** bfloat16 bits of a float32 given by its bits: round to nearest even on the top 16 bits. */
function floatToBf16Bits(f: number): number {
  if ((f & 0x7f800000) === 0x7f800000 && (f & 0x7fffff) !== 0) return ((f >>> 16) | 0x40) & 0xffff;
  const lsb = (f >>> 16) & 1;
  return Math.floor(((f >>> 0) + 0x7fff + lsb) / 65536) & 0xffff;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOf = (x: number): number => {
  f32[0] = x;
  return u32[0]!;
};
const valueOfBits = (b: number): number => {
  u32[0] = b;
  return f32[0]!;
};

// ---- raw bit access to arrays ---------------------------------------------------------------------

/** An array whose storage holds exactly these bit patterns (no JS number round trip, so NaN payloads survive). */
function fromBits(bits: Uint16Array | Uint32Array, dtype: DataType): NDArray {
  const x = dl.NDArray.empty([bits.length], dtype, dl.getBackend());
  x.backend.write(x.buffer, 0, bits);
  return x;
}

function bits16(x: NDArray): Uint16Array {
  return x.rawData() as Uint16Array;
}

function bits32(x: NDArray): Uint32Array {
  const f = x.rawData() as Float32Array;
  return new Uint32Array(f.buffer, f.byteOffset, f.length);
}

const isNaN16 = (b: number, dtype: 'HALF' | 'BFLOAT16'): boolean =>
  dtype === 'HALF' ? (b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0 : (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;

/** Compares 16-bit results with expected patterns (any NaN matches any NaN); reports the first mismatch. */
function assertBits16(actual: Uint16Array, expected: ArrayLike<number>, inputs: ArrayLike<number>, dtype: 'HALF' | 'BFLOAT16', what: string): void {
  assert.equal(actual.length, expected.length);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    const ok = isNaN16(e, dtype) ? isNaN16(a, dtype) : a === e;
    if (!ok) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad) {
    const hex = (v: number, w: number): string => `0x${v.toString(16).padStart(w, '0')}`;
    assert.fail(`${what}: ${bad} of ${expected.length} wrong; first at ${first}: input ${hex(inputs[first]!, 8)} (${valueOfBits(inputs[first]!)}) gave ${hex(actual[first]!, 4)}, expected ${hex(expected[first]!, 4)}`);
  }
}

// ---- HALF -----------------------------------------------------------------------------------------

describe('HALF', () => {
  it('references agree: bit-level rounding and the value-level quantizer of helpers.ts', () => {
    const rng = new Rng(1);
    for (let i = 0; i < 200000; i++) {
      const b = rng.uint32();
      const v = valueOfBits(b);
      if (Number.isNaN(v)) continue;
      const h = floatToHalfBits(b);
      assert.ok(Object.is(halfValue(h), toHalf(v)) || halfValue(h) === toHalf(v), `0x${b.toString(16)}: ${halfValue(h)} vs ${toHalf(v)}`);
    }
  });

  it('every one of the 65,536 bit patterns widens to FLOAT exactly and narrows back to itself', () => {
    dl.scope(() => {
      const all = new Uint16Array(65536).map((_, i) => i);
      const h = fromBits(all, 'HALF');
      const f = h.castTo('FLOAT');
      const wide = f.rawData() as Float32Array;
      let bad = 0;
      for (let i = 0; i < 65536; i++) {
        const e = halfValue(i);
        if (Number.isNaN(e) ? !Number.isNaN(wide[i]!) : !Object.is(wide[i]!, e)) bad++;
      }
      assert.equal(bad, 0, `${bad} patterns widened wrongly (e.g. -0 must stay -0, NaN stay NaN)`);
      assertBits16(bits16(f.castTo('HALF')), all, all, 'HALF', 'HALF -> FLOAT -> HALF');
      // Through DOUBLE as well.
      assertBits16(bits16(h.castTo('DOUBLE').castTo('HALF')), all, all, 'HALF', 'HALF -> DOUBLE -> HALF');
    });
  });

  it('FLOAT -> HALF rounds ties to even, just-off-tie values to nearest, and overflows to Infinity', () => {
    dl.scope(() => {
      const inputs: number[] = [];
      for (let b = 0; b < 0x7c00; b++) {
        // The midpoint between b and b + 1 (65520 after the largest finite), and its float32 neighbours.
        const lo = halfValue(b);
        const hi = b === 0x7bff ? 65536 : halfValue(b + 1);
        const mid = bitsOf((lo + hi) / 2);
        assert.equal(valueOfBits(mid), (lo + hi) / 2, 'midpoints are exact in float32');
        for (const m of [mid, mid - 1, mid + 1]) {
          inputs.push(m, (m | 0x80000000) >>> 0);
        }
      }
      const src = Uint32Array.from(inputs);
      const out = bits16(fromBits(src, 'FLOAT').castTo('HALF'));
      assertBits16(out, Array.from(src, floatToHalfBits), src, 'HALF', 'midpoints');
      // Spot checks written out: ties go to the even neighbour.
      const spot: [number, number][] = [
        [1 + 2 ** -11, 0x3c00], // tie between 1 and 1 + 2^-10: even is 1
        [1 + 3 * 2 ** -11, 0x3c02], // tie: even is 1 + 2^-9
        [65519.99609375, 0x7bff], // just below the overflow tie
        [65520, 0x7c00], // the tie above 65504 goes to Infinity
        [1e6, 0x7c00],
        [-1e6, 0xfc00],
        [2 ** -24, 0x0001], // smallest subnormal
        [2 ** -25, 0x0000], // tie with zero: even is zero
        [3 * 2 ** -25, 0x0002], // tie between 1 and 2 units: even is 2
        [1023.5 * 2 ** -24, 0x0400], // largest subnormal tie carries into the smallest normal
        [-(2 ** -26), 0x8000], // underflow keeps the sign
      ];
      const s = Uint32Array.from(spot.map(([v]) => bitsOf(v)));
      assertBits16(bits16(fromBits(s, 'FLOAT').castTo('HALF')), spot.map(([, h]) => h), s, 'HALF', 'spot values');
      assert.deepEqual(spot.map(([, h]) => h), Array.from(s, floatToHalfBits), 'the reference agrees with the spot values');
    });
  });

  it('FLOAT -> HALF on 200,000 random float32 bit patterns (NaN, Inf, subnormals included)', () => {
    dl.scope(() => {
      const rng = new Rng(7);
      const src = new Uint32Array(200000);
      for (let i = 0; i < src.length; i++) {
        // Half of them near half's range, where the interesting rounding happens.
        src[i] = i % 2 ? rng.uint32() : ((rng.uint32() & 0x807fffff) | ((rng.int(100, 145) & 0xff) << 23)) >>> 0;
      }
      src[0] = 0x7fc00000;
      src[1] = 0x7f800001; // signalling NaN
      src[2] = 0xffffffff;
      src[3] = 0x7f800000;
      src[4] = 0x00000001;
      assertBits16(bits16(fromBits(src, 'FLOAT').castTo('HALF')), Array.from(src, floatToHalfBits), src, 'HALF', 'random patterns');
    });
  });

  it('HALF arithmetic rounds its float32 result to nearest even', () => {
    dl.scope(() => {
      const a = dl.array([1, 1, 2048, -1], [4], { dtype: 'HALF' });
      const b = dl.array([2 ** -11, 3 * 2 ** -11, 1, -(2 ** -11)], [4], { dtype: 'HALF' });
      // 2048 + 1: the half spacing at 2048 is 2, a tie that goes to the even 2048.
      assert.deepEqual(Array.from(bits16(dl.add(a, b))), [0x3c00, 0x3c02, 0x6800, 0xbc00]);
    });
  });
});

// ---- BFLOAT16 -------------------------------------------------------------------------------------

describe('BFLOAT16', () => {
  it('references agree: bit-level rounding and the value-level quantizer of helpers.ts', () => {
    const rng = new Rng(2);
    for (let i = 0; i < 200000; i++) {
      const b = rng.uint32();
      const v = valueOfBits(b);
      if (Number.isNaN(v)) continue;
      const r = valueOfBits(floatToBf16Bits(b) << 16);
      assert.ok(Object.is(r, toBfloat16(v)) || r === toBfloat16(v), `0x${b.toString(16)}: ${r} vs ${toBfloat16(v)}`);
    }
  });

  it('every one of the 65,536 bit patterns widens to FLOAT exactly (bits << 16) and narrows back to itself', () => {
    dl.scope(() => {
      const all = new Uint16Array(65536).map((_, i) => i);
      const b = fromBits(all, 'BFLOAT16');
      const f = b.castTo('FLOAT');
      const wide = bits32(f);
      let bad = 0;
      for (let i = 0; i < 65536; i++) {
        const expected = (i << 16) >>> 0;
        const nan = isNaN16(i, 'BFLOAT16');
        if (nan ? !Number.isNaN(valueOfBits(wide[i]!)) : wide[i] !== expected) bad++;
      }
      assert.equal(bad, 0, `${bad} patterns widened wrongly`);
      assertBits16(bits16(f.castTo('BFLOAT16')), all, all, 'BFLOAT16', 'BFLOAT16 -> FLOAT -> BFLOAT16');
      assertBits16(bits16(b.castTo('DOUBLE').castTo('BFLOAT16')), all, all, 'BFLOAT16', 'BFLOAT16 -> DOUBLE -> BFLOAT16');
    });
  });

  it('FLOAT -> BFLOAT16: every tie, its neighbours, NaN payloads and overflow', () => {
    dl.scope(() => {
      const inputs: number[] = [];
      for (let b = 0; b < 65536; b++) {
        if ((b & 0x7f80) === 0x7f80) continue; // Inf and NaN have no ties
        const mid = ((b << 16) | 0x8000) >>> 0;
        inputs.push(mid, mid - 1, mid + 1);
      }
      // NaNs whose low bits are set must stay NaN (a naive add-and-shift turns 0x7fffffff into -0 or Inf).
      inputs.push(0x7fffffff, 0xffffffff, 0x7f800001, 0x7fc00000, 0x7f80ffff, 0xff807fff);
      inputs.push(0x7f7fffff, 0x7f7f8000, 0x7f7f7fff, 0xff7fffff); // the largest floats: overflow or not
      const src = Uint32Array.from(inputs);
      assertBits16(bits16(fromBits(src, 'FLOAT').castTo('BFLOAT16')), Array.from(src, floatToBf16Bits), src, 'BFLOAT16', 'ties');
      const spot: [number, number][] = [
        [0x7f7fffff, 0x7f80], // max float rounds up to Infinity
        [0x7f7f8000, 0x7f80], // tie, 0x7f7f is odd: up, to Infinity
        [0x7f7f7fff, 0x7f7f],
        [0x3f808000, 0x3f80], // 1 + 2^-8: tie, even is 1
        [0x3f818000, 0x3f82], // tie, 0x3f81 odd: up
        [0x00008000, 0x0000], // subnormal tie to zero
        [0x00018000, 0x0002],
      ];
      assert.deepEqual(spot.map(([f]) => floatToBf16Bits(f)), spot.map(([, b]) => b), 'the reference agrees with the spot values');
      const s = Uint32Array.from(spot.map(([f]) => f));
      assertBits16(bits16(fromBits(s, 'FLOAT').castTo('BFLOAT16')), spot.map(([, b]) => b), s, 'BFLOAT16', 'spot values');
    });
  });

  it('FLOAT -> BFLOAT16 on 200,000 random float32 bit patterns', () => {
    dl.scope(() => {
      const rng = new Rng(9);
      const src = new Uint32Array(200000).map(() => rng.uint32());
      assertBits16(bits16(fromBits(src, 'FLOAT').castTo('BFLOAT16')), Array.from(src, floatToBf16Bits), src, 'BFLOAT16', 'random patterns');
    });
  });

  it('HALF -> BFLOAT16 and back go through exact float32 values', () => {
    dl.scope(() => {
      const all = new Uint16Array(0x7c00).map((_, i) => i);
      const h = fromBits(all, 'HALF');
      const expected = Array.from(all, (b) => floatToBf16Bits(bitsOf(halfValue(b))));
      const hs = Uint32Array.from(all, (b) => bitsOf(halfValue(b)));
      assertBits16(bits16(h.castTo('BFLOAT16')), expected, hs, 'BFLOAT16', 'HALF -> BFLOAT16');
      const back = Array.from(expected, (b) => floatToHalfBits((b << 16) >>> 0));
      assertBits16(bits16(h.castTo('BFLOAT16').castTo('HALF')), back, hs, 'HALF', 'HALF -> BFLOAT16 -> HALF');
    });
  });
});
