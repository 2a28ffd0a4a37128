/**
 * Seeded episode streams. Episode k of stream s draws everything from `Rng.fromSeed(seed, k, s, key)` (key: train
 * data 0, task 1, test data 2; a shared task uses stream −1), so any episode of any member can be produced alone,
 * in any order, on any machine, with the same numbers.
 */
import { Rng } from '@vsml/rng';
import { z } from 'zod';
import { type ArrayDataset, classIndex, type Dataset, type Split } from './dataset.js';
import { DatasetError } from './errors.js';
import { compilePreprocess, configError, PreprocessSpecSchema, type PreprocessSpecInput, type Preprocessor } from './preprocess.js';
import { type LoadOptions, loadDataset } from './registry.js';

/** Per-episode class subsets ("tasks"): k classes, k uniform in [minClasses, maxClasses], relabelled 0..k−1. */
export const TaskSpecSchema = z
  .strictObject({
    minClasses: z.int().min(1).max(256),
    maxClasses: z.int().min(1).max(256),
    /** one task for all members of an episode (true) or one per stream (false, default) */
    shared: z.boolean().default(false),
  })
  .refine((t) => t.minClasses <= t.maxClasses, 'minClasses must be ≤ maxClasses');

/** The episode sampler's configuration (a strict zod schema). */
export const EpisodeSamplerConfigSchema = z.strictObject({
  /** P: population members per episode */
  population: z.int().min(1),
  /** T: steps per episode */
  length: z.int().min(1),
  /** B: inner batch per step (1 gives x [T, P, D]; >1 gives x [T, P, B, D]) */
  batch: z.int().min(1).default(1),
  seed: z.int().default(0),
  /** members 2k and 2k+1 share one stream (ES antithetic pairs); P must be even */
  antithetic: z.boolean().default(false),
  preprocess: PreprocessSpecSchema.prefault({}),
  /** sample a class subset per episode (null: use all classes, or `preprocess.classes`) */
  task: TaskSpecSchema.nullable().default(null),
});

/** A validated sampler configuration. */
export type EpisodeSamplerConfig = z.infer<typeof EpisodeSamplerConfigSchema>;
/** A sampler configuration as written. */
export type EpisodeSamplerConfigInput = z.input<typeof EpisodeSamplerConfigSchema>;
/** Per-episode task sampling. */
export type TaskSpec = z.infer<typeof TaskSpecSchema>;

/** A sampler configuration that also names the dataset and split (for {@link openEpisodeSampler}). */
export const EpisodeStreamConfigSchema = EpisodeSamplerConfigSchema.extend({
  dataset: z.string().min(1),
  split: z.enum(['train', 'test']).default('train'),
});
/** A validated stream configuration. */
export type EpisodeStreamConfig = z.infer<typeof EpisodeStreamConfigSchema>;
/** A stream configuration as written. */
export type EpisodeStreamConfigInput = z.input<typeof EpisodeStreamConfigSchema>;

/** What an episode holds besides its arrays. */
export interface EpisodeMeta {
  readonly episode: number;
  readonly seed: number;
  readonly dataset: string;
  readonly split: Split;
  /** T, P, B, D */
  readonly length: number;
  readonly population: number;
  readonly batch: number;
  readonly dim: number;
  /** width of the label space (after task size / class padding) */
  readonly numClasses: number;
  readonly antithetic: boolean;
  /** the stream of each member ([P]) */
  readonly streams: Int32Array;
  /** per member: the original classes in new-label order (task or `preprocess.classes`), or null for all classes */
  readonly classes: readonly (readonly number[] | null)[];
  /** per member: the number of classes present in its labels */
  readonly classCounts: Int32Array;
  /** dataset index of every example, [T, P, B] (−1 for generated datasets) */
  readonly indices: Int32Array;
}

/** One episode batch: `x` [T, P, D] (or [T, P, B, D] when B > 1), `y` [T, P] (or [T, P, B]), time-major. */
export interface Episode {
  readonly x: Float32Array;
  readonly y: Int32Array;
  /** [T, P, D] or [T, P, B, D] */
  readonly shape: readonly number[];
  readonly meta: EpisodeMeta;
}

