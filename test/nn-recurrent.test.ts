// Recurrent layers of MultiLayerNetwork (NCW: [N, size, T], masks [N, T]): LSTM, SimpleRnn,
// Bidirectional, LastTimeStep and RnnOutputLayer against float64 JS loops; DL4J's masking (padded
// sequences give the unpadded results); gradients against central differences; dense layers per
// time step; rnnTimeStep; configuration inference and errors; training; serialization; memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MultiLayerNetwork, DataSet, ListDataSetIterator, array, scope, gradCheck, memoryReport, serializeModel, deserializeModel, configurationFromJSON, configurationToJSON,
  type NeuralNetConfiguration, type LayerConfig,
} from '../src/index.js';
import { Rng, assertClose, assertFlatOverFit } from './helpers.js';
import { checkParamGradients, flatParams, randomizeParams, seqArray, type Seq } from './sequence-helpers.js';

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
const ACT: Record<string, (v: number) => number> = { tanh: Math.tanh, sigmoid, identity: (v) => v, relu: (v) => Math.max(0, v) };

function randomSeq(rng: Rng, n: number, c: number, t: number): Seq {
  return Array.from({ length: n }, () => Array.from({ length: c }, () => Array.from({ length: t }, () => rng.uniform(-1, 1))));
}

interface CellParams { W: number[]; RW: number[]; b: number[] }

/**
 * A recurrent layer over one direction in float64: LSTM (DL4J block order input/forget/output/input
 * modulation) or SimpleRnn; with a mask, output and state are zeroed at masked steps (DL4J).
 */
function refRecurrent(kind: 'lstm' | 'simpleRnn', x: Seq, p: CellParams, nOut: number, opts: { act?: string; gate?: string; mask?: number[][]; reverse?: boolean } = {}): Seq {
  const act = ACT[opts.act ?? 'tanh']!;
  const gate = ACT[opts.gate ?? 'sigmoid']!;
  const width = kind === 'lstm' ? 4 * nOut : nOut;
  return x.map((ex, n) => {
    const c = ex.length;
    const t = ex[0]!.length;
    const out = Array.from({ length: nOut }, () => new Array<number>(t).fill(0));
    let h = new Array<number>(nOut).fill(0);
    let cell = new Array<number>(nOut).fill(0);
    for (let k = 0; k < t; k++) {
      const s = opts.reverse ? t - 1 - k : k;
      const z = Array.from({ length: width }, (_, j) => {
        let v = p.b[j]!;
        for (let i = 0; i < c; i++) v += ex[i]![s]! * p.W[i * width + j]!;
        for (let i = 0; i < nOut; i++) v += h[i]! * p.RW[i * width + j]!;
        return v;
      });
      if (kind === 'lstm') {
        cell = cell.map((cv, j) => gate(z[nOut + j]!) * cv + gate(z[3 * nOut + j]!) * act(z[j]!));
        h = cell.map((cv, j) => gate(z[2 * nOut + j]!) * act(cv));
      } else {
        h = z.map(act);
      }
      const m = opts.mask ? opts.mask[n]![s]! : 1;
      h = h.map((v) => v * m);
      cell = cell.map((v) => v * m);
      h.forEach((v, j) => (out[j]![s] = v));
    }
    return out;
  });
}

function cellParams(net: MultiLayerNetwork, prefix: string): CellParams {
  return { W: flatParams(net, `${prefix}W`), RW: flatParams(net, `${prefix}RW`), b: flatParams(net, `${prefix}b`) };
}

const tol = { rtol: 1e-10, atol: 1e-12 };
const outputLayer = (nOut = 2): LayerConfig => ({ type: 'rnnOutput', nOut, activation: 'softmax', lossFunction: 'MCXENT' });

test('LSTM: DL4J parameter layout (W, RW, b with the forget bias block) and forward values match a float64 loop', () => {
  const rng = new Rng(1);
  const x = randomSeq(rng, 3, 2, 5);
  for (const [gate, forget] of [['sigmoid', undefined], ['tanh', 2.5]] as const) {
    const net = new MultiLayerNetwork({
      seed: 7, dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 2 },
      layers: [{ type: 'lstm', nOut: 3, gateActivationFunction: gate, ...(forget !== undefined ? { forgetGateBiasInit: forget } : {}) }, outputLayer()],
    }).init();
    const table = net.paramTable();
    assert.deepEqual([...table.keys()], ['0_W', '0_RW', '0_b', '1_W', '1_b']);
    assert.deepEqual(table.get('0_W')!.shape, [2, 12]);
    assert.deepEqual(table.get('0_RW')!.shape, [3, 12]);
    // Blocks [input, forget, output, input modulation]: only the forget block starts non-zero.
    const f = forget ?? 1;
    assert.deepEqual(flatParams(net, '0_b'), [0, 0, 0, f, f, f, 0, 0, 0, 0, 0, 0]);
    randomizeParams(net, rng);
    const expected = refRecurrent('lstm', x, cellParams(net, '0_'), 3, { gate });
    const acts = net.feedForward(seqArray(x));
    assert.deepEqual(acts[1]!.shape, [3, 3, 5]);
    assertClose(acts[1]!.toFlatArray(), expected.flat(2), tol);
    for (const a of acts) a.close();
    net.close();
  }
});

