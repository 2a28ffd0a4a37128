/**
 * The cloning curriculum (App. B) as a resumable training loop: the stages of a preset run in order on one flat V_M
 * with Adam (moments reset at every stage). Library form: metrics, progress and checkpoints go to callbacks; the CLI
 * (`vsml clone`) writes them to a run directory.
 *
 * Determinism: iteration `it` of stage `s` draws from `Rng.fromSeed(preset.seed, 0x434c4e, s, it)` (sub-RNN stages)
 * or from the stage's data stream at episode `it` (network stages), so a resumed run continues with the same data.
 * A `train` checkpoint holds everything a stage needs to continue exactly: V_M, the Adam moments, the stage and
 * iteration, the sub-RNN pool (random-data stages) and, in a network stage, its learners (every layer's h, c and
 * incoming messages, which also hold the weights the ground-truth network reads, the steps since each learner's
 * restart, the restart count) and the rehearsal pool. The data stream and every draw are functions of the iteration,
 * so nothing else is needed: a resumed run is bit for bit the uninterrupted one.
 */
import {
  tf,
  initParamVector,
  paramLayout,
  unflattenParams,
  paramValues,
  disposeParams,
  type Checkpoint,
  type CheckpointInput,
  type ModelConfig,
  type Provenance,
} from '@vsml/core';
import { Rng } from '@vsml/rng';
import { FlatAdam, scheduledLr, type AdamState } from './adam.js';
import { cloneModelConfig, parseClonePreset, type ClonePreset, type ClonePresetInput, type NetworkStage, type Stage, type SubRnnStage } from './config.js';
import { CloneError } from './errors.js';
import { disposeLearners, initLearners, learnersFromJSON, learnersToJSON, networkIteration, openNetworkStream, type Learners, type LearnersJSON, type NetworkMetrics } from './network.js';
import { emptyPool, subRnnIteration, type SubRnnMetrics, type SubRnnPool } from './subrnn.js';
import { vmFromCheckpoint } from './vm.js';
import { yieldToEventLoop } from './loop.js';

/** The `optimizer.format` of a curriculum `train` checkpoint. */
export const CURRICULUM_CHECKPOINT_FORMAT = 'vsml-clone/curriculum';

/** One metrics record (one per `logEvery` iterations of a stage), flat JSON. */
export interface CloneMetricRecord {
  readonly kind: 'clone';
  readonly stage: string;
  readonly stageIndex: number;
  /** iteration inside the stage (0-based, the one just done) */
  readonly iteration: number;
  /** iterations done over all stages */
  readonly step: number;
  readonly elapsedMs: number;
  readonly gradNorm: number;
  readonly loss: number;
  /** sub-RNN stages: {@link SubRnnMetrics}; network stages: ce, gtCe, acc and per-layer `l<k>.<metric>` */
  readonly [metric: string]: number | string;
}

/** Progress of the curriculum. */
export interface CloneProgress {
  readonly stage: string;
  readonly stageIndex: number;
  readonly stages: number;
  readonly iteration: number;
  readonly iterations: number;
  readonly elapsedMs: number;
}

/** Callbacks of {@link runCurriculum} (all optional; may return promises, which are awaited). */
export interface CurriculumCallbacks {
  onMetrics?(record: CloneMetricRecord): void | Promise<void>;
  onProgress?(progress: CloneProgress): void | Promise<void>;
  /** a resumable `train` checkpoint (every `checkpointEvery` iterations and at the end of each stage) */
  onCheckpoint?(checkpoint: CheckpointInput, info: { stage: string; iteration: number; final: boolean }): void | Promise<void>;
  /** a `vm` checkpoint of V_M after each stage (what meta-test and improve load) */
  onStageEnd?(checkpoint: CheckpointInput, info: { stage: string; stageIndex: number }): void | Promise<void>;
  /** polled after every iteration; true = checkpoint and return early */
  shouldStop?(): boolean;
}

