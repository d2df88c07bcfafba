/**
 * `npm run bench:parallel`: ParallelWrapper's throughput on 1..N devices in both training modes,
 * for a small ResNet (ComputationGraph) and the benchmark MLP, with PyTorch DDP's scaling measured in the same command
 * (bench/parallel_torch.py) when a GPU is present. Without a GPU it measures CPU workers only.
 *   node dist/bench/parallel.js [--devices 1,2,4,8] [--rounds 30] [--batch 128 (per worker)]
 * Throughput is the median of 5 timed epochs of `rounds` rounds (after a warm-up epoch), on both sides.
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as nd from '../src/index.js';
import { configureCuda } from '../src/backend/cuda/config.js';
import { fmt, markdownTable } from './report.js';

const { values } = parseArgs({ options: { devices: { type: 'string' }, rounds: { type: 'string', default: '30' }, batch: { type: 'string', default: '128' } } });
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const cudaStatus = nd.backendStatus().find((s) => s.name === 'cuda');
const gpu = cudaStatus?.available === true;
const available = gpu ? (await import('../src/backend/cuda/device.js')).deviceCount() : 2;
const counts = (values.devices ?? '1,2,4,8').split(',').map(Number).filter((d) => d >= 1 && d <= available);
const rounds = Number(values.rounds);
/** Timed epochs of `rounds` rounds each; the median epoch gives the throughput (both libraries). */
const SAMPLES = 5;
const cpu = nd.backendByName('cpu');

type ModelName = 'cnn' | 'mlp';

const updater = { type: 'sgd', learningRate: 0.01 } as const;

/** The benchmark MLP 784-1024-1024-10 (as parallel_torch.py). */
const mlp: nd.NeuralNetConfiguration = {
  seed: 1, updater, weightInit: 'RELU', inputType: { type: 'feedForward', size: 784 },
  layers: [
    { type: 'dense', nOut: 1024, activation: 'relu' },
    { type: 'dense', nOut: 1024, activation: 'relu' },
    { type: 'output', nOut: 10, activation: 'softmax', lossFunction: 'MCXENT' },
  ],
};

/**
 * A small ResNet (as parallel_torch.py): a conv-BN-ReLU stem, a residual block of two 3x3 convs
 * with an identity skip, max pooling, a widening conv, a second residual block, global average
 * pooling and a softmax classifier, on 3x32x32 images.
 */
function resnet(): nd.ComputationGraphConfiguration {
  const vertices: Record<string, nd.VertexEntry> = {};
  const convBn = (name: string, input: string, nOut: number, relu: boolean): string => {
    vertices[`${name}_conv`] = { layer: { type: 'convolution2d', nOut, kernelSize: 3, padding: 1, activation: 'identity', hasBias: false }, inputs: [input] };
    vertices[`${name}_bn`] = { layer: { type: 'batchNormalization' }, inputs: [`${name}_conv`] };
    if (!relu) return `${name}_bn`;
    vertices[`${name}_relu`] = { layer: { type: 'activation', activation: 'relu' }, inputs: [`${name}_bn`] };
    return `${name}_relu`;
  };
  const residual = (name: string, input: string, channels: number): string => {
    const body = convBn(`${name}b`, convBn(`${name}a`, input, channels, true), channels, false);
    vertices[`${name}_add`] = { vertex: { type: 'elementwise', op: 'add' }, inputs: [body, input] };
    vertices[`${name}_out`] = { layer: { type: 'activation', activation: 'relu' }, inputs: [`${name}_add`] };
    return `${name}_out`;
  };
  let x = residual('res1', convBn('stem', 'input', 64, true), 64);
  vertices['pool'] = { layer: { type: 'subsampling', kernelSize: 2, stride: 2 }, inputs: [x] };
  x = residual('res2', convBn('widen', 'pool', 128, true), 128);
  vertices['gap'] = { layer: { type: 'globalPooling', poolingType: 'avg' }, inputs: [x] };
  vertices['out'] = { layer: { type: 'output', nOut: 10, activation: 'softmax', lossFunction: 'MCXENT' }, inputs: ['gap'] };
  return {
    seed: 1, updater, weightInit: 'RELU', inputs: ['input'], inputTypes: [{ type: 'convolutional', channels: 3, height: 32, width: 32 }],
    vertices, outputs: ['out'],
  };
}

