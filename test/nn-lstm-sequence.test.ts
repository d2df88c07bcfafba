// The LSTM layer's whole-sequence path (BaseRecurrentLayer.run -> LstmLayer.sequence ->
// lstmSequence): which runs take it (plain LSTMs, forwards and reversed in Bidirectional, from a
// stored state in rnnTimeStep, truncated BPTT whose back length covers the segment) and which keep
// the per-step loop (masks, a shorter back length, GravesLSTM's peepholes, activations the fused
// cell does not compute); networks give the scores, gradients, outputs and trained parameters of
// the per-step ops composed without a fused cell; memory stays flat over training.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  array, DataSet, getBackend, MultiLayerNetwork, scope,
  type DataType, type LayerConfig, type NeuralNetConfiguration,
} from '../src/index.js';
import type { FusedLstmCell } from '../src/backend/backend.js';
import { dtypeSize } from '../src/ndarray/dtype.js';
import { Rng, assertClose, assertFlatOverFit } from './helpers.js';
import { randomizeParams, seqArray, type Seq } from './sequence-helpers.js';
import { withBackendMember } from './lstm-fixture.js';

const cpu = getBackend();

interface CellUse {
  /** Cell calls writing into a buffer of several steps' gates: the sequence path. */
  sequence: number;
  /** Cell calls with a buffer of one step's gates: the per-step lstmCell op. */
  perStep: number;
}

/** Runs fn with the CPU's fused cell telling which path calls it (cell null: no fused cell, every step composed from ops). */
function watching<T>(fn: (use: CellUse) => T): T {
  const real = cpu.lstmCell!;
  const use: CellUse = { sequence: 0, perStep: 0 };
  const spy: FusedLstmCell = {
    supports: (dtype) => real.supports(dtype),
    forward: (zx, zh, cPrev, h, c, gates, activation, gate) => {
      const stepBytes = gates.shape[0]! * gates.shape[1]! * dtypeSize(gates.dtype);
      if (gates.buffer.bytes > stepBytes) use.sequence++;
      else use.perStep++;
      real.forward(zx, zh, cPrev, h, c, gates, activation, gate);
    },
    backward: (...args) => real.backward(...args),
  };
  return withBackendMember(cpu, 'lstmCell', spy, () => fn(use));
}

const composed = <T>(fn: () => T): T => withBackendMember(cpu, 'lstmCell', null, fn);

function randomSeq(rng: Rng, n: number, c: number, t: number): Seq {
  return Array.from({ length: n }, () => Array.from({ length: c }, () => Array.from({ length: t }, () => rng.uniform(-1, 1))));
}

/** Labels [N, k, T] one-hot per step. */
function labels(rng: Rng, n: number, k: number, t: number): Seq {
  return Array.from({ length: n }, () => {
    const picks = Array.from({ length: t }, () => rng.int(0, k));
    return Array.from({ length: k }, (_, j) => picks.map((p) => (p === j ? 1 : 0)));
  });
}

function conf(layers: LayerConfig[], dataType: DataType = 'DOUBLE', extra: Partial<NeuralNetConfiguration> = {}): NeuralNetConfiguration {
  return { seed: 12, dataType, updater: { type: 'adam', learningRate: 0.01 }, inputType: { type: 'recurrent', size: 3 }, layers, ...extra };
}

