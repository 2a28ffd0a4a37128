/**
 * `vsml metatrain`: meta-trains a learning algorithm from scratch (VSML, or the Meta RNN baseline with
 * `--model meta-rnn`) with meta-gradients (`--method grad`), OpenAI-ES (`es`) or sep-CMA-ES (`cma`). Writes a run
 * directory with the resolved config, metrics.jsonl, periodic meta-tests, atomic checkpoints, the final `V_M`
 * checkpoint (`vm.json`, with provenance) and the report. `--resume <dir>` continues a killed run from its last
 * checkpoint with the same results as an uninterrupted run.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import * as mt from '@vsml/metatrain';
import { buildReport } from '../report/build.js';
import { createRunDir, finishRun, openRunDir, writeJsonAtomic, type RunDir } from '../runs/run-dir.js';
import { MetricsLog } from '../runs/metrics.js';
import { createProgress } from '../runs/progress.js';
import { loadPreset, MetatrainSectionSchema, type MetatrainSection } from '../config/presets.js';
import { guardRun, integer, interruptible, testKillHook, positiveInt, recordBackend, runOptions, stdout, type Out, type RunCliOptions } from './common.js';

export interface MetatrainCliOptions extends RunCliOptions {
  model?: 'vsml' | 'meta-rnn';
  method?: 'grad' | 'es' | 'cma';
  steps?: number;
  name?: string;
}

/** Applies the command-line overrides to a preset section. */
export function resolveSection(section: MetatrainSection, o: MetatrainCliOptions): MetatrainSection {
  const s: MetatrainSection = structuredClone(section);
  if (o.seed !== undefined) {
    s.outer.seed = o.seed;
    s.tasks.seed = o.seed;
  }
  if (o.steps !== undefined) s.outer.steps = o.steps;
  if (o.name !== undefined) s.name = o.name;
  if (o.method === 'grad' && s.estimator.kind !== 'full-grad') s.estimator = { kind: 'full-grad', engine: 'wasm', segmentSteps: 25 };
  if (o.method === 'es' && s.estimator.kind !== 'es') {
    // the official ES settings: antithetic pairs, σ 0.05, raw loss differences, Adam 0.025 without clipping
    s.estimator = { kind: 'es', pairs: 32, sigma: 0.05, shaping: 'none', engine: 'wasm', workers: true, threads: 2 };
    s.outer.optimizer = { ...s.outer.optimizer, type: 'adam', lr: 0.025, clipGradNorm: 0 };
  }
  if (o.method === 'cma' && s.estimator.kind !== 'cma') s.estimator = { kind: 'cma', popSize: 32, sigma0: 0.05, episodes: 1, engine: 'wasm' };
  return MetatrainSectionSchema.parse(s);
}

function buildEstimator(section: MetatrainSection, model: mt.MetaModel, tasks: mt.TaskFamily): { estimator: mt.Estimator; close: () => Promise<void> } {
  const e = section.estimator;
  if (e.kind === 'full-grad') {
    const engine = e.engine === 'wasm' ? (model.kind === 'meta-rnn' ? mt.createMetaRnnGradEngine(model) : mt.createFastGradEngine(model)) : undefined;
    return { estimator: mt.fullGradEstimator({ model, tasks, segmentSteps: e.segmentSteps, ...(engine ? { engine } : {}) }), close: async () => {} };
  }
  const evaluator: mt.Evaluator =
    e.kind === 'es' && e.workers
      ? new mt.WorkerEvaluator({ model: model.describe(), tasks: section.tasks, threads: e.threads, engine: e.engine })
      : e.engine === 'wasm'
        ? new mt.FastEvaluator(model, tasks)
        : new mt.InProcessEvaluator(model, tasks);
  const estimator =
    e.kind === 'es'
      ? mt.esEstimator({ evaluator, pairs: e.pairs, sigma: e.sigma, shaping: e.shaping })
      : mt.sepCmaEstimator({ evaluator, popSize: e.popSize, sigma0: e.sigma0, episodes: e.episodes, seed: section.outer.seed });
  return { estimator, close: () => evaluator.close() };
}

/**
 * Copies a V_M checkpoint into the run directory's `vm.json`, adding to its provenance what the library does not know:
 * the git commit the run started from (and whether the tree was dirty), the package versions and the run directory.
 */
export function stampProvenance(src: string, dest: string, run: RunDir): void {
  const ck = JSON.parse(fs.readFileSync(src, 'utf8')) as { provenance?: Record<string, unknown> };
  ck.provenance = {
    ...(ck.provenance ?? {}),
    commit: run.info.commit,
    dirty: run.info.dirty,
    versions: run.info.versions,
    runDir: run.dir,
    startedAt: run.info.createdAt,
  };
  writeJsonAtomic(dest, ck);
}

