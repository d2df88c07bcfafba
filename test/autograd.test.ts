// Autograd semantics: seeds, accumulation, retained graphs, noGrad, in-place checks, dtype rules.
// Expected gradients are computed independently with plain JS from the input values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NDArray, array, scope, noGrad, isGradEnabled, add, mul, exp, sum, tanh, matmul, cast } from '../src/index.js';

function double(values: readonly number[], shape: readonly number[]): NDArray {
  return array(values, shape, { dtype: 'DOUBLE' });
}

function assertClose(actual: readonly number[], expected: readonly number[], tol = 1e-12, what = 'values'): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)), `${what}[${i}]: ${a} vs expected ${expected[i]}`));
}

const X = [0.5, -1.25, 2, 0.75, -0.3, 1.1];

test('backward of a non-scalar output needs a seed gradient of its shape', () => {
  scope(() => {
    const x = double(X, [2, 3]).requireGrad();
    const y = mul(x, x);
    assert.throws(() => y.backward(), /shape \[2, 3\].*pass its gradient/);
    assert.throws(() => y.backward(double([1, 2, 3], [3])), /seed gradient's shape \[3\] differs from the output's \[2, 3\]/);
    const seed = [1, -2, 0.5, 3, 0, -1];
    y.backward(double(seed, [2, 3]));
    assertClose(x.grad!.toFlatArray(), X.map((v, i) => 2 * v * seed[i]!), 1e-12, 'x.grad');
    // A seed that reaches a leaf unchanged is copied, not aliased.
    const z = double(X, [2, 3]).requireGrad();
    const s = double(seed, [2, 3]);
    add(z, 1).backward(s);
    s.assign(0);
    assertClose(z.grad!.toFlatArray(), seed, 0, 'z.grad');
  });
});

test('a scalar output needs no seed; only leaves marked requireGrad get .grad', () => {
  scope(() => {
    const x = double(X, [2, 3]).requireGrad();
    const c = double([2, 2, 2, 2, 2, 2], [2, 3]);
    const h = tanh(x);
    const loss = sum(mul(h, c));
    loss.backward();
    assertClose(x.grad!.toFlatArray(), X.map((v) => 2 * (1 - Math.tanh(v) ** 2)), 1e-12, 'x.grad');
    assert.equal(c.grad, null);
    assert.equal(h.grad, null, 'intermediate results keep no gradient');
    assert.equal(c.requiresGrad, false);
    assert.equal(h.requiresGrad, true);
  });
});

test('backward throws when nothing requires grad', () => {
  scope(() => {
    const y = sum(double(X, [2, 3]));
    assert.throws(() => y.backward(), /does not require grad/);
  });
});

test('.grad accumulates across backward calls', () => {
  scope(() => {
    const x = double(X, [2, 3]).requireGrad();
    sum(mul(x, x)).backward();
    assertClose(x.grad!.toFlatArray(), X.map((v) => 2 * v), 1e-12, 'after the first backward');
    sum(exp(x)).backward();
    assertClose(x.grad!.toFlatArray(), X.map((v) => 2 * v + Math.exp(v)), 1e-12, 'after the second backward');
    // Resetting is the caller's business: closing the gradient starts afresh.
    x.grad!.close();
    x.grad = null;
    sum(mul(x, 3)).backward();
    assertClose(x.grad!.toFlatArray(), X.map(() => 3), 1e-12, 'after a reset');
  });
});

test('a value used by several ops receives the sum of their gradients', () => {
  scope(() => {
    const x = double(X, [2, 3]).requireGrad();
    const w = double([1, 2, 3, 4, 5, 6], [3, 2]);
    // loss = sum(x @ w) + sum(x * x): d/dx = rowSums(w) broadcast + 2x.
    const loss = add(sum(matmul(x, w)), sum(mul(x, x)));
    loss.backward();
    const rowSums = [1 + 2, 3 + 4, 5 + 6];
    assertClose(x.grad!.toFlatArray(), X.map((v, i) => rowSums[i % 3]! + 2 * v), 1e-12, 'x.grad');
  });
});

test('retainGraph allows a second backward; without it the second backward throws', () => {
  scope(() => {
    const x = double(X, [2, 3]).requireGrad();
    const loss = sum(exp(x));
    loss.backward(undefined, { retainGraph: true });
    loss.backward();
    assertClose(x.grad!.toFlatArray(), X.map((v) => 2 * Math.exp(v)), 1e-12, 'x.grad after two backward passes');
    assert.throws(() => loss.backward(), /saved values were released.*retainGraph/);
    // The failed pass changed nothing.
    assertClose(x.grad!.toFlatArray(), X.map((v) => 2 * Math.exp(v)), 1e-12, 'x.grad after the refused pass');
  });
});

