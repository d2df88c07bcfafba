/**
 * The parameterless vertices of ComputationGraph: for each type, the build-time check of its
 * options and inputs (inferring the output's ActivationType) and the forward pass from
 * differentiable front-end ops, so autograd supplies the gradients on any backend.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import { formatShape } from '../../ndarray/shape.js';
import { all, interval } from '../../ndarray/indexing.js';
import { add, div, maximum, mul, sub } from '../../ops/binary.js';
import { sqrt, square } from '../../ops/unary.js';
import { sum } from '../../ops/reduce.js';
import { reshape } from '../../ops/views.js';
import { concat } from '../../ops/join.js';
import { activationSize, describeActivationType, type ActivationType } from '../resolvers/context.js';
import { preProcess, resolvePreProcessor } from '../preprocessors.js';
import type { VertexConfig, VertexType } from './vertex-config.js';

export function graphFail(where: string, msg: string): never {
  throw new Error(`ComputationGraphConfiguration: ${where}: ${msg}`);
}

/** What a vertex type defines; `T` is the configuration of that type. */
interface VertexKind<T extends VertexConfig> {
  /** DL4J's class name, for summary(). */
  readonly className: string;
  /** Allowed number of inputs. */
  readonly minInputs: number;
  readonly maxInputs: number;
  /** Checks the options; returns the output type, or undefined when an input's type is unknown. */
  resolve(v: T, where: string, inputs: readonly (ActivationType | undefined)[]): ActivationType | undefined;
  /**
   * The output for the inputs (inside the caller's scope); throws a message without the vertex
   * prefix. `miniBatch` is the graph input's number of examples.
   */
  forward(v: T, xs: readonly NDArray[], miniBatch: number): NDArray;
  /** The time-series mask [N, T] of the output given the inputs' masks (DL4J's feedForwardMaskArrays). */
  mask(v: T, masks: readonly (NDArray | null)[]): NDArray | null;
}

/**
 * Masks of several inputs as DL4J combines them: any input without a mask means every step is
 * present, so no mask; otherwise a step is present where it is present in any input (OR of 0/1).
 */
export function combineMasks(masks: readonly (NDArray | null)[]): NDArray | null {
  if (masks.some((m) => m === null)) return null;
  return (masks as NDArray[]).reduce((acc, m) => (acc === m ? acc : maximum(acc, m)));
}

const firstMask = (_v: unknown, masks: readonly (NDArray | null)[]): NDArray | null => masks[0] ?? null;
const noMask = (): null => null;

const shapes = (xs: readonly NDArray[]): string => xs.map((x) => `${x.dtype}${formatShape(x.shape)}`).join(', ');

function known(inputs: readonly (ActivationType | undefined)[]): ActivationType[] | undefined {
  return inputs.every((t) => t !== undefined) ? (inputs as ActivationType[]) : undefined;
}

function sameTypes(where: string, types: readonly ActivationType[], what: string): ActivationType {
  const first = describeActivationType(types[0]!);
  if (types.some((t) => describeActivationType(t) !== first)) {
    graphFail(where, `${what} need inputs of one shape, got ${types.map(describeActivationType).join(', ')}`);
  }
  return types[0]!;
}

/** Size of the feature (channel) axis 1. */
function featureCount(t: ActivationType): number {
  return t.kind === 'convolutional' ? t.channels : t.size;
}

function withFeatures(t: ActivationType, n: number): ActivationType {
  return t.kind === 'convolutional' ? { ...t, channels: n } : { ...t, size: n };
}

/**
 * The type of inputs concatenated along axis 1 (merge vertices and layers with several inputs, which
 * DL4J merges implicitly): same kind, and the same height/width or sequence length.
 */
export function mergeType(where: string, inputs: readonly (ActivationType | undefined)[]): ActivationType | undefined {
  const types = known(inputs);
  if (!types) return undefined;
  const first = types[0]!;
  const rest = (t: ActivationType): string => (t.kind === 'convolutional' ? `convolutional ${t.height}x${t.width}` : t.kind === 'recurrent' ? `recurrent ${t.timeSeriesLength ?? '?'} steps` : 'feedForward');
  if (types.some((t) => t.kind !== first.kind || rest(t) !== rest(first))) {
    graphFail(where, `merging concatenates along the feature/channel axis and needs inputs that agree on everything else, got ${types.map(describeActivationType).join(', ')}`);
  }
  return withFeatures(first, types.reduce((n, t) => n + featureCount(t), 0));
}