const rnnOut: LayerConfig = { type: 'rnnOutput', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' };

const NETWORKS: readonly (readonly [string, LayerConfig[], 'seq' | 'last'])[] = [
  ['two stacked LSTMs', [{ type: 'lstm', nOut: 5 }, { type: 'lstm', nOut: 4, gateActivationFunction: 'hardsigmoid' }, rnnOut], 'seq'],
  ['Bidirectional CONCAT (a reversed copy)', [{ type: 'bidirectional', mode: 'CONCAT', layer: { type: 'lstm', nOut: 4 } }, rnnOut], 'seq'],
  ['Bidirectional ADD under an LSTM', [{ type: 'bidirectional', mode: 'ADD', layer: { type: 'lstm', nOut: 4 } }, { type: 'lstm', nOut: 3 }, rnnOut], 'seq'],
  ['LastTimeStep over an LSTM', [{ type: 'lstm', nOut: 4 }, { type: 'lastTimeStep', layer: { type: 'lstm', nOut: 5 } }, { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }], 'last'],
];

/** Score and parameter gradients of a network with random parameters on random data. */
function scoreAndGradients(layers: LayerConfig[], labelsKind: 'seq' | 'last', mask: number[][] | null = null) {
  const rng = new Rng(31);
  const [n, t] = [3, 6];
  const net = new MultiLayerNetwork(conf(layers)).init();
  randomizeParams(net, rng);
  const x = seqArray(randomSeq(rng, n, 3, t));
  const ySeq = labels(rng, n, 2, t);
  const y = labelsKind === 'seq' ? seqArray(ySeq) : array(ySeq.map((ex) => ex.map((ch) => ch[t - 1]!)), { dtype: 'DOUBLE' });
  const ds = new DataSet(x, y, mask ? array(mask, { dtype: 'DOUBLE' }) : null, mask && labelsKind === 'seq' ? array(mask, { dtype: 'DOUBLE' }) : null);
  const score = net.computeGradientAndScore(ds);
  const grads = [...net.gradient().entries()].map(([k, g]) => [k, g.toFlatArray()] as const);
  ds.close();
  net.close();
  return { score, grads };
}

for (const [name, layers, kind] of NETWORKS) {
  test(`${name}: every LSTM runs as one sequence node; score and gradients equal the per-step ops (DOUBLE)`, () => {
    const want = composed(() => scoreAndGradients(layers, kind));
    const got = watching((use) => {
      const r = scoreAndGradients(layers, kind);
      assert.ok(use.sequence > 0, 'the sequence path ran');
      assert.equal(use.perStep, 0, 'no per-step cell calls');
      return r;
    });
    assertClose([got.score], [want.score], { rtol: 1e-12 });
    assert.deepEqual(got.grads.map(([k]) => k), want.grads.map(([k]) => k));
    got.grads.forEach(([k, g], i) => assertClose(g, want.grads[i]![1], { rtol: 1e-10, atol: 1e-13, message: k }));
  });
}

test('masks, GravesLSTM and activations the fused cell lacks keep the per-step path, with the same results', () => {
  const mask = [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1]];
  const masked = watching((use) => {
    const r = scoreAndGradients(NETWORKS[0]![1], 'seq', mask);
    assert.equal(use.sequence, 0, 'masked: no sequence path');
    assert.ok(use.perStep > 0, 'masked: the per-step cell');
    return r;
  });
  const maskedComposed = composed(() => scoreAndGradients(NETWORKS[0]![1], 'seq', mask));
  assertClose([masked.score], [maskedComposed.score], { rtol: 1e-12 });
  for (const layers of [
    [{ type: 'gravesLstm', nOut: 4 }, rnnOut],
    [{ type: 'lstm', nOut: 4, activation: 'softsign' }, rnnOut],
    [{ type: 'lstm', nOut: 4, gateActivationFunction: 'relu' }, rnnOut],
  ] as LayerConfig[][]) {
    watching((use) => {
      scoreAndGradients(layers, 'seq');
      assert.equal(use.sequence, 0, JSON.stringify(layers[0]));
    });
  }
});

