/**
 * Meta-test of a cloned V_M: the VSML network learns a dataset online purely by unrolling (`cloneStep`), with the
 * stabilisers of App. D (inner batch B = 64 with state averaging, LSTM states clipped to [−4, 4] by the model's
 * `stateClip`). Next to it, real minibatch SGD on the emulated network from the same initial weights (the weights the
 * initial state stores), on the same data in the same order, with the same batch.
 *
 * Recorded per seed: the correctness of every prediction made before learning (online accuracy; per step the mean
 * over the B rows), and the held-out test accuracy at every `evalEvery` steps: the learner's state averaged over its
 * rows predicts the first `evalCount` images of the test split with forward ticks only (no error, nothing written
 * back). Results come out in the report schema of `apps/bench` (`kind: 'vsml-metatest'`).
 *
 * Engines: `wasm` (default) runs the clone's steps on core's forward engine (WebAssembly SIMD, with the clone's
 * `zeroStaleBackward` and per-row `errorScale`, see loop.ts); `tfjs` runs `cloneStep` / `predictLogits` on the tfjs
 * backend (the reference, and the GPU path). Both compute the same numbers to float rounding; SGD always runs on tfjs.
 *
 * Workers: the (dataset, seed) runs are independent; with `workers: N > 1` they run on N worker threads (core's
 * `WorkerPool`, loading this package's built `dist/metatest-worker.mjs`, each thread initialising the caller's tfjs
 * backend) and are summarised in spec order, so the results are bit-identical to one worker.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  tf,
  currentBackend,
  WorkerPool,
  countVL,
  countVM,
  initState,
  prepareModel,
  disposePreparedModel,
  unflattenParams,
  disposeParams,
  disposeState,
  type VlState,
} from '@vsml/core';
import { evaluationSet, loadDataset, openEpisodeSampler, type EvaluationSet } from '@vsml/datasets';
import { Rng } from '@vsml/rng';
import { cloneModelConfig, parseWith, MetaTestSchema, EmulationSchema, type Emulation, type EmulationInput, type MetaTestInput, type MetaTestSpec } from './config.js';
import { emulatedPredict, sgdStep, type Aggregation } from './emulated.js';
import { CloneError } from './errors.js';
import { createCloneEngine, parseCloneEngine, type CloneEngine } from './engine.js';
import { cloneStep, predictLogits, readWeights, tidy, yieldToEventLoop } from './loop.js';

/** Mean ± std over seeds. */
export interface Stat {
  readonly mean: number;
  readonly std: number;
}

/** A meta-test result in the report schema of `apps/bench/src/report/results.ts` (`MetaTestResultSchema`). */
export interface MetaTestResult {
  readonly kind: 'vsml-metatest';
  readonly version: 1;
  readonly learner: string;
  readonly label: string;
  readonly dataset: string;
  readonly steps: number;
  readonly seeds: number[];
  /** per step t: mean correctness over steps 0..t (each step: mean over the inner batch), mean ± std over seeds */
  readonly onlineAccuracy: { mean: number[]; std: number[] };
  /** held-out test accuracy at `steps` (mean ± std over seeds) */
  readonly testAccuracy: { steps: number[]; mean: number[]; std: number[] } | null;
  /** `test` (final test accuracy), `final` (online accuracy over the whole run), `online@k`, `recent` (last 10 % of steps) */
  readonly summary: Record<string, Stat>;
  readonly vmCount: number | null;
  readonly vlCount: number | null;
  readonly command: string;
}

/** The raw record of one learner on one dataset and seed. */
export interface MetaTestRun {
  readonly learner: string;
  readonly dataset: string;
  readonly seed: number;
  /** per step: mean correctness of the B predictions made before learning */
  readonly correct: Float32Array;
  /** per step: mean cross-entropy of those predictions */
  readonly loss: Float32Array;
  /** test accuracy / loss at these steps */
  readonly testSteps: number[];
  readonly testAccuracy: number[];
  readonly testLoss: number[];
  readonly elapsedMs: number;
}

/** Progress of a meta-test. */
export interface MetaTestProgress {
  readonly dataset: string;
  readonly seed: number;
  readonly step: number;
  readonly steps: number;
  readonly elapsedMs: number;
  /** latest test accuracy of the clone (and of SGD), when just measured */
  readonly testAccuracy?: number;
  readonly sgdTestAccuracy?: number;
}