test('SimpleRnn forward (with and without bias) matches a float64 loop; feed-forward input is one time step', () => {
  const rng = new Rng(2);
  const x = randomSeq(rng, 2, 3, 4);
  const net = new MultiLayerNetwork({
    seed: 3, dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 3 },
    layers: [{ type: 'simpleRnn', nOut: 4, activation: 'relu' }, outputLayer()],
  }).init();
  assert.deepEqual([...net.paramTable().keys()].slice(0, 3), ['0_W', '0_RW', '0_b']);
  randomizeParams(net, rng);
  const acts = net.feedForward(seqArray(x));
  assertClose(acts[1]!.toFlatArray(), refRecurrent('simpleRnn', x, cellParams(net, '0_'), 4, { act: 'relu' }).flat(2), tol);
  for (const a of acts) a.close();
  net.close();

  const noBias = new MultiLayerNetwork({
    seed: 3, dataType: 'DOUBLE', inputType: { type: 'feedForward', size: 3 },
    layers: [{ type: 'simpleRnn', nOut: 2, hasBias: false }, outputLayer()],
  }).init();
  assert.deepEqual([...noBias.paramTable().keys()], ['0_W', '0_RW', '1_W', '1_b']);
  randomizeParams(noBias, rng);
  const x2 = x.map((ex) => ex.map((ch) => ch[0]!));
  const out = noBias.feedForward(array(x2, { dtype: 'DOUBLE' }));
  assert.deepEqual(out[1]!.shape, [2, 2, 1]);
  const p = { W: flatParams(noBias, '0_W'), RW: flatParams(noBias, '0_RW'), b: [0, 0] };
  assertClose(out[1]!.toFlatArray(), refRecurrent('simpleRnn', x2.map((ex) => ex.map((v) => [v])), p, 2).flat(2), tol);
  for (const a of out) a.close();
  noBias.close();
});

test('masks: output and state are zeroed at masked steps (DL4J), for holes as well as padding', () => {
  const rng = new Rng(3);
  const x = randomSeq(rng, 3, 2, 6);
  const mask = [[1, 1, 1, 1, 0, 0], [1, 1, 0, 1, 1, 1], [0, 0, 1, 1, 1, 1]];
  for (const kind of ['lstm', 'simpleRnn'] as const) {
    const net = new MultiLayerNetwork({ seed: 5, dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 2 }, layers: [{ type: kind, nOut: 3 }, outputLayer()] }).init();
    randomizeParams(net, rng);
    const acts = net.feedForward(seqArray(x), false, array(mask, { dtype: 'DOUBLE' }));
    assertClose(acts[1]!.toFlatArray(), refRecurrent(kind, x, cellParams(net, '0_'), 3, { mask }).flat(2), tol);
    for (const a of acts) a.close();
    net.close();
  }
});

test('Bidirectional: CONCAT / ADD / MUL / AVERAGE of a forward and a reversed copy, params fW..bb, masked', () => {
  const rng = new Rng(4);
  const x = randomSeq(rng, 2, 2, 5);
  const mask = [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]];
  const combine: Record<string, (a: number, b: number) => number> = { ADD: (a, b) => a + b, MUL: (a, b) => a * b, AVERAGE: (a, b) => (a + b) / 2 };
  for (const kind of ['lstm', 'simpleRnn'] as const) {
    for (const mode of ['CONCAT', 'ADD', 'MUL', 'AVERAGE'] as const) {
      const net = new MultiLayerNetwork({
        seed: 9, dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 2 },
        layers: [{ type: 'bidirectional', mode, layer: { type: kind, nOut: 3 } }, outputLayer()],
      }).init();
      assert.deepEqual([...net.paramTable().keys()].slice(0, 6), ['0_fW', '0_fRW', '0_fb', '0_bW', '0_bRW', '0_bb']);
      assert.equal(net.resolved.layers[1]!.nIn, mode === 'CONCAT' ? 6 : 3);
      randomizeParams(net, rng);
      for (const m of [undefined, mask]) {
        const f = refRecurrent(kind, x, cellParams(net, '0_f'), 3, { ...(m ? { mask: m } : {}) });
        const b = refRecurrent(kind, x, cellParams(net, '0_b'), 3, { reverse: true, ...(m ? { mask: m } : {}) });
        const expected = mode === 'CONCAT' ? f.map((ex, n) => [...ex, ...b[n]!]) : f.map((ex, n) => ex.map((ch, j) => ch.map((v, t) => combine[mode]!(v, b[n]![j]![t]!))));
        const acts = net.feedForward(seqArray(x), false, m ? array(m, { dtype: 'DOUBLE' }) : null);
        assertClose(acts[1]!.toFlatArray(), expected.flat(2), { ...tol, message: `${kind} ${mode}${m ? ' masked' : ''}` });
        for (const a of acts) a.close();
      }
      net.close();
    }
  }
});

test('LastTimeStep picks each sequence\'s last present step (variable-length masks), and ends the mask', () => {
  const rng = new Rng(5);
  const x = randomSeq(rng, 4, 2, 5);
  const lengths = [5, 3, 1, 4];
  const mask = lengths.map((len) => Array.from({ length: 5 }, (_, t) => (t < len ? 1 : 0)));
  const net = new MultiLayerNetwork({
    seed: 2, dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 2, timeSeriesLength: 5 },
    layers: [{ type: 'lastTimeStep', layer: { type: 'lstm', nOut: 3 } }, { type: 'dense', nOut: 2, activation: 'identity' }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }],
  }).init();
  assert.deepEqual([...net.paramTable().keys()].slice(0, 3), ['0_W', '0_RW', '0_b']);
  assert.equal(net.resolved.layers[1]!.nIn, 3);
  randomizeParams(net, rng);
  const seq = refRecurrent('lstm', x, cellParams(net, '0_'), 3, { mask });
  const acts = net.feedForward(seqArray(x), false, array(mask, { dtype: 'DOUBLE' }));
  assertClose(acts[1]!.toFlatArray(), seq.flatMap((ex, n) => ex.map((ch) => ch[lengths[n]! - 1]!)), tol);
  for (const a of acts) a.close();
  // Without a mask: the last step.
  const unmasked = net.feedForward(seqArray(x));
  const full = refRecurrent('lstm', x, cellParams(net, '0_'), 3);
  assertClose(unmasked[1]!.toFlatArray(), full.flatMap((ex) => ex.map((ch) => ch[4]!)), tol);
  for (const a of unmasked) a.close();
  net.close();
});

