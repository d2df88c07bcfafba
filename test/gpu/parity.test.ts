/**
 * The parity suite: every op and every op's gradient on the CPU and the CUDA backend, from the same
 * fresh random inputs, compared with a tolerance by dtype. Skips (and says so) without a GPU.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as nd from '../../src/index.js';
import { noGrad, scope, type Backend, type DataType, type NDArray } from '../../src/index.js';
import { Rng } from '../helpers.js';
import { gpu } from './gpu-env.js';

const FLOATS: readonly DataType[] = ['DOUBLE', 'FLOAT', 'HALF', 'BFLOAT16'];
/** Relative tolerance by dtype (results of two float32 pipelines differ by a few ulps of the storage type). */
const RTOL: Record<string, number> = { DOUBLE: 1e-9, FLOAT: 2e-5, HALF: 4e-3, BFLOAT16: 3e-2, INT32: 0, INT64: 0, UINT8: 0, BOOL: 0 };

interface Input {
  readonly shape: readonly number[];
  /** Sampling domain; `int` draws integers in [lo, hi). */
  readonly lo?: number;
  readonly hi?: number;
  readonly int?: boolean;
  readonly dtype?: DataType;
  /** A permuted/strided view instead of a contiguous array. */
  readonly view?: 'transpose' | 'slice';
  readonly grad?: boolean;
}

interface Case {
  readonly name: string;
  readonly inputs: readonly Input[];
  readonly fn: (...xs: NDArray[]) => NDArray;
  readonly dtypes?: readonly DataType[];
  readonly grad?: boolean;
  /** Extra tolerance factor for ops that amplify rounding (long reductions, matmul). */
  readonly slack?: number;
  /** CUDA settings the case runs under (restored afterwards). */
  readonly cuda?: Partial<nd.CudaConfiguration>;
}

function makeInput(rng: Rng, spec: Input, dtype: DataType, backend: Backend): NDArray {
  const shape = spec.view === 'transpose' ? [...spec.shape].reverse() : spec.view === 'slice' ? spec.shape.map((d, i) => (i === 0 ? 2 * d : d)) : spec.shape;
  const n = shape.reduce((a, b) => a * b, 1);
  const lo = spec.lo ?? -1;
  const hi = spec.hi ?? 1;
  const values = Array.from({ length: n }, () => (spec.int ? rng.int(lo, hi) : rng.uniform(lo, hi)));
  const base = nd.array(values, shape, { dtype: spec.dtype ?? dtype, backend });
  if (spec.view === 'transpose') return base.transpose();
  if (spec.view === 'slice') return base.get(nd.interval(0, undefined, 2));
  return base;
}

/** The spacing of a dtype's values just below 1 (relative unit in the last place) for 16-bit floats. */
function ulpOf(dtype: DataType): number {
  return dtype === 'BFLOAT16' ? 2 ** -8 : dtype === 'HALF' ? 2 ** -11 : 0;
}

function compare(name: string, cpu: NDArray, gpuOut: NDArray, rtol: number): void {
  assert.deepEqual(gpuOut.shape, cpu.shape, `${name}: shape`);
  assert.equal(gpuOut.dtype, cpu.dtype, `${name}: dtype`);
  const a = cpu.toFlatArray();
  const b = gpuOut.toFlatArray();
  let scale = 0;
  for (const v of a) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      assert.ok(Number.isNaN(x) && Number.isNaN(y), `${name}[${i}]: cpu ${x} vs gpu ${y}`);
      continue;
    }
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      assert.equal(y, x, `${name}[${i}]`);
      continue;
    }
    const err = Math.abs(x - y);
    // Near-zero results of long sums (convolutions, matmuls) are compared against the size of the
    // terms: at least 1e-3 of the largest value, and one unit in the last place of it for 16-bit
    // results (cuDNN rounds intermediates to the storage type; the CPU rounds only the result).
    assert.ok(err <= rtol * Math.max(Math.abs(x), Math.max(1e-3, ulpOf(gpuOut.dtype)) * scale, 1e-30), `${name}[${i}]: cpu ${x} vs gpu ${y} (|diff| ${err.toExponential(2)}, rtol ${rtol})`);
  }
}

