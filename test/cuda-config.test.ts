/**
 * configureCuda (ND4J's CudaEnvironment configuration): valid changes stick, invalid ones are
 * rejected with a message naming the setting and the value, and leave the configuration unchanged.
 * Runs without a GPU (the configuration is plain data until a device reads it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configureCuda, cudaConfiguration, type CudaConfiguration } from '../src/index.js';

function withRestore(fn: () => void): void {
  const saved = { ...cudaConfiguration() };
  try {
    fn();
  } finally {
    configureCuda(saved);
  }
}

test('configureCuda applies valid changes', () =>
  withRestore(() => {
    configureCuda({ widenHalfConvolutions: 'never', maximumBlockSize: 256, allowTF32: true, captureTrainingSteps: false });
    const c = cudaConfiguration();
    assert.equal(c.widenHalfConvolutions, 'never');
    assert.equal(c.maximumBlockSize, 256);
    assert.equal(c.allowTF32, true);
    assert.equal(c.captureTrainingSteps, false);
  }));

test('configureCuda rejects invalid values and keeps the previous configuration', () =>
  withRestore(() => {
    const before = { ...cudaConfiguration() };
    const bad: [Partial<Record<keyof CudaConfiguration, unknown>>, RegExp][] = [
      [{ widenHalfConvolutions: 'sometimes' }, /widenHalfConvolutions must be one of auto, always, never, got sometimes/],
      [{ maximumDeviceCache: -1 }, /maximumDeviceCache must be a non-negative integer/],
      [{ maximumHostCacheableLength: 1.5 }, /maximumHostCacheableLength must be a non-negative integer/],
      [{ maximumGridSize: 0 }, /maximumGridSize must be a positive integer, got 0/],
      [{ maximumBlockSize: 48 }, /maximumBlockSize must be a multiple of 32 in 32\.\.1024, got 48/],
      [{ devices: [0, -1] }, /devices must be device ordinals, got \[0, -1\]/],
      [{ captureTrainingSteps: 'yes' }, /captureTrainingSteps must be true or false, got yes/],
      [{ allowTF32: 1 }, /allowTF32 must be true or false, got 1/],
    ];
    for (const [change, message] of bad) {
      assert.throws(() => configureCuda(change as Partial<CudaConfiguration>), message);
      assert.deepEqual(cudaConfiguration(), before, `after rejecting ${JSON.stringify(change)}`);
    }
  }));
