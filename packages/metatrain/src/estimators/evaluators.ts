/**
 * Population evaluators for the evolution path. The unit of work is `{vmFlat, seed}` → loss (learned_optimization's
 * `WorkerWeights`): the seed fixes the task (class count, class subset, examples) and the initial state, so both
 * members of an antithetic pair (same seed) see the same data and start from the same V_L.
 *
 * - {@link InProcessEvaluator}: this thread, tfjs; units with the same class count run side by side as one batched
 *   episode with per-member V_M (used by the tests, and fine for small populations).
 * - {@link WorkerEvaluator}: worker threads through `@vsml/evolve`'s piscina pool; each worker loads the *built*
 *   package (`dist/es-worker.mjs`: worker threads cannot load `.ts` files), initialises its own tfjs backend and
 *   evaluates units one at a time.
 * - {@link FastEvaluator}: this thread, forward-only WASM kernels of this package (VSML, engine scope only).
 * core's forward WASM engine can be put behind the same {@link Evaluator} interface.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '@vsml/core';
import { PopulationEvaluator } from '@vsml/evolve';
import { MetatrainError } from '../errors.js';
import type { EpisodeBatch } from '../metatest.js';
import type { MetaModel } from '../model.js';
import type { TaskFamily, TaskFamilyConfigInput } from '../tasks/family.js';
import { createFastForward } from './fast-grad.js';

/** One evaluation: a flat V_M and the seed of its episode. */
export interface EvalUnit {
  readonly vmFlat: Float32Array;
  readonly seed: number;
}

/** Evaluates units; losses come back in unit order (mean cross-entropy per step of each unit's episode). */
export interface Evaluator {
  evaluate(units: readonly EvalUnit[]): Promise<Float64Array>;
  close(): Promise<void>;
}