test('globalPooling over time: max / avg / sum / pnorm of the present steps, [N, C, T] to [N, C]; gradients (DOUBLE)', () => {
  const rng = new Rng(15);
  const x = randomSeq(rng, 3, 2, 5);
  const mask = [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 1, 1, 0, 1]];
  const pool: Record<string, (v: number[]) => number> = {
    max: (v) => Math.max(...v), avg: (v) => v.reduce((a, b) => a + b, 0) / v.length, sum: (v) => v.reduce((a, b) => a + b, 0),
    pnorm: (v) => Math.cbrt(v.reduce((a, b) => a + Math.abs(b) ** 3, 0)),
  };
  for (const poolingType of ['max', 'avg', 'sum', 'pnorm'] as const) {
    const net = new MultiLayerNetwork({
      seed: 8, dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 2 },
      layers: [{ type: 'globalPooling', poolingType, pnorm: 3 }, { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }],
    }).init();
    assert.equal(net.resolved.layers[1]!.nIn, 2);
    for (const m of [null, mask]) {
      const acts = net.feedForward(seqArray(x), false, m ? array(m, { dtype: 'DOUBLE' }) : null);
      const expected = x.flatMap((ex, n) => ex.map((ch) => pool[poolingType]!(ch.filter((_, t) => !m || m[n]![t] === 1))));
      assertClose(acts[1]!.toFlatArray(), expected, { ...tol, message: `${poolingType}${m ? ' masked' : ''}` });
      for (const a of acts) a.close();
    }
    net.close();
  }
  // Through an LSTM: parameter and input gradients with a mask (the pooled maximum is unique almost surely).
  for (const poolingType of ['max', 'avg', 'pnorm'] as const) {
    const net = new MultiLayerNetwork({
      seed: 9, dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 2 },
      layers: [{ type: 'lstm', nOut: 3 }, { type: 'globalPooling', poolingType }, { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }],
    }).init();
    randomizeParams(net, rng);
    const ds = new DataSet(seqArray(x), array([[1, 0], [0, 1], [0, 1]], { dtype: 'DOUBLE' }), array(mask, { dtype: 'DOUBLE' }));
    checkParamGradients(net, ds);
    const r = gradCheck((f) => net.computeScore(new DataSet(f, ds.labels, ds.featuresMask)), [ds.features]);
    assert.ok(r.passed, `${poolingType} input gradient: max relative error ${r.maxRelError}`);
    ds.close();
    net.close();
  }
});

test('batchNormalization on recurrent input normalizes each feature over examples and steps', () => {
  const rng = new Rng(16);
  const x = randomSeq(rng, 3, 2, 4).map((ex) => ex.map((ch, c) => ch.map((v) => v * (c + 1) + c)));
  const net = new MultiLayerNetwork({
    dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 2 },
    layers: [{ type: 'batchNormalization', eps: 1e-3 }, outputLayer()],
  }).init();
  const vals = (c: number): number[] => x.flatMap((ex) => ex[c]!);
  const mu = [0, 1].map((c) => vals(c).reduce((a, v) => a + v, 0) / 12);
  const vr = [0, 1].map((c) => vals(c).reduce((a, v) => a + (v - mu[c]!) ** 2, 0) / 12);
  const acts = net.feedForward(seqArray(x), true);
  assert.deepEqual(acts[1]!.shape, [3, 2, 4]);
  assertClose(acts[1]!.toFlatArray(), x.flatMap((ex) => ex.flatMap((ch, c) => ch.map((v) => (v - mu[c]!) / Math.sqrt(vr[c]! + 1e-3)))), tol);
  assertClose(flatParams(net, '0_mean'), mu.map((m) => 0.1 * m), tol);
  for (const a of acts) a.close();
  net.close();
  // Gradients through it (training mode: batch statistics) between an LSTM and rnnOutput.
  const g = new MultiLayerNetwork({
    seed: 3, dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 2 },
    layers: [{ type: 'lstm', nOut: 3 }, { type: 'batchNormalization' }, outputLayer(3)],
  }).init();
  randomizeParams(g, rng);
  const ds = new DataSet(seqArray(x), seqArray(oneHotSeq(rng, 3, 3, 4)));
  checkParamGradients(g, ds);
  ds.close();
  g.close();
});

function oneHotSeq(rng: Rng, n: number, k: number, t: number): number[][][] {
  return Array.from({ length: n }, () => {
    const rows = Array.from({ length: k }, () => new Array<number>(t).fill(0));
    for (let s = 0; s < t; s++) rows[rng.int(0, k)]![s] = 1;
    return rows;
  });
}

/** The stack every padding/gradient test runs through: all the sequence layers plus a dense layer per time step. */
function sequenceStack(extra: Partial<NeuralNetConfiguration> = {}): NeuralNetConfiguration {
  return {
    seed: 13, dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 2 },
    layers: [
      { type: 'lstm', nOut: 3 },
      { type: 'dense', nOut: 3, activation: 'tanh' },
      { type: 'bidirectional', mode: 'CONCAT', layer: { type: 'simpleRnn', nOut: 2, activation: 'tanh' } },
      { type: 'bidirectional', mode: 'AVERAGE', layer: { type: 'lstm', nOut: 2 } },
      outputLayer(3),
    ],
    ...extra,
  };
}

