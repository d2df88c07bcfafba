// Gradient checks of every differentiable op in float64: backpropagated gradients against central
// differences (gradCheck), with inputs chosen away from kinks and some inputs non-contiguous.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NDArray, array, gradCheck, scope, noGrad, interval, point, newAxis, allIndices, type GradCheckOptions,
  neg, abs, sign, exp, log, log1p, expm1, sqrt, rsqrt, square, reciprocal, sin, cos, tanh, sigmoid, relu, leakyRelu, elu, selu,
  gelu, swish, softplus, hardTanh, hardSigmoid, floor, ceil, round, powScalar, clip, addScalar, unary,
  add, sub, mul, div, pow, maximum, minimum, mod, squaredDifference, where,
  sum, mean, prod, max, min, variance, std, norm1, norm2, logSumExp,
  softmax, logSoftmax, matmul, reshape, permute, broadcastTo, squeeze, expandDims, dup, cast,
  conv2d, maxPool2d, avgPool2d, gather, scatterAdd, concat, stack, split, tile, pad, dropout,
} from '../src/index.js';
import { record, isGradEnabled } from '../src/autodiff/tape.js';
import { Rng, sizeOfShape } from './helpers.js';

// ---- inputs -------------------------------------------------------------------------------------

let seedCounter = 1;

/** Uniform DOUBLE values in [lo, hi), redrawn while within `margin` of any kink. */
function uniform(shape: readonly number[], lo = -2, hi = 2, kinks: readonly number[] = [], margin = 0.05): NDArray {
  const rng = new Rng(seedCounter++ * 7919);
  const values = new Float64Array(sizeOfShape(shape));
  for (let i = 0; i < values.length; i++) {
    let v: number;
    do v = rng.uniform(lo, hi);
    while (kinks.some((k) => Math.abs(v - k) < margin));
    values[i] = v;
  }
  return array(values, shape, { dtype: 'DOUBLE' });
}

/** Values on a grid offset by `phase` (in steps of 0.2): two arrays with different phases never tie. */
function grid(shape: readonly number[], phase: number): NDArray {
  const rng = new Rng(seedCounter++ * 104729);
  const values = new Float64Array(sizeOfShape(shape));
  for (let i = 0; i < values.length; i++) values[i] = 0.2 * rng.int(-10, 10) + phase;
  return array(values, shape, { dtype: 'DOUBLE' });
}

/** A DOUBLE array of `shape` laid out transposed in memory (a non-contiguous permuted view). */
function transposed(shape: readonly number[], lo = -2, hi = 2, kinks: readonly number[] = []): NDArray {
  const rev = [...shape].reverse();
  const base = uniform(rev, lo, hi, kinks);
  const v = permute(base, rev.map((_, i) => rev.length - 1 - i));
  base.close();
  return v;
}

/** Every other row of a taller array (a non-contiguous sliced view). */
function sliced(shape: readonly number[], lo = -2, hi = 2, kinks: readonly number[] = []): NDArray {
  const base = uniform([shape[0]! * 2, ...shape.slice(1)], lo, hi, kinks);
  const v = base.get(interval(0, shape[0]! * 2, 2));
  base.close();
  return v;
}

function expectGrad(name: string, fn: (...xs: NDArray[]) => NDArray, inputs: NDArray[], options?: GradCheckOptions): void {
  const r = gradCheck(fn, inputs, options);
  const w = r.worst;
  const where = w ? ` at input ${w.input} [${w.index.join(', ')}]: analytic ${w.analytic}, numeric ${w.numeric}` : '';
  assert.ok(r.passed && r.maxRelError < 1e-5, `${name}: max relative error ${r.maxRelError}${where}`);
}

/** Runs a gradient-check case in its own scope, so its arrays are released. */
function check(name: string, fn: (...xs: NDArray[]) => NDArray, makeInputs: () => NDArray[], options?: GradCheckOptions): void {
  scope(() => expectGrad(name, fn, makeInputs(), options));
}

// ---- the checker itself ---------------------------------------------------------------------------

