/**
 * DL4J's CheckpointListener: saves the model (a MultiLayerNetwork or a ComputationGraph, named in
 * the file name as DL4J does) every N iterations, every N epochs and/or every so
 * many seconds/minutes/hours into a directory, keeps all, the last N, or the last N plus every
 * M-th checkpoint, and records them in checkpointInfo.txt so a later run (or a new listener on
 * the same directory) continues the numbering. Files are written to a temporary name and renamed,
 * so a crash never leaves a half-written checkpoint under a checkpoint's name.
 *
 * Listeners run synchronously inside fit(), so saving is synchronous too.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MultiLayerNetwork } from './multilayer-network.js';
import { ComputationGraph } from './graph/computation-graph.js';
import { deserializeAnyModel, isSerializableModel, modelTypeName, serializeModel, type ModelTypeName, type RestoreOptions, type SerializableModel } from './model-serializer.js';
import type { TrainableModel, TrainingListener } from './listeners.js';

export type CheckpointTimeUnit = 'seconds' | 'minutes' | 'hours';

const UNIT_MS: Readonly<Record<CheckpointTimeUnit, number>> = { seconds: 1000, minutes: 60_000, hours: 3_600_000 };

export interface CheckpointListenerOptions {
  /** Where checkpoints and checkpointInfo.txt go (created when missing). */
  directory: string;
  /** Keep every checkpoint (the default when keepLast is not given). */
  keepAll?: boolean;
  /** Keep only the newest N checkpoints; older files are deleted after each save. */
  keepLast?: number;
  /** With keepLast: also keep the checkpoints whose number is a multiple of this (numbers start at 0). */
  keepEvery?: number;
  /** Save after every N-th iteration of the network (counted over its whole life, so a restart keeps the rhythm). */
  saveEveryNIterations?: number;
  /** Save at the end of every N-th epoch. */
  saveEveryNEpochs?: number;
  /** Save after the first iteration that ends at least this long after the last save (or the start of training). */
  saveEvery?: { amount: number; unit: CheckpointTimeUnit };
  /** Store the updater state so training can continue exactly (default true). */
  saveUpdater?: boolean;
  /** Log a line per saved checkpoint (default true). */
  logSaving?: boolean;
  /** Where log lines go (default console.log). */
  log?: (line: string) => void;
  /** Milliseconds since the epoch (default Date.now); for the time trigger and the recorded timestamps. */
  clock?: () => number;
}

/** One saved checkpoint, as listed in checkpointInfo.txt. */
export interface Checkpoint {
  /** 0, 1, 2, ... in the order saved, continued across listeners on the same directory. */
  readonly number: number;
  /** Epochs completed when saved: the restored network's epochCount. */
  readonly epoch: number;
  /** Iterations completed when saved: the restored network's iterationCount. */
  readonly iteration: number;
  /** When it was saved, in milliseconds since the epoch. */
  readonly timestamp: number;
  /** The file's name inside the directory. */
  readonly filename: string;
}

const INDEX_FILE = 'checkpointInfo.txt';
const INDEX_HEADER = 'number,epoch,iteration,timestamp,filename';
const EXTENSION = '.dl4ts';
const FILE_PATTERN = /^checkpoint_(\d+)_[A-Za-z]+\.dl4ts$/;

function checkpointFileName(num: number, model: SerializableModel): string {
  return `checkpoint_${num}_${modelTypeName(model)}${EXTENSION}`;
}

/** Writes to a temporary file, flushes it to disk, then renames it over `path` (atomic on one filesystem). */
function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

function formatIndex(records: readonly Checkpoint[]): string {
  return [INDEX_HEADER, ...records.map((r) => `${r.number},${r.epoch},${r.iteration},${r.timestamp},${r.filename}`)].join('\n') + '\n';
}

