// The front end's operations: each op's forward and its gradient are defined together in its module.
export * from './create.js';
export * from './unary.js';
export * from './binary.js';
export * from './reduce.js';
export * from './views.js';
export * from './linalg.js';
export * from './softmax.js';
export * from './transfer.js';
export { backward } from '../autodiff/backward.js';
export * from './random.js';
export * from './conv.js';
export * from './batch-norm.js';
export { lstmCell, type LstmCellFunction, type LstmCellOptions, type LstmPeepholes } from './lstm-cell.js';
export { lstmSequence, type LstmSequence, type LstmSequenceOptions } from './lstm-sequence.js';
export * from './indexing.js';
export * from './join.js';
