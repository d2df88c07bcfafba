/** The same MLP step on TensorFlow.js ('cpu' or 'wasm' backend): tf.variableGrads inside tf.tidy. */
import type { Scalar, Tensor } from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { BATCH, LAYERS, type MlpValues } from './mlp-spec.js';
import { time, type Timing } from './timing.js';

type Tf = typeof import('@tensorflow/tfjs');
type TfWasm = typeof import('@tensorflow/tfjs-backend-wasm');

export interface TfjsMlpResult {
  readonly backend: string;
  readonly timing: Timing;
  readonly loss: number;
  /** Threads the backend computed with. */
  readonly threads: number;
  readonly details: string;
}

// The tfjs packages are CommonJS bundles; require() loads their Node builds with one shared tfjs-core.
const require = createRequire(import.meta.url);
let tfLoaded: Tf | undefined;

function tf(): Tf {
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

async function backendDetails(t: Tf, name: string): Promise<{ threads: number; details: string }> {
  if (name !== 'wasm') return { threads: 1, details: 'pure JavaScript kernels on the main thread' };
  const wasm = require('@tensorflow/tfjs-backend-wasm') as TfWasm;
  const simd = await t.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const mt = await t.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const threads = mt ? wasm.getThreadsCount() : 1;
  return { threads, details: `SIMD ${simd ? 'on' : 'off'}, ${mt ? `multithreaded (${threads} threads)` : 'single-threaded (no multithread support in Node)'}` };
}

export async function benchMlpTfjs(backend: 'cpu' | 'wasm', values: MlpValues, samples: number): Promise<TfjsMlpResult> {
  const t = tf();
  if (!(await t.setBackend(backend))) throw new Error(`tfjs: backend '${backend}' failed to initialize`);
  await t.ready();
  const vars = values.layers.map((l) => ({
    w: t.variable(t.tensor2d(l.w, [l.fanIn, l.fanOut])),
    b: t.variable(t.tensor1d(l.b)),
  }));
  const x = t.tensor2d(values.x, [BATCH, LAYERS[0]]);
  const labels = t.tensor2d(values.oneHot, [BATCH, LAYERS[LAYERS.length - 1]!]);

  const step = (): number =>
    t.tidy(() => {
      const { value } = t.variableGrads(() => {
        let h: Tensor = x;
        vars.forEach(({ w, b }, i) => {
          const z = t.add(t.matMul(h, w), b);
          h = i + 1 < vars.length ? t.relu(z) : z;
        });
        return t.neg(t.mean(t.sum(t.mul(labels, t.logSoftmax(h)), -1))) as Scalar;
      });
      // The cpu and wasm backends run every kernel eagerly and synchronously, so the gradients are
      // computed when variableGrads returns; reading the loss costs next to nothing.
      return value.dataSync()[0]!;
    });

  try {
    const loss = step();
    const timing = time(() => void step(), { warmup: backend === 'cpu' ? 1 : 3, samples, minSampleSeconds: 0 });
    return { backend, timing, loss, ...(await backendDetails(t, backend)) };
  } finally {
    for (const v of vars) {
      v.w.dispose();
      v.b.dispose();
    }
    x.dispose();
    labels.dispose();
  }
}