/** One member's episode: `x` [T, B, D], `y` [T, B], `indices` [T, B]. */
export interface MemberEpisode {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly indices: Int32Array;
  readonly classes: readonly number[] | null;
  readonly numClasses: number;
}

/** Stream keys: data of the train split, tasks, data of the test split (so that `sum` differs between splits). */
const DATA_KEY = 0;
const TASK_KEY = 1;
const TEST_DATA_KEY = 2;
const SHARED_STREAM = -1;
const MAX_ELEMENTS = 2 ** 31 - 1;

interface StreamDraw {
  indices: Int32Array; // [T·B]
  labels: Int32Array; // [T·B]
  classes: readonly number[] | null;
  /** generated datasets: raw images [T·B, rows·cols] */
  raw: Float32Array | null;
}

/**
 * Draws `k` distinct positions of 0..n−1 in random order (sparse Fisher–Yates); when k > n, successive passes,
 * each a fresh permutation, so every position appears ⌊k/n⌋ or ⌈k/n⌉ times.
 */
export function drawWithoutReplacement(rng: Rng, n: number, k: number, out: Int32Array = new Int32Array(k)): Int32Array {
  if (n < 1) throw new DatasetError('OUT_OF_RANGE', `cannot draw ${k} examples from an empty pool`);
  let filled = 0;
  while (filled < k) {
    const take = Math.min(n, k - filled);
    const swapped = new Map<number, number>();
    for (let i = 0; i < take; i++) {
      const j = rng.int(i, n);
      const vi = swapped.get(i) ?? i;
      out[filled + i] = swapped.get(j) ?? j;
      swapped.set(j, vi);
    }
    filled += take;
  }
  return out;
}

/**
 * Yields seeded episodes from one dataset split: for population P, length T, inner batch B,
 * `{x: Float32Array [T, P, (B,) D], y: Int32Array [T, P, (B)], meta}`. Within an episode each stream draws its
 * T·B examples without replacement (when T·B exceeds the pool, in passes of fresh permutations). Each member has
 * its own stream, or, in antithetic mode, members 2k and 2k+1 share stream k. With `task`, every stream (or every
 * episode, `shared`) gets its own class subset, relabelled 0..k−1 in random order.
 */
export class EpisodeSampler {
  readonly config: EpisodeSamplerConfig;
  readonly dataset: Dataset;
  readonly preprocessor: Preprocessor;
  /** D: floats per example */
  readonly dim: number;
  /** width of the label space */
  readonly numClasses: number;
  /** number of independent streams (P, or P/2 in antithetic mode) */
  readonly streams: number;
  private position = 0;
  private readonly baseClasses: readonly number[];
  private readonly lists: readonly Int32Array[] | null;
  private readonly pool: Int32Array | null;
  private readonly poolLabels: Int32Array | null;

