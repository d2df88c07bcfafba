/**
 * A tiny FMA-throughput probe from JavaScript: a hand-assembled WebAssembly loop of independent
 * 128-bit multiply-add chains, timed on one core and on every core at once (worker threads).
 * Wasm SIMD is 4 lanes wide, so this measures the FMA issue rate x clock, not the AVX-512 peak;
 * with relaxed SIMD (f32x4.relaxed_madd) V8 emits a real vfmadd, otherwise a separate mul and add.
 */
import { setFlagsFromString } from 'node:v8';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

/** Independent accumulator chains: enough to hide FMA latency on 2 pipes, few enough for 16 xmm registers. */
const CHAINS = 12;
const LANES = 4;

export interface FmaProbe {
  /** 'fma' when relaxed SIMD gave a fused multiply-add, 'mul+add' otherwise. */
  readonly kind: 'fma' | 'mul+add';
  /** Multiply-add instructions (4-lane) per second, one core. */
  readonly perCoreOpsPerSec: number;
  /** The same with every core busy. */
  readonly allCoresOpsPerSec: number;
  readonly cores: number;
}

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};

const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

function f32x4Const(v: number): number[] {
  const bytes = new Uint8Array(new Float32Array([v, v, v, v]).buffer);
  return [0xfd, 0x0c, ...bytes];
}

/**
 * (func (param iters i32) (result f32)): CHAINS chains of v = m * a + v, iters times; returns a lane
 * of their sum. The accumulator is the addend so V8 can emit vfmadd231ps in place, with no copies.
 */
function buildModule(fused: boolean): Uint8Array {
  const get = (i: number): number[] => [0x20, ...uleb(i)];
  const set = (i: number): number[] => [0x21, ...uleb(i)];
  const chain = (k: number): number => 1 + k; // local 0 is the iteration count
  const m = 1 + CHAINS;
  const a = 2 + CHAINS;
  const code: number[] = [];
  for (let k = 0; k < CHAINS; k++) code.push(...f32x4Const(1 + k / 64), ...set(chain(k)));
  code.push(...f32x4Const(1e-3), ...set(m), ...f32x4Const(1e-3), ...set(a)); // v grows by 1e-6 a step: no overflow
  code.push(0x03, 0x40); // loop
  for (let k = 0; k < CHAINS; k++) {
    if (fused) code.push(...get(m), ...get(a), ...get(chain(k)), 0xfd, ...uleb(0x105), ...set(chain(k)));
    else code.push(...get(m), ...get(a), 0xfd, ...uleb(0xe6), ...get(chain(k)), 0xfd, ...uleb(0xe4), ...set(chain(k)));
  }
  code.push(...get(0), 0x41, 0x01, 0x6b, 0x22, 0x00, 0x0d, 0x00, 0x0b); // iters -= 1; br_if loop; end
  code.push(...get(chain(0)));
  for (let k = 1; k < CHAINS; k++) code.push(...get(chain(k)), 0xfd, ...uleb(0xe4));
  code.push(0xfd, 0x1f, 0x00, 0x0b); // f32x4.extract_lane 0; end
  const body = [0x01, ...uleb(CHAINS + 2), 0x7b, ...code]; // one local group: CHAINS + 2 v128
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x01, 0x7f, 0x01, 0x7d]),
    ...section(3, [0x01, 0x00]),
    ...section(7, [0x01, 0x03, ...Array.from('fma', (c) => c.charCodeAt(0)), 0x00, 0x00]),
    ...section(10, [0x01, ...uleb(body.length), ...body]),
  ]);
}

type Kernel = (iters: number) => number;

/** The slice of the WebAssembly API used here (the project's lib settings do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

function instantiate(fused: boolean): Kernel {
  const mod = new wasm.Module(buildModule(fused));
  const inst = new wasm.Instance(mod, {});
  return inst.exports['fma'] as Kernel;
}

/** Median over `runs` timings of `iters` loop iterations, in multiply-add instructions per second. */
function rate(kernel: Kernel, iters: number, runs: number): number {
  kernel(iters); // warm-up: tier up to optimized code
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    kernel(iters);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  samples.sort((x, y) => x - y);
  return (iters * CHAINS) / samples[Math.floor(samples.length / 2)]!;
}

function tryFused(): boolean {
  setFlagsFromString('--experimental-wasm-relaxed-simd');
  try {
    return wasm.validate(buildModule(true));
  } catch {
    return false;
  }
}

interface WorkerJob {
  readonly fused: boolean;
  readonly iters: number;
  readonly runs: number;
}

if (!isMainThread && (workerData as { fmaProbe?: WorkerJob } | null)?.fmaProbe) {
  const job = (workerData as { fmaProbe: WorkerJob }).fmaProbe;
  parentPort!.postMessage(rate(instantiate(job.fused), job.iters, job.runs));
}

/** Runs the probe: ~0.3 s per core count at the default iteration count. */
export async function probeFma(cores: number, iters = 20_000_000, runs = 5): Promise<FmaProbe> {
  const fused = tryFused();
  const perCore = rate(instantiate(fused), iters, runs);
  const job: WorkerJob = { fused, iters, runs };
  const rates = await Promise.all(
    Array.from({ length: cores }, () =>
      new Promise<number>((resolve, reject) => {
        const w = new Worker(new URL(import.meta.url), { workerData: { fmaProbe: job } });
        w.once('message', (v: number) => {
          resolve(v);
          void w.terminate();
        });
        w.once('error', reject);
      }),
    ),
  );
  return { kind: fused ? 'fma' : 'mul+add', perCoreOpsPerSec: perCore, allCoresOpsPerSec: rates.reduce((s, v) => s + v, 0), cores };
}

export const FMA_LANES = LANES;
