/**
 * Configurations of DL4J's further convolutional layers (Deconvolution2D, DepthwiseConvolution2D,
 * SeparableConvolution2D, Upsampling2D, ZeroPaddingLayer, Cropping2D) and of LayerNormalization, NCHW.
 */
import type { ParamLayerOptions } from './config.js';
import type { Size2D, WindowOptions } from './cnn-config.js';
import type { UpdaterConfig } from './updaters.js';

/** One number for all four sides, [height, width] (top = bottom, left = right) or [top, bottom, left, right], as DL4J's builders. */
export type Margins = number | readonly [number, number] | readonly [number, number, number, number];

/**
 * DL4J's Deconvolution2D (transposed convolution): weights 'W' [nIn, nOut, kh, kw], bias 'b' [nOut].
 * Output size: Truncate (in - 1) * stride + dilatedKernel - 2 * padding; Same in * stride.
 */
export interface Deconvolution2DConfig extends ParamLayerOptions, WindowOptions {
  type: 'deconvolution2d';
  /** Default [5, 5]. */
  kernelSize?: Size2D;
}

/** The options of depthwise layers: nOut is nIn * depthMultiplier (optional; checked when given). */
type DepthwiseOptions = Omit<ParamLayerOptions, 'nOut'> & WindowOptions & {
  /** Default [5, 5]. */
  kernelSize?: Size2D;
  /** Output channels per input channel (default 1). */
  depthMultiplier?: number;
};

/** DL4J's DepthwiseConvolution2D: 'W' [kh, kw, nIn, depthMultiplier] as DL4J stores it, bias 'b' [nIn * depthMultiplier]. */
export interface DepthwiseConvolution2DConfig extends DepthwiseOptions {
  type: 'depthwiseConvolution2d';
  nOut?: number;
}

/**
 * DL4J's SeparableConvolution2D: a depthwise convolution ('W' [depthMultiplier, nIn, kh, kw], DL4J's
 * layout for this layer) followed by a 1x1 convolution 'pW' [nOut, nIn * depthMultiplier, 1, 1] and bias 'b' [nOut].
 */
export interface SeparableConvolution2DConfig extends DepthwiseOptions {
  type: 'separableConvolution2d';
  nOut: number;
}

/** DL4J's Upsampling2D: nearest-neighbour repetition of each pixel size[0] x size[1] times. */
export interface Upsampling2DConfig {
  type: 'upsampling2d';
  name?: string;
  /** Default 1. */
  size?: Size2D;
}

/** DL4J's ZeroPaddingLayer: zeros around the image. */
export interface ZeroPaddingConfig {
  type: 'zeroPadding';
  name?: string;
  padding: Margins;
}

/** DL4J's Cropping2D: removes rows and columns from the image's edges. */
export interface Cropping2DConfig {
  type: 'cropping2d';
  name?: string;
  cropping: Margins;
}

/**
 * Layer normalization (ND4J's layerNorm op as a layer): each example is standardized over its
 * features ([N, C]), over C, H and W for images, or over the features of each time step for
 * recurrent input [N, C, T]; then scaled by 'gain' [C] and shifted by 'b' [C] along the feature/channel axis.
 */
export interface LayerNormalizationConfig {
  type: 'layerNormalization';
  name?: string;
  nIn?: number;
  nOut?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Default true: with the 'b' shift. */
  hasBias?: boolean;
  updater?: UpdaterConfig;
}

export type CnnExtraLayerConfig = Deconvolution2DConfig | DepthwiseConvolution2DConfig | SeparableConvolution2DConfig
  | Upsampling2DConfig | ZeroPaddingConfig | Cropping2DConfig | LayerNormalizationConfig;