/** Options of {@link runCurriculum}. */
export interface CurriculumOptions {
  /** the preset (validated here) */
  readonly preset: ClonePreset | ClonePresetInput;
  /** start V_M (flat, layout order); default: the official init with `preset.seed` */
  readonly initial?: Float32Array;
  /** continue from a `train` checkpoint written by this function */
  readonly resume?: Checkpoint;
  /** run only the stages with these names (in preset order) */
  readonly stages?: readonly string[];
  /** provenance fields for the checkpoints (command, commit, ...) */
  readonly provenance?: Partial<Provenance>;
  readonly callbacks?: CurriculumCallbacks;
}

/** What {@link runCurriculum} returns. */
export interface CurriculumResult {
  /** the cloned V_M (flat, layout order) */
  readonly vm: Float32Array;
  /** the model config stored with it (layers = the shallow MNIST model; V_M does not depend on layer sizes) */
  readonly model: ModelConfig;
  /** names of the stages that ran to completion in this call */
  readonly completed: readonly string[];
  /** true when `shouldStop` ended the run early */
  readonly stopped: boolean;
}

/** A network stage's state between iterations (learners and rehearsal pool). */
interface NetworkStageState {
  readonly learners: LearnersJSON;
  readonly rehearsal: SubRnnPool | null;
}

interface TrainState {
  readonly format: typeof CURRICULUM_CHECKPOINT_FORMAT;
  /** 2: with `network` (version 1 checkpoints did not save a network stage's learners) */
  readonly version: 2;
  readonly preset: string;
  readonly stageIndex: number;
  readonly stageName: string;
  /** iterations of this stage already done */
  readonly iteration: number;
  readonly adam: AdamState;
  readonly pool: SubRnnPool | null;
  /** network stages between iterations: the learners and the rehearsal pool; null otherwise */
  readonly network?: NetworkStageState | null;
}

/**
 * The initial V_M of a preset: the official init (`initParamVector` with `preset.seed`), then gate-bias offsets.
 * - `init.fastDims`: for the last k LSTM dims the input-gate bias +5 and forget-gate bias −5 cancel the constant
 *   offsets, so those dims start as fast scratch memory (c ≈ ½c + ½g per micro tick) instead of slow state;
 * - `init.storageForget` / `init.storageInput`: added to the forget / input-gate biases of the storage dims (w, b in
 *   `c`). The stored weight must survive every tick exactly (f → 1; a leak (1 − f)·c is an error proportional to w)
 *   and change by up to η/scale per step (i·g with i = σ(−5 + …) ≈ 0.0067 at the official init is too small).
 */
export function initialVm(preset: ClonePreset, config: ModelConfig = presetModelConfig(preset)): Float32Array {
  const v = initParamVector(config, preset.seed);
  const { fastDims: k, storageForget, storageInput } = preset.init;
  const H = config.slowSize;
  const storage = preset.emulation.component === 'c' ? [preset.emulation.wDim, preset.emulation.bDim] : [];
  for (const s of paramLayout(config)) {
    if (s.base !== 'lstm.b') continue;
    for (let j = H - k; j < H; j++) {
      v[s.offset + j] = v[s.offset + j]! + 5; // i gate (columns 0..H-1)
      v[s.offset + 2 * H + j] = v[s.offset + 2 * H + j]! - 5; // f gate (columns 2H..3H-1)
    }
    for (const j of storage) {
      v[s.offset + j] = v[s.offset + j]! + storageInput;
      v[s.offset + 2 * H + j] = v[s.offset + 2 * H + j]! + storageForget;
    }
  }
  if (preset.init.updateCircuit) installUpdateCircuit(v, preset, config);
  return v;
}

/**
 * 1 for every V_M entry cloning trains, 0 for the update circuit's entries when `init.updateCircuit.train` is false;
 * null when everything trains.
 */
