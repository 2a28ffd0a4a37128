/** The in-memory dataset types and small helpers over them. */
import type { Rng } from '@vsml/rng';
import { DatasetError } from './errors.js';

/** A dataset split. */
export type Split = 'train' | 'test';

/** Scalar normalisation statistics, in the [0, 1] pixel scale (x_norm = (x − mean) / std). */
export interface NormStats {
  readonly mean: number;
  readonly std: number;
}

/** How a dataset's cache was used by the load that produced it. */
export interface CacheReport {
  /** the cache file */
  readonly file: string | null;
  /**
   * `hit`: read from a valid cache; `built`: no cache yet, built and written; `rebuilt`: the cache was invalid
   * (see `reason`) and was replaced; `disabled`: caching off; `write-failed`: built, but writing the cache failed.
   */
  readonly status: 'hit' | 'built' | 'rebuilt' | 'disabled' | 'write-failed';
  readonly reason?: string;
  /** wall time of the load in milliseconds */
  readonly ms: number;
}

interface DatasetBase {
  /** registry name, e.g. `mnist` or `idx:/data/kmnist` */
  readonly name: string;
  readonly split: Split;
  readonly rows: number;
  readonly cols: number;
  readonly numClasses: number;
  /** the statistics that `normalization: 'dataset'` uses */
  readonly stats: NormStats;
  /** where the data came from (files, package, generator) */
  readonly source: string;
}

/**
 * A finite dataset held in memory: `images` `[size, rows, cols]` row-major and `labels` `[size]`.
 * Packaged and IDX data keep `Uint8Array` images (0..255, `pixelScale` 1/255); synthetic `random` holds floats
 * (`pixelScale` 1). Treat the arrays as read-only: loads are memoised and shared.
 */
export interface ArrayDataset extends DatasetBase {
  readonly kind: 'array';
  readonly size: number;
  readonly images: Uint8Array | Float32Array;
  readonly labels: Uint8Array;
  /** multiply a stored pixel by this to get its value in the [0, 1] scale (1/255 for uint8 images) */
  readonly pixelScale: number;
  /** present when the data came through the binary cache */
  readonly cache?: CacheReport;
}

/** An infinite dataset that draws a fresh example on demand (the synthetic `sum` task). */
export interface GeneratedDataset extends DatasetBase {
  readonly kind: 'generated';
  /** generated images are floats already in their final scale */
  readonly pixelScale: 1;
  /** Writes one fresh image (`rows·cols` floats) into `out` at `offset` and returns its label. */
  sample(rng: Rng, out: Float32Array, offset: number): number;
}

/** A dataset: finite arrays or an example generator. */
export type Dataset = ArrayDataset | GeneratedDataset;

/** Fields for {@link fromArrays}. */
export interface FromArraysInput {
  readonly name: string;
  readonly split?: Split;
  readonly rows: number;
  readonly cols: number;
  readonly images: Uint8Array | Float32Array;
  readonly labels: Uint8Array;
  /** default: max label + 1 */
  readonly numClasses?: number;
  /** default: MNIST statistics for uint8 images, (0, 1) for float images */
  readonly stats?: NormStats;
  readonly source?: string;
}

/** MNIST statistics as in the official code's `dataset_stats` (≈ 0.1307 / 0.3081). */
export const MNIST_STATS: NormStats = Object.freeze({ mean: 0.13066, std: 0.30811 });

/**
 * Wraps your own arrays as an {@link ArrayDataset} (validated).
 * @throws DatasetError INVALID_CONFIG / SIZE_MISMATCH / BAD_DATA
 */
export function fromArrays(input: FromArraysInput): ArrayDataset {
  const { name, rows, cols, images, labels } = input;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new DatasetError('INVALID_CONFIG', `dataset ${name}: rows and cols must be positive integers, got ${rows}×${cols}`);
  }
  const size = labels.length;
  if (images.length !== size * rows * cols) {
    throw new DatasetError('SIZE_MISMATCH', `dataset ${name}: ${images.length} pixels do not make ${size} images of ${rows}×${cols}`, {
      details: { pixels: images.length, labels: size, rows, cols },
    });
  }
  let maxLabel = -1;
  for (let i = 0; i < size; i++) if (labels[i]! > maxLabel) maxLabel = labels[i]!;
  const numClasses = input.numClasses ?? maxLabel + 1;
  if (!Number.isInteger(numClasses) || numClasses < 1 || maxLabel >= numClasses) {
    throw new DatasetError('BAD_DATA', `dataset ${name}: label ${maxLabel} does not fit numClasses ${numClasses}`);
  }
  const isFloat = images instanceof Float32Array;
  const stats = input.stats ?? (isFloat ? { mean: 0, std: 1 } : MNIST_STATS);
  checkStats(stats, `dataset ${name}`);
  return {
    kind: 'array',
    name,
    split: input.split ?? 'train',
    rows,
    cols,
    numClasses,
    stats,
    source: input.source ?? 'arrays',
    size,
    images,
    labels,
    pixelScale: isFloat ? 1 : 1 / 255,
  };
}

/** @throws DatasetError INVALID_CONFIG unless mean is finite and std finite and > 0 */
export function checkStats(stats: NormStats, where: string): void {
  if (!Number.isFinite(stats?.mean) || !Number.isFinite(stats?.std) || !(stats.std > 0)) {
    throw new DatasetError('INVALID_CONFIG', `${where}: normalisation stats need a finite mean and a finite std > 0, got ${JSON.stringify(stats)}`);
  }
}

/** Number of images per class (index = label). */
export function classCounts(dataset: ArrayDataset): Int32Array {
  const counts = new Int32Array(dataset.numClasses);
  const { labels } = dataset;
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  return counts;
}

const classIndexMemo = new WeakMap<ArrayDataset, readonly Int32Array[]>();

/** For each class, the indices of its images in stored order (memoised per dataset object). */
export function classIndex(dataset: ArrayDataset): readonly Int32Array[] {
  const hit = classIndexMemo.get(dataset);
  if (hit) return hit;
  const counts = classCounts(dataset);
  const lists = Array.from(counts, (n) => new Int32Array(n));
  const fill = new Int32Array(dataset.numClasses);
  const { labels } = dataset;
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    lists[c]![fill[c]!++] = i;
  }
  classIndexMemo.set(dataset, lists);
  return lists;
}

/** Mean and (population) standard deviation of all pixels in the [0, 1] scale, e.g. to set `stats`. */
export function computeStats(dataset: ArrayDataset): NormStats {
  const { images, pixelScale } = dataset;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < images.length; i++) {
    const v = images[i]!;
    s += v;
    s2 += v * v;
  }
  const n = images.length || 1;
  const mean = s / n;
  const variance = Math.max(0, s2 / n - mean * mean);
  return { mean: mean * pixelScale, std: Math.sqrt(variance) * pixelScale };
}
