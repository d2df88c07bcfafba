// NeuralNetConfiguration: validation errors name the layer and option, nIn inference, defaults,
// and the JSON round trip (which validates).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NeuralNetConfiguration, validateConfiguration, resolveConfiguration, configurationToJSON, configurationFromJSON,
  MultiLayerNetwork, scope, type LayerConfig,
} from '../src/index.js';

function conf(layers: LayerConfig[], extra: Partial<NeuralNetConfiguration> = {}): NeuralNetConfiguration {
  return { layers, ...extra };
}

const OK: LayerConfig[] = [
  { type: 'dense', nIn: 4, nOut: 5 },
  { type: 'dense', nOut: 3, activation: 'relu', l2: 0.1 },
  { type: 'output', nOut: 2, lossFunction: 'MCXENT' },
];

test('resolve infers nIn and applies DL4J defaults with per-layer overrides', () => {
  const r = resolveConfiguration(conf(OK, { l2: 0.5, updater: { type: 'adam' } }));
  assert.deepEqual(r.layers.map((l) => [l.nIn, l.nOut]), [[4, 5], [5, 3], [3, 2]]);
  assert.equal(r.layers[0]!.activation, 'sigmoid');
  assert.equal(r.layers[1]!.activation, 'relu');
  assert.equal(r.layers[2]!.activation, 'softmax');
  assert.equal(r.layers[0]!.weightInit, 'XAVIER');
  assert.deepEqual(r.layers.map((l) => l.l2), [0.5, 0.1, 0.5]);
  assert.deepEqual(r.layers[0]!.updater, { type: 'adam' });
  assert.equal(r.dataType, 'FLOAT');
  assert.deepEqual(r.layers.map((l) => l.name), ['layer0', 'layer1', 'layer2']);
  const fromInput = resolveConfiguration(conf([{ type: 'output', nOut: 2, lossFunction: 'MSE' }], { inputType: { type: 'feedForward', size: 7 } }));
  assert.equal(fromInput.layers[0]!.nIn, 7);
});

test('invalid configurations are rejected naming the layer and option', () => {
  const cases: [NeuralNetConfiguration, RegExp][] = [
    [conf([{ type: 'dense', nIn: 4, nOut: 5 }, { type: 'output', nIn: 6, nOut: 2, lossFunction: 'MSE' }]), /layer 1 \(output\): nIn 6 does not match the previous layer's nOut 5/],
    [conf([{ type: 'dense', nIn: 4, nOut: 5 }]), /layer 0 \(dense\): the last layer must be an 'output' or 'loss' layer/],
    [conf([{ type: 'output', nIn: 4, nOut: 5, lossFunction: 'MSE' }, { type: 'output', nOut: 2, lossFunction: 'MSE' }]), /layer 0 \(output\): an 'output' layer must be the last layer/],
    [conf([{ type: 'dense', name: 'h', nIn: 4, nOut: 5, activation: 'bogus' as 'relu' }, { type: 'loss', lossFunction: 'MSE' }]), /layer 0 \(dense 'h'\): unknown activation 'bogus'/],
    [conf([{ type: 'output', nIn: 4, nOut: 2, lossFunction: 'NOPE' as 'MSE' }]), /layer 0 \(output\): unknown or missing lossFunction 'NOPE'/],
    [conf([{ type: 'output', nIn: 4, nOut: 2, lossFunction: 'MSE', weightInit: 'WRONG' as 'XAVIER' }]), /layer 0 \(output\): unknown weightInit 'WRONG'/],
    [conf([{ type: 'output', nIn: 4, nOut: 0, lossFunction: 'MSE' }]), /layer 0 \(output\): nOut must be a positive integer, got 0/],
    [conf([{ type: 'output', nIn: 4, nOut: 2, lossFunction: 'MSE', l2: -1 }]), /layer 0 \(output\): l2 must be a finite number >= 0, got -1/],
    [conf([{ type: 'dense', nIn: 4, nOut: 2, dropOut: 0 }, { type: 'loss', lossFunction: 'MSE' }]), /layer 0 \(dense\): dropOut .* must be in \(0, 1\], got 0/],
    [conf([{ type: 'output', nOut: 2, lossFunction: 'MSE' }]), /layer 0 \(output\): nIn is not set and cannot be inferred/],
    [conf([{ type: 'output', nIn: 3, nOut: 2, lossFunction: 'MSE', updater: { type: 'adam', beta1: 2 } }]), /layer 0 \(output\): invalid updater: .*beta1/],
    [conf([{ type: 'output', nIn: 3, nOut: 2, lossFunction: 'MSE', weightInit: 'DISTRIBUTION' }]), /needs a distribution/],
    [conf([{ type: 'conv' } as unknown as LayerConfig]), /layer 0 \(conv\): unknown layer type 'conv'/],
    [conf([]), /layers: at least one layer is required/],
    [conf([{ type: 'loss', lossFunction: 'MSE' }], { inputType: { type: 'feedForward', size: 3 }, dataType: 'INT' as 'FLOAT' }), /dataType: must be a floating type/],
    [conf([{ type: 'output', nIn: 3, nOut: 2, lossFunction: 'MSE' }], { gradientNormalization: 'Clip' as 'None' }), /global: unknown gradientNormalization 'Clip'/],
    [conf([{ type: 'output', nIn: 3, nOut: 2, lossFunction: 'MSE' }], { inputType: { type: 'feedForward', size: 4 } }), /nIn 3 does not match the inputType's size 4/],
  ];
  for (const [c, re] of cases) {
    assert.throws(() => validateConfiguration(c), re);
    assert.throws(() => new MultiLayerNetwork(c), re);
  }
  assert.doesNotThrow(() => validateConfiguration(conf(OK)));
});

test('JSON round trip keeps the configuration and validates', () => {
  const c = conf(OK, { seed: 3, updater: { type: 'nesterovs', learningRate: 0.05, momentum: 0.8 }, l1: 0.01, dataType: 'DOUBLE' });
  const json = configurationToJSON(c);
  const back = configurationFromJSON(json);
  assert.deepEqual(back, c);
  assert.equal(NeuralNetConfiguration.toJSON(back), json);
  assert.deepEqual(NeuralNetConfiguration.fromJSON(JSON.parse(json) as object), c);
  assert.throws(() => configurationFromJSON('{"layers": [{"type": "dense", "nIn": 2, "nOut": 2}]}'), /the last layer must be/);
  assert.throws(() => configurationFromJSON('{not json'), /not valid JSON/);
  // Same seed and configuration from JSON: identical initial parameters.
  const a = new MultiLayerNetwork(c).init();
  const b = new MultiLayerNetwork(back).init();
  assert.deepEqual(scope(() => b.params().toFlatArray()), scope(() => a.params().toFlatArray()));
  a.close();
  b.close();
});
