/** Loads TensorFlow.js for the benchmarks and switches between its 'cpu' and 'wasm' backends. */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

export type Tf = typeof import('@tensorflow/tfjs');
type TfWasm = typeof import('@tensorflow/tfjs-backend-wasm');

export type TfjsBackend = 'cpu' | 'wasm';

// The tfjs packages are CommonJS bundles; require() loads their Node builds with one shared tfjs-core.
const require = createRequire(import.meta.url);
let tfLoaded: Tf | undefined;

export function loadTfjs(): Tf {
  if (!tfLoaded) {
    tfLoaded = require('@tensorflow/tfjs') as Tf;
    // Production mode: no debug checks, and no "install tfjs-node" banner in the middle of the tables.
    tfLoaded.enableProdMode();
    const wasm = require('@tensorflow/tfjs-backend-wasm') as TfWasm;
    // The .wasm binaries sit next to the package's main file; Node needs them as a file path.
    wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  }
  return tfLoaded;
}

/** Loads tfjs and makes `backend` the active one, ready to run. */
export async function useTfjsBackend(backend: TfjsBackend): Promise<Tf> {
  const t = loadTfjs();
  if (!(await t.setBackend(backend))) throw new Error(`tfjs: backend '${backend}' failed to initialize`);
  await t.ready();
  return t;
}

/** Threads the backend computes with, and how it runs (SIMD, multithreading). */
export async function tfjsBackendDetails(t: Tf, backend: TfjsBackend): Promise<{ threads: number; details: string }> {
  if (backend !== 'wasm') return { threads: 1, details: 'pure JavaScript kernels on the main thread' };
  const wasm = require('@tensorflow/tfjs-backend-wasm') as TfWasm;
  const simd = await t.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const mt = await t.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const threads = mt ? wasm.getThreadsCount() : 1;
  return { threads, details: `SIMD ${simd ? 'on' : 'off'}, ${mt ? `multithreaded (${threads} threads)` : 'single-threaded (no multithread support in Node)'}` };
}

/** Versions of the tfjs packages (tfjs-core, the layers API, the cpu and wasm backends). */
export function tfjsVersions(): Record<string, string> {
  const wasm = require('@tensorflow/tfjs-backend-wasm') as TfWasm;
  return { ...loadTfjs().version, 'tfjs-backend-wasm': wasm.version_wasm };
}