/** The checkpoints listed in a directory's index (all of them, present or not); [] without an index. */
function readIndex(directory: string): Checkpoint[] {
  const path = join(directory, INDEX_FILE);
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const bad = (line: number, why: string): Error => new Error(`CheckpointListener: '${path}' line ${line}: ${why}`);
  if (lines[0] !== INDEX_HEADER) throw bad(1, `expected the header '${INDEX_HEADER}', got '${lines[0]}'`);
  const out: Checkpoint[] = [];
  lines.slice(1).forEach((text, k) => {
    if (text === '') return;
    const fields = text.split(',');
    const nums = fields.slice(0, 4).map(Number);
    const filename = fields[4] ?? '';
    if (fields.length !== 5 || !nums.every((v) => Number.isSafeInteger(v) && v >= 0)) {
      throw bad(k + 2, `expected four non-negative integers and a file name (${INDEX_HEADER}), got '${text}'`);
    }
    // The name must be a checkpoint of this number: the index must never point deletion elsewhere.
    const m = FILE_PATTERN.exec(filename);
    if (!m || Number(m[1]) !== nums[0]) throw bad(k + 2, `'${filename}' is not the file name of checkpoint ${nums[0]}`);
    const [num, epoch, iteration, timestamp] = nums as [number, number, number, number];
    out.push({ number: num, epoch, iteration, timestamp, filename });
  });
  return out;
}

function positiveInteger(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) throw new Error(`CheckpointListener: ${name} must be a positive integer, got ${v}`);
}

/** Saves checkpoints of a MultiLayerNetwork or ComputationGraph during fit() (DL4J's CheckpointListener). */
export class CheckpointListener implements TrainingListener {
  readonly directory: string;
  private readonly keepLast: number | undefined;
  private readonly keepEvery: number | undefined;
  private readonly everyIterations: number | undefined;
  private readonly everyEpochs: number | undefined;
  private readonly everyMs: number | undefined;
  private readonly saveUpdater: boolean;
  private readonly logSaving: boolean;
  private readonly log: (line: string) => void;
  private readonly clock: () => number;
  /** The checkpoints of the directory that have not been deleted, oldest first. */
  private records: Checkpoint[];
  private nextNumber: number;
  /** When the last checkpoint was saved, or training started (-1: not yet); the time trigger counts from it. */
  private lastSaveTime = -1;

  constructor(options: CheckpointListenerOptions) {
    const o = options;
    if (typeof o.directory !== 'string' || o.directory === '') throw new Error(`CheckpointListener: directory must be a non-empty path, got ${JSON.stringify(o.directory)}`);
    positiveInteger('keepLast', o.keepLast);
    positiveInteger('keepEvery', o.keepEvery);
    positiveInteger('saveEveryNIterations', o.saveEveryNIterations);
    positiveInteger('saveEveryNEpochs', o.saveEveryNEpochs);
    if (o.keepAll === true && (o.keepLast !== undefined || o.keepEvery !== undefined)) {
      throw new Error(`CheckpointListener: keepAll conflicts with keepLast (${o.keepLast}) / keepEvery (${o.keepEvery}); give one policy`);
    }
    if (o.keepAll === false && o.keepLast === undefined) throw new Error('CheckpointListener: keepAll is false but keepLast is not given; say how many checkpoints to keep');
    if (o.keepEvery !== undefined && o.keepLast === undefined) throw new Error(`CheckpointListener: keepEvery (${o.keepEvery}) keeps checkpoints in addition to keepLast, which is not given`);
    if (o.saveEvery !== undefined) {
      const { amount, unit } = o.saveEvery;
      if (!(typeof amount === 'number' && Number.isFinite(amount) && amount > 0)) throw new Error(`CheckpointListener: saveEvery.amount must be a positive number, got ${amount}`);
      if (!Object.hasOwn(UNIT_MS, unit)) throw new Error(`CheckpointListener: saveEvery.unit must be one of ${Object.keys(UNIT_MS).join(', ')}, got ${JSON.stringify(unit)}`);
      this.everyMs = amount * UNIT_MS[unit];
    }
    if (o.saveEveryNIterations === undefined && o.saveEveryNEpochs === undefined && o.saveEvery === undefined) {
      throw new Error('CheckpointListener: no checkpoint frequency; give saveEveryNIterations, saveEveryNEpochs or saveEvery');
    }
    this.directory = o.directory;
    this.keepLast = o.keepLast;
    this.keepEvery = o.keepEvery;
    this.everyIterations = o.saveEveryNIterations;
    this.everyEpochs = o.saveEveryNEpochs;
    this.saveUpdater = o.saveUpdater ?? true;
    this.logSaving = o.logSaving ?? true;
    this.log = o.log ?? ((line) => console.log(line));
    this.clock = o.clock ?? Date.now;

    try {
      mkdirSync(this.directory, { recursive: true });
    } catch (e) {
      throw new Error(`CheckpointListener: cannot create the directory '${this.directory}': ${e instanceof Error ? e.message : String(e)}`);
    }
    const listed = readIndex(this.directory);
    this.records = listed.filter((r) => existsSync(join(this.directory, r.filename)));
    // Files saved just before a crash may be missing from the index: never reuse their numbers.
    const onDisk = readdirSync(this.directory).flatMap((f) => {
      const m = FILE_PATTERN.exec(f);
      return m ? [Number(m[1])] : [];
    });
    this.nextNumber = Math.max(-1, ...listed.map((r) => r.number), ...onDisk) + 1;
  }

