/**
 * CPU benchmark (`npm run bench:cpu`): SGEMM/DGEMM against the machine's peak, memory-bound
 * elementwise kernels against plain copies, and an MLP training step against TensorFlow.js.
 * Prints Markdown tables and writes the numbers to bench/results/cpu-<date>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getBackend } from '../src/index.js';
import { FMA_LANES, probeFma, type FmaProbe } from './fma.js';
import { benchGemm, type GemmResult } from './gemm-bench.js';
import { describeMachine, theoreticalPeak } from './machine.js';
import { benchJsCopies, benchKernels, type BandwidthResult } from './memory-bench.js';
import { benchMlpDl4ts } from './mlp-dl4ts.js';
import { mlpStepFlops, mlpValues } from './mlp-spec.js';
import { benchMlpTfjs } from './mlp-tfjs.js';
import { fmt, markdownTable } from './report.js';

const ELEMENTS = 16 * 1024 * 1024;

interface MlpRow {
  readonly implementation: string;
  readonly threads: number;
  readonly msPerStep: number;
  readonly bestMsPerStep: number;
  readonly samples: number;
  readonly loss: number;
  readonly details: string;
}

const skipped: { section: string; reason: string }[] = [];

/** Runs one part; a failure (e.g. a kernel not built yet) is reported and the rest goes on. */
async function attempt<T>(section: string, fn: () => T | Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
    skipped.push({ section, reason });
    console.log(`  (skipped ${section}: ${reason})`);
    return undefined;
  }
}

const wallStart = performance.now();
const cpuStart = process.cpuUsage();
const machine = describeMachine();
const peak = theoreticalPeak(machine);
const threads = Number(getBackend().info().details['threads']);
const ghz = machine.nominalMHz / 1000;

console.log(`# dl4ts CPU benchmark\n`);
console.log(`Machine: ${machine.cpuModel}, ${machine.cores} cores (${machine.logicalCpus} logical CPUs), ${machine.nominalMHz} MHz nominal; Node ${machine.node}; ${machine.date}`);
console.log(`dl4ts cpu backend threads: ${threads}; load average at start: ${fmt(machine.loadAverage, 2)}`);
console.log(`Peak: ${peak.derivation}; GEMM ISA ${peak.isa} (${peak.isaSource})\n`);

// ---- FMA probe --------------------------------------------------------------------------------
const fma = await attempt<FmaProbe>('fma probe', () => probeFma(machine.cores));
/**
 * FP32 peak at the FMA rate the probe achieved on one core, times the cores (GFLOP/s). The
 * one-core rate is used because on a shared machine the all-core run is the one other processes disturb.
 */
function measuredPeak(p: FmaProbe | undefined): number | undefined {
  return p ? (p.perCoreOpsPerSec * p.cores * peak.fp32Lanes * 2) / 1e9 : undefined;
}
const probePeak = measuredPeak(fma);
if (fma) {
  const flopsPerOp = FMA_LANES * 2;
  console.log(`## Achieved FMA throughput (JS: WebAssembly 128-bit ${fma.kind}, ${FMA_LANES} lanes)\n`);
  console.log(markdownTable(['scope', 'G instr/s', 'GFLOP/s', 'instr/cycle/core at nominal clock'], [
    ['1 core', fmt(fma.perCoreOpsPerSec / 1e9, 2), fmt((fma.perCoreOpsPerSec * flopsPerOp) / 1e9), fmt(fma.perCoreOpsPerSec / 1e9 / ghz, 2)],
    [`${fma.cores} cores`, fmt(fma.allCoresOpsPerSec / 1e9, 2), fmt((fma.allCoresOpsPerSec * flopsPerOp) / 1e9), fmt(fma.allCoresOpsPerSec / fma.cores / 1e9 / ghz, 2)],
  ]));
  console.log(`\nWasm SIMD is 4 lanes wide: this checks the issue rate x clock (the peak assumes ${peak.fmaPipes} FMA/cycle), not the ${peak.fp32Lanes}-lane width native code uses.`);
  console.log(`Above ${peak.fmaPipes}/cycle means the cores run faster than the nominal clock (boost). Probe-implied peak: ${fmt(fma.perCoreOpsPerSec / 1e9, 2)} G FMA/s per core x ${fma.cores} cores x ${peak.fp32Lanes} lanes x 2 = ${fmt(measuredPeak(fma)!)} GFLOP/s FP32, assuming ${peak.fp32Lanes}-lane FMAs issue as fast as 4-lane ones (full-width FMA units) and all cores hold the one-core clock.\n`);
}