/** Options of {@link metaTestClone}. */
export interface MetaTestOptions {
  /** the cloned V_M (flat, layout order of the clone's model) */
  readonly vm: Float32Array;
  /** core model options of the clone without `layers` (a preset's `model`) */
  readonly model?: Record<string, unknown>;
  readonly emulation?: Emulation | EmulationInput;
  readonly spec?: MetaTestSpec | MetaTestInput;
  /** learner name / label in the results (default `vsml-clone`) */
  readonly learner?: { readonly name: string; readonly label: string };
  /** the command line recorded in the results */
  readonly command?: string;
  /** dataset loading options (e.g. cache directory) */
  readonly loadOptions?: Parameters<typeof loadDataset>[1];
  readonly onProgress?: (p: MetaTestProgress) => void | Promise<void>;
  /** every finished (learner, dataset, seed) run */
  readonly onRun?: (run: MetaTestRun) => void | Promise<void>;
  /** `wasm` (default): core's forward engine; `tfjs`: `cloneStep` on the tfjs backend (reference, GPU) */
  readonly engine?: CloneEngine;
  /**
   * worker threads for the (dataset, seed) runs (default 1: in this thread). With more, `onProgress` reports each
   * finished run (step = steps) and `onRun` is called in spec order once all runs are done; the results are the same.
   */
  readonly workers?: number;
}

/** One (dataset, seed) run of {@link metaTestClone} as plain data: what a worker thread gets. */
export interface MetaTestTask {
  readonly vm: Float32Array;
  readonly model: Record<string, unknown>;
  readonly emulation: Emulation;
  readonly spec: MetaTestSpec;
  readonly dataset: string;
  readonly seed: number;
  readonly engine: CloneEngine;
  readonly learnerName: string;
  readonly loadOptions: Parameters<typeof loadDataset>[1];
  /** tfjs backend of the worker thread (the caller's) */
  readonly backend: string;
}

/** What one (dataset, seed) run gives: the clone's record, SGD's (when enabled) and |V_M|, |V_L|. */
export interface MetaTestPair {
  readonly clone: MetaTestRun;
  readonly sgd: MetaTestRun | null;
  readonly counts: { vm: number; vl: number };
}

function stat(xs: readonly number[]): Stat {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const v = n > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, std: Math.sqrt(v) };
}

/** Aggregates per-seed runs of one learner and dataset into a {@link MetaTestResult}. */
export function summariseRuns(runs: readonly MetaTestRun[], meta: { learner: string; label: string; vmCount: number | null; vlCount: number | null; command: string }): MetaTestResult {
  if (runs.length === 0) throw new CloneError('BAD_ARGUMENT', 'summariseRuns: no runs');
  const T = runs[0]!.correct.length;
  const cum = runs.map((r) => {
    const out = new Array<number>(T);
    let s = 0;
    for (let t = 0; t < T; t++) {
      s += r.correct[t]!;
      out[t] = s / (t + 1);
    }
    return out;
  });
  const online = { mean: new Array<number>(T), std: new Array<number>(T) };
  for (let t = 0; t < T; t++) {
    const st = stat(cum.map((c) => c[t]!));
    online.mean[t] = st.mean;
    online.std[t] = st.std;
  }
  const steps = runs[0]!.testSteps;
  const testAccuracy = steps.length
    ? { steps: [...steps], mean: steps.map((_, i) => stat(runs.map((r) => r.testAccuracy[i]!)).mean), std: steps.map((_, i) => stat(runs.map((r) => r.testAccuracy[i]!)).std) }
    : null;
  const summary: Record<string, Stat> = {};
  if (steps.length) {
    summary['test'] = stat(runs.map((r) => r.testAccuracy[r.testAccuracy.length - 1]!));
    summary['testLoss'] = stat(runs.map((r) => r.testLoss[r.testLoss.length - 1]!));
  }
  summary['final'] = stat(cum.map((c) => c[T - 1]!));
  for (const k of [100, 500, 1000, 2000, 5000, 10000]) if (k <= T) summary[`online@${k}`] = stat(cum.map((c) => c[k - 1]!));
  const recent = Math.max(1, Math.floor(T / 10));
  summary['recent'] = stat(runs.map((r) => r.correct.slice(T - recent).reduce((a, b) => a + b, 0) / recent));
  return {
    kind: 'vsml-metatest',
    version: 1,
    learner: meta.learner,
    label: meta.label,
    dataset: runs[0]!.dataset,
    steps: T,
    seeds: runs.map((r) => r.seed),
    onlineAccuracy: online,
    testAccuracy,
    summary,
    vmCount: meta.vmCount,
    vlCount: meta.vlCount,
    command: meta.command,
  };
}

