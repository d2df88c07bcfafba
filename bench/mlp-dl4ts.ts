/** The benchmark MLP step on dl4ts: forward, softmax cross-entropy, backward() to every weight and bias. */
import { add, array, logSoftmax, matmul, mean, mul, neg, relu, scope, sum, type NDArray } from '../src/index.js';
import { BATCH, LAYERS, type MlpValues } from './mlp-spec.js';
import { time, type Timing } from './timing.js';

export interface MlpResult {
  readonly timing: Timing;
  /** Loss at the initial weights (the same for every implementation, up to rounding). */
  readonly loss: number;
}

export function benchMlpDl4ts(values: MlpValues, samples: number): MlpResult {
  const params: NDArray[] = [];
  const layers = values.layers.map((l) => {
    const w = array(l.w, [l.fanIn, l.fanOut]).requireGrad();
    const b = array(l.b, [l.fanOut]).requireGrad();
    params.push(w, b);
    return { w, b };
  });
  const x = array(values.x, [BATCH, LAYERS[0]]);
  const labels = array(values.oneHot, [BATCH, LAYERS[LAYERS.length - 1]!]);

  const step = (): number =>
    scope(() => {
      let h = x;
      layers.forEach(({ w, b }, i) => {
        const z = add(matmul(h, w), b);
        h = i + 1 < layers.length ? relu(z) : z;
      });
      const loss = neg(mean(sum(mul(labels, logSoftmax(h)), -1)));
      loss.backward();
      const value = loss.item();
      // The gradients are kept outside the scope; a training loop would use them, here they are dropped.
      for (const p of params) {
        p.grad?.close();
        p.grad = null;
      }
      return value;
    });

  try {
    const loss = step();
    const timing = time(() => void step(), { warmup: 3, samples, minSampleSeconds: 0 });
    return { timing, loss };
  } finally {
    for (const p of [...params, x, labels]) p.close();
  }
}
