/**
 * Improving a cloned learning algorithm (App. B, Fig. 9; Table 2): sep-CMA-ES of `@vsml/evolve` on the cloned V_M,
 * fitness = the loss of the learner after a long unrolled episode on MNIST (train split).
 *
 * - Search space: every V_M entry (`params: 'all'`) or only the biases and messengers (`'biases'`: lstm.b, fwd.*,
 *   bwd.*), around x0 = the clone, σ0 = 0.1 (Table 2).
 * - Fitness of a candidate: the learner (the clone's meta-test step: inner batch with state averaging, state clip)
 *   runs `steps` online steps; fitness = mean online cross-entropy over the last `fitnessWindow` fraction of the steps
 *   (the loss "after" the episode, measured prequentially so that no extra held-out data is needed).
 * - Common random numbers: every candidate of generation g sees the same episode (data and initial state from g),
 *   different generations see different episodes. Minimisation; only ranks enter CMA-ES.
 * - Resumable: the CMA-ES state (with its generator), the history and the best point evaluated so far (entries and
 *   fitness) go into a `train` checkpoint, so a resumed search ends with the same mean, best and history.
 * - Engines: `wasm` (default) runs the λ candidates, the unchanged clone and the mean of a generation as P = λ + 2
 *   members of core's forward engine, each with its own V_M, the same data and the same initial state
 *   ({@link EngineFitness}); `tfjs` runs them one after the other with `cloneStep` ({@link fitnessOf}, the reference).
 *   Both give the same fitness to float rounding.
 */
import { tf, initState, type ForwardEngine, paramLayout, prepareModel, disposePreparedModel, unflattenParams, disposeParams, disposeState, type CheckpointInput, type ModelConfig, type Provenance, type VlState } from '@vsml/core';
import { openEpisodeSampler, type EpisodeSampler } from '@vsml/datasets';
import { CmaEs } from '@vsml/evolve';
import { Rng } from '@vsml/rng';
import { assertCloningDataset, cloneModelConfig, EmulationSchema, ImproveSchema, parseWith, type Emulation, type EmulationInput, type ImproveInput, type ImproveSpec } from './config.js';
import { CloneError } from './errors.js';
import { cloneMemberBytes, createClonePopulationEngine, parseCloneEngine, type CloneEngine } from './engine.js';
import { cloneStep, tidy, yieldToEventLoop } from './loop.js';
import { vmCheckpoint } from './vm.js';

/** The `optimizer.format` of an improve `train` checkpoint. */
export const IMPROVE_CHECKPOINT_FORMAT = 'vsml-clone/improve';

/** One generation of the search. */
export interface ImproveRecord {
  readonly kind: 'improve';
  readonly generation: number;
  /** fitness of the unchanged clone on this generation's episode */
  readonly baseline: number;
  /** fitness of the current mean (before this generation's update) on this generation's episode */
  readonly meanFitness: number;
  readonly best: number;
  readonly median: number;
  readonly worst: number;
  readonly sigma: number;
  readonly elapsedMs: number;
}

/** Options of {@link improveClone}. */
export interface ImproveOptions {
  /** the cloned V_M (flat, layout order) */
  readonly vm: Float32Array;
  readonly model?: Record<string, unknown>;
  readonly emulation?: Emulation | EmulationInput;
  readonly spec?: ImproveSpec | ImproveInput;
  /** continue from a `train` checkpoint of this function (its `optimizer` field) */
  readonly resume?: { readonly optimizer?: unknown };
  readonly provenance?: Partial<Provenance>;
  readonly loadOptions?: Parameters<typeof openEpisodeSampler>[1];
  readonly onGeneration?: (r: ImproveRecord) => void | Promise<void>;
  readonly onCheckpoint?: (c: CheckpointInput, info: { generation: number; final: boolean }) => void | Promise<void>;
  readonly onProgress?: (p: { generation: number; generations: number; candidate: number; candidates: number; elapsedMs: number }) => void | Promise<void>;
  readonly shouldStop?: () => boolean;
  /** `wasm` (default): all candidates of a generation side by side on core's forward engine; `tfjs`: `cloneStep` */
  readonly engine?: CloneEngine;
  /** `wasm` engine: memory for the members' states of one engine (default 1 GiB); more members run in groups */
  readonly engineMemoryBytes?: number;
}