/** Test accuracy and mean cross-entropy of logits `[N, C]` against labels. */
function scoreLogits(logits: tf.Tensor, labels: tf.Tensor): [number, number] {
  const v = tf.tidy(() => {
    const C = logits.shape[1]!;
    // (one read per evaluation, not per step)
    const acc = tf.mean(tf.cast(tf.equal(tf.cast(tf.argMax(logits, -1), 'int32'), labels), 'float32'));
    const ce = tf.mean(tf.neg(tf.sum(tf.mul(tf.oneHot(labels, C).toFloat(), tf.logSoftmax(logits)), -1)));
    return tf.stack([acc, ce]).dataSync();
  });
  return [v[0]!, v[1]!];
}

/**
 * Meta-tests a cloned V_M on every dataset of the spec, for every seed, next to SGD (unless disabled). Needs an
 * initialised tfjs backend. Seed s gives the initial state (`initState` seed s) and the data stream (sampler seed s).
 */
export async function metaTestClone(opts: MetaTestOptions): Promise<{ results: MetaTestResult[]; runs: MetaTestRun[] }> {
  const spec = parseWith(MetaTestSchema, opts.spec ?? {}, 'metatest');
  const emulation = parseWith(EmulationSchema, opts.emulation ?? {}, 'emulation');
  const engine = parseCloneEngine(opts.engine, 'metaTestClone');
  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new CloneError('BAD_ARGUMENT', `metaTestClone: workers must be an integer >= 1, got ${String(workers)}`);
  const learner = opts.learner ?? { name: 'vsml-clone', label: `cloned backprop (VSML, ${spec.hidden.length ? `hidden ${spec.hidden.join('-')}` : 'shallow'})` };
  const command = opts.command ?? 'metaTestClone';
  const tasks: MetaTestTask[] = spec.datasets.flatMap((dataset) =>
    spec.seeds.map((seed) => ({
      vm: opts.vm,
      model: opts.model ?? {},
      emulation,
      spec,
      dataset,
      seed,
      engine,
      learnerName: learner.name,
      loadOptions: opts.loadOptions ?? {},
      backend: currentBackend()?.name ?? 'wasm',
    })),
  );
  let pairs: MetaTestPair[];
  if (workers === 1) {
    pairs = [];
    let testSet: EvaluationSet | null = null;
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i]!;
      // one test set per dataset (tasks are grouped by dataset)
      if (testSet === null || tasks[i - 1]?.dataset !== task.dataset) testSet = testSetOf(task);
      const r = await runOne({ ...task, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) }, testSet);
      pairs.push(r);
      await opts.onRun?.(r.clone);
      if (r.sgd) await opts.onRun?.(r.sgd);
    }
  } else {
    const pool = new WorkerPool({ module: workerModule(), exportName: 'runMetaTestTask', threads: Math.min(workers, tasks.length) });
    const t0 = Date.now();
    try {
      pairs = await pool.map<MetaTestTask, MetaTestPair>(tasks, (r) =>
        opts.onProgress?.({ dataset: r.clone.dataset, seed: r.clone.seed, step: spec.steps, steps: spec.steps, elapsedMs: Date.now() - t0, testAccuracy: r.clone.testAccuracy[r.clone.testAccuracy.length - 1]! }),
      );
    } finally {
      await pool.close();
    }
    for (const r of pairs) {
      await opts.onRun?.(r.clone);
      if (r.sgd) await opts.onRun?.(r.sgd);
    }
  }
  // summaries in spec order (datasets, then seeds): the same numbers for any worker count
  const results: MetaTestResult[] = [];
  const runs: MetaTestRun[] = [];
  spec.datasets.forEach((_dataset, d) => {
    const mine = pairs.slice(d * spec.seeds.length, (d + 1) * spec.seeds.length);
    const cloneRuns = mine.map((r) => r.clone);
    const sgdRuns = mine.flatMap((r) => (r.sgd ? [r.sgd] : []));
    const counts = mine[mine.length - 1]!.counts;
    runs.push(...cloneRuns, ...sgdRuns);
    results.push(summariseRuns(cloneRuns, { learner: learner.name, label: learner.label, vmCount: counts.vm, vlCount: counts.vl, command }));
    if (sgdRuns.length) {
      const lr = spec.sgd.lr === 'emulated' ? 'the per-layer rates of a perfect clone' : `lr ${spec.sgd.lr}`;
      results.push(
        summariseRuns(sgdRuns, {
          learner: 'sgd-emulated',
          label: `SGD on the emulated network (same init, batch ${spec.innerBatch}, ${lr})`,
          vmCount: null,
          vlCount: null,
          command,
        }),
      );
    }
  });
  return { results, runs };
}

