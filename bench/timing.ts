/** Timing for the benchmarks: warm-up, then the median of repeated timed samples. */

export interface Timing {
  /** Median seconds per call. */
  readonly median: number;
  /** Fastest sample, seconds per call. */
  readonly min: number;
  /** Timed samples taken. */
  readonly samples: number;
  /** Calls per sample (small ops repeat so a sample is long enough to time well). */
  readonly callsPerSample: number;
}

export interface TimingOptions {
  /** Untimed calls first: tiering up, page faults, thread-pool start. */
  readonly warmup?: number;
  readonly samples?: number;
  /** Calls are repeated within a sample until it lasts about this long. */
  readonly minSampleSeconds?: number;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e9;

function median(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Times `fn` (synchronous; it must finish its work before returning). */
export function time(fn: () => void, options: TimingOptions = {}): Timing {
  const { warmup = 3, samples = 9, minSampleSeconds = 0.05 } = options;
  let last = 0;
  for (let i = 0; i < warmup; i++) {
    const t0 = now();
    fn();
    last = now() - t0;
  }
  const callsPerSample = last > 0 ? Math.max(1, Math.ceil(minSampleSeconds / last)) : 1;
  const perCall: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = now();
    for (let c = 0; c < callsPerSample; c++) fn();
    perCall.push((now() - t0) / callsPerSample);
  }
  perCall.sort((a, b) => a - b);
  return { median: median(perCall), min: perCall[0]!, samples, callsPerSample };
}