  /** @throws DatasetError INVALID_CONFIG (bad config, odd P with antithetic, tasks that do not fit the dataset) */
  constructor(dataset: Dataset, config: EpisodeSamplerConfigInput) {
    const r = EpisodeSamplerConfigSchema.safeParse(config);
    if (!r.success) throw configError('episode sampler config', r.error);
    const c = r.data;
    this.config = c;
    this.dataset = dataset;
    if (c.antithetic && c.population % 2 !== 0) {
      throw new DatasetError('INVALID_CONFIG', `episode sampler: antithetic mode needs an even population, got ${c.population}`);
    }
    this.streams = c.antithetic ? c.population / 2 : c.population;
    this.baseClasses = c.preprocess.classes ?? Array.from({ length: dataset.numClasses }, (_, i) => i);
    if (c.task && c.task.maxClasses > this.baseClasses.length) {
      throw new DatasetError('INVALID_CONFIG', `episode sampler: task.maxClasses ${c.task.maxClasses} exceeds the ${this.baseClasses.length} available classes`);
    }
    this.preprocessor = compilePreprocess(dataset, c.preprocess, c.task ? { labelCount: c.task.maxClasses } : {});
    this.dim = this.preprocessor.dim;
    this.numClasses = this.preprocessor.numClasses;
    const total = c.length * c.population * c.batch * this.dim;
    if (total > MAX_ELEMENTS) {
      throw new DatasetError('OUT_OF_RANGE', `episode sampler: x would hold ${total} floats (T·P·B·D); use member() per member or a smaller P`);
    }

    if (dataset.kind === 'generated') {
      if (c.task || c.preprocess.classes) {
        throw new DatasetError('INVALID_CONFIG', `episode sampler: class subsets and tasks need a finite dataset, ${dataset.name} is generated`);
      }
      this.lists = null;
      this.pool = null;
      this.poolLabels = null;
    } else {
      const lists = classIndex(dataset);
      this.lists = lists;
      for (const cl of c.task ? this.baseClasses : []) {
        if (lists[cl]!.length === 0) throw new DatasetError('OUT_OF_RANGE', `episode sampler: class ${cl} of ${dataset.name} has no images`);
      }
      if (!c.task && c.preprocess.classes) {
        const n = c.preprocess.classes.reduce((a, cl) => a + lists[cl]!.length, 0);
        if (n === 0) throw new DatasetError('OUT_OF_RANGE', `episode sampler: classes [${c.preprocess.classes.join(', ')}] of ${dataset.name} hold no images`);
        this.pool = new Int32Array(n);
        this.poolLabels = new Int32Array(n);
        let o = 0;
        c.preprocess.classes.forEach((cl, i) => {
          this.pool!.set(lists[cl]!, o);
          this.poolLabels!.fill(i, o, o + lists[cl]!.length);
          o += lists[cl]!.length;
        });
      } else {
        this.pool = null;
        this.poolLabels = null;
        if (dataset.size === 0) throw new DatasetError('OUT_OF_RANGE', `episode sampler: ${dataset.name} (${dataset.split}) is empty`);
      }
    }
  }

  /** The index of the episode that {@link next} returns next. */
  get episodeIndex(): number {
    return this.position;
  }

  /** Sets the index of the next episode (e.g. when resuming from a checkpoint). */
  seek(episode: number): void {
    if (!Number.isSafeInteger(episode) || episode < 0) throw new DatasetError('INVALID_CONFIG', `seek: episode must be a non-negative integer, got ${episode}`);
    this.position = episode;
  }

  /** Plain-data sampler position, for checkpoints (restore with {@link seek}). */
  state(): { episode: number } {
    return { episode: this.position };
  }

  /** The next episode; pass a previous episode of this sampler as `target` to reuse its arrays. */
  next(target?: Episode): Episode {
    return this.episode(this.position++, target);
  }

  /** Episode number `k` (independent of the sampler's position). */
  episode(k: number, target?: Episode): Episode {
    this.checkEpisode(k);
    const { length: T, population: P, batch: B } = this.config;
    const D = this.dim;
    const TB = T * B;
    const x = target && target.x.length === T * P * B * D ? target.x : new Float32Array(T * P * B * D);
    const y = target && target.y.length === T * P * B ? target.y : new Int32Array(T * P * B);
    const indices = target && target.meta.indices.length === T * P * B ? (target.meta.indices as Int32Array) : new Int32Array(T * P * B);
    const streamOf = new Int32Array(P);
    const classes: (readonly number[] | null)[] = new Array(P).fill(null);
    const classCounts = new Int32Array(P);
    const shared = this.config.task?.shared ? this.drawTask(Rng.fromSeed(this.config.seed, k, SHARED_STREAM, TASK_KEY)) : undefined;
    const imageSize = this.dataset.rows * this.dataset.cols;
    const pre = this.preprocessor;
    const images = this.dataset.kind === 'array' ? this.dataset.images : null;

    for (let s = 0; s < this.streams; s++) {
      const draw = this.drawStream(k, s, shared);
      const m0 = this.config.antithetic ? 2 * s : s;
      const members = this.config.antithetic ? [m0, m0 + 1] : [m0];
      for (let i = 0; i < TB; i++) {
        const t = Math.floor(i / B);
        const b = i - t * B;
        const pos = (t * P + m0) * B + b;
        if (draw.raw) pre.apply(draw.raw, i * imageSize, x, pos * D);
        else pre.apply(images!, draw.indices[i]! * imageSize, x, pos * D);
        y[pos] = draw.labels[i]!;
        indices[pos] = draw.indices[i]!;
      }
      for (const m of members) {
        streamOf[m] = s;
        classes[m] = draw.classes;
        classCounts[m] = draw.classes ? draw.classes.length : this.dataset.numClasses;
        if (m === m0) continue;
        for (let t = 0; t < T; t++) {
          const src = (t * P + m0) * B;
          const dst = (t * P + m) * B;
          x.copyWithin(dst * D, src * D, (src + B) * D);
          y.copyWithin(dst, src, src + B);
          indices.copyWithin(dst, src, src + B);
        }
      }
    }
    return {
      x,
      y,
      shape: B === 1 ? [T, P, D] : [T, P, B, D],
      meta: {
        episode: k,
        seed: this.config.seed,
        dataset: this.dataset.name,
        split: this.dataset.split,
        length: T,
        population: P,
        batch: B,
        dim: D,
        numClasses: this.numClasses,
        antithetic: this.config.antithetic,
        streams: streamOf,
        classes,
        classCounts,
        indices,
      },
    };
  }