/** Runs (or resumes) a meta-training run; returns the run directory. */
export async function runMetatrain(o: MetatrainCliOptions, out: Out = stdout): Promise<string> {
  const commandLine = o.commandLine ?? `vsml ${process.argv.slice(2).join(' ')}`;
  let run: RunDir;
  let section: MetatrainSection;
  let resumeFrom: string | undefined;
  if (o.resume) {
    const opened = openRunDir(o.resume, 'metatrain');
    run = opened;
    section = MetatrainSectionSchema.parse(opened.config);
    const ckpt = run.file('checkpoint.json');
    if (fs.existsSync(ckpt)) resumeFrom = ckpt;
  } else {
    const { preset, source } = loadPreset(o);
    const key = o.model === 'meta-rnn' ? 'metarnn' : 'metatrain';
    const base = preset[key];
    if (!base) throw new Error(`${source} has no '${key}' section`);
    section = resolveSection(base, o);
    run = createRunDir({
      command: 'metatrain',
      name: section.name,
      seed: section.outer.seed,
      config: section,
      ...(o.out ? { out: o.out } : {}),
      ...(o.backend ? { backend: o.backend } : {}),
    });
  }
  return guardRun(run, async () => {
    await recordBackend(run, o.backend);

    const model = mt.modelFromDescription(section.model);
    const tasks = new mt.TaskFamily(section.tasks);
    const { estimator, close } = buildEstimator(section, model, tasks);
    // a run killed before its first checkpoint starts over: its metrics are cut back to step 0
    const resumeStep = resumeFrom ? Number((JSON.parse(fs.readFileSync(resumeFrom, 'utf8')) as { step?: number }).step ?? 0) : o.resume ? 0 : undefined;
    const log = MetricsLog.open(run.file('metrics.jsonl'), resumeStep !== undefined ? { keepUpToStep: resumeStep } : {});
    fs.mkdirSync(run.file('metatests'), { recursive: true });
    const progress = createProgress('metatrain', section.outer.steps, { start: resumeStep ?? 0, ...(o.quiet ? { quiet: true } : {}) });
    const stop = interruptible(o.signal);
    if (resumeFrom) out.write(`resuming ${run.dir} from step ${resumeStep}\n`);
    else out.write(`run directory: ${run.dir}\n`);
    try {
      const result = await mt.metaTrain({
        model,
        estimator,
        tasks: section.tasks,
        config: section.outer,
        checkpointPath: run.file('checkpoint.json'),
        ...(resumeFrom ? { resumeFrom } : {}),
        metaTests: section.metaTests,
        learnerName: section.name,
        command: commandLine,
        signal: stop.signal,
        onMetrics: (r) => log.append(r),
        onProgress: (p) => {
          progress.update(p.step, { loss: p.lossAvg, 's/step': p.secondsPerStep });
          o.onStep?.(p.step);
          testKillHook(p.step);
        },
        onMetaTest: (r, step) => {
          writeJsonAtomic(path.join(run.file('metatests'), `${r.learner}-${r.dataset}-step${String(step).padStart(6, '0')}.json`), r);
        },
      });
      progress.stop();
      if (result.stopped !== 'done') {
        out.write(`stopped (${result.stopped}) at step ${result.step}; continue with: vsml metatrain --resume ${run.dir}\n`);
        finishRun(run, 'interrupted');
        return run.dir;
      }
      // the final V_M checkpoint written by metaTrain sits next to the training checkpoint
      const vm = run.file('checkpoint.vm.json');
      if (fs.existsSync(vm)) stampProvenance(vm, run.file('vm.json'), run);
      finishRun(run, 'completed');
      await buildReport([run.dir], run.dir, `vsml metatrain: ${section.name}`);
      out.write(`done: ${result.step} steps in ${(result.elapsedSeconds / 60).toFixed(1)} min; V_M: ${run.file('vm.json')}; report: ${run.file('report.html')}\n`);
      return run.dir;
    } finally {
      stop.dispose();
      await close();
    }
  });
}

export function registerMetatrain(program: Command): void {
  const cmd = program
    .command('metatrain')
    .description('meta-train a learning algorithm from scratch (VSML or the Meta RNN baseline)')
    .option('--model <kind>', 'vsml | meta-rnn', 'vsml')
    .option('--method <name>', 'grad (meta-gradients) | es (OpenAI-ES) | cma (sep-CMA-ES); default: the preset\'s')
    .option('--seed <n>', 'seed of V_M init, the outer loop and the task stream', integer('--seed'))
    .option('--steps <n>', 'meta-steps', positiveInt('--steps'))
    .option('--name <name>', 'run and learner name');
  runOptions(cmd, 'metatrain').action(async (o: MetatrainCliOptions) => {
      if (o.model !== 'vsml' && o.model !== 'meta-rnn') throw new Error(`--model must be vsml or meta-rnn, got '${String(o.model)}'`);
      if (o.method !== undefined && !['grad', 'es', 'cma'].includes(o.method)) throw new Error(`--method must be grad, es or cma, got '${o.method}'`);
      await runMetatrain(o);
    });
}
