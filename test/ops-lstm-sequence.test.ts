// lstmSequence (src/ops/lstm-sequence.ts): a whole LSTM sequence as one autograd node of backend
// kernels. Values and the gradients of zx, rw, h0 and c0 against a float64 plain-JS LSTM run
// through time (test/lstm-sequence-reference.ts), forwards and in reverse, with and without an
// initial state, with the loss on the outputs of every step, the final h, the final c or all;
// the kernel calls a sequence takes (one cell call per step each way, no per-step ops); DOUBLE
// gradient checks by central differences; the composed fallback (no fused cell, activations given
// as functions) and the per-step composition of matmul + lstmCell give the same; errors.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  add, array, concat, getBackend, gradCheck, lstmCell, lstmSequence, matmul, memoryReport, mul, reshape, scope, stack, sum, tanh,
  type DataType, type NDArray,
} from '../src/index.js';
import type { Backend } from '../src/backend/backend.js';
import { unstack } from '../src/ops/unstack.js';
import { Rng, assertNearValues } from './helpers.js';
import { countingLstmCell, withBackendMember, type CellCalls } from './lstm-fixture.js';
import type { CellKind } from './lstm-reference.js';
import { lstmSequenceReference, type SequenceInputs, type SequenceLoss } from './lstm-sequence-reference.js';

const cpu = getBackend();

interface Case {
  readonly name: string;
  readonly t: number;
  readonly n: number;
  readonly units: number;
  readonly act: CellKind;
  readonly gate: CellKind;
  readonly reverse: boolean;
  readonly withH0: boolean;
  readonly withC0: boolean;
  /** Which outputs the loss reads. */
  readonly loss: 'hs' | 'h' | 'c' | 'all';
}

const CASES: readonly Case[] = [
  { name: 'forwards, initial state, loss on everything', t: 5, n: 3, units: 4, act: 'tanh', gate: 'sigmoid', reverse: false, withH0: true, withC0: true, loss: 'all' },
  { name: 'forwards from zeros, loss on the outputs', t: 6, n: 2, units: 5, act: 'tanh', gate: 'sigmoid', reverse: false, withH0: false, withC0: false, loss: 'hs' },
  { name: 'reverse, initial state, loss on everything', t: 5, n: 3, units: 4, act: 'tanh', gate: 'hardsigmoid', reverse: true, withH0: true, withC0: true, loss: 'all' },
  { name: 'reverse from zeros, loss on the final h', t: 4, n: 2, units: 3, act: 'tanh', gate: 'sigmoid', reverse: true, withH0: false, withC0: false, loss: 'h' },
  { name: 'h0 only, loss on the final c', t: 4, n: 2, units: 3, act: 'sigmoid', gate: 'tanh', reverse: false, withH0: true, withC0: false, loss: 'c' },
  { name: 'c0 only, reverse, loss on everything', t: 3, n: 2, units: 3, act: 'hardsigmoid', gate: 'sigmoid', reverse: true, withH0: false, withC0: true, loss: 'all' },
  { name: 'one step', t: 1, n: 3, units: 4, act: 'tanh', gate: 'sigmoid', reverse: false, withH0: true, withC0: true, loss: 'all' },
  { name: 'one step from zeros', t: 1, n: 3, units: 4, act: 'tanh', gate: 'sigmoid', reverse: true, withH0: false, withC0: false, loss: 'all' },
];

interface Values extends SequenceInputs, SequenceLoss {}

function values(c: Case, seed: number): Values {
  const rng = new Rng(seed);
  const vec = (len: number, lo: number, hi: number): number[] => Array.from({ length: len }, () => rng.uniform(lo, hi));
  const { t, n, units } = c;
  return {
    t, n, units,
    zx: vec(t * n * 4 * units, -2, 2), rw: vec(units * 4 * units, -0.8, 0.8),
    h0: c.withH0 ? vec(n * units, -1, 1) : null, c0: c.withC0 ? vec(n * units, -1.5, 1.5) : null,
    whs: c.loss === 'hs' || c.loss === 'all' ? vec(t * n * units, -1, 1) : null,
    wh: c.loss === 'h' || c.loss === 'all' ? vec(n * units, -1, 1) : null,
    wc: c.loss === 'c' || c.loss === 'all' ? vec(n * units, -1, 1) : null,
  };
}

type Runner = (zx: NDArray, rw: NDArray, h0: NDArray | null, c0: NDArray | null, c: Case) => { hs: NDArray; h: NDArray; c: NDArray };

const viaSequence: Runner = (zx, rw, h0, c0, c) => lstmSequence(zx, rw, h0, c0, { activation: c.act, gateActivation: c.gate, reverse: c.reverse });

