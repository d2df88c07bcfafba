/**
 * `npm run bench:gpu:networks`: training throughput of whole networks on the GPU, dl4ts against
 * PyTorch eager (bench/networks_gpu_torch.py, run by this script) with the same architecture, batch
 * and updater: the MLP and LeNet of the CPU benchmark at batch 128, ResNet-18 (32x32) at batch 256
 * and a 2-layer LSTM at batch 64, each in FLOAT, HALF and BFLOAT16. Medians of timed samples, each
 * sample a run of training steps on one random minibatch that lives on the device, ended by a device
 * synchronize. Prints Markdown tables and writes bench/results/gpu-networks-<date>.json.
 *   node dist/bench/networks-gpu.js [--quick] [--models mlp,lenet,resnet18,lstm] [--dtypes FLOAT,HALF,BFLOAT16]
 * For development only (no GPU): --backend cpu [--batch N] runs both sides on the CPU (PyTorch with
 * --device cpu), without writing results, to check that every model builds and trains the same way.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as nd from '../src/index.js';
import type { Backend } from '../src/index.js';
import { describeMachine } from './machine.js';
import { CLASSES, GPU_DTYPES, GPU_MODEL_NAMES, gpuModel, portableModel, type GpuDataType, type GpuModelName, type GpuModelSpec, type PortableModel } from './networks-gpu-spec.js';
import { fmt, markdownTable } from './report.js';
import { time } from './timing.js';
import { REPO_ROOT, runTorchScript } from './torch-bridge.js';

/** How both libraries time a row; the same plan goes to the PyTorch side. */
interface StepPlan {
  /** Untimed steps after the first one (cuDNN algorithm search, NVRTC compiles, allocator warm-up). */
  readonly warmupSteps: number;
  /** Steps timed once to choose the steps per sample. */
  readonly calibrationSteps: number;
  readonly samples: number;
  /** Each sample runs about this long ... */
  readonly targetSampleSeconds: number;
  /** ... but at most this many steps (and at least one). */
  readonly maxStepsPerSample: number;
}

/** About half a second a sample keeps the whole run within a few minutes even where a step takes 100 ms. */
const FULL_PLAN: StepPlan = { warmupSteps: 10, calibrationSteps: 5, samples: 7, targetSampleSeconds: 0.5, maxStepsPerSample: 500 };
const QUICK_PLAN: StepPlan = { warmupSteps: 1, calibrationSteps: 1, samples: 3, targetSampleSeconds: 0, maxStepsPerSample: 2 };

function stepsPerSample(secondsPerStep: number, plan: StepPlan): number {
  return Math.max(1, Math.min(plan.maxStepsPerSample, Math.ceil(plan.targetSampleSeconds / secondsPerStep)));
}

function list<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], normalize: (s: string) => string): T[] {
  if (value === undefined) return [...allowed];
  const picked = value.split(',').map((s) => normalize(s.trim())).filter((s) => s.length > 0);
  const unknown = picked.filter((s) => !(allowed as readonly string[]).includes(s));
  if (unknown.length > 0 || picked.length === 0) throw new Error(`networks-gpu: --${flag} got '${value}'; expected a comma-separated list of ${allowed.join(', ')}`);
  return allowed.filter((a) => picked.includes(a));
}

const USAGE = 'usage: node dist/bench/networks-gpu.js [--quick] [--models mlp,lenet,resnet18,lstm] [--dtypes FLOAT,HALF,BFLOAT16] [--backend cpu [--batch N]] (development check)';

interface Options {
  readonly quick: boolean;
  readonly models: GpuModelName[];
  readonly dtypes: GpuDataType[];
  /** Models or dtypes were picked, or the batch changed: results go to a file of their own. */
  readonly filtered: boolean;
  readonly onGpu: boolean;
  readonly batch: number | undefined;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      models: { type: 'string' },
      dtypes: { type: 'string' },
      backend: { type: 'string', default: 'cuda' },
      batch: { type: 'string' },
    },
  });
  const batch = values.batch === undefined ? undefined : Number(values.batch);
  if (batch !== undefined && !(Number.isInteger(batch) && batch > 0)) throw new Error(`networks-gpu: --batch must be a positive integer, got '${values.batch}'`);
  if (values.backend !== 'cuda' && values.backend !== 'cpu') throw new Error(`networks-gpu: --backend must be 'cuda' or 'cpu' (development check), got '${values.backend}'`);
  return {
    quick: values.quick, batch, onGpu: values.backend === 'cuda',
    models: list<GpuModelName>('models', values.models, GPU_MODEL_NAMES, (s) => s.toLowerCase()),
    dtypes: list<GpuDataType>('dtypes', values.dtypes, GPU_DTYPES, (s) => s.toUpperCase()),
    filtered: values.models !== undefined || values.dtypes !== undefined || batch !== undefined,
  };
}

