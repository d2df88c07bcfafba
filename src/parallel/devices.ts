/**
 * Thread <-> device affinity of parallel workers: each worker binds to one backend for its life
 * (setBackend as its first action). On the CPU backend every worker uses 'cpu'; on CUDA the
 * workers go round robin over the usable devices (all visible ones, or the configured subset,
 * when allowMultiGPU is on; otherwise only the first).
 */
import { getBackend } from '../backend/registry.js';
import { usableDevices } from '../backend/cuda/cuda-backend.js';

function isCudaName(name: string): boolean {
  return name === 'cuda' || name.startsWith('cuda:');
}

/** The device ordinals workers may use, or null when the current backend is not CUDA. */
function cudaDevices(): number[] | null {
  // Only asked when CUDA is already the backend, so CPU machines never touch the driver.
  if (!isCudaName(getBackend().name)) return null;
  const devices = usableDevices();
  if (devices.length === 0) throw new Error('workerBackendNames: the current backend is CUDA but no CUDA device is usable');
  return devices;
}

/** The backend name for CUDA device `ordinal` ('cuda' for 0, as the registry names it). */
export function cudaBackendName(ordinal: number): string {
  return ordinal === 0 ? 'cuda' : `cuda:${ordinal}`;
}

/** The backend each of `workers` workers binds to: 'cpu' for all on the CPU backend, else CUDA devices round robin. */
export function workerBackendNames(workers: number): string[] {
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`workerBackendNames: workers must be a positive integer, got ${workers}`);
  const devices = cudaDevices();
  if (!devices) {
    const name = getBackend().name;
    return Array.from({ length: workers }, () => name);
  }
  return Array.from({ length: workers }, (_, k) => cudaBackendName(devices[k % devices.length]!));
}

/** DL4J's default worker count: one per usable device on CUDA, 2 on the CPU backend. */
export function defaultWorkerCount(): number {
  return cudaDevices()?.length ?? 2;
}
