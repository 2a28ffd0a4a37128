/**
 * Task distributions for meta-training: a task = dataset + preprocessing + a class subset + an episode length,
 * sampled by seed through `@vsml/datasets` (learned_optimization's `TaskFamily`: `sample(key)` → a task).
 *
 * Batching: all P episodes of one meta-step share one class count k (drawn per step), each episode with its own
 * random subset of k classes relabelled 0..k−1, its own examples and its own initial state. The label width is k
 * (VSML adapts its output layer to it, so no padding or masking is needed) or a fixed `labelWidth` for models of
 * fixed size (the Meta RNN: classes padded to e.g. 10, as the official `pad.yaml`).
 *
 * A mix of sources (datasets or preprocessings) is supported: each meta-step (and each ES unit) picks one source,
 * uniformly by seed.
 *
 * Everything is a function of (family seed, step) or (family seed, unit seed): a resumed run sees the same tasks.
 */
import { openEpisodeSampler, type EpisodeSampler, type PreprocessSpecInput } from '@vsml/datasets';
import { Rng } from '@vsml/rng';
import { z } from 'zod';
import { MetatrainError, parseConfig } from '../errors.js';
import type { EpisodeBatch } from '../metatest.js';

/** One data source of a task family. */
export const TaskSourceSchema = z.strictObject({
  /** dataset name from the @vsml/datasets registry */
  dataset: z.string().min(1).default('mnist'),
  /** split to meta-train on */
  split: z.enum(['train', 'test']).default('train'),
  /** preprocessing spec, e.g. `{resize: [7, 7]}` or `{project: {dim: 49, seed: 3}}` */
  preprocess: z.record(z.string(), z.unknown()).default({}),
});

/** A task family (strict; JSON-able). */
export const TaskFamilyConfigSchema = z
  .strictObject({
    /** data sources; one is picked per meta-step / ES unit (default: MNIST train, raw 28×28) */
    sources: z.array(TaskSourceSchema).min(1).default([{ dataset: 'mnist', split: 'train', preprocess: {} }]),
    /** smallest class count per episode */
    minClasses: z.number().int().min(2).default(2),
    /** largest class count per episode */
    maxClasses: z.number().int().min(2).default(5),
    /** T: steps per episode */
    length: z.number().int().positive().default(100),
    /** P: episodes per meta-step (gradient path) */
    episodes: z.number().int().positive().default(16),
    /** label width: null = k (VSML); a number = classes padded to this width (fixed-size models) */
    labelWidth: z.number().int().positive().nullable().default(null),
    /** seed of the task stream */
    seed: z.number().int().nonnegative().default(0),
  })
  .refine((c) => c.minClasses <= c.maxClasses, { message: 'minClasses must be ≤ maxClasses', path: ['maxClasses'] })
  .refine((c) => c.labelWidth === null || c.labelWidth >= c.maxClasses, { message: 'labelWidth must be ≥ maxClasses', path: ['labelWidth'] });

/** A validated task family config. */
export type TaskFamilyConfig = z.output<typeof TaskFamilyConfigSchema>;
/** A task family config as written. */
export type TaskFamilyConfigInput = z.input<typeof TaskFamilyConfigSchema>;

/** A sampled batch of tasks. */
export interface TaskBatch {
  readonly batch: EpisodeBatch;
  /** the class count shared by the batch's episodes */
  readonly k: number;
  /** index of the source in `sources` */
  readonly source: number;
  /** per member: the seed of its initial state */
  readonly seeds: number[];
}

// stream keys
const K_STEP = 0x73746570; // 'step'
const K_UNIT = 0x756e6974; // 'unit'
const K_INIT = 0x696e6974; // 'init'
const K_SAMPLER = 0x73616d70; // 'samp'

/** A task family: batches per meta-step, single episodes per ES unit seed. */
export class TaskFamily {
  readonly config: TaskFamilyConfig;
  private readonly samplers = new Map<string, EpisodeSampler>();

  constructor(config: TaskFamilyConfigInput) {
    this.config = parseConfig(TaskFamilyConfigSchema, config, 'task family');
  }

  /** the input size D of source `i` (all sources must agree for fixed-size models) */
  dim(source = 0): number {
    return this.sampler(source, this.config.minClasses, 1).dim;
  }

  private sampler(source: number, k: number, population: number): EpisodeSampler {
    const key = `${source}/${k}/${population}`;
    let s = this.samplers.get(key);
    if (s === undefined) {
      const src = this.config.sources[source]!;
      const pre = { ...(src.preprocess as PreprocessSpecInput) };
      if (this.config.labelWidth !== null) pre.padClasses = this.config.labelWidth;
      try {
        s = openEpisodeSampler({
          dataset: src.dataset,
          split: src.split,
          population,
          length: this.config.length,
          seed: Rng.fromSeed(this.config.seed, K_SAMPLER, source, k, population).uint32() >>> 1,
          preprocess: pre,
          task: { minClasses: k, maxClasses: k },
        });
      } catch (e) {
        throw new MetatrainError('BAD_CONFIG', `task family: source ${source} (${src.dataset}): ${(e as Error).message}`, { cause: e });
      }
      this.samplers.set(key, s);
    }
    return s;
  }

  private draw(rng: Rng): { k: number; source: number } {
    const k = rng.int(this.config.minClasses, this.config.maxClasses + 1);
    const source = this.config.sources.length === 1 ? 0 : rng.int(0, this.config.sources.length);
    return { k, source };
  }

  /** The P = `episodes` episodes of meta-step `step` (shared k, see module comment). */
  batch(step: number, episodes = this.config.episodes): TaskBatch {
    const { k, source } = this.draw(Rng.fromSeed(this.config.seed, K_STEP, step));
    const s = this.sampler(source, k, episodes);
    const ep = s.episode(step);
    const seeds = Array.from({ length: episodes }, (_, p) => Rng.fromSeed(this.config.seed, K_INIT, step, p).uint32());
    return {
      batch: { x: ep.x, y: ep.y, steps: this.config.length, population: episodes, dim: s.dim, numClasses: s.numClasses },
      k,
      source,
      seeds,
    };
  }

  /** The single episode of an ES unit seed: its data, class count and initial-state seed (= the unit seed). */
  unit(seed: number): TaskBatch {
    const { k, source } = this.draw(Rng.fromSeed(this.config.seed, K_UNIT, seed));
    const s = this.sampler(source, k, 1);
    const ep = s.episode(seed);
    return {
      batch: { x: ep.x, y: ep.y, steps: this.config.length, population: 1, dim: s.dim, numClasses: s.numClasses },
      k,
      source,
      seeds: [seed],
    };
  }
}