// ---- GEMM ---------------------------------------------------------------------------------------
const gemm: GemmResult[] = [];
for (const [dtype, n] of [['FLOAT', 256], ['FLOAT', 512], ['FLOAT', 1024], ['FLOAT', 2048], ['DOUBLE', 1024]] as const) {
  const r = await attempt(`gemm ${dtype} ${n}`, () => benchGemm(dtype, n, dtype === 'FLOAT' ? peak.fp32Gflops : peak.fp64Gflops));
  if (r) gemm.push(r);
}
if (gemm.length) {
  console.log(`## GEMM (c = a @ b, square, c preallocated; ${threads} threads)\n`);
  const probeShare = (g: GemmResult): string => (probePeak ? fmt((100 * g.gflops) / (g.dtype === 'FLOAT' ? probePeak : probePeak / 2)) : 'n/a');
  console.log(markdownTable(['op', 'n', 'median ms', 'GFLOP/s', 'nominal peak GFLOP/s', '% of nominal peak', '% of probe-implied peak', 'best-sample GFLOP/s'], gemm.map((g) => [
    g.dtype === 'FLOAT' ? 'SGEMM' : 'DGEMM', g.n, fmt(g.timing.median * 1e3, 2), fmt(g.gflops), fmt(g.dtype === 'FLOAT' ? peak.fp32Gflops : peak.fp64Gflops), fmt(g.percentOfPeak),
    probeShare(g), fmt((2 * g.n ** 3) / g.timing.min / 1e9),
  ])));
  console.log();
}

// ---- bandwidth ----------------------------------------------------------------------------------
const bandwidth: BandwidthResult[] = [];
for (const dtype of ['FLOAT', 'HALF'] as const) {
  const rows = await attempt(`elementwise ${dtype}`, () => benchKernels(dtype, ELEMENTS));
  if (rows) bandwidth.push(...rows);
}
bandwidth.push(...benchJsCopies(ELEMENTS));
const copyOf = (dtype: string): BandwidthResult | undefined => bandwidth.find((r) => r.dtype === dtype && r.name.startsWith('copy (identity'));
console.log(`## Memory-bound kernels (${ELEMENTS / 2 ** 20}M elements; add moves 3 x size x n bytes, copies 2 x size x n)\n`);
console.log(markdownTable(['kernel', 'dtype', 'MB moved', 'median ms', 'GB/s', 'vs identity copy', 'best-sample GB/s'], bandwidth.map((r) => {
  const ref = copyOf(r.dtype);
  return [r.name, r.dtype, fmt(r.bytes / 1e6, 0), fmt(r.timing.median * 1e3, 2), fmt(r.gbPerSec), ref ? fmt(r.gbPerSec / ref.gbPerSec, 2) : 'n/a', fmt(r.bytes / r.timing.min / 1e9)];
})));
console.log();

