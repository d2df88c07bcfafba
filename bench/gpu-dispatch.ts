/**
 * `node dist/bench/gpu-dispatch.js`: where the time of one small CUDA op goes, layer by layer
 * (driver launch, backend kernel call, allocator, front end), as medians in microseconds per op.
 */
import * as nd from '../src/index.js';
import type { CudaBackend } from '../src/backend/cuda/cuda-backend.js';
import { fmt, markdownTable } from './report.js';

const status = nd.backendStatus().find((s) => s.name === 'cuda');
if (!status?.available) {
  console.log(`gpu-dispatch: no GPU here (${status?.reason ?? 'CUDA backend not registered'})`);
  process.exit(0);
}
const cuda = nd.setBackend('cuda') as CudaBackend;

function perOpUs(fn: () => void, iters = 5000, samples = 7): number {
  for (let i = 0; i < 500; i++) fn();
  cuda.synchronize();
  const per: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) fn();
    cuda.synchronize();
    per.push(((performance.now() - t0) * 1000) / iters);
  }
  per.sort((a, b) => a - b);
  return per[samples >> 1]!;
}

const a = nd.randn([256]);
const b = nd.randn([256]);
const out = nd.zeros([256]);
const rows: (string | number)[][] = [
  ['backend.binary into a preallocated array', fmt(perOpUs(() => cuda.binary('add', a, b, out)), 2)],
  ['allocator alloc + free (1 KiB)', fmt(perOpUs(() => cuda.device.allocator.free(cuda.device.allocator.alloc(1024))), 2)],
  ['nd.add + close()', fmt(perOpUs(() => nd.add(a, b).close()), 2)],
  ['nd.add inside a scope of 100 adds', fmt(perOpUs(() => nd.scope(() => { for (let i = 0; i < 100; i++) nd.add(a, b); }), 50) / 100, 2)],
  ['a.addi(b) (in place)', fmt(perOpUs(() => void out.addi(b)), 2)],
];
console.log(markdownTable(['layer', 'us/op'], rows));
