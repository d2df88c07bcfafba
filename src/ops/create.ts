import type { Backend } from '../backend/backend.js';
import { getBackend } from '../backend/registry.js';
import { DATA_TYPES, type DataType, defaultFloatType, isDataType, storageArray } from '../ndarray/dtype.js';
import { NDArray, type NestedArray } from '../ndarray/ndarray.js';
import { checkShape, formatShape, sizeOf, type Shape } from '../ndarray/shape.js';

export interface CreateOptions {
  dtype?: DataType;
  backend?: Backend;
}

function backendOf(o?: CreateOptions): Backend {
  return o?.backend ?? getBackend();
}

/** The requested dtype or the default float; checked here, since a typo would otherwise surface as an obscure allocation error. */
function dtypeOf(op: string, o?: CreateOptions): DataType {
  const d = o?.dtype ?? defaultFloatType();
  checkDataType(op, d);
  return d;
}

export function checkDataType(op: string, d: DataType): void {
  if (!isDataType(d)) throw new Error(`${op}: unknown dtype '${String(d)}' (expected one of ${DATA_TYPES.join(', ')})`);
}

type FlatSource = ArrayLike<number | boolean> | ArrayLike<bigint>;

/** The values as the staging dtype's typed array: as given when they already are one (no per-element copy). */
function stagedValues(values: FlatSource, staged: DataType, n: number): ReturnType<typeof storageArray> {
  // Checked against an empty array of the type first: a batch's features arrive as one, and a fresh n-element array would be wasted.
  if (ArrayBuffer.isView(values) && values.constructor === storageArray(staged, 0).constructor) return values as unknown as ReturnType<typeof storageArray>;
  const host = storageArray(staged, n);
  if (host instanceof BigInt64Array) {
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      host[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)));
    }
  } else if (staged === 'BOOL') {
    for (let i = 0; i < n; i++) host[i] = Number(values[i]) !== 0 ? 1 : 0;
  } else {
    for (let i = 0; i < n; i++) host[i] = Number(values[i]);
  }
  return host;
}

/** Copies row-major values into a new array, converting to `dtype` (16-bit floats round to nearest even). */
function fromFlat(values: FlatSource, shape: Shape, dtype: DataType, backend: Backend): NDArray {
  checkShape(shape, 'array');
  const n = sizeOf(shape);
  if (values.length !== n) throw new Error(`array: ${values.length} values do not fill shape ${formatShape(shape)} (${n} elements)`);
  const direct = dtype !== 'HALF' && dtype !== 'BFLOAT16';
  const staged = direct ? dtype : 'FLOAT';
  const host = stagedValues(values, staged, n);
  const staging = NDArray.uninitialized(shape, staged, backend);
  backend.write(staging.buffer, 0, host);
  if (direct) return staging;
  const out = NDArray.uninitialized(shape, dtype, backend);
  backend.unary('identity', staging, out, 0, 0);
  staging.close();
  return out;
}

function inferNested(data: NestedArray): { shape: number[]; flat: (number | boolean)[] } {
  const shape: number[] = [];
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0] as NestedArray;
    if (probe === undefined) break;
  }
  const flat: (number | boolean)[] = [];
  const walk = (v: NestedArray, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(v)) throw new Error(`array: nested data is ragged (expected a value at depth ${depth}, shape ${formatShape(shape)})`);
      if (typeof v !== 'number' && typeof v !== 'boolean') throw new Error(`array: nested data holds a ${typeof v}, expected numbers or booleans`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) throw new Error(`array: nested data is ragged (expected ${shape[depth]} items at depth ${depth}, shape ${formatShape(shape)})`);
    for (const e of v) walk(e, depth + 1);
  };
  walk(data, 0);
  return { shape, flat };
}

function typedDefault(values: FlatSource): DataType {
  if (values instanceof Float64Array) return 'DOUBLE';
  if (values instanceof Int32Array) return 'INT32';
  if (values instanceof BigInt64Array) return 'INT64';
  if (values instanceof Uint8Array) return 'UINT8';
  return defaultFloatType();
}