/** The built worker entry of this package (`dist/metatest-worker.mjs`; from `src/` under tests, `../dist`). */
function workerModule(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const file = join(here, '..', 'dist', 'metatest-worker.mjs');
  if (!existsSync(file)) throw new CloneError('BAD_ARGUMENT', `metaTestClone: ${file} not found; build the package first (pnpm --filter @vsml/clone build)`);
  return file;
}

/** The held-out test images of a task's dataset. */
function testSetOf(task: Pick<MetaTestTask, 'dataset' | 'spec' | 'loadOptions'>): EvaluationSet {
  const testDs = loadDataset(task.dataset, { ...task.loadOptions, split: 'test' });
  return evaluationSet(testDs, task.spec.preprocess, { count: task.spec.evalCount });
}

const workerTestSets = new Map<string, EvaluationSet>();

/**
 * Runs one (dataset, seed) task of {@link metaTestClone} in this thread: what `dist/metatest-worker.mjs` calls on a
 * worker thread (the tfjs backend must be initialised). The test set is loaded once per thread and dataset.
 */
export async function runMetaTestTask(task: MetaTestTask): Promise<MetaTestPair> {
  const key = JSON.stringify([task.dataset, task.spec.preprocess, task.spec.evalCount, task.loadOptions]);
  let set = workerTestSets.get(key);
  if (!set) {
    set = testSetOf(task);
    workerTestSets.set(key, set);
  }
  return runOne(task, set);
}

