// DL4J's IDropout choices on a layer's dropOut and on the dropout layer: noise statistics over many
// samples, identity at inference, reproducibility from setSeed, gradients through the mask
// (central differences with the noise replayed from the seed), validation and JSON round trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MultiLayerNetwork, DataSet, array, scope, noGrad, gradCheck, setSeed, randn, sum,
  applyDropOutSpec, alphaDropoutConstants, SELU_ALPHA, SELU_LAMBDA, serializeModel, deserializeModel,
  configurationToJSON, configurationFromJSON,
  type DropOutConfig, type DropOutSpec, type NeuralNetConfiguration, type NDArray,
} from '../src/index.js';
import { Rng, assertClose } from './helpers.js';

function moments(v: readonly number[]): { mean: number; variance: number } {
  const mean = v.reduce((a, x) => a + x, 0) / v.length;
  return { mean, variance: v.reduce((a, x) => a + (x - mean) ** 2, 0) / v.length };
}

/** The values of spec applied (as in training) to `x`, drawn after setSeed(seed). */
function noisy(x: NDArray, spec: DropOutConfig, seed: number): number[] {
  setSeed(seed);
  return scope(() => noGrad(() => applyDropOutSpec(x, spec).toFlatArray()));
}

const N = 200_000;

test('dropout and gaussianDropout: multiplicative noise with mean 1 and DL4J variances', () => {
  const ones = array(new Float64Array(N).fill(1), [N], { dtype: 'DOUBLE' });
  for (const spec of [0.7, { type: 'dropout', p: 0.7 }] as const) {
    const y = noisy(ones, spec, 1);
    const zeros = y.filter((v) => v === 0).length;
    // Inverted dropout: 0 with probability 1 - p, else 1 / p.
    assert.ok(Math.abs(zeros / N - 0.3) < 0.005, `dropped fraction ${zeros / N}`);
    assert.ok(y.every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-12));
    const m = moments(y);
    assert.ok(Math.abs(m.mean - 1) < 0.01, `mean ${m.mean}`);
    assert.ok(Math.abs(m.variance - 0.3 / 0.7) < 0.01, `variance ${m.variance}`);
  }
  for (const rate of [0.2, 0.5]) {
    const m = moments(noisy(ones, { type: 'gaussianDropout', rate }, 2));
    // N(1, rate / (1 - rate)): DL4J's stdev sqrt(rate / (1 - rate)).
    assert.ok(Math.abs(m.mean - 1) < 0.01, `mean ${m.mean}`);
    assert.ok(Math.abs(m.variance - rate / (1 - rate)) < 0.02 * (rate / (1 - rate)), `variance ${m.variance} vs ${rate / (1 - rate)}`);
  }
  ones.close();
});

test('gaussianNoise: additive N(0, stddev^2) independent of the input', () => {
  const rng = new Rng(3);
  const xs = Array.from({ length: N }, () => rng.uniform(-2, 2));
  const x = array(xs, [N], { dtype: 'DOUBLE' });
  const y = noisy(x, { type: 'gaussianNoise', stddev: 0.3 }, 3);
  const m = moments(y.map((v, i) => v - xs[i]!));
  assert.ok(Math.abs(m.mean) < 0.003, `mean ${m.mean}`);
  assert.ok(Math.abs(Math.sqrt(m.variance) - 0.3) < 0.003, `std ${Math.sqrt(m.variance)}`);
  x.close();
});

