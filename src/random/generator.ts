/**
 * The global random generator (ND4J's Nd4j.getRandom()). Kernels are stateless counter-based
 * Philox: each random call draws with the current 64-bit seed and a 32-bit stream number that
 * advances per call, so consecutive calls differ and the whole sequence replays from setSeed().
 */

/**
 * The seed before any setSeed(): a fixed constant, so runs are reproducible by default. It is the
 * xorshift64* multiplier (0x2545F4914F6CDD1D, Vigna 2016): arbitrary, odd and well mixed in both halves.
 */
export const DEFAULT_SEED = 0x2545f4914f6cdd1dn;

/** Added to the seed when the 32-bit stream counter wraps, so a long run never repeats a (seed, stream) pair (2^64 / golden ratio, odd). */
const SEED_ADVANCE = 0x9e3779b97f4a7c15n;

const STREAMS = 0x1_0000_0000;

let currentSeed = DEFAULT_SEED;
let nextStreamNo = 0;

/** What one random call draws with. */
export interface RandomState {
  /** Unsigned 64-bit Philox key. */
  readonly seed: bigint;
  /** Unsigned 32-bit stream (the third Philox counter word). */
  readonly stream: number;
}

/** A seed as an unsigned 64-bit value; integers only (negative numbers wrap as two's complement). */
export function normalizeSeed(seed: number | bigint, op = 'setSeed'): bigint {
  if (typeof seed === 'bigint') return BigInt.asUintN(64, seed);
  if (!Number.isSafeInteger(seed)) throw new Error(`${op}: the seed must be a safe integer or a bigint, got ${seed}`);
  return BigInt.asUintN(64, BigInt(seed));
}

/** Sets the global seed and restarts the stream counter (ND4J's Nd4j.getRandom().setSeed). */
export function setSeed(seed: number | bigint): void {
  currentSeed = normalizeSeed(seed);
  nextStreamNo = 0;
}

/** The current global seed (unsigned 64-bit). */
export function getSeed(): bigint {
  return currentSeed;
}

/**
 * The state for the next random call. With an explicit `seed` the call is independent of the global
 * generator (stream 0, counter untouched); otherwise it takes the global seed and the next stream.
 */
export function nextRandomState(seed?: number | bigint, op = 'random'): RandomState {
  if (seed !== undefined) return { seed: normalizeSeed(seed, op), stream: 0 };
  const state = { seed: currentSeed, stream: nextStreamNo };
  nextStreamNo++;
  if (nextStreamNo === STREAMS) {
    nextStreamNo = 0;
    currentSeed = BigInt.asUintN(64, currentSeed + SEED_ADVANCE);
  }
  return state;
}

/** Where the global generator stands: restoring it replays the same numbers (undoes calls whose work was discarded). */
export interface GeneratorPosition {
  readonly seed: bigint;
  readonly nextStream: number;
}

export function generatorPosition(): GeneratorPosition {
  return { seed: currentSeed, nextStream: nextStreamNo };
}

export function restoreGeneratorPosition(p: GeneratorPosition): void {
  currentSeed = p.seed;
  nextStreamNo = p.nextStream;
}
