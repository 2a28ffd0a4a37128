/**
 * `vsml metatest`: runs learners online on test streams (each predicts x_t before seeing y_t) and reports online
 * accuracy curves and held-out accuracy, mean ± std over seeds: a VSML `V_M` checkpoint, the Meta RNN, and online
 * Adam / SGD baselines at their official settings, all on the same streams. Suites come from the preset.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import * as mt from '@vsml/metatrain';
import { buildReport } from '../report/build.js';
import { createRunDir, finishRun, writeJsonAtomic, type RunDir } from '../runs/run-dir.js';
import * as clone from '@vsml/clone';
import { loadPreset, MetatestSuiteSchema, type MetatestSuite, type Preset } from '../config/presets.js';
import { cloneSuiteSpec, loadClonedVm, resolveClonePreset } from './clone-setup.js';
import { runCloneMetatest } from './clone-metatest.js';
import { BACKEND_HELP, guardRun, list, positiveInt, recordBackend, setupBackend, stdout, type Out } from './common.js';

export interface MetatestCliOptions {
  preset?: string;
  config?: string;
  /** only these suites of the preset */
  suite?: string[];
  /** V_M checkpoint for the `vsml` learner */
  vsml?: string;
  /** checkpoint for the `meta-rnn` learner */
  metaRnn?: string;
  /** a cloned V_M: run the preset's clone suites (`clone.suites`) instead of the learner suites */
  clone?: string;
  /** override the suites' learners / datasets / steps / seeds */
  learners?: string[];
  datasets?: string[];
  steps?: number;
  seeds?: number[];
  backend?: string;
  /** with `clone`: where the clone's steps run (default `wasm`, core's forward engine; `tfjs` on --backend) */
  cloneEngine?: string;
  /** with `clone`: worker threads for the (dataset, seed) runs (default 1; results are the same) */
  workers?: number;
  out?: string;
  name?: string;
  commandLine?: string;
}

/** Builds a learner by name (`vsml`, `meta-rnn`, `adam-mlp`, `sgd-linear@0.1`, ...). */
export async function learnerByName(name: string, o: { vsml?: string; metaRnn?: string }): Promise<mt.Learner> {
  if (name === 'vsml') {
    if (!o.vsml) throw new Error("learner 'vsml' needs --vsml <V_M checkpoint>");
    return mt.vsmlLearnerFromCheckpoint(o.vsml, { name: 'vsml', label: 'VSML (meta-learned)' });
  }
  if (name === 'meta-rnn') {
    if (!o.metaRnn) throw new Error("learner 'meta-rnn' needs --meta-rnn <checkpoint>");
    const ck = await mt.loadMetatrainTheta(o.metaRnn);
    return mt.modelFromDescription(ck.model).learner(ck.theta, { name: 'meta-rnn', label: 'Meta RNN (LSTM 128)' });
  }
  const m = /^(adam|sgd)-(mlp|linear)(?:@([\d.e-]+))?$/.exec(name);
  if (!m) throw new Error(`unknown learner '${name}'`);
  const [, optimizer, model, lr] = m as unknown as [string, 'adam' | 'sgd', 'mlp' | 'linear', string | undefined];
  const label = `online ${optimizer === 'adam' ? 'Adam' : 'SGD'} ${lr ?? mt.OFFICIAL_LR[optimizer]}, ${model === 'mlp' ? 'MLP 160' : 'linear'}`;
  return mt.onlineLearner({ optimizer, model, name, label, ...(lr !== undefined ? { lr: Number(lr) } : {}) });
}

/** Backend, `results/` folder and the first line of output of a metatest run directory. */
async function startMetatestRun(run: RunDir, backend: string | undefined, out: Out): Promise<void> {
  await recordBackend(run, backend);
  fs.mkdirSync(run.file('results'), { recursive: true });
  out.write(`run directory: ${run.dir}\n`);
}

