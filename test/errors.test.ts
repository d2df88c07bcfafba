/**
 * Bad input gives clear errors that name the op, the shapes and the dtypes, and never crashes the
 * process; arrays that existed before an error keep their values. The native addon is also called
 * directly with malformed views, freed buffers, wrong dtypes and missing arguments.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../src/index.js';
import type { DataType, NDArray } from '../src/index.js';
import { nativeCpu, nativeTensor, type NativeBuffer, type NativeCpu, type NativeTensor } from '../src/backend/cpu/native.js';

/** An array made before the errors, checked after each group: errors must not corrupt other memory. */
let witness: NDArray;
const WITNESS = [[1.5, -2, 3], [4, 5.25, -6]];

before(() => {
  witness = dl.keep(dl.array(WITNESS, { dtype: 'DOUBLE' }));
});

after(() => {
  assert.deepEqual(witness.toArray(), WITNESS, 'an unrelated array still holds its values');
  witness.close();
});

function stillIntact(): void {
  assert.deepEqual(witness.toArray(), WITNESS, 'an unrelated array still holds its values');
}

describe('front-end errors', () => {
  it('shapes that do not broadcast name the op and both shapes', () => {
    dl.scope(() => {
      const a = dl.zeros([2, 3]);
      const b = dl.zeros([4]);
      assert.throws(() => dl.add(a, b), /add: shapes \[2, 3\] and \[4\] cannot be broadcast together \(dimension 1: 3 vs 4\)/);
      assert.throws(() => a.mul(dl.zeros([3, 3])), /mul: shapes \[2, 3\] and \[3, 3\] cannot be broadcast/);
      assert.throws(() => dl.where(dl.zeros([2], { dtype: 'BOOL' }), a, a), /where: shapes \[2\] and \[2, 3\] cannot be broadcast/);
      assert.throws(() => a.broadcastTo([3]), /broadcastTo: FLOAT\[2, 3\] cannot be broadcast to \[3\]/);
      assert.throws(() => a.broadcastTo([2, 4]), /broadcastTo: shapes \[2, 3\] and \[2, 4\] cannot be broadcast/);
      assert.deepEqual(a.toArray(), [[0, 0, 0], [0, 0, 0]]);
      stillIntact();
    });
  });

  it('matmul and gemm: inner and batch mismatches name shapes and dtypes', () => {
    dl.scope(() => {
      const a = dl.zeros([2, 3]);
      assert.throws(() => dl.matmul(a, dl.zeros([4, 5])), /matmul: inner dimensions differ: FLOAT\[2, 3\] @ FLOAT\[4, 5\] \(3 vs 4\)/);
      assert.throws(() => dl.matmul(dl.zeros([2, 3, 4]), dl.zeros([3, 4, 5])), /matmul \(batch dimensions\): shapes \[2\] and \[3\] cannot be broadcast/);
      assert.throws(() => dl.matmul(dl.zeros([3]), dl.zeros([4])), /matmul: inner dimensions differ/);
      assert.throws(() => dl.matmul(dl.scalar(1), a), /matmul: operands must have at least one axis, got FLOAT\[\] @ FLOAT\[2, 3\]/);
      assert.throws(() => dl.gemm(a, dl.zeros([3, 4]), dl.zeros([2, 5])), /gemm: op\(a\) \[2, 3\] @ op\(b\) \[3, 4\] does not give c \[2, 5\]/);
      assert.throws(() => dl.gemm(a, dl.zeros([3, 4]), dl.zeros([2, 4], { dtype: 'DOUBLE' })), /gemm: dtypes differ: FLOAT\[2, 3\], FLOAT\[3, 4\], DOUBLE\[2, 4\]/);
      assert.throws(() => dl.gemm(dl.zeros([3]), a, a), /gemm: expected 2-D arrays, got FLOAT\[3\]/);
      stillIntact();
    });
  });

  it('bad axes name the op, the axis and the rank', () => {
    dl.scope(() => {
      const x = dl.zeros([2, 3, 4]);
      assert.throws(() => dl.sum(x, 3), /sum: axis 3 is out of range for rank 3/);
      assert.throws(() => dl.mean(x, [-4]), /mean: axis -4 is out of range for rank 3/);
      assert.throws(() => dl.max(x, [0, 2, -3]), /max: repeated axis in \[0, 2, -3\]/);
      assert.throws(() => dl.sum(x, 1.5), /sum: axis 1\.5 is out of range for rank 3/);
      assert.throws(() => dl.argmax(x, 5), /argmax: axis 5 is out of range for rank 3/);
      assert.throws(() => dl.softmax(x, -4), /softmax: axis -4 is out of range for rank 3/);
      assert.throws(() => x.permute(0, 0, 1), /permute: \[0, 0, 1\] is not a permutation of the 3 axes of FLOAT\[2, 3, 4\]/);
      assert.throws(() => x.permute(0, 1), /permute: \[0, 1\] is not a permutation/);
      assert.throws(() => x.squeeze(0), /squeeze: axis 0 of FLOAT\[2, 3, 4\] has size 2, not 1/);
      assert.throws(() => x.expandDims(5), /expandDims: axis 5 is out of range for rank 4/);
      stillIntact();
    });
  });

  it('bad reshapes name the array and the requested shape', () => {
    dl.scope(() => {
      const x = dl.zeros([2, 3]);
      assert.throws(() => x.reshape(4, 2), /reshape: cannot reshape FLOAT\[2, 3\] \(6 elements\) to \[4, 2\]/);
      assert.throws(() => x.reshape(-1, -1), /reshape: only one dimension may be -1, got \[-1, -1\]/);
      assert.throws(() => x.reshape(-1, 4), /reshape: cannot reshape FLOAT\[2, 3\] \(6 elements\) to \[-1, 4\]/);
      assert.throws(() => x.reshape(6, -2), /reshape: invalid shape/);
      assert.deepEqual([...x.shape], [2, 3]);
      stillIntact();
    });
  });

  it('out-of-bounds indices name the index, the axis and the shape', () => {
    dl.scope(() => {
      const x = dl.zeros([3, 4]);
      assert.throws(() => x.get(3), /get: index 3 is out of bounds for axis 0 of size 3 \(shape \[3, 4\]\)/);
      assert.throws(() => x.get(0, -5), /get: index -5 is out of bounds for axis 1 of size 4 \(shape \[3, 4\]\)/);
      assert.throws(() => x.get(dl.point(1.5)), /get: index 1\.5 is out of bounds/);
      assert.throws(() => x.get(0, 0, 0), /get: 3 indices given for an array of shape \[3, 4\]/);
      assert.throws(() => x.get(dl.interval(0, 3, 0)), /get: interval step must be a positive integer, got 0/);
      assert.throws(() => x.get(dl.interval(0, 3, -1)), /get: interval step must be a positive integer, got -1/);
      assert.throws(() => x.get(dl.interval(0.5, 3)), /get: interval bounds must be integers/);
      assert.throws(() => dl.scalar(1).get(0), /get: 1 indices given for an array of shape \[\]/);
      stillIntact();
    });
  });

  it('operations on closed arrays say the array was closed; views keep their storage alive', () => {
    dl.scope(() => {
      const x = dl.array([[1, 2, 3], [4, 5, 6]]);
      const row = x.get(1);
      x.close();
      assert.equal(x.closed, true);
      assert.throws(() => x.toArray(), /this FLOAT\[2, 3\] array was closed/);
      assert.throws(() => x.add(1), /FLOAT\[2, 3\] array was closed/);
      assert.throws(() => dl.add(dl.zeros([2, 3]), x), /FLOAT\[2, 3\] array was closed/);
      assert.throws(() => x.sum(), /array was closed/);
      assert.throws(() => x.reshape(6), /array was closed/);
      assert.throws(() => x.assign(0), /array was closed/);
      assert.doesNotThrow(() => x.close(), 'close is idempotent');
      assert.deepEqual(row.toArray(), [4, 5, 6], 'a view outlives the closed handle it came from');
      assert.deepEqual(row.mul(2).toArray(), [8, 10, 12]);
      stillIntact();
    });
  });

  it('ragged or non-numeric nested input, and values that do not fill the shape', () => {
    dl.scope(() => {
      assert.throws(() => dl.array([[1, 2], [3]]), /array: nested data is ragged \(expected 2 items at depth 1, shape \[2, 2\]\)/);
      assert.throws(() => dl.array([1, [2]]), /array: nested data is ragged \(expected a value at depth 1, shape \[2\]\)/);
      assert.throws(() => dl.array([[1], 2]), /array: nested data is ragged/);
      assert.throws(() => dl.array([[[1, 2]], [[3, 4], [5, 6]]]), /array: nested data is ragged/);
      assert.throws(() => dl.array(['a'] as unknown as number[]), /array: nested data holds a string, expected numbers or booleans/);
      assert.throws(() => dl.array([1, 2, 3], [2, 2]), /array: 3 values do not fill shape \[2, 2\] \(4 elements\)/);
      assert.throws(() => dl.array(new Float32Array(5), [2, 3]), /array: 5 values do not fill shape \[2, 3\] \(6 elements\)/);
      assert.throws(() => dl.zeros([2, -1]), /zeros: invalid shape \[2, -1\]: dimensions must be non-negative integers/);
      assert.throws(() => dl.ones([1.5]), /invalid shape \[1\.5\]/);
      assert.throws(() => dl.array([1, 2], [2, -1]), /array: invalid shape \[2, -1\]/);
      stillIntact();
    });
  });

  it('unknown dtypes are refused by name wherever a dtype is accepted', () => {
    dl.scope(() => {
      const bad = 'FLOAT16' as DataType;
      assert.throws(() => dl.array([1], { dtype: bad }), /array: unknown dtype 'FLOAT16'/);
      assert.throws(() => dl.zeros([2], { dtype: bad }), /zeros: unknown dtype 'FLOAT16'/);
      assert.throws(() => dl.ones([2], { dtype: bad }), /unknown dtype 'FLOAT16'/);
      assert.throws(() => dl.full([2], 3, { dtype: bad }), /unknown dtype 'FLOAT16'/);
      assert.throws(() => dl.scalar(1, { dtype: bad }), /scalar: unknown dtype 'FLOAT16'/);
      assert.throws(() => dl.eye(2, 2, { dtype: bad }), /unknown dtype 'FLOAT16'/);
      assert.throws(() => dl.arange(3, undefined, 1, { dtype: bad }), /arange: unknown dtype 'FLOAT16'/);
      assert.throws(() => dl.linspace(0, 1, 3, { dtype: bad }), /linspace: unknown dtype 'FLOAT16'/);
      const x = dl.zeros([2]);
      assert.throws(() => dl.cast(x, bad), /cast: unknown dtype 'FLOAT16'/);
      assert.throws(() => x.castTo('int' as DataType), /cast: unknown dtype 'int'/);
      assert.throws(() => dl.zerosLike(x, bad), /unknown dtype 'FLOAT16'/);
      stillIntact();
    });
  });

  it('setDefaultDataType refuses non-floating and unknown types and keeps the old default', () => {
    assert.throws(() => dl.setDefaultDataType('INT32'), /setDefaultDataType: expected a floating type \(DOUBLE, FLOAT, HALF, BFLOAT16\), got INT32/);
    assert.throws(() => dl.setDefaultDataType('BOOL'), /got BOOL/);
    assert.throws(() => dl.setDefaultDataType('float' as DataType), /got float/);
    assert.equal(dl.defaultFloatType(), 'FLOAT');
  });

  it('other argument checks: floating-only ops, creation parameters, item, in-place on grad arrays', () => {
    dl.scope(() => {
      const i = dl.array([1, 2, 3], [3], { dtype: 'INT32' });
      assert.throws(() => dl.softmax(i), /softmax: expected a floating array \(DOUBLE, FLOAT, HALF, BFLOAT16\), got INT32\[3\]/);
      assert.throws(() => dl.logSoftmax(i), /logSoftmax: expected a floating array .* got INT32\[3\]/);
      assert.throws(() => i.requireGrad(), /requireGrad: only floating arrays have gradients, this one is INT32/);
      assert.throws(() => dl.arange(0, 5, 0), /arange: step must be a finite non-zero number, got 0/);
      assert.throws(() => dl.linspace(0, 1, -2), /linspace: count must be a non-negative integer, got -2/);
      assert.throws(() => dl.zeros([2, 2]).item(), /item: expected an array of one element, got shape \[2, 2\]/);
      const w = dl.zeros([2]).requireGrad();
      assert.throws(() => w.addi(1), /add in place: FLOAT\[2\] requires grad/);
      assert.throws(() => w.assign(1), /assign: FLOAT\[2\] requires grad/);
      stillIntact();
    });
  });
});

