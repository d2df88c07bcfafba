import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** IDX magic numbers of unsigned-byte data: 1-D labels and 3-D images (the MNIST files). */
export const IDX_LABELS_MAGIC = 0x00000801;
export const IDX_IMAGES_MAGIC = 0x00000803;

/** An IDX file's unsigned-byte contents: dimensions and row-major values. */
export interface IdxData {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/** The file's bytes, gunzipped when they start with the gzip signature (whatever the file name). */
export function readMaybeGzip(path: string, what: string): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    throw new Error(`${what}: cannot read '${path}': ${(e as Error).message}`);
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw);
    } catch (e) {
      throw new Error(`${what}: '${path}' is not a valid gzip file (${(e as Error).message})`);
    }
  }
  return raw;
}

/**
 * Parses IDX bytes: a big-endian magic (0x0000, type 0x08 = unsigned byte, rank), rank big-endian
 * dimension sizes, then the values. `expectedMagic` pins the rank; `path` names the file in errors.
 */
export function parseIdx(bytes: Uint8Array, path: string, expectedMagic?: number): IdxData {
  const what = 'readIdx';
  if (bytes.length < 4) throw new Error(`${what}: '${path}' is truncated: ${bytes.length} bytes, not even an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const hex = (m: number): string => `0x${m.toString(16).padStart(8, '0')}`;
  if (expectedMagic !== undefined && magic !== expectedMagic) {
    throw new Error(`${what}: '${path}' has magic number ${hex(magic)}, expected ${hex(expectedMagic)} (${expectedMagic === IDX_LABELS_MAGIC ? 'IDX labels' : 'IDX images'})`);
  }
  if (magic >>> 16 !== 0 || ((magic >>> 8) & 0xff) !== 0x08 || (magic & 0xff) === 0) {
    throw new Error(`${what}: '${path}' has magic number ${hex(magic)}, not an unsigned-byte IDX file (0x000008NN)`);
  }
  const rank = magic & 0xff;
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) throw new Error(`${what}: '${path}' is truncated: ${bytes.length} bytes, the header of a rank-${rank} IDX file needs ${headerBytes}`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const available = bytes.length - headerBytes;
  if (available < count) {
    throw new Error(`${what}: '${path}' is truncated: dimensions [${dims.join(', ')}] need ${count} data bytes, the file has ${available}`);
  }
  if (available > count) throw new Error(`${what}: '${path}' has ${available - count} bytes after the ${count} data bytes of dimensions [${dims.join(', ')}]`);
  return { dims, data: bytes.subarray(headerBytes, headerBytes + count) };
}

/** Reads an unsigned-byte IDX file, raw or gzipped. */
export function readIdx(path: string, expectedMagic?: number): IdxData {
  return parseIdx(readMaybeGzip(path, 'readIdx'), path, expectedMagic);
}

/** Reads an IDX labels file (magic 0x00000801): one byte per example. */
export function readIdxLabels(path: string): Uint8Array {
  return readIdx(path, IDX_LABELS_MAGIC).data;
}

/** Reads an IDX images file (magic 0x00000803): count, rows, columns. */
export function readIdxImages(path: string): { count: number; rows: number; cols: number; pixels: Uint8Array } {
  const { dims, data } = readIdx(path, IDX_IMAGES_MAGIC);
  return { count: dims[0]!, rows: dims[1]!, cols: dims[2]!, pixels: data };
}

/** The bytes of an unsigned-byte IDX file for `dims` and `data` (to write test or exported data). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new Error(`encodeIdx: ${data.length} values do not fill dimensions [${dims.join(', ')}] (${count})`);
  const out = new Uint8Array(4 + 4 * dims.length + count);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x0800 | dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
