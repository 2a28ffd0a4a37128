/**
 * Preprocessing, as in the official code's `DataLoader._preprocess`, compiled once per (dataset shape, spec) into
 * index tables and matrices and then applied image by image into a caller's Float32Array:
 *
 *   class subset (select + relabel) → pixels to [0, 1] → bilinear resize → normalisation → zero padding
 *   (bottom/right) → pixel permutation → random projection; the class count can be padded.
 */
import { Rng } from '@vsml/rng';
import { z } from 'zod';
import { type Dataset, checkStats, type NormStats } from './dataset.js';
import { DatasetError } from './errors.js';

const Size2 = z.tuple([z.int().min(1).max(4096), z.int().min(1).max(4096)]);

/**
 * The preprocessing spec (a strict, JSON-able zod schema; every field optional). Defaults: dataset
 * normalisation, nothing else.
 */
export const PreprocessSpecSchema = z.strictObject({
  /** keep only these classes, relabelled to their position in the list (e.g. [3, 7, 9] → 0, 1, 2) */
  classes: z
    .array(z.int().min(0).max(255))
    .min(1)
    .refine((a) => new Set(a).size === a.length, 'classes must not repeat')
    .nullable()
    .default(null),
  /** bilinear resize to [rows, cols] (TF2 `tf.image.resize`: half-pixel centres, no antialiasing) */
  resize: Size2.nullable().default(null),
  /** `dataset`: (x − mean)/std with the dataset's (or `stats`) values; `perImage`: per-image standardisation; `none` */
  normalization: z.enum(['dataset', 'perImage', 'none']).default('dataset'),
  /** statistics for `normalization: 'dataset'` instead of the dataset's own */
  stats: z.strictObject({ mean: z.number(), std: z.number().positive() }).nullable().default(null),
  /** zero-pad the image at the bottom/right to [rows, cols] (after normalisation, like the official `pad.input`) */
  padInput: Size2.nullable().default(null),
  /** report this many classes (≥ the real count; the official baselines use 62) */
  padClasses: z.int().min(1).max(65536).nullable().default(null),
  /** a fixed pixel permutation drawn from `seed` */
  permute: z.strictObject({ seed: z.int() }).nullable().default(null),
  /** multiply the flat image by a fixed Glorot-uniform matrix [D, dim], U(±sqrt(6/(D+dim))), drawn from `seed` */
  project: z
    .strictObject({ dim: z.int().min(1).max(1 << 16).nullable().default(null), seed: z.int().default(0) })
    .nullable()
    .default(null),
});

/** A validated preprocessing spec (all fields present). */
export type PreprocessSpec = z.infer<typeof PreprocessSpecSchema>;
/** A preprocessing spec as written (fields optional). */
export type PreprocessSpecInput = z.input<typeof PreprocessSpecSchema>;

/** Turns zod issues into a DatasetError INVALID_CONFIG. */
export function configError(what: string, error: z.ZodError): DatasetError {
  return new DatasetError('INVALID_CONFIG', `invalid ${what}: ${z.prettifyError(error).replace(/\n/g, '; ')}`, {
    details: { issues: error.issues },
  });
}

/**
 * Validates a preprocessing spec and fills its defaults.
 * @throws DatasetError INVALID_CONFIG listing every problem
 */
export function parsePreprocessSpec(input: unknown = {}): PreprocessSpec {
  const r = PreprocessSpecSchema.safeParse(input ?? {});
  if (!r.success) throw configError('preprocessing spec', r.error);
  return r.data;
}

/** The shape facts a preprocessor needs (a {@link Dataset} has them all). */
export interface ImageSource {
  readonly name?: string;
  readonly rows: number;
  readonly cols: number;
  readonly numClasses: number;
  readonly stats: NormStats;
  /** 1/255 for uint8 images, 1 for float images (default 1/255) */
  readonly pixelScale?: number;
}

