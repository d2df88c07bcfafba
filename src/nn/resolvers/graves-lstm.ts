/**
 * Resolver of GravesBidirectionalLSTM: a GravesLSTM resolved with the layer's own options, wrapped as
 * a Bidirectional layer in ADD mode (DL4J's GravesBidirectionalLSTM sums the two directions).
 * GravesLSTM itself resolves as an LSTM (resolveRecurrent).
 */
import type { GravesBidirectionalLstmLayerConfig } from '../graves-lstm-config.js';
import type { LayerContext, LayerResolution } from './context.js';
import { resolveRecurrent } from './recurrent.js';

export function resolveGravesBidirectionalLstm(l: GravesBidirectionalLstmLayerConfig, ctx: LayerContext): LayerResolution {
  const inner = resolveRecurrent({ ...l, type: 'gravesLstm' }, ctx);
  return {
    layer: { ...inner.layer, type: 'gravesBidirectionalLstm', bidirectionalMode: 'ADD', wrapped: { ...inner.layer, type: 'gravesLstm' } },
    output: inner.output,
  };
}