test('gradCheck detects a wrong gradient and passes a right one', () => {
  scope(() => {
    // x^2 with a gradient missing its factor 2 (recorded by hand).
    const wrongSquare = (x: NDArray): NDArray => {
      const y = noGrad(() => mul(x, x));
      return isGradEnabled() && x.requiresGrad ? record(y, 'wrongSquare', [x], [x], (g, [xs]) => [mul(g, xs!)]) : y;
    };
    const x = uniform([3, 4], 0.5, 2);
    const bad = gradCheck(wrongSquare, [x]);
    assert.equal(bad.passed, false);
    assert.ok(bad.maxRelError > 0.4 && bad.maxRelError < 0.6, `relative error of a halved gradient is 0.5, got ${bad.maxRelError}`);
    assert.ok(bad.worst !== null);
    const w = bad.worst;
    assert.ok(Math.abs(w.numeric - 2 * w.analytic) < 1e-6 * Math.abs(w.numeric), `numeric ${w.numeric} should be twice analytic ${w.analytic}`);
    const good = gradCheck((a) => mul(a, a), [x]);
    assert.equal(good.passed, true);
    assert.ok(good.maxRelError < 1e-7);
  });
});

test('gradCheck reports the element whose gradient is wrong, by logical index, for a strided input', () => {
  scope(() => {
    // f(x) = sum(x * w) has gradient w; the recorded gradient doubles w at [2, 1] only, so exactly that
    // element fails with relative error 0.5 and the others agree.
    const x = transposed([3, 4]);
    const w = uniform([3, 4], 0.5, 1.5);
    const wrongW = w.toFlatArray();
    wrongW[2 * 4 + 1] *= 2;
    const c = array(wrongW, [3, 4], { dtype: 'DOUBLE' });
    const f = (a: NDArray): NDArray => {
      const y = noGrad(() => sum(mul(a, w)));
      return isGradEnabled() && a.requiresGrad ? record(y, 'wrongDot', [a], [], (g) => [mul(g, c)]) : y;
    };
    const r = gradCheck(f, [x]);
    assert.equal(r.passed, false);
    assert.ok(Math.abs(r.maxRelError - 0.5) < 1e-7, `expected relative error 0.5, got ${r.maxRelError}`);
    assert.ok(r.worst !== null);
    assert.deepEqual([...r.worst.index], [2, 1]);
    assert.equal(r.worst.input, 0);
    assert.ok(Math.abs(r.worst.analytic - 2 * r.worst.numeric) < 1e-7 * Math.abs(r.worst.analytic));
    // An output that ignores its input has zero gradients everywhere: nothing to compare, passes.
    const constant = gradCheck(() => array([1, 2], [2], { dtype: 'DOUBLE' }), [x]);
    assert.equal(constant.passed, true);
    assert.equal(constant.maxAbsError, 0);
  });
});

test('gradCheck leaves its inputs as they were and rejects unsuitable ones', () => {
  scope(() => {
    const x = transposed([3, 4]);
    const before = x.toFlatArray();
    const strides = [...x.strides];
    assert.ok(gradCheck(tanh, [x]).passed);
    assert.deepEqual(x.toFlatArray(), before);
    assert.deepEqual([...x.strides], strides);
    assert.equal(x.requiresGrad, false);
    assert.equal(x.grad, null);
    assert.throws(() => gradCheck(tanh, [array([1, 2], [2], { dtype: 'FLOAT' })]), /DOUBLE/);
    assert.throws(() => gradCheck(tanh, [broadcastTo(uniform([1, 3]), [2, 3])]), /broadcast/);
    assert.throws(() => gradCheck(add, [x, x]), /share storage/);
  });
});

// ---- unary ----------------------------------------------------------------------------------------

interface UnaryCase {
  readonly name: string;
  readonly fn: (x: NDArray) => NDArray;
  readonly lo?: number;
  readonly hi?: number;
  readonly kinks?: readonly number[];
}