/** A compiled preprocessing pipeline for one input shape. */
export interface Preprocessor {
  readonly spec: PreprocessSpec;
  /** [rows, cols] of the raw images */
  readonly inputShape: readonly [number, number];
  /** [rows, cols] after resize and padding, or [dim] after a projection */
  readonly outputShape: readonly number[];
  /** floats per preprocessed image */
  readonly dim: number;
  /** classes reported (after the subset and padding) */
  readonly numClasses: number;
  /** the kept original classes in new-label order, or null (all classes, labels unchanged) */
  readonly classes: readonly number[] | null;
  /** original label → new label, −1 where the class is dropped */
  readonly labelMap: Int32Array;
  /** Preprocesses one image (`rows·cols` raw pixels at `srcOffset`) into `out[outOffset .. outOffset + dim)`. */
  apply(src: Uint8Array | Float32Array, srcOffset: number, out: Float32Array, outOffset: number): void;
  /** Preprocesses images `indices` of an array dataset into `out` ([n, dim], allocated when omitted). */
  batch(images: Uint8Array | Float32Array, indices: ArrayLike<number>, out?: Float32Array): Float32Array;
}

/** Bilinear-interpolation taps along one axis, TF2 `resize_bilinear(half_pixel_centers=True)`. */
function axisTaps(inSize: number, outSize: number): { lo: Int32Array; hi: Int32Array; frac: Float64Array } {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const x = (o + 0.5) * scale - 0.5;
    const f = Math.floor(x);
    lo[o] = Math.max(f, 0);
    hi[o] = Math.min(Math.ceil(x), inSize - 1);
    frac[o] = x - f;
  }
  return { lo, hi, frac };
}

/** Four source indices and weights per output pixel for a bilinear resize. */
function resizeTable(rows: number, cols: number, h: number, w: number, scale: number): { idx: Int32Array; wt: Float64Array } {
  const ry = axisTaps(rows, h);
  const rx = axisTaps(cols, w);
  const idx = new Int32Array(h * w * 4);
  const wt = new Float64Array(h * w * 4);
  for (let i = 0; i < h; i++) {
    const y0 = ry.lo[i]!;
    const y1 = ry.hi[i]!;
    const fy = ry.frac[i]!;
    for (let j = 0; j < w; j++) {
      const x0 = rx.lo[j]!;
      const x1 = rx.hi[j]!;
      const fx = rx.frac[j]!;
      const k = (i * w + j) * 4;
      idx[k] = y0 * cols + x0;
      idx[k + 1] = y0 * cols + x1;
      idx[k + 2] = y1 * cols + x0;
      idx[k + 3] = y1 * cols + x1;
      wt[k] = (1 - fy) * (1 - fx) * scale;
      wt[k + 1] = (1 - fy) * fx * scale;
      wt[k + 2] = fy * (1 - fx) * scale;
      wt[k + 3] = fy * fx * scale;
    }
  }
  return { idx, wt };
}

/**
 * Bilinear resize of one single-channel image (TF2 `tf.image.resize(..., 'bilinear')`: half-pixel centres,
 * no antialiasing). Downscaling 28 → 14 averages 2×2 blocks; 28 → 7 averages the two middle pixels of 4×4 blocks.
 */
export function resizeBilinear(src: ArrayLike<number>, rows: number, cols: number, h: number, w: number): Float32Array {
  if (src.length !== rows * cols) throw new DatasetError('INVALID_CONFIG', `resizeBilinear: ${src.length} values are not ${rows}×${cols}`);
  const { idx, wt } = resizeTable(rows, cols, h, w, 1);
  const out = new Float32Array(h * w);
  for (let p = 0; p < h * w; p++) {
    const k = p * 4;
    out[p] = src[idx[k]!]! * wt[k]! + src[idx[k + 1]!]! * wt[k + 1]! + src[idx[k + 2]!]! * wt[k + 2]! + src[idx[k + 3]!]! * wt[k + 3]!;
  }
  return out;
}

const PERMUTATION_KEY = 0x5045524d; // 'PERM'
const PROJECTION_KEY = 0x50524f4a; // 'PROJ'
const matrixMemo = new Map<string, Float32Array>();

/** The fixed pixel permutation of `n` pixels for `seed` (output pixel k takes input pixel perm[k]). */
export function pixelPermutation(n: number, seed: number): Int32Array {
  return Rng.fromSeed(seed, PERMUTATION_KEY, n).permutation(n);
}