  /**
   * Only member `member`'s part of episode `k`, as `x` [T, B, D] and `y` [T, B]: equal to the corresponding slice
   * of {@link episode}`(k)`, without producing the other members (for workers that evaluate a few members each).
   */
  member(k: number, member: number): MemberEpisode {
    this.checkEpisode(k);
    if (!Number.isInteger(member) || member < 0 || member >= this.config.population) {
      throw new DatasetError('OUT_OF_RANGE', `member ${member} is outside 0..${this.config.population - 1}`);
    }
    const s = this.config.antithetic ? Math.floor(member / 2) : member;
    const shared = this.config.task?.shared ? this.drawTask(Rng.fromSeed(this.config.seed, k, SHARED_STREAM, TASK_KEY)) : undefined;
    const draw = this.drawStream(k, s, shared);
    const TB = this.config.length * this.config.batch;
    const x = new Float32Array(TB * this.dim);
    const imageSize = this.dataset.rows * this.dataset.cols;
    for (let i = 0; i < TB; i++) {
      if (draw.raw) this.preprocessor.apply(draw.raw, i * imageSize, x, i * this.dim);
      else this.preprocessor.apply((this.dataset as ArrayDataset).images, draw.indices[i]! * imageSize, x, i * this.dim);
    }
    return {
      x,
      y: draw.labels,
      indices: draw.indices,
      classes: draw.classes,
      numClasses: this.numClasses,
    };
  }

  private checkEpisode(k: number): void {
    if (!Number.isSafeInteger(k) || k < 0) throw new DatasetError('OUT_OF_RANGE', `episode index must be a non-negative integer, got ${k}`);
  }

  private drawTask(rng: Rng): readonly number[] {
    const task = this.config.task!;
    const kc = rng.int(task.minClasses, task.maxClasses + 1);
    const pick = drawWithoutReplacement(rng, this.baseClasses.length, kc);
    return Array.from(pick, (i) => this.baseClasses[i]!);
  }

  private drawStream(k: number, s: number, shared: readonly number[] | undefined): StreamDraw {
    const TB = this.config.length * this.config.batch;
    const task = this.config.task;
    const taskClasses = task ? (shared ?? this.drawTask(Rng.fromSeed(this.config.seed, k, s, TASK_KEY))) : null;
    const rng = Rng.fromSeed(this.config.seed, k, s, this.dataset.split === 'test' ? TEST_DATA_KEY : DATA_KEY);
    const labels = new Int32Array(TB);
    const ds = this.dataset;

    if (ds.kind === 'generated') {
      const imageSize = ds.rows * ds.cols;
      const raw = new Float32Array(TB * imageSize);
      for (let i = 0; i < TB; i++) labels[i] = ds.sample(rng, raw, i * imageSize);
      return { indices: new Int32Array(TB).fill(-1), labels, classes: null, raw };
    }

    if (taskClasses) {
      const lists = taskClasses.map((cl) => this.lists![cl]!);
      const total = lists.reduce((a, l) => a + l.length, 0);
      const pos = drawWithoutReplacement(rng, total, TB);
      const indices = new Int32Array(TB);
      for (let i = 0; i < TB; i++) {
        let p = pos[i]!;
        let c = 0;
        while (p >= lists[c]!.length) p -= lists[c++]!.length;
        indices[i] = lists[c]![p]!;
        labels[i] = c;
      }
      return { indices, labels, classes: taskClasses, raw: null };
    }

    if (this.pool) {
      const pos = drawWithoutReplacement(rng, this.pool.length, TB);
      const indices = new Int32Array(TB);
      for (let i = 0; i < TB; i++) {
        indices[i] = this.pool[pos[i]!]!;
        labels[i] = this.poolLabels![pos[i]!]!;
      }
      return { indices, labels, classes: this.config.preprocess.classes, raw: null };
    }

    const indices = drawWithoutReplacement(rng, ds.size, TB);
    for (let i = 0; i < TB; i++) labels[i] = ds.labels[indices[i]!]!;
    return { indices, labels, classes: null, raw: null };
  }
}

