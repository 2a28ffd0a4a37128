/** The synthetic tasks of the official code: `random` (memorisation) and `sum` (sign of the pixel sum). */
import { Rng } from '@vsml/rng';
import type { ArrayDataset, GeneratedDataset, Split } from './dataset.js';
import { DatasetError } from './errors.js';

/** Options of the synthetic datasets (`random` uses all, `sum` uses rows/cols). */
export interface SyntheticOptions {
  /** `random`: number of fixed images (official: 20) */
  readonly size?: number;
  /** `random`: number of label classes (official: 10) */
  readonly numClasses?: number;
  /** image rows (official: 28) */
  readonly rows?: number;
  /** image cols (official: 28) */
  readonly cols?: number;
  /** `random`: seed of the fixed images and labels (default 0) */
  readonly seed?: number;
}

const RANDOM_KEY = 0x52414e44; // 'RAND'

function positiveInt(v: number, what: string, max = 1 << 24): number {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new DatasetError('INVALID_CONFIG', `synthetic dataset: ${what} must be an integer in 1..${max}, got ${v}`);
  return v;
}

/**
 * `random`: `size` fixed images of i.i.d. N(0, 1) pixels with labels uniform in 0..numClasses−1, drawn once from
 * `seed`. Both splits hold the same images (a pure memorisation task; episodes cycle through them).
 */
export function randomDataset(split: Split, options: SyntheticOptions = {}): ArrayDataset {
  const size = positiveInt(options.size ?? 20, 'size');
  const numClasses = positiveInt(options.numClasses ?? 10, 'numClasses', 256);
  const rows = positiveInt(options.rows ?? 28, 'rows', 4096);
  const cols = positiveInt(options.cols ?? 28, 'cols', 4096);
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new DatasetError('INVALID_CONFIG', `synthetic dataset: seed must be a safe integer, got ${seed}`);
  const rng = Rng.fromSeed(seed, RANDOM_KEY);
  const images = rng.fillNormal(new Float32Array(size * rows * cols));
  const labels = new Uint8Array(size);
  for (let i = 0; i < size; i++) labels[i] = rng.int(0, numClasses);
  return {
    kind: 'array',
    name: 'random',
    split,
    rows,
    cols,
    numClasses,
    stats: { mean: 0, std: 1 },
    source: `synthetic random (size ${size}, ${numClasses} classes, seed ${seed})`,
    size,
    images,
    labels,
    pixelScale: 1,
  };
}

/**
 * `sum` (Sum-Sign): each example is a fresh image of truncated-normal pixels (std 1, cut at ±2 std) around a
 * mean drawn from U(−1, 1); the label is 1 if the pixel sum is ≥ 0, else 0.
 */
export function sumDataset(split: Split, options: SyntheticOptions = {}): GeneratedDataset {
  const rows = positiveInt(options.rows ?? 28, 'rows', 4096);
  const cols = positiveInt(options.cols ?? 28, 'cols', 4096);
  const n = rows * cols;
  return {
    kind: 'generated',
    name: 'sum',
    split,
    rows,
    cols,
    numClasses: 2,
    stats: { mean: 0, std: 1 },
    source: 'synthetic sum (truncated normal, mean ~ U(-1, 1))',
    pixelScale: 1,
    sample(rng: Rng, out: Float32Array, offset: number): number {
      const mean = rng.uniform(-1, 1);
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const v = Math.fround(mean + rng.truncatedNormal(2));
        out[offset + i] = v;
        sum += v;
      }
      return sum >= 0 ? 1 : 0;
    },
  };
}
