/** The benchmark MLP step on dl4ts: forward, softmax cross-entropy, backward() to every weight and bias. */
import { add, array, logSoftmax, matmul, mean, mul, neg, relu, scope, sum, type NDArray } from '../src/index.js';
import { BATCH, LAYERS, type MlpValues } from './mlp-spec.js';
import { time, type Timing } from './timing.js';

export interface MlpResult {
  readonly timing: Timing;
  /** Loss at the initial weights (the same for every implementation, up to rounding). */
  readonly loss: number;
}

/** The benchmark MLP's parameters (requiring gradients) and minibatch as arrays, and its loss. */
export interface MlpModel {
  readonly params: readonly NDArray[];
  /** The softmax cross-entropy of the minibatch, recorded for backward(). */
  loss(): NDArray;
  close(): void;
}

export function mlpModel(values: MlpValues): MlpModel {
  const params: NDArray[] = [];
  const layers = values.layers.map((l) => {
    const w = array(l.w, [l.fanIn, l.fanOut]).requireGrad();
    const b = array(l.b, [l.fanOut]).requireGrad();
    params.push(w, b);
    return { w, b };
  });
  const x = array(values.x, [BATCH, LAYERS[0]]);
  const labels = array(values.oneHot, [BATCH, LAYERS[LAYERS.length - 1]!]);
  return {
    params,
    loss(): NDArray {
      let h = x;
      layers.forEach(({ w, b }, i) => {
        const z = add(matmul(h, w), b);
        h = i + 1 < layers.length ? relu(z) : z;
      });
      return neg(mean(sum(mul(labels, logSoftmax(h)), -1)));
    },
    close(): void {
      for (const p of [...params, x, labels]) p.close();
    },
  };
}

export function benchMlpDl4ts(values: MlpValues, samples: number): MlpResult {
  const model = mlpModel(values);
  const step = (): number =>
    scope(() => {
      const loss = model.loss();
      loss.backward();
      const value = loss.item();
      // The gradients are kept outside the scope; a training loop would use them, here they are dropped.
      for (const p of model.params) {
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
    model.close();
  }
}
