/**
 * Captured steps on the GPU (CUDA graphs): a recorded training step replays to the same losses as
 * the eager step and a float64 CPU reference, reads refreshed inputs, keeps memory flat, returns its
 * memory on close, and refuses what a recording cannot hold with a clear error. Skips without a GPU.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as nd from '../../src/index.js';
import { MultiLayerNetwork, captureStep, configureCuda, memoryReport, noGrad, setSeed, type Backend, type DataSet, type DataType, type LayerConfig, type NDArray } from '../../src/index.js';
import { batches, conf, paramValues } from '../half-fixture.js';
import type { CudaBackend } from '../../src/backend/cuda/cuda-backend.js';
import { assertNearValues, gpu, onBackend } from './gpu-env.js';

const BATCHES = 4;
const BATCH = 32;

/** Four minibatches of a 64-feature, 10-class problem (labels from a fixed random projection), on the CPU in float64. */
function dataset(): { x: NDArray[]; y: NDArray[] } {
  const cpu = nd.backendByName('cpu');
  const x = nd.randn([BATCHES * BATCH, 64], { seed: 21, backend: cpu, dtype: 'DOUBLE' });
  const labels = nd.argmax(nd.matmul(x, nd.randn([64, 10], { seed: 22, backend: cpu, dtype: 'DOUBLE' })), 1);
  const y = nd.oneHot(labels, 10).castTo('DOUBLE');
  const rows = (a: NDArray, i: number): NDArray => a.get(nd.interval(i * BATCH, (i + 1) * BATCH)).dup();
  return { x: Array.from({ length: BATCHES }, (_, i) => rows(x, i)), y: Array.from({ length: BATCHES }, (_, i) => rows(y, i)) };
}

/**
 * A 64-128-10 MLP step with SGD in place, written with front-end ops; the minibatch lives in `xb`/`yb`,
 * which the caller refreshes before each step. Returns the loss array.
 */
function mlpStep(backend: Backend, dtype: DataType) {
  const init = (shape: number[], seed: number): NDArray =>
    nd.randn(shape, { std: Math.sqrt(1 / shape[0]!), seed, backend: nd.backendByName('cpu'), dtype: 'DOUBLE' }).castTo(dtype).toBackend(backend).requireGrad();
  const params = [init([64, 128], 1), nd.zeros([128], { backend, dtype }).requireGrad(), init([128, 10], 2), nd.zeros([10], { backend, dtype }).requireGrad()];
  const [w1, b1, w2, b2] = params as [NDArray, NDArray, NDArray, NDArray];
  const xb = nd.zeros([BATCH, 64], { backend, dtype });
  const yb = nd.zeros([BATCH, 10], { backend, dtype });
  const step = (): NDArray => {
    const h = nd.tanh(nd.matmul(xb, w1).add(b1));
    const logits = nd.matmul(nd.relu(h), w2).add(b2);
    const loss = nd.neg(nd.mean(nd.sum(nd.mul(yb, nd.logSoftmax(logits, 1)), 1)));
    loss.backward();
    noGrad(() => {
      for (const p of params) {
        p.subi(nd.mul(p.grad!, 0.1));
        p.grad!.close();
        p.grad = null;
      }
    });
    return loss;
  };
  const feed = (x: NDArray, y: NDArray): void => {
    xb.assign(x.castTo(dtype).toBackend(backend));
    yb.assign(y.castTo(dtype).toBackend(backend));
  };
  return { step, feed, close: () => [...params, xb, yb].forEach((a) => a.close()) };
}

/** Losses of `steps` steps, cycling the minibatches; `run` performs one step and returns its loss array. */
function losses(data: { x: NDArray[]; y: NDArray[] }, steps: number, feed: (x: NDArray, y: NDArray) => void, run: () => NDArray): number[] {
  return Array.from({ length: steps }, (_, i) =>
    nd.scope(() => {
      feed(data.x[i % BATCHES]!, data.y[i % BATCHES]!);
      const loss = run();
      const value = loss.item();
      loss.close();
      return value;
    }),
  );
}

