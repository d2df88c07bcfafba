/**
 * The CPU backend's fused LSTM cell (native/cpu/lstm.cc through src/backend/cpu/lstm-cell.ts),
 * called directly: h, c and the backward's dz and dcPrev against the float64 plain-JS step of
 * test/lstm-reference.ts computed from the inputs as stored, in every float dtype, for the three
 * activations, with and without the optional operands, at sizes that run on one thread and on
 * several. Then the argument checks: every bad operand is refused with an error naming it, before
 * any memory is touched (views past their buffer, closed buffers, overlapping outputs).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { array, backendByName, scope, zeros, type DataType } from '../src/index.js';
import type { FusedLstmCell, LstmCellActivation, TensorRef } from '../src/backend/backend.js';
import { assertNearValues } from './helpers.js';
import { assertCellNear, cellReference, cellValues, type CellCase, type CellValues } from './lstm-fixture.js';

const cpu = backendByName('cpu');

/** Allowed |got - want| per unit of max(1, |want|): a few roundings of the dtype (16-bit types store c and the gates rounded, and backward reads them back). */
const TOLERANCE: Record<DataType, number> = { DOUBLE: 1e-13, FLOAT: 2e-6, HALF: 2e-3, BFLOAT16: 1.6e-2, INT32: 0, INT64: 0, UINT8: 0, BOOL: 0 };

interface Case extends CellCase {
  readonly n: number;
  readonly units: number;
}

const CASES: readonly Case[] = [
  { name: 'tanh/sigmoid, all operands', n: 5, units: 37, act: 'tanh', gate: 'sigmoid', withPrev: true, withRecurrent: true, loss: 'both' },
  { name: 'first step (no zh, no cPrev)', n: 4, units: 9, act: 'tanh', gate: 'sigmoid', withPrev: false, withRecurrent: false, loss: 'both' },
  { name: 'tanh/hardsigmoid, gradient of h only', n: 3, units: 17, act: 'tanh', gate: 'hardsigmoid', withPrev: true, withRecurrent: true, loss: 'h' },
  { name: 'sigmoid/tanh, gradient of c only', n: 3, units: 8, act: 'sigmoid', gate: 'tanh', withPrev: true, withRecurrent: false, loss: 'c' },
  { name: 'hardsigmoid/sigmoid', n: 2, units: 5, act: 'hardsigmoid', gate: 'sigmoid', withPrev: true, withRecurrent: true, loss: 'both' },
  { name: 'several threads (N 64, H 512)', n: 64, units: 512, act: 'tanh', gate: 'sigmoid', withPrev: true, withRecurrent: true, loss: 'both' },
];

function cell(): FusedLstmCell {
  const k = cpu.lstmCell;
  assert.ok(k, 'the CPU backend has a fused LSTM cell');
  return k;
}

/** Forward and backward through the kernels; the inputs as stored and every result, read back as numbers. */
function run(c: Case, dtype: DataType) {
  const { n, units } = c;
  // wh and wc are the gradients backward receives for h and c.
  const v = cellValues(n, units, 21);
  return scope(() => {
    const opts = { dtype, backend: cpu };
    const zx = array(v.zx, [n, 4 * units], opts);
    const zh = c.withRecurrent ? array(v.zh, [n, 4 * units], opts) : null;
    const cPrev = c.withPrev ? array(v.cPrev, [n, units], opts) : null;
    const dh = c.loss === 'c' ? null : array(v.wh, [n, units], opts);
    const dc = c.loss === 'h' ? null : array(v.wc, [n, units], opts);
    const h = zeros([n, units], opts);
    const cell1 = zeros([n, units], opts);
    const gates = zeros([n, 4 * units], opts);
    const dz = zeros([n, 4 * units], opts);
    const dcPrev = cPrev ? zeros([n, units], opts) : null;
    cell().forward(zx, zh, cPrev, h, cell1, gates, c.act, c.gate);
    cell().backward(gates, cPrev, cell1, dh, dc, dz, dcPrev, c.act, c.gate);
    // The operands the case leaves out stay as drawn: the reference does not read them.
    const stored: CellValues = { zx: zx.toFlatArray(), zh: zh?.toFlatArray() ?? v.zh, cPrev: cPrev?.toFlatArray() ?? v.cPrev, wh: dh?.toFlatArray() ?? v.wh, wc: dc?.toFlatArray() ?? v.wc };
    return { stored, got: { h: h.toFlatArray(), c: cell1.toFlatArray(), dz: dz.toFlatArray(), dzh: null, dcPrev: dcPrev?.toFlatArray() ?? null } };
  });
}