const U = (shape: number[], extra: Partial<Input> = {}): Input => ({ shape, ...extra });
const unaryCases: Case[] = [
  ['neg', nd.neg], ['abs', nd.abs], ['exp', nd.exp], ['sin', nd.sin], ['cos', nd.cos], ['tanh', nd.tanh], ['sigmoid', nd.sigmoid],
  ['relu', nd.relu], ['leakyRelu', (x: NDArray) => nd.leakyRelu(x, 0.1)], ['elu', nd.elu], ['selu', nd.selu], ['gelu', nd.gelu],
  ['swish', nd.swish], ['softplus', nd.softplus], ['hardTanh', nd.hardTanh], ['hardSigmoid', nd.hardSigmoid], ['square', nd.square],
  ['expm1', nd.expm1], ['clip', (x: NDArray) => nd.clip(x, -0.5, 0.5)],
].map(([name, fn]) => ({ name: name as string, inputs: [U([33, 17], { lo: -3, hi: 3, view: 'transpose' })], fn: fn as (x: NDArray) => NDArray, grad: true }));

const positiveCases: Case[] = [
  ['log', nd.log], ['sqrt', nd.sqrt], ['rsqrt', nd.rsqrt], ['reciprocal', nd.reciprocal], ['log1p', nd.log1p], ['powScalar', (x: NDArray) => nd.powScalar(x, 1.7)],
].map(([name, fn]) => ({ name: name as string, inputs: [U([65, 9], { lo: 0.2, hi: 4 })], fn: fn as (x: NDArray) => NDArray, grad: true }));

const binaryCases: Case[] = [
  ['add', nd.add], ['sub', nd.sub], ['mul', nd.mul], ['maximum', nd.maximum], ['minimum', nd.minimum], ['squaredDifference', nd.squaredDifference],
].map(([name, fn]) => ({ name: name as string, inputs: [U([7, 1, 13]), U([5, 1], { view: 'slice' })], fn: fn as (a: NDArray, b: NDArray) => NDArray, grad: true }));