const UNARY_CASES: readonly UnaryCase[] = [
  { name: 'neg', fn: neg },
  { name: 'abs', fn: abs, kinks: [0] },
  { name: 'exp', fn: exp },
  { name: 'log', fn: log, lo: 0.2, hi: 3 },
  { name: 'log1p', fn: log1p, lo: -0.7, hi: 3 },
  { name: 'expm1', fn: expm1 },
  { name: 'sqrt', fn: sqrt, lo: 0.2, hi: 3 },
  { name: 'rsqrt', fn: rsqrt, lo: 0.2, hi: 3 },
  { name: 'square', fn: square },
  { name: 'reciprocal', fn: reciprocal, lo: 0.2, hi: 3 },
  { name: 'reciprocal (negative)', fn: reciprocal, lo: -3, hi: -0.2 },
  { name: 'sin', fn: sin, lo: -4, hi: 4 },
  { name: 'cos', fn: cos, lo: -4, hi: 4 },
  { name: 'tanh', fn: tanh },
  { name: 'sigmoid', fn: sigmoid, lo: -5, hi: 5 },
  { name: 'relu', fn: relu, kinks: [0] },
  { name: 'leakyRelu(0.1)', fn: (x) => leakyRelu(x, 0.1), kinks: [0] },
  { name: 'elu', fn: elu, kinks: [0] },
  { name: 'elu(0.7)', fn: (x) => elu(x, 0.7), kinks: [0] },
  { name: 'selu', fn: selu, kinks: [0] },
  { name: 'gelu', fn: gelu, lo: -4, hi: 4 },
  { name: 'swish', fn: swish, lo: -4, hi: 4 },
  { name: 'softplus', fn: softplus, lo: -6, hi: 6 },
  { name: 'hardTanh', fn: hardTanh, kinks: [-1, 1] },
  { name: 'hardTanh(-0.5, 1.5)', fn: (x) => hardTanh(x, -0.5, 1.5), kinks: [-0.5, 1.5] },
  { name: 'hardSigmoid', fn: hardSigmoid, lo: -4, hi: 4, kinks: [-2.5, 2.5] },
  { name: 'powScalar(2.5)', fn: (x) => powScalar(x, 2.5), lo: 0.2, hi: 3 },
  { name: 'powScalar(3)', fn: (x) => powScalar(x, 3) },
  { name: 'powScalar(-1.5)', fn: (x) => powScalar(x, -1.5), lo: 0.3, hi: 3 },
  { name: 'clip(-0.5, 0.7)', fn: (x) => clip(x, -0.5, 0.7), kinks: [-0.5, 0.7] },
  { name: 'addScalar', fn: (x) => addScalar(x, 1.25) },
  { name: 'mulScalar', fn: (x) => unary('mulScalar', x, -2.5) },
  { name: 'rsubScalar', fn: (x) => unary('rsubScalar', x, 1.5) },
  { name: 'rdivScalar', fn: (x) => unary('rdivScalar', x, 2), lo: 0.3, hi: 3 },
  // Piecewise constant: the gradient is zero away from the steps.
  { name: 'sign', fn: sign, kinks: [0] },
  { name: 'floor', fn: floor, kinks: [-2, -1, 0, 1, 2] },
  { name: 'ceil', fn: ceil, kinks: [-2, -1, 0, 1, 2] },
  { name: 'round', fn: round, kinks: [-1.5, -0.5, 0.5, 1.5] },
];

test('unary ops', async (t) => {
  for (const c of UNARY_CASES) {
    await t.test(c.name, () => {
      const { lo = -2, hi = 2, kinks = [] } = c;
      check(`${c.name} contiguous`, c.fn, () => [uniform([3, 4], lo, hi, kinks)]);
      check(`${c.name} transposed view`, c.fn, () => [transposed([3, 4], lo, hi, kinks)]);
      check(`${c.name} 0-d`, c.fn, () => [uniform([], lo, hi, kinks)]);
    });
  }
});

// ---- binary ---------------------------------------------------------------------------------------

const BROADCAST_PAIRS: readonly (readonly [readonly number[], readonly number[]])[] = [
  [[3, 4], [3, 4]],
  [[3, 1, 4], [2, 4]],
  [[4], [3, 4]],
  [[2, 3], []],
  [[2, 1], [1, 3]],
];

interface BinaryCase {
  readonly name: string;
  readonly fn: (a: NDArray, b: NDArray) => NDArray;
  readonly inputs: (aShape: readonly number[], bShape: readonly number[]) => NDArray[];
}

const BINARY_CASES: readonly BinaryCase[] = [
  { name: 'add', fn: add, inputs: (a, b) => [uniform(a), uniform(b)] },
  { name: 'sub', fn: sub, inputs: (a, b) => [uniform(a), uniform(b)] },
  { name: 'mul', fn: mul, inputs: (a, b) => [uniform(a), uniform(b)] },
  { name: 'div', fn: div, inputs: (a, b) => [uniform(a), uniform(b, -2, 2, [0], 0.3)] },
  { name: 'pow', fn: pow, inputs: (a, b) => [uniform(a, 0.3, 2.5), uniform(b, -1.5, 1.5)] },
  // Grids with different phases: a and b never tie.
  { name: 'maximum', fn: maximum, inputs: (a, b) => [grid(a, 0.05), grid(b, 0.15)] },
  { name: 'minimum', fn: minimum, inputs: (a, b) => [grid(a, 0.05), grid(b, 0.15)] },
  { name: 'squaredDifference', fn: squaredDifference, inputs: (a, b) => [uniform(a), uniform(b)] },
];