/** Concatenation along axis 1, checking that the other axes agree. */
export function mergeForward(xs: readonly NDArray[]): NDArray {
  if (xs.length === 1) return xs[0]!;
  const key = (x: NDArray): string => `${x.rank}:${x.shape.filter((_, a) => a !== 1).join(',')}`;
  if (xs.some((x) => x.rank < 2 || key(x) !== key(xs[0]!))) throw new Error(`inputs ${shapes(xs)} cannot be concatenated along axis 1 (all other axes must agree)`);
  return concat(xs, 1);
}

function checkSameShapes(xs: readonly NDArray[], what: string): void {
  const s = formatShape(xs[0]!.shape);
  if (xs.some((x) => formatShape(x.shape) !== s)) throw new Error(`${what} needs inputs of one shape, got ${shapes(xs)}`);
}

function checkInt(where: string, name: string, v: unknown, min: number): number {
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= min)) graphFail(where, `${name} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

function checkFinite(where: string, name: string, v: unknown): number {
  if (!(typeof v === 'number' && Number.isFinite(v))) graphFail(where, `${name} must be a finite number, got ${String(v)}`);
  return v;
}

function checkEps(where: string, v: unknown): void {
  if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) graphFail(where, `eps must be a positive number, got ${String(v)}`);
}

/** Axes 1..rank-1: everything but the minibatch. */
const exampleAxes = (x: NDArray): number[] => x.shape.map((_, a) => a).slice(1);

const ELEMENTWISE_OPS = ['add', 'subtract', 'product', 'average', 'max'] as const;

const VERTEX_KINDS: { readonly [K in VertexType]: VertexKind<Extract<VertexConfig, { type: K }>> } = {
  merge: {
    className: 'MergeVertex', minInputs: 1, maxInputs: Infinity,
    resolve: (_v, where, inputs) => mergeType(where, inputs),
    forward: (_v, xs) => mergeForward(xs),
    mask: (_v, masks) => combineMasks(masks),
  },
  elementwise: {
    className: 'ElementWiseVertex', minInputs: 1, maxInputs: Infinity,
    resolve(v, where, inputs) {
      if (!(ELEMENTWISE_OPS as readonly unknown[]).includes(v.op)) graphFail(where, `unknown op '${String(v.op)}'; expected one of ${ELEMENTWISE_OPS.join(', ')}`);
      if (v.op === 'subtract' && inputs.length !== 2) graphFail(where, `op 'subtract' takes exactly 2 inputs, got ${inputs.length}`);
      const types = known(inputs);
      return types && sameTypes(where, types, `elementwise '${v.op}'`);
    },
    forward(v, xs) {
      checkSameShapes(xs, `elementwise '${v.op}'`);
      const [first, ...rest] = xs as [NDArray, ...NDArray[]];
      if (v.op === 'subtract') return sub(first, rest[0]!);
      if (rest.length === 0) return first;
      const combine = v.op === 'product' ? mul : v.op === 'max' ? maximum : add;
      const total = rest.reduce<NDArray>((acc, x) => combine(acc, x), first);
      return v.op === 'average' ? div(total, xs.length) : total;
    },
    mask: (_v, masks) => combineMasks(masks),
  },
  subset: {
    className: 'SubsetVertex', minInputs: 1, maxInputs: 1,
    resolve(v, where, [input]) {
      const from = checkInt(where, 'from', v.from, 0);
      const to = checkInt(where, 'to', v.to, 0);
      if (to < from) graphFail(where, `to (${to}) must be >= from (${from}); both are inclusive`);
      if (!input) return undefined;
      const n = featureCount(input);
      if (to >= n) graphFail(where, `subset ${from}..${to} exceeds the input's ${n} features (${describeActivationType(input)})`);
      return withFeatures(input, to - from + 1);
    },
    forward(v, [x]) {
      if (x!.rank < 2 || v.to >= x!.shape[1]!) throw new Error(`subset ${v.from}..${v.to} of axis 1 does not fit input ${shapes([x!])}`);
      return x!.get(all(), interval(v.from, v.to + 1));
    },
    mask: firstMask,
  },
  stack: {
    className: 'StackVertex', minInputs: 1, maxInputs: Infinity,
    resolve(_v, where, inputs) {
      const types = known(inputs);
      return types && sameTypes(where, types, 'stack vertices');
    },
    forward(_v, xs) {
      if (xs.length === 1) return xs[0]!;
      const key = (x: NDArray): string => formatShape(x.shape.slice(1));
      if (xs.some((x) => key(x) !== key(xs[0]!))) throw new Error(`stacking along the minibatch axis needs inputs that agree on all other axes, got ${shapes(xs)}`);
      return concat(xs, 0);
    },
    // The examples' masks stacked like the examples; without a mask for every input, none.
    mask: (_v, masks) => (masks.some((m) => m === null) ? null : masks.length === 1 ? masks[0]! : concat(masks as NDArray[], 0)),
  },
  unstack: {
    className: 'UnstackVertex', minInputs: 1, maxInputs: 1,
    resolve(v, where, [input]) {
      const stackSize = checkInt(where, 'stackSize', v.stackSize, 1);
      const from = checkInt(where, 'from', v.from, 0);
      if (from >= stackSize) graphFail(where, `from (${from}) must be < stackSize (${stackSize})`);
      return input;
    },
    forward(v, [x]) {
      const n = x!.shape[0]!;
      if (n % v.stackSize !== 0) throw new Error(`a minibatch of ${n} examples cannot be split into ${v.stackSize} equal parts`);
      const step = n / v.stackSize;
      return x!.get(interval(v.from * step, (v.from + 1) * step));
    },
    mask(v, [m]) {
      if (!m) return null;
      const step = m.shape[0]! / v.stackSize;
      return m.get(interval(v.from * step, (v.from + 1) * step));
    },
  },
  scale: {
    className: 'ScaleVertex', minInputs: 1, maxInputs: 1,
    resolve(v, where, [input]) {
      checkFinite(where, 'scaleFactor', v.scaleFactor);
      return input;
    },
    forward: (v, [x]) => mul(x!, v.scaleFactor),
    mask: firstMask,
  },
  shift: {
    className: 'ShiftVertex', minInputs: 1, maxInputs: 1,
    resolve(v, where, [input]) {
      checkFinite(where, 'shiftFactor', v.shiftFactor);
      return input;
    },
    forward: (v, [x]) => add(x!, v.shiftFactor),
    mask: firstMask,
  },
  l2: {
    className: 'L2Vertex', minInputs: 2, maxInputs: 2,
    resolve(v, where, inputs) {
      checkEps(where, v.eps);
      const types = known(inputs);
      if (types) sameTypes(where, types, 'L2 distances');
      return { kind: 'feedForward', size: 1 };
    },
    forward(v, [a, b]) {
      checkSameShapes([a!, b!], 'an L2 distance');
      const d = sum(square(sub(a!, b!)), exampleAxes(a!));
      return reshape(sqrt(add(d, v.eps ?? 1e-8)), [a!.shape[0]!, 1]);
    },
    mask: noMask,
  },
  l2Normalize: {
    className: 'L2NormalizeVertex', minInputs: 1, maxInputs: 1,
    resolve(v, where, [input]) {
      checkEps(where, v.eps);
      return input;
    },
    forward(v, [x]) {
      const norm = sqrt(sum(square(x!), exampleAxes(x!), true));
      return div(x!, maximum(norm, v.eps ?? 1e-8));
    },
    mask: firstMask,
  },
  reshape: {
    className: 'ReshapeVertex', minInputs: 1, maxInputs: 1,
    resolve(v, where, [input]) {
      if (!Array.isArray(v.shape) || v.shape.length < 1 || v.shape.length > 3) graphFail(where, `shape must be the per-example shape with 1 to 3 sizes, got ${JSON.stringify(v.shape)}`);
      v.shape.forEach((d, k) => checkInt(where, `shape[${k}]`, d, 1));
      const n = v.shape.reduce((a, d) => a * d, 1);
      // Values per example; unknown for sequences of unknown length.
      const have = input?.kind === 'recurrent' ? (input.timeSeriesLength === undefined ? undefined : input.size * input.timeSeriesLength) : input && activationSize(input);
      if (input && have !== undefined && have !== n) {
        graphFail(where, `cannot reshape ${describeActivationType(input)} to [${v.shape.join(', ')}] (different number of values per example)`);
      }
      const [a, b, c] = v.shape as [number, number?, number?];
      if (c !== undefined) return { kind: 'convolutional', channels: a, height: b!, width: c };
      return b !== undefined ? { kind: 'recurrent', size: a, timeSeriesLength: b } : { kind: 'feedForward', size: a };
    },
    forward: (v, [x]) => reshape(x!, [x!.shape[0]!, ...v.shape]),
    // The time axis, if any, is not preserved.
    mask: noMask,
  },
  preprocessor: {
    className: 'PreprocessorVertex', minInputs: 1, maxInputs: 1,
    resolve(v, where, [input]) {
      const p = v.preProcessor;
      if (p === null || typeof p !== 'object') graphFail(where, `preProcessor must be an object, got ${String(p)}`);
      if (p.type === 'rnnToCnn' || p.type === 'cnnToRnn') return resolvePreProcessor(`${where}: preProcessor`, p, input, graphFail);
      if (p.type === 'cnnToFeedForward') {
        if (input && input.kind !== 'convolutional') graphFail(where, `cnnToFeedForward needs a convolutional input, got ${describeActivationType(input)}`);
        return input && { kind: 'feedForward', size: activationSize(input) };
      }
      if (p.type === 'feedForwardToCnn') {
        for (const k of ['height', 'width', 'channels'] as const) checkInt(where, `preProcessor.${k}`, p[k], 1);
        const n = p.channels * p.height * p.width;
        if (input && !(input.kind === 'feedForward' && input.size === n)) {
          graphFail(where, `feedForwardToCnn ${p.channels}x${p.height}x${p.width} needs a feedForward input of size ${n}, got ${describeActivationType(input)}`);
        }
        return { kind: 'convolutional', channels: p.channels, height: p.height, width: p.width };
      }
      return graphFail(where, `unknown preProcessor type '${String((p as { type: unknown }).type)}'; expected 'cnnToFeedForward', 'feedForwardToCnn', 'rnnToCnn' or 'cnnToRnn'`);
    },
    forward(v, [x], miniBatch) {
      const p = v.preProcessor;
      // The caller prefixes the vertex; preProcess names the preprocessor.
      if (p.type === 'rnnToCnn' || p.type === 'cnnToRnn') return preProcess('preProcessor', p, x!, miniBatch);
      const n = x!.shape[0]!;
      if (p.type === 'cnnToFeedForward') return reshape(x!, [n, x!.size / Math.max(n, 1)]);
      return reshape(x!, [n, p.channels, p.height, p.width]);
    },
    mask: firstMask,
  },
};

