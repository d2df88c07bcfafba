// lstmCell (src/ops/lstm-cell.ts) against a float64 plain-JS step (test/lstm-reference.ts): values
// and gradients of z, the recurrent part and cPrev, with the loss on h, on c or on both; DOUBLE
// gradient checks. Every path runs here: the composed ops (the CPU's fused cell taken away for the
// test), the CPU's native fused kernels, and the fused path through a stand-in FusedLstmCell written
// in JS and put on the CPU backend for the test, which checks what the op hands the kernels and how
// it records the two outputs (the native kernels are tested in test/cpu-lstm-cell.test.ts, the CUDA
// ones in test/gpu/lstm-cell.test.ts). The LSTM layer gets the same gradients from every path.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  add, array, DataSet, getBackend, gradCheck, lstmCell, memoryReport, MultiLayerNetwork, mul, scope, stack, sum, tanh,
  type Backend, type DataType, type NDArray,
} from '../src/index.js';
import type { FusedLstmCell, LstmCellActivation, TensorRef } from '../src/backend/backend.js';
import { isContiguous } from '../src/ndarray/shape.js';
import { Rng, assertClose } from './helpers.js';
import { cellReference, cellValues, withBackendMember, type CellCase, type CellValues } from './lstm-fixture.js';
import { lstmCellReference, type CellKind } from './lstm-reference.js';

const N = 3;
const H = 4;

const CASES: readonly CellCase[] = [
  { name: 'tanh/sigmoid, cPrev and recurrent part, loss on h and c', act: 'tanh', gate: 'sigmoid', withPrev: true, withRecurrent: true, loss: 'both' },
  { name: 'tanh/sigmoid, first step (no cPrev, no recurrent part)', act: 'tanh', gate: 'sigmoid', withPrev: false, withRecurrent: false, loss: 'both' },
  { name: 'tanh/hardsigmoid, loss on h only', act: 'tanh', gate: 'hardsigmoid', withPrev: true, withRecurrent: true, loss: 'h' },
  { name: 'sigmoid/tanh, loss on c only', act: 'sigmoid', gate: 'tanh', withPrev: true, withRecurrent: false, loss: 'c' },
  { name: 'hardsigmoid/sigmoid, no recurrent part', act: 'hardsigmoid', gate: 'sigmoid', withPrev: true, withRecurrent: false, loss: 'both' },
];

function inputs(seed: number): CellValues {
  return cellValues(N, H, seed);
}

/** The step on `backend`'s arrays in `dtype`, with the loss sum(h * wh) + sum(c * wc) (per c.loss); everything read back. */
function runCell(c: CellCase, v: CellValues, dtype: DataType, options: { stridedZ?: boolean; functionActivation?: boolean } = {}) {
  return scope(() => {
    const opts = { dtype };
    // A strided z: the transpose of a [4H, N] array.
    const zx = (options.stridedZ ? array(transposeValues(v.zx, N, 4 * H), [4 * H, N], opts).transpose() : array(v.zx, [N, 4 * H], opts)).requireGrad();
    const zh = c.withRecurrent ? array(v.zh, [N, 4 * H], opts).requireGrad() : null;
    const cPrev = c.withPrev ? array(v.cPrev, [N, H], opts).requireGrad() : null;
    const act = options.functionActivation ? (x: NDArray) => tanh(x) : c.act;
    const [h, cell] = lstmCell(zx, cPrev, { activation: act, gateActivation: c.gate, recurrent: zh });
    const terms = [
      ...(c.loss === 'c' ? [] : [sum(mul(h, array(v.wh, [N, H], opts)))]),
      ...(c.loss === 'h' ? [] : [sum(mul(cell, array(v.wc, [N, H], opts)))]),
    ];
    (terms.length === 2 ? add(terms[0]!, terms[1]!) : terms[0]!).backward();
    return {
      h: h.toFlatArray(), c: cell.toFlatArray(), dzx: zx.grad!.toFlatArray(),
      dzh: zh?.grad?.toFlatArray() ?? null, dcPrev: cPrev?.grad?.toFlatArray() ?? null,
    };
  });
}

function transposeValues(values: readonly number[], rows: number, cols: number): number[] {
  return Array.from({ length: rows * cols }, (_, k) => values[(k % rows) * cols + Math.floor(k / rows)]!);
}