async function runOne(task: MetaTestTask & { onProgress?: MetaTestOptions['onProgress'] }, test: EvaluationSet): Promise<MetaTestPair> {
  const { spec, emulation, dataset, seed } = task;
  const opts = task;
  const B = spec.innerBatch;
  const T = spec.steps;
  const sampler = openEpisodeSampler({ dataset, split: 'train', population: 1, length: spec.segment, batch: B, seed, preprocess: spec.preprocess }, opts.loadOptions);
  const D = sampler.dim;
  const C = sampler.numClasses;
  const config = cloneModelConfig(opts.model, [D, ...spec.hidden, C]);
  const aggregation = config.aggregation as Aggregation;
  const params = unflattenParams(config, opts.vm);
  const model = prepareModel(params, config);
  const xt = tf.tensor2d(test.x, [test.y.length, D]);
  const yt = tf.tensor1d(test.y, 'int32');
  const stateSeed = Rng.fromSeed(seed, 0x4d54).int(0, 2 ** 31);
  let state: VlState = initState(config, { population: 1, innerBatch: B, seed: stateSeed });
  const engine = task.engine === 'wasm' ? createCloneEngine(config, opts.vm, B, spec.errorScale, stateSeed) : null;
  // SGD: the weights the initial state stores (all rows of a fresh state are equal; take row 0)
  const init = readWeights(state, emulation);
  let sw: tf.Tensor[] = init.w.map((t) => tf.tidy(() => tf.squeeze(tf.slice(t, [0], [1]), [0])));
  let sb: tf.Tensor[] = init.b.map((t) => tf.tidy(() => tf.squeeze(tf.slice(t, [0], [1]), [0])));
  [...init.w, ...init.b].forEach((t) => t.dispose());
  const doSgd = spec.sgd.enabled;
  const clone = { correct: new Float32Array(T), loss: new Float32Array(T), testSteps: [] as number[], testAccuracy: [] as number[], testLoss: [] as number[] };
  const sgd = { correct: new Float32Array(T), loss: new Float32Array(T), testSteps: [] as number[], testAccuracy: [] as number[], testLoss: [] as number[] };
  const t0 = Date.now();
  const pendC: tf.Tensor[] = [];
  const pendS: tf.Tensor[] = [];
  let pendFrom = 0;
  const flush = async (): Promise<void> => {
    if (pendC.length) {
      const a = tf.stack(pendC);
      const v = await a.data();
      a.dispose();
      for (let i = 0; i < pendC.length; i++) {
        clone.correct[pendFrom + i] = v[2 * i]!;
        clone.loss[pendFrom + i] = v[2 * i + 1]!;
      }
    }
    if (pendS.length) {
      const s = tf.stack(pendS);
      const w = await s.data();
      s.dispose();
      for (let i = 0; i < pendS.length; i++) {
        sgd.correct[pendFrom + i] = w[2 * i]!;
        sgd.loss[pendFrom + i] = w[2 * i + 1]!;
      }
    }
    pendC.forEach((t) => t.dispose());
    pendS.forEach((t) => t.dispose());
    pendC.length = 0;
    pendS.length = 0;
  };
  const evaluate = async (t: number): Promise<void> => {
    const lg = engine
      ? tf.tensor2d(engine.predict(test.x), [test.y.length, C])
      : predictLogits(model, state, xt, { chunkRows: Math.max(spec.chunkRows, 1) * 4 });
    const [acc, ce] = scoreLogits(lg, yt);
    lg.dispose();
    clone.testSteps.push(t);
    clone.testAccuracy.push(acc);
    clone.testLoss.push(ce);
    let sAcc: number | undefined;
    if (doSgd) {
      const sl = emulatedPredict(sw, sb, xt, aggregation);
      const [a2, c2] = scoreLogits(sl, yt);
      sl.dispose();
      sgd.testSteps.push(t);
      sgd.testAccuracy.push(a2);
      sgd.testLoss.push(c2);
      sAcc = a2;
    }
    await opts.onProgress?.({ dataset, seed, step: t, steps: T, elapsedMs: Date.now() - t0, testAccuracy: acc, ...(sAcc !== undefined ? { sgdTestAccuracy: sAcc } : {}) });
  };
  let episode = sampler.episode(0);
  try {
    for (let t = 0; t < T; t++) {
      if (t % spec.evalEvery === 0) {
        await flush();
        pendFrom = t;
        await evaluate(t);
      }
      const seg = Math.floor(t / spec.segment);
      const off = t % spec.segment;
      if (off === 0 && seg > 0) episode = sampler.episode(seg, episode);
      const xs = episode.x.subarray(off * B * D, (off + 1) * B * D);
      const ys = episode.y.subarray(off * B, (off + 1) * B);
      const x = tf.tensor2d(xs, [B, D]);
      const y = tf.tensor1d(ys, 'int32');
      if (engine) {
        const r = engine.runEpisode(xs, ys);
        clone.correct[t] = r.accuracy;
        clone.loss[t] = r.meanLoss;
      } else {
        const prev = state;
        const r = tidy(() => {
          const s = cloneStep(model, prev, x, y, { errorScale: spec.errorScale, chunkRows: spec.chunkRows });
          const onehot = tf.oneHot(y, C).toFloat();
          const corr = tf.mean(tf.cast(tf.equal(tf.cast(tf.argMax(s.logits, -1), 'int32'), y), 'float32'));
          const ce = tf.mean(tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(s.logits)), -1)));
          return { state: s.state, rec: tf.stack([corr, ce]) };
        });
        state = r.state;
        disposeState(prev, state);
        pendC.push(r.rec);
      }
      if (doSgd) {
        const st = sgdStep(sw, sb, x, y, emulation, { aggregation, ...(spec.sgd.lr === 'emulated' ? {} : { lr: spec.sgd.lr }) });
        const rec = tf.tidy(() => {
          const corr = tf.mean(tf.cast(tf.equal(tf.cast(tf.argMax(st.logits, -1), 'int32'), y), 'float32'));
          return tf.stack([corr, tf.mean(st.loss)]);
        });
        [...sw, ...sb, st.logits, st.loss].forEach((tt) => tt.dispose());
        sw = st.w;
        sb = st.b;
        pendS.push(rec);
      }
      x.dispose();
      y.dispose();
      if ((t + 1) % 10 === 0) {
        await yieldToEventLoop();
        await flush();
        pendFrom = t + 1;
        await opts.onProgress?.({ dataset, seed, step: t + 1, steps: T, elapsedMs: Date.now() - t0 });
      }
    }
    await flush();
    await evaluate(T);
  } finally {
    disposeState(state);
    [...sw, ...sb, xt, yt].forEach((t) => t.dispose());
    disposePreparedModel(model);
    disposeParams(params);
  }
  const elapsedMs = Date.now() - t0;
  return {
    clone: { learner: task.learnerName, dataset, seed, ...clone, elapsedMs },
    sgd: doSgd ? { learner: 'sgd-emulated', dataset, seed, ...sgd, elapsedMs } : null,
    counts: { vm: countVM(config), vl: countVL(config) },
  };
}