test('binary ops with broadcasting', async (t) => {
  for (const c of BINARY_CASES) {
    await t.test(c.name, () => {
      for (const [as, bs] of BROADCAST_PAIRS) {
        check(`${c.name} ${JSON.stringify(as)} with ${JSON.stringify(bs)}`, c.fn, () => c.inputs(as, bs));
        check(`${c.name} ${JSON.stringify(bs)} with ${JSON.stringify(as)}`, c.fn, () => c.inputs(bs, as));
      }
    });
  }
});

test('binary ops on non-contiguous operands and numbers', () => {
  check('mul transposed * sliced', mul, () => [transposed([3, 4]), sliced([3, 4])]);
  check('div sliced / transposed', div, () => [sliced([3, 4]), transposed([3, 4], 0.5, 2)]);
  check('add number', (x) => add(x, 2.5), () => [uniform([3, 4])]);
  check('sub number - x', (x) => sub(1.5, x), () => [uniform([3, 4])]);
  check('div number / x', (x) => div(2, x), () => [uniform([3, 4], 0.3, 2)]);
  check('pow x ^ number', (x) => pow(x, 1.7), () => [uniform([3, 4], 0.3, 2)]);
  check('pow number ^ x', (x) => pow(1.7, x), () => [uniform([3, 4])]);
  check('maximum with number', (x) => maximum(x, 0.3), () => [uniform([3, 4], -2, 2, [0.3])]);
});

/** Values whose quotient a/b stays at least 0.05 from an integer for every broadcast pair. */
function modInputs(aShape: readonly number[], bShape: readonly number[], negativeDivisor: boolean): NDArray[] {
  for (;;) {
    const a = uniform(aShape, -4, 4);
    const b = negativeDivisor ? uniform(bShape, -1.9, -0.7) : uniform(bShape, 0.7, 1.9);
    const q = noGrad(() => div(a, b)).toFlatArray();
    if (q.every((v) => Math.abs(v - Math.round(v)) > 0.05)) return [a, b];
    a.close();
    b.close();
  }
}

test('mod (floored) with broadcasting, positive and negative divisors', () => {
  for (const [as, bs] of BROADCAST_PAIRS) {
    for (const negative of [false, true]) {
      check(`mod ${JSON.stringify(as)} by ${JSON.stringify(bs)}${negative ? ' (negative divisor)' : ''}`, mod, () => modInputs(as, bs, negative));
    }
  }
});

test('where with a broadcast condition', () => {
  const cond = (shape: readonly number[], pattern: readonly boolean[]): NDArray => array(pattern, shape, { dtype: 'BOOL' });
  check('where [3,1] ? [3,4] : [4]', (a, b) => where(cond([3, 1], [true, false, true]), a, b), () => [uniform([3, 4]), uniform([4])]);
  check('where [4] ? [2,1] : [2,4]', (a, b) => where(cond([4], [false, true, true, false]), a, b), () => [uniform([2, 1]), uniform([2, 4])]);
  check('where with a number branch', (a) => where(cond([2, 2], [true, false, false, true]), a, 0.5), () => [transposed([2, 2])]);
  // A non-BOOL condition means "non-zero".
  check('where DOUBLE condition', (a, b) => where(array([0, 2, -1], [3], { dtype: 'DOUBLE' }), a, b), () => [uniform([2, 3]), uniform([3])]);
});

// ---- reductions ---------------------------------------------------------------------------------

type Axes = number | readonly number[] | undefined;

interface ReduceCase {
  readonly name: string;
  readonly fn: (x: NDArray, axes: Axes, keepDims: boolean) => NDArray;
  readonly lo?: number;
  readonly hi?: number;
  readonly kinks?: readonly number[];
  readonly margin?: number;
}

