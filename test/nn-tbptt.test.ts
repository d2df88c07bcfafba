// Truncated BPTT of MultiLayerNetwork (DL4J's backpropType 'TruncatedBPTT'): option validation and
// JSON round trip; a segment as long as the sequence trains exactly as standard BPTT; one update
// per segment; each segment's gradient against float64 central differences of a plain-JS LSTM whose
// initial state is the (constant) final state of the previous segments, with padded sequences and
// back lengths shorter than the segments (the LSTM's earlier steps constant);
// training to an accuracy threshold; flat memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MultiLayerNetwork, DataSet, ListDataSetIterator, array, memoryReport, setSeed, serializeModel, deserializeModel, configurationFromJSON, configurationToJSON,
  type NeuralNetConfiguration, type LayerConfig, type NDArray,
} from '../src/index.js';
import { Rng, assertClose } from './helpers.js';
import { randomizeParams, seqArray, type Seq } from './sequence-helpers.js';

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

function lstmConf(extra: Partial<NeuralNetConfiguration> = {}, nIn = 2, nOut = 3, k = 2): NeuralNetConfiguration {
  return {
    seed: 11, dataType: 'DOUBLE', updater: { type: 'adam', learningRate: 0.02 }, inputType: { type: 'recurrent', size: nIn },
    layers: [{ type: 'lstm', nOut, activation: 'tanh' }, { type: 'rnnOutput', nOut: k, activation: 'softmax', lossFunction: 'MCXENT' }],
    ...extra,
  };
}

/** Random features [N, C, T], one-hot labels [N, K, T] and a right-padding mask [N, T] of the given lengths. */
function sequenceData(rng: Rng, n: number, c: number, k: number, t: number, lengths?: readonly number[]): { x: Seq; y: Seq; mask: number[][] | null } {
  const x = Array.from({ length: n }, () => Array.from({ length: c }, () => Array.from({ length: t }, () => rng.uniform(-1, 1))));
  const cls = Array.from({ length: n }, () => Array.from({ length: t }, () => rng.int(0, k)));
  const y = cls.map((row) => Array.from({ length: k }, (_, j) => row.map((v) => (v === j ? 1 : 0))));
  const mask = lengths ? lengths.map((len) => Array.from({ length: t }, (_, s) => (s < len ? 1 : 0))) : null;
  return { x, y, mask };
}

function dataSet(d: { x: Seq; y: Seq; mask: number[][] | null }, dtype: 'DOUBLE' | 'FLOAT' = 'DOUBLE'): DataSet {
  const m = (): NDArray | null => (d.mask ? array(d.mask.flat(), { dtype }).reshape([d.mask.length, d.mask[0]!.length]) : null);
  return new DataSet(seqArray(d.x, dtype), seqArray(d.y, dtype), m(), m());
}