const pct = (s: { mean: number; std: number } | undefined): string => (s ? `${(100 * s.mean).toFixed(1)} ± ${(100 * s.std).toFixed(1)}` : '–');

/** Runs the suites; returns the run directory. */
export async function runMetatest(o: MetatestCliOptions, out: Out = stdout): Promise<string> {
  const commandLine = o.commandLine ?? `vsml ${process.argv.slice(2).join(' ')}`;
  const { preset, source } = loadPreset(o);
  if (o.clone) return runCloneSuites(o, preset, source, commandLine, out);
  if (!preset.metatest) throw new Error(`${source} has no 'metatest' section`);
  let suites: MetatestSuite[] = preset.metatest.suites.filter((s) => !o.suite || o.suite.includes(s.name));
  if (suites.length === 0) throw new Error(`no suite named ${o.suite?.join(', ')} in ${source}`);
  suites = suites.map((s) =>
    MetatestSuiteSchema.parse({
      ...s,
      ...(o.learners ? { learners: o.learners } : {}),
      ...(o.datasets ? { datasets: o.datasets } : {}),
      ...(o.steps ? { steps: o.steps } : {}),
      ...(o.seeds ? { seeds: o.seeds } : {}),
    }),
  );
  const run = createRunDir({
    command: 'metatest',
    name: o.name ?? (o.vsml ? path.basename(path.dirname(path.resolve(o.vsml))) : 'baselines'),
    seed: suites[0]!.seeds[0]!,
    config: { suites, vsml: o.vsml ?? null, metaRnn: o.metaRnn ?? null },
    ...(o.out ? { out: o.out } : {}),
    ...(o.backend ? { backend: o.backend } : {}),
  });
  return guardRun(run, async () => {
    await startMetatestRun(run, o.backend, out);
    const table: string[] = [];
    for (const suite of suites) {
      table.push(`\n${suite.name}: ${JSON.stringify(suite.preprocess)}, ${suite.steps} steps, seeds ${suite.seeds.join(',')}`);
      const at = suite.steps > 100 ? [100, suite.steps] : [suite.steps];
      table.push(['learner', ...suite.datasets.flatMap((d) => at.map((k) => `${d} @${k}`))].join(' | '));
      for (const name of suite.learners) {
        const learner = await learnerByName(name, o);
        const cells: string[] = [];
        for (const dataset of suite.datasets) {
          const preprocess = name === 'meta-rnn' && suite.metaRnnPadClasses ? { ...suite.preprocess, padClasses: suite.metaRnnPadClasses } : suite.preprocess;
          const t0 = Date.now();
          const r = await mt.metaTest({
            learner,
            dataset,
            preprocess,
            steps: suite.steps,
            seeds: suite.seeds,
            testEvery: suite.testEvery,
            testCount: suite.testCount,
            command: commandLine,
          });
          // one plot per (dataset, suite): the suite's preprocessing is part of the task
          const result = { ...r, dataset: `${dataset} ${suite.name}` };
          writeJsonAtomic(path.join(run.file('results'), `${suite.name}-${name}-${dataset}.json`), result);
          cells.push(...at.map((k) => pct(r.summary[`online@${k}`] ?? r.summary['online'])));
          out.write(`${suite.name} ${name} ${dataset}: online@100 ${pct(r.summary['online@100'])} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
        }
        table.push([learner.label, ...cells].join(' | '));
      }
    }
    out.write(`${table.join('\n')}\n`);
    fs.writeFileSync(run.file('summary.txt'), `${table.join('\n')}\n`);
    finishRun(run, 'completed');
    await buildReport([run.dir], run.dir, 'vsml metatest');
    out.write(`report: ${run.file('report.html')}\n`);
    return run.dir;
  });
}

/** `vsml metatest --clone <vm>`: the clone suites of the preset (default `shallow`), each with SGD on the same network. */
async function runCloneSuites(o: MetatestCliOptions, preset: Preset, source: string, commandLine: string, out: Out): Promise<string> {
  const base = resolveClonePreset(preset, source);
  const names = o.suite ?? ['shallow'];
  const specs = names.map((n) => {
    const spec = cloneSuiteSpec(preset, source, n, base);
    const over: Record<string, unknown> = {};
    if (o.datasets) over['datasets'] = o.datasets;
    if (o.steps) over['steps'] = o.steps;
    if (o.seeds) over['seeds'] = o.seeds;
    return { name: n, spec: clone.parseWith(clone.MetaTestSchema, { ...spec, ...over }, `clone suite ${n}`) };
  });
  const engine = o.cloneEngine ?? 'wasm';
  if (engine !== 'wasm' && engine !== 'tfjs') throw new Error(`--clone-engine must be wasm or tfjs, got '${engine}'`);
  const workers = o.workers ?? 1;
  // the backend before the checkpoint (loading it creates tensors), the checkpoint before the run directory
  await setupBackend(o.backend);
  const start = await loadClonedVm(o.clone!);
  const run = createRunDir({
    command: 'metatest',
    name: o.name ?? `clone-${path.basename(o.clone!, '.json')}`,
    seed: specs[0]!.spec.seeds[0]!,
    config: { clone: path.resolve(o.clone!), suites: specs },
    ...(o.out ? { out: o.out } : {}),
    ...(o.backend ? { backend: o.backend } : {}),
  });
  return guardRun(run, async () => {
    await startMetatestRun(run, o.backend, out);
    for (const { name, spec } of specs) {
      const label = `cloned backprop (${spec.hidden.length ? `hidden ${spec.hidden.join('-')}` : 'shallow'})`;
      await runCloneMetatest({ vm: start.vm, model: start.model, emulation: base.emulation, spec, learner: { name: 'clone', label }, command: commandLine, run, prefix: name, engine, workers }, out);
    }
    finishRun(run, 'completed');
    await buildReport([run.dir], run.dir, 'vsml metatest (cloned backprop)');
    out.write(`report: ${run.file('report.html')}\n`);
    return run.dir;
  });
}

export function registerMetatest(program: Command): void {
  program
    .command('metatest')
    .description('meta-test learners (a V_M checkpoint, the Meta RNN, online Adam/SGD) on test streams')
    .option('--preset <name>', 'preset data file (quick | paper)', 'quick')
    .option('--config <file>', 'JSON merged over the preset')
    .option('--suite <names>', 'comma-separated suites of the preset (default: all)', list)
    .option('--vsml <file>', 'V_M checkpoint for the vsml learner')
    .option('--meta-rnn <file>', 'Meta RNN checkpoint for the meta-rnn learner')
    .option('--clone <file>', 'a cloned V_M: run the clone suites of the preset (--suite shallow | deep | demo; default shallow) next to SGD')
    .option('--learners <names>', 'comma-separated learners (vsml, meta-rnn, adam-mlp, adam-linear, sgd-mlp, sgd-linear[@lr])', list)
    .option('--datasets <names>', 'comma-separated datasets (mnist, fashion_mnist, idx:<dir>, ...)', list)
    .option('--steps <n>', 'steps per online episode', positiveInt('--steps'))
    .option('--seeds <list>', 'comma-separated seeds (at least 5)', (v) => list(v).map(Number))
    .option('--name <name>', 'run name')
    .option('--backend <name>', BACKEND_HELP)
    .option('--clone-engine <name>', 'with --clone: wasm (default, the forward engine) | tfjs (cloneStep on --backend, e.g. a GPU)')
    .option('--workers <n>', 'with --clone: worker threads for the (dataset, seed) runs (default 1; the same results)', positiveInt('--workers'))
    .option('--out <dir>', 'run directory')
    .action(async (o: MetatestCliOptions) => {
      await runMetatest(o);
    });
}
