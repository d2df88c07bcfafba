/** Evaluation of classifiers and regressors (DL4J's org.nd4j.evaluation). */
export { Evaluation, type EvaluationOptions, type EvaluationAveraging } from './classification.js';
export { RegressionEvaluation, type RegressionEvaluationOptions } from './regression.js';
export { ROC, ROCMultiClass, ROCBinary, type RocCurve, type PrecisionRecallCurve } from './roc.js';
