/**
 * `vsml demo`: builds a VSML model, runs a short meta-test episode on synthetic data and prints the per-step
 * accuracy. With a fresh (untrained) V_M the learner is at chance; pass `--checkpoint` to use a trained one.
 * Synthetic task: per episode, `classes` Gaussian prototypes in R^inputs; each step shows a prototype plus noise.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { Rng } from '@vsml/rng';
import {
  countVL,
  countVM,
  defaultModelConfig,
  disposeParams,
  initParams,
  loadCheckpoint,
  paramsFromValues,
  runEpisode,
  tf,
  withLayerSizes,
  type ModelConfig,
  type ParamSet,
} from '@vsml/core';
import { BACKEND_HELP, positiveInt, setupBackend, stdout, type Out } from './common.js';
import { runMetatest } from './metatest.js';
import { buildReport } from '../report/build.js';

export interface DemoOptions {
  steps?: number;
  population?: number;
  inputs?: number;
  classes?: number;
  seed?: number;
  noise?: number;
  backend?: string;
  checkpoint?: string;
}

/** The synthetic stream: x [T, P, D], y [T, P]. */
export function prototypeTask(T: number, P: number, D: number, C: number, noise: number, seed: number): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(T * P * D);
  const y = new Int32Array(T * P);
  for (let p = 0; p < P; p++) {
    const rng = Rng.fromSeed(seed, 0x6465, p);
    const protos = rng.fillNormal(new Float32Array(C * D));
    for (let t = 0; t < T; t++) {
      const k = rng.int(0, C);
      y[t * P + p] = k;
      for (let d = 0; d < D; d++) x[(t * P + p) * D + d] = protos[k * D + d]! + noise * rng.normal();
    }
  }
  return { x, y };
}

export async function runDemo(opts: DemoOptions = {}, out: Out = stdout): Promise<{ accuracy: number[]; cumulative: number[] }> {
  const T = opts.steps ?? 40;
  const P = opts.population ?? 8;
  const D = opts.inputs ?? 16;
  const C = opts.classes ?? 4;
  const seed = opts.seed ?? 0;
  const backend = await setupBackend(opts.backend);
  let config: ModelConfig;
  let params: ParamSet;
  let source: string;
  if (opts.checkpoint) {
    const ck = await loadCheckpoint(opts.checkpoint);
    config = withLayerSizes(ck.model, [D, C]);
    params = paramsFromValues(ck.params);
    source = `checkpoint ${opts.checkpoint} (${ck.kind}, step ${ck.step ?? 0})`;
  } else {
    config = defaultModelConfig({ layers: [{ in: D, out: C }] });
    params = initParams(config, seed);
    source = `fresh random init, seed ${seed} (untrained: expect chance accuracy ≈ ${(1 / C).toFixed(2)})`;
  }
  try {
    out.write(`vsml demo: VSML RNN ${D}→${C}, |V_M| = ${countVM(config).toLocaleString('en-US')}, |V_L| = ${countVL(config).toLocaleString('en-US')} per episode, backend ${backend.name}\n`);
    out.write(`V_M: ${source}\n`);
    out.write(`meta-test: ${P} episodes × ${T} steps of synthetic data (${C} Gaussian prototypes + noise ${opts.noise ?? 0.5}); accuracy of the prediction made before each label is seen\n`);
    const { x, y } = prototypeTask(T, P, D, C, opts.noise ?? 0.5, seed);
    const r = runEpisode(params, config, { inputs: x, labels: y, steps: T, population: P }, { seed });
    const [acc, loss] = tf.tidy(() => [tf.mean(r.correct, 1), tf.mean(r.loss, 1)]);
    const accuracy = Array.from((await acc!.data()) as Float32Array);
    const losses = Array.from((await loss!.data()) as Float32Array);
    tf.dispose([r.logits, r.loss, r.correct, acc!, loss!]);
    out.write(' step  accuracy  cumulative    loss\n');
    const cumulative: number[] = [];
    let sum = 0;
    accuracy.forEach((a, t) => {
      sum += a;
      cumulative.push(sum / (t + 1));
      out.write(`${String(t + 1).padStart(5)}  ${a.toFixed(3).padStart(8)}  ${(sum / (t + 1)).toFixed(3).padStart(10)}  ${losses[t]!.toFixed(4).padStart(6)}\n`);
    });
    out.write(`mean online accuracy ${(sum / T).toFixed(3)} (chance ${(1 / C).toFixed(3)})\n`);
    return { accuracy, cumulative };
  } finally {
    disposeParams(params);
  }
}

