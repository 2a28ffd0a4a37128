/**
 * The outer loop (learned_optimization's `GradientLearner`): per meta-step, ask the estimator for the mean meta-loss
 * and a gradient (or a new θ), apply the outer optimiser (clip + Adam), log a metrics record, report progress with
 * an ETA, periodically meta-test θ and write checkpoints.
 *
 * Determinism and resume: step s draws its estimator seed from the outer generator (`Rng.fromSeed(seed, 'outer')`,
 * one `uint32` per step) and its tasks from (task seed, s). A checkpoint holds θ (float32), the optimiser moments,
 * the estimator's state, the generator state, the step and the elapsed time, so N steps straight and N/2 steps +
 * resume + N/2 steps give bit-identical θ (tested). Metrics records carry `step` = completed steps; after a resume
 * the caller cuts its log back to the checkpoint's step.
 */
import { Rng, type RngState } from '@vsml/rng';
import { z } from 'zod';
import { loadTrainCheckpoint, saveTrainCheckpoint, saveVmCheckpoint, type TrainCheckpoint } from './checkpoint.js';
import { MetatrainError, parseConfig } from './errors.js';
import type { Estimator } from './estimators/types.js';
import { metaTest, type MetaTestConfigInput, type MetaTestResult } from './metatest.js';
import type { MetaModel, MetaParams } from './model.js';
import { OuterOptimizerSchema, optimizerInit, optimizerStep, type OptimizerState } from './optim.js';

/** Outer-loop settings (strict). */
export const OuterConfigSchema = z.strictObject({
  /** total meta-steps (a resumed run continues up to this number) */
  steps: z.number().int().positive(),
  /** seed of the outer generator and of θ's initialisation */
  seed: z.number().int().nonnegative().default(0),
  /** outer optimiser (default: Adam 1e-3, clip 25 = official backprop config) */
  optimizer: OuterOptimizerSchema.prefault({}),
  /** write the training checkpoint every this many steps (and at the end); null = only at the end */
  checkpointEvery: z.number().int().positive().nullable().default(null),
  /** keep a copy `<path>.step<N>` of every periodic checkpoint (default false: overwrite) */
  keepCheckpoints: z.boolean().default(false),
  /** meta-test θ every this many steps (and at the end); null = never */
  metaTestEvery: z.number().int().positive().nullable().default(null),
  /** stop when the wall time of this session exceeds this many seconds (checkpoint first); null = no limit */
  maxSeconds: z.number().positive().nullable().default(null),
  /** stop when the run's total wall time (all sessions, from the checkpoint) exceeds this many seconds; null = no limit */
  maxTotalSeconds: z.number().positive().nullable().default(null),
});
/** Validated outer-loop settings. */
export type OuterConfig = z.output<typeof OuterConfigSchema>;
/** Outer-loop settings as written. */
export type OuterConfigInput = z.input<typeof OuterConfigSchema>;

/** One metrics record (JSON line). */
export type MetricsRecord = Record<string, unknown> & { kind: 'train' | 'metatest' | 'checkpoint'; step: number };

/** Progress with ETA, reported after every step. */
export interface ProgressInfo {
  /** completed steps */
  readonly step: number;
  readonly totalSteps: number;
  /** wall time of the whole run (all sessions) */
  readonly elapsedSeconds: number;
  /** mean seconds per step in this session */
  readonly secondsPerStep: number;
  /** estimated seconds to `totalSteps` */
  readonly etaSeconds: number;
  /** meta-loss of the last step, and its running mean over the last 50 steps */
  readonly loss: number;
  readonly lossAvg: number;
}

/** Options of {@link metaTrain}. */
export interface MetaTrainOptions {
  readonly model: MetaModel;
  readonly estimator: Estimator;
  /** the task family config (stored in checkpoints and compared on resume) */
  readonly tasks: unknown;
  readonly config: OuterConfigInput;
  /** θ to start from (default: `model.initVector(config.seed)`) */
  readonly initialTheta?: MetaParams;
  /** training checkpoint file (kind `train`); a `vm` checkpoint goes to `<dir>/<name>.vm.json` */
  readonly checkpointPath?: string;
  /** continue from this training checkpoint (usually `checkpointPath`) */
  readonly resumeFrom?: string;
  /** meta-test configs run with `model.learner(θ)` every `metaTestEvery` steps */
  readonly metaTests?: readonly MetaTestConfigInput[];
  /** name/label of θ as a learner in meta-test results */
  readonly learnerName?: string;
  readonly onMetrics?: (record: MetricsRecord) => void | Promise<void>;
  readonly onProgress?: (p: ProgressInfo) => void;
  readonly onCheckpoint?: (info: { path: string; step: number }) => void;
  readonly onMetaTest?: (result: MetaTestResult, step: number) => void | Promise<void>;
  /** stop after the current step (a checkpoint is written first) */
  readonly signal?: AbortSignal;
  /** command line recorded in checkpoints and results */
  readonly command?: string;
}

