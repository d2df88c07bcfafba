/**
 * The further convolutional layers (deconvolution, depthwise, separable, upsampling, zero padding,
 * cropping), layer normalization and the dropout variants on the GPU: the same score, gradients and
 * outputs as on the CPU from the same parameters and seed (the Philox noise is the same on both),
 * and FLOAT training on CUDA lowers the loss with flat device memory. Skips without a GPU.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  array, backendByName, DataSet, MultiLayerNetwork, scope, setSeed,
  type DataType, type NeuralNetConfiguration,
} from '../../src/index.js';
import { Rng } from '../helpers.js';
import { assertFlatDeviceMemory, assertNearValues, gpu, onBackend } from './gpu-env.js';

function conf(dataType: DataType): NeuralNetConfiguration {
  return {
    seed: 4, dataType, updater: { type: 'adam', learningRate: 0.02 },
    inputType: { type: 'convolutional', height: 8, width: 8, channels: 2 },
    layers: [
      { type: 'convolution2d', nOut: 4, kernelSize: 3, activation: 'relu', dropOut: { type: 'gaussianDropout', rate: 0.2 } },
      { type: 'subsampling', kernelSize: 2 },
      { type: 'upsampling2d', size: 2 },
      { type: 'deconvolution2d', nOut: 3, kernelSize: 3, stride: 2, convolutionMode: 'Same', activation: 'tanh' },
      { type: 'deconvolution2d', nOut: 3, kernelSize: 2, padding: 1, dilation: 2, activation: 'tanh', dropOut: 0.8 },
      { type: 'depthwiseConvolution2d', depthMultiplier: 2, kernelSize: 3, stride: 2, convolutionMode: 'Same', activation: 'relu' },
      { type: 'separableConvolution2d', nOut: 4, kernelSize: 2, activation: 'tanh', dropOut: { type: 'gaussianNoise', stddev: 0.1 } },
      { type: 'zeroPadding', padding: [1, 0, 2, 1] },
      { type: 'cropping2d', cropping: [0, 1, 1, 0] },
      { type: 'layerNormalization' },
      { type: 'globalPooling', poolingType: 'avg' },
      { type: 'dense', nOut: 6, activation: 'selu', dropOut: { type: 'alphaDropout', p: 0.9 } },
      { type: 'output', nOut: 2, activation: 'softmax', lossFunction: 'MCXENT' },
    ],
  };
}

function data(n: number): { x: number[]; y: number[][] } {
  const rng = new Rng(7);
  const x = Array.from({ length: n * 2 * 64 }, () => rng.uniform(-1, 1));
  const y = Array.from({ length: n }, (_, i) => (x[i * 128]! + x[i * 128 + 70]! > 0 ? [1, 0] : [0, 1]));
  return { x, y };
}



describe('further convolutional layers and dropout variants on the GPU', () => {
  if ('skip' in gpu) {
    test(`GPU tests of the new layers (${gpu.skip})`, { skip: gpu.skip }, () => {});
    return;
  }
  const cuda = gpu.cuda;
  const cpu = backendByName('cpu');

  test('DOUBLE: training score, every gradient and the inference output equal the CPU', () => {
    const { x, y } = data(4);
    const results = [cpu, cuda].map((backend) => onBackend(backend, () => {
      const net = new MultiLayerNetwork(conf('DOUBLE')).init();
      const rng = new Rng(3);
      scope(() => net.setParams(array(Array.from({ length: net.numParams() }, () => rng.uniform(-0.5, 0.5)), { dtype: 'DOUBLE' })));
      const ds = new DataSet(array(x, [4, 2, 8, 8], { dtype: 'DOUBLE' }), array(y, { dtype: 'DOUBLE' }));
      setSeed(11);
      const score = net.computeGradientAndScore(ds);
      const grads = [...net.gradient().values()].flatMap((g) => g.toFlatArray());
      const out = scope(() => net.output(ds.features).toFlatArray());
      ds.close();
      net.close();
      return { score, grads, out };
    }));
    const [c, g] = results as [typeof results[0], typeof results[0]];
    assertNearValues([c.score], [g.score], 1e-9, 'score');
    assertNearValues(c.grads, g.grads, 1e-8, 'gradient');
    assertNearValues(c.out, g.out, 1e-9, 'output');
  });

  test('FLOAT: 40 steps on CUDA lower the loss; arrays and device memory stay flat', () => {
    const { x, y } = data(32);
    onBackend(cuda, () => {
      const net = new MultiLayerNetwork(conf('FLOAT')).init();
      assert.equal(net.paramTable().get('3_W')!.backend, cuda);
      const ds = new DataSet(array(x, [32, 2, 8, 8], { dtype: 'FLOAT' }), array(y, { dtype: 'FLOAT' }));
      const before = net.score(ds);
      net.fit(ds, 5);
      assertFlatDeviceMemory(cuda, () => net.fit(ds, 35));
      const after = net.score(ds);
      assert.ok(after < before * 0.7, `score ${before} -> ${after}`);
      ds.close();
      net.close();
    });
  });
});
