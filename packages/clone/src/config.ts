/**
 * Configs of learning-algorithm cloning: one strict zod schema per piece (unknown keys are errors), the types come
 * from `z.infer`. A {@link ClonePreset} bundles everything one clone → meta-test → improve run needs:
 *
 * - `model`: the VSML model options of `@vsml/core` without `layers` (the layer sizes come from each stage / task);
 * - `emulation`: what the sub-RNNs must compute (where w and b live, the ×scale of App. C, the learning rate η);
 * - `curriculum`: the cloning stages, in order (App. B), as data;
 * - `metatest`: the meta-test protocol of the clone (App. D stabilisers);
 * - `improve`: sep-CMA-ES on the cloned V_M (App. B, Table 2).
 *
 * The two presets (`paper`, `quick`) are plain objects in `presets.ts`; every value is documented in README.md.
 */
import { parseModelConfig, type ModelConfig, type ModelConfigInput } from '@vsml/core';
import { PreprocessSpecSchema } from '@vsml/datasets';
import { z } from 'zod';
import { CloneError } from './errors.js';

const posInt = z.int().positive();
const nonNegInt = z.int().nonnegative();
const range = z.tuple([z.number(), z.number()]).refine((r) => r[0] <= r[1], 'needs lo <= hi');
const posRange = z.tuple([z.number().positive(), z.number().positive()]).refine((r) => r[0] <= r[1], 'needs lo <= hi');

/** Datasets that cloning and improving may never touch (they are kept for the out-of-distribution meta-test). */
export const HELD_OUT_DATASETS = ['fashion_mnist'] as const;

function isHeldOut(name: string): boolean {
  const n = name.toLowerCase();
  return HELD_OUT_DATASETS.some((h) => n === h || n.includes('fashion'));
}

/**
 * What every sub-RNN (a, b) must compute (Eq. 13 / 14 of the workshop paper, App. C):
 * - it stores `w_ab = scale · s[wDim]` and `b_ab = scale · s[bDim]` in state component `component` (c or h);
 * - forward tick with input x (forward slot 0): emits `tanh(x)·w + b` in forward slot 0, zeros elsewhere;
 * - reverse tick with input x and error e (backward slot 0): emits `e·w·(1 − tanh²x)` in backward slot 0, zeros
 *   elsewhere, and changes the stored values by `Δw = −η·e·tanh(x)`, `Δb = −η_b·e` (stored units: divided by scale).
 */
export const EmulationSchema = z.strictObject({
  /** state component holding w and b: `c` (cell state, the slow one; default) or `h` (as Eq. 13 writes it) */
  component: z.enum(['c', 'h']).default('c'),
  /** index of w inside the component */
  wDim: nonNegInt.default(0),
  /** index of b inside the component */
  bDim: nonNegInt.default(1),
  /** App. C: w and b are stored divided by this factor, targets are in full units (paper: 20) */
  scale: z.number().positive().default(20),
  /** learning rate η of the emulated rule `Δw = −η·e·tanh(x)` (full units) */
  eta: z.number().positive().default(1),
  /** learning rate of the bias `Δb = −η_b·e`; null = η */
  biasEta: z.number().nonnegative().nullable().default(null),
});
/** A validated emulation spec. */
export type Emulation = z.infer<typeof EmulationSchema>;
/** An emulation spec as written. */
export type EmulationInput = z.input<typeof EmulationSchema>;

/** Loss weights of the cloning objective (every term is Smooth L1 = Huber with δ = 1). */
export const LossWeightsSchema = z.strictObject({
  /** forward message slot 0 vs `tanh(x)·w + b` (full units) */
  fwd: z.number().nonnegative().default(1),
  /** backward message slot 0 vs `e·w·(1 − tanh²x)` (network stages: the VSML-scaled backprop error) */
  bwd: z.number().nonnegative().default(1),
  /** change of the stored w, b in a step vs the target update, measured in units of η/scale (i.e. vs `e·tanh x`, `e`) */
  update: z.number().nonnegative().default(1),
  /** change of the stored w, b during the forward tick (must be 0), same units as `update` */
  hold: z.number().nonnegative().default(1),
  /** the other message slots (must be 0, so that every layer sees messages in the injection format) */
  zeroSlots: z.number().nonnegative().default(0.1),
  /** sub-RNN stages with `groupSize` > 1: the group-mean update vs the group-mean target (units of η) */
  groupUpdate: z.number().nonnegative().default(0),
});
/** Validated loss weights. */
export type LossWeights = z.infer<typeof LossWeightsSchema>;