/** What {@link improveClone} returns. */
export interface ImproveResult {
  /** V_M at the final CMA-ES mean (the improved learning algorithm) */
  readonly vm: Float32Array;
  /**
   * the best V_M evaluated: the lowest fitness over every candidate, the unchanged clone and the mean, each on its own
   * generation's episode (so never worse than the unchanged clone's fitness in any generation; kept across resume)
   */
  readonly best: Float32Array;
  readonly bestFitness: number;
  readonly history: readonly ImproveRecord[];
  readonly model: ModelConfig;
  readonly stopped: boolean;
}

interface ImproveState {
  readonly format: typeof IMPROVE_CHECKPOINT_FORMAT;
  readonly version: 1;
  readonly generation: number;
  readonly cmaes: unknown;
  readonly history: ImproveRecord[];
  readonly indices: number[];
  /** the best evaluated point so far (searched entries only; null before the first generation); absent in checkpoints of older versions */
  readonly best?: { readonly f: number; readonly x: number[] } | null;
}

/** Flat-vector indices of the searched entries of V_M. */
export function searchIndices(config: ModelConfig, which: ImproveSpec['params']): number[] {
  const out: number[] = [];
  for (const s of paramLayout(config)) {
    if (which === 'biases' && s.base === 'lstm.w') continue;
    for (let i = 0; i < s.size; i++) out.push(s.offset + i);
  }
  return out;
}

/** The fitness episode of one generation: its data in segments of `segment` steps, and the initial-state seed. */
export interface FitnessEpisode {
  readonly segment: number;
  /** data of segment k: x `[segment·B·D]`, y `[segment·B]` */
  data(k: number): { readonly x: Float32Array; readonly y: Int32Array };
  readonly stateSeed: number;
}

/**
 * Fitness of one V_M on one episode: mean online cross-entropy over the last `window` fraction of the steps.
 * Exported for tests and for evaluating a V_M outside the search.
 */
export function fitnessOf(vm: Float32Array, config: ModelConfig, ep: FitnessEpisode, spec: FitnessSpec): number {
  const B = spec.innerBatch;
  const D = config.layers[0]!.in;
  const C = config.layers[config.layers.length - 1]!.out;
  const T = spec.steps;
  const from = T - Math.max(1, Math.round(T * spec.fitnessWindow));
  const params = unflattenParams(config, vm);
  const model = prepareModel(params, config);
  let state: VlState = initState(config, { population: 1, innerBatch: B, seed: ep.stateSeed });
  let acc: tf.Tensor = tf.scalar(0);
  let seg = ep.data(0);
  try {
    for (let t = 0; t < T; t++) {
      const prev = state;
      const a = acc;
      const off = t % ep.segment;
      if (off === 0 && t > 0) seg = ep.data(t / ep.segment);
      const r = tidy(() => {
        const x = tf.tensor2d(seg.x.subarray(off * B * D, (off + 1) * B * D), [B, D]);
        const y = tf.tensor1d(seg.y.subarray(off * B, (off + 1) * B), 'int32');
        const s = cloneStep(model, prev, x, y, { errorScale: spec.errorScale, chunkRows: spec.chunkRows });
        const ce = t >= from ? tf.mean(tf.neg(tf.sum(tf.mul(tf.oneHot(y, C).toFloat(), tf.logSoftmax(s.logits)), -1))) : tf.scalar(0);
        return { state: s.state, acc: tf.add(a, ce) };
      });
      state = r.state;
      acc = r.acc;
      a.dispose();
      disposeState(prev, state);
    }
    const v = acc.dataSync()[0]! / (T - from);
    return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
  } finally {
    acc.dispose();
    disposeState(state);
    disposePreparedModel(model);
    disposeParams(params);
  }
}

/** The spec fields a fitness evaluation reads. */
export type FitnessSpec = Pick<ImproveSpec, 'steps' | 'innerBatch' | 'fitnessWindow' | 'errorScale' | 'chunkRows'>;

