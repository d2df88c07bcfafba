// ParallelInference on CPU workers: many concurrent callers get exactly the model's output (checked
// against a float64 forward pass written out here), BATCHED merges requests (fewer forward passes than
// requests, none over batchLimit), SEQUENTIAL does not, queueLimit holds callers back without losing
// any, a bad input fails only its own caller, and a dying worker rejects its callers and later calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MultiLayerNetwork, ComputationGraph, ParallelInference, array, type NeuralNetConfiguration, type NDArray } from '../src/index.js';
import { Rng, assertClose, tanhSoftmaxReference } from './helpers.js';

const N_IN = 4;
const HIDDEN = 5;
const N_OUT = 3;

const conf: NeuralNetConfiguration = {
  seed: 9, dataType: 'DOUBLE', updater: { type: 'sgd', learningRate: 0.1 },
  layers: [
    { type: 'dense', nIn: N_IN, nOut: HIDDEN, activation: 'tanh' },
    { type: 'output', nOut: N_OUT, activation: 'softmax', lossFunction: 'MCXENT' },
  ],
};

/** Softmax(tanh(x W0 + b0) W1 + b1) in float64 from the network's parameter table. */
function reference(net: MultiLayerNetwork, x: number[][]): number[] {
  const p = net.paramTable();
  const [W0, b0, W1, b1] = ['0_W', '0_b', '1_W', '1_b'].map((k) => p.get(k)!.toFlatArray()) as [number[], number[], number[], number[]];
  return tanhSoftmaxReference(x, W0, b0, W1, b1).flat();
}

function inputs(seed: number, count: number): number[][][] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => Array.from({ length: rng.int(1, 4) }, () => Array.from({ length: N_IN }, () => rng.uniform(-2, 2))));
}

/** Calls output() for every input at once and checks each answer against the reference. */
async function checkConcurrent(pi: ParallelInference, net: MultiLayerNetwork, xs: number[][][]): Promise<void> {
  const arrays = xs.map((x) => array(x, { dtype: 'DOUBLE' }));
  const outs = await Promise.all(arrays.map((a) => pi.output(a)));
  outs.forEach((o, i) => {
    assert.deepEqual(o.shape, [xs[i]!.length, N_OUT]);
    assertClose(o.toFlatArray(), reference(net, xs[i]!), { rtol: 1e-12, atol: 1e-15, message: `request ${i}` });
    // The same as the model itself computes.
    const direct = net.output(arrays[i]!);
    assertClose(o.toFlatArray(), direct.toFlatArray(), { rtol: 1e-14, atol: 0, message: `request ${i} vs model.output` });
    direct.close();
  });
  for (const a of [...arrays, ...outs]) a.close();
}

test('BATCHED: 60 then 30 concurrent callers get the model output; requests are merged up to batchLimit; worker memory stays flat', async () => {
  const net = new MultiLayerNetwork(conf).init();
  const pi = new ParallelInference(net, { workers: 2, inferenceMode: 'BATCHED', batchLimit: 8 });
  try {
    await checkConcurrent(pi, net, inputs(1, 60));
    const memory = await pi.workerMemory();
    await checkConcurrent(pi, net, inputs(7, 30));
    // Each worker holds its four parameters and nothing from the requests it served.
    assert.deepEqual((await pi.workerMemory()).map((m) => m.arrays), [4, 4]);
    assert.deepEqual((await pi.workerMemory()).map((m) => m.totalBytes), memory.map((m) => m.totalBytes));
    const s = pi.stats();
    assert.equal(s.requests, 90);
    assert.ok(s.batches < 60, `${s.batches} forward passes for 90 requests`);
    assert.ok(s.largestBatch > 3 && s.largestBatch <= 8, `largest batch ${s.largestBatch}`);
  } finally {
    await pi.close();
  }
  net.close();
});

test('SEQUENTIAL: one forward pass per request; queueLimit 3 holds callers back without losing any', async () => {
  const net = new MultiLayerNetwork(conf).init();
  {
    await using pi = new ParallelInference(net, { workers: 2, inferenceMode: 'SEQUENTIAL', queueLimit: 3 });
    await checkConcurrent(pi, net, inputs(2, 25));
    assert.deepEqual(pi.stats(), { requests: 25, batches: 25, largestBatch: 3 });
  }
  {
    await using pi = new ParallelInference(net, { workers: 1, inferenceMode: 'BATCHED', queueLimit: 2, batchLimit: 100 });
    await checkConcurrent(pi, net, inputs(3, 20));
    assert.equal(pi.stats().requests, 20);
  }
  net.close();
});

