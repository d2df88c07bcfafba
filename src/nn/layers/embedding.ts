/**
 * DL4J's EmbeddingLayer and EmbeddingSequenceLayer: integer indices in [0, nIn) select rows of
 * 'W' [nIn, nOut] (gather; its gradient scatter-adds into W), plus 'b' [nOut] when hasBias, then
 * the activation. Indices arrive as numbers of the network's float type (DL4J's features) or as
 * integers; the input gets no gradient (DL4J's embedding layers return none either).
 */
import type { NDArray } from '../../ndarray/ndarray.js';
import type { DataType } from '../../ndarray/dtype.js';
import { noGrad } from '../../autodiff/tape.js';
import { add, mul } from '../../ops/binary.js';
import { gather } from '../../ops/indexing.js';
import { cast, expandDims, permute, reshape } from '../../ops/views.js';
import { describe } from '../../ops/util.js';
import { activate } from '../activations.js';
import type { ResolvedLayer } from '../config.js';
import { weightPenalty, type Layer } from './layer.js';
import { layerName } from './image.js';
import { biasParam, weightParam } from './weight-param.js';
import { checkMask } from './time-steps.js';
import type { Training } from '../training-step.js';

function asIndices(x: NDArray): NDArray {
  return x.dtype === 'INT32' ? x : noGrad(() => cast(x, 'INT32'));
}

abstract class BaseEmbedding implements Layer {
  readonly params: ReadonlyMap<string, NDArray>;

  constructor(readonly config: ResolvedLayer, dtype: DataType, seed?: number | bigint) {
    const { nIn, nOut, hasBias } = config;
    const params = new Map<string, NDArray>();
    noGrad(() => {
      params.set('W', weightParam(config, [nIn, nOut], nIn, nOut, dtype, seed));
      if (hasBias) params.set('b', biasParam(nOut, dtype));
    });
    this.params = params;
  }

  abstract forward(x: NDArray, training: Training, mask?: NDArray | null): NDArray;

  /** activation(W[indices] + b): the rows for indices of any shape S, S + [nOut]. */
  protected lookup(indices: NDArray): NDArray {
    const rows = gather(this.params.get('W')!, asIndices(indices), 0);
    const b = this.params.get('b');
    return activate(this.config.activation, b ? add(rows, b) : rows);
  }

  regularization(): NDArray | null {
    return weightPenalty(this.params.get('W')!, this.config.l1, this.config.l2);
  }
}

/** Indices [N] or [N, 1] to [N, nOut]. */
export class EmbeddingLayer extends BaseEmbedding {
  forward(x: NDArray): NDArray {
    if (!(x.rank === 1 || (x.rank === 2 && x.shape[1] === 1))) {
      throw new Error(`${layerName(this.config)}: expected indices [N] or [N, 1], got ${describe(x)}`);
    }
    return this.lookup(x.rank === 2 ? reshape(x, [x.shape[0]!]) : x);
  }
}

/** Indices [N, T] (or [N, 1, T]) to [N, nOut, T]; steps masked out are zeroed (DL4J's EmbeddingSequenceLayer). */
export class EmbeddingSequenceLayer extends BaseEmbedding {
  forward(x: NDArray, _training: Training, mask?: NDArray | null): NDArray {
    const { inputLength } = this.config;
    const idx = x.rank === 3 && x.shape[1] === 1 ? reshape(x, [x.shape[0]!, x.shape[2]!]) : x;
    if (idx.rank !== 2 || (inputLength !== undefined && idx.shape[1] !== inputLength)) {
      throw new Error(`${layerName(this.config)}: expected indices [N, ${inputLength ?? 'T'}] (or [N, 1, ${inputLength ?? 'T'}]), got ${describe(x)}`);
    }
    const y = permute(this.lookup(idx), [0, 2, 1]);
    return mask ? mul(y, expandDims(checkMask(mask, y, layerName(this.config)), 1)) : y;
  }
}
