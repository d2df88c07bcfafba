/**
 * Shared test helpers: a seeded PRNG, float64 reference arrays built with plain JS loops (never
 * the library's own ops), and closeness assertions that report the worst element.
 */
import assert from 'node:assert/strict';
import { array, interval, memoryReport, type DataSet, type DataType, type MemoryReport, type NDArray, type TrainingListener } from '../src/index.js';

// ---- seeded random numbers ----------------------------------------------------------------------

/** mulberry32: small, fast, and the same sequence on every run for a given seed. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** An integer in [lo, hi). */
  int(lo: number, hi: number): number {
    return lo + Math.floor((hi - lo) * this.next());
  }

  /** A uint32 (for random bit patterns). */
  uint32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length)]!;
  }

  /** A shuffled copy. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** n values uniform in [lo, hi). */
  fill(n: number, lo: number, hi: number): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.uniform(lo, hi);
    return out;
  }
}

// ---- float64 reference arrays -------------------------------------------------------------------

/** A row-major float64 array with its shape: what results are checked against. */
export interface Ref {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export function sizeOfShape(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function rowMajorStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** The multi-index of row-major position `i`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    idx[d] = i % n;
    i = Math.floor(i / n);
  }
  return idx;
}

export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d]! + idx[d]!;
  return i;
}

export function makeRef(shape: readonly number[], data: ArrayLike<number>): Ref {
  assert.equal(data.length, sizeOfShape(shape), `makeRef: ${data.length} values for shape [${shape.join(', ')}]`);
  return { shape: [...shape], data: Float64Array.from(data) };
}

export function refFromFn(shape: readonly number[], f: (idx: number[], i: number) => number): Ref {
  const n = sizeOfShape(shape);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = f(unravel(i, shape), i);
  return { shape: [...shape], data };
}

/** Uniform values in [lo, hi), each passed through `quantize` (e.g. to make them exact in HALF). */
export function randomRef(rng: Rng, shape: readonly number[], lo = -1, hi = 1, quantize: (v: number) => number = (v) => v): Ref {
  return refFromFn(shape, () => quantize(rng.uniform(lo, hi)));
}

/** Numpy broadcasting of two shapes, written out independently of the library. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)]!;
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)]!;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`reference: [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** The value of `r` at a multi-index of the broadcast shape (right-aligned, size-1 axes repeat). */
function broadcastAt(r: Ref, idx: readonly number[]): number {
  const lead = idx.length - r.shape.length;
  let flat = 0;
  for (let d = 0; d < r.shape.length; d++) {
    const n = r.shape[d]!;
    flat = flat * n + (n === 1 ? 0 : idx[lead + d]!);
  }
  return r.data[flat]!;
}

export function refBroadcast(r: Ref, shape: readonly number[]): Ref {
  return refFromFn(shape, (idx) => broadcastAt(r, idx));
}

export function refMap(r: Ref, f: (v: number) => number): Ref {
  return { shape: [...r.shape], data: r.data.map(f) };
}

/** f applied elementwise with broadcasting. */
export function refZip(a: Ref, b: Ref, f: (x: number, y: number) => number): Ref {
  const shape = broadcastShape(a.shape, b.shape);
  return refFromFn(shape, (idx) => f(broadcastAt(a, idx), broadcastAt(b, idx)));
}

export function refZip3(a: Ref, b: Ref, c: Ref, f: (x: number, y: number, z: number) => number): Ref {
  const shape = broadcastShape(broadcastShape(a.shape, b.shape), c.shape);
  return refFromFn(shape, (idx) => f(broadcastAt(a, idx), broadcastAt(b, idx), broadcastAt(c, idx)));
}

/** Axes reordered: result axis i is input axis axes[i]. */
export function refPermute(r: Ref, axes: readonly number[]): Ref {
  const shape = axes.map((a) => r.shape[a]!);
  return refFromFn(shape, (idx) => {
    const src = new Array<number>(r.shape.length);
    axes.forEach((a, i) => (src[a] = idx[i]!));
    return r.data[ravel(src, r.shape)]!;
  });
}

