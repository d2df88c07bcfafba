/**
 * Training throughput on the CPU (`npm run bench:networks`): the MLP and LeNet of examples/mnist.ts,
 * one Adam step per minibatch of 64 and 128 random digits, dl4ts's MultiLayerNetwork.fit(DataSet)
 * against the same networks built with tf.layers on TensorFlow.js's 'wasm' and 'cpu' backends.
 * Prints Markdown tables and writes the numbers to bench/results/networks-cpu-<date>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getBackend } from '../src/index.js';
import { describeMachine } from './machine.js';
import { benchNetworkDl4ts, type NetworkRun } from './networks-dl4ts.js';
import { ADAM, NETWORKS, randomMinibatch, type NetworkSpec } from './networks-spec.js';
import { benchNetworkTfjs, type TfjsNetworkRun } from './networks-tfjs.js';
import { fmt, markdownTable } from './report.js';
import { tfjsVersions } from './tfjs-setup.js';
import type { TimingOptions } from './timing.js';

const BATCHES = [64, 128] as const;
type Implementation = 'dl4ts' | 'tfjs-wasm' | 'tfjs-cpu';

/**
 * Timed steps per implementation, so the whole run stays within about five minutes on two cores.
 * The untimed first step (it gives the initial loss) comes on top of the warm-up. tfjs-cpu trains
 * LeNet at about a minute a step on this loaded machine, so it runs batch 64 only, with three timed steps.
 */
function plan(impl: Implementation, spec: NetworkSpec, batch: number): TimingOptions | 'skip' {
  if (impl === 'dl4ts') return { warmup: 5, samples: 15, minSampleSeconds: 0.2 };
  if (impl === 'tfjs-wasm') return { warmup: 2, samples: 5, minSampleSeconds: 0 };
  if (spec.name === 'lenet') return batch === 64 ? { warmup: 0, samples: 3, minSampleSeconds: 0 } : 'skip';
  return { warmup: 1, samples: 3, minSampleSeconds: 0 };
}

interface Row {
  readonly network: string;
  readonly batch: number;
  readonly implementation: Implementation;
  readonly threads: number | null;
  readonly msPerStep: number | null;
  readonly bestMsPerStep: number | null;
  readonly samplesPerSec: number | null;
  readonly timedSamples: number | null;
  readonly callsPerSample: number | null;
  readonly firstStepLoss: number | null;
  readonly numParams: number | null;
  readonly notes: string;
}

const wallStart = performance.now();
const cpuStart = process.cpuUsage();
const machine = describeMachine();
const dl4tsThreads = Number(getBackend().info().details['threads']);
const tfjs = tfjsVersions();

console.log('# dl4ts training throughput on the CPU: MLP and LeNet against TensorFlow.js\n');
console.log(`Machine: ${machine.cpuModel}, ${machine.cores} cores (${machine.logicalCpus} logical CPUs), ${machine.nominalMHz} MHz nominal; Node ${machine.node}; ${machine.date}`);
console.log(`dl4ts cpu backend threads: ${dl4tsThreads}; TensorFlow.js ${tfjs['tfjs']} (tfjs-backend-wasm ${tfjs['tfjs-backend-wasm']}); 1-minute load average at start: ${fmt(machine.loadAverage, 2)}`);
console.log(`Optimizer on both sides: Adam lr ${ADAM.learningRate}, beta1 ${ADAM.beta1}, beta2 ${ADAM.beta2}, epsilon ${ADAM.epsilon}; He-normal weights, zero biases; no l2.`);
console.log('dl4ts: MultiLayerNetwork.fit(DataSet) per step. tfjs: tf.sequential from the same layer configurations, optimizer.minimize(softmaxCrossEntropy(labels, logits)) per step.\n');

function row(spec: NetworkSpec, batch: number, implementation: Implementation, run: NetworkRun | TfjsNetworkRun | undefined, notes: string): Row {
  const threads = run ? ('threads' in run ? run.threads : dl4tsThreads) : null;
  return {
    network: spec.name, batch, implementation, threads,
    msPerStep: run ? run.timing.median * 1e3 : null,
    bestMsPerStep: run ? run.timing.min * 1e3 : null,
    samplesPerSec: run ? batch / run.timing.median : null,
    timedSamples: run ? run.timing.samples : null,
    callsPerSample: run ? run.timing.callsPerSample : null,
    firstStepLoss: run ? run.firstLoss : null,
    numParams: run ? run.numParams : null,
    notes,
  };
}

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