// ---- MLP ----------------------------------------------------------------------------------------
const values = mlpValues();
const mlp: MlpRow[] = [];
const ours = await attempt('mlp dl4ts', () => benchMlpDl4ts(values, 15));
if (ours) mlp.push({ implementation: 'dl4ts (cpu)', threads, msPerStep: ours.timing.median * 1e3, bestMsPerStep: ours.timing.min * 1e3, samples: ours.timing.samples, loss: ours.loss, details: 'native kernels, backward() inside scope()' });
for (const [backend, samples] of [['wasm', 10], ['cpu', 3]] as const) {
  const r = await attempt(`mlp tfjs-${backend}`, () => benchMlpTfjs(backend, values, samples));
  if (r) mlp.push({ implementation: `tfjs ${backend}`, threads: r.threads, msPerStep: r.timing.median * 1e3, bestMsPerStep: r.timing.min * 1e3, samples: r.timing.samples, loss: r.loss, details: r.details });
}
const stepFlops = mlpStepFlops();
console.log(`## MLP 784-1024-1024-10 training step (batch 128, relu, softmax cross-entropy, forward + gradients of all weights and biases; ${fmt(stepFlops / 1e9, 2)} GFLOP in matmuls)\n`);
const base = mlp.find((r) => r.implementation.startsWith('dl4ts'));
console.log(markdownTable(['implementation', 'threads', 'median ms/step', 'matmul GFLOP/s', 'dl4ts speed-up', 'best ms/step', 'loss at init', 'samples', 'notes'], mlp.map((r) => [
  r.implementation, r.threads, fmt(r.msPerStep, 1), fmt(stepFlops / (r.msPerStep / 1e3) / 1e9), base ? `${fmt(r.msPerStep / base.msPerStep, 2)}x` : 'n/a', fmt(r.bestMsPerStep, 1), fmt(r.loss, 5), r.samples, r.details,
])));
console.log();

// ---- contention ---------------------------------------------------------------------------------
// On a shared machine other processes take cores: CPU time well below wall time x cores flags it.
const wallSeconds = (performance.now() - wallStart) / 1000;
const cpu = process.cpuUsage(cpuStart);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const contention = { wallSeconds, cpuSeconds, loadAverageStart: machine.loadAverage, loadAverageEnd: loadavg()[0]! };
console.log(`Run: ${fmt(wallSeconds)} s wall, ${fmt(cpuSeconds)} s CPU (this process); 1-minute load average ${fmt(contention.loadAverageStart, 2)} at start, ${fmt(contention.loadAverageEnd, 2)} at end (${machine.cores} cores).`);

// ---- JSON ---------------------------------------------------------------------------------------
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const file = join(root, 'bench', 'results', `cpu-${machine.date.slice(0, 10)}.json`);
mkdirSync(dirname(file), { recursive: true });
const ms = (s: number): number => Number((s * 1e3).toFixed(4));
writeFileSync(file, `${JSON.stringify({
  machine: { ...machine, dl4tsThreads: threads },
  contention,
  peak,
  fma: fma ? { ...fma, lanes: FMA_LANES, perCoreGflops: (fma.perCoreOpsPerSec * FMA_LANES * 2) / 1e9, allCoresGflops: (fma.allCoresOpsPerSec * FMA_LANES * 2) / 1e9, impliedFp32PeakGflops: probePeak } : null,
  gemm: gemm.map((g) => ({ op: g.dtype === 'FLOAT' ? 'SGEMM' : 'DGEMM', n: g.n, medianMs: ms(g.timing.median), minMs: ms(g.timing.min), samples: g.timing.samples, callsPerSample: g.timing.callsPerSample, gflops: g.gflops, percentOfNominalPeak: g.percentOfPeak, percentOfProbeImpliedPeak: probePeak ? (100 * g.gflops) / (g.dtype === 'FLOAT' ? probePeak : probePeak / 2) : null })),
  bandwidth: bandwidth.map((r) => ({ kernel: r.name, dtype: r.dtype, elements: r.n, bytes: r.bytes, medianMs: ms(r.timing.median), minMs: ms(r.timing.min), samples: r.timing.samples, gbPerSec: r.gbPerSec })),
  mlp: { layers: [784, 1024, 1024, 10], batch: 128, matmulFlopsPerStep: stepFlops, results: mlp },
  skipped,
}, null, 2)}\n`);
console.log(`Results written to ${file}`);
