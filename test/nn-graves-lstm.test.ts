// GravesLSTM (LSTM with DL4J's peephole connections) and GravesBidirectionalLSTM: parameter layout,
// forward values against float64 JS loops (masks, reverse direction), exact agreement with LSTM when
// the peephole weights are zero, gradients against central differences, rnnTimeStep, errors,
// serialization, training and memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MultiLayerNetwork, DataSet, array, scope, noGrad, gradCheck, serializeModel, deserializeModel, configurationFromJSON, configurationToJSON,
  lstmCell, type NeuralNetConfiguration, type LayerConfig, type NDArray,
} from '../src/index.js';
import { Rng, assertClose, assertFlatOverFit } from './helpers.js';
import { checkParamGradients, flatParams, randomizeParams, seqArray, type Seq } from './sequence-helpers.js';

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
const ACT: Record<string, (v: number) => number> = { tanh: Math.tanh, sigmoid, softsign: (v) => v / (1 + Math.abs(v)) };
const tol = { rtol: 1e-10, atol: 1e-12 };

function randomSeq(rng: Rng, n: number, c: number, t: number): Seq {
  return Array.from({ length: n }, () => Array.from({ length: c }, () => Array.from({ length: t }, () => rng.uniform(-1, 1))));
}

interface GravesParams { W: number[]; RW: number[]; b: number[] }

/**
 * One direction of a GravesLSTM in float64, written from DL4J's equations: blocks (a, f, o, g) of
 * z = x W + h RW[:, :4H] + b; peepholes RW[:, 4H] (forget, c_{t-1}), RW[:, 4H+1] (output, c_t),
 * RW[:, 4H+2] (input modulation, c_{t-1}); masked steps zero output and state.
 */
function refGraves(x: Seq, p: GravesParams, nOut: number, opts: { act?: string; gate?: string; mask?: number[][]; reverse?: boolean } = {}): Seq {
  const act = ACT[opts.act ?? 'tanh']!;
  const gate = ACT[opts.gate ?? 'sigmoid']!;
  const H = nOut;
  const rwWidth = 4 * H + 3;
  const peep = (k: number, i: number): number => p.RW[i * rwWidth + 4 * H + k]!;
  return x.map((ex, n) => {
    const t = ex[0]!.length;
    const out = Array.from({ length: H }, () => new Array<number>(t).fill(0));
    let h = new Array<number>(H).fill(0);
    let c = new Array<number>(H).fill(0);
    for (let k = 0; k < t; k++) {
      const s = opts.reverse ? t - 1 - k : k;
      const z = Array.from({ length: 4 * H }, (_, j) => {
        let v = p.b[j]!;
        for (let i = 0; i < ex.length; i++) v += ex[i]![s]! * p.W[i * 4 * H + j]!;
        for (let i = 0; i < H; i++) v += h[i]! * p.RW[i * rwWidth + j]!;
        return v;
      });
      const cPrev = c;
      c = cPrev.map((cp, j) => {
        const f = gate(z[H + j]! + cp * peep(0, j));
        const g = gate(z[3 * H + j]! + cp * peep(2, j));
        return f * cp + g * act(z[j]!);
      });
      h = c.map((cv, j) => gate(z[2 * H + j]! + cv * peep(1, j)) * act(cv));
      const m = opts.mask ? opts.mask[n]![s]! : 1;
      h = h.map((v) => v * m);
      c = c.map((v) => v * m);
      h.forEach((v, j) => (out[j]![s] = v));
    }
    return out;
  });
}

const params = (net: MultiLayerNetwork, layer: number, suffix = ''): GravesParams =>
  ({ W: flatParams(net, `${layer}_W${suffix}`), RW: flatParams(net, `${layer}_RW${suffix}`), b: flatParams(net, `${layer}_b${suffix}`) });