/** File names of the shipped pretrained V_M checkpoints (in `apps/bench/checkpoints`, provenance inside each). */
export const SHIPPED = {
  /** meta-trained from scratch: `vsml metatrain --preset quick --seed 1` */
  vsml: 'vsml-scratch.vm.json',
  /** cloned backprop: the random-data stage of `vsml clone --preset quick` */
  clone: 'clone-backprop.vm.json',
} as const;

/** Paths of the shipped checkpoints that exist (null: not shipped). */
export function shippedCheckpoints(): { vsml: string | null; clone: string | null } {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [path.resolve(here, '../checkpoints'), path.resolve(here, '../../checkpoints')]) {
    if (!fs.existsSync(dir)) continue;
    const at = (f: string): string | null => (fs.existsSync(path.join(dir, f)) ? path.join(dir, f) : null);
    return { vsml: at(SHIPPED.vsml), clone: at(SHIPPED.clone) };
  }
  return { vsml: null, clone: null };
}

function describeShipped(file: string, what: string, out: Out): void {
  const ck = JSON.parse(fs.readFileSync(file, 'utf8')) as { provenance?: { command?: string; commit?: string; seed?: number } };
  out.write(`shipped ${what}: ${file}\n  made by: ${ck.provenance?.command ?? '?'} (seed ${ck.provenance?.seed ?? '?'}, commit ${ck.provenance?.commit ?? '?'})\n`);
}

/**
 * The main job (`pnpm start`): meta-tests the shipped pretrained V_M checkpoints on MNIST and Fashion-MNIST test
 * streams: the from-scratch V_M against online Adam / SGD (the `demo` suite of the quick preset), and the cloned
 * backprop next to SGD on the same network (the clone's `demo` suite); prints the tables and writes one report.
 * Without shipped checkpoints (or with `--synthetic`) it runs the synthetic episode of an untrained model instead.
 */
export async function runMainJob(o: DemoOptions & { synthetic?: boolean; out?: string }, out: Out = stdout): Promise<void> {
  const { vsml, clone } = shippedCheckpoints();
  if (o.synthetic || (!vsml && !clone)) {
    if (!vsml && !clone) out.write('no shipped V_M checkpoint found: running the synthetic demo of an untrained model\n');
    await runDemo(o, out);
    return;
  }
  const root = o.out ?? path.join('runs', `${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-demo`);
  const backend = o.backend ? { backend: o.backend } : {};
  // --steps shortens both meta-tests (a smoke run); by default each suite runs its own length
  const steps = o.steps ? { steps: o.steps } : {};
  const dirs: string[] = [];
  if (vsml) {
    describeShipped(vsml, 'V_M meta-trained from scratch', out);
    dirs.push(await runMetatest({ preset: 'quick', suite: ['demo'], vsml, name: 'demo', out: path.join(root, 'scratch'), ...steps, ...backend }, out));
  }
  if (clone) {
    describeShipped(clone, 'cloned backprop V_M', out);
    dirs.push(await runMetatest({ preset: 'quick', suite: ['demo'], clone, name: 'demo-clone', out: path.join(root, 'clone'), ...steps, ...backend }, out));
  }
  await buildReport(dirs, root, 'vsml demo: the shipped checkpoints');
  out.write(`report of both: ${path.join(root, 'report.html')}\n`);
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the main job: meta-test the shipped V_M checkpoints (from scratch; cloned backprop) on MNIST and Fashion-MNIST against online Adam/SGD (--synthetic: an untrained model on synthetic data)')
    .option('--synthetic', 'run the synthetic episode of an untrained (or --checkpoint) model instead')
    .option('--out <dir>', 'directory of the meta-test runs and the report')
    .option('--steps <n>', 'steps per episode (synthetic: 40; main job: the suites\' lengths)', positiveInt('--steps'))
    .option('--population <n>', 'parallel episodes', positiveInt('--population'), 8)
    .option('--inputs <n>', 'input size', positiveInt('--inputs'), 16)
    .option('--classes <n>', 'number of classes', positiveInt('--classes'), 4)
    .option('--noise <x>', 'noise std around the prototypes', (v) => Number(v), 0.5)
    .option('--seed <n>', 'seed of V_M, data and initial state', (v) => Number(v), 0)
    .option('--checkpoint <file>', 'use V_M from a checkpoint (any input size / class count)')
    .option('--backend <name>', BACKEND_HELP)
    .action(async (o: DemoOptions & { synthetic?: boolean; out?: string }) => {
      await runMainJob(o);
    });
}
