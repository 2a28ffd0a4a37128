/**
 * The meta-test protocol: the yardstick every learner (VSML V_M, online SGD/Adam, the Meta RNN) is measured with.
 *
 * A learner runs online on a stream from a dataset split (test split by default, as the official evaluation):
 * at step t it predicts the label of x_t *before* y_t is revealed, then receives the error. Per seed (a different
 * stream and a different initial state) we record per-step correctness and loss and derive
 *
 * - **online accuracy** after t+1 steps = mean correctness over steps 0..t (the paper's "total accuracy on all
 *   previous inputs", official `eval_accuracy` when t = T−1);
 * - **last100**: mean correctness over the last min(100, T) steps;
 * - **final**: correctness at the last step (official `eval_final_accuracy`);
 * - **test**: held-out accuracy where the learner can predict without learning (SGD/Adam): measured at fixed steps
 *   on the first `testCount` images of the *other* split (`train` when the stream comes from `test`), which the
 *   stream never contains.
 *
 * Means and standard deviations are over seeds; std is the population std (ddof = 0, numpy's default).
 * `metaTest` returns the JSON object that `apps/bench` stores in `results/` (`MetaTestResultSchema` there).
 */
import { MetaTestResultSchema, type MetaTestResult } from '@vsml/core';
import { evaluationSet, loadDataset, openEpisodeSampler, type PreprocessSpecInput } from '@vsml/datasets';
import { z } from 'zod';
import { MetatrainError, parseConfig } from './errors.js';

/** P episodes of one stream batch, time-major. */
export interface EpisodeBatch {
  /** inputs `[T, P, D]` */
  readonly x: Float32Array;
  /** labels `[T, P]` (class indices < numClasses) */
  readonly y: Int32Array;
  /** T */
  readonly steps: number;
  /** P */
  readonly population: number;
  /** D */
  readonly dim: number;
  /** C: width of the label space */
  readonly numClasses: number;
}

/** A held-out set the learner predicts on without learning, at the given steps. */
export interface HeldOutSet {
  /** `[N, D]` */
  readonly x: Float32Array;
  /** `[N]` */
  readonly y: Int32Array;
  readonly count: number;
  /** measure after the update of these steps (0-based, ascending) */
  readonly atSteps: readonly number[];
}

/** Options of {@link Learner.runEpisodes}. */
export interface RunEpisodesOptions {
  /** one seed per member (length P): member p's initial state (V_L, or the network initialisation) comes from seeds[p] */
  readonly seeds: readonly number[];
  /** held-out accuracy (only learners with `canPredictWithoutLearning`) */
  readonly heldOut?: HeldOutSet;
}

/** What a learner returns for P episodes. */
export interface LearnerRun {
  /** 1 where the prediction made before y_t was revealed was right, `[T, P]` */
  readonly correct: Float32Array;
  /** cross-entropy of that prediction, `[T, P]` */
  readonly loss: Float32Array;
  /** held-out accuracy per measurement step and member, `[atSteps.length, P]` (with `heldOut`) */
  readonly heldOutAccuracy?: Float32Array;
  /** the predicted class (argmax) per step and member, `[T, P]` (optional; for diagnostics) */
  readonly predictions?: Int32Array;
}

/** Sizes of a learner on a given problem. */
export interface LearnerCounts {
  /** |V_M|: meta-parameters (null for learners without any, e.g. SGD) */
  readonly vm: number | null;
  /** |V_L|: per-episode learned variables (LSTM states; network weights for SGD) */
  readonly vl: number | null;
}

/** Anything that can learn online on a stream: a VSML V_M, a baseline. */
export interface Learner {
  /** machine name, e.g. `vsml-scratch`, `adam-mlp` */
  readonly name: string;
  /** what a person reads in plots and tables */
  readonly label: string;
  /** whether it can predict on held-out data without learning from it (SGD/Adam: yes; VSML, Meta RNN: no) */
  readonly canPredictWithoutLearning: boolean;
  /** |V_M| and |V_L| for input size D and C classes */
  counts(dim: number, numClasses: number): LearnerCounts;
  /** null when the learner can run on D inputs and C classes, else the reason (e.g. a fixed input size) */
  unsupported?(dim: number, numClasses: number): string | null;
  /** Runs P independent online episodes (predict x_t, then learn from its error). */
  runEpisodes(batch: EpisodeBatch, opts: RunEpisodesOptions): Promise<LearnerRun>;
}

/** The result JSON: one schema for every package, defined in core. */
export { MetaTestResultSchema };
export type { MetaTestResult };