test('updateModel: later requests use the new parameters', async () => {
  const net = new MultiLayerNetwork(conf).init();
  const other = new MultiLayerNetwork({ ...conf, seed: 99 }).init();
  const pi = new ParallelInference(net, { workers: 2 });
  try {
    await checkConcurrent(pi, net, inputs(8, 6));
    await pi.updateModel(other);
    await checkConcurrent(pi, other, inputs(9, 6));
  } finally {
    await pi.close();
  }
  net.close();
  other.close();
});

test('a bad input fails only its own caller, also when merged with good ones', async () => {
  const net = new MultiLayerNetwork(conf).init();
  const pi = new ParallelInference(net, { workers: 1, inferenceMode: 'BATCHED' });
  try {
    const good = inputs(4, 6).map((x) => array(x, { dtype: 'DOUBLE' }));
    const bad = array([[1, 2, 3, 4, 5, 6, 7]], { dtype: 'DOUBLE' }); // 7 features, the model takes 4
    const calls = [...good.slice(0, 3), bad, ...good.slice(3)].map((a) => pi.output(a));
    const settled = await Promise.allSettled(calls);
    settled.forEach((s, i) => assert.equal(s.status, i === 3 ? 'rejected' : 'fulfilled', `call ${i}`));
    assert.match(String((settled[3] as PromiseRejectedResult).reason), /ParallelInference: worker 0 \(cpu\) failed: .*\b7\b/);
    for (const s of settled) if (s.status === 'fulfilled') s.value.close();
    // The worker still serves.
    await checkConcurrent(pi, net, inputs(5, 3));
    for (const a of [...good, bad]) a.close();
  } finally {
    await pi.close();
  }
  await assert.rejects(pi.output(array([[0, 0, 0, 0]], { dtype: 'DOUBLE' })), /ParallelInference is closed/);
  net.close();
});

test('a worker that dies rejects its callers and every later call', async () => {
  const net = new MultiLayerNetwork(conf).init();
  const pi = new ParallelInference(net, { workers: 2, inferenceMode: 'SEQUENTIAL', workerModules: [new URL('./parallel-fixture.js?fault=exit-output', import.meta.url)] });
  const xs: NDArray[] = inputs(6, 12).map((x) => array(x, { dtype: 'DOUBLE' }));
  const settled = await Promise.allSettled(xs.map((a) => pi.output(a)));
  const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  assert.ok(failures.length > 0);
  for (const f of failures) assert.match(String(f.reason), /worker 1 \(cpu\) exited unexpectedly with code 9/);
  for (const s of settled) if (s.status === 'fulfilled') s.value.close();
  await assert.rejects(pi.output(xs[0]!), /the workers failed earlier: .*exited unexpectedly with code 9/);
  await pi.close();
  for (const a of xs) a.close();
  net.close();
});

/** Two inputs (3 and 2 features) and two outputs: class probabilities from both, a regression from the second. */
function twoInOutGraph(seed: number): ComputationGraph {
  return new ComputationGraph({
    seed, dataType: 'DOUBLE', inputs: ['p', 'q'], inputTypes: [{ type: 'feedForward', size: 3 }, { type: 'feedForward', size: 2 }], outputs: ['cls', 'reg'],
    vertices: {
      hp: { layer: { type: 'dense', nOut: 4, activation: 'tanh' }, inputs: ['p'] },
      hq: { layer: { type: 'dense', nOut: 3, activation: 'sigmoid' }, inputs: ['q'] },
      m: { vertex: { type: 'merge' }, inputs: ['hp', 'hq'] },
      cls: { layer: { type: 'output', nOut: 3, activation: 'softmax', lossFunction: 'MCXENT' }, inputs: ['m'] },
      reg: { layer: { type: 'output', nOut: 2, activation: 'identity', lossFunction: 'MSE' }, inputs: ['hq'] },
    },
  }).init();
}

