/** SGEMM/DGEMM throughput: c = a @ b on square matrices, into a preallocated c. */
import { array, gemm, zeros, type DataType } from '../src/index.js';
import { uniformValues } from './seeded.js';
import { time, type Timing } from './timing.js';

export interface GemmResult {
  readonly dtype: DataType;
  readonly n: number;
  readonly timing: Timing;
  readonly gflops: number;
  readonly percentOfPeak: number;
}

export function benchGemm(dtype: 'FLOAT' | 'DOUBLE', n: number, peakGflops: number): GemmResult {
  const a = array(uniformValues(n * n, 1), [n, n], { dtype });
  const b = array(uniformValues(n * n, 2), [n, n], { dtype });
  const c = zeros([n, n], { dtype });
  try {
    // Large products get fewer samples: a 2048 SGEMM is ~17 GFLOP.
    const timing = time(() => gemm(a, b, c), { warmup: n >= 2048 ? 2 : 3, samples: n >= 2048 ? 5 : 9 });
    const gflops = (2 * n * n * n) / timing.median / 1e9;
    return { dtype, n, timing, gflops, percentOfPeak: (100 * gflops) / peakGflops };
  } finally {
    a.close();
    b.close();
    c.close();
  }
}
