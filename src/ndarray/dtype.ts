/** Element types, as ND4J's DataType. The numeric codes are shared with the native kernels. */
export type DataType = 'DOUBLE' | 'FLOAT' | 'HALF' | 'BFLOAT16' | 'INT32' | 'INT64' | 'UINT8' | 'BOOL';

export const DATA_TYPES: readonly DataType[] = ['DOUBLE', 'FLOAT', 'HALF', 'BFLOAT16', 'INT32', 'INT64', 'UINT8', 'BOOL'];

const CODES: Record<DataType, number> = { DOUBLE: 0, FLOAT: 1, HALF: 2, BFLOAT16: 3, INT32: 4, INT64: 5, UINT8: 6, BOOL: 7 };
const SIZES: Record<DataType, number> = { DOUBLE: 8, FLOAT: 4, HALF: 2, BFLOAT16: 2, INT32: 4, INT64: 8, UINT8: 1, BOOL: 1 };

export function dtypeCode(d: DataType): number {
  return CODES[d];
}

export function dtypeSize(d: DataType): number {
  return SIZES[d];
}

export function isFloating(d: DataType): boolean {
  return d === 'DOUBLE' || d === 'FLOAT' || isHalfFloat(d);
}

/** HALF or BFLOAT16: the 16-bit floats, stored as bit patterns and computed in float32. */
export function isHalfFloat(d: DataType): boolean {
  return d === 'HALF' || d === 'BFLOAT16';
}

export function isDataType(v: unknown): v is DataType {
  return typeof v === 'string' && v in CODES;
}

/** What `data()` returns for each type: HALF and BFLOAT16 widen to float32 (Node 20 has no Float16Array). */
export type TypedArrayFor<D extends DataType> = D extends 'DOUBLE'
  ? Float64Array
  : D extends 'FLOAT' | 'HALF' | 'BFLOAT16'
    ? Float32Array
    : D extends 'INT32'
      ? Int32Array
      : D extends 'INT64'
        ? BigInt64Array
        : Uint8Array;

export type NumericArray = Float64Array | Float32Array | Int32Array | BigInt64Array | Uint8Array;

/** The typed array that holds the raw storage of a type (16-bit floats as their bit patterns). */
export type StorageArray = Float64Array | Float32Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;

/** A new zeroed array of `length` elements of d's storage type, or a view of `length` elements of `buffer` from `byteOffset` (which must be a multiple of the element size). */
export function storageArray(d: DataType, length: number, buffer?: ArrayBufferLike, byteOffset = 0): StorageArray {
  const of = <T>(make: (b: ArrayBufferLike, offset: number, n: number) => T, fresh: (n: number) => T): T => (buffer ? make(buffer, byteOffset, length) : fresh(length));
  switch (d) {
    case 'DOUBLE': return of((b, o, n) => new Float64Array(b, o, n), (n) => new Float64Array(n));
    case 'FLOAT': return of((b, o, n) => new Float32Array(b, o, n), (n) => new Float32Array(n));
    case 'HALF':
    case 'BFLOAT16': return of((b, o, n) => new Uint16Array(b, o, n), (n) => new Uint16Array(n));
    case 'INT32': return of((b, o, n) => new Int32Array(b, o, n), (n) => new Int32Array(n));
    case 'INT64': return of((b, o, n) => new BigInt64Array(b, o, n), (n) => new BigInt64Array(n));
    default: return of((b, o, n) => new Uint8Array(b, o, n), (n) => new Uint8Array(n));
  }
}

let defaultFloat: DataType = 'FLOAT';

/** The floating type new arrays get when none is given (ND4J's setDefaultDataTypes). FLOAT unless set. */
export function defaultFloatType(): DataType {
  return defaultFloat;
}

export function setDefaultDataType(d: DataType): void {
  if (!isFloating(d)) throw new Error(`setDefaultDataType: expected a floating type (DOUBLE, FLOAT, HALF, BFLOAT16), got ${String(d)}`);
  defaultFloat = d;
}

const RANK: Record<DataType, number> = { BOOL: 0, UINT8: 1, INT32: 2, INT64: 3, HALF: 4, BFLOAT16: 4, FLOAT: 5, DOUBLE: 6 };

/** The type two operands are computed in: floats beat integers, wider beats narrower; HALF with BFLOAT16 gives FLOAT. */
export function promoteTypes(a: DataType, b: DataType): DataType {
  if (a === b) return a;
  if ((a === 'HALF' && b === 'BFLOAT16') || (a === 'BFLOAT16' && b === 'HALF')) return 'FLOAT';
  return RANK[a] >= RANK[b] ? a : b;
}
