/** Builds the layer object for a resolved layer configuration. */
import type { DataType } from '../../ndarray/dtype.js';
import type { ResolvedLayer } from '../config.js';
import type { Layer } from './layer.js';
import { DenseLayer, OutputLayer } from './dense.js';
import { ActivationLayer } from './activation.js';
import { DropoutLayer } from './dropout.js';
import { LossLayer } from './loss.js';
import { ConvolutionLayer } from './convolution.js';
import { SubsamplingLayer } from './subsampling.js';
import { BatchNormalizationLayer } from './batch-normalization.js';
import { GlobalPoolingLayer } from './global-pooling.js';
import { LstmLayer } from './lstm.js';
import { SimpleRnnLayer } from './simple-rnn.js';
import { BidirectionalLayer } from './bidirectional.js';
import { GravesLstmLayer } from './graves-lstm.js';
import { LastTimeStepLayer } from './last-time-step.js';
import { RnnOutputLayer } from './rnn-output.js';
import { EmbeddingLayer, EmbeddingSequenceLayer } from './embedding.js';
import { createCnnExtraLayer } from './cnn-extra.js';

export { type Layer, type OutputLayerLike, isOutputLayer } from './layer.js';
export { DenseLayer, OutputLayer, ActivationLayer, DropoutLayer, LossLayer, ConvolutionLayer, SubsamplingLayer, BatchNormalizationLayer, GlobalPoolingLayer };
export { GravesLstmLayer };
export { LstmLayer, SimpleRnnLayer, BidirectionalLayer, LastTimeStepLayer, RnnOutputLayer, EmbeddingLayer, EmbeddingSequenceLayer };

export function createLayer(config: ResolvedLayer, dtype: DataType, seed?: number | bigint): Layer {
  switch (config.type) {
    case 'dense': return new DenseLayer(config, dtype, seed);
    case 'output': return new OutputLayer(config, dtype, seed);
    case 'activation': return new ActivationLayer(config);
    case 'dropout': return new DropoutLayer(config);
    case 'loss': return new LossLayer(config);
    case 'convolution2d': return new ConvolutionLayer(config, dtype, seed);
    case 'subsampling': return new SubsamplingLayer(config);
    case 'batchNormalization': return new BatchNormalizationLayer(config, dtype);
    case 'globalPooling': return new GlobalPoolingLayer(config);
    case 'lstm': return new LstmLayer(config, dtype, seed);
    case 'simpleRnn': return new SimpleRnnLayer(config, dtype, seed);
    case 'bidirectional': return new BidirectionalLayer(config, dtype, seed);
    case 'lastTimeStep': return new LastTimeStepLayer(config, dtype, seed);
    case 'rnnOutput': return new RnnOutputLayer(config, dtype, seed);
    case 'embedding': return new EmbeddingLayer(config, dtype, seed);
    case 'embeddingSequence': return new EmbeddingSequenceLayer(config, dtype, seed);
    case 'gravesLstm': return new GravesLstmLayer(config, dtype, seed);
    case 'gravesBidirectionalLstm': return new BidirectionalLayer(config, dtype, seed);
    case 'deconvolution2d': case 'depthwiseConvolution2d': case 'separableConvolution2d': case 'upsampling2d': case 'zeroPadding': case 'cropping2d': case 'layerNormalization':
      return createCnnExtraLayer(config, dtype, seed);
  }
}