  /** The checkpoints this listener's directory holds now, oldest first. */
  availableCheckpoints(): Checkpoint[] {
    return [...this.records];
  }

  onEpochStart(): void {
    if (this.lastSaveTime < 0) this.lastSaveTime = this.clock();
  }

  iterationDone(model: TrainableModel, iteration: number, epoch: number): void {
    const now = this.clock();
    if (this.lastSaveTime < 0) this.lastSaveTime = now;
    const byIteration = this.everyIterations !== undefined && (iteration + 1) % this.everyIterations === 0;
    const byTime = this.everyMs !== undefined && now - this.lastSaveTime >= this.everyMs;
    // fit() counts this step after the listeners run: the checkpoint records the counts after it.
    if (byIteration || byTime) this.save(model, iteration + 1, epoch, now);
  }

  onEpochEnd(model: TrainableModel): void {
    if (this.everyEpochs === undefined) return;
    const net = this.network(model);
    if ((net.epochCount + 1) % this.everyEpochs === 0) this.save(net, net.iterationCount, net.epochCount + 1, this.clock());
  }

  private network(model: TrainableModel): SerializableModel {
    if (!isSerializableModel(model)) throw new Error(`CheckpointListener: can only save a MultiLayerNetwork or a ComputationGraph, got ${model.constructor.name}`);
    return model;
  }

  private save(model: TrainableModel, iterationCount: number, epochCount: number, now: number): void {
    const net = this.network(model);
    const num = this.nextNumber;
    const filename = checkpointFileName(num, net);
    const path = join(this.directory, filename);
    writeAtomic(path, serializeModel(net, { saveUpdater: this.saveUpdater, counters: { iterationCount, epochCount } }));
    this.nextNumber++;
    this.lastSaveTime = now;
    this.records.push({ number: num, epoch: epochCount, iteration: iterationCount, timestamp: now, filename });
    const doomed = this.prune();
    // The index first, then the deletions: a crash in between leaves stray files, never a dangling entry.
    writeAtomic(join(this.directory, INDEX_FILE), formatIndex(this.records));
    for (const r of doomed) rmSync(join(this.directory, r.filename), { force: true });
    if (this.logSaving) this.log(`CheckpointListener: saved checkpoint ${num} (epoch ${epochCount}, iteration ${iterationCount}) to ${path}`);
  }

  /** Drops the records the keep policy no longer wants and returns them (their files are still there). */
  private prune(): Checkpoint[] {
    const last = this.keepLast;
    if (last === undefined) return [];
    const every = this.keepEvery;
    const cut = this.records.length - last;
    const keep = (r: Checkpoint, i: number): boolean => i >= cut || (every !== undefined && r.number % every === 0);
    const doomed = this.records.filter((r, i) => !keep(r, i));
    this.records = this.records.filter(keep);
    return doomed;
  }

  // ---- reading a checkpoint directory -------------------------------------------------------------