/** Sequences of different lengths, right-padded to T with garbage and masked. */
function paddedBatch(rng: Rng, lengths: readonly number[], t: number): { x: Seq; y: Seq; mask: number[][] } {
  const x = randomSeq(rng, lengths.length, 2, t).map((ex, n) => ex.map((ch) => ch.map((v, s) => (s < lengths[n]! ? v : 10 * v + 3))));
  const y = oneHotSeq(rng, lengths.length, 3, t);
  const mask = lengths.map((len) => Array.from({ length: t }, (_, s) => (s < len ? 1 : 0)));
  return { x, y, mask };
}

test('a padded sequence with its mask gives the unpadded outputs, score and gradients', () => {
  const rng = new Rng(6);
  const net = new MultiLayerNetwork(sequenceStack({ l2: 0.01 })).init();
  randomizeParams(net, rng);
  const lengths = [4, 2, 3];
  const { x, y, mask } = paddedBatch(rng, lengths, 6);
  const padded = new DataSet(seqArray(x), seqArray(y), array(mask, { dtype: 'DOUBLE' }), array(mask, { dtype: 'DOUBLE' }));
  const paddedOut = net.output(padded.features, false, padded.featuresMask);
  net.computeGradientAndScore(padded);
  const paddedScore = net.score();
  const paddedGrads = new Map([...net.gradient()].map(([k, g]) => [k, g.toFlatArray()]));
  // Each sequence alone, unpadded: the padded batch's score is the mean of theirs (DL4J divides the
  // summed losses by N; each single score carries the l2 penalty once, so their mean does too).
  const sumGrads = new Map<string, number[]>();
  let sumScore = 0;
  const outs = paddedOut.toFlatArray();
  lengths.forEach((len, n) => {
    const xs = [x[n]!.map((ch) => ch.slice(0, len))];
    const ys = [y[n]!.map((ch) => ch.slice(0, len))];
    const ds = new DataSet(seqArray(xs), seqArray(ys));
    const o = net.output(ds.features).toFlatArray();
    const expected = Array.from({ length: 3 }, (_, c) => Array.from({ length: len }, (_, s) => outs[(n * 3 + c) * 6 + s]!)).flat();
    assertClose(o, expected, { ...tol, message: `sequence ${n} output` });
    net.computeGradientAndScore(ds);
    sumScore += net.score() / lengths.length;
    for (const [k, g] of net.gradient()) {
      const acc = sumGrads.get(k) ?? new Array<number>(g.size).fill(0);
      g.toFlatArray().forEach((v, i) => (acc[i]! += v / lengths.length));
      sumGrads.set(k, acc);
    }
    ds.close();
  });
  assert.ok(Math.abs(sumScore - paddedScore) < 1e-10, `${sumScore} vs ${paddedScore}`);
  for (const [k, g] of paddedGrads) assertClose(g, sumGrads.get(k)!, { rtol: 1e-8, atol: 1e-11, message: k });
  paddedOut.close();
  padded.close();
  net.close();
});

test('gradients w.r.t. every parameter and the input match central differences, with and without masks (DOUBLE)', () => {
  const rng = new Rng(7);
  const confs: NeuralNetConfiguration[] = [
    sequenceStack({ l1: 0.01, l2: 0.02 }),
    {
      seed: 21, dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 2 },
      layers: [
        { type: 'lstm', nOut: 3, gateActivationFunction: 'tanh', activation: 'softsign' },
        { type: 'bidirectional', mode: 'MUL', layer: { type: 'lstm', nOut: 2 } },
        { type: 'lastTimeStep', layer: { type: 'bidirectional', mode: 'ADD', layer: { type: 'simpleRnn', nOut: 3 } } },
        { type: 'output', nOut: 3, activation: 'softmax', lossFunction: 'MCXENT' },
      ],
    },
  ];
  for (const conf of confs) {
    const net = new MultiLayerNetwork(conf).init();
    randomizeParams(net, rng);
    const ff = conf.layers[conf.layers.length - 1]!.type === 'output';
    for (const masked of [false, true]) {
      const { x, y, mask } = paddedBatch(rng, masked ? [4, 2, 3] : [4, 4, 4], 4);
      const labels = ff ? array(y.map((ex) => ex.map((ch) => ch[0]!)), { dtype: 'DOUBLE' }) : seqArray(y);
      const m = masked ? array(mask, { dtype: 'DOUBLE' }) : null;
      const ds = new DataSet(seqArray(x), labels, m, ff ? null : m?.dup());
      // LastTimeStep of a Bidirectional: at the last step the backward copy has read that step only,
      // from a zero state, so its recurrent weights do not reach the output (DL4J's semantics too).
      checkParamGradients(net, ds, ff ? ['2_bRW'] : []);
      const r = gradCheck((f) => net.computeScore(new DataSet(f, ds.labels, ds.featuresMask, ds.labelsMask)), [ds.features]);
      assert.ok(r.passed, `input gradient: max relative error ${r.maxRelError} at ${JSON.stringify(r.worst)}`);
      ds.close();
    }
    net.close();
  }
});

