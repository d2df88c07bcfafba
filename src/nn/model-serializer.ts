/**
 * DL4J's ModelSerializer for MultiLayerNetwork and ComputationGraph: one binary file holding the
 * configuration, the counters, the parameters, the updater state and optionally a normalizer, so a
 * restored model gives bit-identical outputs and continues training exactly as the saved one would.
 * Both kinds share the layout; the header's format tag tells them apart.
 *
 * Layout (all integers little-endian):
 *   0  8 bytes  magic "DL4TSNET"
 *   8  u32      format version (1)
 *  12  u32      header length H in bytes
 *  16  u32      CRC-32 over everything from byte 20 to the end (header and tensor data)
 *  20  H bytes  JSON header (ModelFileHeader)
 *  20+H         tensor data: each tensor's raw row-major values at header.tensors[i].offset
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { NDArray } from '../ndarray/ndarray.js';
import { isDataType, dtypeSize, type DataType } from '../ndarray/dtype.js';
import { sizeOf, formatShape } from '../ndarray/shape.js';
import { scope } from '../ndarray/scope.js';
import { noGrad } from '../autodiff/tape.js';
import { normalizerFromJSON, type Normalizer, type NormalizerJSON } from '../data/normalizers.js';
import { configurationFromJSON, configurationToJSON } from './config.js';
import { MultiLayerNetwork } from './multilayer-network.js';
import { ComputationGraph } from './graph/computation-graph.js';
import { graphFromJSON, graphToJSON } from './graph/graph-config.js';
import { crc32 } from './crc32.js';
import { tensorBytes, tensorFromBytes } from './tensor-bytes.js';

const MAGIC = Buffer.from('DL4TSNET', 'latin1');
const VERSION = 1;
const PREFIX = 20;

/** One tensor in the data section; offsets are relative to the start of the data section. */
interface TensorEntry {
  /** 'param/0_W' ('param/<vertex>_W' for graphs) for parameters, 'updater/<paramIndex>/<stateName>' for updater state. */
  name: string;
  dtype: DataType;
  shape: number[];
  offset: number;
  length: number;
}

type ModelFormat = 'dl4ts-multilayernetwork' | 'dl4ts-computationgraph';

/** DL4J's class names of the models. */
export type ModelTypeName = 'MultiLayerNetwork' | 'ComputationGraph';

const FORMAT_NAMES: Readonly<Record<ModelFormat, ModelTypeName>> = { 'dl4ts-multilayernetwork': 'MultiLayerNetwork', 'dl4ts-computationgraph': 'ComputationGraph' };

/** The models a model file holds. */
export type SerializableModel = MultiLayerNetwork | ComputationGraph;

function formatOf(model: SerializableModel): ModelFormat {
  return model instanceof ComputationGraph ? 'dl4ts-computationgraph' : 'dl4ts-multilayernetwork';
}

/** The model's DL4J class name ('MultiLayerNetwork' or 'ComputationGraph'). */
export function modelTypeName(model: SerializableModel): ModelTypeName {
  return FORMAT_NAMES[formatOf(model)];
}

/** Whether `model` is one of the models a file can hold. */
export function isSerializableModel(model: unknown): model is SerializableModel {
  return model instanceof MultiLayerNetwork || model instanceof ComputationGraph;
}

interface ModelFileHeader {
  format: ModelFormat;
  configuration: unknown;
  iterationCount: number;
  epochCount: number;
  normalizer: NormalizerJSON | null;
  tensors: TensorEntry[];
}

export interface WriteModelOptions {
  /** Store the updater state, so training can continue exactly (default true). */
  saveUpdater?: boolean;
  /** A fitted normalizer saved alongside (DL4J's addNormalizerToModel). */
  normalizer?: Normalizer;
  /**
   * Counters to record instead of the network's own: a listener saving from inside fit() runs
   * before fit advances them, so it passes the values the network will have after this step/epoch.
   */
  counters?: { iterationCount: number; epochCount: number };
}