export function trainableMask(preset: ClonePreset, config: ModelConfig = presetModelConfig(preset)): Float32Array | null {
  const circuit = preset.init.updateCircuit;
  if (!circuit || circuit.train) return null;
  const n = initParamVector(config, 0).length;
  const mask = new Float32Array(n).fill(1);
  for (const i of installUpdateCircuit(new Float32Array(n), preset, config)) mask[i] = 0;
  return mask;
}

/**
 * Writes the update circuit into V_M (option `init.updateCircuit`; requires a separate reverse-tick LSTM).
 *
 * Why: a cell dim changes by `i·g` per micro tick, a sigmoid (one sign) times a tanh. Fed x and e directly, the best
 * it can form is `e·σ(±αx)`: the update has the right sign for one sign of x only, and gradient descent from the
 * official init settles there (the quick clone: Δw/e ≈ −tanh x within 3 % for x < 0, ≈ −0.15 for x > 0). The exact
 * product needs two micro ticks: in the first, two helper dims j, k hold `c = σ(±αx)·tanh(βe)` (fresh every micro
 * tick: forget gate closed, output gate open), so `h_j − h_k ≈ tanh(βe)·tanh(αx/2)`; in the second, the w dim
 * writes `p·tanh(q·(h_k − h_j))` = `−η·e·tanh(x)/scale` per step for α = 2 and `p·q·β = η/(scale·(T − 1))` (T micro
 * ticks; the helpers are 0 in the first). The bias dim writes `p_b·tanh(−β_b·e)` = `−η_b·e/(scale·T)` in every micro tick. The forward tick's LSTM clears the helpers (so a stale helper never
 * reaches the next step) and leaves w and b untouched (their i, g columns are zero); both directions keep w and b
 * with the forget gate at σ(15). Every other entry keeps the official init. Returns the indices of the circuit's
 * columns (all rows and the bias of the helpers' four gates and of the storage dims' i, g, f gates), which cloning
 * keeps fixed unless `train` is set ({@link trainableMask}).
 */
function installUpdateCircuit(v: Float32Array, preset: ClonePreset, config: ModelConfig): number[] {
  const circuit = preset.init.updateCircuit;
  if (!circuit) return [];
  const owned: number[] = [];
  const H = config.slowSize;
  const M = config.msgSize;
  const cols = 4 * H;
  const [j, k] = circuit.helpers ?? [H - 2, H - 1];
  const { wDim, bDim, scale, eta } = preset.emulation;
  const etaB = preset.emulation.biasEta ?? eta;
  const alpha = circuit.xGain;
  const beta = circuit.errGain;
  const gain = (target: number): [number, number] => {
    // p·q = target with the input gate p ≤ 0.5, so that the write stays in tanh's linear range
    const p = Math.min(0.5, target);
    return [p, target / p];
  };
  const logit = (p: number): number => Math.log(p / (1 - p));
  // the w dim writes in micro ticks 2..T of the reverse tick (the helpers are 0 in the first), the b dim in all T
  const T = config.microTicks;
  if (T < 2) throw new CloneError('BAD_CONFIG', 'init.updateCircuit needs microTicks >= 2 (the product takes two micro ticks)');
  const [pW, qW] = gain(eta / (scale * beta * (T - 1)));
  const pB = Math.min(0.5, etaB / (scale * beta * T));
  const betaB = etaB / (scale * pB * T);
  const I = 0, G = H, F = 2 * H, O = 3 * H;
  const X_ROW = 0, E_ROW = M, H_ROW = 2 * M;
  const specs = paramLayout(config);
  for (const w of specs.filter((s) => s.base === 'lstm.w')) {
    const b = specs.find((s) => s.base === 'lstm.b' && s.group.prefix === w.group.prefix)!;
    const K = w.shape[0]!;
    const setW = (row: number, col: number, value: number): void => void (v[w.offset + row * cols + col] = value);
    const setB = (col: number, value: number): void => void (v[b.offset + col] = value);
    const own = (col: number): void => {
      for (let r = 0; r < K; r++) owned.push(w.offset + r * cols + col);
      owned.push(b.offset + col);
    };
    const clearColumn = (col: number): void => {
      for (let r = 0; r < K; r++) setW(r, col, 0);
      setB(col, 0);
    };
    for (const d of [j, k]) for (const gate of [I, G, F, O]) own(gate + d), clearColumn(gate + d);
    for (const d of [wDim, bDim]) for (const gate of [I, G, F]) own(gate + d), clearColumn(gate + d);
    // storage dims keep their value: forget gate σ(15) (1 − 3e-7 per micro tick), whatever the inputs
    setB(F + wDim, 10);
    setB(F + bDim, 10);
    // helpers: forget gate shut (σ(−10)) and output gate open (σ(10)) in both directions
    for (const d of [j, k]) {
      setB(F + d, -15);
      setB(O + d, 10);
    }
    if (w.group.direction === 'forward') continue; // forward tick: helpers cleared (g = 0), w and b held (g = 0)
    setB(I + j, 5);
    setB(I + k, 5);
    setW(X_ROW, I + j, alpha);
    setW(X_ROW, I + k, -alpha);
    setW(E_ROW, G + j, beta);
    setW(E_ROW, G + k, beta);
    setB(I + wDim, 5 + logit(pW));
    setW(H_ROW + j, G + wDim, -qW);
    setW(H_ROW + k, G + wDim, qW);
    setB(I + bDim, 5 + logit(pB));
    setW(E_ROW, G + bDim, -betaB);
  }
  return owned;
}