/** The per-step composition a layer records: matmul of the previous h, then lstmCell, at every step. */
const viaSteps: Runner = (zx, rw, h0, c0, c) => {
  const steps = unstack(zx, 0);
  const outs = new Array<NDArray>(c.t);
  let h = h0;
  let cell = c0;
  for (let k = 0; k < c.t; k++) {
    const s = c.reverse ? c.t - 1 - k : k;
    [h, cell] = lstmCell(steps[s]!, cell, { activation: c.act, gateActivation: c.gate, recurrent: h ? matmul(h, rw) : null });
    outs[s] = h;
  }
  return { hs: stack(outs, 0), h: h!, c: cell! };
};

/** Runs forward and backward in `dtype`; the inputs as stored and every result read back. */
function run(c: Case, v: Values, dtype: DataType, runner: Runner = viaSequence) {
  return scope(() => {
    const opts = { dtype };
    const { t, n, units } = c;
    const zx = array(v.zx, [t, n, 4 * units], opts).requireGrad();
    const rw = array(v.rw, [units, 4 * units], opts).requireGrad();
    const h0 = v.h0 ? array(v.h0, [n, units], opts).requireGrad() : null;
    const c0 = v.c0 ? array(v.c0, [n, units], opts).requireGrad() : null;
    const out = runner(zx, rw, h0, c0, c);
    const terms = [
      ...(v.whs ? [sum(mul(out.hs, array(v.whs, [t, n, units], opts)))] : []),
      ...(v.wh ? [sum(mul(out.h, array(v.wh, [n, units], opts)))] : []),
      ...(v.wc ? [sum(mul(out.c, array(v.wc, [n, units], opts)))] : []),
    ];
    terms.reduce((a, b) => add(a, b)).backward();
    return {
      stored: { ...v, zx: zx.toFlatArray(), rw: rw.toFlatArray(), h0: h0?.toFlatArray() ?? null, c0: c0?.toFlatArray() ?? null },
      got: {
        hs: out.hs.toFlatArray(), h: out.h.toFlatArray(), c: out.c.toFlatArray(), dzx: zx.grad!.toFlatArray(), drw: rw.grad!.toFlatArray(),
        dh0: h0?.grad?.toFlatArray() ?? null, dc0: c0?.grad?.toFlatArray() ?? null,
      },
    };
  });
}

function checkAgainstReference(c: Case, r: ReturnType<typeof run>, tol: number): void {
  const want = lstmSequenceReference(r.stored, c.act, c.gate, c.reverse, r.stored);
  const { got } = r;
  assertNearValues(want.hs, got.hs, tol, 'hs');
  assertNearValues(want.h, got.h, tol, 'h');
  assertNearValues(want.c, got.c, tol, 'c');
  assertNearValues(want.dzx, got.dzx, tol, 'dzx');
  assertNearValues(want.drw, got.drw, tol, 'drw');
  if (c.withH0) assertNearValues(want.dh0, got.dh0!, tol, 'dh0');
  if (c.withC0) assertNearValues(want.dc0, got.dc0!, tol, 'dc0');
}

interface Calls {
  readonly cell: CellCalls;
  matmul: number;
}

/** Runs fn with the CPU backend's lstmCell and matmul counting their calls (cell: null takes the fused cell away). */
function counting<T>(fn: (calls: Calls) => T): T {
  return countingLstmCell(cpu, (cellCalls) => {
    const calls: Calls = { cell: cellCalls, matmul: 0 };
    const matmulOf = cpu.matmul.bind(cpu);
    const countingMatmul: Backend['matmul'] = (...args) => (calls.matmul++, matmulOf(...args));
    return withBackendMember(cpu, 'matmul', countingMatmul, () => fn(calls));
  });
}

