/**
 * `npm run bench:gpu`: dl4ts's CUDA backend against PyTorch on the same GPU, in one run. Medians;
 * ratios are dl4ts/PyTorch for times and dl4ts/reference for throughputs. Writes a Markdown table and
 * bench/results/gpu-<date>.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as nd from '../src/index.js';
import { configureCuda } from '../src/backend/cuda/config.js';
import type { CudaBackend } from '../src/backend/cuda/cuda-backend.js';
import { cu, check } from '../src/backend/cuda/driver.js';
import { ptrOf } from '../src/backend/cuda/tensor.js';
import { benchMlpDl4ts, mlpModel } from './mlp-dl4ts.js';
import { mlpValues } from './mlp-spec.js';
import { fmt, markdownTable } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const status = nd.backendStatus().find((s) => s.name === 'cuda');
if (!status?.available) {
  console.log(`bench:gpu: no GPU here (${status?.reason ?? 'CUDA backend not registered'}); nothing to measure`);
  process.exit(0);
}
const cuda = nd.setBackend('cuda') as CudaBackend;
const device = cuda.device;

/**
 * Median seconds per call of `fn` repeated `iters` times between device syncs, after `warmup` untimed
 * rounds of `iters` calls (gpu_torch.py times the same way).
 */
function timed(fn: () => void, iters: number, samples = 7, warmup = 1): number {
  for (let r = 0; r < warmup; r++) {
    nd.scope(() => {
      for (let i = 0; i < iters; i++) fn();
    });
  }
  cuda.synchronize();
  const per: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    nd.scope(() => {
      for (let i = 0; i < iters; i++) fn();
    });
    cuda.synchronize();
    per.push((performance.now() - t0) / 1000 / iters);
  }
  per.sort((a, b) => a - b);
  return per[samples >> 1]!;
}

interface TorchResults {
  torch: string;
  device: string;
  dispatch_add_us: number;
  add_gbs: number;
  mul_gbs: number;
  copy_gbs: number;
  add_half_ms: number;
  add_float_ms: number;
  matmul_tflops: Record<string, number>;
  conv_ms: Record<string, number>;
  mlp_step_ms: number;
  mlp_step_graph_ms: number;
}

const torch = JSON.parse(execFileSync('python3', [join(root, 'bench', 'gpu_torch.py')], { encoding: 'utf8', maxBuffer: 1 << 20 }).trim().split('\n').pop()!) as TorchResults;

const rows: (string | number)[][] = [];
const results: Record<string, unknown> = { device: device.name, torch: torch.torch, date: new Date().toISOString() };

// 1. Dispatch cost of a small op (front end included: a new array per op). 50,000 untimed ops first on
// both sides, so the JIT-compiled path is timed, as in a training loop, rather than V8 warming up.
{
  const a = nd.randn([256]);
  const b = nd.randn([256]);
  const us = timed(() => void nd.add(a, b), 2000, 7, 25) * 1e6;
  rows.push(['dispatch: add of 256 floats (us/op)', fmt(us, 2), fmt(torch.dispatch_add_us, 2), fmt(us / torch.dispatch_add_us, 2), '<= 0.6x']);
  results['dispatch_add_us'] = us;
}

