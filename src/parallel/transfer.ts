/**
 * Arrays, DataSets and MultiDataSets in a form that crosses threads: values read back once into a
 * typed array whose ArrayBuffer is then transferred (moved, not copied) with postMessage.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { dtypeSize, type DataType } from '../ndarray/dtype.js';
import { sizeOf } from '../ndarray/shape.js';
import { DataSet } from '../data/dataset.js';
import { MultiDataSet } from '../data/multi-dataset.js';
import { tensorFromBytes } from '../nn/tensor-bytes.js';

/** An array's raw row-major values (16-bit floats as bits) with its dtype and shape. */
export interface PackedArray {
  readonly dtype: DataType;
  readonly shape: readonly number[];
  readonly bytes: ArrayBuffer;
}

/** A DataSet or MultiDataSet packed as lists of arrays (one of each for a DataSet). */
export interface PackedBatch {
  /** True for a MultiDataSet, false for a DataSet. */
  readonly multi: boolean;
  readonly features: readonly PackedArray[];
  readonly labels: readonly PackedArray[];
  readonly featuresMasks: readonly (PackedArray | null)[] | null;
  readonly labelsMasks: readonly (PackedArray | null)[] | null;
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

function packList(list: readonly (NDArray | null)[]): (PackedArray | null)[] {
  return list.map((a) => (a ? packArray(a) : null));
}

export function packBatch(b: DataSet | MultiDataSet): PackedBatch {
  if (b instanceof DataSet) {
    return { multi: false, features: [packArray(b.features)], labels: [packArray(b.labels)], featuresMasks: [b.featuresMask && packArray(b.featuresMask)], labelsMasks: [b.labelsMask && packArray(b.labelsMask)] };
  }
  return {
    multi: true, features: b.features.map(packArray), labels: b.labels.map(packArray),
    featuresMasks: b.featuresMasks && packList(b.featuresMasks), labelsMasks: b.labelsMasks && packList(b.labelsMasks),
  };
}

export function unpackBatch(p: PackedBatch, op: string): DataSet | MultiDataSet {
  const arrays: NDArray[] = [];
  const u = (a: PackedArray | null | undefined): NDArray | null => {
    if (!a) return null;
    const x = unpackArray(a, op);
    arrays.push(x);
    return x;
  };
  try {
    if (!p.multi) return new DataSet(u(p.features[0])!, u(p.labels[0])!, u(p.featuresMasks?.[0]), u(p.labelsMasks?.[0]));
    return new MultiDataSet(p.features.map((a) => u(a)!), p.labels.map((a) => u(a)!), p.featuresMasks?.map(u) ?? null, p.labelsMasks?.map(u) ?? null);
  } catch (e) {
    for (const a of arrays) a.close();
    throw e;
  }
}

function allArrays(p: PackedBatch): PackedArray[] {
  return [...p.features, ...p.labels, ...(p.featuresMasks ?? []), ...(p.labelsMasks ?? [])].filter((a): a is PackedArray => a !== null);
}

/** Number of examples (leading axis) of a packed batch. */
export function packedExamples(p: PackedBatch): number {
  return p.features[0]?.shape[0] ?? 0;
}

/** The buffers to list as transferables when posting `p`. */
export function transferables(p: PackedBatch): ArrayBuffer[] {
  return allArrays(p).map((a) => a.bytes);
}

/** An independent copy (for posting the same batch to a second worker). */
export function copyPackedBatch(p: PackedBatch): PackedBatch {
  const c = (a: PackedArray | null): PackedArray | null => (a ? { ...a, bytes: a.bytes.slice(0) } : null);
  return {
    multi: p.multi, features: p.features.map((a) => c(a)!), labels: p.labels.map((a) => c(a)!),
    featuresMasks: p.featuresMasks && p.featuresMasks.map(c), labelsMasks: p.labelsMasks && p.labelsMasks.map(c),
  };
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