function checkAgainstReference(c: CellCase, v: CellValues, got: ReturnType<typeof runCell>, rtol: number): void {
  const want = cellReference(c, N, H, v);
  const o = { rtol, atol: rtol };
  assertClose(got.h, want.h, { ...o, message: 'h' });
  assertClose(got.c, want.c, { ...o, message: 'c' });
  assertClose(got.dzx, want.dz, { ...o, message: 'dz' });
  if (c.withRecurrent) assertClose(got.dzh!, want.dz, { ...o, message: 'd recurrent' });
  if (c.withPrev) assertClose(got.dcPrev!, want.dcPrev, { ...o, message: 'dcPrev' });
}

/** The step's h and c stacked: one DOUBLE output for gradCheck, so both outputs' gradients are checked. */
function checkGradients(c: CellCase, seed: number): void {
  const v = inputs(seed);
  const opts = { dtype: 'DOUBLE' as const };
  const args = [array(v.zx, [N, 4 * H], opts), ...(c.withRecurrent ? [array(v.zh, [N, 4 * H], opts)] : []), ...(c.withPrev ? [array(v.cPrev, [N, H], opts)] : [])];
  const result = gradCheck((...xs: NDArray[]) => {
    const [h, cell] = lstmCell(xs[0]!, c.withPrev ? xs[xs.length - 1]! : null, { activation: c.act, gateActivation: c.gate, recurrent: c.withRecurrent ? xs[1]! : null });
    return stack([h, cell]);
  }, args);
  assert.ok(result.passed, `max relative error ${result.maxRelError} at ${JSON.stringify(result.worst)}`);
  for (const a of args) a.close();
}

// ---- a FusedLstmCell in JS on the CPU backend, for the op's fused path ----

function bytesOf(t: TensorRef): number {
  return t.dtype === 'DOUBLE' ? 8 : 4;
}

function readRef(b: Backend, t: TensorRef): number[] {
  const n = t.shape.reduce((a, d) => a * d, 1);
  const out = t.dtype === 'DOUBLE' ? new Float64Array(n) : new Float32Array(n);
  b.read(t.buffer, t.offset * bytesOf(t), out);
  return Array.from(out);
}

function writeRef(b: Backend, t: TensorRef, values: readonly number[]): void {
  b.write(t.buffer, t.offset * bytesOf(t), t.dtype === 'DOUBLE' ? Float64Array.from(values) : Float32Array.from(values));
}

/**
 * Keeps the pre-activations z in its `gates` buffer (the buffer's layout is the kernel's own
 * business) and runs the reference; asserts the operand contract of Backend.lstmCell.
 */
class JsLstmCell implements FusedLstmCell {
  forwards = 0;
  backwards = 0;
  constructor(private readonly b: Backend) {}

  supports(dtype: DataType): boolean {
    return dtype === 'DOUBLE' || dtype === 'FLOAT';
  }

  private checkOperands(dtype: DataType, n: number, units: number, operands: readonly (readonly [TensorRef | null, number])[]): void {
    for (const [t, width] of operands) {
      if (!t) continue;
      assert.equal(t.dtype, dtype);
      assert.deepEqual([...t.shape], [n, width * units]);
      assert.ok(isContiguous(t.shape, t.strides), 'operands are contiguous');
    }
  }

  forward(zx: TensorRef, zh: TensorRef | null, cPrev: TensorRef | null, h: TensorRef, c: TensorRef, gates: TensorRef, activation: LstmCellActivation, gate: LstmCellActivation): void {
    const [n, width] = zx.shape as [number, number];
    this.checkOperands(zx.dtype, n, width / 4, [[zx, 4], [zh, 4], [cPrev, 1], [h, 1], [c, 1], [gates, 4]]);
    this.forwards++;
    const zhv = zh ? readRef(this.b, zh) : null;
    const z = readRef(this.b, zx).map((x, i) => x + (zhv ? zhv[i]! : 0));
    const r = lstmCellReference(z, cPrev ? readRef(this.b, cPrev) : null, n, width / 4, activation, gate, null, null);
    writeRef(this.b, h, r.h);
    writeRef(this.b, c, r.c);
    writeRef(this.b, gates, z);
  }

  backward(gates: TensorRef, cPrev: TensorRef | null, c: TensorRef, dh: TensorRef | null, dc: TensorRef | null, dz: TensorRef, dcPrev: TensorRef | null, activation: LstmCellActivation, gate: LstmCellActivation): void {
    const [n, width] = gates.shape as [number, number];
    this.checkOperands(gates.dtype, n, width / 4, [[gates, 4], [cPrev, 1], [c, 1], [dh, 1], [dc, 1], [dz, 4], [dcPrev, 1]]);
    this.backwards++;
    const r = lstmCellReference(readRef(this.b, gates), cPrev ? readRef(this.b, cPrev) : null, n, width / 4, activation, gate,
      dh ? readRef(this.b, dh) : null, dc ? readRef(this.b, dc) : null);
    writeRef(this.b, dz, r.dz);
    if (dcPrev) writeRef(this.b, dcPrev, r.dcPrev);
  }
}