/**
 * The fixed random projection for `seed`: a row-major [dIn, dOut] matrix with entries U(−L, L),
 * L = sqrt(6 / (dIn + dOut)) (Glorot uniform; the official code's square case gives sqrt(6 / 2D)). Memoised.
 */
export function glorotProjection(dIn: number, dOut: number, seed: number): Float32Array {
  const key = `${dIn}x${dOut}@${seed}`;
  const hit = matrixMemo.get(key);
  if (hit) return hit;
  const limit = Math.sqrt(6 / (dIn + dOut));
  const m = Rng.fromSeed(seed, PROJECTION_KEY, dIn, dOut).fillUniform(new Float32Array(dIn * dOut), -limit, limit);
  if (matrixMemo.size >= 8) matrixMemo.delete(matrixMemo.keys().next().value!);
  matrixMemo.set(key, m);
  return m;
}

const transposeMemo = new WeakMap<Float32Array, Float32Array>();

/** The [dOut, dIn] transpose of a row-major [dIn, dOut] matrix (memoised per matrix). */
function transposed(m: Float32Array, dIn: number, dOut: number): Float32Array {
  const hit = transposeMemo.get(m);
  if (hit) return hit;
  const t = new Float32Array(dIn * dOut);
  for (let i = 0; i < dIn; i++) for (let j = 0; j < dOut; j++) t[j * dIn + i] = m[i * dOut + j]!;
  transposeMemo.set(m, t);
  return t;
}

/** out[oo + j] = Σ_i v[i]·M[i, j], with `columns` the [dOut, dIn] transpose of M (four accumulators). */
function projectInto(v: Float32Array, columns: Float32Array, dIn: number, dOut: number, out: Float32Array, oo: number): void {
  for (let j = 0, base = 0; j < dOut; j++, base += dIn) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let i = 0;
    for (; i + 3 < dIn; i += 4) {
      s0 += v[i]! * columns[base + i]!;
      s1 += v[i + 1]! * columns[base + i + 1]!;
      s2 += v[i + 2]! * columns[base + i + 2]!;
      s3 += v[i + 3]! * columns[base + i + 3]!;
    }
    for (; i < dIn; i++) s0 += v[i]! * columns[base + i]!;
    out[oo + j] = s0 + s1 + s2 + s3;
  }
}

/** Options of {@link compilePreprocess}. */
export interface CompileOptions {
  /**
   * Number of labels before class padding when the caller relabels itself (the episode sampler's task mode,
   * where it is the largest task size); default: the subset size or the dataset's class count.
   */
  readonly labelCount?: number;
}

/**
 * Validates `spec` against the image source and compiles it (index tables, permutation and projection matrix
 * are built here, once).
 * @throws DatasetError INVALID_CONFIG (bad spec, a class outside the dataset, padding smaller than the image or
 * the class count)
 */