test('rnnOutput: per-step softmax and a loss over [N, nOut, T] labels masked per step, divided by N', () => {
  const rng = new Rng(8);
  const x = randomSeq(rng, 2, 3, 4);
  const y = oneHotSeq(rng, 2, 2, 4);
  const lmask = [[1, 1, 0, 1], [0, 1, 1, 1]];
  const net = new MultiLayerNetwork({ dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 3 }, layers: [outputLayer(2)] }).init();
  randomizeParams(net, rng);
  const w = flatParams(net, '0_W');
  const b = flatParams(net, '0_b');
  const probs = x.map((ex) => Array.from({ length: 4 }, (_, s) => {
    const z = [0, 1].map((j) => b[j]! + ex.reduce((a, ch, i) => a + ch[s]! * w[i * 2 + j]!, 0));
    const e = z.map(Math.exp);
    return e.map((v) => v / (e[0]! + e[1]!));
  }));
  const out = net.output(seqArray(x));
  assertClose(out.toFlatArray(), probs.flatMap((ex) => [0, 1].flatMap((j) => ex.map((p) => p[j]!))), tol);
  out.close();
  let expected = 0;
  probs.forEach((ex, n) => ex.forEach((p, s) => [0, 1].forEach((j) => (expected -= lmask[n]![s]! * y[n]![j]![s]! * Math.log(p[j]!)))));
  expected /= 2;
  const ds = new DataSet(seqArray(x), seqArray(y), null, array(lmask, { dtype: 'DOUBLE' }));
  assert.ok(Math.abs(net.score(ds) - expected) < 1e-12, `${net.score(ds)} vs ${expected}`);
  // A per-output labels mask [N, nOut, T] (DL4J's rank-3 mask) weights each output of each step.
  const omask = [[[1, 0, 1, 1], [1, 1, 0, 1]], [[0, 1, 1, 1], [1, 1, 1, 0]]];
  let perOutput = 0;
  probs.forEach((ex, n) => ex.forEach((p, s) => [0, 1].forEach((j) => (perOutput -= omask[n]![j]![s]! * y[n]![j]![s]! * Math.log(p[j]!)))));
  const ods = new DataSet(seqArray(x), seqArray(y), null, seqArray(omask));
  assert.ok(Math.abs(net.score(ods) - perOutput / 2) < 1e-12, `${net.score(ods)} vs ${perOutput / 2}`);
  ods.close();
  const wrong = new DataSet(seqArray(x), seqArray(y), null, array([[1, 1, 1], [1, 1, 1]], { dtype: 'DOUBLE' }));
  assert.throws(() => net.score(wrong), /labels mask must be \[N, T\] = \[2, 4\] or \[N, nOut, T\] = \[2, 2, 4\]/);
  wrong.close();
  // With a features mask the output is zero at masked steps.
  const masked = net.output(seqArray(x), false, array(lmask, { dtype: 'DOUBLE' }));
  assertClose(masked.toFlatArray(), probs.flatMap((ex, n) => [0, 1].flatMap((j) => ex.map((p, s) => p[j]! * lmask[n]![s]!))), tol);
  masked.close();
  ds.close();
  net.close();
});

test('activation and loss layers on recurrent input: softmax over the size axis at each step, a loss per step (DL4J\'s RnnLossLayer)', () => {
  const rng = new Rng(14);
  const x = randomSeq(rng, 2, 3, 4);
  const y = oneHotSeq(rng, 2, 3, 4);
  const lmask = [[1, 1, 1, 0], [1, 0, 1, 1]];
  const net = new MultiLayerNetwork({
    dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 3 },
    layers: [{ type: 'activation', activation: 'softmax' }, { type: 'loss', lossFunction: 'MCXENT', activation: 'softmax' }],
  }).init();
  const softmaxSteps = (s: Seq): Seq => s.map((ex) => {
    const e = ex.map((ch) => ch.map(Math.exp));
    return e.map((ch) => ch.map((v, t) => v / e.reduce((a, c) => a + c[t]!, 0)));
  });
  const p = softmaxSteps(softmaxSteps(x));
  const out = net.output(seqArray(x));
  assertClose(out.toFlatArray(), p.flat(2), tol);
  out.close();
  let expected = 0;
  p.forEach((ex, n) => ex.forEach((ch, c) => ch.forEach((v, t) => (expected -= lmask[n]![t]! * y[n]![c]![t]! * Math.log(v)))));
  const ds = new DataSet(seqArray(x), seqArray(y), null, array(lmask, { dtype: 'DOUBLE' }));
  assert.ok(Math.abs(net.score(ds) - expected / 2) < 1e-12, `${net.score(ds)} vs ${expected / 2}`);
  ds.close();
  net.close();
});

test('rnnTimeStep: feeding steps one by one (or in chunks) equals the full-sequence output; rnnClearPreviousState restarts', () => {
  const rng = new Rng(9);
  const x = randomSeq(rng, 2, 2, 6);
  const net = new MultiLayerNetwork({
    seed: 4, dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 2 },
    layers: [{ type: 'lstm', nOut: 3 }, { type: 'dense', nOut: 4, activation: 'relu' }, { type: 'simpleRnn', nOut: 3 }, outputLayer(2)],
  }).init();
  randomizeParams(net, rng);
  const full = net.output(seqArray(x));
  const fullVals = full.toFlatArray();
  const at = (n: number, j: number, s: number): number => fullVals[(n * 2 + j) * 6 + s]!;
  for (let s = 0; s < 6; s++) {
    const step = net.rnnTimeStep(array(x.map((ex) => ex.map((ch) => ch[s]!)), { dtype: 'DOUBLE' }));
    assert.deepEqual(step.shape, [2, 2]);
    assertClose(step.toFlatArray(), [0, 1].flatMap((n) => [0, 1].map((j) => at(n, j, s))), { ...tol, message: `step ${s}` });
    step.close();
  }
  net.rnnClearPreviousState();
  const first = net.rnnTimeStep(seqArray(x.map((ex) => ex.map((ch) => ch.slice(0, 4)))));
  const rest = net.rnnTimeStep(seqArray(x.map((ex) => ex.map((ch) => ch.slice(4)))));
  const chunks = [0, 1].flatMap((n) => [0, 1].flatMap((j) => [...first.toFlatArray().slice((n * 2 + j) * 4, (n * 2 + j + 1) * 4), ...rest.toFlatArray().slice((n * 2 + j) * 2, (n * 2 + j + 1) * 2)]));
  assertClose(chunks, fullVals, tol);
  // A batch of another size without clearing is an error naming the cause.
  assert.throws(() => net.rnnTimeStep(array([[0.1, 0.2]], { dtype: 'DOUBLE' })), /stored state has 2 examples.*rnnClearPreviousState/);
  net.rnnClearPreviousState();
  const again = net.rnnTimeStep(seqArray(x.map((ex) => ex.map((ch) => ch.slice(0, 1)))));
  assertClose(again.toFlatArray(), [0, 1].flatMap((n) => [0, 1].map((j) => at(n, j, 0))), tol);
  for (const a of [full, first, rest, again]) a.close();
  net.close();

  const bi = new MultiLayerNetwork({ inputType: { type: 'recurrent', size: 2 }, layers: [{ type: 'bidirectional', layer: { type: 'lstm', nOut: 2 } }, outputLayer()] }).init();
  assert.throws(() => bi.rnnTimeStep(array([[0.1, 0.2]])), /layer 0 \(bidirectional 'layer0'\): rnnTimeStep is not possible/);
  bi.close();
});