/** Runs fn with `cell` in place of the CPU backend's own lstmCell (null: none, the composed ops). */
function withCpuCell<T>(cell: FusedLstmCell | null, fn: () => T): T {
  const cpu = getBackend();
  assert.ok(cpu.lstmCell, 'the CPU backend has a fused LSTM cell of its own');
  return withBackendMember(cpu, 'lstmCell', cell, fn);
}

/** Runs fn with a JsLstmCell as the CPU backend's lstmCell. */
function withJsCell<T>(fn: (cell: JsLstmCell) => T): T {
  const cell = new JsLstmCell(getBackend());
  return withCpuCell(cell, () => fn(cell));
}

/** Runs fn on the composed ops. */
function composed<T>(fn: () => T): T {
  return withCpuCell(null, fn);
}

for (const [path, on] of [['composed from ops', composed], ['the CPU\'s native fused kernels', <T>(fn: () => T): T => fn()]] as const) {
  describe(`lstmCell, ${path}`, () => {
    for (const [dtype, rtol] of [['DOUBLE', 1e-12], ['FLOAT', 2e-5]] as const) {
      for (const c of CASES) {
        test(`${dtype} ${c.name}: values and gradients equal the float64 reference`, () => {
          const v = inputs(1);
          checkAgainstReference(c, v, on(() => runCell(c, v, dtype)), rtol);
        });
      }
    }
    test('a strided z gives the same results', () => {
      const v = inputs(2);
      checkAgainstReference(CASES[0]!, v, on(() => runCell(CASES[0]!, v, 'DOUBLE', { stridedZ: true })), 1e-12);
    });
    for (const c of CASES) {
      test(`DOUBLE gradient check: ${c.name}`, () => on(() => checkGradients(c, 3)));
    }
  });
}

describe('lstmCell, fused path (a JS stand-in for the kernels)', () => {
  for (const [dtype, rtol] of [['DOUBLE', 1e-12], ['FLOAT', 2e-5]] as const) {
    for (const c of CASES) {
      test(`${dtype} ${c.name}: one kernel call each way, values and gradients equal the reference`, () => {
        const v = inputs(4);
        withJsCell((cell) => {
          checkAgainstReference(c, v, runCell(c, v, dtype), rtol);
          assert.equal(cell.forwards, 1);
          assert.equal(cell.backwards, 1);
        });
      });
    }
  }
  test('a strided z is packed for the kernels', () => {
    const v = inputs(5);
    withJsCell((cell) => {
      checkAgainstReference(CASES[0]!, v, runCell(CASES[0]!, v, 'DOUBLE', { stridedZ: true }), 1e-12);
      assert.equal(cell.forwards, 1);
    });
  });
  test('an activation given as a function takes the composed path', () => {
    const v = inputs(6);
    withJsCell((cell) => {
      checkAgainstReference(CASES[0]!, v, runCell(CASES[0]!, v, 'DOUBLE', { functionActivation: true }), 1e-12);
      assert.equal(cell.forwards, 0);
    });
  });
  for (const c of CASES) {
    test(`DOUBLE gradient check: ${c.name}`, () => withJsCell((cell) => {
      checkGradients(c, 7);
      assert.ok(cell.backwards >= 1);
    }));
  }
  test('memory stays flat over repeated steps with backward', () => {
    const v = inputs(8);
    withJsCell(() => {
      runCell(CASES[0]!, v, 'FLOAT');
      const before = memoryReport();
      for (let i = 0; i < 5; i++) runCell(CASES[0]!, v, 'FLOAT');
      const after = memoryReport();
      assert.equal(after.arrays, before.arrays);
      assert.equal(after.totalBytes, before.totalBytes);
    });
  });
});

