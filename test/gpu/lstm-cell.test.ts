/**
 * The fused LSTM cell kernels of the CUDA backend (kernels/cuda/lstm.cu through ops' lstmCell)
 * against a float64 reference computed here from the same (dtype-rounded) inputs: h, c and the
 * gradients of z, the recurrent part and cPrev, in every float dtype, with the loss on h, c or both,
 * the three kernel activations, a strided z and the benchmark's size. A DOUBLE gradient check on the
 * GPU, operand errors, and 2-layer LSTM networks on CUDA: DOUBLE gradients equal to the CPU's
 * (native fused) ones, and FLOAT training through the fused kernels with flat device memory. Skips
 * without a GPU.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  add, array, backendByName, DataSet, gradCheck, lstmCell, MultiLayerNetwork, mul, scope, stack, sum, zeros,
  type Backend, type DataType, type NDArray, type NeuralNetConfiguration,
} from '../../src/index.js';
import { Rng } from '../helpers.js';
import {
  assertCellNear, assertSameScoreAndGradients, cellReference, cellValues, countingLstmCell, doubleScoreAndGradients, labelledSequences,
  type CellCase, type CellValues, type ScoreAndGradients,
} from '../lstm-fixture.js';
import { assertFlatDeviceMemory, gpu, onBackend } from './gpu-env.js';

/**
 * Allowed |got - want| per unit of max(1, |want|). The 16-bit types store c, the gates and h
 * rounded, and backward reads c and the gates back: a few units of the type's rounding (an emulation
 * of the kernels' roundings in JS gave at most 8.5e-4 for HALF and 6.9e-3 for BFLOAT16 on these inputs).
 */
const TOLERANCE: Record<string, number> = { DOUBLE: 1e-11, FLOAT: 2e-5, HALF: 2e-3, BFLOAT16: 1.6e-2 };

interface Case extends CellCase {
  readonly n: number;
  readonly units: number;
  /** z given as the transpose of a [4H, N] array. */
  readonly stridedZ?: boolean;
}

const CASES: readonly Case[] = [
  { name: 'tanh/sigmoid with cPrev and recurrent part, loss on h and c', n: 5, units: 37, act: 'tanh', gate: 'sigmoid', withPrev: true, withRecurrent: true, loss: 'both' },
  { name: 'first step (no cPrev, no recurrent part)', n: 5, units: 37, act: 'tanh', gate: 'sigmoid', withPrev: false, withRecurrent: false, loss: 'both' },
  { name: 'tanh/hardsigmoid, loss on h only', n: 4, units: 9, act: 'tanh', gate: 'hardsigmoid', withPrev: true, withRecurrent: true, loss: 'h' },
  { name: 'sigmoid/tanh, loss on c only', n: 4, units: 9, act: 'sigmoid', gate: 'tanh', withPrev: true, withRecurrent: false, loss: 'c' },
  { name: 'hardsigmoid/sigmoid, strided z', n: 3, units: 8, act: 'hardsigmoid', gate: 'sigmoid', withPrev: true, withRecurrent: true, loss: 'both', stridedZ: true },
  { name: 'benchmark size N 64, H 512', n: 64, units: 512, act: 'tanh', gate: 'sigmoid', withPrev: true, withRecurrent: true, loss: 'both' },
];

/** Runs lstmCell forward and backward on `backend`; the inputs as stored and every result read back as numbers. */
function run(backend: Backend, dtype: DataType, c: Case) {
  const { n, units } = c;
  const v = cellValues(n, units, 13);
  return scope(() => {
    const opts = { dtype, backend };
    const zx = (c.stridedZ
      ? array(Array.from({ length: v.zx.length }, (_, k) => v.zx[(k % n) * 4 * units + Math.floor(k / n)]!), [4 * units, n], opts).transpose()
      : array(v.zx, [n, 4 * units], opts)).requireGrad();
    const zh = c.withRecurrent ? array(v.zh, [n, 4 * units], opts).requireGrad() : null;
    const cPrev = c.withPrev ? array(v.cPrev, [n, units], opts).requireGrad() : null;
    const wh = array(v.wh, [n, units], opts);
    const wc = array(v.wc, [n, units], opts);
    const [h, cell] = lstmCell(zx, cPrev, { activation: c.act, gateActivation: c.gate, recurrent: zh });
    const lh = sum(mul(h, wh));
    const lc = sum(mul(cell, wc));
    (c.loss === 'h' ? lh : c.loss === 'c' ? lc : add(lh, lc)).backward();
    // The operands the case leaves out stay as drawn: the reference does not read them.
    const stored: CellValues = { zx: zx.toFlatArray(), zh: zh?.toFlatArray() ?? v.zh, cPrev: cPrev?.toFlatArray() ?? v.cPrev, wh: wh.toFlatArray(), wc: wc.toFlatArray() };
    return {
      stored,
      got: {
        h: h.toFlatArray(), c: cell.toFlatArray(), dz: zx.grad!.toFlatArray(),
        dzh: zh?.grad?.toFlatArray() ?? null, dcPrev: cPrev?.grad?.toFlatArray() ?? null,
      },
    };
  });
}

