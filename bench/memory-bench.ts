/**
 * Memory-bound kernels: elementwise add (reads a and b, writes out: 3 x size x n bytes) against a
 * plain copy of the same data measured the same way (identity: 2 x size x n bytes), and JS copies.
 */
import { add, array, cast, dtypeSize, getBackend, scope, zeros, type DataType } from '../src/index.js';
import { uniformValues } from './seeded.js';
import { time, type Timing } from './timing.js';

export interface BandwidthResult {
  readonly name: string;
  readonly dtype: string;
  readonly n: number;
  readonly bytes: number;
  readonly timing: Timing;
  readonly gbPerSec: number;
}

const result = (name: string, dtype: string, n: number, bytes: number, timing: Timing): BandwidthResult => ({
  name, dtype, n, bytes, timing, gbPerSec: bytes / timing.median / 1e9,
});

const OPTIONS = { warmup: 3, samples: 11, minSampleSeconds: 0 };
/** Rows that touch freshly allocated memory are slow on some VMs (every page faults to the host): fewer samples. */
const FRESH_OPTIONS = { warmup: 1, samples: 5, minSampleSeconds: 0 };

/** add and identity copy on the native kernels, output preallocated (what the kernel itself achieves). */
export function benchKernels(dtype: DataType, n: number): BandwidthResult[] {
  const backend = getBackend();
  const size = dtypeSize(dtype);
  return scope(() => {
    const wide = [array(uniformValues(n, 3), [n]), array(uniformValues(n, 4), [n])];
    const [a, b] = dtype === 'FLOAT' ? wide : wide.map((w) => cast(w, dtype));
    const out = zeros([n], { dtype });
    const rows = [
      result('add (kernel, out preallocated)', dtype, n, 3 * size * n, time(() => backend.binary('add', a!, b!, out), OPTIONS)),
      result('copy (identity kernel)', dtype, n, 2 * size * n, time(() => backend.unary('identity', a!, out), OPTIONS)),
    ];
    if (dtype === 'FLOAT') {
      // Through the public op: includes allocating and zero-filling the result, and freeing it.
      rows.push(result('add (ops.add, allocates out)', dtype, n, 3 * size * n, time(() => scope(() => void add(a!, b!)), FRESH_OPTIONS)));
    }
    return rows;
  });
}

/**
 * The JavaScript references: TypedArray.prototype.set and Buffer.prototype.copy (both memmove),
 * and filling a new Float32Array, which shows what first-touching fresh memory costs here.
 */
export function benchJsCopies(n: number): BandwidthResult[] {
  const src = uniformValues(n, 5);
  const dst = new Float32Array(n);
  const srcBuf = Buffer.from(src.buffer, src.byteOffset, src.byteLength);
  const dstBuf = Buffer.from(dst.buffer, dst.byteOffset, dst.byteLength);
  return [
    result('copy (Float32Array.set)', 'FLOAT', n, 8 * n, time(() => dst.set(src), OPTIONS)),
    result('copy (Buffer.copy)', 'FLOAT', n, 8 * n, time(() => void srcBuf.copy(dstBuf), OPTIONS)),
    result('fill a new Float32Array (first touch)', 'FLOAT', n, 4 * n, time(() => void new Float32Array(n).fill(1), FRESH_OPTIONS)),
  ];
}
