/**
 * HALF and BFLOAT16 networks: trained through FLOAT master weights they reach the accuracy of the
 * same FLOAT network on the bundled MNIST digits (MLP and a small CNN, Adam and SGD); the masters are
 * FLOAT, keep updates the 16-bit parameters round away, and the parameters are their rounding;
 * setParams re-derives them; a serialized or cloned network continues training bit for bit; memory
 * stays flat.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ComputationGraph, MultiLayerNetwork, array, deserializeModel, memoryReport, scope, serializeModel,
  type DataSet, type LayerConfig, type NDArray,
} from '../src/index.js';
import { Rng, assertFlatOverFit } from './helpers.js';
import { ADAM, CNN, HALF_ULP, HALVES, MLP, MLP_CASES, assertSameAccuracy, batches, conf, masters, paramValues } from './half-fixture.js';

describe('16-bit networks reach FLOAT accuracy on MNIST', () => {
  for (const [name, updater, floor] of MLP_CASES) {
    test(`MLP 784-64-10, ${name}, 3,000 digits x 2 epochs: HALF and BFLOAT16 within 2 points of FLOAT`, () => {
      assertSameAccuracy(`MLP ${name}`, updater, floor, MLP, 3000, 2);
    });
  }

  test('CNN (conv 5x5x8, max pool, softmax), Adam, 1,500 digits x 1 epoch: HALF and BFLOAT16 within 2 points of FLOAT', () => {
    assertSameAccuracy('CNN Adam', ADAM, 0.7, CNN, 1500, 1);
  });
});

describe('master weights', () => {
  for (const dt of HALVES) {
    test(`${dt}, SGD: one step moves the FLOAT master by -lr * gradient, including the steps the 16-bit parameter rounds away`, () => {
      const lr = 1e-3;
      const net = new MultiLayerNetwork(conf(dt, { type: 'sgd', learningRate: lr })).init();
      const [ds] = batches(1) as [DataSet];
      const before = paramValues(net);
      const initial = masters(net);
      assert.equal(initial.size, before.length, 'every trained parameter has a master before training');
      initial.forEach((m, k) => assert.deepEqual(m.values, before[k], `master ${k} starts at the parameter`));
      net.computeGradientAndScore(ds);
      const grads = [...net.gradient().values()].map((g) => g.toFlatArray());
      net.fit(ds);
      const after = paramValues(net);
      const ms = masters(net);
      let lost = 0;
      let kept = 0;
      ms.forEach((m, k) => {
        assert.equal(m.dtype, 'FLOAT');
        m.values.forEach((v, i) => {
          const p0 = before[k]![i]!;
          const step = lr * grads[k]![i]!;
          // The master is p0 - lr g in float32 (two roundings of at most 2^-24 relative each).
          assert.ok(Math.abs(v - (p0 - step)) <= 2 ** -22 * (Math.abs(p0) + Math.abs(step)) + 1e-30, `${dt} master ${k}[${i}] = ${v}, expected ${p0 - step}`);
          // The parameter is the master rounded to 16 bits.
          const p = after[k]![i]!;
          assert.ok(Math.abs(p - v) <= HALF_ULP[dt] * Math.abs(v) + 2 ** -25, `${dt} parameter ${k}[${i}] = ${p}, master ${v}`);
          if (step !== 0 && Math.abs(step) < HALF_ULP[dt] * Math.abs(p0) * 0.5) {
            lost++;
            if (v !== p0) kept++;
          }
        });
      });
      // Many steps are below the 16-bit spacing; the master keeps them (a 16-bit-only update would not).
      assert.ok(lost > 100, `${lost} sub-spacing steps`);
      assert.ok(kept > lost * 0.5, `${kept} of ${lost} sub-spacing steps kept by the masters`);
      ds.close();
      net.close();
    });
  }

  test('HALF, Adam: masters and updater state are FLOAT, the parameters stay HALF and equal the rounded masters', () => {
    const net = new MultiLayerNetwork(conf('HALF', ADAM)).init();
    const data = batches(3);
    for (const ds of data) net.fit(ds);
    for (const a of net.paramTable().values()) assert.equal(a.dtype, 'HALF');
    const state = net.updaterState();
    const keys = Object.keys(state).sort();
    assert.deepEqual(keys, ['0/M', '0/MASTER', '0/V', '1/M', '1/MASTER', '1/V', '2/M', '2/MASTER', '2/V', '3/M', '3/MASTER', '3/V']);
    for (const k of keys) assert.equal(state[k]!.dtype, 'FLOAT', k);
    const ps = paramValues(net);
    masters(net).forEach((m, k) => m.values.forEach((v, i) => assert.ok(Math.abs(ps[k]![i]! - v) <= HALF_ULP.HALF * Math.abs(v) + 2 ** -25, `param ${k}[${i}]`)));
    for (const ds of data) ds.close();
    net.close();
  });

  test('a FLOAT network keeps no masters and refuses master state', () => {
    const net = new MultiLayerNetwork(conf('FLOAT', ADAM)).init();
    const [ds] = batches(1) as [DataSet];
    net.fit(ds);
    assert.deepEqual(Object.keys(net.updaterState()).filter((k) => k.endsWith('/MASTER')), []);
    const m = array([0], { dtype: 'FLOAT' });
    assert.throws(() => net.setUpdaterState({ '0/MASTER': m }), /MultiLayerNetwork\.setUpdaterState: '0\/MASTER' holds master weights, but this FLOAT network keeps none/);
    m.close();
    ds.close();
    net.close();
  });

  test('16-bit updater state (saved without masters) is restored as FLOAT and training goes on from it', () => {
    const [ds] = batches(1) as [DataSet];
    const src = new MultiLayerNetwork(conf('HALF', ADAM)).init();
    src.fit(ds, 2);
    const half: Record<string, NDArray> = {};
    for (const [k, a] of Object.entries(src.updaterState())) if (!k.endsWith('/MASTER')) half[k] = a.castTo('HALF');
    const dst = new MultiLayerNetwork(conf('HALF', ADAM)).init();
    dst.setUpdaterState(half);
    const state = dst.updaterState();
    for (const [k, a] of Object.entries(half)) {
      assert.equal(state[k]!.dtype, 'FLOAT', k);
      assert.deepEqual(state[k]!.toFlatArray(), a.toFlatArray(), k);
    }
    dst.fit(ds);
    assert.ok(Number.isFinite(dst.score()));
    for (const a of Object.values(half)) a.close();
    for (const n of [src, dst]) n.close();
    ds.close();
  });

  test('setParams re-derives the masters from the new 16-bit values', () => {
    const net = new MultiLayerNetwork(conf('BFLOAT16', ADAM)).init();
    const [ds] = batches(1) as [DataSet];
    net.fit(ds);
    const rng = new Rng(5);
    scope(() => net.setParams(array(Array.from({ length: net.numParams() }, () => rng.uniform(-0.1, 0.1)), { dtype: 'FLOAT' })));
    const ps = paramValues(net);
    const ms = masters(net);
    assert.equal(ms.size, ps.length);
    ms.forEach((m, k) => assert.deepEqual(m.values, ps[k], `master ${k}`));
    ds.close();
    net.close();
  });
});

test('BFLOAT16: a ComputationGraph trains exactly as the MultiLayerNetwork; mixed updaters, weight decay, l2, and no masters for batch-norm statistics', () => {
  const common = { seed: 5, dataType: 'BFLOAT16', updater: { type: 'adam', learningRate: 1e-3 }, l2: 1e-3, weightDecay: 1e-3 } as const;
  const layers: LayerConfig[] = [
    { type: 'dense', nOut: 32, activation: 'relu' },
    { type: 'dense', nOut: 16, activation: 'tanh', updater: { type: 'nesterovs', learningRate: 0.01 } },
    { type: 'batchNormalization' },
    { type: 'output', nOut: 10, activation: 'softmax', lossFunction: 'MCXENT' },
  ];
  const mln = new MultiLayerNetwork({ ...common, inputType: { type: 'feedForward', size: 784 }, layers }).init();
  const names = layers.map((_, i) => `l${i}`);
  const g = new ComputationGraph({
    ...common, inputs: ['in'], inputTypes: [{ type: 'feedForward', size: 784 }], outputs: [names[3]!],
    vertices: Object.fromEntries(layers.map((layer, i) => [names[i]!, { layer, inputs: [i === 0 ? 'in' : names[i - 1]!] }])),
  }).init();
  const data = batches(4);
  for (const ds of data) {
    mln.fit(ds);
    g.fit(ds);
  }
  const keys = [...mln.paramTable().keys()];
  const trained = keys.flatMap((k, i) => (/_(mean|var)$/.test(k) ? [] : [i]));
  assert.equal(trained.length, keys.length - 2);
  const mm = masters(mln);
  assert.deepEqual([...mm.keys()].sort((a, b) => a - b), trained, 'masters for the trained parameters only');
  for (const m of mm.values()) assert.equal(m.dtype, 'FLOAT');
  assert.deepEqual(paramValues(g), paramValues(mln));
  const [us, um] = [g.updaterState(), mln.updaterState()];
  assert.deepEqual(Object.keys(us).sort(), Object.keys(um).sort());
  for (const k of Object.keys(um)) assert.deepEqual(us[k]!.toFlatArray(), um[k]!.toFlatArray(), k);
  // Nesterovs' velocity is FLOAT too, and the weight-decayed masters still round to the parameters.
  assert.equal(um[`${keys.indexOf('1_W')}/V`]!.dtype, 'FLOAT');
  const ps = paramValues(mln);
  mm.forEach((m, k) => m.values.forEach((v, i) => assert.ok(Math.abs(ps[k]![i]! - v) <= HALF_ULP.BFLOAT16 * Math.abs(v), `param ${keys[k]}[${i}]`)));
  for (const ds of data) ds.close();
  g.close();
  mln.close();
});

describe('16-bit training continues exactly after saving and cloning', () => {
  for (const dt of HALVES) {
    test(`${dt}, Adam: a restored network and a clone train on exactly like the original`, () => {
      const net = new MultiLayerNetwork(conf(dt, ADAM)).init();
      const data = batches(6);
      for (const ds of data.slice(0, 3)) net.fit(ds);
      const bytes = serializeModel(net);
      const restored = deserializeModel(bytes, 'in memory').network;
      const clone = net.clone();
      const stale = deserializeModel(bytes, 'in memory', { loadUpdater: false }).network;
      // Without the saved state the masters are the 16-bit parameters; the original's carry more bits.
      const staleMasters = masters(stale);
      paramValues(stale).forEach((p, k) => assert.deepEqual(staleMasters.get(k)!.values, p, `re-derived master ${k}`));
      const origMasters = masters(net);
      assert.ok([...origMasters].some(([k, m]) => m.values.some((v, i) => v !== staleMasters.get(k)!.values[i])), 'masters differ from the 16-bit parameters');
      for (const ds of data.slice(3)) for (const n of [net, restored, clone]) n.fit(ds);
      const want = paramValues(net);
      const wantMasters = masters(net);
      for (const [name, n] of [['restored', restored], ['clone', clone]] as const) {
        assert.deepEqual(paramValues(n), want, `${name} parameters`);
        assert.deepEqual(masters(n), wantMasters, `${name} masters`);
        assert.equal(n.iterationCount, net.iterationCount);
      }
      for (const n of [net, restored, clone, stale]) n.close();
      for (const ds of data) ds.close();
    });
  }
});

test('HALF, Adam: arrays and bytes stay flat over 40 steps and close() frees the masters', () => {
  const [ds] = batches(1) as [DataSet];
  const base = memoryReport().totalBytes;
  const net = new MultiLayerNetwork(conf('HALF', ADAM)).init();
  const a = assertFlatOverFit(net, ds);
  // Masters (4 bytes) + Adam's M and V (4 + 4) + the HALF parameters (2): 14 bytes per value at least.
  assert.ok(a.totalBytes - base >= 14 * net.numParams(), `${a.totalBytes - base} bytes for ${net.numParams()} parameters`);
  net.close();
  assert.equal(memoryReport().totalBytes, base);
  ds.close();
});