const REDUCE_CASES: readonly ReduceCase[] = [
  { name: 'sum', fn: sum },
  { name: 'mean', fn: mean },
  { name: 'prod', fn: prod, lo: -1.6, hi: 1.6, kinks: [0], margin: 0.4 },
  { name: 'max', fn: max },
  { name: 'min', fn: min },
  { name: 'variance', fn: variance },
  { name: 'variance ddof 1', fn: (x, a, k) => variance(x, a, k, 1) },
  { name: 'std', fn: std },
  { name: 'std ddof 1', fn: (x, a, k) => std(x, a, k, 1) },
  { name: 'norm1', fn: norm1, kinks: [0] },
  { name: 'norm2', fn: norm2 },
  { name: 'logSumExp', fn: logSumExp, lo: -3, hi: 3 },
];

const AXIS_SETS: readonly Axes[] = [undefined, 0, 1, -1, [0, 2], [1, 2], [0, 1, 2]];

test('reductions over axis sets, with and without keepDims', async (t) => {
  for (const c of REDUCE_CASES) {
    await t.test(c.name, () => {
      const { lo = -2, hi = 2, kinks = [], margin = 0.05 } = c;
      for (const axes of AXIS_SETS) {
        for (const keepDims of [false, true]) {
          check(`${c.name} axes ${JSON.stringify(axes)} keepDims ${keepDims}`, (x) => c.fn(x, axes, keepDims), () => [uniform([2, 3, 4], lo, hi, kinks, margin)]);
        }
      }
      check(`${c.name} of a transposed view, axis 1`, (x) => c.fn(x, 1, false), () => [transposed([3, 4], lo, hi, kinks)]);
      check(`${c.name} of a sliced view, axis 0`, (x) => c.fn(x, 0, true), () => [sliced([3, 4], lo, hi, kinks)]);
    });
  }
});

// ---- softmax --------------------------------------------------------------------------------------

test('softmax and logSoftmax along each axis', async (t) => {
  for (const [name, fn] of [['softmax', softmax], ['logSoftmax', logSoftmax]] as const) {
    await t.test(name, () => {
      for (const axis of [0, 1, 2, -1]) check(`${name} axis ${axis}`, (x) => fn(x, axis), () => [uniform([2, 3, 4], -3, 3)]);
      check(`${name} default axis of a transposed view`, (x) => fn(x), () => [transposed([3, 4], -3, 3)]);
      check(`${name} axis 0 of a sliced view`, (x) => fn(x, 0), () => [sliced([3, 4], -3, 3)]);
    });
  }
});

// ---- matmul ---------------------------------------------------------------------------------------

test('matmul: 2-D, batched with broadcast batch dims, 1-D operands, transposed views', () => {
  const cases: [string, () => NDArray[]][] = [
    ['[3,4] @ [4,5]', () => [uniform([3, 4]), uniform([4, 5])]],
    ['[1,4] @ [4,1]', () => [uniform([1, 4]), uniform([4, 1])]],
    ['[2,3,4] @ [4,5]', () => [uniform([2, 3, 4]), uniform([4, 5])]],
    ['[3,4] @ [2,4,5]', () => [uniform([3, 4]), uniform([2, 4, 5])]],
    ['[2,3,4] @ [2,4,5]', () => [uniform([2, 3, 4]), uniform([2, 4, 5])]],
    ['[2,1,3,4] @ [3,4,2]', () => [uniform([2, 1, 3, 4]), uniform([3, 4, 2])]],
    ['[1,3,4] @ [2,4,2]', () => [uniform([1, 3, 4]), uniform([2, 4, 2])]],
    ['[4] @ [4,5]', () => [uniform([4]), uniform([4, 5])]],
    ['[3,4] @ [4]', () => [uniform([3, 4]), uniform([4])]],
    ['[4] @ [4]', () => [uniform([4]), uniform([4])]],
    ['[4] @ [2,4,3]', () => [uniform([4]), uniform([2, 4, 3])]],
    ['[2,3,4] @ [4]', () => [uniform([2, 3, 4]), uniform([4])]],
    ['transposed [3,4] @ transposed [4,5]', () => [transposed([3, 4]), transposed([4, 5])]],
    ['sliced [3,4] @ transposed [4,2]', () => [sliced([3, 4]), transposed([4, 2])]],
    ['batched transposed [2,3,4] @ [2,4,3]', () => [transposed([2, 3, 4]), uniform([2, 4, 3])]],
  ];
  for (const [name, inputs] of cases) check(`matmul ${name}`, matmul, inputs);
});

// ---- views ----------------------------------------------------------------------------------------