test('configuration: recurrent input types, nIn inference, dense per time step, and clear errors', () => {
  const net = new MultiLayerNetwork({
    inputType: { type: 'recurrent', size: 5, timeSeriesLength: 7 },
    layers: [
      { type: 'lstm', nOut: 6 },
      { type: 'dense', nOut: 4 },
      { type: 'bidirectional', layer: { type: 'simpleRnn', nOut: 3 } },
      { type: 'bidirectional', mode: 'ADD', layer: { type: 'lstm', nOut: 2 } },
      { type: 'lastTimeStep', layer: { type: 'simpleRnn', nOut: 3 } },
      { type: 'output', nOut: 2, lossFunction: 'MCXENT' },
    ],
  });
  assert.deepEqual(net.resolved.layers.map((l) => [l.nIn, l.nOut]), [[5, 6], [6, 4], [4, 6], [6, 2], [2, 3], [3, 2]]);
  net.init();
  assert.equal(net.numParams(), (5 * 24 + 6 * 24 + 24) + (6 * 4 + 4) + 2 * (4 * 3 + 9 + 3) + 2 * (6 * 8 + 2 * 8 + 8) + (2 * 3 + 9 + 3) + (3 * 2 + 2));
  assert.match(net.summary(), /layer0 \(LSTM\)[\s\S]*Bidirectional[\s\S]*LastTimeStep/);
  net.close();

  const rec = { inputType: { type: 'recurrent', size: 2 } } as const;
  const err = (layers: LayerConfig[], re: RegExp, conf: Partial<NeuralNetConfiguration> = rec): void => {
    assert.throws(() => new MultiLayerNetwork({ ...conf, layers }), re);
  };
  const img = { inputType: { type: 'convolutional', height: 4, width: 4, channels: 1 } } as const;
  err([{ type: 'lstm', nOut: 2 }, outputLayer()], /layer 0 \(lstm\).*needs recurrent input.*convolutional/, img);
  err([{ type: 'lstm', nIn: 3, nOut: 2 }, outputLayer()], /layer 0 \(lstm\).*nIn 3 does not match the input's size 2/);
  err([{ type: 'lstm', nOut: 2, forgetGateBiasInit: Number.NaN }, outputLayer()], /forgetGateBiasInit must be a finite number/);
  err([{ type: 'lstm', nOut: 2, gateActivationFunction: 'swoosh' as 'tanh' }, outputLayer()], /layer 0 \(lstm\).*unknown activation 'swoosh'/);
  err([{ type: 'lstm', nOut: 2, hasBias: false }, outputLayer()], /layer 0 \(lstm\).*always has a bias/);
  err([{ type: 'bidirectional', mode: 'MAX' as 'ADD', layer: { type: 'lstm', nOut: 2 } }, outputLayer()], /layer 0 \(bidirectional\).*mode must be one of CONCAT, ADD, MUL, AVERAGE/);
  err([{ type: 'bidirectional', layer: { type: 'dense', nOut: 2 } as unknown as { type: 'lstm'; nOut: number } }, outputLayer()], /bidirectional.*cannot wrap a 'dense' layer/);
  err([{ type: 'bidirectional', layer: { type: 'lstm', nOut: 0 } }, outputLayer()], /layer 0 \(bidirectional\): wrapped lstm layer: nOut must be a positive integer/);
  err([{ type: 'lastTimeStep', layer: { type: 'lastTimeStep', layer: { type: 'lstm', nOut: 2 } } as unknown as { type: 'lstm'; nOut: number } }, outputLayer()], /cannot wrap a 'lastTimeStep' layer/);
  err([{ type: 'lstm', nOut: 2 }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }], /layer 1 \(output\).*cannot take recurrent input: use 'rnnOutput'/);
  err([{ type: 'dense', nOut: 2 }, outputLayer()], /layer 1 \(rnnOutput\).*needs recurrent input/, { inputType: { type: 'feedForward', size: 2 } });
  err([{ type: 'rnnOutput', nOut: 2 } as unknown as LayerConfig], /layer 0 \(rnnOutput\).*unknown or missing lossFunction/);
  err([{ type: 'lstm', nOut: 2 }, outputLayer()], /inputType: size must be a positive integer/, { inputType: { type: 'recurrent', size: 0 } });
  err([{ type: 'lstm', nOut: 2 }, outputLayer()], /inputType: timeSeriesLength must be a positive integer/, { inputType: { type: 'recurrent', size: 2, timeSeriesLength: 1.5 } });
  err([{ type: 'lstm', nOut: 2 }, outputLayer()], /layer 0 \(lstm\).*nIn is not set and cannot be inferred/, {});

  err([{ type: 'simpleRnn', nOut: 2, weightInitRecurrent: 'GLOROT' as 'XAVIER' }, outputLayer()], /layer 0 \(simpleRnn\).*unknown weightInit 'GLOROT'/);
  err([{ type: 'simpleRnn', nOut: 2, weightInitRecurrent: 'DISTRIBUTION' }, outputLayer()], /layer 0 \(simpleRnn\).*weightInit 'DISTRIBUTION' needs a distribution/);

  // weightInitRecurrent draws 'RW' only (DL4J's BaseRecurrentLayer option).
  const inits = new MultiLayerNetwork({
    seed: 1, ...rec,
    layers: [{ type: 'simpleRnn', nOut: 3, weightInitRecurrent: 'IDENTITY' }, { type: 'lstm', nOut: 2, weightInitRecurrent: 'ZERO' }, outputLayer()],
  }).init();
  assert.deepEqual(flatParams(inits, '0_RW'), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
  assert.ok(flatParams(inits, '0_W').every((v) => v !== 0 && v !== 1));
  assert.ok(flatParams(inits, '1_RW').every((v) => v === 0));
  assert.ok(flatParams(inits, '1_W').every((v) => v !== 0));
  inits.close();

  // Wrong input and mask shapes name the layer.
  const n = new MultiLayerNetwork({ ...rec, layers: [{ type: 'lstm', nOut: 2 }, outputLayer()] }).init();
  assert.throws(() => n.output(array([[[1, 2], [3, 4], [5, 6]]])), /layer 0 \(lstm 'layer0'\): expected input \[N, 2, T\]/);
  assert.throws(() => n.output(array([[[1, 2], [3, 4]]]), false, array([[1, 1, 1]])), /layer 0 \(lstm 'layer0'\): the features mask must be \[N, T\] = \[1, 2\]/);
  const bad = new DataSet(array([[[1, 2], [3, 4]]]), array([[1, 0]]));
  assert.throws(() => n.score(bad), /MultiLayerNetwork.score: labels .*\[1, 2\] do not match the network output .*\[1, 2, 2\]/);
  bad.close();
  n.close();
});

/** Sequences of 1 feature, lengths 3..8, labelled by whether their (unpadded) sum is positive. */
function sumTask(rng: Rng, n: number): { x: Seq; labels: number[][]; mask: number[][]; lengths: number[] } {
  const t = 8;
  const lengths = Array.from({ length: n }, () => rng.int(3, t + 1));
  const x = lengths.map((len) => [Array.from({ length: t }, (_, s) => (s < len ? rng.uniform(-1, 1) : 0))]);
  const labels = x.map((ex) => (ex[0]!.reduce((a, v) => a + v, 0) > 0 ? [0, 1] : [1, 0]));
  const mask = lengths.map((len) => Array.from({ length: t }, (_, s) => (s < len ? 1 : 0)));
  return { x, labels, mask, lengths };
}

test('an LSTM with LastTimeStep learns the sign of a variable-length sequence sum to > 90% accuracy', () => {
  const rng = new Rng(10);
  const train = sumTask(rng, 256);
  const testSet = sumTask(rng, 200);
  const net = new MultiLayerNetwork({
    seed: 3, updater: { type: 'adam', learningRate: 0.03 }, inputType: { type: 'recurrent', size: 1 },
    layers: [{ type: 'lastTimeStep', layer: { type: 'lstm', nOut: 8 } }, { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }],
  }).init();
  const ds = new DataSet(seqArray(train.x, 'FLOAT'), array(train.labels, { dtype: 'FLOAT' }), array(train.mask, { dtype: 'FLOAT' }));
  const before = net.score(ds);
  net.fit(ds, 150);
  assert.ok(net.score(ds) < before * 0.5, `score ${before} -> ${net.score(ds)}`);
  const out = net.output(seqArray(testSet.x, 'FLOAT'), false, array(testSet.mask, { dtype: 'FLOAT' })).toFlatArray();
  const correct = testSet.labels.filter((l, i) => (out[2 * i + 1]! > out[2 * i]! ? 1 : 0) === l[1]).length;
  assert.ok(correct / testSet.labels.length > 0.9, `accuracy ${correct / testSet.labels.length}`);
  ds.close();
  net.close();
});

test('an LSTM + rnnOutput learns, per step, whether the running sum is positive (> 90% of steps)', () => {
  const rng = new Rng(11);
  const make = (n: number): { x: Seq; y: Seq } => {
    const x = randomSeq(rng, n, 1, 10);
    const y = x.map((ex) => {
      let s = 0;
      const pos = ex[0]!.map((v) => ((s += v) > 0 ? 1 : 0));
      return [pos.map((p) => 1 - p), pos];
    });
    return { x, y };
  };
  const train = make(200);
  const testSet = make(100);
  const net = new MultiLayerNetwork({
    seed: 5, updater: { type: 'adam', learningRate: 0.03 }, inputType: { type: 'recurrent', size: 1 },
    layers: [{ type: 'lstm', nOut: 8 }, outputLayer(2)],
  }).init();
  const ds = new DataSet(seqArray(train.x, 'FLOAT'), seqArray(train.y, 'FLOAT'));
  net.fit(ds, 120);
  const out = net.output(seqArray(testSet.x, 'FLOAT')).toFlatArray();
  let correct = 0;
  testSet.y.forEach((ex, n) => ex[1]!.forEach((p, s) => (correct += (out[(n * 2 + 1) * 10 + s]! > out[(n * 2) * 10 + s]! ? 1 : 0) === p ? 1 : 0)));
  assert.ok(correct / 1000 > 0.9, `per-step accuracy ${correct / 1000}`);
  ds.close();
  net.close();
});

test('JSON and ModelSerializer round trips of a recurrent network give identical outputs', () => {
  const rng = new Rng(12);
  const conf = sequenceStack({ updater: { type: 'adam', learningRate: 0.01 } });
  const json = configurationToJSON(conf);
  assert.deepEqual(configurationFromJSON(json), conf);
  const net = new MultiLayerNetwork(configurationFromJSON(json)).init();
  const { x, y, mask } = paddedBatch(rng, [5, 3], 5);
  const ds = new DataSet(seqArray(x), seqArray(y), array(mask, { dtype: 'DOUBLE' }), array(mask, { dtype: 'DOUBLE' }));
  net.fit(ds, 2);
  const expected = net.output(ds.features, false, ds.featuresMask);
  const restored = deserializeModel(serializeModel(net), 'memory').network;
  for (const copy of [restored, net.clone()]) {
    const o = copy.output(ds.features, false, ds.featuresMask);
    assertClose(o.toFlatArray(), expected.toFlatArray(), tol);
    // Training continues identically (updater state restored).
    const a = net.clone();
    a.fit(ds, 1);
    copy.fit(ds, 1);
    assertClose(scope(() => copy.params().toFlatArray()), scope(() => a.params().toFlatArray()), tol);
    o.close();
    a.close();
    copy.close();
  }
  expected.close();
  ds.close();
  net.close();
});

test('memory stays flat over recurrent training steps (masks, bidirectional, dense per step, LastTimeStep)', () => {
  const rng = new Rng(13);
  const { x, y, mask } = paddedBatch(rng, [6, 4, 2, 5], 6);
  const lastConf: NeuralNetConfiguration = {
    seed: 2, inputType: { type: 'recurrent', size: 2 },
    layers: [{ type: 'lstm', nOut: 3 }, { type: 'lastTimeStep', layer: { type: 'bidirectional', layer: { type: 'lstm', nOut: 2 } } }, { type: 'output', nOut: 3, lossFunction: 'MCXENT' }],
  };
  for (const conf of [sequenceStack(), lastConf]) {
    const net = new MultiLayerNetwork({ ...conf, dataType: 'FLOAT', updater: { type: 'adam', learningRate: 0.01 } }).init();
    const labels = conf === lastConf ? array(y.map((ex) => ex.map((ch) => ch[0]!)), { dtype: 'FLOAT' }) : seqArray(y, 'FLOAT');
    const m = array(mask, { dtype: 'FLOAT' });
    const ds = new DataSet(seqArray(x, 'FLOAT'), labels, m, conf === lastConf ? null : m.dup());
    assertFlatOverFit(net, ds);
    ds.close();
    net.close();
  }
  // rnnTimeStep's stored state is released by rnnClearPreviousState and by close().
  const stepper = new MultiLayerNetwork({ inputType: { type: 'recurrent', size: 2 }, layers: [{ type: 'lstm', nOut: 3 }, { type: 'simpleRnn', nOut: 2 }, outputLayer()] }).init();
  const input = seqArray(x, 'FLOAT');
  const step = (): void => scope(() => {
    stepper.rnnTimeStep(input);
  });
  const before = memoryReport().arrays;
  step();
  assert.equal(memoryReport().arrays, before + 3);
  step();
  assert.equal(memoryReport().arrays, before + 3);
  stepper.rnnClearPreviousState();
  assert.equal(memoryReport().arrays, before);
  step();
  stepper.close();
  input.close();
  assert.ok(memoryReport().arrays < before);
});

test('evaluate() of a masked bidirectional LSTM counts the predictions of the unpadded sequences at real steps only', () => {
  const rng = new Rng(33);
  const net = new MultiLayerNetwork({
    seed: 13, dataType: 'DOUBLE', inputType: { type: 'recurrent', size: 2 },
    layers: [{ type: 'bidirectional', mode: 'CONCAT', layer: { type: 'lstm', nOut: 4 } }, outputLayer(3)],
  }).init();
  randomizeParams(net, rng);
  const lengths = [7, 3, 5, 2, 6, 4, 1, 7];
  const t = 7;
  const { x, y, mask } = paddedBatch(rng, lengths, t);
  const ds = new DataSet(seqArray(x), seqArray(y), array(mask, { dtype: 'DOUBLE' }), array(mask, { dtype: 'DOUBLE' }));
  const argmax = (v: readonly number[]): number => v.indexOf(Math.max(...v));
  const label = (n: number, s: number): number => argmax(y[n]!.map((row) => row[s]!));
  // Reference: each sequence alone, unpadded and unmasked; confusion[actual][predicted] over its real steps.
  const expected = [0, 1, 2].map(() => [0, 0, 0]);
  x.forEach((ex, n) => {
    const len = lengths[n]!;
    const out = scope(() => net.output(seqArray([ex.map((ch) => ch.slice(0, len))])).toFlatArray());
    for (let s = 0; s < len; s++) expected[label(n, s)]![argmax([0, 1, 2].map((c) => out[c * len + s]!))]!++;
  });
  // Without the features mask the padding reaches real steps through the backward direction: the
  // counts differ (so this test tells the two apart).
  const unmasked = scope(() => net.output(ds.features).toFlatArray());
  const withoutMask = [0, 1, 2].map(() => [0, 0, 0]);
  lengths.forEach((len, n) => {
    for (let s = 0; s < len; s++) withoutMask[label(n, s)]![argmax([0, 1, 2].map((c) => unmasked[(n * 3 + c) * t + s]!))]!++;
  });
  assert.notDeepEqual(withoutMask, expected);

  const e = net.evaluate(new ListDataSetIterator(ds, 3));
  assert.deepEqual(e.confusionMatrix(), expected);
  const total = lengths.reduce((a, b) => a + b, 0);
  const correct = expected.reduce((sum, row, c) => sum + row[c]!, 0);
  assert.equal(e.accuracy(), correct / total);
  ds.close();
  net.close();
});