const cases: Case[] = [
  ...unaryCases,
  ...positiveCases,
  ...binaryCases,
  { name: 'div', inputs: [U([6, 11]), U([11], { lo: 0.5, hi: 2 })], fn: nd.div, grad: true },
  { name: 'pow', inputs: [U([6, 11], { lo: 0.5, hi: 2 }), U([6, 11], { lo: -1, hi: 2 })], fn: nd.pow, grad: true },
  { name: 'mod', inputs: [U([40], { lo: -5, hi: 5 }), U([40], { lo: 0.7, hi: 2 })], fn: nd.mod },
  { name: 'compare lt/ge/eq', inputs: [U([9, 8], { lo: 0, hi: 3, int: true }), U([8], { lo: 0, hi: 3, int: true })], fn: (a, b) => nd.and(nd.lt(a, b), nd.ge(b, a)) },
  { name: 'where', inputs: [U([12, 5]), U([12, 5]), U([5])], fn: (c, a, b) => nd.where(nd.gt(c, 0), a, b), grad: true },
  { name: 'floor/round/sign', inputs: [U([50], { lo: -4, hi: 4 })], fn: (x) => nd.add(nd.add(nd.floor(x), nd.round(x)), nd.sign(x)) },
  { name: 'cast to INT32 and back', inputs: [U([30], { lo: -100, hi: 100 })], fn: (x) => nd.cast(nd.cast(x, 'INT32'), x.dtype) },
  { name: 'int32 arithmetic', dtypes: ['INT32'], inputs: [U([20, 3], { lo: -50, hi: 50, int: true }), U([3], { lo: 1, hi: 9, int: true })], fn: (a, b) => nd.mod(nd.add(nd.mul(a, b), 7), b) },
  ...(['sum', 'mean', 'max', 'min', 'prod', 'norm1', 'norm2', 'logSumExp'] as const).flatMap((op) =>
    [[0], [1], [0, 2], undefined].map((axes) => ({
      name: `${op} axes ${axes ? axes.join(',') : 'all'}`,
      inputs: [U([6, 35, 4], { lo: op === 'prod' ? 0.8 : -2, hi: op === 'prod' ? 1.2 : 2, view: 'transpose' })],
      fn: (x: NDArray) => (nd[op] as (x: NDArray, a?: number[], k?: boolean) => NDArray)(x, axes, true),
      grad: op !== 'max' && op !== 'min',
      slack: 4,
    })),
  ),
  { name: 'variance/std ddof 1', inputs: [U([40, 9])], fn: (x) => nd.add(nd.variance(x, 0, false, 1), nd.std(x, 0, false, 1)), grad: true, slack: 4 },
  { name: 'argmax/argmin', inputs: [U([13, 29])], fn: (x) => nd.add(nd.argmax(x, 1), nd.argmin(x, 0).sum()) },
  { name: 'any/all', inputs: [U([7, 6], { lo: 0, hi: 2, int: true })], fn: (x) => nd.cast(nd.and(nd.any(x, 1), nd.all(x, 1)), 'INT32') },
  { name: 'long sum', inputs: [U([1 << 20])], fn: (x) => nd.sum(x), slack: 50, dtypes: ['DOUBLE', 'FLOAT'] },
  { name: 'softmax axis 1', inputs: [U([16, 100], { lo: -5, hi: 5 })], fn: (x) => nd.softmax(x, 1), grad: true },
  { name: 'logSoftmax axis 0', inputs: [U([30, 7], { lo: -5, hi: 5, view: 'transpose' })], fn: (x) => nd.logSoftmax(x, 0), grad: true },
  { name: 'matmul', inputs: [U([37, 91]), U([91, 53])], fn: nd.matmul, grad: true, slack: 10 },
  { name: 'matmul transposed views', inputs: [U([20, 33], { view: 'transpose' }), U([33, 17], { view: 'transpose' })], fn: nd.matmul, grad: true, slack: 10 },
  { name: 'batched matmul broadcast', inputs: [U([3, 1, 8, 16]), U([4, 16, 5])], fn: nd.matmul, grad: true, slack: 10 },
  { name: 'conv2d stride 2 pad 1', inputs: [U([2, 3, 9, 9]), U([4, 3, 3, 3]), U([4])], fn: (x, w, b) => nd.conv2d(x, w, b, { stride: 2, padding: 1 }), grad: true, slack: 10 },
  { name: 'conv2d of a strided view, Same-style padding', inputs: [{ shape: [2, 3, 8, 8], view: 'slice', grad: true }, U([5, 3, 3, 3])], fn: (x, w) => nd.conv2d(x, w, undefined, { padding: 1 }), grad: true, slack: 10 },
  { name: 'conv2d dilation 2', inputs: [U([1, 2, 10, 8]), U([3, 2, 3, 2])], fn: (x, w) => nd.conv2d(x, w, undefined, { dilation: 2 }), grad: true, slack: 10 },
  // LeNet-like 5x5 layers, whose 16-bit passes run natively or widened to FLOAT depending on timing: both ways, forced.
  ...(['always', 'never'] as const).map((mode): Case => ({
    name: `conv2d 5x5, 16-bit widening ${mode}`, inputs: [U([3, 6, 12, 12]), U([5, 6, 5, 5])], fn: (x, w) => nd.conv2d(x, w), grad: true, slack: 10,
    dtypes: ['HALF', 'BFLOAT16'], cuda: { widenHalfConvolutions: mode },
  })),
  { name: 'maxPool2d', inputs: [U([2, 3, 9, 9])], fn: (x) => nd.maxPool2d(x, { kernel: 3, stride: 2, padding: 1 }), grad: true },
  { name: 'avgPool2d', inputs: [U([2, 3, 8, 8])], fn: (x) => nd.avgPool2d(x, { kernel: 2, stride: 2 }), grad: true },
  { name: 'gather axis 1', inputs: [U([5, 9, 3]), U([4, 2], { lo: 0, hi: 9, int: true, dtype: 'INT32' })], fn: (x, i) => nd.gather(x, i, 1), grad: true },
  { name: 'scatterAdd duplicates', inputs: [U([6, 4]), U([10], { lo: 0, hi: 6, int: true, dtype: 'INT64' }), U([10, 4])], fn: (t, i, u) => nd.scatterAdd(t, i, u, 0), grad: true, slack: 4 /* atomics add duplicates in another order */ },
  { name: 'concat/pad/tile', inputs: [U([3, 4]), U([3, 2])], fn: (a, b) => nd.tile(nd.pad(nd.concat([a, b], 1), [[1, 0], [0, 2]], 0.5), [2, 1]), grad: true },
];