// ---- the native addon, called directly --------------------------------------------------------------

/** A tensor argument before its call places it: nativeTensor() writes it into its argument position's slot. */
class Spec {
  constructor(
    readonly buffer: NativeBuffer,
    readonly dtype: number,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly strides: readonly number[],
  ) {}
}

type WithSpecs<F> = F extends (...args: infer A) => infer R
  ? (...args: { [K in keyof A]: A[K] extends NativeTensor ? Spec : A[K] extends NativeTensor | null ? Spec | null : A[K] }) => R
  : F;
/** The addon's calls with Spec in place of each tensor argument. */
type SpecCpu = { [K in keyof NativeCpu]: WithSpecs<NativeCpu[K]> };

/** The addon, placing each Spec argument in the descriptor slot of its position before the call. */
function placing(addon: NativeCpu): SpecCpu {
  const place = (args: unknown[]): unknown[] => args.map((a, i) => (a instanceof Spec ? nativeTensor(i, a.buffer, a.dtype, a.offset, a.shape, a.strides) : a));
  return new Proxy(addon, {
    get: (target, key) => {
      const v = (target as unknown as Record<string | symbol, unknown>)[key];
      return typeof v === 'function' ? (...args: unknown[]) => (v as (...a: unknown[]) => unknown).apply(target, place(args)) : v;
    },
  }) as unknown as SpecCpu;
}

