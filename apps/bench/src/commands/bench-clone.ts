/**
 * Speed of the clone's improve and meta-test loops (the library calls themselves, timed end to end):
 *
 * - `vsml bench improve-gen`: one generation of `improveClone`'s fitness evaluation — λ + 2 V_M (the clone's V_M
 *   plus small perturbations) on one shared episode of `steps` steps, inner batch B — on the forward engine
 *   (`EngineFitness`: all members side by side, per-member V_M) and on tfjs (`fitnessOf`, one member after the
 *   other), interleaved over rounds after one warm-up each. One JSON line per engine (median seconds per generation
 *   and per member-step) and one with the ratio, each with the load average.
 * - `vsml bench metatest-workers`: `metaTestClone` (engine `wasm`, SGD off, one test evaluation at the end) with 1
 *   and with N worker threads, interleaved over rounds; one JSON line per worker count (median seconds per run and
 *   per meta-test step = run time / (datasets · seeds · steps)) and one with the speed-up.
 */
import os from 'node:os';
import type { Command } from 'commander';
import { Rng } from '@vsml/rng';
import { flattenParams, initParams, disposeParams } from '@vsml/core';
import { cloneModelConfig, EngineFitness, fitnessOf, metaTestClone, type CloneEngine, type FitnessEpisode } from '@vsml/clone';
import { BACKEND_HELP, positiveInt, setupBackend, stdout, type Out } from './common.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : 0.5 * (s[n / 2 - 1]! + s[n / 2]!);
}
const round = (x: number): number => Number(x.toPrecision(4));
const loadavg = (): number[] => os.loadavg().map((v) => Number(v.toFixed(2)));

/** Options of {@link runImproveGenBench} (defaults: the quick preset's improve spec, 20 steps). */
export interface ImproveGenBenchOptions {
  /** λ (default 8): the generation has λ + 2 members */
  popSize?: number;
  /** steps of the fitness episode (default 20) */
  steps?: number;
  innerBatch?: number;
  /** input size D (default 196 = 14×14) and classes C (default 10) */
  D?: number;
  C?: number;
  rounds?: number;
  seed?: number;
  backend?: string;
  engines?: CloneEngine[];
}

/** Times one improve generation's fitness evaluation on each engine, interleaved; returns the printed records. */
export async function runImproveGenBench(o: ImproveGenBenchOptions, out: Out = stdout): Promise<Record<string, unknown>[]> {
  const backend = await setupBackend(o.backend);
  const lambda = o.popSize ?? 8;
  const T = o.steps ?? 20;
  const B = o.innerBatch ?? 16;
  const D = o.D ?? 196;
  const C = o.C ?? 10;
  const rounds = o.rounds ?? 3;
  const seed = o.seed ?? 0;
  const engines = o.engines ?? ['wasm', 'tfjs'];
  const config = cloneModelConfig({}, [D, C]);
  const params = initParams(config, seed);
  const vm = flattenParams(params, config);
  disposeParams(params);
  const rng = Rng.fromSeed(seed, 0x1e9);
  const P = lambda + 2;
  const vms = Array.from({ length: P }, (_, p) => (p === 0 ? vm : vm.map((v) => v + 0.01 * rng.normal())));
  const data = { x: rng.fillUniform(new Float32Array(T * B * D), 0, 1), y: Int32Array.from({ length: T * B }, () => rng.int(0, C)) };
  const ep: FitnessEpisode = { segment: T, data: () => data, stateSeed: seed + 1 };
  const spec = { steps: T, innerBatch: B, fitnessWindow: 0.1, errorScale: 1, chunkRows: 16 };
  const fit = new EngineFitness(config, spec);
  const run: Record<CloneEngine, () => Promise<number[]>> = {
    wasm: () => fit.evaluate(vms, ep),
    tfjs: async () => vms.map((v) => fitnessOf(v, config, ep, spec)),
  };
  // warm-up: the engine (created on first use) and the tfjs kernels
  if (engines.includes('wasm')) await run.wasm();
  if (engines.includes('tfjs')) fitnessOf(vm, config, { ...ep, data: () => data }, { ...spec, steps: 1 });
  const times = new Map<CloneEngine, number[]>(engines.map((e) => [e, []]));
  const fitness = new Map<CloneEngine, number[]>();
  for (let k = 0; k < rounds; k++) {
    for (const e of engines) {
      const t0 = performance.now();
      fitness.set(e, await run[e]());
      times.get(e)!.push((performance.now() - t0) / 1000);
    }
  }
  const records: Record<string, unknown>[] = [];
  const emit = (r: Record<string, unknown>): void => {
    records.push(r);
    out.write(`${JSON.stringify(r)}\n`);
  };
  const perGen = new Map<CloneEngine, number>();
  for (const e of engines) {
    const s = median(times.get(e)!);
    perGen.set(e, s);
    emit({
      bench: 'improve-gen',
      engine: e,
      impl: e === 'wasm' ? `EngineFitness (${Math.min(P, fit.maxMembers)} members per engine)` : `fitnessOf: cloneStep on tfjs-${backend.name}`,
      members: P,
      steps: T,
      inner_batch: B,
      D,
      C,
      slow_size: config.slowSize,
      rounds,
      seconds_per_generation: round(s),
      seconds_per_generation_runs: times.get(e)!.map(round),
      seconds_per_member_step: round(s / (P * T)),
      loadavg: loadavg(),
    });
  }
  if (perGen.has('wasm') && perGen.has('tfjs')) {
    const a = fitness.get('wasm')!;
    const b = fitness.get('tfjs')!;
    const rel = Math.max(...a.map((v, i) => Math.abs(v - b[i]!) / Math.max(1e-12, Math.abs(b[i]!))));
    emit({ bench: 'ratio', config: 'improve-gen', wasm_over_tfjs: round(perGen.get('tfjs')! / perGen.get('wasm')!), fitness_max_rel_diff: Number(rel.toExponential(2)), loadavg: loadavg() });
  }
  return records;
}