/** Selects per axis either a list of indices (axis kept) or one index (axis dropped). */
export function refTake(r: Ref, picks: readonly (readonly number[] | number)[]): Ref {
  const full = r.shape.map((n, d) => picks[d] ?? Array.from({ length: n }, (_, i) => i));
  const shape = full.flatMap((p) => (typeof p === 'number' ? [] : [p.length]));
  return refFromFn(shape, (idx) => {
    let k = 0;
    const src = full.map((p) => (typeof p === 'number' ? p : p[idx[k++]!]!));
    return r.data[ravel(src, r.shape)]!;
  });
}

/** from, from+step, ... below to: the indices an interval selects. */
export function range(from: number, to: number, step = 1): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i += step) out.push(i);
  return out;
}

/** Each output element is f of the values over `axes` (row-major order within the reduced axes). */
export function refReduce(r: Ref, axes: readonly number[], keepDims: boolean, f: (values: number[]) => number): Ref {
  const kept = r.shape.map((n, d) => (axes.includes(d) ? 1 : n));
  const outShape = keepDims ? kept : r.shape.filter((_, d) => !axes.includes(d));
  const redShape = axes.map((a) => r.shape[a]!);
  const m = sizeOfShape(redShape);
  const sorted = [...axes].sort((x, y) => x - y);
  const out = refFromFn(kept, (idx) => {
    const values = new Array<number>(m);
    for (let j = 0; j < m; j++) {
      const sub = unravel(j, sorted.map((a) => r.shape[a]!));
      const src = [...idx];
      sorted.forEach((a, k) => (src[a] = sub[k]!));
      values[j] = r.data[ravel(src, r.shape)]!;
    }
    return f(values);
  });
  return { shape: outShape, data: out.data };
}

/** Matrix product of rank >= 2 references with broadcast batch dims. */
export function refMatmul(a: Ref, b: Ref): Ref {
  const [m, k] = a.shape.slice(-2) as [number, number];
  const [k2, n] = b.shape.slice(-2) as [number, number];
  if (k !== k2) throw new Error('refMatmul: inner dimensions differ');
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const aB = refBroadcast(a, [...batch, m, k]);
  const bB = refBroadcast(b, [...batch, k, n]);
  const nb = sizeOfShape(batch);
  const data = new Float64Array(nb * m * n);
  for (let p = 0; p < nb; p++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += aB.data[p * m * k + i * k + q]! * bB.data[p * k * n + q * n + j]!;
        data[p * m * n + i * n + j] = s;
      }
    }
  }
  return { shape: [...batch, m, n], data };
}

/** Swaps the last two axes. */
export function refTranspose(r: Ref): Ref {
  const axes = r.shape.map((_, i) => i);
  const n = axes.length;
  [axes[n - 2], axes[n - 1]] = [axes[n - 1]!, axes[n - 2]!];
  return refPermute(r, axes);
}

// ---- rounding to the storage types (value-level, exact in float64) ----------------------------