/** The data side of a meta-test (strict; JSON-able). */
export const MetaTestConfigSchema = z.strictObject({
  /** dataset name from the @vsml/datasets registry (`mnist`, `fashion_mnist`, `idx:<dir>`, ...) */
  dataset: z.string().min(1),
  /** split the online streams come from (official: test) */
  split: z.enum(['train', 'test']).default('test'),
  /** preprocessing spec (@vsml/datasets `PreprocessSpecSchema`), e.g. `{resize: [7, 7]}` */
  preprocess: z.record(z.string(), z.unknown()).default({}),
  /** T: steps per online episode */
  steps: z.number().int().positive(),
  /** one stream and initial state per seed; at least 5 (mean ± std over seeds) */
  seeds: z.array(z.number().int().nonnegative()).min(5).default([1, 2, 3, 4, 5]),
  /** seeds run side by side in one call (default: all) */
  population: z.number().int().positive().nullable().default(null),
  /** held-out accuracy every this many steps (and after the last step); null = off */
  testEvery: z.number().int().positive().nullable().default(null),
  /** held-out images (from the other split) */
  testCount: z.number().int().positive().default(1000),
  /** the command line that produced the result (filled by the caller) */
  command: z.string().default(''),
});
/** A validated meta-test config. */
export type MetaTestConfig = z.output<typeof MetaTestConfigSchema>;
/** A meta-test config as written. */
export type MetaTestConfigInput = z.input<typeof MetaTestConfigSchema>;

/** Streams for a meta-test: one episode per seed, stacked `[T, S, D]`. Same config → same numbers for every learner. */
export function metaTestStreams(cfg: MetaTestConfig): EpisodeBatch {
  const S = cfg.seeds.length;
  const T = cfg.steps;
  let D = 0;
  let C = 0;
  let x: Float32Array | null = null;
  let y: Int32Array | null = null;
  cfg.seeds.forEach((seed, s) => {
    const sampler = openEpisodeSampler({
      dataset: cfg.dataset,
      split: cfg.split,
      population: 1,
      length: T,
      seed,
      preprocess: cfg.preprocess as PreprocessSpecInput,
    });
    const ep = sampler.episode(0);
    if (x === null) {
      D = sampler.dim;
      C = sampler.numClasses;
      x = new Float32Array(T * S * D);
      y = new Int32Array(T * S);
    }
    for (let t = 0; t < T; t++) {
      x!.set(ep.x.subarray(t * D, (t + 1) * D), (t * S + s) * D);
      y![t * S + s] = ep.y[t]!;
    }
  });
  return { x: x!, y: y!, steps: T, population: S, dim: D, numClasses: C };
}

/** Steps at which held-out accuracy is measured: every `every` steps (1-based counts) and after the last. */
export function heldOutSteps(T: number, every: number): number[] {
  const out: number[] = [];
  for (let n = every; n < T; n += every) out.push(n - 1);
  out.push(T - 1);
  return out;
}

function meanStd(values: ArrayLike<number>): { mean: number; std: number } {
  const n = values.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += values[i]!;
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (values[i]! - m) ** 2;
  return { mean: m, std: Math.sqrt(v / n) };
}

/** Per-seed curves and scalars from `[T, S]` correctness (exported for tests and for callers with their own runs). */
export function summariseRun(correct: Float32Array, loss: Float32Array, T: number, S: number): {
  onlineAccuracy: { mean: number[]; std: number[] };
  summary: Record<string, { mean: number; std: number }>;
} {
  const cum = new Float64Array(S);
  const mean: number[] = [];
  const std: number[] = [];
  const at = new Map<number, Float64Array>();
  const keep = new Set([99, 499, 999, 1999, T - 1]);
  const per = new Float64Array(S);
  for (let t = 0; t < T; t++) {
    for (let s = 0; s < S; s++) {
      cum[s] = cum[s]! + correct[t * S + s]!;
      per[s] = cum[s]! / (t + 1);
    }
    const ms = meanStd(per);
    mean.push(ms.mean);
    std.push(ms.std);
    if (keep.has(t)) at.set(t, Float64Array.from(per));
  }
  const summary: Record<string, { mean: number; std: number }> = {};
  for (const n of [100, 500, 1000, 2000]) {
    const v = at.get(n - 1);
    if (v && n <= T) summary[`online@${n}`] = meanStd(v);
  }
  summary['online'] = meanStd(at.get(T - 1)!);
  const K = Math.min(100, T);
  const last = new Float64Array(S);
  const final = new Float64Array(S);
  const lossMean = new Float64Array(S);
  for (let s = 0; s < S; s++) {
    for (let t = T - K; t < T; t++) last[s] = last[s]! + correct[t * S + s]! / K;
    final[s] = correct[(T - 1) * S + s]!;
    for (let t = 0; t < T; t++) lossMean[s] = lossMean[s]! + loss[t * S + s]! / T;
  }
  summary['last100'] = meanStd(last);
  summary['final'] = meanStd(final);
  summary['loss'] = meanStd(lossMean);
  return { onlineAccuracy: { mean, std }, summary };
}

/** Options of {@link metaTest}: the learner plus a {@link MetaTestConfigInput}. */
export type MetaTestOptions = MetaTestConfigInput & {
  readonly learner: Learner;
  /** streams already built by {@link metaTestStreams} for the same config (saves rebuilding them per learner) */
  readonly streams?: EpisodeBatch;
};

/**
 * Runs one learner on the meta-test streams of a dataset and returns the result JSON (see module comment).
 * @throws MetatrainError `BAD_CONFIG` (invalid config, fewer than 5 seeds), `UNSUPPORTED` (the learner cannot run on
 *   this input/class size)
 */
