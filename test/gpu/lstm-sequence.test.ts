/**
 * lstmSequence (one autograd node looping over the backend's kernels) on CUDA against the CPU in
 * DOUBLE from the same stored inputs: hs, the final h and c, and the gradients of zx, rw, h0 and
 * c0, forwards and reversed, in every float dtype, with the kernel calls a sequence takes; then
 * LSTM networks (stacked, Bidirectional, LastTimeStep) on the sequence path: DOUBLE scores and
 * gradients equal to the CPU's, and FLOAT training losses step by step close to the CPU's, with
 * flat device memory. Skips without a GPU.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  add, array, backendByName, DataSet, lstmSequence, MultiLayerNetwork, mul, scope, sum,
  type Backend, type DataType, type LayerConfig, type NeuralNetConfiguration,
} from '../../src/index.js';
import { Rng } from '../helpers.js';
import { assertSameScoreAndGradients, countingLstmCell, doubleScoreAndGradients, labelledSequences, type ScoreAndGradients } from '../lstm-fixture.js';
import { assertFlatDeviceMemory, assertNearValues, gpu, onBackend } from './gpu-env.js';

/**
 * Allowed |got - want| per unit of max(1, |want|). The 16-bit types round each step's h, c, gates
 * and the recurrent matmul's output, and the errors carry through the steps (the CPU's own HALF and
 * BFLOAT16 sequence, test/ops-lstm-sequence.test.ts, stays within 5e-4 and 5e-3 of float64 on 5 steps).
 */
const TOLERANCE: Record<string, number> = { DOUBLE: 1e-10, FLOAT: 2e-5, HALF: 4e-3, BFLOAT16: 3e-2 };

interface Case {
  readonly name: string;
  readonly t: number;
  readonly n: number;
  readonly units: number;
  readonly reverse: boolean;
  readonly initial: boolean;
  readonly gate: 'sigmoid' | 'hardsigmoid';
}

const CASES: readonly Case[] = [
  { name: 'forwards with an initial state', t: 6, n: 5, units: 37, reverse: false, initial: true, gate: 'sigmoid' },
  { name: 'reverse from zeros, hardsigmoid gates', t: 6, n: 4, units: 9, reverse: true, initial: false, gate: 'hardsigmoid' },
  { name: 'benchmark width (N 64, H 512), 8 steps', t: 8, n: 64, units: 512, reverse: false, initial: true, gate: 'sigmoid' },
];

/** The op forward and backward on `backend` in `dtype` from `values` (numbers); the inputs as stored and every result read back. */
function run(backend: Backend, dtype: DataType, c: Case, values: Record<'zx' | 'rw' | 'h0' | 'c0' | 'whs' | 'wh' | 'wc', number[]>) {
  return scope(() => {
    const opts = { dtype, backend };
    const { t, n, units } = c;
    const zx = array(values.zx, [t, n, 4 * units], opts).requireGrad();
    const rw = array(values.rw, [units, 4 * units], opts).requireGrad();
    const h0 = c.initial ? array(values.h0, [n, units], opts).requireGrad() : null;
    const c0 = c.initial ? array(values.c0, [n, units], opts).requireGrad() : null;
    const out = lstmSequence(zx, rw, h0, c0, { activation: 'tanh', gateActivation: c.gate, reverse: c.reverse });
    const loss = add(add(sum(mul(out.hs, array(values.whs, [t, n, units], opts))), sum(mul(out.h, array(values.wh, [n, units], opts)))), sum(mul(out.c, array(values.wc, [n, units], opts))));
    loss.backward();
    return {
      stored: { ...values, zx: zx.toFlatArray(), rw: rw.toFlatArray(), h0: h0?.toFlatArray() ?? values.h0, c0: c0?.toFlatArray() ?? values.c0 },
      got: {
        hs: out.hs.toFlatArray(), h: out.h.toFlatArray(), c: out.c.toFlatArray(), dzx: zx.grad!.toFlatArray(), drw: rw.grad!.toFlatArray(),
        dh0: h0?.grad?.toFlatArray() ?? [], dc0: c0?.grad?.toFlatArray() ?? [],
      },
    };
  });
}

function netConf(dataType: DataType, layers: LayerConfig[]): NeuralNetConfiguration {
  return { seed: 8, dataType, updater: { type: 'adam', learningRate: 0.02 }, inputType: { type: 'recurrent', size: 3 }, layers };
}