const outputLayer = (nOut = 2): LayerConfig => ({ type: 'rnnOutput', nOut, activation: 'softmax', lossFunction: 'MCXENT' });
const net = (layers: LayerConfig[], size = 2, seed = 7): MultiLayerNetwork =>
  new MultiLayerNetwork({ seed, dataType: 'DOUBLE', inputType: { type: 'recurrent', size }, layers }).init();

test('GravesLSTM: DL4J parameter layout (RW with 3 peephole columns) and forward values match a float64 loop, masked too', () => {
  const rng = new Rng(1);
  const x = randomSeq(rng, 3, 2, 5);
  const mask = [[1, 1, 1, 0, 0], [1, 1, 0, 1, 1], [0, 1, 1, 1, 1]];
  for (const [gate, act, forget] of [['sigmoid', 'tanh', undefined], ['tanh', 'softsign', 2.5]] as const) {
    const n = net([{ type: 'gravesLstm', nOut: 3, gateActivationFunction: gate, activation: act, ...(forget !== undefined ? { forgetGateBiasInit: forget } : {}) }, outputLayer()]);
    const table = n.paramTable();
    assert.deepEqual([...table.keys()], ['0_W', '0_RW', '0_b', '1_W', '1_b']);
    assert.deepEqual(table.get('0_W')!.shape, [2, 12]);
    assert.deepEqual(table.get('0_RW')!.shape, [3, 15]);
    const f = forget ?? 1;
    assert.deepEqual(flatParams(n, '0_b'), [0, 0, 0, f, f, f, 0, 0, 0, 0, 0, 0]);
    // The peephole columns are drawn with the rest of RW, not left at zero.
    assert.ok(flatParams(n, '0_RW').filter((_, i) => i % 15 >= 12).every((v) => v !== 0));
    randomizeParams(n, rng);
    for (const m of [undefined, mask]) {
      const acts = n.feedForward(seqArray(x), false, m ? array(m, { dtype: 'DOUBLE' }) : null);
      assert.deepEqual(acts[1]!.shape, [3, 3, 5]);
      assertClose(acts[1]!.toFlatArray(), refGraves(x, params(n, 0), 3, { gate, act, ...(m ? { mask: m } : {}) }).flat(2), tol);
      for (const a of acts) a.close();
    }
    assert.equal(n.summary().includes('GravesLSTM'), true);
    n.close();
  }
});

test('GravesBidirectionalLSTM: params WF, RWF, bF, WB, RWB, bB; the output is forward + backward GravesLSTM, masked too', () => {
  const rng = new Rng(2);
  const x = randomSeq(rng, 2, 2, 5);
  const mask = [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]];
  const n = net([{ type: 'gravesBidirectionalLstm', nOut: 3, forgetGateBiasInit: 0.5 }, outputLayer()]);
  const table = n.paramTable();
  assert.deepEqual([...table.keys()], ['0_WF', '0_RWF', '0_bF', '0_WB', '0_RWB', '0_bB', '1_W', '1_b']);
  assert.deepEqual(table.get('0_RWB')!.shape, [3, 15]);
  assert.deepEqual(table.get('1_W')!.shape, [3, 2]);
  assert.deepEqual(flatParams(n, '0_bB'), [0, 0, 0, 0.5, 0.5, 0.5, 0, 0, 0, 0, 0, 0]);
  // The two directions are drawn independently.
  assert.notDeepEqual(flatParams(n, '0_WF'), flatParams(n, '0_WB'));
  randomizeParams(n, rng);
  for (const m of [undefined, mask]) {
    const o = m ? { mask: m } : {};
    const fwd = refGraves(x, params(n, 0, 'F'), 3, o).flat(2);
    const bwd = refGraves(x, params(n, 0, 'B'), 3, { ...o, reverse: true }).flat(2);
    const acts = n.feedForward(seqArray(x), false, m ? array(m, { dtype: 'DOUBLE' }) : null);
    assert.deepEqual(acts[1]!.shape, [2, 3, 5]);
    assertClose(acts[1]!.toFlatArray(), fwd.map((v, i) => v + bwd[i]!), tol);
    for (const a of acts) a.close();
  }
  assert.equal(n.summary().includes('GravesBidirectionalLSTM'), true);
  n.close();
});