test('a ComputationGraph: outputs() of many concurrent callers equal graph.output; BATCHED merges every input and splits every output', async () => {
  const graph = twoInOutGraph(4);
  const rng = new Rng(21);
  const requests = Array.from({ length: 50 }, () => {
    const n = rng.int(1, 4);
    const rows = (width: number): number[][] => Array.from({ length: n }, () => Array.from({ length: width }, () => rng.uniform(-2, 2)));
    return [array(rows(3), { dtype: 'DOUBLE' }), array(rows(2), { dtype: 'DOUBLE' })] as const;
  });
  for (const mode of ['BATCHED', 'SEQUENTIAL'] as const) {
    const pi = new ParallelInference(graph, { workers: 2, inferenceMode: mode, batchLimit: 8 });
    try {
      const outs = await Promise.all(requests.map(([p, q]) => pi.outputs(p, q)));
      outs.forEach((o, i) => {
        const [p, q] = requests[i]!;
        const direct = graph.output(p, q);
        assert.equal(o.length, 2);
        o.forEach((a, k) => {
          assert.deepEqual(a.shape, direct[k]!.shape, `${mode} request ${i} output ${k}`);
          assertClose(a.toFlatArray(), direct[k]!.toFlatArray(), { rtol: 1e-14, atol: 0, message: `${mode} request ${i} output ${k}` });
        });
        for (const a of [...o, ...direct]) a.close();
      });
      const s = pi.stats();
      assert.equal(s.requests, 50);
      if (mode === 'BATCHED') {
        assert.ok(s.batches < 50 && s.largestBatch > 3 && s.largestBatch <= 8, `${s.batches} passes, largest ${s.largestBatch}`);
      } else {
        assert.equal(s.batches, 50);
      }
      // Each worker holds the graph's eight parameter arrays and nothing from the requests.
      assert.deepEqual((await pi.workerMemory()).map((m) => m.arrays), [8, 8]);
      // Wrong calls fail clearly, before anything is queued.
      await assert.rejects(pi.output(requests[0]![0]), /ParallelInference\.output: the graph has 2 inputs \(p, q\) and 2 outputs \(cls, reg\)/);
      await assert.rejects(pi.outputs(requests[0]![0]), /ParallelInference\.outputs: the model takes 2 input array\(s\) \(p, q\), got 1/);
      const three = array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], { dtype: 'DOUBLE' });
      const one = array([[1, 2]], { dtype: 'DOUBLE' });
      await assert.rejects(pi.outputs(three, one), /same number .* of examples along axis 0; input 1 has shape \[1, 2\], input 0 \[3, 3\]/);
      three.close();
      one.close();
    } finally {
      await pi.close();
    }
  }
  for (const r of requests) for (const a of r) a.close();
  graph.close();
});

test('a one-input, one-output ComputationGraph answers output(x); updateModel switches between a network and a graph', async () => {
  const net = new MultiLayerNetwork(conf).init();
  const graph = new ComputationGraph({
    seed: 3, dataType: 'DOUBLE', inputs: ['in'], inputTypes: [{ type: 'feedForward', size: N_IN }], outputs: ['out'],
    vertices: {
      h: { layer: { type: 'dense', nOut: 5, activation: 'relu' }, inputs: ['in'] },
      out: { layer: { type: 'output', nOut: N_OUT, activation: 'softmax', lossFunction: 'MCXENT' }, inputs: ['h'] },
    },
  }).init();
  const xs = inputs(11, 12).map((x) => array(x, { dtype: 'DOUBLE' }));
  const pi = new ParallelInference(graph, { workers: 2, batchLimit: 6 });
  try {
    const check = async (expected: (x: NDArray) => NDArray): Promise<void> => {
      const outs = await Promise.all(xs.map((x) => pi.output(x)));
      outs.forEach((o, i) => {
        const e = expected(xs[i]!);
        assertClose(o.toFlatArray(), e.toFlatArray(), { rtol: 1e-14, atol: 0, message: `request ${i}` });
        e.close();
        o.close();
      });
    };
    await check((x) => graph.outputSingle(x));
    await pi.updateModel(net);
    await check((x) => net.output(x));
    const [single] = await pi.outputs(xs[0]!);
    const e = net.output(xs[0]!);
    assertClose(single!.toFlatArray(), e.toFlatArray(), { rtol: 1e-14, atol: 0 });
    single!.close();
    e.close();
    await pi.updateModel(graph);
    await check((x) => graph.outputSingle(x));
  } finally {
    await pi.close();
  }
  for (const x of xs) x.close();
  net.close();
  graph.close();
});