/** Unique names for the tfjs variables of concurrent or successive runs. */
let variableCounter = 0;

/** The model config a clone's checkpoints carry: the shallow MNIST model of the preset (`[784, 10]`). */
export function presetModelConfig(preset: ClonePreset, sizes: readonly number[] = [784, 10]): ModelConfig {
  return cloneModelConfig(preset.model, sizes);
}

function stageSizes(stage: NetworkStage, dim: number, classes: number): number[] {
  return [dim, ...stage.hidden, classes];
}

function flatMetrics(m: (SubRnnMetrics | NetworkMetrics) & { gradNorm: number }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === 'number') out[k] = v;
    else if (Array.isArray(v)) v.forEach((layer: Record<string, number>, l: number) => Object.entries(layer).forEach(([kk, vv]) => (out[`l${l}.${kk}`] = vv)));
  }
  return out;
}

function readTrainState(ckpt: Checkpoint, preset: ClonePreset): TrainState {
  const o = ckpt.optimizer as Partial<TrainState> | undefined;
  if (ckpt.kind !== 'train' || !o || o.format !== CURRICULUM_CHECKPOINT_FORMAT) {
    throw new CloneError('CHECKPOINT_MISMATCH', `resume: not a curriculum train checkpoint (kind ${ckpt.kind}, optimizer.format ${String(o?.format)})`);
  }
  if (o.preset !== preset.name) throw new CloneError('CHECKPOINT_MISMATCH', `resume: checkpoint of preset '${o.preset}', running '${preset.name}'`);
  const st = preset.curriculum[o.stageIndex!];
  if (!st || st.name !== o.stageName) {
    throw new CloneError('CHECKPOINT_MISMATCH', `resume: checkpoint at stage ${o.stageIndex} '${o.stageName}', the preset has '${st?.name ?? 'nothing'}' there`);
  }
  if (st.kind === 'network' && (o.iteration ?? 0) > 0 && (o.iteration ?? 0) < st.iterations && !o.network) {
    throw new CloneError(
      'CHECKPOINT_MISMATCH',
      `resume: the checkpoint is inside network stage '${st.name}' (iteration ${o.iteration}) but holds no learner states (written by an older version); it cannot continue that stage exactly`,
    );
  }
  return o as TrainState;
}

/**
 * Runs the curriculum (or the listed stages) and returns the cloned V_M. Needs an initialised tfjs backend.
 * @throws CloneError BAD_CONFIG (preset), CHECKPOINT_MISMATCH (resume), NOT_FINITE, FORBIDDEN_DATASET
 */
