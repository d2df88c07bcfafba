/**
 * captureStep on a backend without capture (the CPU): the step runs eagerly on every call, so code
 * written for CUDA graphs runs unchanged. The recording itself is tested in test/gpu/captured-step.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nd from '../src/index.js';
import { captureStep, memoryReport, type NDArray } from '../src/index.js';

test('captureStep: on the CPU every run is an eager step with its own outputs', () => {
  const cpu = nd.backendByName('cpu');
  const w = nd.array([0.5, -1, 2], { backend: cpu, dtype: 'DOUBLE' }).requireGrad();
  const x = nd.zeros([3], { backend: cpu, dtype: 'DOUBLE' });
  const arrays = memoryReport().arrays;
  const step = captureStep((): { loss: NDArray; grad: NDArray } => {
    const loss = nd.sum(nd.mul(nd.mul(w, x), nd.mul(w, x)));
    loss.backward();
    const grad = w.grad!;
    w.grad = null;
    return { loss, grad };
  }, { warmup: 0 });
  assert.equal(step.backend, cpu);
  for (const xs of [[1, 2, 3], [-1, 0.5, 4]]) {
    nd.scope(() => void x.assign(nd.array(xs, { backend: cpu, dtype: 'DOUBLE' })));
    const { loss, grad } = step.run();
    const wx = [0.5, -1, 2].map((wi, i) => wi * xs[i]!);
    assert.equal(loss.item(), wx.reduce((s, v) => s + v * v, 0));
    assert.deepEqual(Array.from(grad.toFlatArray()), wx.map((v, i) => 2 * v * xs[i]!));
    loss.close();
    grad.close();
  }
  assert.equal(step.captured, false);
  assert.equal(step.nodes, 0);
  step.close();
  assert.throws(() => step.run(), /captureStep: the step was closed/);
  assert.equal(memoryReport().arrays, arrays, 'no array is left behind');
  w.close();
  x.close();
});

test('captureStep: invalid options and step results are named', () => {
  assert.throws(() => captureStep(() => {}, { warmup: -1 }), /captureStep: warmup must be an integer >= 0, got -1/);
  assert.throws(() => captureStep(() => {}, { warmup: 1.5 }), /captureStep: warmup must be an integer >= 0, got 1.5/);
  const step = captureStep(() => 3 as unknown as void);
  assert.throws(() => step.run(), /captureStep: a step returns nothing, an NDArray, a list of them or an object of NDArrays and lists/);
});