function model(name: ModelName): nd.MultiLayerNetwork | nd.ComputationGraph {
  return name === 'cnn' ? new nd.ComputationGraph(resnet()).init() : new nd.MultiLayerNetwork(mlp).init();
}

/** Random examples on the CPU (the main thread packs them for the workers without a device read). */
function data(name: ModelName, examples: number): nd.DataSet {
  const features = name === 'cnn' ? nd.randn([examples, 3, 32, 32], { backend: cpu }) : nd.randn([examples, 784], { backend: cpu });
  const classes = nd.array(Array.from({ length: examples }, (_, i) => (i * 7919) % 10), [examples], { dtype: 'INT32', backend: cpu });
  return new nd.DataSet(features, nd.oneHot(classes, 10, { dtype: 'FLOAT' }));
}

async function samplesPerSecond(name: ModelName, mode: nd.TrainingMode, workers: number): Promise<number> {
  if (gpu) configureCuda({ allowMultiGPU: true, devices: Array.from({ length: workers }, (_, i) => i) });
  const net = model(name);
  const batch = Number(values.batch);
  const ds = data(name, batch * workers * rounds);
  const it = new nd.ListDataSetIterator(ds, batch);
  const pw = new nd.ParallelWrapper(net, { workers, trainingMode: mode, averagingFrequency: mode === 'AVERAGING' ? 5 : 1, prefetchBuffer: 4 * workers });
  try {
    await pw.fit(it, 1); // starts the workers, compiles kernels, picks cuDNN algorithms
    // One fit of SAMPLES epochs; an epoch-start listener (no score reads) stamps the epochs.
    const starts: number[] = [];
    net.setListeners({ onEpochStart: () => void starts.push(performance.now()) });
    await pw.fit(it, SAMPLES);
    starts.push(performance.now());
    const seconds = starts.slice(1).map((t, i) => (t - starts[i]!) / 1000).sort((a, b) => a - b);
    return ds.numExamples / seconds[seconds.length >> 1]!;
  } finally {
    await pw.close();
    ds.close();
    net.close();
  }
}

interface TorchResult { torch: string; samples_per_s: Record<string, Record<string, number>> }
let torch: TorchResult | null = null;
if (gpu) {
  const out = execFileSync('python3', [join(root, 'bench', 'parallel_torch.py'), '--devices', counts.join(','), '--rounds', String(rounds), '--batch', String(values.batch), '--samples', String(SAMPLES)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  torch = JSON.parse(out.trim().split('\n').pop()!) as TorchResult;
}

const rows: (string | number)[][] = [];
const results: Record<string, Record<string, number>> = {};
for (const name of ['cnn', 'mlp'] as const) {
  for (const mode of ['SHARED_GRADIENTS', 'AVERAGING'] as const) {
    const key = `${name}_${mode}`;
    results[key] = {};
    for (const d of counts) {
      const sps = await samplesPerSecond(name, mode, d);
      results[key]![d] = sps;
      const base = results[key]![counts[0]!]!;
      const t = torch?.samples_per_s[name]?.[d];
      const tBase = torch?.samples_per_s[name]?.[counts[0]!];
      rows.push([
        name === 'cnn' ? 'ResNet' : 'MLP', mode, d, fmt(sps, 0), fmt(sps / base, 2),
        t === undefined ? '' : fmt(t, 0), t === undefined || tBase === undefined ? '' : fmt(t / tBase, 2),
      ]);
    }
  }
}
const where = gpu ? `${(nd.backendByName('cuda').info().devices[0]?.name) ?? 'GPU'} x${available}` : 'CPU workers';
console.log(`\nParallelWrapper scaling, ${where}, ${new Date().toISOString().slice(0, 10)}${torch ? `, PyTorch ${torch.torch} DDP` : ''}\n`);
console.log(markdownTable([
  'model', 'mode', 'devices', 'dl4ts samples/s', 'dl4ts scaling', 'DDP samples/s', 'DDP scaling',
], rows));
console.log(JSON.stringify({ where, torch: torch?.torch, results, ddp: torch?.samples_per_s }));
