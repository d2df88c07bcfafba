/**
 * DL4J's ComputationGraphConfiguration (its GraphBuilder) as a plain-data options object: the
 * global defaults of NeuralNetConfiguration, named network inputs, named vertices (a layer or a
 * parameterless vertex, each with the names of its inputs) and the names of the output layers.
 * resolveGraph() checks everything up front, naming the vertex: unknown inputs, cycles (with the
 * cycle spelled out), outputs, shapes, and every layer's options through the same resolvers as
 * MultiLayerNetwork, in topological order.
 */
import type { DataType } from '../../ndarray/dtype.js';
import { checkDefaults, inputActivationType, resolveLayer, type LayerConfig, type NetworkInputType, type NeuralNetDefaults, type ResolvedLayer } from '../config.js';
import type { ActivationType } from '../resolvers/context.js';
import { resolveTbptt, type TbpttLengths, type TbpttOptions } from '../tbptt.js';
import type { VertexConfig } from './vertex-config.js';
import { graphFail, mergeType, resolveVertex } from './vertices.js';

/** A layer vertex; a layer with several inputs sees them concatenated along axis 1 (DL4J's implicit merge). */
export interface LayerVertexEntry {
  layer: LayerConfig;
  inputs: string[];
}

/** A parameterless vertex (merge, elementwise, subset, ...). */
export interface GraphVertexEntry {
  vertex: VertexConfig;
  inputs: string[];
}

export type VertexEntry = LayerVertexEntry | GraphVertexEntry;

/** With backpropType 'TruncatedBPTT', fit trains every time-series array of a batch in segments (as MultiLayerNetwork). */
export interface ComputationGraphConfiguration extends NeuralNetDefaults, TbpttOptions {
  seed?: number;
  dataType?: DataType;
  /** Names of the network inputs, in the order the features arrays are given. */
  inputs: string[];
  /** One input type per input (DL4J's setInputTypes): enables nIn inference and shape checks. */
  inputTypes?: NetworkInputType[];
  /** Vertices by name; any order (they are sorted topologically). */
  vertices: Record<string, VertexEntry>;
  /** Names of the output/loss layer vertices, in the order the labels arrays are given. */
  outputs: string[];
}

interface ResolvedVertexBase {
  readonly name: string;
  readonly inputs: readonly string[];
  /** The incoming activation types (undefined where unknown: no inputTypes). */
  readonly inputTypes: readonly (ActivationType | undefined)[];
  readonly output: ActivationType | undefined;
}

export interface ResolvedLayerVertex extends ResolvedVertexBase {
  readonly kind: 'layer';
  readonly layer: ResolvedLayer;
}

export interface ResolvedGraphVertex extends ResolvedVertexBase {
  readonly kind: 'vertex';
  readonly vertex: VertexConfig;
}

export type ResolvedVertex = ResolvedLayerVertex | ResolvedGraphVertex;

export interface ResolvedGraph {
  readonly seed: number | undefined;
  readonly dataType: DataType;
  readonly inputs: readonly string[];
  readonly inputTypes: readonly (ActivationType | undefined)[];
  /** Every vertex in topological order (ties in declaration order); layer indices count layer vertices in this order. */
  readonly vertices: readonly ResolvedVertex[];
  readonly outputs: readonly string[];
  /** Present with backpropType 'TruncatedBPTT'. */
  readonly tbptt?: TbpttLengths;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkNames(where: string, v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.length === 0) graphFail(where, `expected a non-empty array of ${what} names, got ${JSON.stringify(v)}`);
  v.forEach((n, i) => {
    if (typeof n !== 'string' || n.length === 0) graphFail(where, `entry ${i} must be a non-empty string, got ${JSON.stringify(n)}`);
  });
  return v as string[];
}

/** A cycle among the vertices as 'a -> b -> a', or null. */
function findCycle(names: readonly string[], inputsOf: ReadonlyMap<string, readonly string[]>): string | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string | null => {
    if (state.get(n) === 'done') return null;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n].join(' -> ');
    state.set(n, 'open');
    path.push(n);
    for (const m of inputsOf.get(n) ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    path.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of names) {
    const c = visit(n);
    // Found walking inputs (consumer to producer): reverse it to read in data-flow order.
    if (c) return c.split(' -> ').reverse().join(' -> ');
  }
  return null;
}

/** Vertex names in topological order; among ready vertices, the one declared first goes first. */
function topologicalOrder(names: readonly string[], inputsOf: ReadonlyMap<string, readonly string[]>): string[] {
  const done = new Set<string>();
  const order: string[] = [];
  const pending = [...names];
  while (pending.length > 0) {
    const k = pending.findIndex((n) => inputsOf.get(n)!.every((m) => done.has(m) || !inputsOf.has(m)));
    const n = pending.splice(k, 1)[0]!;
    done.add(n);
    order.push(n);
  }
  return order;
}

