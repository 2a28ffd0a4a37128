/**
 * `vsml reproduce --preset quick`: re-creates the shipped checkpoints and the report from nothing, one stage after
 * the other, each in its own run directory under `--out`:
 *
 * 1. `metatrain`: VSML meta-trained from scratch (`vsml metatrain --preset P --seed S`);
 * 2. `metarnn`: the Meta RNN baseline, same budget and data (`--model meta-rnn`);
 * 3. `clone`: the backprop-cloning curriculum (`vsml clone --preset P`);
 * 4. `improve`: sep-CMA-ES on the shallow clone, meta-tested before and after (`--metatest improve`);
 * 5. `metatest`: every learner suite of the preset, with both meta-trained models;
 * 6. `metatest-clone`: the clone's `demo` suite; then one report over all of them.
 *
 * Running it again with the same `--out` skips finished stages and resumes an interrupted one from its checkpoint.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildReport } from '../report/build.js';
import { readRunInfo, type RunInfo } from '../runs/run-dir.js';
import { loadPreset } from '../config/presets.js';
import { runClone } from './clone.js';
import { runImprove } from './improve.js';
import { runMetatest } from './metatest.js';
import { runMetatrain } from './metatrain.js';
import { BACKEND_HELP, integer, list, stdout, type Out } from './common.js';

export interface ReproduceOptions {
  preset?: string;
  seed?: number;
  backend?: string;
  out?: string;
  /** run only these stages (default: all) */
  only?: string[];
  quiet?: boolean;
}

/** The stages in order. */
export const REPRODUCE_STAGES = ['metatrain', 'metarnn', 'clone', 'improve', 'metatest', 'metatest-clone'] as const;
type StageName = (typeof REPRODUCE_STAGES)[number];

/** A stage's run status (a run left at `running` by a killed process reads as `interrupted`). */
function status(dir: string): RunInfo['status'] | 'absent' {
  return fs.existsSync(path.join(dir, 'run.json')) ? readRunInfo(dir).status : 'absent';
}