describe('CPU/GPU parity of every op and gradient', () => {
  if ('skip' in gpu) {
    test(`parity suite (${gpu.skip})`, { skip: gpu.skip }, () => {});
    return;
  }
  const cuda = gpu.cuda;
  const cpu = nd.backendByName('cpu');
  for (const c of cases) {
    for (const dtype of c.dtypes ?? FLOATS) {
      test(`${c.name} ${dtype}`, () => {
        const saved = nd.cudaConfiguration();
        const restore = c.cuda ? Object.fromEntries(Object.keys(c.cuda).map((k) => [k, saved[k as keyof nd.CudaConfiguration]])) : null;
        if (c.cuda) nd.configureCuda(c.cuda);
        try {
          runCase(c, dtype);
        } finally {
          if (restore) nd.configureCuda(restore);
        }
      });
    }
  }

  function runCase(c: Case, dtype: DataType): void {
    scope(() => {
      const seed = [...`${c.name}${dtype}`].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7);
      const onCpu = c.inputs.map((spec) => makeInput(new Rng(seed + c.inputs.indexOf(spec)), spec, dtype, cpu));
      const onGpu = onCpu.map((x) => nd.toBackend(x, cuda));
      const rtol = RTOL[dtype]! * (c.slack ?? 1);
      const yc = noGrad(() => c.fn(...onCpu));
      const yg = noGrad(() => c.fn(...onGpu));
      assert.equal(yg.backend, cuda, 'the GPU result lives on the GPU');
      compare(c.name, yc, yg, rtol);
      if (!c.grad || dtype === 'INT32') return;
      // Gradients w.r.t. the floating inputs, seeded with the same random upstream gradient.
      const floating = (x: NDArray): boolean => nd.isFloating(x.dtype);
      const leavesC = onCpu.map((x) => (floating(x) ? x.dup().requireGrad() : x));
      const leavesG = onGpu.map((x) => (floating(x) ? x.dup().requireGrad() : x));
      const outC = c.fn(...leavesC);
      const seedC = nd.rand(outC.shape, { low: -1, high: 1, dtype: outC.dtype, backend: cpu, seed: 99 });
      outC.backward(seedC);
      c.fn(...leavesG).backward(nd.toBackend(seedC, cuda));
      leavesC.forEach((x, i) => {
        const gc = x.grad;
        const gg = leavesG[i]!.grad;
        // Inputs the result does not depend on differentiably (a where() condition) get no gradient on either side.
        if (!floating(x) || (gc === null && gg === null)) return;
        assert.ok(gc && gg, `d${c.name}/dinput${i}: a gradient on one backend only`);
        compare(`d${c.name}/dinput${i}`, gc, gg, rtol * 4);
      });
    });
  }

  test('cuDNN convolutions run on cached graph-API execution plans (no legacy fallback, no refusal)', () =>
    scope(() => {
      if (!cuda.convolution) return assert.fail('cuDNN is not loaded on the GPU machine');
      for (const dtype of FLOATS) {
        const x = nd.randn([2, 3, 10, 10], { dtype, backend: cuda, seed: 3 }).requireGrad();
        const w = nd.randn([4, 3, 3, 3], { dtype, backend: cuda, seed: 4 }).requireGrad();
        nd.sum(nd.conv2d(x, w, undefined, { padding: 1 })).backward();
      }
      const details = cuda.info().details;
      assert.equal(details['cudnnGraphError'], undefined, `the graph API refused a convolution: ${String(details['cudnnGraphError'])}`);
      assert.ok(Number(details['cudnnGraphPlans']) >= 3 * FLOATS.length, `graph plans: ${String(details['cudnnGraphPlans'])}`);
      assert.equal(details['cudnnLegacyPlans'], 0);
    }));

  test('random streams: same seed, same numbers on both backends', () =>
    scope(() => {
      for (const dtype of ['DOUBLE', 'FLOAT'] as const) {
        const u = [cpu, cuda].map((backend) => nd.rand([1000], { seed: 1234, dtype, backend }));
        compare('rand', u[0]!, u[1]!, dtype === 'DOUBLE' ? 1e-15 : 1e-7);
        const n = [cpu, cuda].map((backend) => nd.randn([1001], { seed: 77, dtype, backend, mean: 1, std: 2 }));
        compare('randn', n[0]!, n[1]!, dtype === 'DOUBLE' ? 1e-12 : 1e-6);
        const t = [cpu, cuda].map((backend) => nd.truncatedNormal([999], { seed: 5, dtype, backend }));
        compare('truncatedNormal', t[0]!, t[1]!, dtype === 'DOUBLE' ? 1e-12 : 1e-6);
        const b = [cpu, cuda].map((backend) => nd.bernoulli([500], 0.3, { seed: 8, dtype, backend }));
        compare('bernoulli', b[0]!, b[1]!, 0);
      }
    }));
});
