/**
 * Arrays and DataSets in a form that crosses threads: values read back once into a typed array
 * whose ArrayBuffer is then transferred (moved, not copied) with postMessage.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { dtypeSize, type DataType } from '../ndarray/dtype.js';
import { sizeOf } from '../ndarray/shape.js';
import { DataSet } from '../data/dataset.js';
import { tensorFromBytes } from '../nn/tensor-bytes.js';

/** An array's raw row-major values (16-bit floats as bits) with its dtype and shape. */
export interface PackedArray {
  readonly dtype: DataType;
  readonly shape: readonly number[];
  readonly bytes: ArrayBuffer;
}

export interface PackedDataSet {
  readonly features: PackedArray;
  readonly labels: PackedArray;
  readonly featuresMask: PackedArray | null;
  readonly labelsMask: PackedArray | null;
}

/** Reads the array's values once into a fresh buffer (the only copy made on this side). */
export function packArray(a: NDArray): PackedArray {
  const raw = a.rawData();
  return { dtype: a.dtype, shape: [...a.shape], bytes: raw.buffer as ArrayBuffer };
}

/** A new array (on the current backend) holding the packed values; `op` names the caller in errors. */
export function unpackArray(p: PackedArray, op: string): NDArray {
  return tensorFromBytes(new Uint8Array(p.bytes), p.dtype, p.shape, op);
}

export function packDataSet(ds: DataSet): PackedDataSet {
  const m = (a: NDArray | null): PackedArray | null => (a ? packArray(a) : null);
  return { features: packArray(ds.features), labels: packArray(ds.labels), featuresMask: m(ds.featuresMask), labelsMask: m(ds.labelsMask) };
}

export function unpackDataSet(p: PackedDataSet, op: string): DataSet {
  const arrays: NDArray[] = [];
  try {
    const u = (a: PackedArray | null): NDArray | null => {
      if (!a) return null;
      const x = unpackArray(a, op);
      arrays.push(x);
      return x;
    };
    return new DataSet(u(p.features)!, u(p.labels)!, u(p.featuresMask), u(p.labelsMask));
  } catch (e) {
    for (const a of arrays) a.close();
    throw e;
  }
}

/** Number of examples (leading axis) of a packed DataSet. */
export function packedExamples(p: PackedDataSet): number {
  return p.features.shape[0] ?? 0;
}

/** The buffers to list as transferables when posting `p`. */
export function transferables(p: PackedDataSet): ArrayBuffer[] {
  return [p.features, p.labels, p.featuresMask, p.labelsMask].filter((a): a is PackedArray => a !== null).map((a) => a.bytes);
}

/** An independent copy (for posting the same batch to a second worker). */
export function copyPackedDataSet(p: PackedDataSet): PackedDataSet {
  const c = (a: PackedArray | null): PackedArray | null => (a ? { ...a, bytes: a.bytes.slice(0) } : null);
  return { features: c(p.features)!, labels: c(p.labels)!, featuresMask: c(p.featuresMask), labelsMask: c(p.labelsMask) };
}

/** A new array of rows [from, to) of a packed array (read straight from its bytes). */
export function unpackRows(p: PackedArray, from: number, to: number, op: string): NDArray {
  const rowBytes = sizeOf(p.shape.slice(1)) * dtypeSize(p.dtype);
  return tensorFromBytes(new Uint8Array(p.bytes, from * rowBytes, (to - from) * rowBytes), p.dtype, [to - from, ...p.shape.slice(1)], op);
}

/** Packed arrays of one dtype and equal trailing shape, joined along the leading axis. */
export function concatRows(parts: readonly PackedArray[]): PackedArray {
  const first = parts[0];
  if (!first) throw new Error('concatRows: nothing to join');
  const out = new Uint8Array(parts.reduce((n, p) => n + p.bytes.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p.bytes), offset);
    offset += p.bytes.byteLength;
  }
  const rows = parts.reduce((n, p) => n + p.shape[0]!, 0);
  return { dtype: first.dtype, shape: [rows, ...first.shape.slice(1)], bytes: out.buffer };
}