describe('lstmSequence on the CPU\'s fused cell', () => {
  for (const [dtype, tol] of [['DOUBLE', 1e-12], ['FLOAT', 1e-6]] as const) {
    for (const c of CASES) {
      test(`${dtype} ${c.name}: values and gradients equal the float64 reference`, () => {
        checkAgainstReference(c, run(c, values(c, 1), dtype), tol);
      });
    }
  }

  // The 16-bit types round every step's h, c and gates (and backward reads them back): errors grow over the steps.
  for (const [dtype, tol] of [['HALF', 2e-3], ['BFLOAT16', 2e-2]] as const) {
    test(`${dtype}: values and gradients near the float64 reference from the stored inputs`, () => {
      checkAgainstReference(CASES[0]!, run(CASES[0]!, values(CASES[0]!, 2), dtype), tol);
      checkAgainstReference(CASES[2]!, run(CASES[2]!, values(CASES[2]!, 2), dtype), tol);
    });
  }

  test('one cell call per step each way; matmuls: one per recurrent step forward, one per step back plus the weight gradient', () => {
    for (const c of [CASES[0]!, CASES[1]!, CASES[3]!]) {
      const calls = counting((calls) => {
        run(c, values(c, 3), 'FLOAT');
        return calls;
      });
      const forwardMatmuls = c.t - 1 + (c.withH0 ? 1 : 0);
      // Backward: dh of every step but the last read, dRW over all steps (one more for h0), dh0.
      const backwardMatmuls = c.t - 1 + 1 + (c.withH0 ? 2 : 0);
      assert.deepEqual(calls, { cell: { forward: c.t, backward: c.t }, matmul: forwardMatmuls + backwardMatmuls }, c.name);
    }
  });

  test('equals the per-step composition of matmul and lstmCell (FLOAT, values and gradients)', () => {
    for (const c of [CASES[0]!, CASES[2]!, CASES[4]!]) {
      const v = values(c, 4);
      const seq = run(c, v, 'FLOAT').got;
      const steps = run(c, v, 'FLOAT', viaSteps).got;
      for (const key of ['hs', 'h', 'c', 'dzx', 'drw', 'dh0', 'dc0'] as const) {
        if (seq[key] || steps[key]) assertNearValues(steps[key]!, seq[key]!, 1e-5, `${c.name} ${key}`);
      }
    }
  });

  test('a strided zx and strided initial state give the same results', () => {
    const c = CASES[2]!;
    const v = values(c, 5);
    const want = run(c, v, 'DOUBLE').got;
    const strided: Runner = (zx, rw, h0, c0, cc) => {
      // zx as a permuted copy seen through a view, h0 and c0 as transposes.
      const zxs = zx.permute(1, 0, 2).dup().permute(1, 0, 2);
      return viaSequence(zxs, rw, h0 ? h0.transpose().dup().transpose() : null, c0 ? c0.transpose().dup().transpose() : null, cc);
    };
    const got = run(c, v, 'DOUBLE', strided).got;
    for (const key of ['hs', 'h', 'c', 'dzx', 'drw', 'dh0', 'dc0'] as const) assertNearValues(want[key]!, got[key]!, 1e-13, key);
  });

  test('backward twice over a retained graph adds the same gradients again', () => {
    const c = CASES[0]!;
    const v = values(c, 6);
    const once = run(c, v, 'DOUBLE').got;
    const twice = scope(() => {
      const opts = { dtype: 'DOUBLE' as const };
      const zx = array(v.zx, [c.t, c.n, 4 * c.units], opts).requireGrad();
      const rw = array(v.rw, [c.units, 4 * c.units], opts).requireGrad();
      const h0 = array(v.h0!, [c.n, c.units], opts).requireGrad();
      const c0 = array(v.c0!, [c.n, c.units], opts).requireGrad();
      const out = viaSequence(zx, rw, h0, c0, c);
      const loss = add(add(sum(mul(out.hs, array(v.whs!, [c.t, c.n, c.units], opts))), sum(mul(out.h, array(v.wh!, [c.n, c.units], opts)))), sum(mul(out.c, array(v.wc!, [c.n, c.units], opts))));
      loss.backward(undefined, { retainGraph: true });
      loss.backward();
      return [zx, rw, h0, c0].map((x) => x.grad!.toFlatArray());
    });
    [once.dzx, once.drw, once.dh0!, once.dc0!].forEach((g, i) => assertNearValues(g.map((x) => 2 * x), twice[i]!, 1e-12, `input ${i}`));
  });

  test('without gradients nothing is recorded and the outputs are plain arrays', () => {
    scope(() => {
      const c = CASES[0]!;
      const v = values(c, 7);
      const out = lstmSequence(array(v.zx, [c.t, c.n, 4 * c.units]), array(v.rw, [c.units, 4 * c.units]), null, null, { activation: 'tanh', gateActivation: 'sigmoid' });
      assert.equal(out.hs.gradNode, null);
      assert.equal(out.h.gradNode, null);
      assert.deepEqual([...out.hs.shape, ...out.h.shape, ...out.c.shape], [c.t, c.n, c.units, c.n, c.units, c.n, c.units]);
    });
  });

  test('memory stays flat over repeated forward and backward passes', () => {
    const c = CASES[0]!;
    const v = values(c, 8);
    run(c, v, 'FLOAT');
    const before = memoryReport();
    for (let i = 0; i < 5; i++) run(c, v, 'FLOAT');
    const after = memoryReport();
    assert.equal(after.arrays, before.arrays);
    assert.equal(after.totalBytes, before.totalBytes);
  });
});

describe('lstmSequence composed from ops', () => {
  test('without a fused cell (composed steps): the reference values and gradients', () => {
    for (const c of [CASES[0]!, CASES[3]!, CASES[5]!]) {
      withBackendMember(cpu, 'lstmCell', null, () => checkAgainstReference(c, run(c, values(c, 9), 'DOUBLE'), 1e-12));
    }
  });

  test('an activation given as a function composes the steps (and the per-step ops use the fused cell where they can)', () => {
    const c = CASES[0]!;
    const v = values(c, 10);
    const fn: Runner = (zx, rw, h0, c0, cc) => lstmSequence(zx, rw, h0, c0, { activation: (x) => tanh(x), gateActivation: cc.gate, reverse: cc.reverse });
    counting((calls) => {
      checkAgainstReference(c, run(c, v, 'DOUBLE', fn), 1e-12);
      assert.equal(calls.cell.forward, 0);
    });
  });
});

