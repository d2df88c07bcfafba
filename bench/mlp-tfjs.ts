/** The same MLP step on TensorFlow.js ('cpu' or 'wasm' backend): tf.variableGrads inside tf.tidy. */
import type { Scalar, Tensor } from '@tensorflow/tfjs';
import { BATCH, LAYERS, type MlpValues } from './mlp-spec.js';
import { tfjsBackendDetails, useTfjsBackend, type TfjsBackend } from './tfjs-setup.js';
import { time, type Timing } from './timing.js';

export interface TfjsMlpResult {
  readonly backend: string;
  readonly timing: Timing;
  readonly loss: number;
  /** Threads the backend computed with. */
  readonly threads: number;
  readonly details: string;
}

export async function benchMlpTfjs(backend: TfjsBackend, values: MlpValues, samples: number): Promise<TfjsMlpResult> {
  const t = await useTfjsBackend(backend);
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
    return { backend, timing, loss, ...(await tfjsBackendDetails(t, backend)) };
  } finally {
    for (const v of vars) {
      v.w.dispose();
      v.b.dispose();
    }
    x.dispose();
    labels.dispose();
  }
}