// 2. Bandwidth: add/mul against a device-to-device copy; HALF against FLOAT.
{
  const n = 1 << 26;
  const x = nd.randn([n]);
  const y = nd.randn([n]);
  const dst = nd.zeros([n]);
  const copy = timed(() => check(cu().memcpyDtoDAsync(ptrOf(dst), ptrOf(x), 4 * n, device.stream), 'cuMemcpyDtoDAsync'), 20);
  const copyGbs = (2 * 4 * n) / copy / 1e9;
  const add = timed(() => void nd.add(x, y), 20);
  const mul = timed(() => void nd.mul(x, y), 20);
  const addGbs = (3 * 4 * n) / add / 1e9;
  const mulGbs = (3 * 4 * n) / mul / 1e9;
  rows.push(['add FLOAT 64M (GB/s) vs D2D copy', fmt(addGbs, 0), `copy ${fmt(copyGbs, 0)}, torch add ${fmt(torch.add_gbs, 0)}`, fmt(addGbs / copyGbs, 2), '>= 0.85x copy']);
  rows.push(['mul FLOAT 64M (GB/s) vs D2D copy', fmt(mulGbs, 0), `copy ${fmt(copyGbs, 0)}, torch mul ${fmt(torch.mul_gbs, 0)}`, fmt(mulGbs / copyGbs, 2), '>= 0.85x copy']);
  const xh = x.castTo('HALF');
  const yh = y.castTo('HALF');
  const addHalf = timed(() => void nd.add(xh, yh), 20);
  rows.push(['add HALF / add FLOAT time', fmt(addHalf / add, 2), `torch ${fmt(torch.add_half_ms / torch.add_float_ms, 2)}`, fmt(addHalf / add, 2), '<= 0.6x']);
  Object.assign(results, { copyGbs, addGbs, mulGbs, addHalfOverFloat: addHalf / add });
  [x, y, dst, xh, yh].forEach((t) => t.close());
}

// 3. Matmul TFLOP/s.
const mm: Record<string, number> = {};
for (const [name, dtype, tf32] of [['FLOAT', 'FLOAT', false], ['TF32', 'FLOAT', true], ['HALF', 'HALF', false], ['BFLOAT16', 'BFLOAT16', false]] as const) {
  configureCuda({ allowTF32: tf32 });
  for (const s of [1024, 2048, 4096, 8192]) {
    const p = nd.randn([s, s], { dtype });
    const q = nd.randn([s, s], { dtype });
    const t = timed(() => void nd.matmul(p, q), Math.max(2, Math.floor(2e12 / (2 * s ** 3))), 5);
    const tflops = (2 * s ** 3) / t / 1e12;
    const ref = torch.matmul_tflops[`${name}_${s}`]!;
    mm[`${name}_${s}`] = tflops;
    rows.push([`matmul ${name} ${s}^3 (TFLOP/s)`, fmt(tflops, 1), fmt(ref, 1), fmt(tflops / ref, 2), '>= 0.95x']);
    p.close();
    q.close();
  }
}
configureCuda({ allowTF32: false });
results['matmul_tflops'] = mm;

// 4. conv2d forward + backward, 3x3, 64 channels, batch 256, 32x32, per dtype (TF32: FLOAT with allowTF32).
{
  const conv: Record<string, number> = {};
  for (const [name, dtype, tf32] of [['FLOAT', 'FLOAT', false], ['TF32', 'FLOAT', true], ['HALF', 'HALF', false], ['BFLOAT16', 'BFLOAT16', false]] as const) {
    configureCuda({ allowTF32: tf32 });
    const x = nd.randn([256, 64, 32, 32], { dtype }).requireGrad();
    const w = nd.randn([64, 64, 3, 3], { dtype }).requireGrad();
    const g = nd.randn([256, 64, 32, 32], { dtype });
    // The output is a scope temporary, as in a training step (unreleased, it would wait for the GC).
    const ms = timed(() => {
      nd.scope(() => nd.conv2d(x, w, undefined, { padding: 1 }).backward(g));
      for (const t of [x, w]) {
        t.grad?.close();
        t.grad = null;
      }
    }, 5, 7, 2) * 1e3;
    conv[name] = ms;
    rows.push([`conv2d 3x3 64ch b256 32x32 fwd+bwd ${name} (ms)`, fmt(ms, 2), fmt(torch.conv_ms[name]!, 2), fmt(torch.conv_ms[name]! / ms, 2), '>= 0.95x speed']);
    [x, w, g].forEach((t) => t.close());
  }
  configureCuda({ allowTF32: false });
  results['conv_ms'] = conv;
}