export async function runCurriculum(opts: CurriculumOptions): Promise<CurriculumResult> {
  const preset = parseClonePreset(opts.preset);
  const refConfig = presetModelConfig(preset);
  const cb = opts.callbacks ?? {};
  const t0 = Date.now();
  let resume: TrainState | null = opts.resume ? readTrainState(opts.resume, preset) : null;
  let vm: Float32Array;
  if (opts.resume) {
    vm = vmFromCheckpoint(opts.resume, refConfig);
  } else {
    vm = opts.initial ? Float32Array.from(opts.initial) : initialVm(preset, refConfig);
  }
  if (vm.length !== initParamVector(refConfig, 0).length) {
    throw new CloneError('SHAPE_MISMATCH', `runCurriculum: V_M has ${vm.length} entries, the preset's model needs ${initParamVector(refConfig, 0).length}`);
  }
  const init = tf.tensor1d(vm);
  const flatVar = tf.variable(init, true, `vsml-clone-vm-${++variableCounter}`);
  init.dispose();
  const mask = trainableMask(preset, refConfig);
  const completed: string[] = [];
  // global iteration count (metrics' `step`): a resumed run continues the count of the run it resumes
  let stepsDone = opts.resume?.step ?? 0;
  const only = opts.stages ? new Set(opts.stages) : null;
  if (only) for (const n of only) if (!preset.curriculum.some((s) => s.name === n)) throw new CloneError('BAD_ARGUMENT', `runCurriculum: no stage named '${n}'`);
  const provenance = (extra: Record<string, unknown>): Provenance => ({ command: 'runCurriculum', seed: preset.seed, ...opts.provenance, ...extra });
  const snapshot = (): Float32Array => Float32Array.from(flatVar.dataSync());
  const paramsOf = (v: Float32Array): ReturnType<typeof paramValues> => {
    const ps = unflattenParams(refConfig, v);
    const vals = paramValues(ps);
    disposeParams(ps);
    return vals;
  };
  try {
    for (let si = 0; si < preset.curriculum.length; si++) {
      const stage: Stage = preset.curriculum[si]!;
      if (resume && si < resume.stageIndex) continue;
      if (only && !only.has(stage.name)) continue;
      const startIt = resume && si === resume.stageIndex ? resume.iteration : 0;
      const adam = new FlatAdam(flatVar, stage.optimizer, resume && si === resume.stageIndex ? resume.adam : undefined, mask);
      const pool: SubRnnPool | null =
        stage.kind === 'subrnn' ? (resume && si === resume.stageIndex && resume.pool ? resume.pool : emptyPool(stage.batch, refConfig.slowSize)) : null;
      const resumeNetwork = resume && si === resume.stageIndex ? (resume.network ?? null) : null;
      resume = null;
      let stopped = false;
      // set while a network stage runs: its learners and rehearsal pool (read at checkpoint time only)
      let networkState: (() => Promise<NetworkStageState>) | null = null;
      const checkpoint = async (iteration: number, final: boolean): Promise<void> => {
        if (!cb.onCheckpoint) return;
        const state: TrainState = {
          format: CURRICULUM_CHECKPOINT_FORMAT,
          version: 2,
          preset: preset.name,
          stageIndex: si,
          stageName: stage.name,
          iteration,
          adam: adam.toJSON(),
          pool,
          network: networkState && !final ? await networkState() : null,
        };
        await cb.onCheckpoint(
          { kind: 'train', model: refConfig, params: paramsOf(snapshot()), optimizer: state, rng: null, step: stepsDone, provenance: provenance({ stage: stage.name, iteration }) },
          { stage: stage.name, iteration, final },
        );
      };
      try {
        if (stage.kind === 'subrnn') {
          const config = cloneModelConfig(preset.model, [1, 1]);
          for (let it = startIt; it < stage.iterations; it++) {
            const rng = Rng.fromSeed(preset.seed, 0x434c4e, si, it);
            adam.setLr(scheduledLr(stage.optimizer, it, stage.iterations));
            const m = await subRnnIteration(flatVar, (g) => adam.apply(g), pool!, rng, config, preset.emulation, stage as SubRnnStage);
            stepsDone++;
            await report(cb, stage, si, it, stepsDone, t0, m, preset.curriculum.length);
            if (stage.checkpointEvery > 0 && (it + 1) % stage.checkpointEvery === 0 && it + 1 < stage.iterations) await checkpoint(it + 1, false);
            if (cb.shouldStop?.()) {
              await checkpoint(it + 1, false);
              stopped = true;
              break;
            }
          }
        } else {
          const net = stage as NetworkStage;
          const seed = Rng.fromSeed(preset.seed, 0x4e4554, si).int(0, 2 ** 31);
          const stream = openNetworkStream(net, seed);
          const config = cloneModelConfig(preset.model, stageSizes(net, stream.dim, stream.classes), { innerBatchMerge: refConfig.innerBatchMerge });
          const learners: Learners = resumeNetwork ? learnersFromJSON(resumeNetwork.learners, config, net) : initLearners(config, net, seed);
          const rehearsal =
            net.rehearsal.weight > 0
              ? { pool: resumeNetwork?.rehearsal ?? emptyPool(net.rehearsal.batch, refConfig.slowSize), config: cloneModelConfig(preset.model, [1, 1]) }
              : undefined;
          networkState = async () => ({ learners: await learnersToJSON(learners), rehearsal: rehearsal?.pool ?? null });
          try {
            for (let it = startIt; it < net.iterations; it++) {
              adam.setLr(scheduledLr(net.optimizer, it, net.iterations));
              const m = await networkIteration(flatVar, (g) => adam.apply(g), learners, stream, it, config, preset.emulation, net, seed, rehearsal);
              stepsDone++;
              await report(cb, stage, si, it, stepsDone, t0, m, preset.curriculum.length);
              if (net.checkpointEvery > 0 && (it + 1) % net.checkpointEvery === 0 && it + 1 < net.iterations) await checkpoint(it + 1, false);
              if (cb.shouldStop?.()) {
                await checkpoint(it + 1, false);
                stopped = true;
                break;
              }
            }
          } finally {
            networkState = null;
            disposeLearners(learners);
          }
        }
        if (stopped) return { vm: snapshot(), model: refConfig, completed, stopped: true };
        await checkpoint(stage.iterations, true);
        completed.push(stage.name);
        await cb.onStageEnd?.(
          { kind: 'vm', model: refConfig, params: paramsOf(snapshot()), provenance: provenance({ stage: stage.name, preset: preset.name }) },
          { stage: stage.name, stageIndex: si },
        );
      } finally {
        adam.dispose();
      }
    }
    return { vm: snapshot(), model: refConfig, completed, stopped: false };
  } finally {
    flatVar.dispose();
  }
}

async function report(
  cb: CurriculumCallbacks,
  stage: Stage,
  si: number,
  it: number,
  step: number,
  t0: number,
  m: (SubRnnMetrics | NetworkMetrics) & { gradNorm: number },
  stages: number,
): Promise<void> {
  const elapsedMs = Date.now() - t0;
  if (cb.onMetrics && (it % stage.logEvery === 0 || it === stage.iterations - 1)) {
    await cb.onMetrics({ kind: 'clone', stage: stage.name, stageIndex: si, iteration: it, step, elapsedMs, ...flatMetrics(m) } as CloneMetricRecord);
  }
  await cb.onProgress?.({ stage: stage.name, stageIndex: si, stages, iteration: it + 1, iterations: stage.iterations, elapsedMs });
  // let timers and signal handlers run (tfjs reads resolve as microtasks, which never yield to them)
  await yieldToEventLoop();
}

