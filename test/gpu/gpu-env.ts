/** Whether the CUDA backend can run here, and why not: GPU tests skip with this message. */
import assert from 'node:assert/strict';
import { backendByName, backendStatus, getBackend, memoryReport, setBackend, type Backend } from '../../src/index.js';

export { assertNearValues } from '../helpers.js';

export function cudaOrSkipReason(): { cuda: Backend } | { skip: string } {
  const s = backendStatus().find((b) => b.name === 'cuda');
  if (!s) return { skip: 'no GPU: the CUDA backend is not registered' };
  if (!s.available) return { skip: `no GPU: ${s.reason ?? 'CUDA backend unavailable'}` };
  return { cuda: backendByName('cuda') };
}

const state = cudaOrSkipReason();
if ('skip' in state) console.log(`# GPU tests skipped (${state.skip})`);

export const gpu = state;

/** Runs fn with `backend` as the default backend (where networks put their parameters). */
export function onBackend<T>(backend: Backend, fn: () => T): T {
  const previous = getBackend();
  setBackend(backend.name);
  try {
    return fn();
  } finally {
    setBackend(previous.name);
  }
}

/** Runs `steps` (e.g. more training) and checks that live arrays and device bytes are what they were before. */
export function assertFlatDeviceMemory(cuda: Backend, steps: () => void): void {
  const arrays = memoryReport().arrays;
  const bytes = cuda.memory().bytes;
  steps();
  assert.equal(memoryReport().arrays, arrays);
  assert.equal(cuda.memory().bytes, bytes, 'device bytes after step 5 and step 40');
}