const rnnOut: LayerConfig = { type: 'rnnOutput', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' };
const NETWORKS: readonly (readonly [string, LayerConfig[], 'seq' | 'last'])[] = [
  ['two stacked LSTMs', [{ type: 'lstm', nOut: 16 }, { type: 'lstm', nOut: 16, gateActivationFunction: 'hardsigmoid' }, rnnOut], 'seq'],
  ['Bidirectional CONCAT', [{ type: 'bidirectional', mode: 'CONCAT', layer: { type: 'lstm', nOut: 12 } }, rnnOut], 'seq'],
  ['LastTimeStep over two LSTMs', [{ type: 'lstm', nOut: 16 }, { type: 'lastTimeStep', layer: { type: 'lstm', nOut: 16 } }, { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' }], 'last'],
];

describe('lstmSequence on the GPU', () => {
  if ('skip' in gpu) {
    test(`GPU LSTM-sequence tests (${gpu.skip})`, { skip: gpu.skip }, () => {});
    return;
  }
  const cuda = gpu.cuda;
  const cpu = backendByName('cpu');

  for (const dtype of ['DOUBLE', 'FLOAT', 'HALF', 'BFLOAT16'] as const) {
    for (const c of CASES) {
      test(`${dtype} ${c.name}: outputs and gradients equal the CPU's in DOUBLE from the same stored inputs; one cell call per step each way`, () => {
        const rng = new Rng(29);
        const vec = (len: number, lo: number, hi: number): number[] => Array.from({ length: len }, () => rng.uniform(lo, hi));
        const { t, n, units } = c;
        const values = {
          zx: vec(t * n * 4 * units, -2, 2), rw: vec(units * 4 * units, -1 / Math.sqrt(units), 1 / Math.sqrt(units)),
          h0: vec(n * units, -1, 1), c0: vec(n * units, -1, 1), whs: vec(t * n * units, -1, 1), wh: vec(n * units, -1, 1), wc: vec(n * units, -1, 1),
        };
        const gpuRun = countingLstmCell(cuda, (calls) => {
          const r = run(cuda, dtype, c, values);
          assert.deepEqual(calls, { forward: t, backward: t });
          return r;
        });
        const want = run(cpu, 'DOUBLE', c, gpuRun.stored).got;
        const tol = TOLERANCE[dtype]!;
        for (const key of ['hs', 'h', 'c', 'dzx', 'drw', 'dh0', 'dc0'] as const) assertNearValues(want[key], gpuRun.got[key], tol, `${dtype} ${c.name} ${key}`);
      });
    }
  }

  for (const [name, layers, kind] of NETWORKS) {
    test(`DOUBLE ${name}: score and gradients on the sequence path equal the CPU's`, () => {
      const data = labelledSequences(4, 7, 3, kind);
      const [onCpu, onGpu] = [cpu, cuda].map((backend) => onBackend(backend, () => countingLstmCell(backend, (calls) => {
        const r = doubleScoreAndGradients(netConf('DOUBLE', layers), data);
        assert.ok(calls.forward > 0 && calls.forward % 7 === 0, `${backend.name}: whole sequences of 7 steps (${calls.forward} cell calls)`);
        return r;
      }))) as [ScoreAndGradients, ScoreAndGradients];
      assertSameScoreAndGradients(onCpu, onGpu);
    });
  }

  for (const [name, layers, kind] of NETWORKS) {
    test(`FLOAT ${name}: training losses on CUDA follow the CPU's step by step, with flat device memory`, () => {
      const { x, xShape, y, yShape } = labelledSequences(32, 12, 4, kind);
      const losses = [cpu, cuda].map((backend) => onBackend(backend, () => {
        const net = new MultiLayerNetwork(netConf('FLOAT', layers)).init();
        const ds = new DataSet(array(x, xShape), array(y, yShape));
        const scores: number[] = [];
        net.setListeners({ iterationDone: (m) => scores.push(m.score()) });
        net.fit(ds, 20);
        net.setListeners();
        if (backend === cuda) assertFlatDeviceMemory(cuda, () => net.fit(ds, 20));
        ds.close();
        net.close();
        return scores;
      }));
      const [onCpu, onGpu] = losses as [number[], number[]];
      assertNearValues(onCpu, onGpu, 2e-3, `${name} losses`);
      assert.ok(onGpu[onGpu.length - 1]! < onGpu[0]! * 0.8, `${name}: loss ${onGpu[0]} -> ${onGpu[onGpu.length - 1]}`);
    });
  }
});