describe('captured steps on the GPU', () => {
  if ('skip' in gpu) {
    test(`captured-step GPU tests (${gpu.skip})`, { skip: gpu.skip }, () => {});
    return;
  }
  const cuda = gpu.cuda as CudaBackend;
  const data = dataset();
  const STEPS = 30;

  test('a captured MLP step trains like the eager step and like a float64 CPU reference', () => {
    const reference = mlpStep(nd.backendByName('cpu'), 'DOUBLE');
    const expected = losses(data, STEPS, reference.feed, reference.step);
    reference.close();

    const eager = mlpStep(cuda, 'FLOAT');
    const eagerLosses = losses(data, STEPS, eager.feed, eager.step);
    eager.close();

    const model = mlpStep(cuda, 'FLOAT');
    using step = captureStep(model.step, { backend: cuda });
    const got = losses(data, STEPS, model.feed, () => step.run());
    assert.ok(step.captured, 'the step was recorded');
    assert.ok(step.nodes >= 20, `the recording holds the step's kernels (${step.nodes} nodes)`);
    for (let i = 0; i < STEPS; i++) {
      assert.ok(Math.abs(got[i]! - eagerLosses[i]!) <= 1e-5 * Math.abs(eagerLosses[i]!), `step ${i}: captured ${got[i]} vs eager ${eagerLosses[i]}`);
      assert.ok(Math.abs(got[i]! - expected[i]!) <= 1e-4 * Math.abs(expected[i]!), `step ${i}: captured ${got[i]} vs float64 ${expected[i]}`);
    }
    assert.ok(got[STEPS - 1]! < 0.7 * got[0]!, `the loss falls (${got[0]} -> ${got[STEPS - 1]})`);
    model.close();
  });

  test('replays keep device memory flat, and close() returns the recording\'s memory', () => {
    const baseline = cuda.memory().bytes;
    const model = mlpStep(cuda, 'FLOAT');
    const withModel = cuda.memory().bytes;
    const step = captureStep(model.step, { backend: cuda, warmup: 1 });
    losses(data, 10, model.feed, () => step.run());
    const arrays = memoryReport().arrays;
    const bytes = cuda.memory().bytes;
    const held = cuda.device.allocator.stats().graphBytes;
    assert.ok(step.memoryBytes > 0 && held > 0, 'the recording keeps its memory');
    losses(data, 300, model.feed, () => step.run());
    assert.equal(memoryReport().arrays, arrays, 'live arrays after 10 and 310 steps');
    assert.equal(cuda.memory().bytes, bytes, 'device bytes after 10 and 310 steps');
    assert.equal(cuda.device.allocator.stats().graphBytes, held);
    step.close();
    assert.equal(cuda.device.allocator.stats().graphBytes, 0, 'close() releases the recording');
    assert.equal(cuda.memory().bytes, withModel, 'only the model\'s arrays remain');
    assert.throws(() => step.run(), /captureStep: the step was closed/);
    model.close();
    assert.equal(cuda.memory().bytes, baseline);
  });

  test('a recording refuses reads, host data and random numbers with a clear error and leaves the device usable', () => {
    const baseline = cuda.memory().bytes;
    const a = nd.randn([8], { seed: 5, backend: cuda });
    const cases: [string, () => NDArray, RegExp][] = [
      ['item()', () => nd.scalar(nd.exp(a).sum().item(), { backend: cuda }), /recording the step failed: read: cannot read values back to the host inside a captured step/],
      ['host data', () => nd.add(a, nd.array([1, 2, 3, 4, 5, 6, 7, 8], { backend: cuda })), /recording the step failed: write: cannot copy host data to the GPU inside a captured step/],
      ['randn', () => nd.add(a, nd.randn([8], { backend: cuda })), /recording the step failed: random normal: cannot draw random numbers inside a captured step/],
    ];
    for (const [name, fn, error] of cases) {
      const step = captureStep(fn, { backend: cuda, warmup: 0 });
      assert.throws(() => step.run(), error, name);
      assert.equal(step.captured, false, name);
      step.close();
      assert.equal(cuda.device.capturing, false, `${name}: the capture ended`);
      assert.equal(cuda.device.allocator.stats().graphBytes, 0, `${name}: the failed recording's memory was released`);
      const sum = nd.scope(() => nd.add(a, a).toFlatArray());
      const values = a.toFlatArray();
      assert.deepEqual(Array.from(sum), Array.from(values, (v) => Math.fround(2 * v)), `${name}: the device still works`);
    }
    a.close();
    assert.equal(cuda.memory().bytes, baseline);
  });

  test('a captured convolutional step (cuDNN) matches the eager step', () => {
    const make = () => {
      const w = nd.randn([8, 3, 3, 3], { seed: 31, std: 0.3, backend: cuda }).requireGrad();
      const v = nd.randn([8 * 8 * 8, 10], { seed: 32, std: 0.05, backend: cuda }).requireGrad();
      const x = nd.randn([16, 3, 8, 8], { seed: 33, backend: cuda });
      const y = nd.oneHot(nd.argmax(nd.randn([16, 10], { seed: 34, backend: cuda }), 1), 10).castTo('FLOAT');
      const step = (): NDArray => {
        const h = nd.relu(nd.conv2d(x, w, undefined, { padding: 1 })).reshape([16, 8 * 8 * 8]);
        const loss = nd.neg(nd.mean(nd.sum(nd.mul(y, nd.logSoftmax(nd.matmul(h, v), 1)), 1)));
        loss.backward();
        noGrad(() => {
          for (const p of [w, v]) {
            p.subi(nd.mul(p.grad!, 0.05));
            p.grad!.close();
            p.grad = null;
          }
        });
        return loss;
      };
      return { step, close: () => [w, v, x, y].forEach((a) => a.close()) };
    };
    const eager = make();
    const expected = losses(data, 12, () => {}, eager.step);
    eager.close();
    const model = make();
    using step = captureStep(model.step, { backend: cuda });
    const got = losses(data, 12, () => {}, () => step.run());
    assert.ok(step.captured);
    for (let i = 0; i < 12; i++) assert.ok(Math.abs(got[i]! - expected[i]!) <= 1e-5 * Math.abs(expected[i]!), `step ${i}: captured ${got[i]} vs eager ${expected[i]}`);
    model.close();
  });
});

