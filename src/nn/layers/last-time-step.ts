/**
 * DL4J's LastTimeStep wrapper: the wrapped recurrent layer's output at each sequence's last present
 * step (the last step without a mask), [N, nOut]. Its parameters are the wrapped layer's, under
 * their own names; after it the activations are feed-forward, so it consumes the mask.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import type { DataType } from '../../ndarray/dtype.js';
import type { ResolvedLayer } from '../config.js';
import type { Layer, RecurrentStepOptions } from './layer.js';
import { createSequenceLayer } from './bidirectional.js';
import { layerName } from './image.js';
import { checkMask, lastTimeStep } from './time-steps.js';
import type { Training } from '../training-step.js';

export class LastTimeStepLayer implements Layer {
  readonly params: ReadonlyMap<string, NDArray>;
  readonly weightParams: ReadonlySet<string>;
  private readonly inner: ReturnType<typeof createSequenceLayer>;

  constructor(readonly config: ResolvedLayer, dtype: DataType, seed?: number | bigint) {
    this.inner = createSequenceLayer(config.wrapped!, dtype, seed);
    this.params = this.inner.params;
    this.weightParams = this.inner.weightParams;
  }

  forward(x: NDArray, training: Training, mask?: NDArray | null): NDArray {
    return this.last(this.inner.forward(x, training, mask), mask);
  }

  /** The last step of this call's steps, continuing from the stored state. */
  rnnTimeStep(x: NDArray, mask?: NDArray | null, options?: RecurrentStepOptions): NDArray {
    return this.last(this.inner.rnnTimeStep(x, mask, options), mask);
  }

  private last(y: NDArray, mask: NDArray | null | undefined): NDArray {
    return lastTimeStep(y, mask ? checkMask(mask, y, layerName(this.config)) : null);
  }

  rnnClearPreviousState(): void {
    this.inner.rnnClearPreviousState();
  }

  feedForwardMask(): null {
    return null;
  }

  regularization(): NDArray | null {
    return this.inner.regularization();
  }
}