/** Round half to even of a float64 (exact: uses floor and the fraction). */
export function roundHalfEven(t: number): number {
  if (!Number.isFinite(t)) return t;
  const f = Math.floor(t);
  const d = t - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Nearest value of a binary float format with `mantBits` stored mantissa bits, smallest normal
 * exponent `minExp` and largest finite `maxFinite` (ties to even; overflow to Infinity).
 */
function roundToFormat(x: number, mantBits: number, minExp: number, maxFinite: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const e = Math.max(Math.floor(Math.log2(Math.abs(x))), minExp);
  // log2 can be off by one near powers of two; fix the exponent exactly.
  let ex = e;
  if (ex > minExp && Math.abs(x) < 2 ** ex) ex--;
  if (Math.abs(x) >= 2 ** (ex + 1)) ex++;
  const ulp = 2 ** (ex - mantBits);
  const q = roundHalfEven(x / ulp) * ulp;
  if (Math.abs(q) > maxFinite) return x > 0 ? Infinity : -Infinity;
  return q === 0 ? (x < 0 ? -0 : 0) : q;
}

/** IEEE binary16 rounding of a float64 value. */
export function toHalf(x: number): number {
  return roundToFormat(x, 10, -14, 65504);
}

/** bfloat16 rounding of a float64 value (8 significant bits, float32's exponent range). */
export function toBfloat16(x: number): number {
  return roundToFormat(x, 7, -126, 3.3895313892515355e38);
}

/** The value `v` becomes when stored in `dtype` (floats round to nearest even, integers truncate). */
export function quantizer(dtype: DataType): (v: number) => number {
  switch (dtype) {
    case 'DOUBLE': return (v) => v;
    case 'FLOAT': return Math.fround;
    case 'HALF': return toHalf;
    case 'BFLOAT16': return toBfloat16;
    case 'BOOL': return (v) => (v !== 0 ? 1 : 0);
    default: return Math.trunc;
  }
}

export interface Tolerance {
  rtol: number;
  atol: number;
}

/** A tolerance matched to a type's precision, for results computed once and rounded once. */
export function tolerance(dtype: DataType): Tolerance {
  switch (dtype) {
    case 'DOUBLE': return { rtol: 1e-12, atol: 1e-13 };
    case 'FLOAT': return { rtol: 2e-6, atol: 1e-6 };
    case 'HALF': return { rtol: 2e-3, atol: 1e-4 };
    case 'BFLOAT16': return { rtol: 1.6e-2, atol: 1e-3 };
    default: return { rtol: 0, atol: 0 };
  }
}

// ---- assertions ---------------------------------------------------------------------------------

export interface CloseOptions {
  rtol?: number;
  atol?: number;
  message?: string;
}

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| elementwise (NaN must meet NaN, infinities
 * must match exactly) and reports the worst element with its index.
 */
export function assertClose(actual: ArrayLike<number | bigint>, expected: ArrayLike<number>, options: CloseOptions = {}): void {
  const { rtol = 1e-6, atol = 0, message = '' } = options;
  const where = message ? `${message}: ` : '';
  assert.equal(actual.length, expected.length, `${where}length ${actual.length}, expected ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  let failures = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]!);
    const e = expected[i]!;
    let excess: number;
    if (Number.isNaN(e) || Number.isNaN(a)) excess = Number.isNaN(e) && Number.isNaN(a) ? 0 : Infinity;
    else if (!Number.isFinite(e) || !Number.isFinite(a)) excess = a === e ? 0 : Infinity;
    else excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (excess > 0) {
      failures++;
      if (worst < 0 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (failures > 0) {
    const a = Number(actual[worst]!);
    const e = expected[worst]!;
    assert.fail(`${where}${failures} of ${expected.length} elements differ (rtol ${rtol}, atol ${atol}); worst at flat index ${worst}: got ${a}, expected ${e} (|diff| ${Math.abs(a - e)})`);
  }
}

/** Asserts x's shape (and dtype, when given) and its values against a reference. */
export function assertArrayClose(x: NDArray, expected: Ref, options: CloseOptions & { dtype?: DataType } = {}): void {
  const where = options.message ? `${options.message}: ` : '';
  assert.deepEqual([...x.shape], [...expected.shape], `${where}shape`);
  if (options.dtype) assert.equal(x.dtype, options.dtype, `${where}dtype`);
  assertClose(x.toFlatArray(), expected.data, options);
}

/** An array of `dtype` holding the reference's values (quantize them first for exactness). */
export function toNd(r: Ref, dtype: DataType): NDArray {
  return array(r.data, r.shape, { dtype });
}

/** How a test input is laid out in memory: the kernels must give the same values for each. */
export type Layout = 'contiguous' | 'permuted' | 'strided' | 'broadcast';

export const LAYOUTS: readonly Layout[] = ['contiguous', 'permuted', 'strided', 'broadcast'];

/**
 * An input of `shape` in the given layout, with its reference: a reversed-axes view of a
 * contiguous base (permuted), every other element of a larger base (strided), or a stride-0 view
 * of a smaller array (broadcast). `sample` draws one value; it is quantized to `dtype`.
 */
export function layoutInput(rng: Rng, shape: readonly number[], dtype: DataType, layout: Layout, sample: (rng: Rng) => number = (g) => g.uniform(-1, 1)): { x: NDArray; r: Ref } {
  const q = quantizer(dtype);
  const draw = (s: readonly number[]): Ref => refFromFn(s, () => q(sample(rng)));
  const rank = shape.length;
  if (layout === 'permuted' && rank >= 2) {
    const perm = shape.map((_, i) => rank - 1 - i);
    const base = draw(perm.map((a) => shape[a]!));
    return { x: toNd(base, dtype).permute(perm), r: refPermute(base, perm) };
  }
  if (layout === 'strided' || (layout === 'permuted' && rank === 1)) {
    const base = draw(shape.map((d) => 2 * d + 1));
    const x = toNd(base, dtype).get(...shape.map((d) => interval(1, 2 * d + 1, 2)));
    return { x, r: refTake(base, shape.map((d) => range(1, 2 * d + 1, 2))) };
  }
  if (layout === 'broadcast' && rank >= 1) {
    // Drops the first axis and makes every other remaining axis size 1.
    const small = shape.slice(1).map((d, i) => (i % 2 === 0 ? 1 : d));
    const base = draw(small);
    return { x: toNd(base, dtype).broadcastTo(shape), r: refBroadcast(base, shape) };
  }
  const r = draw(shape);
  return { x: toNd(r, dtype), r };
}

/** Every subset of {0, ..., rank-1}, the empty one first. */
export function axisSubsets(rank: number): number[][] {
  const out: number[][] = [];
  for (let mask = 0; mask < 1 << rank; mask++) out.push(Array.from({ length: rank }, (_, i) => i).filter((i) => mask & (1 << i)));
  return out;
}

/**
 * Fits `ds` for 40 steps and checks that live arrays and bytes at step 39 equal those at step 5
 * (a training loop's memory stays flat); returns the report of step 5. Replaces the listeners.
 */
export function assertFlatOverFit(net: { setListeners(...l: TrainingListener[]): void; fit(ds: DataSet, epochs: number): void }, ds: DataSet): MemoryReport {
  let at5: MemoryReport | null = null;
  let at39: MemoryReport | null = null;
  net.setListeners({
    iterationDone: (_m, it) => {
      if (it === 5) at5 = memoryReport();
      if (it === 39) at39 = memoryReport();
    },
  });
  net.fit(ds, 40);
  const [a, b] = [at5 as MemoryReport | null, at39 as MemoryReport | null];
  assert.ok(a && b, 'memory reports at steps 5 and 39');
  assert.equal(b.arrays, a.arrays);
  assert.equal(b.totalBytes, a.totalBytes);
  return a;
}

/** |want - got| <= rtol * max(1, |want|) elementwise, naming the first value that differs. */
export function assertNearValues(want: readonly number[], got: readonly number[], rtol: number, what: string): void {
  assert.equal(want.length, got.length, what);
  want.forEach((v, i) => assert.ok(Math.abs(v - got[i]!) <= rtol * Math.max(1, Math.abs(v)), `${what}[${i}]: expected ${v}, got ${got[i]}`));
}

/**
 * softmax(tanh(x W0 + b0) W1 + b1) per row in float64: the reference of the small tanh/softmax
 * networks several tests build. W0 [nIn, hidden] and W1 [hidden, nOut] are row-major.
 */
export function tanhSoftmaxReference(x: readonly (readonly number[])[], W0: readonly number[], b0: readonly number[], W1: readonly number[], b1: readonly number[]): number[][] {
  const hidden = b0.length;
  const nOut = b1.length;
  return x.map((row) => {
    const h = Array.from({ length: hidden }, (_, j) => Math.tanh(b0[j]! + row.reduce((s, v, i) => s + v * W0[i * hidden + j]!, 0)));
    const z = Array.from({ length: nOut }, (_, j) => b1[j]! + h.reduce((s, v, i) => s + v * W1[i * nOut + j]!, 0));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const t = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / t);
  });
}