/** Options of {@link runMetatestWorkersBench}. */
export interface MetatestWorkersBenchOptions {
  /** worker threads to compare with 1 (default 2) */
  workers?: number;
  datasets?: string[];
  /** default 4 seeds: 1..4 */
  seeds?: number[];
  /** meta-test steps per run (default 10) */
  steps?: number;
  innerBatch?: number;
  /** test images of the one evaluation at the end (default 100) */
  evalCount?: number;
  preprocess?: Record<string, unknown>;
  rounds?: number;
  backend?: string;
}

/** Times `metaTestClone` with 1 and with N worker threads, interleaved; returns the printed records. */
export async function runMetatestWorkersBench(o: MetatestWorkersBenchOptions, out: Out = stdout): Promise<Record<string, unknown>[]> {
  await setupBackend(o.backend);
  const N = o.workers ?? 2;
  const spec = {
    datasets: o.datasets ?? ['mnist'],
    seeds: o.seeds ?? [1, 2, 3, 4],
    steps: o.steps ?? 10,
    innerBatch: o.innerBatch ?? 64,
    evalCount: o.evalCount ?? 100,
    evalEvery: o.steps ?? 10,
    preprocess: o.preprocess ?? {},
    sgd: { enabled: false },
  };
  const rounds = o.rounds ?? 3;
  // the clone preset's model (its V_M does not depend on the layer sizes)
  const config = cloneModelConfig({}, [1, 1]);
  const params = initParams(config, 0);
  const vm = flattenParams(params, config);
  disposeParams(params);
  const counts = [1, N];
  // warm-up: data caches and the engine module
  await metaTestClone({ vm, spec: { ...spec, seeds: [spec.seeds[0]!], steps: 1, evalEvery: 1 } });
  const times = new Map<number, number[]>(counts.map((w) => [w, []]));
  const results = new Map<number, string>();
  for (let k = 0; k < rounds; k++) {
    for (const w of counts) {
      const t0 = performance.now();
      const r = await metaTestClone({ vm, spec, workers: w });
      times.get(w)!.push((performance.now() - t0) / 1000);
      results.set(w, JSON.stringify(r.results));
    }
  }
  const records: Record<string, unknown>[] = [];
  const emit = (r: Record<string, unknown>): void => {
    records.push(r);
    out.write(`${JSON.stringify(r)}\n`);
  };
  const nSteps = spec.datasets.length * spec.seeds.length * spec.steps;
  for (const w of counts) {
    const s = median(times.get(w)!);
    emit({
      bench: 'metatest-workers',
      workers: w,
      engine: 'wasm',
      datasets: spec.datasets,
      seeds: spec.seeds.length,
      steps: spec.steps,
      inner_batch: spec.innerBatch,
      rounds,
      seconds_per_run: round(s),
      seconds_per_run_runs: times.get(w)!.map(round),
      seconds_per_metatest_step: round(s / nSteps),
      loadavg: loadavg(),
    });
  }
  emit({ bench: 'speedup', config: 'metatest-workers', workers: N, speedup: round(median(times.get(1)!) / median(times.get(N)!)), identical_results: results.get(1) === results.get(N), loadavg: loadavg() });
  return records;
}