describe('networks replay recorded passes on the GPU', () => {
  if ('skip' in gpu) {
    test(`recorded-pass GPU tests (${gpu.skip})`, { skip: gpu.skip }, () => {});
    return;
  }
  const cuda = gpu.cuda as CudaBackend;
  // Ten full batches and a shorter last one: two batch layouts, each recorded after two eager steps.
  const data = (): DataSet[] => [...batches(10), ...batches(1, 20)];
  const train = (layers: readonly LayerConfig[], capture: boolean): { params: number[][]; capture: MultiLayerNetwork['trainingCapture'] } =>
    onBackend(cuda, () => {
      configureCuda({ captureTrainingSteps: capture });
      try {
        const image = layers[0]!.type === 'convolution2d';
        const net = new MultiLayerNetwork({
          ...conf('FLOAT', { type: 'adam', learningRate: 1e-3 }, layers),
          ...(image ? { inputType: { type: 'convolutionalFlat', height: 28, width: 28, channels: 1 } } : {}),
        }).init();
        const sets = data();
        for (let epoch = 0; epoch < 3; epoch++) for (const ds of sets) net.fit(ds);
        sets.forEach((ds) => ds.close());
        const result = { params: paramValues(net), capture: net.trainingCapture };
        net.close();
        return result;
      } finally {
        configureCuda({ captureTrainingSteps: true });
      }
    });

  const cases: [string, LayerConfig[]][] = [
    ['MLP', [{ type: 'dense', nOut: 64, activation: 'relu' }, { type: 'output', nOut: 10, activation: 'softmax', lossFunction: 'MCXENT' }]],
    ['CNN with batch normalization', [
      { type: 'convolution2d', kernelSize: 3, nOut: 8, activation: 'identity' },
      { type: 'batchNormalization' },
      { type: 'activation', activation: 'relu' },
      { type: 'subsampling', poolingType: 'max', kernelSize: 2, stride: 2 },
      { type: 'output', nOut: 10, activation: 'softmax', lossFunction: 'MCXENT' },
    ]],
  ];
  for (const [name, layers] of cases) {
    test(`${name}: fit with recorded passes ends at the parameters of eager fit (Adam, 33 steps, two batch layouts)`, () => {
      const eager = train(layers, false);
      const recorded = train(layers, true);
      assert.deepEqual(eager.capture, { recorded: 0, refusal: null });
      assert.deepEqual(recorded.capture, { recorded: 2, refusal: null });
      recorded.params.forEach((p, i) => assertNearValues(eager.params[i]!, p, 1e-4, `${name} parameter ${i}`));
    });
  }

  test('a network with dropout cannot be recorded: it trains eagerly, exactly as with recording off, and says why', () => {
    const dropout: LayerConfig[] = [
      { type: 'dense', nOut: 64, activation: 'relu', dropOut: 0.8 },
      { type: 'output', nOut: 10, activation: 'softmax', lossFunction: 'MCXENT' },
    ];
    const runs = [false, true].map((capture) => {
      setSeed(9);
      return train(dropout, capture);
    });
    const [eager, attempted] = runs as [typeof runs[0], typeof runs[0]];
    assert.equal(attempted.capture.recorded, 0);
    assert.match(attempted.capture.refusal ?? '', /cannot draw random numbers inside a captured step/);
    assert.equal(cuda.device.allocator.stats().graphBytes, 0);
    // The failed recording drew no numbers: the dropout masks, and so the parameters, are those of eager fit.
    attempted.params.forEach((p, i) => assertNearValues(eager.params[i]!, p, 1e-6, `parameter ${i}`));
  });
});