const rows: Row[] = [];
for (const spec of NETWORKS) {
  for (const batch of BATCHES) {
    const data = randomMinibatch(batch);
    for (const impl of ['dl4ts', 'tfjs-wasm', 'tfjs-cpu'] as const) {
      const options = plan(impl, spec, batch);
      if (options === 'skip') {
        const at64 = rows.find((r) => r.network === spec.name && r.batch === 64 && r.implementation === impl)?.msPerStep;
        rows.push(row(spec, batch, impl, undefined, `not run: over the time budget${at64 ? ` (${fmt(at64 / 1e3)} s a step at batch 64)` : ''}`));
        continue;
      }
      const t0 = performance.now();
      try {
        if (impl === 'dl4ts') {
          rows.push(row(spec, batch, impl, benchNetworkDl4ts(spec, data, options), 'native kernels'));
        } else {
          const run = await benchNetworkTfjs(impl === 'tfjs-wasm' ? 'wasm' : 'cpu', spec, data, options);
          rows.push(row(spec, batch, impl, run, run.details));
        }
      } catch (e) {
        rows.push(row(spec, batch, impl, undefined, `failed: ${reason(e)}`));
      }
      console.log(`  ${spec.name} batch ${batch} ${impl}: ${fmt((performance.now() - t0) / 1000)} s`);
    }
  }
}
console.log();

// dl4ts's throughput over another implementation's, for the same network and batch: from the median
// steps, and from the fastest (least disturbed) steps, which matter on a loaded, shared machine.
function ratio(network: string, batch: number, other: Implementation, key: 'msPerStep' | 'bestMsPerStep'): number | null {
  const find = (impl: Implementation): number | null => rows.find((r) => r.network === network && r.batch === batch && r.implementation === impl)?.[key] ?? null;
  const ours = find('dl4ts');
  const theirs = find(other);
  return ours !== null && theirs !== null ? theirs / ours : null;
}
const show = (v: number | null, decimals = 1, suffix = ''): string => (v === null ? 'n/a' : `${fmt(v, decimals)}${suffix}`);

const paramMismatch = NETWORKS.filter((s) => new Set(rows.filter((r) => r.network === s.name && r.numParams !== null).map((r) => r.numParams)).size > 1).map((s) => s.name);
if (paramMismatch.length) console.log(`WARNING: parameter counts differ between implementations for ${paramMismatch.join(', ')}: the architectures are not the same.\n`);

for (const spec of NETWORKS) console.log(`- ${spec.name}: ${spec.description}`);
console.log();
console.log(markdownTable(['network', 'batch', 'implementation', 'threads', 'median ms/step', 'samples/s', 'best ms/step', 'best-step samples/s', 'loss (first step)', 'params', 'timed samples x steps', 'notes'], rows.map((r) => [
  r.network, r.batch, r.implementation, r.threads ?? 'n/a', show(r.msPerStep), show(r.samplesPerSec, 0), show(r.bestMsPerStep), show(r.bestMsPerStep === null ? null : (1e3 * r.batch) / r.bestMsPerStep, 0), show(r.firstStepLoss, 3), r.numParams ?? 'n/a',
  r.timedSamples === null ? 'n/a' : `${r.timedSamples} x ${r.callsPerSample}`, r.notes,
])));
console.log();

const summary = NETWORKS.flatMap((s) => BATCHES.map((batch) => ({
  network: s.name, batch,
  dl4tsOverTfjsWasm: ratio(s.name, batch, 'tfjs-wasm', 'msPerStep'), dl4tsOverTfjsWasmBest: ratio(s.name, batch, 'tfjs-wasm', 'bestMsPerStep'),
  dl4tsOverTfjsCpu: ratio(s.name, batch, 'tfjs-cpu', 'msPerStep'), dl4tsOverTfjsCpuBest: ratio(s.name, batch, 'tfjs-cpu', 'bestMsPerStep'),
})));
console.log('## dl4ts speed-up (samples/s ratio = step-time ratio; target >= 5x over tfjs-wasm)\n');
console.log(markdownTable(['network', 'batch', 'dl4ts / tfjs-wasm (medians)', 'dl4ts / tfjs-wasm (best steps)', 'dl4ts / tfjs-cpu (medians)', 'dl4ts / tfjs-cpu (best steps)'], summary.map((s) => [
  s.network, s.batch, show(s.dl4tsOverTfjsWasm, 1, 'x'), show(s.dl4tsOverTfjsWasmBest, 1, 'x'), show(s.dl4tsOverTfjsCpu, 1, 'x'), show(s.dl4tsOverTfjsCpuBest, 1, 'x'),
])));
console.log();

// On a shared machine other processes take cores: CPU time well below wall time x cores flags it.
const wallSeconds = (performance.now() - wallStart) / 1000;
const cpu = process.cpuUsage(cpuStart);
const contention = { wallSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, loadAverageStart: machine.loadAverage, loadAverageEnd: loadavg()[0]! };
console.log(`Run: ${fmt(wallSeconds)} s wall, ${fmt(contention.cpuSeconds)} s CPU (this process); 1-minute load average ${fmt(contention.loadAverageStart, 2)} at start, ${fmt(contention.loadAverageEnd, 2)} at end (${machine.cores} cores).`);

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const file = join(root, 'bench', 'results', `networks-cpu-${machine.date.slice(0, 10)}.json`);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify({
  machine: { ...machine, dl4tsThreads },
  tfjs,
  contention,
  optimizer: { type: 'adam', ...ADAM },
  networks: NETWORKS.map((s) => ({ name: s.name, description: s.description })),
  results: rows,
  speedup: summary,
  paramMismatch,
}, null, 2)}\n`);
console.log(`Results written to ${file}`);