describe('CPU fused LSTM cell (native kernels)', () => {
  test('the CPU backend offers it for the float dtypes only', () => {
    for (const dtype of ['DOUBLE', 'FLOAT', 'HALF', 'BFLOAT16'] as const) assert.ok(cell().supports(dtype), dtype);
    for (const dtype of ['INT32', 'INT64', 'UINT8', 'BOOL'] as const) assert.ok(!cell().supports(dtype), dtype);
  });

  for (const dtype of ['DOUBLE', 'FLOAT', 'HALF', 'BFLOAT16'] as const) {
    for (const c of CASES) {
      test(`${dtype} ${c.name}: h, c, dz and dcPrev equal the float64 reference`, () => {
        const { stored, got } = run(c, dtype);
        assertCellNear(cellReference(c, c.n, c.units, stored), got, TOLERANCE[dtype], `${dtype} ${c.name}`);
      });
    }
  }

  test('hardsigmoid\'s slope is 0 at its kinks and beyond, 0.2 strictly between (as the hardsigmoidGrad op)', () => {
    // One unit: z_a = 0 (a = 0), z_f = -2.5 (f = 0, a kink), z_o = 2.5 (o = 1, a kink), z_g = 1 (inside).
    scope(() => {
      const opts = { dtype: 'DOUBLE' as const, backend: cpu };
      const zx = array([0.3, -2.5, 2.5, 1], [1, 4], opts);
      const cPrev = array([0.7], [1, 1], opts);
      const [h, c, gates, dz, dcPrev] = [zeros([1, 1], opts), zeros([1, 1], opts), zeros([1, 4], opts), zeros([1, 4], opts), zeros([1, 1], opts)];
      cell().forward(zx, null, cPrev, h, c, gates, 'hardsigmoid', 'hardsigmoid');
      assert.deepEqual(gates.toFlatArray(), [0.2 * 0.3 + 0.5, 0, 1, 0.7]);
      cell().backward(gates, cPrev, c, array([1], [1, 1], opts), null, dz, dcPrev, 'hardsigmoid', 'hardsigmoid');
      const [dza, dzf, dzo, dzg] = dz.toFlatArray() as [number, number, number, number];
      assert.equal(dzf, 0, 'at the lower kink');
      assert.equal(dzo, 0, 'at the upper kink');
      // c = g * a = 0.7 * 0.56 (f = 0), act(c) inside (0, 1): dc = dh * o * 0.2 = 0.2; dz_a = dc * g * 0.2, dz_g = dc * a * 0.2.
      assertNearValues([0.2 * 0.7 * 0.2, 0.2 * 0.56 * 0.2], [dza, dzg], 1e-15, 'inside the kinks');
    });
  });
});

