/**
 * `vsml clone`: runs the backprop-cloning curriculum of @vsml/clone (random data, then shallow and deep networks on
 * MNIST) and writes a run directory: the resolved preset, metrics.jsonl (forward, backward and update errors relative
 * to the targets' scale), the resumable training checkpoint, `vm-<stage>.json` after each stage, `vm.json` (the
 * final V_M with provenance) and the report. `--resume <dir>` continues a killed run from its last checkpoint.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import * as clone from '@vsml/clone';
import { loadCheckpoint, saveCheckpoint } from '@vsml/core';
import { buildReport } from '../report/build.js';
import { createRunDir, finishRun, openRunDir, type RunDir } from '../runs/run-dir.js';
import { MetricsLog } from '../runs/metrics.js';
import { createProgress } from '../runs/progress.js';
import { loadPreset } from '../config/presets.js';
import { loadClonedVm, resolveClonePreset } from './clone-setup.js';
import { guardRun, integer, interruptible, testKillHook, list, recordBackend, runOptions, setupBackend, stdout, type Out, type RunCliOptions } from './common.js';
import { cloneUpdateScatterSpec, renderSvg } from '../report/charts.js';
import { stampProvenance } from './metatrain.js';

export interface CloneCliOptions extends RunCliOptions {
  /** run only these stages of the curriculum (in preset order) */
  stages?: string[];
  /** start from this V_M checkpoint instead of the official init */
  init?: string;
  /** print the cloning errors of this V_M checkpoint on fresh random data (no training, no run directory) */
  eval?: string;
  /** with `eval`: write a scatter plot of the clone's Δw against the target Δw (SVG) */
  plot?: string;
}

/** What a clone run directory's `config.json` holds. */
interface CloneRunConfig {
  preset: clone.ClonePreset;
  stages: string[] | null;
  init: string | null;
}

/** Runs (or resumes) the cloning curriculum; returns the run directory. */
export async function runClone(o: CloneCliOptions, out: Out = stdout): Promise<string> {
  const commandLine = o.commandLine ?? `vsml ${process.argv.slice(2).join(' ')}`;
  let run: RunDir;
  let cfg: CloneRunConfig;
  let resume: Awaited<ReturnType<typeof loadCheckpoint>> | undefined;
  if (o.resume) {
    const opened = openRunDir(o.resume, 'clone');
    run = opened;
    const raw = opened.config as CloneRunConfig;
    cfg = { ...raw, preset: clone.parseClonePreset(raw.preset) };
    if (fs.existsSync(run.file('checkpoint.json'))) resume = await guardRun(run, () => loadCheckpoint(run.file('checkpoint.json'), { kind: 'train' }));
  } else {
    const { preset, source } = loadPreset(o);
    cfg = { preset: resolveClonePreset(preset, source, o.seed), stages: o.stages ?? null, init: o.init ?? null };
    const known = cfg.preset.curriculum.map((s) => s.name);
    const unknown = (cfg.stages ?? []).filter((s) => !known.includes(s));
    if (unknown.length > 0) throw new Error(`unknown stage ${unknown.join(', ')} (the preset has ${known.join(', ')})`);
    run = createRunDir({ command: 'clone', name: cfg.preset.name, seed: cfg.preset.seed, config: cfg, ...(o.out ? { out: o.out } : {}), ...(o.backend ? { backend: o.backend } : {}) });
  }
  return guardRun(run, async () => {
    const backend = await recordBackend(run, o.backend);
    const initial = !resume && cfg.init ? (await loadClonedVm(cfg.init)).vm : undefined;

    const stages = cfg.preset.curriculum.filter((s) => !cfg.stages || cfg.stages.includes(s.name));
    const offsets = stages.map((_, i) => stages.slice(0, i).reduce((a, s) => a + s.iterations, 0));
    const total = stages.reduce((a, s) => a + s.iterations, 0);
    // a run killed before its first checkpoint starts over: its metrics are cut back to step 0
    const resumeStep = o.resume ? (resume?.step ?? 0) : undefined;
    const log = MetricsLog.open(run.file('metrics.jsonl'), resumeStep !== undefined ? { keepUpToStep: resumeStep } : {});
    const progress = createProgress('clone', total, { start: resumeStep ?? 0, ...(o.quiet ? { quiet: true } : {}) });
    const stop = interruptible(o.signal);
    out.write(resume ? `resuming ${run.dir} at step ${resumeStep}\n` : `run directory: ${run.dir}\n`);
    out.write(`backend ${backend.name}; preset ${cfg.preset.name}; stages ${stages.map((s) => `${s.name} (${s.iterations})`).join(', ')}\n`);
    let lastMetric: Record<string, number> = {};
    try {
      const r = await clone.runCurriculum({
        preset: cfg.preset,
        ...(resume ? { resume } : {}),
        ...(initial ? { initial } : {}),
        ...(cfg.stages ? { stages: cfg.stages } : {}),
        provenance: { command: commandLine, seed: cfg.preset.seed, commit: run.info.commit },
        callbacks: {
          onMetrics: (m) => {
            log.append({ ...m });
            lastMetric = { loss: m.loss, ...(typeof m['updWRel'] === 'number' ? { updWRel: m['updWRel'] } : {}) };
            o.onStep?.(m.step);
            testKillHook(m.step);
          },
          onProgress: (p) => progress.update((offsets[stages.findIndex((s) => s.name === p.stage)] ?? 0) + p.iteration, { stage: p.stage, ...lastMetric }),
          onCheckpoint: (c) => saveCheckpoint(run.file('checkpoint.json'), c),
          onStageEnd: (c, info) => saveCheckpoint(run.file(`vm-${info.stage}.json`), c),
          shouldStop: stop.stopped,
        },
      });
      progress.stop();
      if (r.stopped) {
        out.write(`stopped; continue with: vsml clone --resume ${run.dir}\n`);
        finishRun(run, 'interrupted');
        return run.dir;
      }
      const last = stages[stages.length - 1]!.name;
      stampProvenance(run.file(`vm-${last}.json`), run.file('vm.json'), run);
      finishRun(run, 'completed');
      await buildReport([run.dir], run.dir, `vsml clone: ${cfg.preset.name}`);
      out.write(`done: ${stages.map((s) => s.name).join(', ')}; V_M: ${run.file('vm.json')}; report: ${run.file('report.html')}\n`);
      return run.dir;
    } finally {
      stop.dispose();
    }
  });
}