let options: Options;
try {
  options = parseOptions();
} catch (e) {
  console.error(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
  process.exit(2);
}
const { models, dtypes, onGpu, batch: batchOverride } = options;
const plan = options.quick ? QUICK_PLAN : FULL_PLAN;

if (onGpu) {
  const status = nd.backendStatus().find((s) => s.name === 'cuda');
  if (!status?.available) {
    console.log(`bench:gpu:networks: no GPU here (${status?.reason ?? 'CUDA backend not registered'}); nothing to measure (--backend cpu runs both sides on the CPU as a development check)`);
    process.exit(0);
  }
}
const backend: Backend = nd.setBackend(onGpu ? 'cuda' : 'cpu');
const machine = describeMachine();
const deviceName = onGpu ? (backend.info().devices[0]?.name ?? 'CUDA device') : `CPU backend on ${machine.cpuModel} (development check)`;
const date = machine.date.slice(0, 10);
const batchOf = (spec: GpuModelSpec): number => batchOverride ?? spec.batch;

interface RunResult {
  readonly samplesPerSec: number;
  readonly msPerStep: number;
  readonly bestMsPerStep: number;
  readonly stepsPerSample: number;
  readonly samples: number;
  readonly firstLoss: number;
  readonly lastLoss: number;
  readonly params: number;
  /** Copies back to JavaScript during the timed samples (a training step must make none); null where the counter could not be checked. */
  readonly hostReads: number | null;
}

/** Runs `fn` counting the calls of obj[key] (shadowed by a counting own property, restored afterwards). */
function countCalls(obj: object, key: string, fn: () => void): number {
  const method: unknown = Reflect.get(obj, key);
  if (typeof method !== 'function') throw new Error(`networks-gpu: cannot count calls of '${key}': not a method`);
  const own = Object.getOwnPropertyDescriptor(obj, key);
  let calls = 0;
  Object.defineProperty(obj, key, { configurable: true, writable: true, value: (...a: unknown[]): unknown => (calls++, Reflect.apply(method, obj, a)) });
  try {
    fn();
  } finally {
    if (own) Object.defineProperty(obj, key, own);
    else Reflect.deleteProperty(obj, key);
  }
  return calls;
}

/**
 * Copies back to JavaScript while `fn` runs (instrumentation of this benchmark only): on the CUDA
 * backend every device-to-host download of its device (backend reads and internal ones, such as the
 * index checks of gather), elsewhere every backend read. A training step must make none.
 */
function countHostReads(b: Backend, fn: () => void): number {
  const device: unknown = 'device' in b ? b.device : null;
  if (typeof device === 'object' && device !== null && 'download' in device) return countCalls(device, 'download', fn);
  return countCalls(b, 'read', fn);
}

/** One random minibatch on the benchmark backend, in the network's data type: features and one-hot labels. */
function minibatch(spec: GpuModelSpec, dtype: GpuDataType, batch: number): nd.DataSet {
  return nd.scope(() => {
    const features = nd.randn([batch, ...spec.exampleShape], { dtype, backend, seed: 7 });
    const classes = nd.argmax(nd.randn([batch, CLASSES], { backend, seed: 8 }), 1);
    return new nd.DataSet(features, nd.oneHot(classes, CLASSES, { dtype }));
  });
}

function runDl4ts(spec: GpuModelSpec, dtype: GpuDataType): RunResult {
  const model = spec.configuration(dtype);
  const net = model.kind === 'graph' ? new nd.ComputationGraph(model.conf).init() : new nd.MultiLayerNetwork(model.conf).init();
  const batch = batchOf(spec);
  const ds = minibatch(spec, dtype, batch);
  try {
    net.fit(ds);
    const firstLoss = net.score();
    for (let i = 0; i < plan.warmupSteps; i++) net.fit(ds);
    backend.synchronize();
    const t0 = performance.now();
    for (let i = 0; i < plan.calibrationSteps; i++) net.fit(ds);
    backend.synchronize();
    const k = stepsPerSample((performance.now() - t0) / 1000 / plan.calibrationSteps, plan);
    let timing = { median: 0, min: 0, samples: 0 };
    const hostReads = countHostReads(backend, () => {
      timing = time(() => {
        for (let i = 0; i < k; i++) net.fit(ds);
        backend.synchronize();
      }, { warmup: 0, samples: plan.samples, minSampleSeconds: 0 });
    });
    // Reading the score must register as a read: otherwise the counter above saw nothing and proves nothing.
    let lastLoss = Number.NaN;
    const counterWorks = countHostReads(backend, () => void (lastLoss = net.score())) > 0;
    return {
      samplesPerSec: (batch * k) / timing.median, msPerStep: (timing.median / k) * 1e3, bestMsPerStep: (timing.min / k) * 1e3,
      stepsPerSample: k, samples: timing.samples, firstLoss, lastLoss, params: net.numParams(), hostReads: counterWorks ? hostReads : null,
    };
  } finally {
    ds.close();
    net.close();
  }
}

/** What bench/networks_gpu_torch.py prints for one row. */
interface TorchRow {
  readonly samples_per_s: number;
  readonly ms_per_step: number;
  readonly best_ms_per_step: number;
  readonly steps_per_sample: number;
  readonly samples: number;
  readonly first_loss: number;
  readonly last_loss: number;
  readonly params: number;
  readonly dl4ts_comparable_params: number;
}
interface TorchOutput {
  readonly torch: string;
  readonly cuda: string;
  readonly cudnn: number;
  readonly device: string;
  readonly results: Readonly<Record<string, TorchRow | { readonly error: string }>>;
}

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
const rowKey = (model: GpuModelName, dtype: GpuDataType): string => `${model}/${dtype}`;

/** PyTorch's rows, measured first in a child process so that each library has the GPU to itself (the CPU in the development check). */
function runTorch(): TorchOutput | { readonly error: string } {
  const portable: PortableModel[] = models.flatMap((m) => dtypes.map((d) => portableModel(gpuModel(m), d, batchOf(gpuModel(m)))));
  try {
    return runTorchScript<TorchOutput>('networks_gpu_torch.py', ['--device', onGpu ? 'cuda' : 'cpu'], { plan, models: portable });
  } catch (e) {
    return { error: `PyTorch side failed: ${reason(e)}` };
  }
}

console.log(`# dl4ts network training on the GPU against PyTorch eager\n`);
console.log(`Device: ${deviceName}; host ${machine.cpuModel}, Node ${machine.node}; ${machine.date}${options.quick ? '; --quick (tiny step counts: not a measurement)' : ''}`);
const torch = runTorch();
if ('torch' in torch) console.log(`PyTorch ${torch.torch} (CUDA ${torch.cuda}, cuDNN ${torch.cudnn}) on ${torch.device}`);
else console.log(torch.error);

interface Row {
  readonly model: GpuModelName;
  readonly dtype: GpuDataType;
  readonly batch: number;
  readonly dl4ts: RunResult | { readonly error: string };
  readonly torch: TorchRow | { readonly error: string };
}

const rows: Row[] = [];
for (const name of models) {
  const spec = gpuModel(name);
  for (const dtype of dtypes) {
    const t0 = performance.now();
    let dl4ts: Row['dl4ts'];
    try {
      dl4ts = runDl4ts(spec, dtype);
    } catch (e) {
      dl4ts = { error: reason(e) };
    }
    console.log(`  dl4ts ${rowKey(name, dtype)}: ${fmt((performance.now() - t0) / 1000)} s`);
    const theirs = 'results' in torch ? torch.results[rowKey(name, dtype)] : undefined;
    rows.push({ model: name, dtype, batch: batchOf(spec), dl4ts, torch: theirs ?? { error: 'error' in torch ? torch.error : 'missing from the PyTorch output' } });
  }
}

const ok = <T extends object>(r: T | { readonly error: string }): T | null => ('error' in r ? null : r);
const show = (v: number | undefined, decimals = 0): string => (v === undefined ? 'n/a' : fmt(v, decimals));
const losses = (first: number, last: number): string => `${fmt(first, 3)} -> ${fmt(last, 3)}`;

const notes = [
  `Training samples/s = batch / median step time (median of ${plan.samples} samples; each sample a run of steps on one random minibatch`,
  `created on the device, ended by a device synchronize; steps per sample chosen by a calibration run for ~${plan.targetSampleSeconds} s, at most ${plan.maxStepsPerSample}).`,
  'Same architecture, batch and updater (SGD lr 0.01, no momentum) on both sides; loss softmax cross-entropy. PyTorch: eager, no torch.compile,',
  'torch.backends.cudnn.benchmark = True. FLOAT is strict FP32 on both sides (TF32 off in cuBLAS and cuDNN).',
  '16-bit: dl4ts sets the network dataType (16-bit parameters and activations; the updater steps FLOAT master weights, cast back',
  'to 16 bits after each step, src/nn/master-weights.ts); PyTorch: model.to(dtype) and 16-bit inputs (plain 16-bit training:',
  '16-bit parameters and SGD update, no master weights, no autocast). LSTM input layout: dl4ts [N, C, T], PyTorch batch-first [N, T, C];',
  'PyTorch runs the two LSTM layers as one cuDNN nn.LSTM(num_layers=2). Weights: He-normal for dense and conv layers on both sides, LSTMs each library\'s own.',
];
console.log(`\n${notes.join('\n')}\n`);
for (const name of models) console.log(`- ${name}: ${gpuModel(name).description}`);
console.log();

const table = markdownTable(['model', 'dtype', 'batch', 'dl4ts samples/s', 'PyTorch samples/s', 'ratio (dl4ts/PyTorch)', 'target'], rows.map((r) => {
  const ours = ok(r.dl4ts);
  const theirs = ok(r.torch);
  return [r.model, r.dtype, r.batch, ours ? fmt(ours.samplesPerSec, 0) : 'failed', theirs ? fmt(theirs.samples_per_s, 0) : 'n/a',
    ours && theirs ? `${fmt(ours.samplesPerSec / theirs.samples_per_s, 2)}x` : 'n/a', '>= 1.0x'];
}));
console.log(table);
console.log();
console.log(markdownTable(['model', 'dtype', 'dl4ts ms/step (best)', 'dl4ts steps x samples', 'dl4ts loss first -> last', 'PyTorch ms/step (best)', 'PyTorch steps x samples', 'PyTorch loss first -> last', 'params dl4ts / PyTorch', 'dl4ts host reads (timed)'], rows.map((r) => {
  const ours = ok(r.dl4ts);
  const theirs = ok(r.torch);
  return [
    r.model, r.dtype,
    ours ? `${fmt(ours.msPerStep, 2)} (${fmt(ours.bestMsPerStep, 2)})` : 'n/a', ours ? `${ours.stepsPerSample} x ${ours.samples}` : 'n/a', ours ? losses(ours.firstLoss, ours.lastLoss) : 'n/a',
    theirs ? `${fmt(theirs.ms_per_step, 2)} (${fmt(theirs.best_ms_per_step, 2)})` : 'n/a', theirs ? `${theirs.steps_per_sample} x ${theirs.samples}` : 'n/a', theirs ? losses(theirs.first_loss, theirs.last_loss) : 'n/a',
    `${show(ours?.params)} / ${show(theirs?.dl4ts_comparable_params)}`, ours ? (ours.hostReads === null ? 'not counted' : ours.hostReads) : 'n/a',
  ];
})));
console.log();

const failures = rows.flatMap((r) => [
  ...('error' in r.dl4ts ? [`dl4ts ${rowKey(r.model, r.dtype)}: ${r.dl4ts.error}`] : []),
  ...('error' in r.torch ? [`PyTorch ${rowKey(r.model, r.dtype)}: ${r.torch.error}`] : []),
]);
for (const f of failures) console.log(`FAILED ${f}`);
// PyTorch's count adds BN running statistics and drops nn.LSTM's second bias, so equal counts mean equal architectures.
const paramMismatch = rows.filter((r) => {
  const ours = ok(r.dl4ts);
  const theirs = ok(r.torch);
  return ours && theirs && ours.params !== theirs.dl4ts_comparable_params;
}).map((r) => rowKey(r.model, r.dtype));
if (paramMismatch.length > 0) console.log(`WARNING: parameter counts differ for ${paramMismatch.join(', ')}: the architectures are not the same`);
const reading = rows.filter((r) => (ok(r.dl4ts)?.hostReads ?? 0) > 0).map((r) => rowKey(r.model, r.dtype));
if (reading.length > 0) console.log(`WARNING: dl4ts read values back to JavaScript inside the timed steps of ${reading.join(', ')}`);

if (!onGpu || options.quick) {
  console.log(`Results not written (${onGpu ? '--quick' : '--backend cpu'} run).`);
} else {
  const file = join(REPO_ROOT, 'bench', 'results', `gpu-networks-${date}${options.filtered ? `-${models.join('-')}-${dtypes.join('-').toLowerCase()}${batchOverride ? `-b${batchOverride}` : ''}` : ''}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ device: deviceName, date: machine.date, machine, torch, plan, notes, models: models.map((m) => ({ name: m, description: gpuModel(m).description })), rows, table }, null, 2)}\n`);
  console.log(`Results written to ${file}`);
}