test('a GravesLSTM with zero peephole weights equals the LSTM with the same W, RW and b exactly (and bidirectionally)', () => {
  const rng = new Rng(3);
  const x = seqArray(randomSeq(rng, 3, 2, 6));
  const mask = array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 0, 1, 1, 1, 0]], { dtype: 'DOUBLE' });
  const pairs: [LayerConfig, LayerConfig, [string, string][]][] = [
    [{ type: 'lstm', nOut: 3 }, { type: 'gravesLstm', nOut: 3 }, [['', '']]],
    [{ type: 'bidirectional', mode: 'ADD', layer: { type: 'lstm', nOut: 3 } }, { type: 'gravesBidirectionalLstm', nOut: 3 }, [['f', 'F'], ['b', 'B']]],
  ];
  for (const [lstmConf, gravesConf, keys] of pairs) {
    const lstm = net([lstmConf, outputLayer()]);
    const graves = net([gravesConf, outputLayer()], 2, 99);
    randomizeParams(lstm, rng);
    for (const [from, to] of keys) {
      // The Bidirectional wrapper prefixes its keys ('fW'); GravesBidirectionalLSTM suffixes them ('WF').
      const rename = (k: string): string => (from ? `${from}${k}` : k);
      const W = flatParams(lstm, `0_${rename('W')}`);
      const RW = flatParams(lstm, `0_${rename('RW')}`);
      const b = flatParams(lstm, `0_${rename('b')}`);
      const t = graves.paramTable();
      scope(() => noGrad(() => {
        t.get(`0_W${to}`)!.assign(array(W, { dtype: 'DOUBLE' }).reshape([2, 12]));
        t.get(`0_RW${to}`)!.assign(array(Array.from({ length: 3 }, (_, i) => [...RW.slice(i * 12, (i + 1) * 12), 0, 0, 0]), { dtype: 'DOUBLE' }));
        t.get(`0_b${to}`)!.assign(array(b, { dtype: 'DOUBLE' }));
      }));
    }
    scope(() => noGrad(() => {
      graves.paramTable().get('1_W')!.assign(lstm.paramTable().get('1_W')!);
      graves.paramTable().get('1_b')!.assign(lstm.paramTable().get('1_b')!);
    }));
    for (const m of [null, mask]) {
      const a = lstm.feedForward(x, false, m);
      const g = graves.feedForward(x, false, m);
      assert.deepEqual(g[1]!.toFlatArray(), a[1]!.toFlatArray());
      assert.deepEqual(g[2]!.toFlatArray(), a[2]!.toFlatArray());
      for (const v of [...a, ...g]) v.close();
    }
    lstm.close();
    graves.close();
  }
  x.close();
  mask.close();
});

/** Sequences of different lengths, right-padded with large values and masked, with one-hot labels per step. */
function paddedBatch(rng: Rng, lengths: readonly number[], t: number, classes: number): { x: Seq; y: Seq; mask: number[][] } {
  const x = randomSeq(rng, lengths.length, 2, t).map((ex, n) => ex.map((ch) => ch.map((v, s) => (s < lengths[n]! ? v : 10 * v + 3))));
  const y = lengths.map(() => {
    const hot = Array.from({ length: t }, () => rng.int(0, classes));
    return Array.from({ length: classes }, (_, j) => hot.map((k) => (k === j ? 1 : 0)));
  });
  return { x, y, mask: lengths.map((len) => Array.from({ length: t }, (_, s) => (s < len ? 1 : 0))) };
}

