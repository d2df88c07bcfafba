/** Evaluation of classifiers and regressors (DL4J's org.nd4j.evaluation). */
export { Evaluation, type EvaluationOptions, type EvaluationAveraging, type EvaluationMetric } from './classification.js';
export { RegressionEvaluation, type RegressionEvaluationOptions, type RegressionMetric } from './regression.js';
export { ROC, ROCMultiClass, ROCBinary, type RocCurve, type PrecisionRecallCurve } from './roc.js';