test('tbptt: options are validated and survive JSON and model serialization', () => {
  const layers = lstmConf().layers;
  const bad: [Partial<NeuralNetConfiguration>, RegExp][] = [
    [{ backpropType: 'Truncated' as 'TruncatedBPTT' }, /backpropType: expected one of 'Standard', 'TruncatedBPTT', got 'Truncated'/],
    [{ backpropType: 'TruncatedBPTT', tbpttFwdLength: 0 }, /tbpttFwdLength must be a positive integer, got 0/],
    [{ backpropType: 'TruncatedBPTT', tbpttFwdLength: 2.5 }, /tbpttFwdLength must be a positive integer, got 2.5/],
    [{ backpropType: 'TruncatedBPTT', tbpttFwdLength: 4, tbpttBackLength: -1 }, /tbpttBackLength must be a positive integer/],
    [{ backpropType: 'TruncatedBPTT', tbpttFwdLength: 4, tbpttBackLength: 5 }, /tbpttBackLength: must not exceed tbpttFwdLength \(4\), got 5/],
    [{ backpropType: 'TruncatedBPTT', tbpttBackLength: 25 }, /must not exceed tbpttFwdLength \(20\), got 25/],
    [{ tbpttFwdLength: 4 }, /tbpttFwdLength: only applies with backpropType 'TruncatedBPTT'/],
    [{ backpropType: 'Standard', tbpttBackLength: 4 }, /tbpttBackLength: only applies with backpropType 'TruncatedBPTT'/],
    [{ backpropType: 'TruncatedBPTT', inputType: { type: 'feedForward', size: 2 }, layers: [{ type: 'dense', nOut: 3 }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }] },
      /'TruncatedBPTT' needs at least one recurrent layer/],
    [{ backpropType: 'TruncatedBPTT', layers: [{ type: 'bidirectional', layer: { type: 'lstm', nOut: 3 } }, layers[1]!] }, /layer 0 \(bidirectional.*not possible with a bidirectional layer/],
    [{ backpropType: 'TruncatedBPTT', layers: [{ type: 'lastTimeStep', layer: { type: 'lstm', nOut: 3 } }, { type: 'output', nOut: 2, lossFunction: 'MCXENT' }] },
      /layer 0 \(lastTimeStep.*needs time-series labels/],
  ];
  for (const [extra, re] of bad) assert.throws(() => new MultiLayerNetwork(lstmConf(extra)), re, JSON.stringify(extra));

  assert.equal(new MultiLayerNetwork(lstmConf()).resolved.tbptt, undefined);
  assert.deepEqual(new MultiLayerNetwork(lstmConf({ backpropType: 'TruncatedBPTT' })).resolved.tbptt, { fwdLength: 20, backLength: 20 });
  assert.deepEqual(new MultiLayerNetwork(lstmConf({ backpropType: 'TruncatedBPTT', tbpttFwdLength: 6 })).resolved.tbptt, { fwdLength: 6, backLength: 6 });
  const conf = lstmConf({ backpropType: 'TruncatedBPTT', tbpttFwdLength: 3, tbpttBackLength: 2 });
  const back = configurationFromJSON(configurationToJSON(conf));
  assert.equal(back.backpropType, 'TruncatedBPTT');
  assert.equal(back.tbpttFwdLength, 3);
  assert.equal(back.tbpttBackLength, 2);
  assert.deepEqual(new MultiLayerNetwork(back).resolved.tbptt, { fwdLength: 3, backLength: 2 });

  // A restored network trains the same way: identical parameters after the same fit.
  const net = new MultiLayerNetwork(conf).init();
  const restored = deserializeModel(serializeModel(net), 'memory').network;
  assert.deepEqual(restored.resolved.tbptt, { fwdLength: 3, backLength: 2 });
  const ds = dataSet(sequenceData(new Rng(5), 4, 2, 2, 7));
  net.fit(ds, 2);
  restored.fit(ds, 2);
  assert.equal(net.iterationCount, 6);
  assert.equal(restored.iterationCount, 6);
  assert.deepEqual(restored.params().toFlatArray(), net.params().toFlatArray());
  ds.close();
  net.close();
  restored.close();
});

test('tbptt: a segment at least as long as the sequences trains exactly as standard BPTT', () => {
  // Two minibatches per epoch: 4 and 3 padded sequences.
  const all = dataSet(sequenceData(new Rng(21), 7, 2, 2, 6, [6, 4, 5, 2, 3, 6, 6]));
  const layers: LayerConfig[] = [{ type: 'lstm', nOut: 4 }, { type: 'simpleRnn', nOut: 3, dropOut: 0.8 }, { type: 'rnnOutput', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }];
  const train = (extra: Partial<NeuralNetConfiguration>): MultiLayerNetwork => {
    // The same dropout masks in every run.
    setSeed(99);
    const net = new MultiLayerNetwork(lstmConf({ layers, ...extra })).init();
    net.fit(new ListDataSetIterator(all, 4), 3);
    return net;
  };
  const standard = train({});
  for (const length of [6, 9]) {
    const truncated = train({ backpropType: 'TruncatedBPTT', tbpttFwdLength: length });
    assert.equal(truncated.iterationCount, standard.iterationCount);
    assert.equal(truncated.iterationCount, 6);
    assert.deepEqual(truncated.params().toFlatArray(), standard.params().toFlatArray(), `tbpttFwdLength ${length}`);
    truncated.close();
  }
  // And a shorter segment changes the training (the comparison above is not vacuous).
  const short = train({ backpropType: 'TruncatedBPTT', tbpttFwdLength: 4 });
  assert.equal(short.iterationCount, 12);
  assert.notDeepEqual(short.params().toFlatArray(), standard.params().toFlatArray());
  short.close();
  standard.close();
  all.close();
});

test('tbptt: ceil(T / L) updates per minibatch; rnnTimeStep state is cleared by fit', () => {
  const rng = new Rng(8);
  for (const [t, l] of [[7, 3], [6, 3], [5, 1], [4, 20]] as const) {
    const net = new MultiLayerNetwork(lstmConf({ backpropType: 'TruncatedBPTT', tbpttFwdLength: l })).init();
    const seen: [number, number][] = [];
    net.setListeners({ iterationDone: (_m, it, ep) => seen.push([it, ep]) });
    const ds = dataSet(sequenceData(rng, 6, 2, 2, t));
    net.fit(new ListDataSetIterator(ds, 3), 2);
    ds.close();
    const per = Math.ceil(t / l);
    assert.equal(net.iterationCount, 4 * per, `T=${t} L=${l}`);
    assert.deepEqual(seen, Array.from({ length: 4 * per }, (_, i) => [i, Math.floor(i / (2 * per))]));
    net.close();
  }
  // Non-sequence data is refused with a clear error.
  const net = new MultiLayerNetwork(lstmConf({ backpropType: 'TruncatedBPTT', tbpttFwdLength: 2 })).init();
  const flat = new DataSet(array([1, 2, 3, 4], { dtype: 'DOUBLE' }).reshape([2, 2, 1]), array([1, 0, 0, 1], { dtype: 'DOUBLE' }).reshape([2, 2]));
  assert.throws(() => net.fit(flat), /MultiLayerNetwork\.fit: truncated BPTT needs features \[N, C, T\] and labels \[N, K, T\] with the same T, got features \[2, 2, 1\] and labels \[2, 2\]/);
  flat.close();
  // fit clears the state rnnTimeStep stored (DL4J), so the stepping restarts from zeros afterwards.
  const ds = dataSet(sequenceData(new Rng(3), 2, 2, 2, 5));
  net.rnnTimeStep(ds.features).close();
  net.fit(ds);
  const after = net.rnnTimeStep(ds.features);
  const expected = net.output(ds.features);
  assertClose(after.toFlatArray(), expected.toFlatArray(), { rtol: 1e-12, message: 'rnnTimeStep after fit' });
  for (const a of [after, expected]) a.close();
  ds.close();
  net.close();
});

interface LstmParams { W: number[]; RW: number[]; b: number[]; Wo: number[]; bo: number[] }

/** The flat parameter vector (params() order: 0_W, 0_RW, 0_b, 1_W, 1_b) as named pieces. */
function unpack(p: ArrayLike<number>, nIn: number, nOut: number, k: number): LstmParams {
  let o = 0;
  const take = (len: number): number[] => Array.from({ length: len }, () => p[o++]!);
  return { W: take(nIn * 4 * nOut), RW: take(nOut * 4 * nOut), b: take(4 * nOut), Wo: take(nOut * k), bo: take(k) };
}

interface State { h: number[][]; c: number[][] }

/**
 * A plain-JS float64 LSTM (DL4J blocks: input tanh, forget, output, input modulation) followed by a
 * softmax output per step and the MCXENT loss summed over present steps / N, over steps [from, to)
 * from the initial state `init`; masked steps zero output and state (DL4J). Before step
 * `detached.until` the LSTM uses the constant parameters `detached.p` (truncated BPTT's back
 * length: those steps run detached), the output layer always `p`. Returns the loss and the final state.
 */
function refSegment(p: LstmParams, d: { x: Seq; y: Seq; mask: number[][] | null }, from: number, to: number, init: State, nOut: number, detached?: { until: number; p: LstmParams }): { loss: number; state: State } {
  const n = d.x.length;
  const nIn = d.x[0]!.length;
  const k = d.y[0]!.length;
  const h = init.h.map((r) => [...r]);
  const c = init.c.map((r) => [...r]);
  let loss = 0;
  for (let e = 0; e < n; e++) {
    for (let t = from; t < to; t++) {
      const q = detached && t < detached.until ? detached.p : p;
      const z = Array.from({ length: 4 * nOut }, (_, j) => {
        let v = q.b[j]!;
        for (let i = 0; i < nIn; i++) v += d.x[e]![i]![t]! * q.W[i * 4 * nOut + j]!;
        for (let i = 0; i < nOut; i++) v += h[e]![i]! * q.RW[i * 4 * nOut + j]!;
        return v;
      });
      const m = d.mask ? d.mask[e]![t]! : 1;
      for (let j = 0; j < nOut; j++) {
        const a = Math.tanh(z[j]!);
        const f = sigmoid(z[nOut + j]!);
        const o = sigmoid(z[2 * nOut + j]!);
        const g = sigmoid(z[3 * nOut + j]!);
        c[e]![j] = (f * c[e]![j]! + g * a) * m;
        h[e]![j] = o * Math.tanh(c[e]![j]!) * m;
      }
      if (m === 0) continue;
      const logits = Array.from({ length: k }, (_, q) => p.bo[q]! + h[e]!.reduce((s, v, i) => s + v * p.Wo[i * k + q]!, 0));
      const mx = Math.max(...logits);
      const lse = mx + Math.log(logits.reduce((s, v) => s + Math.exp(v - mx), 0));
      for (let q = 0; q < k; q++) loss -= d.y[e]![q]![t]! * (logits[q]! - lse);
    }
  }
  return { loss: loss / n, state: { h, c } };
}

test('tbptt: each segment\'s gradient equals central differences from the previous segments\' final state, with padded sequences and shorter back lengths', () => {
  const [nIn, nOut, k, t, l] = [2, 3, 2, 7, 3];
  // Right padding that ends inside the second segment and one that leaves the last segment empty.
  const d = sequenceData(new Rng(77), 3, nIn, k, t, [7, 5, 2]);
  for (const back of [3, 2, 1]) checkSegmentGradients(d, nIn, nOut, k, t, l, back);
});

function checkSegmentGradients(d: { x: Seq; y: Seq; mask: number[][] | null }, nIn: number, nOut: number, k: number, t: number, l: number, back: number): void {
  const ds = dataSet(d);
  const net = new MultiLayerNetwork(lstmConf({ updater: { type: 'noop' }, backpropType: 'TruncatedBPTT', tbpttFwdLength: l, tbpttBackLength: back }, nIn, nOut, k)).init();
  randomizeParams(net, new Rng(78));
  const p0 = net.params().toFlatArray();
  const grads: number[][] = [];
  net.setGradientExchange((gs) => grads.push(gs.flatMap((g) => g.toFlatArray())));
  net.fit(ds);
  assert.equal(grads.length, 3);

  const zero = (): State => ({ h: d.x.map(() => new Array<number>(nOut).fill(0)), c: d.x.map(() => new Array<number>(nOut).fill(0)) });
  let init = zero();
  const eps = 1e-6;
  for (let s = 0; s < 3; s++) {
    const [from, to] = [s * l, Math.min(t, (s + 1) * l)];
    // The initial state is a constant here: the previous segments' final state at the unperturbed
    // parameters; so are the LSTM steps before the last `back` of the segment.
    const detached = { until: to - back, p: unpack(p0, nIn, nOut, k) };
    const lossAt = (p: number[]): number => refSegment(unpack(p, nIn, nOut, k), d, from, to, init, nOut, detached).loss;
    const numeric = p0.map((_, i) => {
      const plus = [...p0];
      const minus = [...p0];
      plus[i]! += eps;
      minus[i]! -= eps;
      return (lossAt(plus) - lossAt(minus)) / (2 * eps);
    });
    assertClose(grads[s]!, numeric, { rtol: 1e-5, atol: 1e-8, message: `back length ${back}, segment ${s}` });
    if (back < to - from) {
      // The back length matters: through all of the segment's steps the gradient would differ.
      const full = refSegment(unpack(p0, nIn, nOut, k), d, from, to, init, nOut);
      const fullNumeric = p0.map((_, i) => {
        const plus = [...p0];
        plus[i]! += eps;
        return (refSegment(unpack(plus, nIn, nOut, k), d, from, to, init, nOut).loss - full.loss) / eps;
      });
      assert.ok(fullNumeric.some((v, i) => Math.abs(v - grads[s]![i]!) > 1e-3), `back length ${back}, segment ${s}: truncation changes the gradient`);
    }
    const next = refSegment(unpack(p0, nIn, nOut, k), d, from, to, init, nOut).state;
    if (s > 0) {
      // The carried state matters: from zeros the gradient would differ.
      const fromZeros = refSegment(unpack(p0, nIn, nOut, k), d, from, to, zero(), nOut);
      const zeroNumeric = p0.map((_, i) => {
        const plus = [...p0];
        plus[i]! += eps;
        return (refSegment(unpack(plus, nIn, nOut, k), d, from, to, zero(), nOut).loss - fromZeros.loss) / eps;
      });
      assert.ok(zeroNumeric.some((v, i) => Math.abs(v - grads[s]![i]!) > 1e-3), `segment ${s}: the state carried in changes the gradient`);
    }
    init = next;
  }
  assert.deepEqual(net.params().toFlatArray(), p0, 'the noop updater leaves the parameters');
  ds.close();
  net.close();
}

test('tbptt: an LSTM learns to recall the previous symbol across segment boundaries', () => {
  const [symbols, t, n] = [3, 12, 32];
  const make = (rng: Rng): { x: Seq; y: Seq; mask: null } => {
    const seqs = Array.from({ length: n }, () => Array.from({ length: t }, () => rng.int(0, symbols)));
    const oneHot = (row: number[]): number[][] => Array.from({ length: symbols }, (_, j) => row.map((v) => (v === j ? 1 : 0)));
    return { x: seqs.map(oneHot), y: seqs.map((row) => oneHot(row.map((_, s) => (s === 0 ? 0 : row[s - 1]!)))), mask: null };
  };
  const net = new MultiLayerNetwork({
    seed: 4, dataType: 'FLOAT', updater: { type: 'adam', learningRate: 0.05 }, inputType: { type: 'recurrent', size: symbols },
    backpropType: 'TruncatedBPTT', tbpttFwdLength: 4,
    layers: [{ type: 'lstm', nOut: 12 }, { type: 'rnnOutput', nOut: symbols, activation: 'softmax', lossFunction: 'MCXENT' }],
  }).init();
  const trainData = make(new Rng(1));
  const ds = dataSet(trainData, 'FLOAT');
  net.fit(ds, 60);
  assert.equal(net.iterationCount, 180);
  const testData = make(new Rng(2));
  const x = seqArray(testData.x, 'FLOAT');
  const out = net.output(x).toFlatArray();
  let correct = 0;
  let total = 0;
  for (let e = 0; e < n; e++) {
    for (let s = 1; s < t; s++) {
      const probs = Array.from({ length: symbols }, (_, j) => out[(e * symbols + j) * t + s]!);
      const predicted = probs.indexOf(Math.max(...probs));
      correct += testData.y[e]![predicted]![s]!;
      total++;
    }
  }
  assert.ok(correct / total >= 0.95, `accuracy ${correct / total}`);
  x.close();
  ds.close();
  net.close();
});

test('tbptt: memory stays flat over segments and minibatches', () => {
  const rng = new Rng(9);
  const net = new MultiLayerNetwork(lstmConf({ dataType: 'FLOAT', backpropType: 'TruncatedBPTT', tbpttFwdLength: 3, tbpttBackLength: 2 })).init();
  const ds = dataSet(sequenceData(rng, 4, 2, 2, 7, [7, 3, 6, 1]), 'FLOAT');
  let at: { arrays: number; totalBytes: number }[] = [];
  net.setListeners({ iterationDone: (_m, it) => { if (it % 3 === 2) at.push(memoryReport()); } });
  net.fit(ds, 2);
  const before = memoryReport();
  at = [];
  net.fit(ds, 10);
  const after = memoryReport();
  assert.equal(at.length, 10);
  for (const r of at) assert.deepEqual({ arrays: r.arrays, totalBytes: r.totalBytes }, { arrays: at[0]!.arrays, totalBytes: at[0]!.totalBytes });
  assert.equal(after.arrays, before.arrays);
  assert.equal(after.totalBytes, before.totalBytes);
  ds.close();
  net.close();
});
