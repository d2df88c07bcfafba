// The CPU GEMM's multi-threaded paths against float64 JS loops: products large enough to be split
// over the threads, with a small M (A packed once, C cut along N), a small N (B packed once, C cut
// along M) and neither (tiles), several K slices, transposed operands, alpha and beta, FLOAT, DOUBLE
// and HALF (accumulated in float32, rounded once); on 2 and 3 threads (more chunks than threads) and on 1 for comparison.
import { test } from 'node:test';
import { array, backendByName, type DataType, type NDArray } from '../src/index.js';
import type { TensorRef } from '../src/backend/backend.js';
import type { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { Rng, assertClose } from './helpers.js';

const cpu = backendByName('cpu') as CpuBackend;

interface Case {
  readonly name: string;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly transposeA: boolean;
  readonly transposeB: boolean;
  readonly alpha: number;
  readonly beta: number;
}

const CASES: readonly Case[] = [
  { name: 'small M (minibatch @ weights), 3 K slices', m: 64, k: 600, n: 300, transposeA: false, transposeB: true, alpha: 0.5, beta: -1 },
  { name: 'small M, N not a multiple of the micro-tile', m: 37, k: 700, n: 333, transposeA: true, transposeB: false, alpha: 1, beta: 0 },
  { name: 'small N (weight gradient with K = 64)', m: 1000, k: 64, n: 130, transposeA: true, transposeB: false, alpha: -2, beta: 0.25 },
  { name: 'neither side small (tiles)', m: 200, k: 900, n: 600, transposeA: false, transposeB: false, alpha: 1, beta: 1 },
];

/** A [rows, cols] view of `x` ([cols, rows] storage) when `transposed`. */
function view(x: NDArray, transposed: boolean): TensorRef {
  return transposed ? { buffer: x.buffer, dtype: x.dtype, offset: x.offset, shape: [x.shape[1]!, x.shape[0]!], strides: [1, x.shape[1]!] } : x;
}

function run(c: Case, dtype: DataType, outDtype: DataType, threads: number, seed: number): void {
  const rng = new Rng(seed);
  const values = (n: number): number[] => Array.from({ length: n }, () => rng.uniform(-1, 1));
  const [aShape, bShape] = [c.transposeA ? [c.k, c.m] : [c.m, c.k], c.transposeB ? [c.n, c.k] : [c.k, c.n]];
  const a = array(values(c.m * c.k), aShape, { dtype });
  const b = array(values(c.k * c.n), bShape, { dtype });
  const out = array(values(c.m * c.n), [c.m, c.n], { dtype: outDtype });
  // The reference reads the stored (rounded) values.
  const [ra, rb, rc] = [a.toFlatArray(), b.toFlatArray(), out.toFlatArray()];
  const at = (i: number, p: number): number => (c.transposeA ? ra[p * c.m + i]! : ra[i * c.k + p]!);
  const bt = (p: number, j: number): number => (c.transposeB ? rb[j * c.k + p]! : rb[p * c.n + j]!);
  const expected = new Float64Array(c.m * c.n);
  for (let i = 0; i < c.m; i++) {
    for (let j = 0; j < c.n; j++) {
      let s = 0;
      for (let p = 0; p < c.k; p++) s += at(i, p) * bt(p, j);
      expected[i * c.n + j] = c.alpha * s + c.beta * rc[i * c.n + j]!;
    }
  }
  const previous = cpu.threads;
  cpu.threads = threads;
  try {
    cpu.matmul(view(a, c.transposeA), view(b, c.transposeB), out, c.alpha, c.beta);
  } finally {
    cpu.threads = previous;
  }
  // float32 accumulation over K terms of size <= 1: errors grow like sqrt(K) ulps; HALF rounds the result once.
  const tol = outDtype === 'HALF' ? { rtol: 1e-3, atol: 1e-3 } : dtype === 'DOUBLE' ? { rtol: 1e-12, atol: 1e-12 } : { rtol: 1e-5, atol: 2e-6 * Math.sqrt(c.k) };
  assertClose(out.toFlatArray(), expected, { ...tol, message: `${c.name}: ${dtype} -> ${outDtype} on ${threads} threads` });
  for (const x of [a, b, out]) x.close();
}

for (const threads of [2, 3, 1]) {
  test(`GEMM on ${threads} thread(s) matches float64 loops for small-M, small-N and tiled products`, () => {
    CASES.forEach((c, i) => {
      run(c, 'FLOAT', 'FLOAT', threads, 10 * i + threads);
      run(c, 'DOUBLE', 'DOUBLE', threads, 20 * i + threads);
    });
    run(CASES[0]!, 'HALF', 'HALF', threads, 99);
  });
}
