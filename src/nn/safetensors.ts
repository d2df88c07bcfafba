/**
 * The safetensors format for a network's parameters: 8-byte little-endian header length N, N bytes
 * of JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {...}} (offsets relative
 * to the data section), then the raw little-endian data. Names are DL4J's parameter keys ('0_W').
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { NDArray } from '../ndarray/ndarray.js';
import { dtypeSize, type DataType } from '../ndarray/dtype.js';
import { formatShape, sizeOf } from '../ndarray/shape.js';
import { scope } from '../ndarray/scope.js';
import { noGrad } from '../autodiff/tape.js';
import type { MultiLayerNetwork } from './multilayer-network.js';
import type { ComputationGraph } from './graph/computation-graph.js';
import { tensorBytes, tensorFromBytes } from './tensor-bytes.js';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16';

const TO_ST: Partial<Record<DataType, SafetensorsDType>> = { DOUBLE: 'F64', FLOAT: 'F32', HALF: 'F16', BFLOAT16: 'BF16' };
const FROM_ST: Readonly<Record<SafetensorsDType, DataType>> = { F64: 'DOUBLE', F32: 'FLOAT', F16: 'HALF', BF16: 'BFLOAT16' };

interface StEntry {
  dtype: SafetensorsDType;
  shape: number[];
  data_offsets: [number, number];
}

/** The safetensors bytes of the network's parameters; `metadata` goes to __metadata__ (strings only). */
export function safetensorsBytes(net: MultiLayerNetwork | ComputationGraph, metadata: Readonly<Record<string, string>> = {}): Buffer {
  const header: Record<string, StEntry | Record<string, string>> = { __metadata__: { format: 'dl4ts', ...metadata } };
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, a] of net.paramTable()) {
    const dtype = TO_ST[a.dtype];
    if (!dtype) throw new Error(`exportSafetensors: parameter '${name}' has dtype ${a.dtype}; only DOUBLE, FLOAT, HALF and BFLOAT16 are supported`);
    const bytes = tensorBytes(a, 'exportSafetensors');
    header[name] = { dtype, shape: [...a.shape], data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  // The reference implementation pads the header with spaces so the data starts 8-byte aligned.
  json += ' '.repeat((8 - (Buffer.byteLength(json, 'utf8') % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  return Buffer.concat([len, headerBytes, ...chunks]);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Copies the parameters in safetensors `bytes` into the network (in place). The file must hold
 * exactly the network's parameter names, with the same shapes and dtypes. Returns __metadata__.
 */
export function loadSafetensorsBytes(net: MultiLayerNetwork | ComputationGraph, bytes: Uint8Array, file: string): Record<string, string> {
  const bad = (why: string): Error => new Error(`importSafetensors: '${file}' ${why}`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.byteLength < 8) throw bad(`is truncated: ${buf.byteLength} bytes, no 8-byte header length`);
  const n = buf.readBigUInt64LE(0);
  if (n > BigInt(buf.byteLength - 8)) throw bad(`is truncated or not safetensors: header length ${n}, only ${buf.byteLength - 8} bytes follow`);
  const headerLength = Number(n);
  let header: unknown;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLength).toString('utf8'));
  } catch (e) {
    throw bad(`has a header that is not valid JSON: ${(e as Error).message}`);
  }
  if (!isRecord(header)) throw bad('has a header that is not a JSON object');
  const data = buf.subarray(8 + headerLength);
  const params = net.paramTable();
  const metadata: Record<string, string> = {};
  const entries = new Map<string, StEntry>();
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isRecord(v)) throw bad('has a __metadata__ that is not an object');
      for (const [k, m] of Object.entries(v)) if (typeof m === 'string') metadata[k] = m;
      continue;
    }
    if (!isRecord(v) || typeof v['dtype'] !== 'string' || !Array.isArray(v['shape']) || !Array.isArray(v['data_offsets'])) {
      throw bad(`tensor '${name}' lacks dtype, shape or data_offsets`);
    }
    if (!(v['dtype'] in FROM_ST)) throw bad(`tensor '${name}' has dtype '${v['dtype']}'; supported: F64, F32, F16, BF16`);
    const shape = v['shape'] as unknown[];
    const offs = v['data_offsets'] as unknown[];
    if (!shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) throw bad(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    if (offs.length !== 2 || !offs.every((d) => Number.isInteger(d) && (d as number) >= 0) || (offs[0] as number) > (offs[1] as number)) {
      throw bad(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    entries.set(name, { dtype: v['dtype'] as SafetensorsDType, shape: shape as number[], data_offsets: offs as [number, number] });
  }
  const missing = [...params.keys()].filter((k) => !entries.has(k));
  const unexpected = [...entries.keys()].filter((k) => !params.has(k));
  if (missing.length > 0 || unexpected.length > 0) {
    throw bad(`does not match the network's parameters: missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`);
  }
  for (const [name, e] of entries) {
    const p = params.get(name)!;
    const dtype = FROM_ST[e.dtype];
    if (dtype !== p.dtype || formatShape(e.shape) !== formatShape(p.shape)) {
      throw bad(`tensor '${name}' is ${e.dtype}${formatShape(e.shape)}; the network's parameter is ${TO_ST[p.dtype] ?? p.dtype}${formatShape(p.shape)}`);
    }
    const [begin, end] = e.data_offsets;
    if (end - begin !== sizeOf(e.shape) * dtypeSize(dtype)) throw bad(`tensor '${name}' data_offsets [${begin}, ${end}] do not span ${sizeOf(e.shape) * dtypeSize(dtype)} bytes`);
    if (end > data.byteLength) throw bad(`is truncated: tensor '${name}' ends at data byte ${end}, the data section has ${data.byteLength}`);
  }
  // Everything is validated before any parameter changes, so a bad file leaves the network as it was.
  noGrad(() => scope(() => {
    for (const [name, e] of entries) {
      const p: NDArray = params.get(name)!;
      p.assign(tensorFromBytes(data.subarray(e.data_offsets[0], e.data_offsets[1]), FROM_ST[e.dtype], e.shape, `importSafetensors('${file}')`));
    }
  }));
  return metadata;
}

/** Writes the network's parameters as a safetensors file. */
export async function exportSafetensors(net: MultiLayerNetwork | ComputationGraph, path: string, metadata: Readonly<Record<string, string>> = {}): Promise<void> {
  await writeFile(path, safetensorsBytes(net, metadata));
}

/** Loads parameters from a safetensors file into the network (validated first); returns __metadata__. */
export async function importSafetensors(net: MultiLayerNetwork | ComputationGraph, path: string): Promise<Record<string, string>> {
  return loadSafetensorsBytes(net, await readFile(path), path);
}
