/**
 * Raw little-endian bytes of an array and back, shared by the model file and the safetensors
 * reader/writer. 16-bit floats travel as their bit patterns, so every dtype round-trips exactly.
 */
import { endianness } from 'node:os';
import type { NDArray } from '../ndarray/ndarray.js';
import { dtypeSize, storageArray, type DataType, type StorageArray } from '../ndarray/dtype.js';
import { sizeOf, type Shape } from '../ndarray/shape.js';
import { array } from '../ops/create.js';
import { cast } from '../ops/views.js';
import { scope } from '../ndarray/scope.js';

// Typed arrays use the platform's byte order; the file formats are little-endian.
function checkEndianness(op: string): void {
  if (endianness() !== 'LE') throw new Error(`${op}: only little-endian platforms are supported`);
}

/** The array's values row-major as little-endian bytes (16-bit floats as bits). */
export function tensorBytes(a: NDArray, op: string): Buffer {
  checkEndianness(op);
  const raw = a.rawData();
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** float32 value of IEEE half bits. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m === 0 ? s * Infinity : NaN;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** A new array of `dtype` and `shape` from little-endian bytes (copied). */
export function tensorFromBytes(bytes: Uint8Array, dtype: DataType, shape: Shape, op: string): NDArray {
  checkEndianness(op);
  const n = sizeOf(shape);
  if (bytes.byteLength !== n * dtypeSize(dtype)) {
    throw new Error(`${op}: ${bytes.byteLength} bytes do not hold ${dtype}[${shape.join(', ')}] (${n * dtypeSize(dtype)} bytes expected)`);
  }
  // Aligned bytes of a plain ArrayBuffer (a batch posted to a worker) are read in place, since array()
  // copies them into storage anyway; others (unaligned, shared memory) are copied first.
  let host: StorageArray;
  if (bytes.buffer instanceof ArrayBuffer && bytes.byteOffset % dtypeSize(dtype) === 0) {
    host = storageArray(dtype, n, bytes.buffer, bytes.byteOffset);
  } else {
    host = storageArray(dtype, n);
    new Uint8Array(host.buffer, host.byteOffset, host.byteLength).set(bytes);
  }
  if (host instanceof Uint16Array) {
    // HALF / BFLOAT16: widen to exact float32 values, which cast back to the same bits.
    const wide = new Float32Array(n);
    const u32 = new Uint32Array(wide.buffer);
    for (let i = 0; i < n; i++) {
      if (dtype === 'BFLOAT16') u32[i] = host[i]! << 16;
      else wide[i] = halfToFloat(host[i]!);
    }
    return scope(() => cast(array(wide, [...shape], { dtype: 'FLOAT' }), dtype));
  }
  return array(host, [...shape], { dtype });
}
