/**
 * Training on the GPU: a 100-step MLP loop gives the same loss curve on CPU and GPU from the same
 * seed, and 1,000 forward/backward steps keep device memory flat. Skips (and says so) without a GPU.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as nd from '../../src/index.js';
import { noGrad, scope, type Backend, type NDArray } from '../../src/index.js';
import { gpu } from './gpu-env.js';

interface Mlp {
  readonly params: NDArray[];
  step(x: NDArray, y: NDArray, lr: number): number;
}

/** A 64-128-10 tanh/relu MLP with softmax cross-entropy and plain SGD, all from front-end ops. */
function mlp(backend: Backend): Mlp {
  const init = (shape: number[], seed: number): NDArray => nd.randn(shape, { std: Math.sqrt(1 / shape[0]!), seed, backend, dtype: 'FLOAT' }).requireGrad();
  const params = [init([64, 128], 1), nd.zeros([128], { backend }).requireGrad(), init([128, 10], 2), nd.zeros([10], { backend }).requireGrad()];
  const [w1, b1, w2, b2] = params as [NDArray, NDArray, NDArray, NDArray];
  return {
    params,
    step(x, y, lr) {
      const loss = scope(() => {
        const h = nd.tanh(nd.matmul(x, w1).add(b1));
        const logits = nd.matmul(nd.relu(h), w2).add(b2);
        return nd.neg(nd.mean(nd.sum(nd.mul(y, nd.logSoftmax(logits, 1)), 1)));
      });
      loss.backward();
      // The update's temporaries are released by its own scope: device memory must not wait for GC.
      noGrad(() =>
        scope(() => {
          for (const p of params) {
            p.subi(nd.mul(p.grad!, lr));
            p.grad!.close();
            p.grad = null;
          }
        }),
      );
      const value = loss.item();
      loss.close();
      return value;
    },
  };
}

function data(backend: Backend): { x: NDArray; y: NDArray } {
  const x = nd.randn([256, 64], { seed: 3, backend, dtype: 'FLOAT' });
  // Labels from a fixed random projection, so there is something to learn.
  const proj = nd.randn([64, 10], { seed: 4, backend, dtype: 'FLOAT' });
  const y = nd.oneHot(nd.argmax(nd.matmul(x, proj), 1), 10);
  return { x, y };
}

describe('training on the GPU', () => {
  if ('skip' in gpu) {
    test(`GPU training tests (${gpu.skip})`, { skip: gpu.skip }, () => {});
    return;
  }
  const cuda = gpu.cuda;
  const cpu = nd.backendByName('cpu');

  test('100 SGD steps: the same loss curve on CPU and GPU', () => {
    const curves = [cpu, cuda].map((backend) => {
      const model = mlp(backend);
      const { x, y } = data(backend);
      const losses = Array.from({ length: 100 }, () => model.step(x, y, 0.1));
      [x, y, ...model.params].forEach((a) => a.close());
      return losses;
    });
    const [onCpu, onGpu] = curves as [number[], number[]];
    assert.ok(onCpu[99]! < onCpu[0]! * 0.7, `the loss falls (${onCpu[0]} -> ${onCpu[99]})`);
    onCpu.forEach((l, i) => assert.ok(Math.abs(l - onGpu[i]!) <= 1e-3 * Math.max(1, Math.abs(l)), `step ${i}: cpu ${l} vs gpu ${onGpu[i]}`));
  });

  test('1,000 forward/backward steps keep device memory flat', () => {
    const model = mlp(cuda);
    const { x, y } = data(cuda);
    let after10 = 0;
    for (let i = 1; i <= 1000; i++) {
      model.step(x, y, 0.05);
      if (i === 10) after10 = cuda.memory().bytes;
    }
    const after1000 = cuda.memory().bytes;
    assert.equal(after1000, after10, `device bytes in use after 10 steps ${after10}, after 1000 ${after1000}`);
    const report = nd.memoryReport();
    [x, y, ...model.params].forEach((a) => a.close());
    assert.ok(report.arrays < 100, `live array handles stay few (${report.arrays})`);
  });
});