/** Checks a graph configuration and returns it resolved; errors name the vertex and option. */
export function resolveGraph(conf: ComputationGraphConfiguration): ResolvedGraph {
  if (!isRecord(conf)) graphFail('configuration', `expected an object, got ${String(conf)}`);
  const dataType = checkDefaults(conf);
  const inputs = checkNames('inputs', conf.inputs, 'input');
  if (new Set(inputs).size !== inputs.length) graphFail('inputs', `duplicate input names in ${JSON.stringify(inputs)}`);
  if (conf.inputTypes !== undefined && !(Array.isArray(conf.inputTypes) && conf.inputTypes.length === inputs.length)) {
    graphFail('inputTypes', `expected one input type per input (${inputs.length}), got ${JSON.stringify(conf.inputTypes)}`);
  }
  const inputTypes = inputs.map((n, i) => (conf.inputTypes ? inputActivationType(conf.inputTypes[i], `inputTypes[${i}] (input '${n}')`) : undefined));
  if (!isRecord(conf.vertices) || Object.keys(conf.vertices).length === 0) graphFail('vertices', 'at least one vertex is required');
  const names = Object.keys(conf.vertices);
  const inputsOf = new Map<string, readonly string[]>();
  for (const name of names) {
    const where = `vertex '${name}'`;
    if (inputs.includes(name)) graphFail(where, 'has the name of a network input');
    const e = conf.vertices[name] as unknown;
    if (!isRecord(e) || ('layer' in e) === ('vertex' in e)) graphFail(where, 'expected { layer, inputs } or { vertex, inputs }');
    const ins = checkNames(`${where}: inputs`, e['inputs'], 'input');
    for (const m of ins) {
      if (!inputs.includes(m) && !Object.hasOwn(conf.vertices, m)) {
        graphFail(where, `unknown input '${m}'; the network inputs are ${inputs.join(', ')} and the vertices ${names.join(', ')}`);
      }
    }
    inputsOf.set(name, ins);
  }
  const cycle = findCycle(names, inputsOf);
  if (cycle) graphFail('vertices', `the graph has a cycle: ${cycle}`);

  const types = new Map<string, ActivationType | undefined>(inputs.map((n, i) => [n, inputTypes[i]]));
  let layerIndex = 0;
  const vertices = topologicalOrder(names, inputsOf).map((name): ResolvedVertex => {
    const entry = conf.vertices[name]!;
    const ins = inputsOf.get(name)!;
    const inTypes = ins.map((m) => types.get(m));
    let resolved: ResolvedVertex;
    if ('layer' in entry) {
      const l = entry.layer;
      if (isRecord(l) && l['name'] !== undefined && l['name'] !== name) graphFail(`vertex '${name}'`, `the layer's name '${String(l['name'])}' differs from its vertex name`);
      const input = ins.length === 1 ? inTypes[0] : mergeType(`vertex '${name}' (implicit merge of its ${ins.length} inputs)`, inTypes);
      const r = resolveLayer(isRecord(l) ? { ...l, name } : l, layerIndex, layerIndex, input, conf);
      layerIndex++;
      resolved = { kind: 'layer', name, inputs: ins, inputTypes: inTypes, output: r.output, layer: r.layer };
    } else {
      const v = entry.vertex;
      const output = resolveVertex(v, `vertex '${name}' (${isRecord(v) ? String(v['type']) : 'vertex'})`, inTypes);
      resolved = { kind: 'vertex', name, inputs: ins, inputTypes: inTypes, output, vertex: v };
    }
    types.set(name, resolved.output);
    return resolved;
  });

  const outputs = checkNames('outputs', conf.outputs, 'output vertex');
  if (new Set(outputs).size !== outputs.length) graphFail('outputs', `duplicate names in ${JSON.stringify(outputs)}`);
  for (const o of outputs) {
    const v = vertices.find((x) => x.name === o);
    if (!v) graphFail('outputs', `'${o}' is ${inputs.includes(o) ? 'a network input' : 'not a vertex'}; outputs must name output or loss layer vertices`);
    if (v.kind !== 'layer' || v.layer.lossFunction === null) {
      graphFail('outputs', `'${o}' is a ${v.kind === 'layer' ? `'${v.layer.type}' layer` : `'${v.vertex.type}' vertex`}; outputs must be 'output' or 'loss' layers`);
    }
  }
  const tbptt = resolveTbptt(conf, vertices.flatMap((v) => (v.kind === 'layer' ? [v.layer] : [])));
  return { seed: conf.seed, dataType, inputs, inputTypes, vertices, outputs, ...(tbptt === undefined ? {} : { tbptt }) };
}

export function validateGraph(conf: ComputationGraphConfiguration): void {
  resolveGraph(conf);
}

/** The configuration as JSON text (validated first). */
export function graphToJSON(conf: ComputationGraphConfiguration): string {
  validateGraph(conf);
  return JSON.stringify(conf);
}

/** A configuration from JSON text or an already parsed object; throws when invalid. */
export function graphFromJSON(json: string | object): ComputationGraphConfiguration {
  let parsed: unknown;
  try {
    parsed = typeof json === 'string' ? JSON.parse(json) : structuredClone(json);
  } catch (e) {
    throw new Error(`ComputationGraphConfiguration.fromJSON: not valid JSON: ${(e as Error).message}`);
  }
  const conf = parsed as ComputationGraphConfiguration;
  validateGraph(conf);
  return conf;
}

/** Value-side companion of the ComputationGraphConfiguration type. */
export const ComputationGraphConfiguration = {
  validate: validateGraph,
  resolve: resolveGraph,
  toJSON: graphToJSON,
  fromJSON: graphFromJSON,
} as const;