/**
 * Loads the dataset named in `config` and returns its sampler.
 * @throws DatasetError as {@link loadDataset} and the {@link EpisodeSampler} constructor
 */
export function openEpisodeSampler(config: EpisodeStreamConfigInput, loadOptions: Omit<LoadOptions, 'split'> = {}): EpisodeSampler {
  const r = EpisodeStreamConfigSchema.safeParse(config);
  if (!r.success) throw configError('episode stream config', r.error);
  const { dataset, split, ...samplerConfig } = r.data;
  return new EpisodeSampler(loadDataset(dataset, { ...loadOptions, split }), samplerConfig);
}

/** A deterministic, preprocessed evaluation set: `x` [N, D], `y` [N], `indices` [N]. */
export interface EvaluationSet {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly indices: Int32Array;
  readonly dim: number;
  readonly numClasses: number;
}

/**
 * A fixed evaluation set for test-accuracy measurements: the images `offset .. offset+count−1` of the split in
 * stored order (among the classes of `preprocess.classes`, relabelled), preprocessed. For a generated dataset,
 * `count` fresh examples from `seed` (default 0).
 * @throws DatasetError OUT_OF_RANGE when the split holds fewer images, INVALID_CONFIG for a bad spec
 */
export function evaluationSet(
  dataset: Dataset,
  preprocess: PreprocessSpecInput = {},
  options: { readonly count: number; readonly offset?: number; readonly seed?: number },
): EvaluationSet {
  const pre = compilePreprocess(dataset, preprocess);
  const { count } = options;
  const offset = options.offset ?? 0;
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(offset) || offset < 0) {
    throw new DatasetError('INVALID_CONFIG', `evaluationSet: count must be ≥ 1 and offset ≥ 0, got ${count} and ${offset}`);
  }
  const x = new Float32Array(count * pre.dim);
  const y = new Int32Array(count);
  const indices = new Int32Array(count).fill(-1);
  const imageSize = dataset.rows * dataset.cols;
  if (dataset.kind === 'generated') {
    if (pre.classes) throw new DatasetError('INVALID_CONFIG', `evaluationSet: class subsets need a finite dataset, ${dataset.name} is generated`);
    const rng = Rng.fromSeed(options.seed ?? 0, 0x4556414c, offset); // 'EVAL'
    const raw = new Float32Array(imageSize);
    for (let i = 0; i < count; i++) {
      y[i] = dataset.sample(rng, raw, 0);
      pre.apply(raw, 0, x, i * pre.dim);
    }
    return { x, y, indices, dim: pre.dim, numClasses: pre.numClasses };
  }
  let seen = 0;
  let n = 0;
  for (let i = 0; i < dataset.size && n < count; i++) {
    const label = pre.labelMap[dataset.labels[i]!]!;
    if (label < 0) continue;
    if (seen++ < offset) continue;
    pre.apply(dataset.images, i * imageSize, x, n * pre.dim);
    y[n] = label;
    indices[n] = i;
    n++;
  }
  if (n < count) {
    throw new DatasetError('OUT_OF_RANGE', `evaluationSet: ${dataset.name} (${dataset.split}) has only ${n} eligible images after offset ${offset}, ${count} requested`);
  }
  return { x, y, indices, dim: pre.dim, numClasses: pre.numClasses };
}
