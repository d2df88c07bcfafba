import type { Backend, RandomDistribution } from '../backend/backend.js';
import { getBackend } from '../backend/registry.js';
import { needsGrad, record } from '../autodiff/tape.js';
import { type DataType, defaultFloatType, isFloating } from '../ndarray/dtype.js';
import { NDArray } from '../ndarray/ndarray.js';
import { checkShape, type Shape } from '../ndarray/shape.js';
import { nextRandomState } from '../random/generator.js';
import { binaryRaw } from './binary.js';
import { requireFloating } from './util.js';

export { setSeed, getSeed, DEFAULT_SEED } from '../random/generator.js';

export interface RandomOptions {
  /** Default: the default float type. */
  dtype?: DataType;
  backend?: Backend;
  /** Draw with this seed (stream 0) instead of the global generator, which is then left untouched. */
  seed?: number | bigint;
}

export interface UniformOptions extends RandomOptions {
  /** Inclusive lower bound (default 0). */
  low?: number;
  /** Exclusive upper bound (default 1). */
  high?: number;
}

export interface NormalOptions extends RandomOptions {
  mean?: number;
  /** Standard deviation, > 0 (default 1). */
  std?: number;
}

/** Fills a new array from one Philox draw: one (seed, stream) per call, element i uses counter i. */
function draw(op: string, dist: RandomDistribution, shape: Shape, p1: number, p2: number, options: RandomOptions, floatOnly: boolean): NDArray {
  checkShape(shape, op);
  const dtype = options.dtype ?? defaultFloatType();
  if (floatOnly && !isFloating(dtype)) throw new Error(`${op}: expected a floating dtype (DOUBLE, FLOAT, HALF, BFLOAT16), got ${dtype}`);
  const backend = options.backend ?? getBackend();
  const { seed, stream } = nextRandomState(options.seed, op);
  const out = NDArray.uninitialized(shape, dtype, backend);
  if (out.size > 0) backend.random(dist, out, seed, stream, p1, p2);
  return out;
}

function checkFinite(op: string, name: string, v: number): void {
  if (!Number.isFinite(v)) throw new Error(`${op}: ${name} must be a finite number, got ${v}`);
}

function checkStd(op: string, std: number): void {
  if (!(std > 0) || !Number.isFinite(std)) throw new Error(`${op}: std must be a finite number > 0, got ${std}`);
}

/** Uniform values in [low, high) (ND4J's Nd4j.rand). */
export function rand(shape: Shape, options: UniformOptions = {}): NDArray {
  const { low = 0, high = 1 } = options;
  checkFinite('rand', 'low', low);
  checkFinite('rand', 'high', high);
  if (!(low < high)) throw new Error(`rand: low (${low}) must be less than high (${high})`);
  return draw('rand', 'uniform', shape, low, high, options, true);
}

/** Normally distributed values (ND4J's Nd4j.randn), Box-Muller in double precision. */
export function randn(shape: Shape, options: NormalOptions = {}): NDArray {
  const { mean = 0, std = 1 } = options;
  checkFinite('randn', 'mean', mean);
  checkStd('randn', std);
  return draw('randn', 'normal', shape, mean, std, options, true);
}

/** Normal values redrawn while more than 2 std from the mean (as ND4J's TruncatedNormalDistribution). */
export function truncatedNormal(shape: Shape, options: NormalOptions = {}): NDArray {
  const { mean = 0, std = 1 } = options;
  checkFinite('truncatedNormal', 'mean', mean);
  checkStd('truncatedNormal', std);
  return draw('truncatedNormal', 'truncnormal', shape, mean, std, options, true);
}

/** 1 with probability p, else 0; any dtype (BOOL included). */
export function bernoulli(shape: Shape, p: number, options: RandomOptions = {}): NDArray {
  if (!(p >= 0 && p <= 1)) throw new Error(`bernoulli: p must be in [0, 1], got ${p}`);
  return draw('bernoulli', 'bernoulli', shape, p, 0, options, false);
}

const likeOptions = (x: NDArray, o: RandomOptions): RandomOptions => ({ ...o, dtype: o.dtype ?? floatLike(x), backend: o.backend ?? x.backend });
const floatLike = (x: NDArray): DataType => (isFloating(x.dtype) ? x.dtype : defaultFloatType());

/** rand with x's shape, backend and (floating) dtype. */
export const randLike = (x: NDArray, options: UniformOptions = {}): NDArray => rand(x.shape, { ...options, ...likeOptions(x, options) });
/** randn with x's shape, backend and (floating) dtype. */
export const randnLike = (x: NDArray, options: NormalOptions = {}): NDArray => randn(x.shape, { ...options, ...likeOptions(x, options) });

function checkDropP(op: string, p: number): void {
  if (!(p >= 0 && p < 1)) throw new Error(`${op}: the drop probability p must be in [0, 1), got ${p}`);
}

/**
 * An inverted-dropout mask (ND4J's DropOutInverted): each value is 0 with probability p (the drop
 * probability) and 1/(1-p) otherwise, so that x * mask keeps x's expectation.
 */
export function dropoutMask(shape: Shape, p: number, options: RandomOptions = {}): NDArray {
  checkDropP('dropoutMask', p);
  const mask = draw('dropoutMask', 'bernoulli', shape, 1 - p, 0, options, true);
  if (p > 0 && mask.size > 0) mask.backend.unary('mulScalar', mask, mask, 1 / (1 - p), 0);
  return mask;
}

/**
 * Inverted dropout of x with drop probability p: x * dropoutMask. The gradient multiplies by the
 * same mask. p = 0 returns x itself.
 */
export function dropout(x: NDArray, p: number, options: Omit<RandomOptions, 'dtype' | 'backend'> = {}): NDArray {
  checkDropP('dropout', p);
  requireFloating('dropout', x);
  if (p === 0) return x;
  const mask = dropoutMask(x.shape, p, { seed: options.seed, dtype: x.dtype, backend: x.backend });
  const y = binaryRaw('mul', x, mask);
  if (needsGrad([x])) record(y, 'dropout', [x], [mask], (g, [m]) => [binaryRaw('mul', g, m!)]);
  mask.close();
  return y;
}
