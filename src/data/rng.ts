import { philoxUniformPair } from '../random/philox.js';
import { normalizeSeed } from '../random/generator.js';

/**
 * A seeded permutation of 0..n-1 (Fisher-Yates) drawing from the library's Philox generator, so
 * data shuffles replay exactly for a seed without touching the global random stream.
 */
export function permutation(n: number, seed: number | bigint, op = 'shuffle'): number[] {
  const s = normalizeSeed(seed, op);
  const lo = Number(s & 0xffffffffn);
  const hi = Number(s >> 32n);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const u = philoxUniformPair(lo, hi, 0, i, 0)[0];
    const j = Math.min(i, Math.floor(u * (i + 1)));
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}
