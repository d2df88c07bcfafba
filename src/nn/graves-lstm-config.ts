/**
 * Configurations of DL4J's GravesLSTM (LSTM with peephole connections) and GravesBidirectionalLSTM.
 * Options as the LSTM's (recurrent-config.ts); NCW data format.
 */
import type { LstmLayerConfig } from './recurrent-config.js';

/**
 * DL4J's GravesLSTM: 'W' [nIn, 4*nOut], 'RW' [nOut, 4*nOut + 3] (the last three columns: the forget,
 * output and input modulation gates' peephole weights), 'b' [4*nOut].
 */
export interface GravesLstmLayerConfig extends Omit<LstmLayerConfig, 'type'> {
  type: 'gravesLstm';
}

/**
 * DL4J's GravesBidirectionalLSTM: a forward and a backward GravesLSTM, parameters 'WF', 'RWF', 'bF',
 * 'WB', 'RWB', 'bB', whose outputs [N, nOut, T] are added (output size nOut). No rnnTimeStep.
 */
export interface GravesBidirectionalLstmLayerConfig extends Omit<LstmLayerConfig, 'type'> {
  type: 'gravesBidirectionalLstm';
}