/** Adam on the flat V_M vector, with optional global-norm clipping. */
export const OptimizerSchema = z.strictObject({
  lr: z.number().positive().default(5e-3),
  /** cosine decay of the learning rate from `lr` to `lrEnd` over the stage (null: constant) */
  lrEnd: z.number().positive().nullable().default(null),
  beta1: z.number().min(0).max(1).default(0.9),
  beta2: z.number().min(0).max(1).default(0.999),
  eps: z.number().positive().default(1e-8),
  /** clip the gradient to this global L2 norm (null: no clipping) */
  gradClip: z.number().positive().nullable().default(null),
});
/** Validated optimiser settings. */
export type OptimizerSpec = z.infer<typeof OptimizerSchema>;

/** Random data of the sub-RNN stage. */
export const RandomDataSchema = z.strictObject({
  /** x ~ N(0, xStd²) (Table 1: random data std 2) */
  xStd: z.number().positive().default(2),
  /** error e = z·σ, z ~ N(0,1), σ log-uniform in this range (per row and step) */
  errStd: posRange.default([0.02, 1]),
  /** fraction of (row, step) pairs whose reverse tick gets e = 0 exactly (nothing to learn: must hold still) */
  errZero: z.number().min(0).max(1).default(0.1),
  /**
   * stored w ~ N(0, σ²) in stored units (w = scale·stored) on (re)initialisation, σ log-uniform in this range per row
   * (small σ: the weights of a fresh network, 20·N(0, 1/I); large: a network that has learned)
   */
  wStd: posRange.default([0.5, 0.5]),
  /** stored b ~ N(0, σ²) in stored units, σ log-uniform in this range */
  bStd: posRange.default([0.1, 0.1]),
  /** other random cell dims as `initState` with σ = 1/sqrt(I), I log-uniform in this fan-in range */
  fanIn: posRange.default([10, 1000]),
});
/** Validated random-data settings. */
export type RandomData = z.infer<typeof RandomDataSchema>;

/**
 * Stage on independent sub-RNNs with random data (App. B "random data"; Eq. 13/14 per sub-RNN). A persistent pool of
 * `batch` sub-RNNs is unrolled `window` steps per iteration (each step = forward tick + reverse tick, as in a meta-test
 * step); `resetFraction` of the pool is re-initialised before every iteration, so the pool holds sub-RNNs of every age
 * (the stationary regime) while the stored w, b stay near their sampled distribution.
 */
export const SubRnnStageSchema = z
  .strictObject({
  kind: z.literal('subrnn'),
  name: z.string().min(1),
  iterations: nonNegInt,
  /** N: sub-RNNs per iteration (Table 1: 32,768) */
  batch: posInt,
  /** steps per iteration (truncated BPTT length) */
  window: posInt.default(2),
  /** fraction of the pool re-initialised before each iteration (1 = always fresh) */
  resetFraction: z.number().min(0).max(1).default(0.1),
  /** steps without loss after a (re)initialisation, before the row enters the loss */
  warmup: nonNegInt.default(0),
  /**
   * rows per group: before every step the state is averaged over each group of rows (as the inner batch is at
   * meta-test), and `loss.groupUpdate` compares the group-mean update with the group-mean target, so errors that do
   * not average out over a batch (systematic ones) weigh more; `batch` must be a multiple (1 = independent rows)
   */
  groupSize: posInt.default(1),
  data: RandomDataSchema.prefault({}),
  loss: LossWeightsSchema.prefault({}),
  optimizer: OptimizerSchema.prefault({}),
  /** metrics record every this many iterations */
  logEvery: posInt.default(25),
  /** checkpoint every this many iterations (0: only at the end of the stage) */
  checkpointEvery: nonNegInt.default(500),
  })
  .refine((s) => s.batch % s.groupSize === 0, { message: 'batch must be a multiple of groupSize', path: ['groupSize'] });
