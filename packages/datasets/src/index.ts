/** @vsml/datasets: MNIST, Fashion-MNIST, IDX files, synthetic tasks, preprocessing and seeded episode streams for VSML (typed arrays, no tfjs). */

// errors
export { DatasetError, DATASET_ERROR_CODES, isDatasetError } from './errors.js';
export type { DatasetErrorCode, DatasetErrorOptions } from './errors.js';

// datasets: types, registry, loading, helpers
export { DATASET_NAMES, OFFICIAL_STATS, loadDataset, datasetInfo, clearDatasetMemo } from './registry.js';
export type { BuiltinDatasetName, LoadOptions, DatasetInfo } from './registry.js';
export { MNIST_STATS, fromArrays, classCounts, classIndex, computeStats } from './dataset.js';
export type { Dataset, ArrayDataset, GeneratedDataset, Split, NormStats, CacheReport, FromArraysInput } from './dataset.js';
export type { SyntheticOptions } from './synthetic.js';

// cache location and format
export { defaultCacheDir, vsmlCacheRoot } from './cache.js';
export type { CacheMode } from './cache.js';

// IDX files
export { parseIdx, parseIdxHeader, encodeIdx, readIdxFile, readIdxDims, findIdxFiles } from './idx.js';
export type { IdxArray, IdxSplitFiles } from './idx.js';

// preprocessing
export {
  PreprocessSpecSchema,
  parsePreprocessSpec,
  compilePreprocess,
  resizeBilinear,
  pixelPermutation,
  glorotProjection,
} from './preprocess.js';
export type { PreprocessSpec, PreprocessSpecInput, Preprocessor, ImageSource, CompileOptions } from './preprocess.js';

// episode streams and evaluation sets
export {
  EpisodeSampler,
  EpisodeSamplerConfigSchema,
  EpisodeStreamConfigSchema,
  TaskSpecSchema,
  openEpisodeSampler,
  evaluationSet,
  drawWithoutReplacement,
} from './sampler.js';
export type {
  EpisodeSamplerConfig,
  EpisodeSamplerConfigInput,
  EpisodeStreamConfig,
  EpisodeStreamConfigInput,
  TaskSpec,
  Episode,
  EpisodeMeta,
  MemberEpisode,
  EvaluationSet,
} from './sampler.js';
