/**
 * `vsml improve`: meta-optimises a cloned V_M with sep-CMA-ES (@vsml/clone's `improveClone`: fitness = the loss
 * at the end of an unrolled MNIST episode) and writes a run directory: the resolved spec, metrics.jsonl (one record
 * per generation: the unchanged clone, the CMA-ES mean and the population on the same episode), the resumable
 * checkpoint, `vm.json` (the final mean, with provenance), `vm-best.json` and the report. With `--metatest <suite>`
 * it meta-tests the clone before and after on the suite's datasets (learning curves next to each other).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import * as clone from '@vsml/clone';
import { loadCheckpoint, saveCheckpoint } from '@vsml/core';
import { buildReport } from '../report/build.js';
import { createRunDir, finishRun, openRunDir, type RunDir } from '../runs/run-dir.js';
import { MetricsLog } from '../runs/metrics.js';
import { createProgress } from '../runs/progress.js';
import { deepMerge, loadPreset } from '../config/presets.js';
import { cloneSuiteSpec, loadClonedVm, resolveClonePreset } from './clone-setup.js';
import { runCloneMetatest } from './clone-metatest.js';
import { guardRun, integer, interruptible, testKillHook, positiveInt, recordBackend, runOptions, stdout, type Out, type RunCliOptions } from './common.js';
import { stampProvenance } from './metatrain.js';

export interface ImproveCliOptions extends RunCliOptions {
  /** the cloned V_M to improve */
  vm?: string;
  generations?: number;
  /** clone meta-test suite to run before and after (e.g. `demo`, `shallow`) */
  metatest?: string;
  /** where the fitness episodes (and the meta-tests) run: `wasm` (default, the forward engine) or `tfjs` */
  cloneEngine?: string;
}

/** What an improve run directory's `config.json` holds. */
interface ImproveRunConfig {
  vm: string;
  spec: clone.ImproveSpec;
  emulation: clone.Emulation;
  metatest: { suite: string; spec: clone.MetaTestSpec } | null;
  /** absent in runs made before the option existed (they ran on tfjs) */
  cloneEngine?: clone.CloneEngine;
}