test("alphaDropout: DL4J's a, b, alpha' constants keep a unit normal input at mean 0 and variance 1", () => {
  // alpha' = -lambda * alpha; a = 1 / sqrt(p + alpha'^2 p (1 - p)); b = -a (1 - p) alpha'.
  const p = 0.8;
  const alphaPrime = -SELU_LAMBDA * SELU_ALPHA;
  const a = 1 / Math.sqrt(p + alphaPrime * alphaPrime * p * (1 - p));
  const b = -a * (1 - p) * alphaPrime;
  const c = alphaDropoutConstants(p);
  assertClose([c.a, c.b, c.alphaPrime], [a, b, alphaPrime], { rtol: 1e-15, atol: 0 });
  assert.equal(SELU_ALPHA, 1.6732632423543772);
  assert.equal(SELU_LAMBDA, 1.0507009873554804);
  const x = randn([N], { dtype: 'DOUBLE', seed: 11 });
  const xs = x.toFlatArray();
  const y = noisy(x, { type: 'alphaDropout', p }, 4);
  const dropped = a * alphaPrime + b;
  let nDropped = 0;
  y.forEach((v, i) => {
    if (Math.abs(v - dropped) < 1e-12) nDropped++;
    else assert.ok(Math.abs(v - (a * xs[i]! + b)) < 1e-12, `kept value ${i}: ${v} vs ${a * xs[i]! + b}`);
  });
  assert.ok(Math.abs(nDropped / N - (1 - p)) < 0.005, `dropped fraction ${nDropped / N}`);
  const m = moments(y);
  assert.ok(Math.abs(m.mean) < 0.01, `mean ${m.mean}`);
  assert.ok(Math.abs(m.variance - 1) < 0.02, `variance ${m.variance}`);
  x.close();
});

const SPECS: readonly (number | DropOutSpec)[] = [
  0.6, { type: 'dropout', p: 0.6 }, { type: 'gaussianDropout', rate: 0.3 }, { type: 'gaussianNoise', stddev: 0.5 }, { type: 'alphaDropout', p: 0.7 },
];

test('gradients flow through the mask/noise: central differences with the noise replayed from the seed', () => {
  const rng = new Rng(5);
  for (const spec of SPECS) {
    scope(() => {
      const x = array(Array.from({ length: 24 }, () => rng.uniform(-1, 1)), [4, 6], { dtype: 'DOUBLE' });
      const r = gradCheck((v) => { setSeed(42); return applyDropOutSpec(v, spec); }, [x]);
      assert.ok(r.passed, `${JSON.stringify(spec)}: max relative error ${r.maxRelError}`);
      // And the gradient really is the mask: zero exactly where a value was dropped, for dropout kinds.
      setSeed(42);
      const leaf = x.share().requireGrad();
      const y = applyDropOutSpec(leaf, spec);
      sum(y).backward();
      const g = leaf.grad!.toFlatArray();
      const yv = y.toFlatArray();
      const xv = x.toFlatArray();
      if (typeof spec === 'number' || spec.type === 'dropout') {
        const p = typeof spec === 'number' ? spec : spec.p;
        g.forEach((gi, i) => assert.ok((gi === 0 && yv[i] === 0) || (Math.abs(gi - 1 / p) < 1e-12 && Math.abs(yv[i]! - xv[i]! / p) < 1e-12), `${gi} at ${i}`));
      }
      if (typeof spec === 'object' && spec.type === 'gaussianNoise') assert.ok(g.every((gi) => gi === 1));
      if (typeof spec === 'object' && spec.type === 'alphaDropout') {
        const { a } = alphaDropoutConstants(spec.p);
        assert.ok(g.every((gi) => gi === 0 || Math.abs(gi - a) < 1e-15) && g.some((gi) => gi === 0) && g.some((gi) => gi !== 0));
      }
    });
  }
});