export async function metaTest(opts: MetaTestOptions): Promise<MetaTestResult> {
  const { learner, streams, ...rest } = opts;
  const cfg = parseConfig(MetaTestConfigSchema, rest, 'metaTest');
  const all = streams ?? metaTestStreams(cfg);
  const S = cfg.seeds.length;
  const T = cfg.steps;
  if (all.population !== S || all.steps !== T) {
    throw new MetatrainError('SHAPE_MISMATCH', `metaTest: streams are [${all.steps}, ${all.population}], config wants [${T}, ${S}]`);
  }
  const { dim: D, numClasses: C } = all;
  const why = learner.unsupported?.(D, C) ?? null;
  if (why !== null) throw new MetatrainError('UNSUPPORTED', `metaTest: learner '${learner.name}' cannot run on ${cfg.dataset} (D=${D}, C=${C}): ${why}`);

  let heldOut: HeldOutSet | undefined;
  if (cfg.testEvery !== null && learner.canPredictWithoutLearning) {
    const other = cfg.split === 'test' ? 'train' : 'test';
    const ev = evaluationSet(loadDataset(cfg.dataset, { split: other }), cfg.preprocess as PreprocessSpecInput, { count: cfg.testCount });
    heldOut = { x: ev.x, y: ev.y, count: cfg.testCount, atSteps: heldOutSteps(T, cfg.testEvery) };
  }

  const chunk = cfg.population ?? S;
  const correct = new Float32Array(T * S);
  const loss = new Float32Array(T * S);
  const held = heldOut ? new Float32Array(heldOut.atSteps.length * S) : null;
  for (let s0 = 0; s0 < S; s0 += chunk) {
    const n = Math.min(chunk, S - s0);
    const part = n === S ? all : sliceMembers(all, s0, n);
    const r = await learner.runEpisodes(part, { seeds: cfg.seeds.slice(s0, s0 + n), ...(heldOut ? { heldOut } : {}) });
    if (r.correct.length !== T * n || r.loss.length !== T * n) {
      throw new MetatrainError('SHAPE_MISMATCH', `metaTest: learner '${learner.name}' returned ${r.correct.length} correctness values, expected T·P = ${T * n}`);
    }
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < n; i++) {
        correct[t * S + s0 + i] = r.correct[t * n + i]!;
        loss[t * S + s0 + i] = r.loss[t * n + i]!;
      }
    }
    if (held && heldOut && r.heldOutAccuracy) {
      for (let k = 0; k < heldOut.atSteps.length; k++) for (let i = 0; i < n; i++) held[k * S + s0 + i] = r.heldOutAccuracy[k * n + i]!;
    }
  }

  const { onlineAccuracy, summary } = summariseRun(correct, loss, T, S);
  let testAccuracy: MetaTestResult['testAccuracy'] = null;
  if (held && heldOut) {
    const mean: number[] = [];
    const std: number[] = [];
    for (let k = 0; k < heldOut.atSteps.length; k++) {
      const ms = meanStd(held.subarray(k * S, (k + 1) * S));
      mean.push(ms.mean);
      std.push(ms.std);
    }
    testAccuracy = { steps: heldOut.atSteps.map((s) => s + 1), mean, std };
    summary['test'] = { mean: mean[mean.length - 1]!, std: std[std.length - 1]! };
  }
  const counts = learner.counts(D, C);
  return {
    kind: 'vsml-metatest',
    version: 1,
    learner: learner.name,
    label: learner.label,
    dataset: cfg.dataset,
    steps: T,
    seeds: [...cfg.seeds],
    onlineAccuracy,
    testAccuracy,
    summary,
    vmCount: counts.vm,
    vlCount: counts.vl,
    command: cfg.command,
  };
}

/** Members `[s0, s0+n)` of a batch. */
export function sliceMembers(b: EpisodeBatch, s0: number, n: number): EpisodeBatch {
  const { steps: T, population: P, dim: D } = b;
  const x = new Float32Array(T * n * D);
  const y = new Int32Array(T * n);
  for (let t = 0; t < T; t++) {
    x.set(b.x.subarray((t * P + s0) * D, (t * P + s0 + n) * D), t * n * D);
    y.set(b.y.subarray(t * P + s0, t * P + s0 + n), t * n);
  }
  return { ...b, x, y, population: n };
}

/** Checks that a batch's arrays fit its declared shape. */
export function checkBatch(b: EpisodeBatch, where: string): void {
  const { steps: T, population: P, dim: D, numClasses: C } = b;
  if (b.x.length !== T * P * D || b.y.length !== T * P) {
    throw new MetatrainError('SHAPE_MISMATCH', `${where}: x has ${b.x.length} values and y ${b.y.length}, expected T·P·D = ${T * P * D} and T·P = ${T * P}`);
  }
  for (let i = 0; i < b.y.length; i++) {
    const v = b.y[i]!;
    if (v < 0 || v >= C) throw new MetatrainError('SHAPE_MISMATCH', `${where}: label ${v} at index ${i} is outside [0, ${C})`);
  }
}