/** What {@link metaTrain} returns. */
export interface MetaTrainResult {
  readonly theta: MetaParams;
  /** completed steps */
  readonly step: number;
  readonly elapsedSeconds: number;
  /** why it stopped */
  readonly stopped: 'done' | 'aborted' | 'maxSeconds';
}

const K_OUTER = 0x6f757465; // 'oute'

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function vmPath(p: string): string {
  return p.endsWith('.json') ? `${p.slice(0, -5)}.vm.json` : `${p}.vm.json`;
}

/** Runs the outer loop (see module comment). */
export async function metaTrain(opts: MetaTrainOptions): Promise<MetaTrainResult> {
  const cfg = parseConfig(OuterConfigSchema, opts.config, 'metaTrain config');
  const { model, estimator } = opts;
  const command = opts.command ?? 'metaTrain';
  let theta: MetaParams;
  let opt: OptimizerState;
  let rng: Rng;
  let step = 0;
  let elapsedBefore = 0;
  let recentBefore: number[] = [];

  if (opts.resumeFrom !== undefined) {
    const ck = await loadTrainCheckpoint(opts.resumeFrom, model);
    if (!sameJson(ck.state.model, model.describe())) {
      throw new MetatrainError('RESUME_MISMATCH', `resume: ${opts.resumeFrom} was written for another model`, {
        details: { checkpoint: ck.state.model, run: model.describe() },
      });
    }
    if (ck.state.estimatorName !== estimator.name) {
      throw new MetatrainError('RESUME_MISMATCH', `resume: ${opts.resumeFrom} was written by estimator '${ck.state.estimatorName}', this run uses '${estimator.name}'`);
    }
    if (!sameJson(ck.state.tasks, opts.tasks)) {
      throw new MetatrainError('RESUME_MISMATCH', `resume: ${opts.resumeFrom} was written for another task family`, { details: { checkpoint: ck.state.tasks, run: opts.tasks } });
    }
    theta = Float32Array.from(ck.theta);
    opt = { m: Float64Array.from(ck.state.outer.m), v: Float64Array.from(ck.state.outer.v), t: ck.state.outer.t };
    rng = Rng.fromState(ck.rng);
    step = ck.step;
    elapsedBefore = ck.state.elapsedSeconds;
    recentBefore = [...(ck.state.recentLosses ?? [])];
    if (ck.state.estimator !== null && ck.state.estimator !== undefined) estimator.restore?.(ck.state.estimator);
  } else {
    theta = Float32Array.from(opts.initialTheta ?? model.initVector(cfg.seed));
    if (theta.length !== model.size) throw new MetatrainError('SHAPE_MISMATCH', `metaTrain: initial θ has ${theta.length} entries, the model ${model.size}`);
    opt = optimizerInit(model.size);
    rng = Rng.fromSeed(cfg.seed, K_OUTER);
  }

  const t0 = performance.now();
  const sessionStart = step;
  const elapsed = (): number => elapsedBefore + (performance.now() - t0) / 1000;
  // the running mean of the metrics (`lossAvg`) continues across a resume: its window is in the checkpoint
  const recent: number[] = recentBefore;
  // the step of the last checkpoint written (or resumed from): a stop right after a periodic checkpoint writes no second one
  let checkpointedAt = opts.resumeFrom !== undefined ? step : -1;

  const checkpoint = async (record = true): Promise<void> => {
    if (opts.checkpointPath === undefined) return;
    checkpointedAt = step;
    const ck: TrainCheckpoint = {
      theta,
      step,
      rng: rng.state() as RngState,
      state: {
        model: model.describe(),
        tasks: opts.tasks,
        estimatorName: estimator.name,
        outer: { type: cfg.optimizer.type, m: opt.m, v: opt.v, t: opt.t },
        estimator: estimator.state?.() ?? null,
        elapsedSeconds: elapsed(),
        recentLosses: [...recent],
      },
      provenance: { command, seed: cfg.seed, step, learner: opts.learnerName ?? model.kind },
    };
    // the record goes first: a resumed run keeps the records up to its checkpoint's step, so the record of a
    // checkpoint whose write was killed is dropped with it, and one whose write completed is never written twice
    if (record) await opts.onMetrics?.({ kind: 'checkpoint', step, path: opts.checkpointPath, elapsedSeconds: elapsed() });
    await saveTrainCheckpoint(opts.checkpointPath, model, ck);
    await saveVmCheckpoint(vmPath(opts.checkpointPath), model, theta, step, { command, seed: cfg.seed });
    if (cfg.keepCheckpoints) {
      await saveTrainCheckpoint(`${opts.checkpointPath}.step${step}`, model, ck);
    }
    opts.onCheckpoint?.({ path: opts.checkpointPath, step });
  };

  const runMetaTests = async (): Promise<void> => {
    if (!opts.metaTests || opts.metaTests.length === 0) return;
    const learner = model.learner(theta, { name: opts.learnerName ?? model.kind });
    for (const mt of opts.metaTests) {
      const r = await metaTest({ ...mt, learner, command });
      const rec: MetricsRecord = { kind: 'metatest', step, dataset: r.dataset, steps: r.steps, elapsedSeconds: elapsed() };
      for (const [k, v] of Object.entries(r.summary)) {
        rec[k] = v.mean;
        rec[`${k}.std`] = v.std;
      }
      await opts.onMetrics?.(rec);
      await opts.onMetaTest?.(r, step);
    }
  };

  let stopped: MetaTrainResult['stopped'] = 'done';
  try {
    while (step < cfg.steps) {
      // yield to the event loop once per step: signal handlers (SIGINT/SIGTERM → abort) and timers run here
      await new Promise<void>((r) => setImmediate(r));
      if (opts.signal?.aborted) {
        stopped = 'aborted';
        break;
      }
      if (cfg.maxSeconds !== null && (performance.now() - t0) / 1000 > cfg.maxSeconds) {
        stopped = 'maxSeconds';
        break;
      }
      if (cfg.maxTotalSeconds !== null && elapsed() > cfg.maxTotalSeconds) {
        stopped = 'maxSeconds';
        break;
      }
      const tStep = performance.now();
      const seed = rng.uint32();
      const out = await estimator.estimate(theta, { step, seed });
      let gradNorm = Number.NaN;
      if (out.grad) gradNorm = optimizerStep(cfg.optimizer, opt, theta, out.grad);
      else if (out.theta) theta = Float32Array.from(out.theta);
      else throw new MetatrainError('BAD_ARGUMENT', `estimator '${estimator.name}' returned neither a gradient nor θ`);
      if (!theta.every(Number.isFinite)) throw new MetatrainError('NOT_FINITE', `metaTrain: θ became non-finite at step ${step}`);
      step++;
      recent.push(out.meanLoss);
      if (recent.length > 50) recent.shift();
      const lossAvg = recent.reduce((a, b) => a + b, 0) / recent.length;
      const now = performance.now();
      const sps = (now - t0) / 1000 / (step - sessionStart);
      await opts.onMetrics?.({
        kind: 'train',
        step,
        loss: out.meanLoss,
        lossAvg,
        gradNorm,
        seconds: (now - tStep) / 1000,
        elapsedSeconds: elapsed(),
        ...out.metrics,
      });
      opts.onProgress?.({ step, totalSteps: cfg.steps, elapsedSeconds: elapsed(), secondsPerStep: sps, etaSeconds: sps * (cfg.steps - step), loss: out.meanLoss, lossAvg });
      if (cfg.metaTestEvery !== null && step % cfg.metaTestEvery === 0 && step < cfg.steps) await runMetaTests();
      if (cfg.checkpointEvery !== null && step % cfg.checkpointEvery === 0 && step < cfg.steps) await checkpoint();
    }
    // the final checkpoint (always rewritten when done: a kill may have hit the V_M file of the last one), or the
    // stop checkpoint unless the step was just checkpointed. A stop checkpoint writes no metrics record: the records
    // of a stopped and resumed run are those of an uninterrupted one (the stop shows in the run's status)
    if (stopped === 'done' || checkpointedAt !== step) await checkpoint(stopped === 'done' && checkpointedAt !== step);
    if (cfg.metaTestEvery !== null && stopped === 'done') await runMetaTests();
  } finally {
    await estimator.close?.();
  }
  return { theta, step, elapsedSeconds: elapsed(), stopped };
}
