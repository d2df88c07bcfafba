/**
 * The CUDA launcher of the fused batch normalization (src/backend/cuda/batch-norm.ts), runnable
 * without a GPU: a stub device records launches and scratch allocations. Every operand is validated
 * before anything is launched or allocated; valid calls launch the three kernels of each pass with
 * the operands' device addresses, the [N, C, S] sizes and the slice count, within the configured
 * grid and block limits, and return their scratch memory. The kernels run in test/gpu/batch-norm.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TensorRef } from '../src/backend/backend.js';
import type { CudaDevice } from '../src/backend/cuda/device.js';
import type { KernelSpec } from '../src/backend/cuda/kernel-library.js';
import { CudaBatchNorm } from '../src/backend/cuda/batch-norm.js';
import { configureCuda, cudaConfiguration } from '../src/backend/cuda/config.js';
import type { DataType } from '../src/index.js';

interface Launch {
  readonly entry: string;
  readonly defines: KernelSpec['defines'];
  readonly grid: number;
  readonly block: number;
  readonly gridY: number;
  readonly args: readonly number[];
}

/** Scratch blocks: live ones, and the sizes and addresses handed out since the last reset. */
interface Scratch {
  readonly live: Set<number>;
  readonly sizes: number[];
  readonly ptrs: number[];
}

/** A device whose kernels record their launches and whose allocator records scratch blocks. */
function stubDevice(launches: Launch[], blocks: Scratch): CudaDevice {
  let next = 0x10000;
  const device = {
    multiprocessors: 8,
    stream: 0,
    kernels: {
      get: (spec: KernelSpec) => ({
        launch: (grid: number, block: number, _stream: unknown, args: readonly number[], _op: string, _shared = 0, gridY = 1) =>
          launches.push({ entry: spec.entry, defines: spec.defines, grid, block, gridY, args }),
      }),
    },
    allocator: {
      alloc: (bytes: number) => {
        const ptr = next;
        next += 0x10000;
        blocks.live.add(ptr);
        blocks.sizes.push(bytes);
        blocks.ptrs.push(ptr);
        return { ptr, size: bytes };
      },
      free: (b: { ptr: number }) => {
        assert.ok(blocks.live.delete(b.ptr), 'scratch freed twice');
      },
    },
  };
  return device as unknown as CudaDevice;
}

/** A packed view of `shape` at element `offset` of a buffer at device address `ptr`. */
function ref(ptr: number, shape: readonly number[], dtype: DataType = 'FLOAT', offset = 0): TensorRef {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, d) => a * d, 1));
  return { buffer: { bytes: 1 << 24, ptr } as TensorRef['buffer'], dtype, offset, shape, strides };
}