/**
 * Fitness of many V_M on one episode on core's forward engine ({@link createClonePopulationEngine}): every V_M is
 * one member with its own parameters, the same data and the same initial state (`initState` seed `ep.stateSeed`,
 * member key 0 for all: the state {@link fitnessOf} starts from). Members run in groups of at most
 * `floor(memoryBytes / cloneMemberBytes)`; the engines (one per group size) are kept for the next call. A member's
 * fitness does not depend on the grouping; it equals {@link fitnessOf} to float rounding.
 */
export class EngineFitness {
  /** most members one engine holds */
  readonly maxMembers: number;
  private readonly engines = new Map<number, { engine: ForwardEngine; x: Float32Array; y: Int32Array }>();

  constructor(
    readonly config: ModelConfig,
    readonly spec: FitnessSpec,
    memoryBytes = 2 ** 30,
  ) {
    if (!(memoryBytes > 0)) throw new CloneError('BAD_ARGUMENT', `EngineFitness: memoryBytes must be > 0, got ${memoryBytes}`);
    this.maxMembers = Math.max(1, Math.floor(memoryBytes / cloneMemberBytes(config, spec.innerBatch)));
  }

  private engineFor(P: number): { engine: ForwardEngine; x: Float32Array; y: Int32Array } {
    let e = this.engines.get(P);
    if (!e) {
      const engine = createClonePopulationEngine(this.config, P, this.spec.innerBatch, this.spec.errorScale);
      const n = engine.segmentSteps * engine.rows;
      e = { engine, x: new Float32Array(n * this.config.layers[0]!.in), y: new Int32Array(n) };
      this.engines.set(P, e);
    }
    return e;
  }

  /**
   * Fitness of each V_M (mean online cross-entropy over the last `fitnessWindow` of the steps; +∞ when not finite).
   * @param onGroup called after each group of members with the number of members done (e.g. progress, yielding)
   */
  async evaluate(vms: readonly Float32Array[], ep: FitnessEpisode, onGroup?: (done: number) => void | Promise<void>): Promise<number[]> {
    const out: number[] = [];
    const nGroups = Math.ceil(vms.length / this.maxMembers);
    for (let g = 0; g < nGroups; g++) {
      const group = vms.slice(g * this.maxMembers, (g + 1) * this.maxMembers);
      out.push(...this.group(group, ep));
      await onGroup?.(out.length);
    }
    return out;
  }

  private group(vms: readonly Float32Array[], ep: FitnessEpisode): number[] {
    const P = vms.length;
    const { engine, x, y } = this.engineFor(P);
    const B = this.spec.innerBatch;
    const D = this.config.layers[0]!.in;
    const T = this.spec.steps;
    const from = T - Math.max(1, Math.round(T * this.spec.fitnessWindow));
    const n = engine.paramCount;
    const flat = new Float32Array(P * n);
    vms.forEach((v, p) => {
      if (v.length !== n) throw new CloneError('SHAPE_MISMATCH', `EngineFitness: V_M ${p} has ${v.length} entries, the model needs ${n}`);
      flat.set(v, p * n);
    });
    engine.setPopulationParamsFlat(flat);
    engine.initState(ep.stateSeed, new Array<number>(P).fill(0));
    const acc = new Float64Array(P);
    const E = P * B;
    let segK = -1;
    let seg: { readonly x: Float32Array; readonly y: Int32Array } = { x: new Float32Array(0), y: new Int32Array(0) };
    for (let t0 = 0; t0 < T; ) {
      const k = Math.floor(t0 / ep.segment);
      const off = t0 % ep.segment;
      const steps = Math.min(engine.segmentSteps, ep.segment - off, T - t0);
      if (k !== segK) {
        seg = ep.data(k);
        segK = k;
      }
      // the same B rows of data for every member: x [steps, P, B, D], y [steps, P, B]
      for (let s = 0; s < steps; s++) {
        const xs = seg.x.subarray((off + s) * B * D, (off + s + 1) * B * D);
        const ys = seg.y.subarray((off + s) * B, (off + s + 1) * B);
        for (let p = 0; p < P; p++) {
          x.set(xs, (s * P + p) * B * D);
          y.set(ys, (s * P + p) * B);
        }
      }
      const r = engine.runEpisode(x.subarray(0, steps * E * D), y.subarray(0, steps * E));
      for (let s = 0; s < steps; s++) {
        if (t0 + s < from) continue;
        for (let p = 0; p < P; p++) {
          let m = 0;
          for (let b = 0; b < B; b++) m += r.loss[s * E + p * B + b]!;
          acc[p] = acc[p]! + m / B;
        }
      }
      t0 += steps;
    }
    return Array.from(acc, (a) => {
      const v = a / (T - from);
      return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
    });
  }
}

