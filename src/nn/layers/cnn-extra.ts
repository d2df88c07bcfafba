/** Layer objects of the further convolutional layers and layer normalization, and their DL4J class names for summary(). */
import type { DataType } from '../../ndarray/dtype.js';
import type { ResolvedLayer } from '../config.js';
import type { CnnExtraLayerConfig } from '../cnn-extra-config.js';
import type { Layer } from './layer.js';
import { Deconvolution2DLayer } from './deconvolution.js';
import { DepthwiseConvolution2DLayer, depthwiseConv2d } from './depthwise-convolution.js';
import { SeparableConvolution2DLayer } from './separable-convolution.js';
import { Upsampling2DLayer } from './upsampling.js';
import { ZeroPaddingLayer } from './zero-padding.js';
import { Cropping2DLayer } from './cropping.js';
import { LayerNormalizationLayer } from './layer-normalization.js';

export { Deconvolution2DLayer, DepthwiseConvolution2DLayer, SeparableConvolution2DLayer, Upsampling2DLayer, ZeroPaddingLayer, Cropping2DLayer, LayerNormalizationLayer, depthwiseConv2d };

export const CNN_EXTRA_LAYER_CLASS: { readonly [K in CnnExtraLayerConfig['type']]: string } = {
  deconvolution2d: 'Deconvolution2DLayer', depthwiseConvolution2d: 'DepthwiseConvolution2DLayer', separableConvolution2d: 'SeparableConvolution2DLayer',
  upsampling2d: 'Upsampling2D', zeroPadding: 'ZeroPaddingLayer', cropping2d: 'Cropping2DLayer', layerNormalization: 'LayerNormalization',
};

export function createCnnExtraLayer(config: ResolvedLayer, dtype: DataType, seed?: number | bigint): Layer {
  switch (config.type as CnnExtraLayerConfig['type']) {
    case 'deconvolution2d': return new Deconvolution2DLayer(config, dtype, seed);
    case 'depthwiseConvolution2d': return new DepthwiseConvolution2DLayer(config, dtype, seed);
    case 'separableConvolution2d': return new SeparableConvolution2DLayer(config, dtype, seed);
    case 'upsampling2d': return new Upsampling2DLayer(config);
    case 'zeroPadding': return new ZeroPaddingLayer(config);
    case 'cropping2d': return new Cropping2DLayer(config);
    case 'layerNormalization': return new LayerNormalizationLayer(config, dtype);
  }
}