// 5. The MLP training step (autograd + SGD), FLOAT, and its peak memory in FLOAT vs HALF.
{
  const values = mlpValues();
  // gpu_torch.py's mlp_step: backward, SGD in place, gradients dropped. Neither side reads the loss:
  // steps queue back to back and timed() waits at the end of each sample, as PyTorch's timing does.
  const mlp = mlpModel(values);
  const sgdStep = (): void => {
    mlp.loss().backward();
    nd.noGrad(() => {
      for (const p of mlp.params) {
        p.subi(nd.mul(p.grad!, 0.01));
        p.grad!.close();
        p.grad = null;
      }
    });
  };
  // 25 untimed rounds (500 steps) on both sides: V8 keeps optimizing the step's path for a few hundred steps.
  const ms = timed(sgdStep, 20, 7, 25) * 1e3;
  rows.push(['MLP 784-1024-1024-10 b128 step, eager (ms)', fmt(ms, 3), fmt(torch.mlp_step_ms, 3), fmt(torch.mlp_step_ms / ms, 2), '>= 1.0x speed']);
  // The same step recorded once and replayed as a CUDA graph (captureStep), against PyTorch eager;
  // PyTorch's own CUDA-graph replay of its step is shown beside it.
  const captured = nd.captureStep(sgdStep);
  const graphMs = timed(() => captured.run(), 20, 7, 25) * 1e3;
  captured.close();
  mlp.close();
  rows.push(['MLP step, captured (captureStep) (ms)', fmt(graphMs, 3), `eager ${fmt(torch.mlp_step_ms, 3)}, CUDA graph ${fmt(torch.mlp_step_graph_ms, 3)}`, fmt(torch.mlp_step_ms / graphMs, 2), '>= 1.0x speed']);
  Object.assign(results, { mlp_step_ms: ms, mlp_step_captured_ms: graphMs });
  const peak = (dtype: nd.DataType): number => {
    nd.setDefaultDataType(dtype);
    device.allocator.resetPeak();
    const base = device.allocator.stats().allocatedBytes;
    benchMlpDl4ts(values, 1);
    nd.setDefaultDataType('FLOAT');
    return device.allocator.stats().peakAllocatedBytes - base;
  };
  const pf = peak('FLOAT');
  const ph = peak('HALF');
  rows.push(['MLP step peak device memory HALF / FLOAT', fmt(ph / pf, 2), `${(pf / 2 ** 20).toFixed(1)} MiB FLOAT`, fmt(ph / pf, 2), '<= 0.55x']);
  Object.assign(results, { mlpPeakFloat: pf, mlpPeakHalf: ph });
}

// 6. First use: a fresh process runs its first kernel with an empty and then a warm kernel cache.
{
  const cacheDir = mkdtempSync(join(tmpdir(), 'dl4ts-kcache-'));
  const script = `const t0=performance.now();const nd=await import(${JSON.stringify(join(root, 'dist', 'src', 'index.js'))});const a=nd.array([1,2,3],{backend:nd.backendByName('cuda')});const s=nd.exp(a).add(a).toFlatArray();console.log(JSON.stringify({ms:performance.now()-t0,s}));`;
  const run = (): number => JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, DL4TS_CUDA_CACHE: cacheDir }, encoding: 'utf8' }).trim()).ms as number;
  const cold = run();
  const warm = run();
  rows.push(['first kernel, cold NVRTC cache (ms, import to result)', fmt(cold, 0), '', '', '']);
  rows.push(['first kernel, warm cache (ms, import to result)', fmt(warm, 0), '', '', '<= 500 ms']);
  Object.assign(results, { firstUseColdMs: cold, firstUseWarmMs: warm });
}

const table = markdownTable(['workload', 'dl4ts', `PyTorch ${torch.torch}`, 'ratio', 'target'], rows);
console.log(`\n${device.name}, ${new Date().toISOString().slice(0, 10)}\n\n${table}`);
const dir = join(root, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `gpu-${new Date().toISOString().slice(0, 10)}.json`), JSON.stringify({ ...results, torchResults: torch, table }, null, 2));