/** A validated sub-RNN stage. */
export type SubRnnStage = z.infer<typeof SubRnnStageSchema>;

/** Data of a network stage: a dataset of `@vsml/datasets` (train split) or random Gaussian inputs. */
export const NetworkDataSchema = z.strictObject({
  /** a dataset of `@vsml/datasets` (train split, e.g. `mnist`) or `gaussian` (x ~ N(0, xStd²), uniform labels); Fashion-MNIST is refused */
  dataset: z.string().min(1).default('mnist'),
  preprocess: PreprocessSpecSchema.prefault({}),
  /** `gaussian` only: input dimension and std, number of classes */
  dim: posInt.default(784),
  xStd: z.number().positive().default(2),
  classes: posInt.default(10),
});

/**
 * Stage on whole VSML networks (layers `[D, ...hidden, C]`) learning online from a data stream exactly as in the
 * meta-test (inner batch with state merging, forward tick, error, reverse tick), with ground-truth targets from a
 * real tfjs network that has the weights the sub-RNNs currently store.
 */
export const NetworkStageSchema = z.strictObject({
  kind: z.literal('network'),
  name: z.string().min(1),
  iterations: nonNegInt,
  /** hidden layer sizes ([] = shallow, [32] = deep) */
  hidden: z.array(posInt).default([]),
  data: NetworkDataSchema.prefault({}),
  /** independent learners per iteration */
  population: posInt.default(1),
  /** inner batch B per learner (state merging before each step) */
  innerBatch: posInt.default(8),
  /** steps per iteration (truncated BPTT length) */
  window: posInt.default(2),
  /** a learner restarts from a fresh initial state after this many steps (persistent between iterations) */
  episodeLength: posInt.default(200),
  /**
   * Teacher forcing from the ground-truth network: `activations` replaces the forward messages entering hidden
   * layers, `errors` replaces the backward messages entering layers below the last (curriculum step ii: errors).
   */
  teacher: z.strictObject({ activations: z.boolean().default(false), errors: z.boolean().default(false) }).prefault({}),
  /**
   * `global`: targets from the ground-truth network on the true input (backprop of the stored weights);
   * `local`: each layer's targets from the messages it actually received (its own job, Eq. 13/14).
   */
  targets: z.enum(['global', 'local']).default('global'),
  /**
   * Where a (re)started learner's weights come from: `state` = the fresh `initState` (w ~ 20·N(0, 1/I)); `sgd` = the
   * emulated network trained by SGD (the rule, batch B) for a uniform random number of steps in [0, maxSteps] on its
   * own stream, so the clone sees the weight magnitudes of a network that has learned.
   */
  initWeights: z
    .discriminatedUnion('kind', [z.strictObject({ kind: z.literal('state') }), z.strictObject({ kind: z.literal('sgd'), maxSteps: posInt })])
    .default({ kind: 'state' }),
  /**
   * Rehearsal of the random sub-RNN task: each iteration also adds `weight ×` the sub-RNN loss of a persistent pool
   * of `batch` random sub-RNNs (one window of `window` steps), so that the clone keeps the rule on the whole range of
   * inputs, errors and weights while it adapts to network statistics (0 = off).
   */
  rehearsal: z
    .strictObject({
      weight: z.number().nonnegative().default(0),
      batch: posInt.default(256),
      window: posInt.default(2),
      data: RandomDataSchema.prefault({}),
    })
    .prefault({}),
  /**
   * Divide each layer's fwd / bwd / update errors by the RMS of their targets in the step (zero gradient), so that
   * the loss measures relative errors: hidden-layer errors are much smaller than the output's, and would otherwise
   * barely enter the loss.
   */
  normalize: z.boolean().default(true),
  loss: LossWeightsSchema.prefault({}),
  optimizer: OptimizerSchema.prefault({}),
  logEvery: posInt.default(10),
  checkpointEvery: nonNegInt.default(100),
});
/** A validated network stage. */
export type NetworkStage = z.infer<typeof NetworkStageSchema>;
/** A network stage as written. */
export type NetworkStageInput = z.input<typeof NetworkStageSchema>;