test('views and copies', () => {
  // Each view is followed by a non-linear op, so the gradient mapping through the view matters.
  scope(() => {
    const w423 = uniform([4, 2, 3]);
    const w234 = uniform([2, 3, 4]);
    const w324 = uniform([3, 2, 4]);
    check('reshape contiguous [2,3,4] -> [6,4]', (x) => tanh(reshape(x, [6, 4])), () => [uniform([2, 3, 4])]);
    check('reshape contiguous -> [-1]', (x) => mul(reshape(x, [-1]), reshape(x, [-1])), () => [uniform([3, 4])]);
    check('reshape non-contiguous (copy) [3,4]^T -> [12]', (x) => tanh(reshape(x, [12])), () => [transposed([3, 4])]);
    check('reshape non-contiguous (view) of a row slice', (x) => tanh(reshape(x, [3, 8])), () => [sliced([3, 4, 2])]);
    check('permute [2,3,4] -> [2,0,1]', (x) => sin(mul(permute(x, [2, 0, 1]), w423)), () => [uniform([2, 3, 4])]);
    check('get point', (x) => exp(x.get(1)), () => [uniform([3, 4])]);
    check('get point, interval with step', (x) => exp(x.get(allIndices(), point(-1), interval(0, 4, 2))), () => [uniform([2, 3, 4])]);
    check('get interval with step and newAxis', (x) => exp(x.get(interval(1, 3), newAxis(), interval(0, 4, 3))), () => [uniform([3, 4])]);
    check('get of a transposed view', (x) => square(x.get(interval(0, 4, 2), 1)), () => [transposed([4, 3])]);
    check('broadcastTo [3,1] -> [2,3,4]', (x) => mul(broadcastTo(x, [2, 3, 4]), w234), () => [uniform([3, 1])]);
    check('broadcastTo [4] -> [3,4]', (x) => tanh(broadcastTo(x, [3, 4])), () => [uniform([4])]);
    check('squeeze all', (x) => exp(squeeze(x)), () => [uniform([1, 3, 1, 4])]);
    check('squeeze axis', (x) => exp(squeeze(x, 2)), () => [uniform([1, 3, 1, 4])]);
    check('expandDims', (x) => mul(expandDims(x, 1), w324), () => [uniform([3, 4])]);
    check('expandDims -1 of a transposed view', (x) => tanh(expandDims(x, -1)), () => [transposed([3, 4])]);
    check('dup of a sliced view', (x) => tanh(dup(x)), () => [sliced([3, 4])]);
    check('cast DOUBLE -> DOUBLE', (x) => tanh(cast(x, 'DOUBLE')), () => [uniform([3, 4])]);
    check('NDArray methods: transpose, reshape, get', (x) => sigmoid(x.transpose().reshape(2, 6).get(interval(0, 2), interval(1, 6, 2))), () => [uniform([3, 4])]);
  });
});

// ---- composite graphs ---------------------------------------------------------------------------

test('2-layer MLP with softmax cross-entropy: gradients of every parameter and the input', () => {
  scope(() => {
    const batch = 5;
    const classes = 3;
    const labels = [0, 2, 1, 1, 0];
    const oneHot = new Float64Array(batch * classes);
    labels.forEach((l, i) => (oneHot[i * classes + l] = 1));
    const y = array(oneHot, [batch, classes], { dtype: 'DOUBLE' });
    const loss = (x: NDArray, w1: NDArray, b1: NDArray, w2: NDArray, b2: NDArray): NDArray => {
      const h = tanh(add(matmul(x, w1), b1));
      const logits = add(matmul(h, w2), b2);
      return neg(mean(sum(mul(y, logSoftmax(logits, -1)), -1)));
    };
    expectGrad('MLP', (...p) => loss(p[0]!, p[1]!, p[2]!, p[3]!, p[4]!), [uniform([batch, 4]), uniform([4, 6], -1, 1), uniform([6], -0.5, 0.5), uniform([6, classes], -1, 1), uniform([classes], -0.5, 0.5)]);
    // The same with softmax + log and a transposed weight view.
    const loss2 = (x: NDArray, w1t: NDArray, w2: NDArray): NDArray => {
      const h = sigmoid(matmul(x, w1t.transpose()));
      return neg(sum(mul(y, log(softmax(matmul(h, w2), 1)))));
    };
    expectGrad('MLP with softmax, log and a transposed weight', (...p) => loss2(p[0]!, p[1]!, p[2]!), [uniform([batch, 4]), uniform([6, 4], -1, 1), uniform([6, classes], -1, 1)]);
  });
});