test('gradients w.r.t. every parameter (peepholes included) and the input match central differences, with and without masks (DOUBLE)', () => {
  const rng = new Rng(4);
  const confs: NeuralNetConfiguration[] = [
    {
      seed: 5, dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 2 }, l2: 0.01,
      layers: [
        { type: 'gravesLstm', nOut: 3, gateActivationFunction: 'tanh', activation: 'softsign' },
        { type: 'gravesBidirectionalLstm', nOut: 2 },
        outputLayer(3),
      ],
    },
    {
      seed: 6, dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 2 },
      layers: [
        { type: 'bidirectional', mode: 'CONCAT', layer: { type: 'gravesLstm', nOut: 2 } },
        { type: 'lastTimeStep', layer: { type: 'gravesLstm', nOut: 3 } },
        { type: 'output', nOut: 3, activation: 'softmax', lossFunction: 'MCXENT' },
      ],
    },
  ];
  for (const conf of confs) {
    const n = new MultiLayerNetwork(conf).init();
    randomizeParams(n, rng);
    const ff = conf.layers[conf.layers.length - 1]!.type === 'output';
    for (const masked of [false, true]) {
      const { x, y, mask } = paddedBatch(rng, masked ? [4, 2, 3] : [4, 4, 4], 4, 3);
      const labels = ff ? array(y.map((ex) => ex.map((ch) => ch[0]!)), { dtype: 'DOUBLE' }) : seqArray(y);
      const m = masked ? array(mask, { dtype: 'DOUBLE' }) : null;
      const ds = new DataSet(seqArray(x), labels, m, ff ? null : m?.dup());
      checkParamGradients(n, ds);
      // The peephole columns themselves reach the score.
      n.computeGradientAndScore(ds);
      for (const [key, g] of n.gradient()) {
        if (!/RW/.test(key)) continue;
        const width = g.shape[1]!;
        const peep = g.toFlatArray().filter((_, i) => i % width >= width - 3);
        assert.ok(peep.some((v) => Math.abs(v) > 1e-8), `${key}: zero peephole gradient`);
      }
      const r = gradCheck((f) => n.computeScore(new DataSet(f, ds.labels, ds.featuresMask, ds.labelsMask)), [ds.features]);
      assert.ok(r.passed, `input gradient: max relative error ${r.maxRelError} at ${JSON.stringify(r.worst)}`);
      ds.close();
    }
    n.close();
  }
});

test('GravesLSTM rnnTimeStep: steps one by one equal the full-sequence output; GravesBidirectionalLSTM refuses, naming the layer', () => {
  const rng = new Rng(5);
  const x = randomSeq(rng, 2, 2, 6);
  const n = net([{ type: 'gravesLstm', nOut: 3 }, { type: 'gravesLstm', nOut: 2 }, outputLayer(2)]);
  randomizeParams(n, rng);
  const full = n.output(seqArray(x));
  const vals = full.toFlatArray();
  for (let s = 0; s < 6; s++) {
    const step = n.rnnTimeStep(array(x.map((ex) => ex.map((ch) => ch[s]!)), { dtype: 'DOUBLE' }));
    assertClose(step.toFlatArray(), [0, 1].flatMap((e) => [0, 1].map((j) => vals[(e * 2 + j) * 6 + s]!)), { ...tol, message: `step ${s}` });
    step.close();
  }
  full.close();
  n.close();
  const bi = net([{ type: 'gravesBidirectionalLstm', nOut: 2, name: 'gbl' }, outputLayer()]);
  assert.throws(() => bi.rnnTimeStep(array([[0.1, 0.2]], { dtype: 'DOUBLE' })), /layer 0 \(gravesBidirectionalLstm 'gbl'\): rnnTimeStep is not possible/);
  bi.close();
});

