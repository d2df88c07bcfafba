/**
 * Philox4x32-10 (Salmon et al., SC'11; the Random123 counter-based generator) in plain
 * TypeScript, with the element -> counter mapping and the u1/u2/normal formulas of the native
 * `random` kernel (native/cpu/API.md, native/cpu/philox.h). Everything is exact 32-bit integer
 * arithmetic on numbers (Math.imul, >>> 0) followed by the same float64 expressions as the native
 * code, so tests can use it as an independent reference.
 */

export type PhiloxCounter = [number, number, number, number];
export type PhiloxKey = [number, number];
export type PhiloxDist = 'uniform' | 'normal' | 'truncnormal' | 'bernoulli';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const ROUNDS = 10;
const TWO_POW_26 = 67108864;
const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;
const MAX_ATTEMPTS = 65536;

function requireU32(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new RangeError(`philox: ${name} must be an integer in [0, 2^32), got ${v}`);
  }
  return v;
}

/** High 32 bits of the 64-bit product of two uint32 values (16-bit limbs, exact in float64). */
function mulHi32(a: number, b: number): number {
  const aHi = a >>> 16;
  const aLo = a & 0xffff;
  const bHi = b >>> 16;
  const bLo = b & 0xffff;
  const mid = aHi * bLo + aLo * bHi; // < 2^33
  const low = aLo * bLo + (mid % 65536) * 65536; // < 2^33
  return (aHi * bHi + Math.floor(mid / 65536) + Math.floor(low / TWO_POW_32)) >>> 0;
}

/** One Philox4x32-10 block: 10 rounds, the key bumped by the Weyl constants between rounds. */
export function philox4x32(counter: [number, number, number, number], key: [number, number]): [number, number, number, number] {
  let c0 = requireU32(counter[0], 'counter[0]');
  let c1 = requireU32(counter[1], 'counter[1]');
  let c2 = requireU32(counter[2], 'counter[2]');
  let c3 = requireU32(counter[3], 'counter[3]');
  let k0 = requireU32(key[0], 'key[0]');
  let k1 = requireU32(key[1], 'key[1]');
  for (let r = 0; r < ROUNDS; ++r) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulHi32(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulHi32(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    const n0 = (hi1 ^ c1 ^ k0) >>> 0;
    const n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  return [c0, c1, c2, c3];
}

/** ((a >> 5) * 2^26 + (b >> 6) + 0.5) / 2^53, evaluated left to right like the native code. */
function unit53(a: number, b: number): number {
  return ((a >>> 5) * TWO_POW_26 + (b >>> 6) + 0.5) / TWO_POW_53;
}

/**
 * The (u1, u2) pair of element `index` (row-major index in the output): counter
 * (index mod 2^32, floor(index / 2^32), stream, attempt), key (seedLo, seedHi).
 */
export function philoxUniformPair(seedLo: number, seedHi: number, stream: number, index: number, attempt: number): [number, number] {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new RangeError(`philox: index must be a non-negative safe integer, got ${index}`);
  }
  const w = philox4x32([index % TWO_POW_32, Math.floor(index / TWO_POW_32), stream, attempt], [seedLo, seedHi]);
  return [unit53(w[0], w[1]), unit53(w[2], w[3])];
}

/** Standard normal of one attempt: sqrt(-2 ln u1) * cos(2 pi u2). */
export function philoxStandardNormal(seedLo: number, seedHi: number, stream: number, index: number, attempt: number): number {
  const [u1, u2] = philoxUniformPair(seedLo, seedHi, stream, index, attempt);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * The value the native `random(dist, out, seedLo, seedHi, stream, p1, p2)` computes (in double,
 * before rounding to out's dtype) for element `index`.
 */
export function philoxSample(
  dist: PhiloxDist,
  seedLo: number,
  seedHi: number,
  stream: number,
  index: number,
  p1: number,
  p2: number,
): number {
  switch (dist) {
    case 'uniform': {
      const [u1] = philoxUniformPair(seedLo, seedHi, stream, index, 0);
      return p1 + (p2 - p1) * u1;
    }
    case 'bernoulli': {
      const [u1] = philoxUniformPair(seedLo, seedHi, stream, index, 0);
      return u1 < p1 ? 1 : 0;
    }
    case 'normal':
      return p1 + p2 * philoxStandardNormal(seedLo, seedHi, stream, index, 0);
    case 'truncnormal': {
      let z = philoxStandardNormal(seedLo, seedHi, stream, index, 0);
      for (let attempt = 1; Math.abs(z) > 2 && attempt < MAX_ATTEMPTS; ++attempt) {
        z = philoxStandardNormal(seedLo, seedHi, stream, index, attempt);
      }
      if (Math.abs(z) > 2) z = 0;
      return p1 + p2 * z;
    }
  }
}
