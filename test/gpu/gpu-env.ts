/** Whether the CUDA backend can run here, and why not: GPU tests skip with this message. */
import { backendByName, backendStatus, type Backend } from '../../src/index.js';

export function cudaOrSkipReason(): { cuda: Backend } | { skip: string } {
  const s = backendStatus().find((b) => b.name === 'cuda');
  if (!s) return { skip: 'no GPU: the CUDA backend is not registered' };
  if (!s.available) return { skip: `no GPU: ${s.reason ?? 'CUDA backend unavailable'}` };
  return { cuda: backendByName('cuda') };
}

const state = cudaOrSkipReason();
if ('skip' in state) console.log(`# GPU tests skipped (${state.skip})`);

export const gpu = state;