describe('native-level validation', () => {
  const FLOAT = 1;
  const DOUBLE = 0;
  const BOOL = 7;
  let cpu: SpecCpu;
  const owned: NativeBuffer[] = [];
  const buffer = (bytes: number): NativeBuffer => {
    const b = cpu.alloc(bytes, true);
    owned.push(b);
    return b;
  };
  const tensor = (buf: NativeBuffer, dtype: number, shape: number[], strides?: number[], offset = 0): Spec =>
    new Spec(buf, dtype, offset, shape, strides ?? shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1)));

  before(() => {
    cpu = placing(nativeCpu());
  });

  after(() => {
    for (const b of owned) cpu.free(b);
  });

  it('alloc, free, read and write check their arguments', () => {
    assert.throws(() => cpu.alloc(-1, true), /^Error: dl4ts cpu alloc: byte count must be non-negative/);
    assert.throws(() => cpu.alloc(1.5, true), /dl4ts cpu alloc: 'bytes' must be an integer/);
    assert.throws(() => (cpu.alloc as unknown as () => NativeBuffer)(), /dl4ts cpu alloc: 'bytes' must be a number/);
    const b = buffer(16);
    assert.throws(() => cpu.write(b, 8, new Float32Array(4)), /dl4ts cpu write: range \[8, 24\) is outside the buffer of 16 bytes/);
    assert.throws(() => cpu.read(b, -4, new Uint8Array(2)), /dl4ts cpu read: range \[-4, -2\) is outside the buffer/);
    assert.throws(() => cpu.read(b, 0, [1, 2] as unknown as Uint8Array), /dl4ts cpu read: third argument must be a typed array/);
    assert.throws(() => cpu.write({} as NativeBuffer, 0, new Uint8Array(1)), /dl4ts cpu write: argument 0 must be a native buffer/);
    assert.throws(() => (cpu.free as unknown as (x: number) => void)(3), /dl4ts cpu free: argument must be a native buffer/);
    // Round trip, then free twice (idempotent), then any use says it was released.
    const c = cpu.alloc(8, false);
    cpu.write(c, 0, new Float32Array([1.5, -2]));
    const back = new Float32Array(2);
    cpu.read(c, 0, back);
    assert.deepEqual([...back], [1.5, -2]);
    cpu.free(c);
    cpu.free(c);
    assert.throws(() => cpu.read(c, 0, back), /dl4ts cpu read: the buffer was already released \(array closed\)/);
    stillIntact();
  });

  it('tensors that reach past their buffer, negative strides or dims, bad dtype codes, bad offsets', () => {
    const b = buffer(16); // 4 floats
    const out = tensor(buffer(64), FLOAT, [4]);
    const cases: [Spec, RegExp][] = [
      [tensor(b, FLOAT, [5]), /tensor 'x' FLOAT\[5\] reaches element 4 but its buffer holds 4/],
      [tensor(b, FLOAT, [2], [1], 3), /reaches element 4 but its buffer holds 4/],
      [tensor(b, FLOAT, [2, 2], [3, 1]), /reaches element 4 but its buffer holds 4/],
      [tensor(b, DOUBLE, [3]), /tensor 'x' DOUBLE\[3\] reaches element 2 but its buffer holds 2/],
      [tensor(b, FLOAT, [2], [-1]), /tensor 'x': negative stride/],
      [tensor(b, FLOAT, [-2], [1]), /tensor 'x': negative dimension/],
      [tensor(b, 9, [2]), /tensor 'x': unknown dtype code 9/],
      [tensor(b, -1, [2]), /unknown dtype code -1/],
      [new Spec(b, FLOAT, 1.5, [2], [1]), /tensor 'x': offset must be a non-negative integer/],
      [new Spec(b, FLOAT, -1, [2], [1]), /offset must be a non-negative integer/],
      [new Spec(b, FLOAT, 0, [2, 2], [1]), /tensor argument 1: its shape \[2,2\] and strides \[1\] differ in length/],
      [new Spec(b, FLOAT, 0, [2.5], [1]), /tensor 'x': its shape must be integers/],
      [new Spec(b, FLOAT, 0, [2], [0.5]), /tensor 'x': its strides must be integers/],
      [new Spec(b, 1.5, 0, [2], [1]), /tensor 'x': unknown dtype code 1\.5/],
      [new Spec(b, FLOAT, 0, Array.from({ length: 33 }, () => 1), Array.from({ length: 33 }, () => 1)), /tensor 'x': rank above 32/],
      [new Spec(1 as unknown as NativeBuffer, FLOAT, 0, [2], [1]), /tensor 'x' must be a native buffer/],
    ];
    for (const [x, re] of cases) {
      // An output of the same shape where that shape is valid, so that only x is at fault.
      const shape = x.shape.length <= 32 && x.shape.every((d) => Number.isInteger(d) && d >= 0) ? [...x.shape] : [2];
      assert.throws(() => cpu.unary('neg', x, tensor(out.buffer, x.dtype === DOUBLE ? DOUBLE : FLOAT, shape), 0, 0), (e: unknown) => {
        assert.ok(e instanceof Error);
        assert.match(e.message, /^dl4ts cpu /);
        assert.match(e.message, re);
        return true;
      });
    }
    // The same checks guard outputs.
    assert.throws(() => cpu.unary('neg', tensor(b, FLOAT, [4]), tensor(b, FLOAT, [4], [1], 1), 0, 0), /tensor 'out' FLOAT\[4\] reaches element 4 but its buffer holds 4/);
    stillIntact();
  });

  it('freed buffers inside tensors are refused, for every kernel family', () => {
    const dead = cpu.alloc(64, true);
    cpu.free(dead);
    const live = buffer(64);
    const re = /dl4ts cpu [\w ]+: tensor '\w+': its buffer was already released \(array closed\)/;
    assert.throws(() => cpu.unary('neg', tensor(dead, FLOAT, [4]), tensor(live, FLOAT, [4]), 0, 0), re);
    assert.throws(() => cpu.unary('neg', tensor(live, FLOAT, [4]), tensor(dead, FLOAT, [4]), 0, 0), re);
    assert.throws(() => cpu.binary('add', tensor(live, FLOAT, [4]), tensor(dead, FLOAT, [4]), tensor(live, FLOAT, [4]), 0, 0), re);
    assert.throws(() => cpu.reduce('sum', tensor(dead, FLOAT, [4]), tensor(live, FLOAT, [1]), [0], 0), re);
    assert.throws(() => cpu.softmax(tensor(dead, FLOAT, [4]), tensor(live, FLOAT, [4]), 0, 0), re);
    assert.throws(() => cpu.matmul(tensor(live, FLOAT, [2, 2]), tensor(dead, FLOAT, [2, 2]), tensor(live, FLOAT, [2, 2]), 1, 0), re);
    stillIntact();
  });

  it('wrong dtypes and mismatched shapes are refused with both named', () => {
    const f = buffer(256);
    const d = buffer(256);
    assert.throws(() => cpu.binary('add', tensor(f, FLOAT, [4]), tensor(d, DOUBLE, [4]), tensor(f, FLOAT, [4]), 0, 0), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, /^dl4ts cpu [\w ]+:/);
      assert.match(e.message, /DOUBLE/);
      assert.match(e.message, /FLOAT/);
      return true;
    });
    assert.throws(() => cpu.binary('add', tensor(f, FLOAT, [4]), tensor(f, FLOAT, [4]), tensor(d, DOUBLE, [4]), 0, 0), /dl4ts cpu [\w ]+:.*DOUBLE/);
    assert.throws(() => cpu.binary('lt', tensor(f, FLOAT, [4]), tensor(f, FLOAT, [4]), tensor(f, FLOAT, [4]), 0, 0), /dl4ts cpu [\w ]+:.*BOOL/);
    assert.throws(() => cpu.unary('neg', tensor(f, FLOAT, [4]), tensor(d, DOUBLE, [4]), 0, 0), /dl4ts cpu [\w ]+:.*(DOUBLE|FLOAT)/);
    assert.throws(() => cpu.unary('not', tensor(f, FLOAT, [4]), tensor(f, FLOAT, [4]), 0, 0), /dl4ts cpu [\w ]+:.*BOOL/);
    assert.throws(() => cpu.unary('neg', tensor(f, FLOAT, [4]), tensor(f, FLOAT, [3]), 0, 0), /dl4ts cpu [\w ]+:.*FLOAT\[4\].*FLOAT\[3\]|FLOAT\[3\].*FLOAT\[4\]/);
    assert.throws(() => cpu.binary('add', tensor(f, FLOAT, [4]), tensor(f, FLOAT, [2, 2]), tensor(f, FLOAT, [4]), 0, 0), /dl4ts cpu [\w ]+:.*\[2,2\]/);
    assert.throws(() => cpu.where(tensor(f, FLOAT, [4]), tensor(f, FLOAT, [4]), tensor(f, FLOAT, [4]), tensor(f, FLOAT, [4])), /dl4ts cpu where[\w ]*:.*BOOL/);
    assert.throws(() => cpu.where(tensor(f, BOOL, [4]), tensor(f, FLOAT, [4]), tensor(d, DOUBLE, [4]), tensor(f, FLOAT, [4])), /dl4ts cpu where[\w ]*:.*DOUBLE/);
    assert.throws(() => cpu.matmul(tensor(f, FLOAT, [2, 3]), tensor(f, FLOAT, [4, 5]), tensor(d, FLOAT, [2, 5]), 1, 0), /dl4ts cpu matmul[\w ]*:.*\[2,3\].*\[4,5\]/);
    assert.throws(() => cpu.matmul(tensor(f, FLOAT, [2, 3]), tensor(d, DOUBLE, [3, 2]), tensor(f, FLOAT, [2, 2]), 1, 0), /dl4ts cpu matmul[\w ]*:.*DOUBLE/);
    assert.throws(() => cpu.reduce('sum', tensor(f, FLOAT, [2, 3]), tensor(d, FLOAT, [1, 3]), [5], 0), /dl4ts cpu reduce[\w ]*:.*(axis|axes)/);
    assert.throws(() => cpu.reduce('sum', tensor(f, FLOAT, [2, 3]), tensor(d, FLOAT, [2, 3]), [0], 0), /dl4ts cpu reduce[\w ]*:.*\[2,3\]/);
    assert.throws(() => cpu.reduce('argmax', tensor(f, FLOAT, [2, 3]), tensor(d, FLOAT, [1, 3]), [0], 0), /dl4ts cpu reduce[\w ]*:.*INT64/);
    assert.throws(() => cpu.softmax(tensor(f, FLOAT, [2, 3]), tensor(d, FLOAT, [2, 3]), 2, 0), /dl4ts cpu softmax[\w ]*:.*axis/);
    stillIntact();
  });

  it('unknown ops and missing or malformed arguments', () => {
    const f = buffer(64);
    const x = tensor(f, FLOAT, [4]);
    const call = (fn: unknown, ...args: unknown[]): unknown => (fn as (...a: unknown[]) => unknown)(...args);
    assert.throws(() => call(cpu.unary, 'nope', x, x, 0, 0), /dl4ts cpu unary[\w ]*:.*nope/);
    assert.throws(() => call(cpu.binary, 'nope', x, x, x, 0, 0), /dl4ts cpu binary[\w ]*:.*nope/);
    assert.throws(() => call(cpu.reduce, 'nope', x, tensor(f, FLOAT, [1]), [0], 0), /dl4ts cpu reduce[\w ]*:.*nope/);
    assert.throws(() => call(cpu.unary, 'neg'), /dl4ts cpu [\w ]+:.*missing/);
    assert.throws(() => call(cpu.unary, 'neg', x), /dl4ts cpu [\w ]+:.*missing/);
    assert.throws(() => call(cpu.unary), /dl4ts cpu unary[\w ]*:/);
    assert.throws(() => call(cpu.unary, 5, x, x, 0, 0), /dl4ts cpu unary[\w ]*:/);
    assert.throws(() => call(cpu.binary, 'add', x, 'x', x, 0, 0), /dl4ts cpu [\w ]+: tensor '\w+' must be a native buffer/);
    assert.throws(() => call(cpu.unary, 'leakyrelu', x, x, 'a', 0), /dl4ts cpu [\w ]+:.*must be a number/);
    assert.throws(() => call(cpu.reduce, 'sum', x, tensor(f, FLOAT, [1]), 'all', 0), /dl4ts cpu reduce[\w ]*:.*must be an array of integers/);
    assert.throws(() => call(cpu.matmul, x), /dl4ts cpu matmul[\w ]*:/);
    assert.throws(() => call(cpu.where), /dl4ts cpu where[\w ]*:/);
    assert.throws(() => call(cpu.softmax, x, x), /dl4ts cpu softmax[\w ]*:/);
    stillIntact();
  });

  it('after all of that, kernels still compute correctly', () => {
    dl.scope(() => {
      assert.deepEqual(dl.add(witness, witness).toArray(), WITNESS.map((r) => r.map((v) => 2 * v)));
      assert.deepEqual(dl.sum(witness, 1).toFlatArray(), WITNESS.map((r) => r.reduce((s, v) => s + v, 0)));
    });
  });
});