/** Runs the stages; returns the reproduction directory (its `report.html` covers every stage). */
export async function runReproduce(o: ReproduceOptions, out: Out = stdout): Promise<string> {
  const presetName = o.preset ?? 'quick';
  const { preset } = loadPreset({ preset: presetName });
  const seed = o.seed ?? 1;
  const root = o.out ?? path.join('runs', `reproduce-${path.basename(presetName, '.json')}-seed${seed}`);
  fs.mkdirSync(root, { recursive: true });
  const only = o.only ?? [...REPRODUCE_STAGES];
  for (const s of only) if (!(REPRODUCE_STAGES as readonly string[]).includes(s)) throw new Error(`unknown stage '${s}' (stages: ${REPRODUCE_STAGES.join(', ')})`);
  const dir = (s: StageName) => path.join(root, s);
  const common = { ...(o.backend ? { backend: o.backend } : {}), ...(o.quiet ? { quiet: true } : {}) };
  const vsmlVm = path.join(dir('metatrain'), 'vm.json');
  const metaRnnVm = path.join(dir('metarnn'), 'vm.json');
  const cloneVm = path.join(dir('clone'), 'vm-random.json');
  const t0 = Date.now();

  const stages: Record<StageName, (line: string) => Promise<unknown>> = {
    metatrain: (line) => runMetatrain({ preset: presetName, seed, model: 'vsml', commandLine: line, out: dir('metatrain'), ...common }, out),
    metarnn: (line) => runMetatrain({ preset: presetName, seed, model: 'meta-rnn', commandLine: line, out: dir('metarnn'), ...common }, out),
    clone: (line) => runClone({ preset: presetName, commandLine: line, out: dir('clone'), ...common }, out),
    improve: (line) => runImprove({ preset: presetName, vm: cloneVm, metatest: 'improve', commandLine: line, out: dir('improve'), ...common }, out),
    metatest: (line) =>
      runMetatest({ preset: presetName, vsml: vsmlVm, ...(preset.metarnn ? { metaRnn: metaRnnVm } : {}), commandLine: line, out: dir('metatest'), name: 'reproduce', ...(o.backend ? { backend: o.backend } : {}) }, out),
    'metatest-clone': (line) => runMetatest({ preset: presetName, clone: cloneVm, suite: ['demo'], commandLine: line, out: dir('metatest-clone'), ...(o.backend ? { backend: o.backend } : {}) }, out),
  };
  const lines: Record<StageName, string> = {
    metatrain: `vsml metatrain --preset ${presetName} --seed ${seed} --out ${dir('metatrain')}`,
    metarnn: `vsml metatrain --preset ${presetName} --model meta-rnn --seed ${seed} --out ${dir('metarnn')}`,
    clone: `vsml clone --preset ${presetName} --out ${dir('clone')}`,
    improve: `vsml improve --preset ${presetName} --vm ${cloneVm} --metatest improve --out ${dir('improve')}`,
    metatest: `vsml metatest --preset ${presetName} --vsml ${vsmlVm} --meta-rnn ${metaRnnVm} --out ${dir('metatest')}`,
    'metatest-clone': `vsml metatest --preset ${presetName} --clone ${cloneVm} --suite demo --out ${dir('metatest-clone')}`,
  };
  const needs: Partial<Record<StageName, { what: string; file: string }[]>> = {
    improve: [{ what: 'the clone stage', file: cloneVm }],
    metatest: [{ what: 'the metatrain stage', file: vsmlVm }, ...(preset.metarnn ? [{ what: 'the metarnn stage', file: metaRnnVm }] : [])],
    'metatest-clone': [{ what: 'the clone stage', file: cloneVm }],
  };
  for (const s of REPRODUCE_STAGES) {
    if (!only.includes(s)) continue;
    if (s === 'metarnn' && !preset.metarnn) continue;
    const st = status(dir(s));
    if (st === 'completed') {
      out.write(`[${s}] done already (${dir(s)})\n`);
      continue;
    }
    for (const n of needs[s] ?? []) if (!fs.existsSync(n.file)) throw new Error(`stage ${s} needs ${n.file}: run ${n.what} first`);
    // a stage that was started and not finished continues from its checkpoint; metatests are short and restart
    const resumable = (s === 'metatrain' || s === 'metarnn' || s === 'clone' || s === 'improve') && st !== 'absent';
    if (!resumable && st !== 'absent') fs.rmSync(dir(s), { recursive: true, force: true });
    out.write(`[${s}] ${resumable ? 'resuming' : 'running'}: ${lines[s]}\n`);
    const ts = Date.now();
    if (resumable) {
      if (s === 'clone') await runClone({ resume: dir(s), commandLine: lines[s], ...common }, out);
      else if (s === 'improve') await runImprove({ resume: dir(s), commandLine: lines[s], ...common }, out);
      else await runMetatrain({ resume: dir(s), commandLine: lines[s], ...common }, out);
    } else {
      await stages[s](lines[s]);
    }
    if (status(dir(s)) !== 'completed') throw new Error(`stage ${s} did not finish; run vsml reproduce again with --out ${root} to continue`);
    out.write(`[${s}] finished in ${((Date.now() - ts) / 60000).toFixed(1)} min\n`);
  }
  const dirs = REPRODUCE_STAGES.map(dir).filter((d) => status(d) === 'completed');
  await buildReport(dirs, root, `vsml reproduce --preset ${presetName} --seed ${seed}`);
  out.write(`reproduction finished in ${((Date.now() - t0) / 60000).toFixed(1)} min; report: ${path.join(root, 'report.html')}\n`);
  return root;
}

export function registerReproduce(program: Command): void {
  program
    .command('reproduce')
    .description('re-create the shipped checkpoints and the report from nothing (quick preset: about 2.5 h on 2 cores)')
    .option('--preset <name>', 'preset data file (quick | paper)', 'quick')
    .option('--seed <n>', 'seed of both meta-training runs', integer('--seed'))
    .option('--only <stages>', `comma-separated stages (${REPRODUCE_STAGES.join(', ')})`, list)
    .option('--backend <name>', BACKEND_HELP)
    .option('--out <dir>', 'reproduction directory (default runs/reproduce-<preset>-seed<seed>); run again to continue')
    .action(async (o: ReproduceOptions) => void (await runReproduce(o)));
}