function denseConf(dropOut: DropOutConfig, layerDropOut?: DropOutConfig): NeuralNetConfiguration {
  return {
    seed: 3, dataType: 'DOUBLE', updater: { type: 'sgd', learningRate: 0.1 }, inputType: { type: 'feedForward', size: 6 },
    layers: [
      { type: 'dense', nOut: 5, activation: 'tanh', dropOut },
      ...(layerDropOut === undefined ? [] : [{ type: 'dropout' as const, dropOut: layerDropOut }]),
      { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT', dropOut },
    ],
  };
}

test('in a network: training only, identity at inference, reproducible from setSeed, different across seeds', () => {
  const rng = new Rng(6);
  const x = array(Array.from({ length: 8 * 6 }, () => rng.uniform(-1, 1)), [8, 6], { dtype: 'DOUBLE' });
  const plain = new MultiLayerNetwork(denseConf(1, 1)).init();
  const reference = scope(() => plain.output(x).toFlatArray());
  for (const spec of SPECS) {
    const net = new MultiLayerNetwork(denseConf(spec, spec)).init();
    // Same seed and no dropout at inference: the same outputs as the network without any.
    assert.deepEqual(scope(() => net.output(x).toFlatArray()), reference, JSON.stringify(spec));
    const train = (seed: number): number[] => { setSeed(seed); return scope(() => net.output(x, true).toFlatArray()); };
    const a = train(9);
    assert.deepEqual(train(9), a, `reproducible ${JSON.stringify(spec)}`);
    assert.notDeepEqual(train(10), a);
    assert.notDeepEqual(a, reference);
    // The noise is part of the trained function: computeGradientAndScore is reproducible too.
    const ds = new DataSet(x, array(Array.from({ length: 8 }, (_, i) => (i % 2 ? [0, 1] : [1, 0])), { dtype: 'DOUBLE' }));
    setSeed(1);
    const s1 = net.computeGradientAndScore(ds);
    const g1 = net.gradient().get('0_W')!.toFlatArray();
    setSeed(1);
    assert.equal(net.computeGradientAndScore(ds), s1);
    assert.deepEqual(net.gradient().get('0_W')!.toFlatArray(), g1);
    assert.ok(g1.some((v) => v !== 0));
    net.close();
  }
  plain.close();
  x.close();
});

test('validation: invalid dropOut values name the layer and the option; plain numbers keep their JSON', () => {
  const bad: [DropOutConfig, RegExp][] = [
    [0, /layer 0 \(dense\): dropOut is DL4J's retain probability and must be in \(0, 1\], got 0/],
    [{ type: 'dropout', p: 1.5 }, /layer 0 \(dense\): dropOut \{ type: 'dropout' \}: p is the retain probability and must be in \(0, 1\], got 1.5/],
    [{ type: 'alphaDropout', p: 0 }, /dropOut \{ type: 'alphaDropout' \}: p is the retain probability/],
    [{ type: 'gaussianDropout', rate: 1 }, /dropOut \{ type: 'gaussianDropout' \}: rate must be in \[0, 1\), got 1/],
    [{ type: 'gaussianNoise', stddev: -1 }, /dropOut \{ type: 'gaussianNoise' \}: stddev must be a finite number >= 0, got -1/],
    [{ type: 'spatialDropout', p: 0.5 } as unknown as DropOutConfig, /unknown dropOut type 'spatialDropout'; expected one of dropout, gaussianDropout, gaussianNoise, alphaDropout/],
    ['0.5' as unknown as DropOutConfig, /dropOut must be a retain probability or \{ type: /],
  ];
  for (const [spec, re] of bad) assert.throws(() => new MultiLayerNetwork(denseConf(spec)), re);
  assert.throws(() => new MultiLayerNetwork(denseConf(1, { type: 'gaussianNoise', stddev: Number.NaN })), /layer 1 \(dropout\): dropOut \{ type: 'gaussianNoise' \}: stddev/);
  const json = configurationToJSON(denseConf(0.8, 0.5));
  assert.match(json, /"dropOut":0\.8/);
  assert.match(json, /"type":"dropout","dropOut":0\.5/);
  // Zero noise is the identity even in training.
  const x = array([[1, -2, 3]], { dtype: 'DOUBLE' });
  for (const spec of [1, { type: 'gaussianDropout', rate: 0 }, { type: 'gaussianNoise', stddev: 0 }, { type: 'alphaDropout', p: 1 }] as const) {
    assert.deepEqual(scope(() => applyDropOutSpec(x, spec).toFlatArray()), [1, -2, 3]);
  }
  x.close();
});

test('JSON and ModelSerializer round trips keep the dropout variants', () => {
  const conf = denseConf({ type: 'alphaDropout', p: 0.9 }, { type: 'gaussianDropout', rate: 0.25 });
  const parsed = configurationFromJSON(configurationToJSON(conf));
  assert.deepEqual(parsed, conf);
  const net = new MultiLayerNetwork(conf).init();
  const restored = deserializeModel(serializeModel(net), 'memory').network;
  assert.deepEqual(restored.conf, net.conf);
  const x = array([[0.1, -0.2, 0.3, 0.4, -0.5, 0.6]], { dtype: 'DOUBLE' });
  const train = (m: MultiLayerNetwork): number[] => { setSeed(5); return scope(() => m.output(x, true).toFlatArray()); };
  assert.deepEqual(train(restored), train(net));
  assert.deepEqual(scope(() => restored.output(x).toFlatArray()), scope(() => net.output(x).toFlatArray()));
  x.close();
  restored.close();
  net.close();
});
