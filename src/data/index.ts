// Data: DataSets, iterators, normalizers and file readers (DL4J's datasets / datavec pieces).
export { DataSet, type SplitTestAndTrain } from './dataset.js';
export { MultiDataSet } from './multi-dataset.js';
export { type DataSetIterator, type DataSetPreProcessor } from './iterator.js';
export { ListDataSetIterator } from './list-iterator.js';
export { AsyncDataSetIterator, type AsyncDataSetIteratorOptions } from './async-iterator.js';
export { NormalizerStandardize, NormalizerMinMaxScaler, ImagePreProcessingScaler, normalizerFromJSON, type Normalizer, type NormalizerJSON } from './normalizers.js';
export { type FitSource } from './normalizer-stats.js';
export { readIdx, readIdxLabels, readIdxImages, parseIdx, encodeIdx, IDX_LABELS_MAGIC, IDX_IMAGES_MAGIC, type IdxData } from './idx.js';
export { MnistDataSetIterator, type MnistOptions } from './mnist.js';
export { CSVRecordReaderDataSetIterator, type CSVIteratorOptions } from './csv.js';