  /** The checkpoints in `directory` whose files exist, oldest first ([] when there are none). */
  static availableCheckpoints(directory: string): Checkpoint[] {
    return readIndex(directory).filter((r) => existsSync(join(directory, r.filename)));
  }

  /** The newest checkpoint in `directory`, or null when there is none. */
  static lastCheckpoint(directory: string): Checkpoint | null {
    return CheckpointListener.availableCheckpoints(directory).at(-1) ?? null;
  }

  /**
   * Restores checkpoint `which` (its number or its record) as a new model owned by the caller: a
   * MultiLayerNetwork or a ComputationGraph, whichever the file holds.
   */
  static async loadCheckpoint(directory: string, which: number | Checkpoint, options: RestoreOptions = {}): Promise<SerializableModel> {
    const num = numberOf(which);
    const available = CheckpointListener.availableCheckpoints(directory);
    const found = available.find((r) => r.number === num);
    if (!found) {
      throw new Error(`CheckpointListener.loadCheckpoint: no checkpoint ${num} in '${directory}'; available: ${available.length === 0 ? 'none' : available.map((r) => r.number).join(', ')}`);
    }
    const path = join(directory, found.filename);
    return deserializeAnyModel(await readFile(path), path, options).model;
  }

  /** Restores the newest checkpoint, or returns null when the directory has none. */
  static async loadLastCheckpoint(directory: string, options: RestoreOptions = {}): Promise<SerializableModel | null> {
    const last = CheckpointListener.lastCheckpoint(directory);
    return last ? CheckpointListener.loadCheckpoint(directory, last, options) : null;
  }

  /** loadCheckpoint for a checkpoint that must hold a MultiLayerNetwork (DL4J's loadCheckpointMLN). */
  static async loadCheckpointMLN(directory: string, which: number | Checkpoint, options: RestoreOptions = {}): Promise<MultiLayerNetwork> {
    const model = await CheckpointListener.loadCheckpoint(directory, which, options);
    return expectKind(model, MultiLayerNetwork, 'MultiLayerNetwork', 'loadCheckpointMLN', directory, numberOf(which));
  }

  /** loadCheckpoint for a checkpoint that must hold a ComputationGraph (DL4J's loadCheckpointCG). */
  static async loadCheckpointCG(directory: string, which: number | Checkpoint, options: RestoreOptions = {}): Promise<ComputationGraph> {
    const model = await CheckpointListener.loadCheckpoint(directory, which, options);
    return expectKind(model, ComputationGraph, 'ComputationGraph', 'loadCheckpointCG', directory, numberOf(which));
  }

  /** loadLastCheckpoint for a directory whose newest checkpoint must hold a MultiLayerNetwork (DL4J's loadLastCheckpointMLN). */
  static async loadLastCheckpointMLN(directory: string, options: RestoreOptions = {}): Promise<MultiLayerNetwork | null> {
    const last = CheckpointListener.lastCheckpoint(directory);
    return last ? CheckpointListener.loadCheckpointMLN(directory, last, options) : null;
  }

  /** loadLastCheckpoint for a directory whose newest checkpoint must hold a ComputationGraph (DL4J's loadLastCheckpointCG). */
  static async loadLastCheckpointCG(directory: string, options: RestoreOptions = {}): Promise<ComputationGraph | null> {
    const last = CheckpointListener.lastCheckpoint(directory);
    return last ? CheckpointListener.loadCheckpointCG(directory, last, options) : null;
  }
}

function numberOf(which: number | Checkpoint): number {
  return typeof which === 'number' ? which : which.number;
}

/** `model` as the kind the caller asked for; otherwise it is closed and the error names both kinds. */
function expectKind<M extends SerializableModel>(model: SerializableModel, kind: abstract new (...args: never[]) => M, name: ModelTypeName, op: string, directory: string, num: number): M {
  if (model instanceof kind) return model;
  const held = modelTypeName(model);
  model.close();
  throw new Error(`CheckpointListener.${op}: checkpoint ${num} in '${directory}' holds a ${held}, not a ${name}; loadCheckpoint restores either kind`);
}
