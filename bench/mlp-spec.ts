/** The benchmark MLP: 784-1024-1024-10, relu, softmax cross-entropy, batch 128; one set of values for every implementation. */
import { seededUniform, uniformValues } from './seeded.js';

export const LAYERS = [784, 1024, 1024, 10] as const;
export const BATCH = 128;

export interface LayerValues {
  readonly fanIn: number;
  readonly fanOut: number;
  /** [fanIn, fanOut] row-major, He-uniform. */
  readonly w: Float32Array;
  readonly b: Float32Array;
}

export interface MlpValues {
  readonly layers: readonly LayerValues[];
  /** [BATCH, 784] inputs. */
  readonly x: Float32Array;
  /** [BATCH, 10] one-hot labels. */
  readonly oneHot: Float32Array;
}

export function mlpValues(): MlpValues {
  const layers: LayerValues[] = [];
  for (let i = 0; i + 1 < LAYERS.length; i++) {
    const fanIn = LAYERS[i]!;
    const fanOut = LAYERS[i + 1]!;
    layers.push({ fanIn, fanOut, w: uniformValues(fanIn * fanOut, 100 + i, Math.sqrt(6 / fanIn)), b: uniformValues(fanOut, 200 + i, 0.01) });
  }
  const classes = LAYERS[LAYERS.length - 1]!;
  const pick = seededUniform(7);
  const oneHot = new Float32Array(BATCH * classes);
  for (let r = 0; r < BATCH; r++) oneHot[r * classes + Math.floor(pick() * classes)] = 1;
  return { layers, x: uniformValues(BATCH * LAYERS[0], 8), oneHot };
}

/**
 * Floating-point operations of one step (matmuls only): the forward products, the weight
 * gradients (same size) and the input gradients of every layer but the first (not needed).
 */
export function mlpStepFlops(): number {
  let forward = 0;
  let inputGrads = 0;
  for (let i = 0; i + 1 < LAYERS.length; i++) {
    const f = 2 * BATCH * LAYERS[i]! * LAYERS[i + 1]!;
    forward += f;
    if (i > 0) inputGrads += f;
  }
  return 2 * forward + inputGrads;
}
