/**
 * The CUDA launcher of the fused LSTM cell (src/backend/cuda/lstm-cell.ts), runnable without a GPU:
 * a stub device records what would be launched. Every operand is validated before any launch, with
 * errors naming the operand, its shape and dtype; valid calls launch one kernel with the operands'
 * device addresses (0 for absent ones), N, H and the activations as compile-time kinds. The kernels
 * themselves run in test/gpu/lstm-cell.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LstmCellActivation, TensorRef } from '../src/backend/backend.js';
import type { CudaDevice } from '../src/backend/cuda/device.js';
import type { KernelSpec } from '../src/backend/cuda/kernel-library.js';
import { CudaLstmCell } from '../src/backend/cuda/lstm-cell.js';
import type { DataType } from '../src/index.js';

interface Launch {
  readonly spec: KernelSpec;
  readonly args: readonly number[];
}

/** A device whose kernels record their launches. */
function stubDevice(launches: Launch[]): CudaDevice {
  const device = {
    multiprocessors: 4,
    stream: 0,
    kernels: {
      get: (spec: KernelSpec) => ({ launch: (_grid: number, _block: number, _stream: unknown, args: readonly number[]) => launches.push({ spec, args }) }),
    },
  };
  return device as unknown as CudaDevice;
}

/** A packed [rows, cols] view at element `offset` of a buffer at device address `ptr`. */
function ref(ptr: number, rows: number, cols: number, dtype: DataType = 'FLOAT', offset = 0): TensorRef {
  return { buffer: { bytes: 1 << 20, ptr } as TensorRef['buffer'], dtype, offset, shape: [rows, cols], strides: [cols, 1] };
}

describe('CudaLstmCell launcher (no GPU needed)', () => {
  const launches: Launch[] = [];
  const cell = new CudaLstmCell(stubDevice(launches));
  const run = (fn: () => void): Launch[] => {
    launches.length = 0;
    fn();
    return [...launches];
  };

  test('forward: one launch with the addresses, null pointers for absent operands, N and H', () => {
    const [l, ...more] = run(() => cell.forward(ref(1000, 2, 12, 'DOUBLE', 3), null, ref(2000, 2, 3, 'DOUBLE'), ref(3000, 2, 3, 'DOUBLE'), ref(4000, 2, 3, 'DOUBLE'), ref(5000, 2, 12, 'DOUBLE'), 'tanh', 'hardsigmoid'));
    assert.equal(more.length, 0);
    assert.equal(l!.spec.entry, 'lstm_forward');
    assert.equal(l!.spec.file, 'lstm.cu');
    assert.deepEqual(l!.spec.defines, { T_DT: 'DT_DOUBLE', ACT_KIND: '0', GATE_KIND: '2', ENTRY_lstm_forward: '1' });
    // zx starts 3 doubles into its buffer.
    assert.deepEqual(l!.args, [1024, 0, 2000, 3000, 4000, 5000, 2, 3]);
  });

  test('backward: one launch; dh, dc and dcPrev may be absent', () => {
    const [l] = run(() => cell.backward(ref(1000, 4, 20, 'HALF'), null, ref(2000, 4, 5, 'HALF'), null, ref(3000, 4, 5, 'HALF'), ref(4000, 4, 20, 'HALF'), null, 'sigmoid', 'tanh'));
    assert.equal(l!.spec.entry, 'lstm_backward');
    assert.deepEqual(l!.spec.defines, { T_DT: 'DT_HALF', ACT_KIND: '1', GATE_KIND: '0', ENTRY_lstm_backward: '1' });
    assert.deepEqual(l!.args, [1000, 0, 2000, 0, 3000, 4000, 0, 4, 5]);
  });

  test('no launch for zero examples', () => {
    assert.equal(run(() => cell.forward(ref(1000, 0, 12), null, null, ref(2000, 0, 3), ref(3000, 0, 3), ref(4000, 0, 12), 'tanh', 'sigmoid')).length, 0);
  });

  test('bad operands are refused before any launch, naming the operand, shape and dtype', () => {
    const z = ref(1000, 2, 12);
    const hc = ref(2000, 2, 3);
    const cases: readonly [() => void, RegExp][] = [
      [() => cell.forward(z, null, null, ref(3000, 2, 4), hc, z, 'tanh', 'sigmoid'), /lstmCell forward: h FLOAT\[2, 4\] must be FLOAT\[2, 3\] for zx FLOAT\[2, 12\]/],
      [() => cell.forward(ref(1000, 2, 10), null, null, hc, hc, z, 'tanh', 'sigmoid'), /lstmCell forward: zx FLOAT\[2, 10\] must be \[N, 4H\]/],
      [() => cell.forward(z, ref(3000, 2, 12, 'HALF'), null, hc, hc, z, 'tanh', 'sigmoid'), /lstmCell forward: zh HALF\[2, 12\] must be FLOAT\[2, 12\]/],
      [() => cell.forward(z, null, { ...hc, strides: [1, 2] }, hc, hc, z, 'tanh', 'sigmoid'), /lstmCell forward: cPrev FLOAT\[2, 3\] must be contiguous/],
      [() => cell.forward(ref(1000, 2, 12, 'INT32'), null, null, hc, hc, z, 'tanh', 'sigmoid'), /lstmCell forward: zx INT32\[2, 12\] must be a floating type/],
      [() => cell.forward(z, null, null, hc, hc, z, 'relu' as LstmCellActivation, 'sigmoid'), /lstmCell forward: unsupported activation 'relu' \(expected tanh, sigmoid, hardsigmoid\)/],
      [() => cell.backward(z, null, hc, hc, null, z, hc, 'tanh', 'sigmoid'), /lstmCell backward: dcPrev FLOAT\[2, 3\] was given without cPrev/],
      [() => cell.backward(z, hc, hc, hc, null, ref(3000, 2, 8), null, 'tanh', 'sigmoid'), /lstmCell backward: dz FLOAT\[2, 8\] must be FLOAT\[2, 12\] for gates FLOAT\[2, 12\]/],
    ];
    for (const [call, message] of cases) assert.equal(run(() => assert.throws(call, message)).length, 0, String(message));
  });
});