/**
 * `vsml clone --eval <vm.json>`: the cloning errors of a V_M on fresh random sub-RNN situations of the preset's random
 * stage (its model options come from the checkpoint), in seconds, without training. Returns the evaluation.
 */
export async function evalClone(o: CloneCliOptions & { eval: string }, out: Out = stdout): Promise<clone.CloneEvaluation> {
  const { preset, source } = loadPreset(o);
  const base = resolveClonePreset(preset, source, o.seed);
  // the backend first: loading a checkpoint creates tensors
  const backend = await setupBackend(o.backend);
  const { vm, model } = await loadClonedVm(o.eval);
  // the checkpoint's model, and no init: the V_M is given (a clone made without the update circuit stays checkable)
  const merged = clone.parseClonePreset({ ...base, model: { ...base.model, ...model }, init: {} });
  const r = await clone.evaluateSubRnnClone({ vm, preset: merged });
  const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;
  out.write(`${o.eval}: ${r.rows} random sub-RNNs × ${r.steps} steps (preset ${base.name}, backend ${backend.name})\n`);
  out.write(`relative errors: forward ${pct(r.fwdRel)}, backward ${pct(r.bwdRel)}, bias update ${pct(r.updBRel)}, weight update ${pct(r.updWRel)}, hold ${pct(r.holdRel)}\n`);
  out.write(`weight update: gain ${r.updWGain.toFixed(3)}, correlation ${r.updWCorr.toFixed(3)}, error after the best rescaling ${pct(r.updWResidualRel)}\n`);
  for (const [name, bins] of Object.entries(r.bins)) {
    out.write(`  Δw by |${name}|: ${bins.map((b) => `[${b.lo}, ${b.hi}) ${pct(b.rel)} (gain ${b.gain.toFixed(2)})`).join('; ')}\n`);
  }
  const { samples: _samples, bins: _bins, ...numbers } = r;
  out.write(`${JSON.stringify({ kind: 'clone-eval', vm: o.eval, ...numbers })}\n`);
  if (o.plot) {
    fs.writeFileSync(o.plot, await renderSvg(cloneUpdateScatterSpec(r.samples, o.eval)));
    out.write(`plot: ${o.plot}\n`);
  }
  return r;
}

export function registerClone(program: Command): void {
  const cmd = program
    .command('clone')
    .description('clone backpropagation into V_M with the curriculum of @vsml/clone (writes vm.json)')
    .option('--seed <n>', 'seed of the V_M init and every cloning draw', integer('--seed'))
    .option('--stages <names>', 'comma-separated stages to run (default: the whole curriculum)', list)
    .option('--init <file>', 'start from this V_M checkpoint')
    .option('--eval <file>', 'no training: print the cloning errors of this V_M checkpoint on fresh random data')
    .option('--plot <file.svg>', 'with --eval: scatter plot of the clone\'s weight update against the target');
  runOptions(cmd, 'clone').action(async (o: CloneCliOptions) => {
    if (o.plot && !o.eval) throw new Error('--plot needs --eval');
    if (o.eval) await evalClone({ ...o, eval: o.eval });
    else await runClone(o);
  });
}