/** Mean episode loss of each unit, in this thread (see module comment). */
export async function evaluateUnits(model: MetaModel, tasks: TaskFamily, units: readonly EvalUnit[], maxBatch = 64): Promise<Float64Array> {
  const out = new Float64Array(units.length);
  const groups = new Map<string, number[]>();
  const data = units.map((u) => tasks.unit(u.seed));
  data.forEach((d, i) => {
    const key = `${d.k}/${d.source}`;
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  for (const idx of groups.values()) {
    const step = model.perMemberTheta ? maxBatch : 1;
    for (let i0 = 0; i0 < idx.length; i0 += step) {
      const part = idx.slice(i0, i0 + step);
      const n = part.length;
      const first = data[part[0]!]!.batch;
      const { steps: T, dim: D } = first;
      const x = new Float32Array(T * n * D);
      const y = new Int32Array(T * n);
      part.forEach((u, j) => {
        const b = data[u]!.batch;
        for (let t = 0; t < T; t++) {
          x.set(b.x.subarray(t * D, (t + 1) * D), (t * n + j) * D);
          y[t * n + j] = b.y[t]!;
        }
      });
      const batch: EpisodeBatch = { x, y, steps: T, population: n, dim: D, numClasses: first.numClasses };
      const size = model.size;
      const thetaArr = new Float32Array(n * size);
      part.forEach((u, j) => {
        const v = units[u]!.vmFlat;
        if (v.length !== size) throw new MetatrainError('SHAPE_MISMATCH', `evaluator: unit ${u} has |V_M| = ${v.length}, the model ${size}`);
        thetaArr.set(v, j * size);
      });
      const losses = tf.tidy(() => {
        const theta = n === 1 ? tf.tensor1d(thetaArr) : tf.tensor2d(thetaArr, [n, size]);
        const carry = model.initCarry(batch, part.map((u) => units[u]!.seed));
        return model.segment(theta, batch, carry, 0, T).memberLoss;
      });
      const vals = await losses.data();
      losses.dispose();
      part.forEach((u, j) => {
        out[u] = vals[j]! / T;
      });
    }
  }
  return out;
}

/** In-process evaluator (tfjs in this thread). */
export class InProcessEvaluator implements Evaluator {
  constructor(
    private readonly model: MetaModel,
    private readonly tasks: TaskFamily,
    private readonly maxBatch = 64,
  ) {}

  evaluate(units: readonly EvalUnit[]): Promise<Float64Array> {
    return evaluateUnits(this.model, this.tasks, units, this.maxBatch);
  }

  async close(): Promise<void> {}
}

/**
 * Forward-only WASM evaluator for VSML (the kernels of the fast gradient engine): one unit at a time, its own V_M.
 * Same losses as {@link InProcessEvaluator} up to float rounding, much faster; configs outside the engine's scope
 * throw `UNSUPPORTED` at construction.
 */
export class FastEvaluator implements Evaluator {
  private readonly forward: (theta: Float32Array, batch: EpisodeBatch, seeds: readonly number[]) => Float64Array;

  constructor(
    model: MetaModel,
    private readonly tasks: TaskFamily,
  ) {
    this.forward = createFastForward(model);
  }

  async evaluate(units: readonly EvalUnit[]): Promise<Float64Array> {
    const out = new Float64Array(units.length);
    units.forEach((u, i) => {
      const tb = this.tasks.unit(u.seed);
      out[i] = this.forward(u.vmFlat, tb.batch, tb.seeds)[0]!;
    });
    return out;
  }

  async close(): Promise<void> {}
}

/** What every worker needs to rebuild the model and the task family (plain data, cloned once per task). */
export interface WorkerContext {
  /** `model.describe()` */
  readonly model: Record<string, unknown>;
  /** the task family config */
  readonly tasks: TaskFamilyConfigInput;
  /** tfjs backend in the workers (default `wasm`) */
  readonly backend?: 'wasm' | 'cpu' | 'tensorflow' | 'auto';
  /** `tfjs` (default: core's runEpisode) or `wasm` (the forward-only kernels of {@link FastEvaluator}) */
  readonly engine?: 'tfjs' | 'wasm';
}

/** Options of {@link WorkerEvaluator}. */
export interface WorkerEvaluatorOptions extends WorkerContext {
  /** worker threads (default 1) */
  readonly threads?: number;
  /** the worker module (default: `es-worker.mjs` next to the built bundle) */
  readonly module?: string;
}

/** The built worker module of this package, or null when the package has not been built. */
export function defaultWorkerModule(): string | null {
  // dist/ in the built package, src/estimators under jest (import.meta.url works in ESM, CJS and both jest modes)
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of [join(here, 'es-worker.mjs'), join(here, '../../dist/es-worker.mjs'), join(here, '../dist/es-worker.mjs')]) {
    if (existsSync(p)) return p;
  }
  return null;
}

/** Worker-thread evaluator over `@vsml/evolve`'s pool (see module comment). */
export class WorkerEvaluator implements Evaluator {
  private readonly pool: PopulationEvaluator;

  constructor(opts: WorkerEvaluatorOptions) {
    const module = opts.module ?? defaultWorkerModule();
    if (module === null) {
      throw new MetatrainError('EVALUATOR_FAILED', 'WorkerEvaluator: dist/es-worker.mjs not found; build the package first (pnpm --filter @vsml/metatrain build)');
    }
    const context: WorkerContext = { model: opts.model, tasks: opts.tasks, backend: opts.backend ?? 'wasm', engine: opts.engine ?? 'tfjs' };
    this.pool = new PopulationEvaluator({ module, exportName: 'unitLoss', threads: opts.threads ?? 1, context, failureFitness: Number.NaN });
  }

  async evaluate(units: readonly EvalUnit[]): Promise<Float64Array> {
    const r = await this.pool.evaluate(
      units.map((u) => Float64Array.from(u.vmFlat)),
      { seeds: units.map((u) => u.seed) },
    );
    if (r.errors.length > 0) {
      const e = r.errors[0]!;
      throw new MetatrainError('EVALUATOR_FAILED', `worker evaluation failed for ${r.errors.length} unit(s); first (unit ${e.index}): ${e.name} ${e.code}: ${e.message}`, {
        details: { errors: r.errors.slice(0, 5) },
      });
    }
    return Float64Array.from(r.fitness);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