test('configuration errors name the layer; nIn is inferred; truncated BPTT takes GravesLSTM and refuses GravesBidirectionalLSTM', () => {
  const build = (layers: LayerConfig[], extra: Partial<NeuralNetConfiguration> = {}): MultiLayerNetwork =>
    new MultiLayerNetwork({ inputType: { type: 'recurrent', size: 4 }, layers, ...extra });
  assert.throws(() => build([{ type: 'gravesLstm', nOut: 3, hasBias: false }, outputLayer()]).init(), /layer 0 \(gravesLstm\): hasBias cannot be false/);
  assert.throws(() => build([{ type: 'dense', nOut: 3 }, { type: 'gravesBidirectionalLstm', nOut: 3, forgetGateBiasInit: Number.NaN }, outputLayer()]).init(),
    /layer 1 \(gravesBidirectionalLstm\): forgetGateBiasInit must be a finite number/);
  assert.throws(() => build([{ type: 'gravesLstm', nIn: 5, nOut: 3 }, outputLayer()]).init(), /layer 0 \(gravesLstm\): nIn 5 does not match the input's size 4/);
  assert.throws(() => new MultiLayerNetwork({ inputType: { type: 'convolutional', height: 4, width: 4, channels: 1 }, layers: [{ type: 'gravesBidirectionalLstm', nOut: 2 }, outputLayer()] }).init(),
    /layer 0 \(gravesBidirectionalLstm\): .*needs recurrent input/);
  const ok = build([{ type: 'gravesBidirectionalLstm', nOut: 3 }, outputLayer()]).init();
  assert.deepEqual(ok.paramTable().get('0_WB')!.shape, [4, 12]);
  ok.close();
  const tbptt = build([{ type: 'gravesLstm', nOut: 3 }, outputLayer()], { backpropType: 'TruncatedBPTT', tbpttFwdLength: 3 }).init();
  tbptt.close();
  assert.throws(() => build([{ type: 'gravesBidirectionalLstm', nOut: 3 }, outputLayer()], { backpropType: 'TruncatedBPTT' }).init(), /gravesBidirectionalLstm.*not possible with a bidirectional layer/);
  // The cell op checks the peephole weights it is given.
  scope(() => {
    const z = array(new Array<number>(8).fill(0.1), { dtype: 'DOUBLE' }).reshape([1, 8]);
    const p = (k: number): NDArray => array(new Array<number>(k).fill(0), { dtype: 'DOUBLE' });
    assert.throws(() => lstmCell(z, null, { activation: 'tanh', gateActivation: 'sigmoid', peepholes: { forget: p(2), output: p(3), input: p(2) } }),
      /lstmCell: expected the output peephole weights of shape \[2\] and dtype DOUBLE/);
  });
});

test('JSON and ModelSerializer round trips of GravesLSTM / GravesBidirectionalLSTM networks give identical outputs and training', () => {
  const rng = new Rng(6);
  const conf: NeuralNetConfiguration = {
    seed: 8, dataType: 'DOUBLE', updater: { type: 'adam', learningRate: 0.01 }, inputType: { type: 'recurrent', size: 2 },
    layers: [{ type: 'gravesLstm', nOut: 3, forgetGateBiasInit: 0.7 }, { type: 'gravesBidirectionalLstm', nOut: 2, gateActivationFunction: 'hardsigmoid' }, outputLayer(3)],
  };
  const json = configurationToJSON(conf);
  assert.deepEqual(configurationFromJSON(json), conf);
  const n = new MultiLayerNetwork(configurationFromJSON(json)).init();
  const { x, y, mask } = paddedBatch(rng, [5, 3], 5, 3);
  const ds = new DataSet(seqArray(x), seqArray(y), array(mask, { dtype: 'DOUBLE' }), array(mask, { dtype: 'DOUBLE' }));
  n.fit(ds, 2);
  const expected = n.output(ds.features, false, ds.featuresMask);
  const restored = deserializeModel(serializeModel(n), 'memory').network;
  assert.deepEqual([...restored.paramTable().keys()], [...n.paramTable().keys()]);
  const o = restored.output(ds.features, false, ds.featuresMask);
  assert.deepEqual(o.toFlatArray(), expected.toFlatArray());
  const a = n.clone();
  a.fit(ds, 1);
  restored.fit(ds, 1);
  assertClose(scope(() => restored.params().toFlatArray()), scope(() => a.params().toFlatArray()), tol);
  for (const v of [o, expected, ds, a, restored, n]) v.close();
});

/** Sequences of 8 values in [-1, 1]; label: whether the FIRST value is positive (to be remembered over the sequence). */
function firstSignTask(rng: Rng, n: number): { x: Seq; labels: number[][] } {
  const x = Array.from({ length: n }, () => [Array.from({ length: 8 }, () => rng.uniform(-1, 1))]);
  return { x, labels: x.map((ex) => (ex[0]![0]! > 0 ? [0, 1] : [1, 0])) };
}

test('GravesLSTM (LastTimeStep) and GravesBidirectionalLSTM (per step) learn to remember the first value\'s sign (> 90%)', () => {
  const rng = new Rng(7);
  const train = firstSignTask(rng, 200);
  const testSet = firstSignTask(rng, 200);
  const perStep = (labels: number[][]): number[][][] => labels.map((l) => l.map((v) => new Array<number>(8).fill(v)));
  for (const bidirectional of [false, true]) {
    const n = new MultiLayerNetwork({
      seed: 3, updater: { type: 'adam', learningRate: 0.03 }, inputType: { type: 'recurrent', size: 1 },
      layers: bidirectional
        ? [{ type: 'gravesBidirectionalLstm', nOut: 6 }, outputLayer(2)]
        : [{ type: 'lastTimeStep', layer: { type: 'gravesLstm', nOut: 6 } }, { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }],
    }).init();
    const labels = bidirectional ? seqArray(perStep(train.labels), 'FLOAT') : array(train.labels, { dtype: 'FLOAT' });
    const ds = new DataSet(seqArray(train.x, 'FLOAT'), labels);
    n.fit(ds, 80);
    const out = n.output(seqArray(testSet.x, 'FLOAT')).toFlatArray();
    // Per step: every step of every sequence must carry the first value's sign.
    const predictions = bidirectional
      ? testSet.labels.flatMap((_, i) => Array.from({ length: 8 }, (_, s) => (out[(2 * i + 1) * 8 + s]! > out[2 * i * 8 + s]! ? 1 : 0)))
      : testSet.labels.map((_, i) => (out[2 * i + 1]! > out[2 * i]! ? 1 : 0));
    const truth = bidirectional ? testSet.labels.flatMap((l) => new Array<number>(8).fill(l[1]!)) : testSet.labels.map((l) => l[1]!);
    const accuracy = predictions.filter((p, i) => p === truth[i]).length / truth.length;
    assert.ok(accuracy > 0.9, `${bidirectional ? 'GravesBidirectionalLSTM' : 'GravesLSTM'}: accuracy ${accuracy}`);
    ds.close();
    n.close();
  }
});

test('memory stays flat over GravesLSTM / GravesBidirectionalLSTM training steps (masked)', () => {
  const rng = new Rng(8);
  const { x, y, mask } = paddedBatch(rng, [6, 4, 2, 5], 6, 3);
  const n = new MultiLayerNetwork({
    seed: 2, dataType: 'FLOAT', updater: { type: 'adam', learningRate: 0.01 }, inputType: { type: 'recurrent', size: 2 },
    layers: [{ type: 'gravesLstm', nOut: 3 }, { type: 'gravesBidirectionalLstm', nOut: 2 }, outputLayer(3)],
  }).init();
  const m = array(mask, { dtype: 'FLOAT' });
  const ds = new DataSet(seqArray(x, 'FLOAT'), seqArray(y, 'FLOAT'), m, m.dup());
  assertFlatOverFit(n, ds);
  ds.close();
  n.close();
});