test('a value used several times accumulates its gradient', () => {
  check('x * x + exp(x) - x', (x) => sub(add(mul(x, x), exp(x)), x), () => [uniform([3, 4])]);
  check('t = tanh(x); t * t + t', (x) => {
    const t = tanh(x);
    return add(mul(t, t), t);
  }, () => [uniform([3, 4])]);
  check('x @ x^T + x', (x) => add(matmul(x, x.transpose()), sum(x, 1, true)), () => [uniform([3, 4])]);
  check('two inputs, each used twice', (a, b) => mul(add(a, b), sub(a, exp(b))), () => [uniform([2, 3]), uniform([3])]);
});

test('gradients through chains of views', () => {
  check('slice, permute, reshape (copy), broadcast', (x) => {
    const v = x.get(interval(0, 4, 2)).permute(2, 0, 1).reshape(4, 3);
    return mul(exp(v), broadcastTo(sum(x.get(1), 1, true).transpose(), [4, 3]));
  }, () => [uniform([4, 3, 2], -1, 1)]);
  check('overlapping slices of one input', (x) => add(mul(x.get(interval(0, 3)), x.get(interval(1, 4))), x.get(point(2))), () => [uniform([4, 3])]);
});

// ---- convolution and pooling ----------------------------------------------------------------------

test('conv2d: stride, padding, dilation, bias, non-contiguous input', () => {
  const cases: [string, readonly number[], readonly number[], Parameters<typeof conv2d>[3]][] = [
    ['3x3 plain', [2, 2, 5, 5], [3, 2, 3, 3], {}],
    ['3x3 stride 2 padding 1', [1, 2, 6, 5], [2, 2, 3, 3], { stride: 2, padding: 1 }],
    ['2x3 stride [1,2] padding [2,1]', [2, 1, 4, 5], [2, 1, 2, 3], { stride: [1, 2], padding: [2, 1] }],
    ['3x3 dilation 2', [1, 2, 6, 6], [2, 2, 3, 3], { dilation: 2 }],
    ['2x2 dilation [2,1] stride 2 padding 1', [1, 1, 5, 6], [2, 1, 2, 2], { dilation: [2, 1], stride: 2, padding: 1 }],
    ['1x1', [2, 3, 3, 3], [2, 3, 1, 1], {}],
  ];
  for (const [name, xs, ws, options] of cases) {
    check(`conv2d ${name}`, (x, w) => conv2d(x, w, undefined, options), () => [uniform(xs), uniform(ws, -1, 1)]);
    check(`conv2d ${name} with bias`, (x, w, b) => conv2d(x, w, b, options), () => [uniform(xs), uniform(ws, -1, 1), uniform([ws[0]!], -1, 1)]);
  }
  check('conv2d of a permuted (NHWC-stored) input and sliced weights', (x, w) => conv2d(x, w, undefined, { padding: 1 }), () => [
    permute(uniform([1, 5, 4, 2]), [0, 3, 1, 2]),
    sliced([2, 2, 3, 3], -1, 1),
  ]);
});

test('max and average pooling', () => {
  const cases: [string, readonly number[], Parameters<typeof maxPool2d>[1]][] = [
    ['2x2', [2, 2, 4, 6], { kernel: 2 }],
    ['3x3 stride 1', [1, 2, 5, 5], { kernel: 3, stride: 1 }],
    ['3x3 stride 2 padding 1', [1, 1, 6, 5], { kernel: 3, stride: 2, padding: 1 }],
    ['2x3 stride [1,2] dilation [2,1]', [1, 2, 6, 7], { kernel: [2, 3], stride: [1, 2], dilation: [2, 1] }],
  ];
  for (const [name, xs, options] of cases) {
    // Random doubles: no two values in a window tie, so max pooling is differentiable there.
    check(`maxPool2d ${name}`, (x) => maxPool2d(x, options), () => [uniform(xs)]);
    check(`avgPool2d ${name}`, (x) => avgPool2d(x, options), () => [uniform(xs)]);
    check(`avgPool2d ${name} countIncludePad false`, (x) => avgPool2d(x, { ...options, countIncludePad: false }), () => [uniform(xs)]);
  }
  check('maxPool2d of a transposed view', (x) => maxPool2d(x, { kernel: 2 }), () => [transposed([2, 2, 4, 4])]);
  check('maxPool2d with padding and all-negative values', (x) => maxPool2d(x, { kernel: 3, stride: 2, padding: 1 }), () => [uniform([1, 1, 5, 5], -3, -0.5)]);
});