/** One curriculum stage. */
export const StageSchema = z.discriminatedUnion('kind', [SubRnnStageSchema, NetworkStageSchema]);
/** A validated stage. */
export type Stage = z.infer<typeof StageSchema>;
/** A stage as written. */
export type StageInput = z.input<typeof StageSchema>;

/** The meta-test protocol of the clone (App. D stabilisers; test accuracy on a fixed held-out set). */
export const MetaTestSchema = z.strictObject({
  /** datasets to meta-test on (train split streams; test accuracy on the test split) */
  datasets: z.array(z.string().min(1)).min(1).default(['mnist', 'fashion_mnist']),
  /** hidden sizes of the emulated network ([] shallow, [32] deep) */
  hidden: z.array(posInt).default([]),
  preprocess: PreprocessSpecSchema.prefault({}),
  /** online steps (each one inner batch) */
  steps: posInt.default(500),
  /** inner batch B (App. D: 64), states merged before each step */
  innerBatch: posInt.default(64),
  seeds: z.array(z.int()).min(1).default([1, 2, 3]),
  /** test accuracy every this many steps (and at step 0 and the end) */
  evalEvery: posInt.default(100),
  /** test images (the first `evalCount` of the test split) */
  evalCount: posInt.default(1000),
  /**
   * the clone's injected error is errorScale·(softmax − onehot): a learning-rate knob of the clone only (e.g. the
   * inverse of its measured update gain, `calibrateClone`); the SGD baseline always runs the rule's nominal rates
   */
  errorScale: z.number().positive().default(1),
  /** rows per tensor chunk inside a tick (memory bound on wasm) */
  chunkRows: posInt.default(16),
  /** steps of data sampled at once */
  segment: posInt.default(100),
  /** real SGD baseline on the emulated network: `emulated` = the per-layer learning rates of a perfect clone */
  sgd: z
    .strictObject({ enabled: z.boolean().default(true), lr: z.union([z.literal('emulated'), z.number().positive()]).default('emulated') })
    .prefault({}),
});
/** A validated meta-test spec. */
export type MetaTestSpec = z.infer<typeof MetaTestSchema>;
/** A meta-test spec as written. */
export type MetaTestInput = z.input<typeof MetaTestSchema>;

/** sep-CMA-ES on the cloned V_M (App. B, Table 2). */
export const ImproveSchema = z.strictObject({
  /** CMA-ES generations (Table 2: 200) */
  generations: posInt.default(200),
  /** λ (Table 2 "batch size 64" read as the population of one generation) */
  popSize: z.int().min(2).default(64),
  /** initial step size σ0 (Table 2: 0.1) */
  sigma0: z.number().positive().default(0.1),
  /** which V_M entries are searched: `all`, or only biases and messengers (`biases`: lstm.b, fwd.*, bwd.*) */
  params: z.enum(['all', 'biases']).default('all'),
  /** inner steps of one fitness episode (Table 2: 10^4) */
  steps: posInt.default(10000),
  /** inner batch of the fitness episode */
  innerBatch: posInt.default(64),
  hidden: z.array(posInt).default([]),
  /** dataset of the fitness episodes (train split); Fashion-MNIST is refused */
  dataset: z.string().min(1).default('mnist'),
  preprocess: PreprocessSpecSchema.prefault({}),
  /** fitness = mean online cross-entropy over the last `fitnessWindow` fraction of the episode (1 = whole episode) */
  fitnessWindow: z.number().gt(0).max(1).default(0.1),
  errorScale: z.number().positive().default(1),
  chunkRows: posInt.default(16),
  /** steps of data sampled at once (episode k of generation g = sampler episode g·⌈steps/segment⌉ + k) */
  segment: posInt.default(100),
  seed: z.int().default(1),
  checkpointEvery: nonNegInt.default(1),
});
/** A validated improve spec. */
export type ImproveSpec = z.infer<typeof ImproveSchema>;
/** An improve spec as written. */
export type ImproveInput = z.input<typeof ImproveSchema>;