/**
 * Runs sep-CMA-ES around a cloned V_M (see the module comment). The `tfjs` engine needs an initialised tfjs backend.
 * @throws CloneError FORBIDDEN_DATASET, BAD_CONFIG, BAD_ARGUMENT, CHECKPOINT_MISMATCH
 */
export async function improveClone(opts: ImproveOptions): Promise<ImproveResult> {
  const spec = parseWith(ImproveSchema, opts.spec ?? {}, 'improve');
  const emulation = parseWith(EmulationSchema, opts.emulation ?? {}, 'emulation');
  void emulation;
  assertCloningDataset(spec.dataset, 'improve');
  const sampler: EpisodeSampler = openEpisodeSampler(
    { dataset: spec.dataset, split: 'train', population: 1, length: Math.min(spec.segment, spec.steps), batch: spec.innerBatch, seed: spec.seed, preprocess: spec.preprocess },
    opts.loadOptions ?? {},
  );
  const config = cloneModelConfig(opts.model ?? {}, [sampler.dim, ...spec.hidden, sampler.numClasses]);
  const indices = searchIndices(config, spec.params);
  const base = Float32Array.from(opts.vm);
  if (base.length !== paramLayout(config).reduce((a, s) => a + s.size, 0)) {
    throw new CloneError('SHAPE_MISMATCH', `improveClone: V_M has ${base.length} entries, the model needs ${paramLayout(config).reduce((a, s) => a + s.size, 0)}`);
  }
  const engine = parseCloneEngine(opts.engine, 'improveClone');
  const engineFit = engine === 'wasm' ? new EngineFitness(config, spec, opts.engineMemoryBytes) : null;
  const compose = (sub: Float64Array): Float32Array => {
    const v = Float32Array.from(base);
    indices.forEach((j, i) => (v[j] = sub[i]!));
    return v;
  };
  let es: CmaEs;
  let generation = 0;
  let best: { x: Float64Array; f: number } = { x: Float64Array.from(indices, (j) => base[j]!), f: Number.POSITIVE_INFINITY };
  const history: ImproveRecord[] = [];
  const st = opts.resume?.optimizer as Partial<ImproveState> | undefined;
  if (st) {
    if (st.format !== IMPROVE_CHECKPOINT_FORMAT || !Array.isArray(st.indices) || st.indices.length !== indices.length) {
      throw new CloneError('CHECKPOINT_MISMATCH', `improve resume: not an improve checkpoint of this search space (format ${String(st.format)})`);
    }
    if ((st.generation ?? 0) > 0 && st.best === undefined) {
      throw new CloneError('CHECKPOINT_MISMATCH', 'improve resume: the checkpoint holds no best candidate (written by an older version); the resumed search could not report the best candidate of the whole run');
    }
    es = CmaEs.fromJSON(st.cmaes);
    generation = st.generation ?? 0;
    history.push(...(st.history ?? []));
    if (st.best) {
      if (!Array.isArray(st.best.x) || st.best.x.length !== indices.length || typeof st.best.f !== 'number') {
        throw new CloneError('CHECKPOINT_MISMATCH', `improve resume: the checkpoint's best point does not fit this search space (${indices.length} entries)`);
      }
      best = { x: Float64Array.from(st.best.x), f: st.best.f };
    }
  } else {
    es = new CmaEs({ x0: Float64Array.from(indices, (j) => base[j]!), sigma0: spec.sigma0, seed: spec.seed, popSize: spec.popSize, diagonal: true });
  }
  const t0 = Date.now();
  const provenance = (extra: Record<string, unknown>): Provenance => ({ command: 'improveClone', seed: spec.seed, ...opts.provenance, ...extra });
  const checkpoint = async (final: boolean): Promise<void> => {
    if (!opts.onCheckpoint) return;
    const state: ImproveState = { format: IMPROVE_CHECKPOINT_FORMAT, version: 1, generation, cmaes: es.toJSON(), history, indices, best: Number.isFinite(best.f) ? { f: best.f, x: Array.from(best.x) } : null };
    const c = vmCheckpoint(compose(es.mean), config, provenance({ generation }));
    await opts.onCheckpoint({ ...c, kind: 'train', optimizer: state, rng: null, step: generation }, { generation, final });
  };
  let stopped = false;
  while (generation < spec.generations) {
    const g = generation;
    const segLen = sampler.config.length;
    const nSeg = Math.ceil(spec.steps / segLen);
    const cache = new Map<number, { x: Float32Array; y: Int32Array }>();
    const ep: FitnessEpisode = {
      segment: segLen,
      data: (k) => {
        let d = cache.get(k);
        if (!d) {
          const e = sampler.episode(g * nSeg + k);
          d = { x: e.x, y: e.y };
          if (nSeg <= 20) cache.set(k, d);
        }
        return d;
      },
      stateSeed: Rng.fromSeed(spec.seed, 0x494d50, g).int(0, 2 ** 31),
    };
    const xs = es.ask();
    let fit: number[];
    let baseline: number;
    let meanFitness: number;
    if (engineFit) {
      // λ candidates, the unchanged clone and the mean: P = λ + 2 members of one episode
      const all = await engineFit.evaluate([...xs.map(compose), base, compose(es.mean)], ep, async (done) => {
        await yieldToEventLoop();
        await opts.onProgress?.({ generation: g, generations: spec.generations, candidate: done, candidates: xs.length + 2, elapsedMs: Date.now() - t0 });
      });
      fit = all.slice(0, xs.length);
      baseline = all[xs.length]!;
      meanFitness = all[xs.length + 1]!;
    } else {
      fit = [];
      for (let i = 0; i < xs.length; i++) {
        fit.push(fitnessOf(compose(xs[i]!), config, ep, spec));
        await yieldToEventLoop();
        await opts.onProgress?.({ generation: g, generations: spec.generations, candidate: i + 1, candidates: xs.length, elapsedMs: Date.now() - t0 });
      }
      baseline = fitnessOf(base, config, ep, spec);
      meanFitness = fitnessOf(compose(es.mean), config, ep, spec);
    }
    const meanX = Float64Array.from(es.mean);
    es.tell(xs, fit);
    const sorted = [...fit].sort((a, b) => a - b);
    const ib = fit.indexOf(sorted[0]!);
    // the best evaluated point: candidates first, then the unchanged clone, then the mean (ties keep the earlier)
    if (sorted[0]! < best.f) best = { x: Float64Array.from(xs[ib]!), f: sorted[0]! };
    if (baseline < best.f) best = { x: Float64Array.from(indices, (j) => base[j]!), f: baseline };
    if (meanFitness < best.f) best = { x: meanX, f: meanFitness };
    const rec: ImproveRecord = {
      kind: 'improve',
      generation: g,
      baseline,
      meanFitness,
      best: sorted[0]!,
      median: sorted[Math.floor(sorted.length / 2)]!,
      worst: sorted[sorted.length - 1]!,
      sigma: es.sigma,
      elapsedMs: Date.now() - t0,
    };
    history.push(rec);
    generation++;
    await opts.onGeneration?.(rec);
    if (spec.checkpointEvery > 0 && generation % spec.checkpointEvery === 0 && generation < spec.generations) await checkpoint(false);
    if (opts.shouldStop?.()) {
      stopped = true;
      await checkpoint(false);
      break;
    }
  }
  if (!stopped) await checkpoint(true);
  return { vm: compose(es.mean), best: compose(best.x), bestFitness: best.f, history, model: config, stopped };
}
