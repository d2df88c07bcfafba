// Shared by the random/conv/indexing/join op tests: plain-JS float64 reference tensors and ways to
// build NDArrays with unusual layouts, so every op is checked on views as well as contiguous data.
import assert from 'node:assert/strict';
import { array, interval, type DataType, type NDArray } from '../src/index.js';

/** A row-major float64 tensor in plain JS, for computing expected results independently. */
export class Ref {
  readonly strides: number[];
  constructor(
    readonly shape: readonly number[],
    readonly data: Float64Array = new Float64Array(shape.reduce((a, b) => a * b, 1)),
  ) {
    this.strides = [];
    let s = 1;
    for (let i = shape.length - 1; i >= 0; i--) {
      this.strides[i] = s;
      s *= shape[i]!;
    }
    assert.equal(data.length, shape.reduce((a, b) => a * b, 1));
  }

  index(coords: readonly number[]): number {
    let k = 0;
    coords.forEach((c, i) => (k += c * this.strides[i]!));
    return k;
  }

  get(...coords: number[]): number {
    return this.data[this.index(coords)]!;
  }

  set(value: number, ...coords: number[]): void {
    this.data[this.index(coords)] = value;
  }

  add(value: number, ...coords: number[]): void {
    this.data[this.index(coords)] += value;
  }

  /** Calls fn with every coordinate tuple in row-major order. */
  forEach(fn: (coords: number[], flat: number) => void): void {
    const n = this.data.length;
    const c = new Array<number>(this.shape.length).fill(0);
    for (let k = 0; k < n; k++) {
      fn(c, k);
      for (let i = c.length - 1; i >= 0; i--) {
        if (++c[i]! < this.shape[i]!) break;
        c[i] = 0;
      }
    }
  }
}

/** Deterministic pseudo-random values in [-1, 1) (mulberry32), independent of the library's generator. */
export function values(n: number, seed = 1): Float64Array {
  let a = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

export function randomRef(shape: readonly number[], seed = 1): Ref {
  return new Ref(shape, values(shape.reduce((a, b) => a * b, 1), seed));
}

export type Layout = 'contiguous' | 'permuted' | 'sliced';
export const LAYOUTS: readonly Layout[] = ['contiguous', 'permuted', 'sliced'];

/**
 * An NDArray holding ref's values in the given layout: contiguous; 'permuted' (a reversed-axes
 * array viewed through permute, so no axis has stride 1 where it would); or 'sliced' (every other
 * element of a larger array along each axis, at an offset).
 */
export function toNd(ref: Ref, layout: Layout = 'contiguous', dtype: DataType = 'DOUBLE'): NDArray {
  const rank = ref.shape.length;
  if (layout === 'contiguous' || rank === 0) return array(ref.data, ref.shape, { dtype });
  if (layout === 'permuted') {
    const revShape = [...ref.shape].reverse();
    const rev = new Ref(revShape);
    ref.forEach((c, k) => rev.set(ref.data[k]!, ...[...c].reverse()));
    const base = array(rev.data, revShape, { dtype });
    const axes = revShape.map((_, i) => rank - 1 - i);
    return base.permute(axes);
  }
  const bigShape = ref.shape.map((d) => 2 * d + 1);
  const big = new Ref(bigShape, values(bigShape.reduce((a, b) => a * b, 1), 999));
  ref.forEach((c, k) => big.set(ref.data[k]!, ...c.map((x) => 2 * x + 1)));
  const base = array(big.data, bigShape, { dtype });
  return base.get(...ref.shape.map((d) => interval(1, 2 * d + 1, 2)));
}

/** Values of an NDArray as float64 numbers, row-major. */
export function flat(x: NDArray): number[] {
  return x.toFlatArray();
}

/** Asserts |a - e| <= atol + rtol * |e| elementwise, naming the first mismatch. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-12, rtol = 1e-12, what = 'values'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e)) && !(Number.isNaN(a) && Number.isNaN(e))) {
      assert.fail(`${what}: element ${i} is ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

export function assertShape(x: NDArray, shape: readonly number[]): void {
  assert.deepEqual([...x.shape], [...shape]);
}