/** Model options of a clone (core's model config without `layers`), with the clone's defaults. */
export const CLONE_MODEL_DEFAULTS = {
  slowSize: 32,
  msgSize: 8,
  microTicks: 2,
  outputIdx: 0,
  tanhBound: null,
  backwardPass: true,
  feedLabel: false,
  layerNorm: false,
  aggregation: 'mean',
  stateClip: [-4, 4],
  innerBatchMerge: 1,
} as const satisfies Omit<ModelConfigInput, 'layers'>;

const ModelOptionsSchema = z.record(z.string(), z.unknown()).superRefine((m, ctx) => {
  if ('layers' in m) ctx.addIssue({ code: 'custom', path: ['layers'], message: 'layer sizes come from the stage / task; remove `layers`' });
  let cfg: ModelConfig;
  try {
    cfg = parseModelConfig({ ...CLONE_MODEL_DEFAULTS, ...m, layers: [{ in: 1, out: 1 }] }, 'model');
  } catch (e) {
    const issues = (e as { details?: { issues?: string[] } }).details?.issues ?? [String(e)];
    for (const i of issues) ctx.addIssue({ code: 'custom', message: i });
    return;
  }
  if (!cfg.backwardPass) ctx.addIssue({ code: 'custom', path: ['backwardPass'], message: 'cloning needs backwardPass: true (the reverse tick carries errors and updates)' });
  if (cfg.layerNorm) ctx.addIssue({ code: 'custom', path: ['layerNorm'], message: 'cloning needs layerNorm: false (messages carry magnitudes)' });
  if (cfg.feedLabel) ctx.addIssue({ code: 'custom', path: ['feedLabel'], message: 'cloning needs feedLabel: false (backward slot 1 must stay 0)' });
});

/** A complete clone preset. */
export const ClonePresetSchema = z
  .strictObject({
    name: z.string().min(1),
    /** seed of V_M initialisation and of every cloning draw */
    seed: z.int().default(0),
    /** core model options without `layers` (defaults: {@link CLONE_MODEL_DEFAULTS}) */
    model: ModelOptionsSchema.default({}),
    emulation: EmulationSchema.prefault({}),
    /**
     * initial V_M: the official init with `seed`, then gate-bias offsets (see README): `fastDims` LSTM dims (the last
     * ones) made fast scratch memory; the storage dims of w and b get `storageForget` added to their forget-gate bias
     * (f → 1: the stored weights do not leak) and `storageInput` to their input-gate bias (room for the update)
     */
    init: z
      .strictObject({
        fastDims: nonNegInt.default(0),
        storageForget: z.number().default(0),
        storageInput: z.number().default(0),
        /**
         * Start the reverse tick's LSTM with a circuit that computes the weight update exactly (see `initialVm` and
         * README "Why the weight update needs a circuit"): needs `model.separateBackwardRnn`; `false` = the official
         * init only. The numbers: x gain of the two sign-split helper dims, e gain, and which dims are the helpers.
         */
        updateCircuit: z
          .union([
            z.literal(false),
            z.strictObject({
              xGain: z.number().positive().default(2),
              errGain: z.number().positive().default(0.15),
              helpers: z.tuple([nonNegInt, nonNegInt]).nullable().default(null),
              /** false (default): the circuit's columns stay fixed during cloning; true: trained like the rest */
              train: z.boolean().default(false),
            }),
          ])
          .default(false),
      })
      .prefault({}),
    curriculum: z.array(StageSchema).min(1),
    metatest: MetaTestSchema.prefault({}),
    improve: ImproveSchema.prefault({}),
  })
  .superRefine((p, ctx) => {
    const H = (p.model['slowSize'] as number | undefined) ?? CLONE_MODEL_DEFAULTS.slowSize;
    const { wDim, bDim } = p.emulation;
    if (wDim >= H || bDim >= H || wDim === bDim) {
      ctx.addIssue({ code: 'custom', path: ['emulation'], message: `wDim ${wDim} and bDim ${bDim} must differ and be < slowSize ${H}` });
    }
    if (p.init.fastDims > 0 && H - p.init.fastDims <= Math.max(wDim, bDim)) {
      ctx.addIssue({ code: 'custom', path: ['init', 'fastDims'], message: `fast dims ${H - p.init.fastDims}..${H - 1} would include the storage dims ${wDim}, ${bDim}` });
    }
    const circuit = p.init.updateCircuit;
    if (circuit) {
      const [j, k] = circuit.helpers ?? [H - 2, H - 1];
      if (!p.model['separateBackwardRnn']) {
        ctx.addIssue({ code: 'custom', path: ['init', 'updateCircuit'], message: 'updateCircuit needs model.separateBackwardRnn: true (the forward tick must not read the helper dims)' });
      }
      if (p.emulation.component !== 'c') ctx.addIssue({ code: 'custom', path: ['init', 'updateCircuit'], message: "updateCircuit needs emulation.component 'c'" });
      if (j === k || [j, k].some((d) => d >= H || d === wDim || d === bDim)) {
        ctx.addIssue({ code: 'custom', path: ['init', 'updateCircuit', 'helpers'], message: `helper dims ${j}, ${k} must differ, be < slowSize ${H} and not hold w or b` });
      }
    }
    const names = new Set<string>();
    p.curriculum.forEach((s, i) => {
      if (names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['curriculum', i, 'name'], message: `duplicate stage name '${s.name}'` });
      names.add(s.name);
      if (s.kind === 'network' && isHeldOut(s.data.dataset)) {
        ctx.addIssue({ code: 'custom', path: ['curriculum', i, 'data', 'dataset'], message: `${s.data.dataset} is held out: never used in cloning` });
      }
    });
    if (isHeldOut(p.improve.dataset)) {
      ctx.addIssue({ code: 'custom', path: ['improve', 'dataset'], message: `${p.improve.dataset} is held out: never used to improve the clone` });
    }
  });