export interface RestoreOptions {
  /** Restore the updater state when the file has it (default true); otherwise updaters start fresh. */
  loadUpdater?: boolean;
}

export interface RestoredModel {
  network: MultiLayerNetwork;
  normalizer: Normalizer | null;
}

export interface RestoredGraph {
  graph: ComputationGraph;
  normalizer: Normalizer | null;
}

/** The file's bytes for `net` (see writeModel). */
export function serializeModel(net: SerializableModel, options: WriteModelOptions = {}): Buffer {
  const where = 'ModelSerializer.writeModel';
  const named: [string, NDArray][] = [...net.paramTable()].map(([k, a]) => [`param/${k}`, a]);
  if (options.saveUpdater ?? true) {
    for (const [k, a] of Object.entries(net.updaterState())) named.push([`updater/${k}`, a]);
  }
  const chunks: Buffer[] = [];
  const tensors: TensorEntry[] = [];
  let offset = 0;
  for (const [name, a] of named) {
    const bytes = tensorBytes(a, where);
    tensors.push({ name, dtype: a.dtype, shape: [...a.shape], offset, length: bytes.byteLength });
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  const header: ModelFileHeader = {
    format: formatOf(net),
    configuration: JSON.parse(net instanceof ComputationGraph ? graphToJSON(net.conf) : configurationToJSON(net.conf)) as unknown,
    iterationCount: options.counters?.iterationCount ?? net.iterationCount,
    epochCount: options.counters?.epochCount ?? net.epochCount,
    normalizer: options.normalizer ? options.normalizer.toJSON() : null,
    tensors,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const body = Buffer.concat([headerBytes, ...chunks]);
  const prefix = Buffer.alloc(PREFIX);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(VERSION, 8);
  prefix.writeUInt32LE(headerBytes.byteLength, 12);
  prefix.writeUInt32LE(crc32(body), 16);
  return Buffer.concat([prefix, body]);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkHeader(h: unknown, format: ModelFormat, dataLength: number, bad: (why: string) => Error): ModelFileHeader {
  if (!isRecord(h) || h['format'] !== format) {
    const other = isRecord(h) ? (FORMAT_NAMES as Record<string, string>)[String(h['format'])] : undefined;
    throw bad(other ? `holds a ${other}, not a ${FORMAT_NAMES[format]}; use restore${other}` : `the header is not a dl4ts ${FORMAT_NAMES[format]} header`);
  }
  if (!Number.isInteger(h['iterationCount']) || !Number.isInteger(h['epochCount'])) throw bad('the header lacks iterationCount/epochCount');
  if (!Array.isArray(h['tensors'])) throw bad('the header lacks the tensor table');
  for (const t of h['tensors'] as unknown[]) {
    if (!isRecord(t) || typeof t['name'] !== 'string' || !isDataType(t['dtype']) || !Array.isArray(t['shape'])
      || !(t['shape'] as unknown[]).every((d) => Number.isInteger(d) && (d as number) >= 0)
      || !Number.isInteger(t['offset']) || !Number.isInteger(t['length'])) {
      throw bad(`malformed tensor entry ${JSON.stringify(t)}`);
    }
    const e = t as unknown as TensorEntry;
    if (e.length !== sizeOf(e.shape) * dtypeSize(e.dtype)) throw bad(`tensor '${e.name}' ${e.dtype}${formatShape(e.shape)} has length ${e.length}`);
    if (e.offset < 0 || e.offset + e.length > dataLength) throw bad(`tensor '${e.name}' [${e.offset}, ${e.offset + e.length}) lies outside the ${dataLength} data bytes (truncated file?)`);
  }
  return h as unknown as ModelFileHeader;
}

/** A model file whose prefix and CRC were checked: its header as parsed JSON (not yet checked) and its tensor data. */
interface ModelFile {
  parsed: unknown;
  data: Buffer;
}

/** Checks a model file's prefix and CRC and parses its header. */
function readModelFile(bytes: Uint8Array, bad: (why: string) => Error): ModelFile {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.byteLength < PREFIX) throw bad(`is truncated: ${buf.byteLength} bytes, shorter than the ${PREFIX}-byte prefix`);
  if (!buf.subarray(0, 8).equals(MAGIC)) throw bad('is not a dl4ts model file (bad magic)');
  const version = buf.readUInt32LE(8);
  if (version !== VERSION) throw bad(`has format version ${version}; this reader supports ${VERSION}`);
  const headerLength = buf.readUInt32LE(12);
  if (PREFIX + headerLength > buf.byteLength) throw bad(`is truncated: the header needs ${headerLength} bytes, only ${buf.byteLength - PREFIX} follow`);
  const body = buf.subarray(PREFIX);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.subarray(0, headerLength).toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const data = body.subarray(headerLength);
  if (crc32(body) !== buf.readUInt32LE(16)) {
    // Name truncation as such when the surviving header says how long the data should be.
    if (isRecord(parsed) && Array.isArray(parsed['tensors'])) {
      const needed = (parsed['tensors'] as unknown[]).reduce<number>((m, t) => (isRecord(t) && typeof t['offset'] === 'number' && typeof t['length'] === 'number' ? Math.max(m, t['offset'] + t['length']) : m), 0);
      if (needed > data.byteLength) throw bad(`is truncated: ${data.byteLength} tensor data bytes, ${needed} expected`);
    }
    throw bad('is corrupted: CRC-32 mismatch');
  }
  if (parsed === undefined) throw bad('has a header that is not valid JSON');
  return { parsed, data };
}

/** What restoring fills in: MultiLayerNetwork and ComputationGraph both offer it. */
interface RestorableModel {
  paramTable(): Map<string, NDArray>;
  setUpdaterState(state: Readonly<Record<string, NDArray>>): void;
  iterationCount: number;
  epochCount: number;
  close(): void;
}

/** Copies the file's parameters, updater state and counters into a freshly initialized model (closed on error). */
function restoreInto<M extends RestorableModel>(network: M, header: ModelFileHeader, data: Buffer, file: string, op: string, bad: (why: string) => Error, options: RestoreOptions): { network: M; normalizer: Normalizer | null } {
  try {
    const params = network.paramTable();
    const seen = new Set<string>();
    const updater: Record<string, NDArray> = {};
    noGrad(() => scope(() => {
      for (const t of header.tensors) {
        const a = tensorFromBytes(data.subarray(t.offset, t.offset + t.length), t.dtype, t.shape, `ModelSerializer.${op}('${file}')`);
        if (t.name.startsWith('param/')) {
          const key = t.name.slice(6);
          const p = params.get(key);
          if (!p) throw bad(`holds parameter '${key}', which the network does not have`);
          if (p.dtype !== a.dtype || formatShape(p.shape) !== formatShape(a.shape)) {
            throw bad(`parameter '${key}' is ${a.dtype}${formatShape(a.shape)}; the network expects ${p.dtype}${formatShape(p.shape)}`);
          }
          p.assign(a);
          seen.add(key);
        } else if (t.name.startsWith('updater/')) {
          updater[t.name.slice(8)] = a;
        } else {
          throw bad(`holds an unknown tensor '${t.name}'`);
        }
      }
      for (const key of params.keys()) if (!seen.has(key)) throw bad(`lacks parameter '${key}'`);
      if ((options.loadUpdater ?? true) && Object.keys(updater).length > 0) network.setUpdaterState(updater);
    }));
    network.iterationCount = header.iterationCount;
    network.epochCount = header.epochCount;
    const normalizer = header.normalizer ? normalizerFromJSON(header.normalizer) : null;
    return { network, normalizer };
  } catch (e) {
    network.close();
    throw e;
  }
}

/** The MultiLayerNetwork of a read model file. */
function networkOf(file: ModelFile, name: string, op: string, bad: (why: string) => Error, options: RestoreOptions): RestoredModel {
  const header = checkHeader(file.parsed, 'dl4ts-multilayernetwork', file.data.byteLength, bad);
  const network = new MultiLayerNetwork(configurationFromJSON(header.configuration as object)).init();
  return restoreInto(network, header, file.data, name, op, bad, options);
}

/** The ComputationGraph of a read model file. */
function graphOf(file: ModelFile, name: string, op: string, bad: (why: string) => Error, options: RestoreOptions): RestoredGraph {
  const header = checkHeader(file.parsed, 'dl4ts-computationgraph', file.data.byteLength, bad);
  const { network, normalizer } = restoreInto(new ComputationGraph(graphFromJSON(header.configuration as object)).init(), header, file.data, name, op, bad, options);
  return { graph: network, normalizer };
}

function badFor(op: string, file: string): (why: string) => Error {
  return (why) => new Error(`ModelSerializer.${op}: '${file}' ${why}`);
}

/** Rebuilds a network from the bytes of a model file; `file` names the source in errors. */
export function deserializeModel(bytes: Uint8Array, file: string, options: RestoreOptions = {}): RestoredModel {
  const op = 'restoreMultiLayerNetwork';
  const bad = badFor(op, file);
  return networkOf(readModelFile(bytes, bad), file, op, bad, options);
}

/** Rebuilds a ComputationGraph from the bytes of a model file; `file` names the source in errors. */
export function deserializeGraph(bytes: Uint8Array, file: string, options: RestoreOptions = {}): RestoredGraph {
  const op = 'restoreComputationGraph';
  const bad = badFor(op, file);
  return graphOf(readModelFile(bytes, bad), file, op, bad, options);
}

export interface RestoredAnyModel {
  /** A MultiLayerNetwork or a ComputationGraph, as the file's format tag says. */
  model: SerializableModel;
  normalizer: Normalizer | null;
}

/** Rebuilds whichever model the file holds (by its header's format tag); `file` names the source in errors. */
export function deserializeAnyModel(bytes: Uint8Array, file: string, options: RestoreOptions = {}): RestoredAnyModel {
  const op = 'restoreModel';
  const bad = badFor(op, file);
  const read = readModelFile(bytes, bad);
  const format = isRecord(read.parsed) ? read.parsed['format'] : undefined;
  if (format === 'dl4ts-computationgraph') {
    const { graph, normalizer } = graphOf(read, file, op, bad, options);
    return { model: graph, normalizer };
  }
  if (format === 'dl4ts-multilayernetwork') {
    const { network, normalizer } = networkOf(read, file, op, bad, options);
    return { model: network, normalizer };
  }
  throw bad(`has format ${JSON.stringify(format)}; expected one of ${Object.keys(FORMAT_NAMES).map((f) => `'${f}'`).join(', ')}`);
}

/** Saves and restores MultiLayerNetworks and ComputationGraphs (DL4J's ModelSerializer). */
export const ModelSerializer = {
  /** Writes the network (configuration, counters, parameters, updater state, normalizer) to one file. */
  async writeModel(net: SerializableModel, path: string, options: WriteModelOptions = {}): Promise<void> {
    await writeFile(path, serializeModel(net, options));
  },

  /** Reads a file written by writeModel; throws naming the file when it is corrupted or truncated. */
  async restoreMultiLayerNetwork(path: string, options: RestoreOptions = {}): Promise<RestoredModel> {
    return deserializeModel(await readFile(path), path, options);
  },

  /** Reads a ComputationGraph file written by writeModel; throws naming the file when it is corrupted or truncated. */
  async restoreComputationGraph(path: string, options: RestoreOptions = {}): Promise<RestoredGraph> {
    return deserializeGraph(await readFile(path), path, options);
  },

  /** Reads a file written by writeModel, whichever model it holds (its format tag says which). */
  async restoreModel(path: string, options: RestoreOptions = {}): Promise<RestoredAnyModel> {
    return deserializeAnyModel(await readFile(path), path, options);
  },
};
