/**
 * HALF and BFLOAT16 networks on CUDA: the accuracy cases of test/nn-half.test.ts (MNIST MLP with Adam
 * and SGD at large and small learning rates, a small CNN with Adam) reach the accuracy of the same
 * FLOAT network on the GPU; the FLOAT masters live on the GPU, device memory stays flat over training
 * and close() frees them; a network restored from its saved bytes continues like the original.
 * Skips (and says so) without a GPU.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MultiLayerNetwork, deserializeModel, memoryReport, serializeModel, type DataSet } from '../../src/index.js';
import { ADAM, CNN, HALVES, MLP, MLP_CASES, assertSameAccuracy, batches, conf, masters, paramValues } from '../half-fixture.js';
import { assertFlatDeviceMemory, assertNearValues, gpu, onBackend } from './gpu-env.js';

describe('16-bit training on the GPU', () => {
  if ('skip' in gpu) {
    test(`GPU tests of HALF and BFLOAT16 training (${gpu.skip})`, { skip: gpu.skip }, () => {});
    return;
  }
  const cuda = gpu.cuda;

  for (const [name, updater, floor] of MLP_CASES) {
    test(`CUDA: MLP 784-64-10, ${name}, 3,000 digits x 2 epochs: HALF and BFLOAT16 within 2 points of FLOAT`, () => {
      onBackend(cuda, () => assertSameAccuracy(`CUDA MLP ${name}`, updater, floor, MLP, 3000, 2));
    });
  }

  test('CUDA: CNN, Adam, 1,500 digits x 1 epoch: HALF and BFLOAT16 within 2 points of FLOAT', () => {
    onBackend(cuda, () => assertSameAccuracy('CUDA CNN Adam', ADAM, 0.7, CNN, 1500, 1));
  });

  for (const dt of HALVES) {
    test(`CUDA ${dt}, Adam: FLOAT masters and state on the GPU, flat device memory over 40 steps, freed by close()`, () => {
      onBackend(cuda, () => {
        const [ds] = batches(1) as [DataSet];
        const base = memoryReport();
        const net = new MultiLayerNetwork(conf(dt, ADAM)).init();
        net.fit(ds, 5);
        const state = net.updaterState();
        const keys = Object.keys(state);
        assert.equal(keys.filter((k) => k.endsWith('/MASTER')).length, net.paramTable().size);
        for (const k of keys) {
          assert.equal(state[k]!.dtype, 'FLOAT', k);
          assert.equal(state[k]!.backend, cuda, k);
        }
        for (const p of net.paramTable().values()) assert.equal(p.dtype, dt);
        assertFlatDeviceMemory(cuda, () => net.fit(ds, 35));
        net.close();
        // Array storage, not device bytes: the backend may keep workspaces it allocated on first use.
        assert.equal(memoryReport().arrays, base.arrays);
        assert.equal(memoryReport().totalBytes, base.totalBytes, 'array bytes after close()');
        ds.close();
      });
    });

    test(`CUDA ${dt}, Adam: a network restored from its bytes continues training like the original`, () => {
      onBackend(cuda, () => {
        const net = new MultiLayerNetwork(conf(dt, ADAM)).init();
        const data = batches(6);
        for (const ds of data.slice(0, 3)) net.fit(ds);
        const restored = deserializeModel(serializeModel(net), 'in memory').network;
        for (const p of restored.paramTable().values()) assert.equal(p.backend, cuda);
        for (const ds of data.slice(3)) for (const n of [net, restored]) n.fit(ds);
        // GPU reductions need not sum in a fixed order, so the continuation is compared within a tolerance.
        const [want, got] = [masters(net), masters(restored)];
        assert.equal(got.size, want.size);
        want.forEach((m, k) => assertNearValues(m.values, got.get(k)!.values, 1e-3, `master ${k}`));
        const [pw, pg] = [paramValues(net), paramValues(restored)];
        pw.forEach((p, k) => assertNearValues(p, pg[k]!, 1e-2, `parameter ${k}`));
        for (const n of [net, restored]) n.close();
        for (const ds of data) ds.close();
      });
    });
  }
});