describe('CPU fused LSTM cell: argument checks', () => {
  const opts = { dtype: 'FLOAT' as const, backend: cpu };
  const act: LstmCellActivation = 'tanh';
  const gate: LstmCellActivation = 'sigmoid';

  test('wrong shapes, dtypes, strides and activations are refused with the operand named', () => {
    scope(() => {
      const k = cell();
      const z = zeros([2, 12], opts);
      const hc = zeros([2, 3], opts);
      const hc2 = zeros([2, 3], opts);
      const g = zeros([2, 12], opts);
      assert.throws(() => k.forward(z, null, null, zeros([2, 4], opts), hc, g, act, gate), /dl4ts cpu lstmCellForward: h FLOAT\[2,4\] must be FLOAT\[2,3\] for zx FLOAT\[2,12\]/);
      assert.throws(() => k.forward(zeros([2, 10], opts), null, null, hc, hc2, g, act, gate), /lstmCellForward: zx FLOAT\[2,10\] must be \[N, 4H\]/);
      assert.throws(() => k.forward(z, zeros([2, 12], { ...opts, dtype: 'HALF' }), null, hc, hc2, g, act, gate), /lstmCellForward: zh HALF\[2,12\] must be FLOAT\[2,12\]/);
      assert.throws(() => k.forward(z, null, zeros([3, 2], opts).transpose(), hc, hc2, g, act, gate), /lstmCellForward: cPrev FLOAT\[2,3\] must be contiguous/);
      assert.throws(() => k.forward(zeros([2, 12], { ...opts, dtype: 'INT32' }), null, null, hc, hc2, g, act, gate), /lstmCellForward: zx INT32\[2,12\] must be a floating type/);
      assert.throws(() => k.forward(z, null, null, hc, hc2, g, 'relu' as LstmCellActivation, gate), /lstmCellForward: unsupported activation 'relu' \(expected tanh, sigmoid or hardsigmoid\)/);
      assert.throws(() => k.forward(z, null, null, hc, hc2, g, act, 'softsign' as LstmCellActivation), /lstmCellForward: unsupported gate activation 'softsign'/);
      assert.throws(() => k.backward(g, null, hc, hc2, null, z, zeros([2, 3], opts), act, gate), /lstmCellBackward: dcPrev FLOAT\[2,3\] was given without cPrev/);
      assert.throws(() => k.backward(g, hc, hc, hc2, null, zeros([2, 8], opts), null, act, gate), /lstmCellBackward: dz FLOAT\[2,8\] must be FLOAT\[2,12\] for gates FLOAT\[2,12\]/);
    });
  });

  test('outputs that overlap an operand are refused (rows are read and written in one pass)', () => {
    scope(() => {
      const k = cell();
      const z = zeros([2, 12], opts);
      const hc = zeros([2, 3], opts);
      const g = zeros([2, 12], opts);
      assert.throws(() => k.forward(z, null, null, hc, hc, g, act, gate), /lstmCellForward: h overlaps c/);
      assert.throws(() => k.forward(z, null, null, hc, zeros([2, 3], opts), z, act, gate), /lstmCellForward: gates overlaps zx/);
      // dz aliasing the saved gates it reads.
      assert.throws(() => k.backward(g, null, hc, null, null, g, null, act, gate), /lstmCellBackward: dz overlaps gates/);
    });
  });

  test('views past the end of their buffer and closed buffers throw instead of touching memory', () => {
    const k = cell();
    scope(() => {
      const z = zeros([2, 12], opts);
      const hc = zeros([2, 3], opts);
      const c = zeros([2, 3], opts);
      const g = zeros([2, 12], opts);
      const past: TensorRef = { buffer: hc.buffer, dtype: 'FLOAT', offset: 4, shape: [2, 3], strides: [3, 1] };
      assert.throws(() => k.forward(z, null, null, past, c, g, act, gate), /lstmCellForward: tensor 'h' FLOAT\[2,3\] reaches element 9 but its buffer holds 6/);
      assert.throws(() => k.backward(g, null, c, null, past, zeros([2, 12], opts), null, act, gate), /lstmCellBackward: tensor 'dc' FLOAT\[2,3\] reaches element 9/);
      // A FLOAT view of a HALF buffer's bytes is twice too long.
      const half = zeros([2, 12], { ...opts, dtype: 'HALF' });
      const asFloat: TensorRef = { buffer: half.buffer, dtype: 'FLOAT', offset: 0, shape: [2, 12], strides: [12, 1] };
      assert.throws(() => k.forward(asFloat, null, null, hc, c, g, act, gate), /tensor 'zx' FLOAT\[2,12\] reaches element 23 but its buffer holds 12/);
    });
    const closed = zeros([2, 12], opts);
    const ref: TensorRef = { buffer: closed.buffer, dtype: 'FLOAT', offset: 0, shape: [2, 12], strides: [12, 1] };
    closed.close();
    scope(() => {
      assert.throws(() => k.forward(ref, null, null, zeros([2, 3], opts), zeros([2, 3], opts), zeros([2, 12], opts), act, gate), /lstmCellForward: tensor 'zx': its buffer was already released/);
    });
  });

  test('empty batches and zero units are accepted and write nothing', () => {
    scope(() => {
      const k = cell();
      const e = zeros([0, 12], opts);
      const eh = zeros([0, 3], opts);
      k.forward(e, null, null, eh, zeros([0, 3], opts), zeros([0, 12], opts), act, gate);
      const z0 = zeros([2, 0], opts);
      k.backward(z0, null, zeros([2, 0], opts), null, null, zeros([2, 0], opts), null, act, gate);
    });
  });
});