function lstmNet(dataType: DataType, seed: number): NeuralNetConfiguration {
  return {
    seed, dataType, updater: { type: 'adam', learningRate: 0.02 },
    layers: [
      { type: 'lstm', nIn: 3, nOut: 16 },
      { type: 'lstm', nOut: 16, gateActivationFunction: 'hardsigmoid' },
      { type: 'rnnOutput', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  };
}

describe('fused LSTM cell on the GPU', () => {
  if ('skip' in gpu) {
    test(`GPU LSTM-cell tests (${gpu.skip})`, { skip: gpu.skip }, () => {});
    return;
  }
  const cuda = gpu.cuda;
  const cpu = backendByName('cpu');

  test('the CUDA backend has the fused kernels', () => {
    assert.ok(cuda.lstmCell?.supports('HALF'));
  });

  for (const dtype of ['DOUBLE', 'FLOAT', 'HALF', 'BFLOAT16'] as const) {
    for (const c of CASES) {
      test(`${dtype} ${c.name}: h, c and gradients equal a float64 reference`, () => {
        const { stored, got } = countingLstmCell(cuda, (calls) => {
          const r = run(cuda, dtype, c);
          assert.deepEqual(calls, { forward: 1, backward: 1 });
          return r;
        });
        assertCellNear(cellReference(c, c.n, c.units, stored), got, TOLERANCE[dtype]!, `${dtype} ${c.name}`);
      });
    }
  }

  for (const gate of ['sigmoid', 'hardsigmoid'] as const) {
    test(`DOUBLE gradient check of the fused kernels (tanh/${gate}) against central differences on the GPU`, () => {
      const rng = new Rng(5);
      const opts = { dtype: 'DOUBLE' as const, backend: cuda };
      const vec = (len: number, lo: number, hi: number): number[] => Array.from({ length: len }, () => rng.uniform(lo, hi));
      const args = [array(vec(48, -2, 2), [3, 16], opts), array(vec(48, -1, 1), [3, 16], opts), array(vec(12, -2, 2), [3, 4], opts)];
      countingLstmCell(cuda, (calls) => {
        const result = gradCheck((z: NDArray, r: NDArray, cp: NDArray) => stack(lstmCell(z, cp, { activation: 'tanh', gateActivation: gate, recurrent: r })), args);
        assert.ok(result.passed, `max relative error ${result.maxRelError} at ${JSON.stringify(result.worst)}`);
        assert.ok(calls.backward >= 1);
      });
      args.forEach((t) => t.close());
    });
  }

  test('bad operands of the fused kernels get errors naming the shapes', () => {
    const opts = { dtype: 'FLOAT' as const, backend: cuda };
    const k = cuda.lstmCell!;
    scope(() => {
      const z = zeros([2, 12], opts);
      const hc = zeros([2, 3], opts);
      assert.throws(() => k.forward(z, null, null, zeros([2, 4], opts), hc, z, 'tanh', 'sigmoid'), /lstmCell forward: h FLOAT\[2, 4\] must be FLOAT\[2, 3\] for zx FLOAT\[2, 12\]/);
      assert.throws(() => k.forward(zeros([2, 10], opts), null, null, hc, hc, z, 'tanh', 'sigmoid'), /lstmCell forward: zx FLOAT\[2, 10\] must be \[N, 4H\]/);
      assert.throws(() => k.forward(z, zeros([2, 12], { ...opts, dtype: 'HALF' }), null, hc, hc, z, 'tanh', 'sigmoid'), /lstmCell forward: zh HALF\[2, 12\] must be FLOAT\[2, 12\]/);
      assert.throws(() => k.forward(z, null, zeros([3, 2], opts).transpose(), hc, hc, z, 'tanh', 'sigmoid'), /lstmCell forward: cPrev FLOAT\[2, 3\] must be contiguous/);
      assert.throws(() => k.backward(z, null, hc, hc, null, z, hc, 'tanh', 'sigmoid'), /lstmCell backward: dcPrev FLOAT\[2, 3\] was given without cPrev/);
      assert.throws(() => k.backward(z, hc, hc, hc, null, zeros([2, 8], opts), null, 'tanh', 'sigmoid'), /lstmCell backward: dz FLOAT\[2, 8\] must be FLOAT\[2, 12\] for gates FLOAT\[2, 12\]/);
    });
  });

  test('DOUBLE: a 2-layer LSTM network has the CPU\'s score and gradients', () => {
    const data = labelledSequences(4, 7, 3);
    const [onCpu, onGpu] = [cpu, cuda].map((backend) => onBackend(backend, () => doubleScoreAndGradients(lstmNet('DOUBLE', 6), data))) as [ScoreAndGradients, ScoreAndGradients];
    assertSameScoreAndGradients(onCpu, onGpu);
  });

  test('FLOAT: a 2-layer LSTM trains on CUDA through the fused kernels with flat device memory', () => {
    const { x, xShape, y, yShape } = labelledSequences(32, 12, 4);
    onBackend(cuda, () => countingLstmCell(cuda, (calls) => {
      const net = new MultiLayerNetwork(lstmNet('FLOAT', 8)).init();
      const ds = new DataSet(array(x, xShape), array(y, yShape));
      const before = net.score(ds);
      net.fit(ds, 5);
      assert.ok(calls.forward > 0 && calls.backward > 0, `fused calls ${JSON.stringify(calls)}`);
      assertFlatDeviceMemory(cuda, () => net.fit(ds, 55));
      const after = net.score(ds);
      assert.ok(after < before * 0.7, `score ${before} -> ${after}`);
      ds.close();
      net.close();
    }));
  });
});
