/**
 * The layer contract of MultiLayerNetwork: a layer owns its parameters (leaves that require grad)
 * and defines only its forward pass with differentiable ops; autograd supplies the gradients.
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import { abs, square } from '../../ops/unary.js';
import { add, mul } from '../../ops/binary.js';
import { sum } from '../../ops/reduce.js';
import type { ResolvedLayer } from '../config.js';
import type { Training } from '../training-step.js';

export interface Layer {
  readonly config: ResolvedLayer;
  /** Parameters in DL4J order ('W' [nIn, nOut], then 'b' [nOut]); empty for parameterless layers. */
  readonly params: ReadonlyMap<string, NDArray>;
  /** Parameters the updaters never train and that get no gradient (batch normalization's running statistics). */
  readonly nonTrainable?: ReadonlySet<string>;
  /**
   * The layer's activations for input x; dropout and similar apply only when training (networks pass
   * their training step, which scheduled dropout follows). `mask`: the features mask of time-series
   * activations [N, T] (1 = present step), for the layers that use it.
   */
  forward(x: NDArray, training: Training, mask?: NDArray | null): NDArray;
  /** The mask for the next layer given this layer's (absent: unchanged); null where the time axis ends (LastTimeStep). */
  feedForwardMask?(mask: NDArray | null): NDArray | null;
  /** Parameters that l1/l2 and weight decay apply to (absent: just 'W'); recurrent layers add 'RW'. */
  readonly weightParams?: ReadonlySet<string>;
  /**
   * Stateful stepping of recurrent layers (DL4J's rnnTimeStep): continues from the state the last
   * call stored and stores its final state, detached. With `training` options (truncated BPTT)
   * dropout applies and gradients flow to the parameters and the input, never into the stored state.
   */
  rnnTimeStep?(x: NDArray, mask?: NDArray | null, options?: RecurrentStepOptions): NDArray;
  /** Forgets the state stored by rnnTimeStep. */
  rnnClearPreviousState?(): void;
  /** The l1/l2 penalty of this layer's weights as a 0-d array (DL4J's calcRegularizationScore), or null when none. */
  regularization(): NDArray | null;
}

/** How rnnTimeStep runs when training with truncated BPTT. */
export interface RecurrentStepOptions {
  /** Applies dropout (default false: inference). */
  readonly training?: Training;
  /** Only the last backLength steps of the call record gradients; the earlier ones run detached (DL4J's tbpttBackLength). */
  readonly backLength?: number;
}

/** A layer the network computes its loss from (output and loss layers). */
export interface OutputLayerLike extends Layer {
  /** The pre-activation output z; the network applies the activation inside the loss (fused paths). */
  preOutput(x: NDArray, training: Training): NDArray;
}

export function isOutputLayer(layer: Layer): layer is OutputLayerLike {
  return layer.config.lossFunction !== null;
}

/** l1 * sum|W| + l2 / 2 * sum(W^2): the weight penalty of layers with weights (null when both are 0). */
export function weightPenalty(w: NDArray, l1: number, l2: number): NDArray | null {
  let total: NDArray | null = null;
  if (l1 > 0) total = mul(sum(abs(w)), l1);
  if (l2 > 0) {
    const t = mul(sum(square(w)), l2 / 2);
    total = total ? add(total, t) : t;
  }
  return total;
}