// ---- indexing -------------------------------------------------------------------------------------

test('gather and scatterAdd, with repeated indices', () => {
  const idx = (values: readonly number[], shape: readonly number[], dtype: 'INT32' | 'INT64' = 'INT32'): NDArray => array(values, shape, { dtype });
  check('gather axis 0', (x) => gather(x, idx([2, 0, 2, 1], [4])), () => [uniform([3, 4])]);
  check('gather axis 1, 2-D INT64 indices', (x) => gather(x, idx([3, 0, 1, 3, 3, 2], [2, 3], 'INT64'), 1), () => [uniform([2, 4, 3])]);
  check('gather axis -1 of a transposed view', (x) => gather(x, idx([1, 1, 0], [3]), -1), () => [transposed([3, 2])]);
  check('scatterAdd axis 0 (target and updates)', (t, u) => scatterAdd(t, idx([1, 3, 1], [3]), u), () => [uniform([4, 2]), uniform([3, 2])]);
  check('scatterAdd axis 1, 2-D indices', (t, u) => scatterAdd(t, idx([0, 2, 2, 0], [2, 2]), u, 1), () => [uniform([2, 3, 2]), uniform([2, 2, 2, 2])]);
  check('scatterAdd into a sliced target', (t, u) => scatterAdd(t, idx([0, 0], [2]), u, 1), () => [sliced([2, 3]), transposed([2, 2])]);
});

// ---- joining and padding --------------------------------------------------------------------------

test('concat, stack, split, tile, pad', () => {
  check('concat axis 0', (a, b, c) => concat([a, b, c], 0), () => [uniform([1, 3]), uniform([2, 3]), uniform([3, 3])]);
  check('concat axis 1 of views', (a, b) => concat([a, b], 1), () => [transposed([3, 2]), sliced([3, 4])]);
  check('concat axis -1, 3-D', (a, b) => concat([a, b], -1), () => [uniform([2, 2, 3]), uniform([2, 2, 1])]);
  check('concat of one input used twice', (a) => concat([a, tanh(a)], 0), () => [uniform([2, 3])]);
  check('stack axis 0', (a, b) => stack([a, b]), () => [uniform([2, 3]), uniform([2, 3])]);
  check('stack axis 1', (a, b, c) => stack([a, b, c], 1), () => [uniform([2, 3]), transposed([2, 3]), uniform([2, 3])]);
  check('stack axis -1', (a, b) => stack([a, b], -1), () => [uniform([3]), uniform([3])]);
  check('split equal parts, combined non-linearly', (x) => {
    const [p, q, r] = split(x, 3, 1);
    return add(mul(p!, q!), exp(r!));
  }, () => [uniform([2, 6])]);
  check('split by sizes', (x) => {
    const [p, q] = split(x, [1, 3], 0);
    return mul(sum(p!, 0), sum(square(q!), 0));
  }, () => [uniform([4, 3])]);
  check('tile [2,3] by [2,1]', (x) => tile(x, [2, 1]), () => [uniform([2, 3])]);
  check('tile [3] by [2,2]', (x) => tile(x, [2, 2]), () => [uniform([3])]);
  check('tile of a transposed view by [1,2,2]', (x) => tile(x, [1, 2, 2]), () => [transposed([2, 3])]);
  check('pad with zeros', (x) => pad(x, [[1, 0], [2, 1]]), () => [uniform([2, 3])]);
  check('pad with a value, 3-D, of a sliced view', (x) => tanh(pad(x, [[0, 1], [1, 1], [0, 2]], 0.5)), () => [sliced([2, 2, 2])]);
});

// ---- dropout --------------------------------------------------------------------------------------

test('dropout with a fixed seed (the mask is the same on every evaluation)', () => {
  check('dropout p 0.3', (x) => dropout(x, 0.3, { seed: 1234 }), () => [uniform([4, 5])]);
  check('dropout p 0.5 of a transposed view', (x) => tanh(dropout(x, 0.5, { seed: 99 })), () => [transposed([3, 4])]);
});