/**
 * An array from nested JS arrays, or from flat values (typed array or number[]) with a shape.
 * The dtype defaults to the typed array's type, BOOL for booleans, else the default float type.
 */
export function array(data: NestedArray | FlatSource, shapeOrOptions?: Shape | CreateOptions, options?: CreateOptions): NDArray {
  const shapeGiven = Array.isArray(shapeOrOptions) ? (shapeOrOptions as Shape) : undefined;
  const opts = (shapeGiven ? options : (shapeOrOptions as CreateOptions | undefined)) ?? {};
  if (opts.dtype !== undefined) checkDataType('array', opts.dtype);
  if (shapeGiven || ArrayBuffer.isView(data)) {
    const flat = data as FlatSource;
    const dtype = opts.dtype ?? typedDefault(flat);
    return fromFlat(flat, shapeGiven ?? [flat.length], dtype, backendOf(opts));
  }
  const { shape, flat } = inferNested(data as NestedArray);
  const dtype = opts.dtype ?? (flat.length > 0 && typeof flat[0] === 'boolean' ? 'BOOL' : defaultFloatType());
  return fromFlat(flat, shape, dtype, backendOf(opts));
}

/** A 0-d array holding one value. */
export function fromScalar(value: number, dtype: DataType, backend: Backend): NDArray {
  const out = NDArray.uninitialized([], dtype, backend);
  backend.unary('fill', out, out, value, 0);
  return out;
}

export function scalar(value: number, options?: CreateOptions): NDArray {
  return fromScalar(value, dtypeOf('scalar', options), backendOf(options));
}

export function zeros(shape: Shape, options?: CreateOptions): NDArray {
  checkShape(shape, 'zeros');
  return NDArray.empty(shape, dtypeOf('zeros', options), backendOf(options));
}

export function full(shape: Shape, value: number, options?: CreateOptions): NDArray {
  const out = zeros(shape, options);
  if (value !== 0) out.backend.unary('fill', out, out, value, 0);
  return out;
}

export const ones = (shape: Shape, options?: CreateOptions): NDArray => full(shape, 1, options);
export const zerosLike = (x: NDArray, dtype: DataType = x.dtype): NDArray => {
  checkDataType('zerosLike', dtype);
  return NDArray.empty(x.shape, dtype, x.backend);
};
export const onesLike = (x: NDArray, dtype: DataType = x.dtype): NDArray => full(x.shape, 1, { dtype, backend: x.backend });

/** Identity matrix rows x cols. */
export function eye(rows: number, cols = rows, options?: CreateOptions): NDArray {
  const out = zeros([rows, cols], options);
  const diag = Math.min(rows, cols);
  // The diagonal as a strided view; fill's x must have out's shape, so the view serves as both.
  const diagonal = { buffer: out.buffer, dtype: out.dtype, offset: 0, shape: [diag], strides: [cols + 1] };
  if (diag > 0) out.backend.unary('fill', diagonal, diagonal, 1, 0);
  return out;
}

/** start, start+step, ... below end (numbers; default float type unless given). */
export function arange(start: number, end?: number, step = 1, options?: CreateOptions): NDArray {
  const [from, to] = end === undefined ? [0, start] : [start, end];
  if (step === 0 || !Number.isFinite(step)) throw new Error(`arange: step must be a finite non-zero number, got ${step}`);
  const n = Math.max(0, Math.ceil((to - from) / step));
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = from + i * step;
  return fromFlat(values, [n], dtypeOf('arange', options), backendOf(options));
}

/** n evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, n: number, options?: CreateOptions): NDArray {
  if (!Number.isInteger(n) || n < 0) throw new Error(`linspace: count must be a non-negative integer, got ${n}`);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = n === 1 ? start : start + ((end - start) * i) / (n - 1);
  return fromFlat(values, [n], dtypeOf('linspace', options), backendOf(options));
}