export function compilePreprocess(source: ImageSource | Dataset, specInput: PreprocessSpecInput | PreprocessSpec = {}, options: CompileOptions = {}): Preprocessor {
  const spec = parsePreprocessSpec(specInput);
  const where = `preprocessing for ${source.name ?? 'dataset'}`;
  const { rows, cols } = source;
  const pixelScale = source.pixelScale ?? 1 / 255;

  // classes
  const labelMap = new Int32Array(source.numClasses).fill(-1);
  if (spec.classes) {
    spec.classes.forEach((c, i) => {
      if (c >= source.numClasses) throw new DatasetError('INVALID_CONFIG', `${where}: class ${c} is outside 0..${source.numClasses - 1}`);
      labelMap[c] = i;
    });
  } else {
    for (let c = 0; c < source.numClasses; c++) labelMap[c] = c;
  }
  const labelCount = options.labelCount ?? spec.classes?.length ?? source.numClasses;
  if (spec.padClasses !== null && spec.padClasses < labelCount) {
    throw new DatasetError('INVALID_CONFIG', `${where}: padClasses ${spec.padClasses} is smaller than the ${labelCount} classes`);
  }
  const numClasses = spec.padClasses ?? labelCount;

  // resize
  const [h, w] = spec.resize ?? [rows, cols];
  const n = h * w;
  const table = spec.resize ? resizeTable(rows, cols, h, w, pixelScale) : null;

  // normalisation
  let stats: NormStats = spec.stats ?? source.stats;
  if (spec.normalization === 'dataset') checkStats(stats, where);
  else stats = { mean: 0, std: 1 };
  const fixedA = 1 / stats.std;
  const fixedB = -stats.mean / stats.std;
  const perImage = spec.normalization === 'perImage';

  // padding and permutation → gather table (−1 = padding zero), or null for the identity
  const [ph, pw] = spec.padInput ?? [h, w];
  if (ph < h || pw < w) throw new DatasetError('INVALID_CONFIG', `${where}: padInput ${ph}×${pw} is smaller than the ${h}×${w} image`);
  const d0 = ph * pw;
  let gather: Int32Array | null = null;
  if (spec.padInput || spec.permute) {
    const padded = new Int32Array(d0);
    for (let q = 0; q < d0; q++) {
      const r = Math.floor(q / pw);
      const c = q % pw;
      padded[q] = r < h && c < w ? r * w + c : -1;
    }
    if (spec.permute) {
      const perm = pixelPermutation(d0, spec.permute.seed);
      gather = new Int32Array(d0);
      for (let k = 0; k < d0; k++) gather[k] = padded[perm[k]!]!;
    } else gather = padded;
  }

  // projection
  const dim = spec.project ? (spec.project.dim ?? d0) : d0;
  const matrix = spec.project ? glorotProjection(d0, dim, spec.project.seed) : null;
  const outputShape = spec.project ? [dim] : [ph, pw];

  const vals = new Float64Array(n); // resized, unnormalised values
  const columns = matrix ? transposed(matrix, d0, dim) : null;
  const flat = matrix ? new Float32Array(d0) : null; // the vector before the projection

  const apply = (src: Uint8Array | Float32Array, so: number, out: Float32Array, oo: number): void => {
    // 1. pixels → [0, 1] scale, resized
    if (table) {
      const { idx, wt } = table;
      for (let p = 0, k = 0; p < n; p++, k += 4) {
        vals[p] = src[so + idx[k]!]! * wt[k]! + src[so + idx[k + 1]!]! * wt[k + 1]! + src[so + idx[k + 2]!]! * wt[k + 2]! + src[so + idx[k + 3]!]! * wt[k + 3]!;
      }
    } else {
      for (let p = 0; p < n; p++) vals[p] = src[so + p]! * pixelScale;
    }
    // 2. normalisation coefficients
    let a = fixedA;
    let b = fixedB;
    if (perImage) {
      let s = 0;
      for (let p = 0; p < n; p++) s += vals[p]!;
      const mean = s / n;
      let ss = 0;
      for (let p = 0; p < n; p++) ss += (vals[p]! - mean) ** 2;
      const std = Math.sqrt(ss / n);
      a = 1 / Math.max(std, 1 / Math.sqrt(n));
      b = -mean * a;
    }
    // 3. padding / permutation
    const target = flat ?? out;
    const to = flat ? 0 : oo;
    if (gather) {
      for (let k = 0; k < d0; k++) {
        const g = gather[k]!;
        target[to + k] = g < 0 ? 0 : vals[g]! * a + b;
      }
    } else {
      for (let k = 0; k < d0; k++) target[to + k] = vals[k]! * a + b;
    }
    // 4. projection
    if (columns && flat) projectInto(flat, columns, d0, dim, out, oo);
  };

  const imageSize = rows * cols;
  return {
    spec,
    inputShape: [rows, cols],
    outputShape,
    dim,
    numClasses,
    classes: spec.classes,
    labelMap,
    apply,
    batch(images, indices, out) {
      const target = out ?? new Float32Array(indices.length * dim);
      if (target.length < indices.length * dim) {
        throw new DatasetError('OUT_OF_RANGE', `${where}: output holds ${target.length} floats, ${indices.length}×${dim} needed`);
      }
      for (let i = 0; i < indices.length; i++) apply(images, indices[i]! * imageSize, target, i * dim);
      return target;
    },
  };
}
