/**
 * DL4J's weight initialization schemes (org.deeplearning4j.nn.weights.WeightInit), with the
 * formulas of DL4J's WeightInit javadoc, drawn from the library's seeded random ops.
 */
import type { Backend } from '../backend/backend.js';
import { type DataType, defaultFloatType } from '../ndarray/dtype.js';
import type { NDArray } from '../ndarray/ndarray.js';
import { formatShape, type Shape } from '../ndarray/shape.js';
import { eye, full, zeros } from '../ops/create.js';
import { rand, randn, truncatedNormal } from '../ops/random.js';

export type WeightInit =
  | 'XAVIER' | 'XAVIER_UNIFORM' | 'XAVIER_FAN_IN' | 'RELU' | 'RELU_UNIFORM' | 'LECUN_NORMAL' | 'LECUN_UNIFORM'
  | 'NORMAL' | 'UNIFORM' | 'SIGMOID_UNIFORM' | 'ZERO' | 'ONES' | 'IDENTITY' | 'DISTRIBUTION';

export const WEIGHT_INITS: readonly WeightInit[] = [
  'XAVIER', 'XAVIER_UNIFORM', 'XAVIER_FAN_IN', 'RELU', 'RELU_UNIFORM', 'LECUN_NORMAL', 'LECUN_UNIFORM',
  'NORMAL', 'UNIFORM', 'SIGMOID_UNIFORM', 'ZERO', 'ONES', 'IDENTITY', 'DISTRIBUTION',
];

/** DL4J's NormalDistribution, UniformDistribution and TruncatedNormalDistribution (redrawn beyond 2 std). */
export type Distribution =
  | { kind: 'normal'; mean?: number; std?: number }
  | { kind: 'uniform'; lower?: number; upper?: number }
  | { kind: 'truncnormal'; mean?: number; std?: number };

export interface InitOptions {
  /** Inputs feeding each unit (a dense layer's nIn; a conv layer's inChannels * kH * kW). */
  fanIn: number;
  /** Units each input feeds (a dense layer's nOut; a conv layer's outChannels * kH * kW). */
  fanOut: number;
  /** Default: the default float type. */
  dtype?: DataType;
  backend?: Backend;
  /** Draw with this seed instead of the global generator. */
  seed?: number | bigint;
  /** Required by 'DISTRIBUTION'. */
  distribution?: Distribution;
}

function checkFan(init: WeightInit, name: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`initWeights(${init}): ${name} must be a finite number > 0, got ${v}`);
}

/** A new array of `shape` initialized by scheme `init`. */
export function initWeights(init: WeightInit, shape: Shape, options: InitOptions): NDArray {
  const { fanIn, fanOut, seed, backend } = options;
  const dtype = options.dtype ?? defaultFloatType();
  const base = { dtype, ...(backend ? { backend } : {}), ...(seed !== undefined ? { seed } : {}) };
  const normal = (std: number): NDArray => randn(shape, { ...base, mean: 0, std });
  const uniform = (a: number): NDArray => rand(shape, { ...base, low: -a, high: a });
  const needIn = (): number => (checkFan(init, 'fanIn', fanIn), fanIn);
  const needBoth = (): number => (checkFan(init, 'fanIn', fanIn), checkFan(init, 'fanOut', fanOut), fanIn + fanOut);
  switch (init) {
    // "Gaussian distribution with mean 0, variance 2.0/(fanIn + fanOut)" (Glorot and Bengio 2010).
    case 'XAVIER': return normal(Math.sqrt(2 / needBoth()));
    // "Uniform distribution U(-s,s) with s = sqrt(6/(fanIn + fanOut))".
    case 'XAVIER_UNIFORM': return uniform(Math.sqrt(6 / needBoth()));
    // "Similar to Xavier, but 1/fanIn" (Caffe's): variance 1/fanIn.
    case 'XAVIER_FAN_IN': return normal(Math.sqrt(1 / needIn()));
    // He et al. 2015: "Normal distribution with variance 2.0/nIn".
    case 'RELU': return normal(Math.sqrt(2 / needIn()));
    // He et al. 2015: "Uniform distribution U(-s,s) with s = sqrt(6/fanIn)".
    case 'RELU_UNIFORM': return uniform(Math.sqrt(6 / needIn()));
    // LeCun 1998: normal with variance 1/fanIn.
    case 'LECUN_NORMAL': return normal(Math.sqrt(1 / needIn()));
    // LeCun 1998: U(-s,s) with s = sqrt(3/fanIn) (variance 1/fanIn).
    case 'LECUN_UNIFORM': return uniform(Math.sqrt(3 / needIn()));
    // "Normal/Gaussian distribution, with mean 0 and standard deviation 1/sqrt(fanIn)".
    case 'NORMAL': return normal(1 / Math.sqrt(needIn()));
    // "Uniform U[-a,a] with a=1/sqrt(fanIn)" (the heuristic quoted by Glorot and Bengio 2010).
    case 'UNIFORM': return uniform(1 / Math.sqrt(needIn()));
    // XAVIER_UNIFORM for sigmoid units: U(-r,r) with r = 4*sqrt(6/(fanIn + fanOut)).
    case 'SIGMOID_UNIFORM': return uniform(4 * Math.sqrt(6 / needBoth()));
    case 'ZERO': return zeros(shape, base);
    case 'ONES': return full(shape, 1, base);
    case 'IDENTITY': {
      // As DL4J's WeightInitIdentity for dense layers: only square 2-D weights have an identity.
      if (shape.length !== 2 || shape[0] !== shape[1]) {
        throw new Error(`initWeights(IDENTITY): needs a square 2-D shape, got ${formatShape(shape)}`);
      }
      return eye(shape[0]!, shape[1]!, base);
    }
    case 'DISTRIBUTION': {
      const d = options.distribution;
      if (!d) throw new Error('initWeights(DISTRIBUTION): options.distribution is required');
      switch (d.kind) {
        case 'normal': return randn(shape, { ...base, mean: d.mean ?? 0, std: d.std ?? 1 });
        case 'truncnormal': return truncatedNormal(shape, { ...base, mean: d.mean ?? 0, std: d.std ?? 1 });
        case 'uniform': return rand(shape, { ...base, low: d.lower ?? 0, high: d.upper ?? 1 });
        default: {
          const never: never = d;
          throw new Error(`initWeights(DISTRIBUTION): unknown distribution ${JSON.stringify(never)}`);
        }
      }
    }
    default: {
      const never: never = init;
      throw new Error(`initWeights: unknown weight init '${String(never)}'; expected one of ${WEIGHT_INITS.join(', ')}`);
    }
  }
}