export const VERTEX_TYPES = Object.keys(VERTEX_KINDS) as VertexType[];

function kindOf<T extends VertexConfig>(v: T): VertexKind<T> {
  return VERTEX_KINDS[v.type] as unknown as VertexKind<T>;
}

/** DL4J's class name of a vertex type. */
export function vertexClassName(v: VertexConfig): string {
  return kindOf(v).className;
}

/** Checks a vertex's options and input count and infers its output type. */
export function resolveVertex(v: VertexConfig, where: string, inputs: readonly (ActivationType | undefined)[]): ActivationType | undefined {
  if (v === null || typeof v !== 'object') graphFail(where, `expected a vertex configuration object, got ${String(v)}`);
  if (!VERTEX_TYPES.includes(v.type)) graphFail(where, `unknown vertex type '${String(v.type)}'; expected one of ${VERTEX_TYPES.join(', ')}`);
  const k = kindOf(v);
  if (inputs.length < k.minInputs || inputs.length > k.maxInputs) {
    const expected = k.minInputs === k.maxInputs ? `${k.minInputs}` : k.maxInputs === Infinity ? `at least ${k.minInputs}` : `${k.minInputs} to ${k.maxInputs}`;
    graphFail(where, `takes ${expected} input${expected === '1' ? '' : 's'}, got ${inputs.length}`);
  }
  return k.resolve(v, where, inputs);
}

/** The vertex's output for its inputs; `miniBatch` is the graph input's number of examples. */
export function vertexForward(v: VertexConfig, xs: readonly NDArray[], miniBatch: number): NDArray {
  return kindOf(v).forward(v, xs, miniBatch);
}

/** The vertex's output mask for its inputs' masks. */
export function vertexMask(v: VertexConfig, masks: readonly (NDArray | null)[]): NDArray | null {
  return kindOf(v).mask(v, masks);
}
