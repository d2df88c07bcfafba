/**
 * The CUDA backend's configuration, as ND4J's CudaEnvironment.getConfiguration(): cache limits of
 * the device and pinned-host allocators, launch limits, and which devices are used.
 */
export interface CudaConfiguration {
  /** Bytes of freed device memory kept for reuse per device (beyond it, whole free segments go back). */
  maximumDeviceCache: number;
  /** Allocations larger than this are returned to the driver when freed instead of cached. */
  maximumDeviceCacheableLength: number;
  /** Bytes of freed pinned host memory kept for reuse. */
  maximumHostCache: number;
  maximumHostCacheableLength: number;
  /** Use every visible device (or those in `devices`); otherwise only the first. */
  allowMultiGPU: boolean;
  /** Upper bound on the grid size (blocks) of any launch. */
  maximumGridSize: number;
  /** Upper bound on the block size (threads) of any launch; a multiple of 32, at most 1024. */
  maximumBlockSize: number;
  /** Device ordinals to use; empty means all visible. */
  devices: number[];
  /** FLOAT matmul may use TF32 tensor cores (faster, ~10-bit mantissa products). Off by default. */
  allowTF32: boolean;
  /** Convolutions through cuDNN when it loads (otherwise, or when false, im2col kernels + cuBLAS). */
  useCudnn: boolean;
  /**
   * HALF/BFLOAT16 cuDNN convolutions may run on FLOAT copies of their operands (cast in, FLOAT
   * algorithms, cast out): 'auto' where cuDNN's timings say that is faster (once per shape and pass),
   * 'always', or 'never'.
   */
  widenHalfConvolutions: WidenMode;
  /**
   * Networks' fit records the forward and backward pass of each batch layout as a CUDA graph after
   * two eager steps and replays it (captureStep). A pass that cannot be recorded (dropout and other
   * random layers, values read on the host) trains eagerly instead, and the network says why.
   */
  captureTrainingSteps: boolean;
}

export type WidenMode = 'auto' | 'always' | 'never';
const WIDEN_MODES: readonly WidenMode[] = ['auto', 'always', 'never'];

const GiB = 1024 ** 3;

const config: CudaConfiguration = {
  maximumDeviceCache: 8 * GiB,
  maximumDeviceCacheableLength: 1 * GiB,
  maximumHostCache: 1 * GiB,
  maximumHostCacheableLength: 256 * 1024 ** 2,
  allowMultiGPU: false,
  maximumGridSize: 65535,
  maximumBlockSize: 512,
  devices: [],
  allowTF32: false,
  useCudnn: true,
  widenHalfConvolutions: 'auto',
  captureTrainingSteps: true,
};

export function cudaConfiguration(): Readonly<CudaConfiguration> {
  return config;
}

/** Changes settings; validated so a bad value fails here rather than inside a kernel launch. */
export function configureCuda(changes: Partial<CudaConfiguration>): Readonly<CudaConfiguration> {
  const next = { ...config, ...changes };
  for (const k of ['maximumDeviceCache', 'maximumDeviceCacheableLength', 'maximumHostCache', 'maximumHostCacheableLength'] as const) {
    if (!Number.isInteger(next[k]) || next[k] < 0) throw new Error(`configureCuda: ${k} must be a non-negative integer (bytes), got ${next[k]}`);
  }
  if (!Number.isInteger(next.maximumGridSize) || next.maximumGridSize < 1) throw new Error(`configureCuda: maximumGridSize must be a positive integer, got ${next.maximumGridSize}`);
  if (!Number.isInteger(next.maximumBlockSize) || next.maximumBlockSize < 32 || next.maximumBlockSize > 1024 || next.maximumBlockSize % 32 !== 0) {
    throw new Error(`configureCuda: maximumBlockSize must be a multiple of 32 in 32..1024, got ${next.maximumBlockSize}`);
  }
  if (!next.devices.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`configureCuda: devices must be device ordinals, got [${next.devices.join(', ')}]`);
  for (const k of ['allowMultiGPU', 'allowTF32', 'useCudnn', 'captureTrainingSteps'] as const) {
    if (typeof next[k] !== 'boolean') throw new Error(`configureCuda: ${k} must be true or false, got ${String(next[k])}`);
  }
  if (!WIDEN_MODES.includes(next.widenHalfConvolutions)) throw new Error(`configureCuda: widenHalfConvolutions must be one of ${WIDEN_MODES.join(', ')}, got ${String(next.widenHalfConvolutions)}`);
  Object.assign(config, next);
  return config;
}