/** Registers `vsml bench improve-gen` and `vsml bench metatest-workers` on the `bench` command. */
export function registerCloneBenches(bench: Command): void {
  bench
    .command('improve-gen')
    .description("one improve generation's fitness evaluation (λ + 2 members, one episode) on the forward engine and on tfjs, interleaved")
    .option('--pop-size <n>', 'λ (the generation has λ + 2 members; default 8)', positiveInt('--pop-size'))
    .option('--steps <n>', 'steps of the fitness episode (default 20)', positiveInt('--steps'))
    .option('--inner-batch <n>', 'inner batch (default 16)', positiveInt('--inner-batch'))
    .option('--size <D>', 'input size (default 196 = 14×14; 784 = MNIST)', positiveInt('--size'))
    .option('--engine <name>', 'time only wasm or tfjs (default both)')
    .option('--repeats <n>', 'rounds (the median is reported)', positiveInt('--repeats'), 3)
    .option('--seed <n>', 'seed of V_M, data and state', (v) => Number(v), 0)
    .option('--backend <name>', BACKEND_HELP)
    .action(async (o: { popSize?: number; steps?: number; innerBatch?: number; size?: number; engine?: string; repeats: number; seed: number; backend?: string }) => {
      if (o.engine !== undefined && o.engine !== 'wasm' && o.engine !== 'tfjs') throw new Error(`--engine must be wasm or tfjs, got '${o.engine}'`);
      await runImproveGenBench({
        ...(o.popSize ? { popSize: o.popSize } : {}),
        ...(o.steps ? { steps: o.steps } : {}),
        ...(o.innerBatch ? { innerBatch: o.innerBatch } : {}),
        ...(o.size ? { D: o.size } : {}),
        ...(o.engine ? { engines: [o.engine as CloneEngine] } : {}),
        ...(o.backend ? { backend: o.backend } : {}),
        rounds: o.repeats,
        seed: o.seed,
      });
    });
  bench
    .command('metatest-workers')
    .description("the clone's meta-test (forward engine) with 1 and with N worker threads, interleaved: seconds per meta-test step")
    .option('--workers <n>', 'worker threads to compare with 1 (default 2)', positiveInt('--workers'))
    .option('--datasets <names>', 'comma-separated datasets (default mnist)', (v) => v.split(','))
    .option('--seeds <n>', 'number of seeds (runs per dataset; default 4)', positiveInt('--seeds'))
    .option('--steps <n>', 'meta-test steps per run (default 10)', positiveInt('--steps'))
    .option('--inner-batch <n>', 'inner batch (default 64)', positiveInt('--inner-batch'))
    .option('--repeats <n>', 'rounds (the median is reported)', positiveInt('--repeats'), 3)
    .option('--backend <name>', BACKEND_HELP)
    .action(async (o: { workers?: number; datasets?: string[]; seeds?: number; steps?: number; innerBatch?: number; repeats: number; backend?: string }) => {
      await runMetatestWorkersBench({
        ...(o.workers ? { workers: o.workers } : {}),
        ...(o.datasets ? { datasets: o.datasets } : {}),
        ...(o.seeds ? { seeds: Array.from({ length: o.seeds }, (_, i) => i + 1) } : {}),
        ...(o.steps ? { steps: o.steps } : {}),
        ...(o.innerBatch ? { innerBatch: o.innerBatch } : {}),
        ...(o.backend ? { backend: o.backend } : {}),
        rounds: o.repeats,
      });
    });
}