describe('lstmCell backward twice (retainGraph)', () => {
  for (const fused of [false, true]) {
    test(`${fused ? 'fused' : 'composed'}: a second backward over the retained graph adds the same gradients again`, () => {
      const v = inputs(10);
      const c = CASES[0]!;
      const once = composed(() => runCell(c, v, 'DOUBLE'));
      const body = (): number[][] => scope(() => {
        const opts = { dtype: 'DOUBLE' as const };
        const zx = array(v.zx, [N, 4 * H], opts).requireGrad();
        const zh = array(v.zh, [N, 4 * H], opts).requireGrad();
        const cPrev = array(v.cPrev, [N, H], opts).requireGrad();
        const [h, cell] = lstmCell(zx, cPrev, { activation: c.act, gateActivation: c.gate, recurrent: zh });
        const loss = add(sum(mul(h, array(v.wh, [N, H], opts))), sum(mul(cell, array(v.wc, [N, H], opts))));
        loss.backward(undefined, { retainGraph: true });
        loss.backward();
        return [zx.grad!.toFlatArray(), zh.grad!.toFlatArray(), cPrev.grad!.toFlatArray()];
      });
      const [dzx, dzh, dcPrev] = fused ? withJsCell(body) : composed(body);
      const twice = (g: readonly number[]): number[] => g.map((x) => 2 * x);
      assertClose(dzx!, twice(once.dzx), { rtol: 1e-12, atol: 1e-14 });
      assertClose(dzh!, twice(once.dzh!), { rtol: 1e-12, atol: 1e-14 });
      assertClose(dcPrev!, twice(once.dcPrev!), { rtol: 1e-12, atol: 1e-14 });
    });
  }
});

describe('lstmCell errors', () => {
  test('bad operands are named with their shapes and dtypes', () => {
    scope(() => {
      const z = array(new Array<number>(24).fill(0), [2, 12]);
      const opts = { activation: 'tanh', gateActivation: 'sigmoid' } as const;
      assert.throws(() => lstmCell(array(new Array<number>(10).fill(0), [2, 5]), null, opts), /lstmCell: expected pre-activations z of shape \[N, 4H\], got FLOAT\[2, 5\]/);
      assert.throws(() => lstmCell(z, array([0, 0, 0, 0], [2, 2]), opts), /lstmCell: expected cPrev of shape \[2, 3\] and dtype FLOAT .* got FLOAT\[2, 2\]/);
      assert.throws(() => lstmCell(z, null, { ...opts, recurrent: array(new Array<number>(24).fill(0), [2, 12], { dtype: 'DOUBLE' }) }),
        /lstmCell: expected the recurrent part of shape \[2, 12\] and dtype FLOAT .* got DOUBLE\[2, 12\]/);
      assert.throws(() => lstmCell(z, null, { activation: 'relu' as CellKind, gateActivation: 'sigmoid' }), /lstmCell: activation must be one of tanh, sigmoid, hardsigmoid or a function, got relu/);
    });
  });
});

describe('the LSTM layer on either path', () => {
  function gradients(gate: 'sigmoid' | 'hardsigmoid' | 'softsign'): { score: number; grads: number[] } {
    const rng = new Rng(9);
    const n = 3;
    const t = 5;
    const net = new MultiLayerNetwork({
      seed: 2, dataType: 'DOUBLE',
      layers: [
        { type: 'lstm', nIn: 2, nOut: 4, gateActivationFunction: gate },
        { type: 'lstm', nOut: 3 },
        { type: 'rnnOutput', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
      ],
    }).init();
    const x = array(Array.from({ length: n * 2 * t }, () => rng.uniform(-1, 1)), [n, 2, t], { dtype: 'DOUBLE' });
    const y = array(Array.from({ length: n * t }, () => rng.int(0, 2)).flatMap((k) => (k ? [0, 1] : [1, 0])), [n, t, 2], { dtype: 'DOUBLE' }).permute(0, 2, 1);
    const ds = new DataSet(x, y.dup());
    const score = net.computeGradientAndScore(ds);
    const grads = [...net.gradient().values()].flatMap((g) => g.toFlatArray());
    ds.close();
    y.close();
    net.close();
    return { score, grads };
  }

  for (const gate of ['sigmoid', 'hardsigmoid', 'softsign'] as const) {
    test(`gate ${gate}: the fused paths (JS stand-in, native) give the composed path's score and gradients`, () => {
      const base = composed(() => gradients(gate));
      const fused = withJsCell((cell) => {
        const r = gradients(gate);
        // softsign is not a kernel activation: only the second layer (sigmoid gates) is fused.
        assert.ok(cell.forwards > 0 && cell.backwards > 0);
        return r;
      });
      for (const [name, r] of [['JS stand-in', fused], ['native', gradients(gate)]] as const) {
        assertClose([r.score], [base.score], { rtol: 1e-12, message: `${name} score` });
        assertClose(r.grads, base.grads, { rtol: 1e-10, atol: 1e-12, message: `${name} gradients` });
      }
    });
  }
});
