import { NDArray } from '../ndarray/ndarray.js';
import { scope } from '../ndarray/scope.js';
import { formatShape } from '../ndarray/shape.js';
import { array } from '../ops/create.js';
import { mul } from '../ops/binary.js';
import { sum } from '../ops/reduce.js';
import { describe } from '../ops/util.js';
import { isGradEnabled, noGrad } from './tape.js';

export interface GradCheckOptions {
  /** Central-difference step. */
  eps?: number;
  /** Largest relative error |a - n| / max(|a|, |n|) that passes. */
  maxRelError?: number;
  /** Pairs whose absolute error is below this are not compared (both are numerically zero). */
  minAbsError?: number;
  /** Logs every element's analytic and numeric gradient, failures marked. */
  print?: boolean;
  /** Seed of the fixed random projection of the output. */
  seed?: number;
}

export interface GradCheckEntry {
  /** Which input (position in `inputs`). */
  readonly input: number;
  /** The element's multi-index in that input. */
  readonly index: readonly number[];
  readonly analytic: number;
  readonly numeric: number;
}

export interface GradCheckResult {
  /** Largest relative error over the compared pairs (0 when every pair was below minAbsError). */
  readonly maxRelError: number;
  /** Largest absolute error over all pairs. */
  readonly maxAbsError: number;
  /** The pair with the largest relative error (or, when none was compared, the largest absolute error); null without elements. */
  readonly worst: GradCheckEntry | null;
  readonly passed: boolean;
}

/** Deterministic uniform numbers in [0, 1) (mulberry32): the projection must not depend on the library's RNG. */
function uniforms(seed: number, n: number): Float64Array {
  let s = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return out;
}

/** Projection weights with magnitude in [0.5, 1.5) and random sign, so no output component is ignored. */
function projection(seed: number, n: number): Float64Array {
  const u = uniforms(seed, 2 * n);
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) r[i] = (u[2 * i]! < 0.5 ? -1 : 1) * (0.5 + u[2 * i + 1]!);
  return r;
}

/** Row-major multi-indices of a shape. */
function* indicesOf(shape: readonly number[]): Generator<number[]> {
  const n = shape.reduce((a, d) => a * d, 1);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    yield [...idx];
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a]! < shape[a]!) break;
      idx[a] = 0;
    }
  }
}

function checkInputs(inputs: readonly NDArray[]): void {
  inputs.forEach((x, i) => {
    if (x.dtype !== 'DOUBLE') throw new Error(`gradCheck: input ${i} is ${describe(x)}; gradient checks need DOUBLE inputs (float32 rounding swamps the differences)`);
    // An element reachable at two positions could not be perturbed on its own.
    if (x.shape.some((d, a) => d > 1 && x.strides[a] === 0)) {
      throw new Error(`gradCheck: input ${i} ${describe(x)} is a broadcast view (stride 0); pass a copy (dup())`);
    }
    for (let j = 0; j < i; j++) {
      if (inputs[j]!.storage === x.storage) throw new Error(`gradCheck: inputs ${j} and ${i} share storage; pass independent arrays (dup())`);
    }
  });
}

/**
 * Compares backpropagated gradients of `fn` with central differences, as DL4J's GradientCheckUtil.
 * The scalar checked is sum(fn(...inputs) * r) for a fixed random r, so non-trivial upstream
 * gradients reach every op. Inputs must be DOUBLE; they may be views (their layout is kept, so
 * non-contiguous inputs exercise strided kernels). They are perturbed in place and restored.
 */
export function gradCheck(fn: (...inputs: NDArray[]) => NDArray, inputs: readonly NDArray[], options: GradCheckOptions = {}): GradCheckResult {
  const { eps = 1e-6, maxRelError = 1e-5, minAbsError = 1e-8, print = false, seed = 0x5eed } = options;
  if (!isGradEnabled()) throw new Error('gradCheck: called inside noGrad; the analytic gradients need recording');
  checkInputs(inputs);
  return scope(() => {
    // Separate handles: marking them requireGrad leaves the caller's arrays untouched.
    const leaves = inputs.map((x) => x.share().requireGrad());
    const out = fn(...leaves);
    if (!(out instanceof NDArray) || out.dtype !== 'DOUBLE') {
      throw new Error(`gradCheck: fn must return a DOUBLE array, got ${out instanceof NDArray ? describe(out) : typeof out}`);
    }
    const r = projection(seed, out.size);
    const rArray = array(r, out.shape, { dtype: 'DOUBLE', backend: out.backend });
    if (out.requiresGrad) sum(mul(out, rArray)).backward();
    const analytic = leaves.map((l, i) => {
      if (!l.grad) return new Float64Array(l.size);
      if (l.grad.dtype !== 'DOUBLE' || l.grad.rank !== l.rank || l.grad.shape.some((d, a) => d !== l.shape[a])) {
        throw new Error(`gradCheck: the gradient of input ${i} is ${describe(l.grad)}, expected DOUBLE${formatShape(l.shape)}`);
      }
      return l.grad.data() as Float64Array;
    });

    const objective = (): number =>
      scope(() => {
        const y = fn(...inputs);
        if (y.size !== r.length) throw new Error(`gradCheck: fn's output size changed from ${r.length} to ${y.size} between calls`);
        const v = y.data() as Float64Array;
        let s = 0;
        for (let i = 0; i < v.length; i++) s += v[i]! * r[i]!;
        return s;
      });

    let maxRel = 0;
    let maxAbs = 0;
    let worst: GradCheckEntry | null = null;
    let worstKey = -1;
    noGrad(() => {
      inputs.forEach((x, i) => {
        const original = x.data() as Float64Array;
        // A plain handle to write through: the caller's array may itself require grad.
        const writer = x.share();
        let k = 0;
        for (const index of indicesOf(x.shape)) {
          const v0 = original[k]!;
          const a = analytic[i]![k]!;
          k++;
          const n = scope(() => {
            const cell = writer.get(...index);
            try {
              cell.assign(v0 + eps);
              const plus = objective();
              cell.assign(v0 - eps);
              const minus = objective();
              return (plus - minus) / (2 * eps);
            } finally {
              cell.assign(v0);
            }
          });
          const absErr = Math.abs(a - n);
          // NaN counts as compared and failing; exact agreement (also of two zeros) as 0.
          const compared = !(absErr < minAbsError);
          const rel = !compared || absErr === 0 ? 0 : absErr / Math.max(Math.abs(a), Math.abs(n));
          maxAbs = Number.isNaN(absErr) ? NaN : Math.max(maxAbs, absErr);
          maxRel = Number.isNaN(rel) ? NaN : Math.max(maxRel, rel);
          // Rank compared pairs by relative error above all uncompared ones, which rank by absolute error.
          const key = Number.isNaN(rel) ? Infinity : compared ? 1 + rel : absErr / (1 + absErr);
          if (key > worstKey) {
            worstKey = key;
            worst = { input: i, index, analytic: a, numeric: n };
          }
          if (print) {
            const flag = compared && !(rel <= maxRelError) ? '  FAIL' : '';
            console.log(`gradCheck input ${i} [${index.join(', ')}]: analytic ${a}, numeric ${n}, relative error ${rel.toExponential(3)}${flag}`);
          }
        }
        writer.close();
      });
    });
    const passed = maxRel <= maxRelError && !Number.isNaN(maxAbs);
    if (print) console.log(`gradCheck: ${passed ? 'passed' : 'FAILED'}, max relative error ${maxRel}, max absolute error ${maxAbs}`);
    return { maxRelError: maxRel, maxAbsError: maxAbs, worst, passed };
  });
}