/** A validated clone preset (all defaults filled in). */
export type ClonePreset = z.infer<typeof ClonePresetSchema>;
/** A clone preset as written (plain JSON). */
export type ClonePresetInput = z.input<typeof ClonePresetSchema>;

function formatIssues(issues: readonly z.core.$ZodIssue[], where: string): string[] {
  return issues.map((i) => {
    let path = where;
    for (const p of i.path) path += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
    if (i.code === 'unrecognized_keys') return (i as { keys: string[] }).keys.map((k) => `${path}.${k}: unknown key`).join('\n');
    return `${path}: ${i.message}`;
  });
}

/** Parses with `schema`, throwing `CloneError('BAD_CONFIG')` that lists every problem with its key path. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, where: string): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (!r.success) {
    const lines = formatIssues(r.error.issues, where);
    throw new CloneError('BAD_CONFIG', `invalid ${where}:\n  ${lines.join('\n  ')}`, { details: { issues: lines } });
  }
  return r.data;
}

/** Parses and validates a clone preset (strict: unknown keys are errors). */
export function parseClonePreset(input: unknown): ClonePreset {
  return parseWith(ClonePresetSchema, input, 'preset');
}

/** The core model config of a clone with layer sizes `sizes = [D, ...hidden, C]` (and optional overrides). */
export function cloneModelConfig(model: Record<string, unknown>, sizes: readonly number[], overrides: Partial<ModelConfigInput> = {}): ModelConfig {
  if (sizes.length < 2) throw new CloneError('BAD_ARGUMENT', `cloneModelConfig: need sizes [D, ..., C], got [${sizes.join(',')}]`);
  const layers = sizes.slice(0, -1).map((s, k) => ({ in: s, out: sizes[k + 1]! }));
  return parseModelConfig({ ...CLONE_MODEL_DEFAULTS, ...model, ...overrides, layers }, 'model');
}

/** Throws `FORBIDDEN_DATASET` for a held-out dataset (Fashion-MNIST is only for the meta-test). */
export function assertCloningDataset(name: string, where: string): void {
  if (isHeldOut(name)) throw new CloneError('FORBIDDEN_DATASET', `${where}: ${name} is held out for the meta-test; cloning and improving never use it`);
}