test('noGrad records nothing and restores the previous mode, also after an exception', () => {
  scope(() => {
    const x = double(X, [2, 3]).requireGrad();
    assert.equal(isGradEnabled(), true);
    const y = noGrad(() => {
      assert.equal(isGradEnabled(), false);
      noGrad(() => assert.equal(isGradEnabled(), false));
      assert.equal(isGradEnabled(), false, 'a nested noGrad leaves the outer one in force');
      return sum(exp(x));
    });
    assert.equal(isGradEnabled(), true);
    assert.equal(y.requiresGrad, false);
    assert.equal(y.gradNode, null);
    assert.throws(() => y.backward(), /does not require grad/);
    assert.throws(() => noGrad(() => { throw new Error('inside'); }), /inside/);
    assert.equal(isGradEnabled(), true);
    // The values are still computed.
    assertClose([y.item()], [X.reduce((s, v) => s + Math.exp(v), 0)], 1e-12, 'sum(exp(x))');
  });
});

test('modifying a saved value in place makes backward throw', () => {
  scope(() => {
    const x = double(X, [2, 3]).requireGrad();
    const c = double([1, 2, 3, 4, 5, 6], [2, 3]);
    const loss = sum(mul(x, c));
    c.muli(2);
    assert.throws(() => loss.backward(), /backward through 'mul': a value it saved was modified in place/);

    // A write through another view of the same storage counts too.
    const d = double([1, 2, 3, 4, 5, 6], [2, 3]);
    const loss2 = sum(mul(x, d));
    d.get(1, 2).assign(7);
    assert.throws(() => loss2.backward(), /modified in place/);

    // Writes before the op are fine.
    const e = double([1, 2, 3, 4, 5, 6], [2, 3]);
    e.addi(1);
    sum(mul(x, e)).backward();
    assertClose(x.grad!.toFlatArray(), [2, 3, 4, 5, 6, 7], 1e-12, 'x.grad');
  });
});

test('in-place writes to an array that requires grad: refused while recording, allowed under noGrad', () => {
  scope(() => {
    const w = double(X, [2, 3]).requireGrad();
    assert.throws(() => w.subi(1), /requires grad/);
    assert.throws(() => w.assign(0), /requires grad/);
    const loss = sum(mul(w, w));
    noGrad(() => w.subi(0.5));
    assertClose(w.toFlatArray(), X.map((v) => v - 0.5), 0, 'w after the update');
    // The graph saved w before the update: its gradient would be wrong, so backward refuses.
    assert.throws(() => loss.backward(), /modified in place/);
  });
});

test('requireGrad accepts only floating arrays', () => {
  scope(() => {
    for (const dtype of ['INT32', 'INT64', 'UINT8', 'BOOL'] as const) {
      const a = array([1, 0, 1], [3], { dtype });
      assert.throws(() => a.requireGrad(), new RegExp(`only floating arrays have gradients, this one is ${dtype}`));
      assert.equal(a.requiresGrad, false);
      a.requireGrad(false);
    }
    for (const dtype of ['DOUBLE', 'FLOAT'] as const) assert.equal(array([1, 2], [2], { dtype }).requireGrad().requiresGrad, true);
  });
});

test('gradients cross dtype casts and keep the leaf dtype', () => {
  scope(() => {
    const x = array([0.5, -1, 2], [3], { dtype: 'FLOAT' }).requireGrad();
    const loss = sum(mul(cast(x, 'DOUBLE'), double([1, 2, 3], [3])));
    assert.equal(loss.dtype, 'DOUBLE');
    loss.backward();
    assert.equal(x.grad!.dtype, 'FLOAT');
    assertClose(x.grad!.toFlatArray(), [1, 2, 3], 0, 'x.grad');
    // Mixed operands promote; the FLOAT leaf still gets a FLOAT gradient.
    const y = array([1, 2, 3], [3], { dtype: 'FLOAT' }).requireGrad();
    sum(mul(y, double([0.5, 0.25, 2], [3]))).backward();
    assert.equal(y.grad!.dtype, 'FLOAT');
    assertClose(y.grad!.toFlatArray(), [0.5, 0.25, 2], 0, 'y.grad');
  });
});

test('closing a leaf releases its gradient', () => {
  const x = double(X, [2, 3]).requireGrad();
  scope(() => sum(mul(x, x)).backward());
  const g = x.grad!;
  assert.equal(g.closed, false);
  x.close();
  assert.equal(g.closed, true);
  assert.equal(x.grad, null);
});