test('truncated BPTT: a back length shorter than the segment keeps the per-step loop; a full one takes the sequence path', () => {
  const rng = new Rng(5);
  const x = seqArray(randomSeq(rng, 4, 3, 8));
  const y = seqArray(labels(rng, 4, 2, 8));
  const ds = new DataSet(x, y);
  const layers: LayerConfig[] = [{ type: 'lstm', nOut: 4 }, rnnOut];
  for (const [back, path] of [[2, 'perStep'], [4, 'sequence']] as const) {
    const train = (): number[] => {
      const net = new MultiLayerNetwork(conf(layers, 'DOUBLE', { backpropType: 'TruncatedBPTT', tbpttFwdLength: 4, tbpttBackLength: back })).init();
      net.fit(ds, 2);
      const p = net.params().toFlatArray();
      net.close();
      return p;
    };
    const want = composed(train);
    const got = watching((use) => {
      const p = train();
      assert.ok(use[path] > 0, `back length ${back}: ${path}`);
      assert.equal(use[path === 'perStep' ? 'sequence' : 'perStep'], 0, `back length ${back}: only ${path}`);
      return p;
    });
    assertClose(got, want, { rtol: 1e-9, atol: 1e-12, message: `back length ${back}` });
  }
  ds.close();
});

test('rnnTimeStep continues from the stored state on the sequence path (stacked and in chunks), as the per-step ops do', () => {
  const rng = new Rng(9);
  const x = randomSeq(rng, 2, 3, 7);
  const run = (): number[][] => {
    const net = new MultiLayerNetwork(conf([{ type: 'lstm', nOut: 4 }, { type: 'lstm', nOut: 3 }, rnnOut])).init();
    randomizeParams(net, new Rng(10));
    const outs = [[0, 3], [3, 5], [5, 7]].map(([from, to]) => scope(() => net.rnnTimeStep(seqArray(x.map((ex) => ex.map((ch) => ch.slice(from, to))))).toFlatArray()));
    net.close();
    return outs;
  };
  const want = composed(run);
  const got = watching((use) => {
    const r = run();
    assert.ok(use.sequence > 0);
    assert.equal(use.perStep, 0);
    return r;
  });
  got.forEach((o, i) => assertClose(o, want[i]!, { rtol: 1e-12, atol: 1e-14, message: `chunk ${i}` }));
});

test('FLOAT training on the sequence path follows the per-step ops and lowers the loss', () => {
  const rng = new Rng(17);
  const n = 16;
  const t = 10;
  // Label of each step: the sign of the running sum of the first feature.
  const xs = randomSeq(rng, n, 3, t);
  const ys = xs.map((ex) => {
    let run = 0;
    const cls = ex[0]!.map((v) => ((run += v) > 0 ? 0 : 1));
    return [0, 1].map((j) => cls.map((c) => (c === j ? 1 : 0)));
  });
  const layers: LayerConfig[] = [{ type: 'lstm', nOut: 8 }, { type: 'bidirectional', mode: 'ADD', layer: { type: 'lstm', nOut: 6 } }, rnnOut];
  const train = () => {
    const net = new MultiLayerNetwork(conf(layers, 'FLOAT')).init();
    const ds = new DataSet(seqArray(xs, 'FLOAT'), seqArray(ys, 'FLOAT'));
    const before = net.score(ds);
    net.fit(ds, 30);
    const after = net.score(ds);
    const p = net.params().toFlatArray();
    ds.close();
    net.close();
    return { before, after, p };
  };
  const want = composed(train);
  const got = watching((use) => {
    const r = train();
    assert.equal(use.perStep, 0);
    return r;
  });
  assert.ok(got.after < got.before * 0.8, `loss ${got.before} -> ${got.after}`);
  assertClose([got.after], [want.after], { rtol: 1e-3 });
  assertClose(got.p, want.p, { rtol: 1e-3, atol: 1e-4 });
});

test('memory stays flat over training on the sequence path (stacked, bidirectional, last time step)', () => {
  const rng = new Rng(23);
  for (const [name, layers, kind] of NETWORKS) {
    const net = new MultiLayerNetwork(conf(layers, 'FLOAT')).init();
    const x = seqArray(randomSeq(rng, 4, 3, 5), 'FLOAT');
    const y = kind === 'seq' ? seqArray(labels(rng, 4, 2, 5), 'FLOAT') : array([[1, 0], [0, 1], [1, 0], [0, 1]]);
    const ds = new DataSet(x, y);
    watching((use) => {
      assertFlatOverFit(net, ds);
      assert.ok(use.sequence > 0, name);
    });
    ds.close();
    net.close();
  }
});