describe('lstmSequence gradient checks (DOUBLE, central differences)', () => {
  for (const c of [CASES[0]!, CASES[2]!, CASES[4]!, CASES[5]!]) {
    for (const path of ['fused', 'composed'] as const) {
      test(`${path}: ${c.name}: zx, rw${c.withH0 ? ', h0' : ''}${c.withC0 ? ', c0' : ''}`, () => {
        const v = values({ ...c, t: 3, n: 2, units: 3 }, 11);
        const opts = { dtype: 'DOUBLE' as const };
        const { n, units } = v;
        const args = [array(v.zx, [3, n, 4 * units], opts), array(v.rw, [units, 4 * units], opts), ...(v.h0 ? [array(v.h0, [n, units], opts)] : []), ...(v.c0 ? [array(v.c0, [n, units], opts)] : [])];
        const check = () => gradCheck((...xs: NDArray[]) => {
          const h0 = c.withH0 ? xs[2]! : null;
          const c0 = c.withC0 ? xs[xs.length - 1]! : null;
          const out = lstmSequence(xs[0]!, xs[1]!, h0, c0, { activation: c.act, gateActivation: c.gate, reverse: c.reverse });
          // Every output in one array, so that each one's gradient is checked.
          return concat([out.hs, reshape(out.h, [1, n, units]), reshape(out.c, [1, n, units])], 0);
        }, args);
        const result = path === 'fused'
          ? counting((calls) => {
            const r = check();
            assert.ok(calls.cell.backward > 0, 'the fused cell ran backward');
            return r;
          })
          : withBackendMember(cpu, 'lstmCell', null, check);
        assert.ok(result.passed, `max relative error ${result.maxRelError} at ${JSON.stringify(result.worst)}`);
        args.forEach((a) => a.close());
      });
    }
  }
});

describe('lstmSequence errors', () => {
  test('bad operands are named with their shapes and dtypes', () => {
    scope(() => {
      const opts = { activation: 'tanh', gateActivation: 'sigmoid' } as const;
      const zx = array(new Array<number>(2 * 3 * 8).fill(0), [2, 3, 8]);
      const rw = array(new Array<number>(16).fill(0), [2, 8]);
      const hc = array(new Array<number>(6).fill(0), [3, 2]);
      assert.throws(() => lstmSequence(array(new Array<number>(24).fill(0), [3, 8]), rw, null, null, opts), /lstmSequence: expected pre-activations zx of shape \[T, N, 4H\] with T >= 1, got FLOAT\[3, 8\]/);
      assert.throws(() => lstmSequence(array(new Array<number>(18).fill(0), [2, 3, 3]), rw, null, null, opts), /lstmSequence: expected pre-activations zx .* got FLOAT\[2, 3, 3\]/);
      assert.throws(() => lstmSequence(array([], [0, 3, 8]), rw, null, null, opts), /with T >= 1, got FLOAT\[0, 3, 8\]/);
      assert.throws(() => lstmSequence(array([1, 2], [2], { dtype: 'INT32' }), rw, null, null, opts), /lstmSequence: expected a floating array .* got INT32\[2\]/);
      assert.throws(() => lstmSequence(zx, array(new Array<number>(24).fill(0), [3, 8]), null, null, opts), /lstmSequence: expected recurrent weights rw of shape \[2, 8\] and dtype FLOAT for zx FLOAT\[2, 3, 8\], got FLOAT\[3, 8\]/);
      assert.throws(() => lstmSequence(zx, rw.castTo('DOUBLE'), null, null, opts), /expected recurrent weights rw of shape \[2, 8\] and dtype FLOAT .* got DOUBLE\[2, 8\]/);
      assert.throws(() => lstmSequence(zx, rw, array([0, 0], [1, 2]), null, opts), /lstmSequence: expected h0 of shape \[3, 2\] and dtype FLOAT .* got FLOAT\[1, 2\]/);
      assert.throws(() => lstmSequence(zx, rw, null, hc.castTo('HALF'), opts), /lstmSequence: expected c0 of shape \[3, 2\] and dtype FLOAT .* got HALF\[3, 2\]/);
      assert.throws(() => lstmSequence(zx, rw, hc, hc, { activation: 'relu' as CellKind, gateActivation: 'sigmoid' }), /lstmSequence: activation must be one of tanh, sigmoid, hardsigmoid or a function, got relu/);
    });
  });
});