describe('CudaBatchNorm launcher (no GPU needed)', () => {
  const launches: Launch[] = [];
  const blocks: Scratch = { live: new Set<number>(), sizes: [], ptrs: [] };
  const bn = new CudaBatchNorm(stubDevice(launches, blocks));
  const run = (fn: () => void): Launch[] => {
    launches.length = 0;
    blocks.sizes.length = 0;
    blocks.ptrs.length = 0;
    fn();
    assert.equal(blocks.live.size, 0, 'every scratch block is returned');
    return [...launches];
  };
  // x [N=3, C=4, S=5] FLOAT; per-channel vectors [4]; statistics FLOAT [4].
  const x = ref(0x100000, [3, 4, 5], 'FLOAT', 2);
  const y = ref(0x200000, [3, 4, 5]);
  const c = (ptr: number, dtype: DataType = 'FLOAT'): TensorRef => ref(ptr, [4], dtype);

  test('forwardTraining: partial sums over (channels, slices), a per-channel finish, an elementwise apply', () => {
    const ls = run(() => bn.forwardTraining(x, c(0x300000), c(0x310000), y, c(0x320000), c(0x330000), c(0x340000), c(0x350000), 1e-5, 0.9));
    assert.deepEqual(ls.map((l) => l.entry), ['bn_stats_partial', 'bn_stats_finish', 'bn_apply']);
    for (const l of ls) assert.deepEqual(l.defines, { T_DT: 'DT_FLOAT', [`ENTRY_${l.entry}`]: '1' });
    const [partial, finish, apply] = ls as [Launch, Launch, Launch];
    // 15 values per channel need one slice; x starts 2 floats into its buffer.
    assert.deepEqual([partial.grid, partial.gridY, partial.block], [4, 1, 256]);
    assert.deepEqual(partial.args, [0x100000 + 8, blocks.ptrs[0], 3, 4, 5, 1]);
    assert.deepEqual(finish.args.slice(0, 2), [0x100000 + 8, blocks.ptrs[0]]);
    assert.deepEqual(blocks.sizes, [2 * 4 * 1 * 4], 'two float partial sums per (channel, slice)');
    assert.deepEqual(finish.args.slice(2), [0x320000, 0x330000, 0x340000, 0x350000, 3, 4, 5, 1, 1e-5, 0.9]);
    assert.deepEqual(apply.args, [0x100000 + 8, 0x200000, 0x320000, 0x330000, 0x300000, 0x310000, 60, 4, 5]);
  });

  test('backward: partial sums of dy and dy*xhat, a finish into dgamma/dbeta, an elementwise dx', () => {
    const ls = run(() => bn.backward(x, ref(0x400000, [3, 4, 5]), c(0x300000), c(0x320000), c(0x330000), ref(0x500000, [3, 4, 5]), c(0x360000), c(0x370000)));
    assert.deepEqual(ls.map((l) => l.entry), ['bn_grad_partial', 'bn_grad_finish', 'bn_grad_apply']);
    assert.deepEqual(blocks.sizes, [2 * 4 * 4, 2 * 4 * 1 * 4], 'per-channel sums and per-slice partials, FLOAT');
    const apply = ls[2]!;
    assert.deepEqual([apply.args[0], apply.args[1], apply.args[2], ...apply.args.slice(7)], [0x100000 + 8, 0x400000, 0x500000, 60, 4, 5, 15]);
  });

  test('DOUBLE keeps its statistics in DOUBLE; many values per channel are cut into slices', () => {
    const xd = ref(0x100000, [64, 2, 1024], 'DOUBLE');
    const cd = (ptr: number): TensorRef => ref(ptr, [2], 'DOUBLE');
    const [partial] = run(() => bn.forwardTraining(xd, cd(1), cd(2), ref(0x900000, [64, 2, 1024], 'DOUBLE'), cd(3), cd(4), cd(5), cd(6), 1e-3, 0.5));
    // 4 blocks per multiprocessor over 2 channels: 16 slices, each at least 2048 of the 65536 values.
    assert.equal(partial!.gridY, 16);
    assert.deepEqual(blocks.sizes, [2 * 2 * 16 * 8]);
    assert.throws(() => bn.forwardTraining(xd, cd(1), cd(2), ref(0x900000, [64, 2, 1024], 'DOUBLE'), ref(3, [2]), cd(4), cd(5), cd(6), 1e-3, 0.5),
      /batchNorm forward: mean FLOAT\[2\] must be DOUBLE\[2\]/);
  });

  test('launches respect maximumGridSize and maximumBlockSize', () => {
    const saved = cudaConfiguration();
    const { maximumGridSize, maximumBlockSize } = saved;
    configureCuda({ maximumGridSize: 3, maximumBlockSize: 64 });
    try {
      const ls = run(() => bn.forwardTraining(x, c(1), c(2), y, c(3), c(4), c(5), c(6), 1e-5, 0.9));
      for (const l of ls) {
        assert.ok(l.grid <= 3, `${l.entry} grid ${l.grid}`);
        assert.ok(l.block <= 64, `${l.entry} block ${l.block}`);
      }
    } finally {
      configureCuda({ maximumGridSize, maximumBlockSize });
    }
  });

  test('bad operands are refused before anything is launched or allocated, naming operand, shape and dtype', () => {
    const cases: [() => void, RegExp][] = [
      [() => bn.forwardTraining(ref(1, [3, 4]), c(1), c(2), y, c(3), c(4), c(5), c(6), 1e-5, 0.9), /x FLOAT\[3, 4\] must be a packed \[N, C, S\] view/],
      [() => bn.forwardTraining(ref(1, [3, 4, 5], 'INT32'), c(1), c(2), y, c(3), c(4), c(5), c(6), 1e-5, 0.9), /x INT32\[3, 4, 5\] must be a floating type/],
      [() => bn.forwardTraining(x, c(1, 'HALF'), c(2), y, c(3), c(4), c(5), c(6), 1e-5, 0.9), /gamma HALF\[4\] must be FLOAT\[4\]/],
      [() => bn.forwardTraining(x, c(1), c(2), ref(7, [3, 4, 6]), c(3), c(4), c(5), c(6), 1e-5, 0.9), /y FLOAT\[3, 4, 6\] must be FLOAT\[3, 4, 5\]/],
      [() => bn.forwardTraining(x, c(1), c(2), { ...y, strides: [1, 3, 12] }, c(3), c(4), c(5), c(6), 1e-5, 0.9), /y FLOAT\[3, 4, 5\] must be contiguous/],
      [() => bn.forwardTraining(x, c(1), c(2), y, c(3), c(4), c(5), c(6), 0, 0.9), /expected eps > 0 and decay in \[0, 1\]/],
      [() => bn.forwardTraining(ref(1, [0, 4, 5]), c(1), c(2), ref(2, [0, 4, 5]), c(3), c(4), c(5), c(6), 1e-5, 0.9), /has no values per channel/],
      [() => bn.backward(x, ref(2, [3, 4, 5], 'HALF'), c(1), c(3), c(4), ref(5, [3, 4, 5]), c(6), c(7)), /batchNorm backward: dy HALF\[3, 4, 5\] must be FLOAT\[3, 4, 5\]/],
    ];
    for (const [call, message] of cases) {
      const ls = run(() => assert.throws(call, message));
      assert.equal(ls.length, 0);
      assert.equal(blocks.sizes.length, 0);
    }
  });
});