/** Runs (or resumes) CMA-ES on a cloned V_M; returns the run directory. */
export async function runImprove(o: ImproveCliOptions, out: Out = stdout): Promise<string> {
  const commandLine = o.commandLine ?? `vsml ${process.argv.slice(2).join(' ')}`;
  let run: RunDir;
  let cfg: ImproveRunConfig;
  let resume: Awaited<ReturnType<typeof loadCheckpoint>> | undefined;
  if (o.resume) {
    const opened = openRunDir(o.resume, 'improve');
    run = opened;
    cfg = opened.config as ImproveRunConfig;
    // a resumed run keeps its engine (the fitness values differ in float rounding between engines)
    if (o.cloneEngine !== undefined && clone.parseCloneEngine(o.cloneEngine, '--clone-engine') !== (cfg.cloneEngine ?? 'tfjs')) {
      throw new Error(`--clone-engine ${o.cloneEngine}: the run ${o.resume} runs on ${cfg.cloneEngine ?? 'tfjs'}; resume it without --clone-engine`);
    }
    if (fs.existsSync(run.file('checkpoint.json'))) resume = await guardRun(run, () => loadCheckpoint(run.file('checkpoint.json'), { kind: 'train' }));
  } else {
    if (!o.vm) throw new Error('vsml improve needs --vm <cloned V_M checkpoint> (or --resume <run-dir>)');
    const { preset, source } = loadPreset(o);
    const base = resolveClonePreset(preset, source);
    const over: Record<string, unknown> = {};
    if (o.seed !== undefined) over['seed'] = o.seed;
    if (o.generations !== undefined) over['generations'] = o.generations;
    const spec = clone.parseWith(clone.ImproveSchema, deepMerge(structuredClone(base.improve), over), 'improve');
    const metatest = o.metatest ? { suite: o.metatest, spec: cloneSuiteSpec(preset, source, o.metatest, base) } : null;
    cfg = { vm: path.resolve(o.vm), spec, emulation: base.emulation, metatest, cloneEngine: clone.parseCloneEngine(o.cloneEngine, '--clone-engine') };
    run = createRunDir({ command: 'improve', name: path.basename(o.vm, '.json'), seed: spec.seed, config: cfg, ...(o.out ? { out: o.out } : {}), ...(o.backend ? { backend: o.backend } : {}) });
  }
  return guardRun(run, async () => {
    const backend = await recordBackend(run, o.backend);
    const engine = cfg.cloneEngine ?? 'tfjs';
    const start = await loadClonedVm(cfg.vm);
    // a run killed before its first checkpoint starts over: its metrics are cut back to step 0
    const resumeStep = o.resume ? (resume?.step ?? 0) : undefined;
    const log = MetricsLog.open(run.file('metrics.jsonl'), resumeStep !== undefined ? { keepUpToStep: resumeStep } : {});
    const stop = interruptible(o.signal);
    out.write(resume ? `resuming ${run.dir} after generation ${resumeStep}\n` : `run directory: ${run.dir}\n`);
    out.write(`backend ${backend.name}, clone engine ${engine}; sep-CMA-ES on ${cfg.spec.params} of V_M from ${cfg.vm}: ${cfg.spec.generations} generations, λ ${cfg.spec.popSize}, σ0 ${cfg.spec.sigma0}, ${cfg.spec.steps}-step ${cfg.spec.dataset} episodes\n`);
    try {
      if (cfg.metatest && !resume) {
        await runCloneMetatest({ vm: start.vm, model: start.model, emulation: cfg.emulation, spec: cfg.metatest.spec, learner: { name: 'clone', label: 'cloned backprop (before CMA-ES)' }, command: commandLine, run, quiet: o.quiet, engine }, out);
      }
      const candidates = cfg.spec.popSize + 2;
      const progress = createProgress('improve', cfg.spec.generations * candidates, { start: (resumeStep ?? 0) * candidates, ...(o.quiet ? { quiet: true } : {}) });
      let last: Record<string, number> = {};
      const r = await clone.improveClone({
        vm: start.vm,
        model: start.model,
        emulation: cfg.emulation,
        spec: cfg.spec,
        engine,
        ...(resume ? { resume } : {}),
        provenance: { command: commandLine, seed: cfg.spec.seed, commit: run.info.commit },
        onGeneration: (g) => {
          log.append({ ...g, step: g.generation + 1 });
          last = { baseline: g.baseline, mean: g.meanFitness, best: g.best };
          o.onStep?.(g.generation + 1);
          testKillHook(g.generation + 1);
        },
        onProgress: (p) => progress.update(p.generation * candidates + p.candidate, { gen: p.generation, ...last }),
        onCheckpoint: (c) => saveCheckpoint(run.file('checkpoint.json'), c),
        shouldStop: stop.stopped,
      });
      progress.stop();
      if (r.stopped) {
        out.write(`stopped; continue with: vsml improve --resume ${run.dir}\n`);
        finishRun(run, 'interrupted');
        return run.dir;
      }
      const prov = { command: commandLine, seed: cfg.spec.seed, commit: run.info.commit, improvedFrom: cfg.vm };
      await saveCheckpoint(run.file('vm-mean.json'), clone.vmCheckpoint(r.vm, r.model, { ...prov, which: 'cma-mean' }));
      await saveCheckpoint(run.file('vm-best.json'), clone.vmCheckpoint(r.best, r.model, { ...prov, which: 'best-evaluated', fitness: r.bestFitness }));
      stampProvenance(run.file('vm-mean.json'), run.file('vm.json'), run);
      const h = r.history;
      if (h.length > 0) {
        const first = h[0]!, final = h[h.length - 1]!;
        out.write(`fitness (mean online cross-entropy at the end of the episode): clone ${first.baseline.toFixed(4)} → CMA-ES mean ${final.meanFitness.toFixed(4)} (unchanged clone on the same episode: ${final.baseline.toFixed(4)})\n`);
      }
      if (cfg.metatest) {
        const spec = { ...cfg.metatest.spec, sgd: { ...cfg.metatest.spec.sgd, enabled: false } };
        await runCloneMetatest({ vm: r.vm, model: start.model, emulation: cfg.emulation, spec, learner: { name: 'clone-improved', label: 'cloned backprop + CMA-ES' }, command: commandLine, run, quiet: o.quiet, engine }, out);
      }
      finishRun(run, 'completed');
      await buildReport([run.dir], run.dir, 'vsml improve');
      out.write(`done; V_M: ${run.file('vm.json')}; report: ${run.file('report.html')}\n`);
      return run.dir;
    } finally {
      stop.dispose();
    }
  });
}

export function registerImprove(program: Command): void {
  const cmd = program
    .command('improve')
    .description('improve a cloned V_M with sep-CMA-ES (fitness: loss after an unrolled MNIST episode)')
    .option('--vm <file>', 'the cloned V_M checkpoint (e.g. the vm.json of a vsml clone run)')
    .option('--seed <n>', 'seed of CMA-ES and the fitness episodes', integer('--seed'))
    .option('--generations <n>', 'CMA-ES generations', positiveInt('--generations'))
    .option('--metatest <suite>', 'meta-test before and after with this clone suite of the preset (e.g. demo, shallow)')
    .option('--clone-engine <name>', 'wasm (default: all candidates of a generation side by side on the forward engine) | tfjs (cloneStep on --backend, e.g. a GPU)');
  runOptions(cmd, 'improve').action(async (o: ImproveCliOptions) => void (await runImprove(o)));
}
