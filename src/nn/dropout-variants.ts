/**
 * DL4J's IDropout choices for a layer's dropOut option and the dropout layer: a plain number is
 * the retain probability of inverted dropout (DL4J's dropOut(p)); objects pick Dropout, GaussianDropout,
 * GaussianNoise or AlphaDropout. All apply in training only and draw from the global Philox
 * generator (setSeed() replays them), with front-end ops so they run on any backend.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { add, mul } from '../ops/binary.js';
import { addScalar } from '../ops/unary.js';
import { bernoulli, dropout, randn } from '../ops/random.js';

/** DL4J's Dropout(p): inverted dropout keeping each value with probability p. */
export interface DropoutSpec {
  type: 'dropout';
  /** Retain probability in (0, 1]. */
  p: number;
}

/** DL4J's GaussianDropout(rate): x * n with n ~ N(1, rate / (1 - rate)) (variance). */
export interface GaussianDropoutSpec {
  type: 'gaussianDropout';
  /** In [0, 1); 0 is the identity. */
  rate: number;
}

/** DL4J's GaussianNoise(stddev): x + n with n ~ N(0, stddev^2). */
export interface GaussianNoiseSpec {
  type: 'gaussianNoise';
  /** >= 0; 0 is the identity. */
  stddev: number;
}

/**
 * DL4J's AlphaDropout(p) for SELU networks: a * (x d + alpha' (1 - d)) + b with d ~ Bernoulli(p),
 * alpha' = -lambda * alpha and a, b chosen so a unit-normal input keeps mean 0 and variance 1.
 */
export interface AlphaDropoutSpec {
  type: 'alphaDropout';
  /** Retain probability in (0, 1]. */
  p: number;
}

export type DropOutSpec = DropoutSpec | GaussianDropoutSpec | GaussianNoiseSpec | AlphaDropoutSpec;
/** A number is the retain probability (1 = no dropout), as DL4J's dropOut(double). */
export type DropOutConfig = number | DropOutSpec;

export const DROPOUT_TYPES: readonly DropOutSpec['type'][] = ['dropout', 'gaussianDropout', 'gaussianNoise', 'alphaDropout'];

/** DL4J's AlphaDropout defaults: the SELU constants. */
export const SELU_ALPHA = 1.6732632423543772;
export const SELU_LAMBDA = 1.0507009873554804;

const isRetain = (v: unknown): boolean => typeof v === 'number' && v > 0 && v <= 1;

/** What is wrong with a dropOut value, or null when it is valid (the caller names the layer). */
export function dropOutProblem(v: unknown): string | null {
  if (typeof v === 'number') return isRetain(v) ? null : `dropOut is DL4J's retain probability and must be in (0, 1], got ${String(v)}`;
  if (v === null || typeof v !== 'object') return `dropOut must be a retain probability or { type: ${DROPOUT_TYPES.map((t) => `'${t}'`).join(' | ')}, ... }, got ${String(v)}`;
  const o = v as { type?: unknown; p?: unknown; rate?: unknown; stddev?: unknown };
  switch (o.type) {
    case 'dropout':
    case 'alphaDropout':
      return isRetain(o.p) ? null : `dropOut { type: '${o.type}' }: p is the retain probability and must be in (0, 1], got ${String(o.p)}`;
    case 'gaussianDropout':
      return typeof o.rate === 'number' && o.rate >= 0 && o.rate < 1 ? null : `dropOut { type: 'gaussianDropout' }: rate must be in [0, 1), got ${String(o.rate)}`;
    case 'gaussianNoise':
      return typeof o.stddev === 'number' && Number.isFinite(o.stddev) && o.stddev >= 0 ? null : `dropOut { type: 'gaussianNoise' }: stddev must be a finite number >= 0, got ${String(o.stddev)}`;
    default:
      return `unknown dropOut type '${String(o.type)}'; expected one of ${DROPOUT_TYPES.join(', ')}`;
  }
}

/** AlphaDropout's affine constants for retain probability p (DL4J's a(p) and b(p)). */
export function alphaDropoutConstants(p: number): { a: number; b: number; alphaPrime: number } {
  const alphaPrime = -SELU_LAMBDA * SELU_ALPHA;
  const a = 1 / Math.sqrt(p + alphaPrime * alphaPrime * p * (1 - p));
  return { a, b: -a * (1 - p) * alphaPrime, alphaPrime };
}

/** Applies the (validated) dropout to x as in training: the noise is a constant, so gradients flow through it to x. */
export function applyDropOutSpec(x: NDArray, d: DropOutConfig): NDArray {
  const like = { dtype: x.dtype, backend: x.backend };
  const spec: DropOutSpec = typeof d === 'number' ? { type: 'dropout', p: d } : d;
  switch (spec.type) {
    case 'dropout':
      return spec.p < 1 ? dropout(x, 1 - spec.p) : x;
    case 'gaussianDropout':
      return spec.rate > 0 ? mul(x, randn(x.shape, { ...like, mean: 1, std: Math.sqrt(spec.rate / (1 - spec.rate)) })) : x;
    case 'gaussianNoise':
      return spec.stddev > 0 ? add(x, randn(x.shape, { ...like, std: spec.stddev })) : x;
    case 'alphaDropout': {
      if (spec.p >= 1) return x;
      const { a, b, alphaPrime } = alphaDropoutConstants(spec.p);
      const keep = bernoulli(x.shape, spec.p, like);
      // a x d + a alpha' (1 - d) + b = (a d) x + (-a alpha') d + (a alpha' + b)
      return add(mul(x, mul(keep, a)), addScalar(mul(keep, -a * alphaPrime), a * alphaPrime + b));
    }
  }
}
