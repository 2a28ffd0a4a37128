/**
 * Cloning on whole VSML networks learning online from a data stream (curriculum App. B: shallow network on MNIST;
 * deep network with the intermediate errors of the ground-truth network; deep network on its own messages).
 *
 * A learner is exactly the meta-test learner (`cloneStep`: inner batch with state merging, forward tick, error,
 * reverse tick); its state persists between iterations (truncated BPTT over `window` steps) and restarts from a
 * fresh `initState` every `episodeLength` steps, so the stored weights follow the clone's own learning trajectory.
 * At each step the ground truth is the real tfjs network holding the weights the sub-RNNs store at the start of the
 * step (`networkTargets`, read with zero gradient). Losses per layer ℓ (Smooth L1, weights of `stage.loss`):
 * - fwd: the layer's aggregated forward output, slot 0, vs y_ℓ;
 * - bwd: its aggregated backward output of the reverse tick, slot 0, vs the VSML-scaled backprop error at its input;
 * - update: the change of every sub-RNN's stored w, b over the step vs Δw_ℓ, Δb_ℓ (in units of η);
 * - hold: the change during the forward tick (must be 0); zeroSlots: the other message slots (must be 0).
 * With `targets: 'local'` the targets of layer ℓ come from the messages the layer actually received.
 */
import {
  tf,
  initState,
  prepareModel,
  unflattenParams,
  disposeState,
  stateTensors,
  type ModelConfig,
  type VlState,
} from '@vsml/core';
import { openEpisodeSampler, type EpisodeSampler } from '@vsml/datasets';
import { Rng } from '@vsml/rng';
import { assertCloningDataset, SubRnnStageSchema, type Emulation, type LossWeights, type NetworkStage } from './config.js';
import { emulatedLayer, networkTargets, sgdStep, type Aggregation } from './emulated.js';
import { CloneError } from './errors.js';
import { cloneStep, mergeState, readWeights, stopGradient, storedSlot, writeWeights } from './loop.js';
import { drawWindow, initPoolRow, smoothL1, subRnnWindowLoss, type CloneErrorMetrics, type ErrorSums, type SubRnnPool } from './subrnn.js';

/** Per-layer metrics of a network stage: the cloning errors of that layer's sub-RNNs. */
export type NetworkLayerMetrics = CloneErrorMetrics;

/** Metrics of one iteration of a network stage. */
export interface NetworkMetrics {
  readonly loss: number;
  /** mean cross-entropy of the learner's own predictions over the window */
  readonly ce: number;
  /** mean cross-entropy of the ground-truth network (same stored weights) */
  readonly gtCe: number;
  /** online accuracy of the learner over the window */
  readonly acc: number;
  readonly layers: readonly NetworkLayerMetrics[];
}

/** The data stream of a network stage: per iteration, `window` steps of x `[E, D]` and labels `[E]`. */
export interface NetworkStream {
  readonly dim: number;
  readonly classes: number;
  /** steps of iteration `it`: x `[K, E, D]`, y `[K, E]` (E = P·B rows, learner-major) */
  window(it: number): { x: Float32Array; y: Int32Array };
  /** `initWeights: sgd` only: the SGD warm-up data of restart k, x `[maxSteps, B, D]`, y `[maxSteps, B]` */
  warm?(k: number): { x: Float32Array; y: Int32Array };
}

/** Opens the stream of a stage (train split; `gaussian` data drawn from `seed`). Refuses held-out datasets. */
export function openNetworkStream(stage: NetworkStage, seed: number): NetworkStream {
  const { dataset } = stage.data;
  assertCloningDataset(dataset, `network stage '${stage.name}'`);
  const K = stage.window;
  const P = stage.population;
  const B = stage.innerBatch;
  const warmSteps = stage.initWeights.kind === 'sgd' ? stage.initWeights.maxSteps : 0;
  if (dataset === 'gaussian') {
    const D = stage.data.dim;
    const C = stage.data.classes;
    const draw = (key: number, it: number, rows: number): { x: Float32Array; y: Int32Array } => {
      const rng = Rng.fromSeed(seed, key, it);
      const x = new Float32Array(rows * D);
      rng.fillNormal(x, 0, stage.data.xStd);
      const y = new Int32Array(rows);
      for (let i = 0; i < y.length; i++) y[i] = rng.int(0, C);
      return { x, y };
    };
    return {
      dim: D,
      classes: C,
      window: (it) => draw(0x524e44, it, K * P * B),
      ...(warmSteps > 0 ? { warm: (k: number) => draw(0x57524d, k, warmSteps * B) } : {}),
    };
  }
  const sampler: EpisodeSampler = openEpisodeSampler({
    dataset,
    split: 'train',
    population: P,
    length: K,
    batch: B,
    seed,
    preprocess: stage.data.preprocess,
  });
  const warmSampler =
    warmSteps > 0
      ? openEpisodeSampler({ dataset, split: 'train', population: 1, length: warmSteps, batch: B, seed: Rng.fromSeed(seed, 0x57524d).int(0, 2 ** 31), preprocess: stage.data.preprocess })
      : null;
  return {
    dim: sampler.dim,
    classes: sampler.numClasses,
    window(it) {
      const ep = sampler.episode(it);
      return { x: ep.x, y: ep.y };
    },
    ...(warmSampler
      ? {
          warm: (k: number) => {
            const ep = warmSampler.episode(k);
            return { x: ep.x, y: ep.y };
          },
        }
      : {}),
  };
}

/** One layer's error sums of a network window. */
type LayerSums = ErrorSums;

/** Everything one window's loss closure produces besides the loss. */
interface WindowOut {
  state: VlState;
  sums: LayerSums[];
  ce: tf.Tensor;
  gtCe: tf.Tensor;
  acc: tf.Tensor;
}

const slot0 = (m: tf.Tensor): tf.Tensor => {
  const [E, n] = m.shape as [number, number, number];
  return tf.reshape(tf.slice(m, [0, 0, 0], [E, n, 1]), [E, n]);
};
const slotsRest = (m: tf.Tensor): tf.Tensor => {
  const [E, n, M] = m.shape as [number, number, number];
  return tf.slice(m, [0, 0, 1], [E, n, M - 1]);
};

/**
 * The loss of one window as a function of the flat V_M (differentiable); the final state and metric sums are kept
 * for the caller.
 */
export function networkWindowLoss(
  flat: tf.Tensor,
  config: ModelConfig,
  emulation: Emulation,
  stage: Pick<NetworkStage, 'teacher' | 'targets'> & { loss: LossWeights; normalize?: boolean },
  state0: VlState,
  xs: tf.Tensor,
  ys: tf.Tensor,
  errorScale = 1,
): { loss: tf.Scalar; out: WindowOut } {
  const params = unflattenParams(config, flat);
  const model = prepareModel(params, config);
  const L = config.layers.length;
  const K = xs.shape[0]!;
  const aggregation = config.aggregation as Aggregation;
  const etaB = emulation.biasEta || emulation.eta;
  const w = stage.loss;
  const z = (): tf.Tensor => tf.scalar(0);
  const sums: LayerSums[] = config.layers.map(() => ({
    fwdErr: z(), fwdTgt: z(), bwdErr: z(), bwdTgt: z(), updWErr: z(), updWTgt: z(), updBErr: z(), updBTgt: z(),
    hold: z(), zero: z(), zeroCount: z(),
  }));
  let ce: tf.Tensor = z();
  let gtCe: tf.Tensor = z();
  let acc: tf.Tensor = z();
  let total: tf.Tensor = z();
  let state = state0;
  const mean = (t: tf.Tensor): tf.Tensor => tf.mean(t);
  for (let k = 0; k < K; k++) {
    const E = xs.shape[1]!;
    const x = tf.reshape(tf.slice(xs, [k, 0, 0], [1, E, xs.shape[2]!]), [E, xs.shape[2]!]);
    const y = tf.reshape(tf.slice(ys, [k, 0], [1, E]), [E]);
    const start = mergeState(state, config);
    const wts = readWeights(start, emulation);
    const W = { w: wts.w.map((t) => stopGradient(t)), b: wts.b.map((t) => stopGradient(t)) };
    const gt = networkTargets(W, x, y, emulation, { aggregation, errorScale });
    const teacherActs = stage.teacher.activations ? [null, ...gt.acts.slice(0, -1)] : undefined;
    const teacherErrs = stage.teacher.errors ? gt.errOut : undefined;
    const r = cloneStep(model, start, x, y, {
      merge: false,
      record: true,
      errorScale,
      ...(teacherActs ? { teacherActs } : {}),
      ...(teacherErrs ? { teacherErrs } : {}),
    });
    const onehot = tf.oneHot(y, config.layers[L - 1]!.out).toFloat();
    ce = tf.add(ce, mean(tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(r.logits)), -1))));
    gtCe = tf.add(gtCe, mean(gt.loss));
    acc = tf.add(acc, mean(tf.cast(tf.equal(tf.argMax(r.logits, -1), tf.argMax(onehot, -1)), 'float32')));
    for (let l = 0; l < L; l++) {
      const s = sums[l]!;
      const fo = r.fwdOut![l]!;
      const bo = r.bwdOut![l]!;
      let yT: tf.Tensor;
      let eT: tf.Tensor;
      let dwT: tf.Tensor;
      let dbT: tf.Tensor;
      if (stage.targets === 'global') {
        yT = gt.acts[l]!;
        eT = gt.errIn[l]!;
        dwT = gt.dw[l]!;
        dbT = gt.db[l]!;
      } else {
        // local: the rule applied to the messages this layer received
        const xin = stopGradient(slot0(r.fwdIn![l]!));
        const ein = stopGradient(slot0(r.bwdIn![l]!));
        const [Er, I] = xin.shape as [number, number];
        const O = ein.shape[1]!;
        yT = emulatedLayer(xin, W.w[l]!, W.b[l]!, aggregation);
        const t = tf.tanh(xin);
        const dt = tf.sub(1, tf.square(t));
        const prod = tf.reshape(tf.matMul(tf.reshape(ein, [Er, 1, O]), W.w[l]!, false, true), [Er, I]);
        eT = tf.mul(tf.mul(prod, dt), aggregation === 'mean' ? 1 / O : 1);
        dwT = tf.mul(tf.mul(tf.reshape(t, [Er, I, 1]), tf.reshape(ein, [Er, 1, O])), -emulation.eta);
        dbT = tf.broadcastTo(tf.mul(tf.reshape(ein, [Er, 1, O]), -etaB), [Er, I, O]);
      }
      const dF = tf.sub(slot0(fo), yT);
      const dBk = tf.sub(slot0(bo), eT);
      const sc = emulation.scale;
      const w0 = stopGradient(storedSlot(start.layers[l]!, emulation.component, emulation.wDim));
      const b0 = stopGradient(storedSlot(start.layers[l]!, emulation.component, emulation.bDim));
      const w1 = storedSlot(r.mid!.layers[l]!, emulation.component, emulation.wDim);
      const b1 = storedSlot(r.mid!.layers[l]!, emulation.component, emulation.bDim);
      const w2 = storedSlot(r.state.layers[l]!, emulation.component, emulation.wDim);
      const b2 = storedSlot(r.state.layers[l]!, emulation.component, emulation.bDim);
      const dW = tf.div(tf.sub(tf.mul(tf.sub(w2, w0), sc), dwT), emulation.eta);
      const dB = tf.div(tf.sub(tf.mul(tf.sub(b2, b0), sc), dbT), etaB);
      const hW = tf.mul(tf.sub(w1, w0), sc / emulation.eta);
      const hB = tf.mul(tf.sub(b1, b0), sc / etaB);
      const zs = [slotsRest(fo), slotsRest(bo)];
      // relative errors: divide by the targets' RMS in this step (a constant for the gradient)
      const rms = (t: tf.Tensor): tf.Tensor => (stage.normalize === false ? tf.scalar(1) : stopGradient(tf.add(tf.sqrt(tf.mean(tf.square(t))), 1e-6)));
      const sF = rms(yT);
      const sBk = rms(eT);
      const sW = rms(tf.div(dwT, emulation.eta));
      const sB = rms(tf.div(dbT, etaB));
      total = tf.addN([
        total,
        tf.mul(mean(smoothL1(tf.div(dF, sF))), w.fwd),
        tf.mul(mean(smoothL1(tf.div(dBk, sBk))), w.bwd),
        tf.mul(tf.add(mean(smoothL1(tf.div(dW, sW))), mean(smoothL1(tf.div(dB, sB)))), w.update),
        tf.mul(tf.add(mean(smoothL1(tf.div(hW, sW))), mean(smoothL1(tf.div(hB, sB)))), w.hold),
        tf.mul(tf.add(mean(smoothL1(tf.div(zs[0]!, sF))), mean(smoothL1(tf.div(zs[1]!, sBk)))), w.zeroSlots),
      ]);
      const sq = (t: tf.Tensor): tf.Tensor => tf.sum(tf.square(t));
      s.fwdErr = tf.add(s.fwdErr, sq(dF));
      s.fwdTgt = tf.add(s.fwdTgt, sq(yT));
      s.bwdErr = tf.add(s.bwdErr, sq(dBk));
      s.bwdTgt = tf.add(s.bwdTgt, sq(eT));
      s.updWErr = tf.add(s.updWErr, sq(dW));
      s.updWTgt = tf.add(s.updWTgt, sq(tf.div(dwT, emulation.eta)));
      s.updBErr = tf.add(s.updBErr, sq(dB));
      s.updBTgt = tf.add(s.updBTgt, sq(tf.div(dbT, etaB)));
      s.hold = tf.add(s.hold, tf.add(sq(hW), sq(hB)));
      s.zero = tf.add(s.zero, tf.add(sq(zs[0]!), sq(zs[1]!)));
      s.zeroCount = tf.add(s.zeroCount, zs[0]!.size + zs[1]!.size);
    }
    state = r.state;
  }
  const loss = tf.div(total, K) as tf.Scalar;
  const keepState: VlState = { ...state, layers: state.layers.map((l) => ({ ...l, h: tf.keep(l.h), c: tf.keep(l.c) })) };
  for (const s of sums) for (const key of Object.keys(s) as (keyof LayerSums)[]) tf.keep(s[key]);
  return { loss, out: { state: keepState, sums, ce: tf.keep(tf.div(ce, K)), gtCe: tf.keep(tf.div(gtCe, K)), acc: tf.keep(tf.div(acc, K)) } };
}

/** The persistent learners of a network stage. */
export interface Learners {
  state: VlState;
  /** steps since each learner's (re)start */
  readonly steps: Int32Array;
  /** how many fresh initial states have been drawn (seeds the next one) */
  restarts: number;
}

/** {@link Learners} as plain data for a checkpoint (typed arrays; stored as base64). */
export interface LearnersJSON {
  readonly population: number;
  readonly innerBatch: number;
  /** per layer: h, c `[E, I, O, H]`, fwdIn `[E, I, M]`, bwdIn `[E, O, M]` with their shapes */
  readonly layers: readonly { readonly [K in 'h' | 'c' | 'fwdIn' | 'bwdIn']: { readonly shape: number[]; readonly data: Float32Array } }[];
  readonly steps: Int32Array;
  readonly restarts: number;
}

/** Reads the learners' tensors (one asynchronous read each; for checkpoints only, never in the per-step loop). */
export async function learnersToJSON(learners: Learners): Promise<LearnersJSON> {
  const read = async (t: tf.Tensor): Promise<{ shape: number[]; data: Float32Array }> => ({ shape: [...t.shape], data: Float32Array.from(await t.data<'float32'>()) });
  const layers = [];
  for (const l of learners.state.layers) layers.push({ h: await read(l.h), c: await read(l.c), fwdIn: await read(l.fwdIn), bwdIn: await read(l.bwdIn) });
  return { population: learners.state.population, innerBatch: learners.state.innerBatch, layers, steps: Int32Array.from(learners.steps), restarts: learners.restarts };
}

/** Learners from {@link learnersToJSON}'s data, checked against the stage's model. */
export function learnersFromJSON(json: LearnersJSON, config: ModelConfig, stage: NetworkStage): Learners {
  const P = stage.population;
  const B = stage.innerBatch;
  if (json.population !== P || json.innerBatch !== B || json.layers.length !== config.layers.length || json.steps.length !== P) {
    throw new CloneError('CHECKPOINT_MISMATCH', `resume: the checkpoint's learners (population ${json.population}, inner batch ${json.innerBatch}, ${json.layers.length} layers) do not fit network stage '${stage.name}' (${P}, ${B}, ${config.layers.length})`);
  }
  const tensor = (v: { shape: number[]; data: Float32Array }, what: string): tf.Tensor => {
    if (!ArrayBuffer.isView(v.data) || v.data.length !== v.shape.reduce((a, b) => a * b, 1)) {
      throw new CloneError('CHECKPOINT_MISMATCH', `resume: learner state ${what} of stage '${stage.name}' has ${v.data?.length} values for shape [${v.shape.join(', ')}]`);
    }
    return tf.tensor(v.data, v.shape, 'float32');
  };
  const layers = json.layers.map((l, k) => ({
    h: tensor(l.h, `layer ${k} h`),
    c: tensor(l.c, `layer ${k} c`),
    fwdIn: tensor(l.fwdIn, `layer ${k} fwdIn`),
    bwdIn: tensor(l.bwdIn, `layer ${k} bwdIn`),
  }));
  return { state: { population: P, innerBatch: B, layers }, steps: Int32Array.from(json.steps), restarts: json.restarts };
}

/** Fresh learners (each learner p starts at a staggered clock so that restarts spread over iterations). */
export function initLearners(config: ModelConfig, stage: NetworkStage, seed: number): Learners {
  const P = stage.population;
  const state = initState(config, { population: P, innerBatch: stage.innerBatch, seed: Rng.fromSeed(seed, 0x4c524e, 0).int(0, 2 ** 31) });
  const steps = new Int32Array(P);
  for (let p = 0; p < P; p++) steps[p] = Math.floor((p * stage.episodeLength) / P);
  return { state, steps, restarts: 1 };
}

/**
 * Weights of an emulated network trained by SGD (batch B, the rule's per-layer rates) for `n` steps from `w0`, `b0`
 * (`[I, O]` per layer) on warm-up data x `[≥n, B, D]`.
 */
function sgdWeights(w0: tf.Tensor[], b0: tf.Tensor[], data: { x: Float32Array; y: Int32Array }, n: number, B: number, emulation: Emulation, aggregation: Aggregation): { w: tf.Tensor[]; b: tf.Tensor[] } {
  let w = w0;
  let b = b0;
  const D = w0[0]!.shape[0]!;
  for (let t = 0; t < n; t++) {
    const x = tf.tensor2d(data.x.subarray(t * B * D, (t + 1) * B * D), [B, D]);
    const y = tf.tensor1d(data.y.subarray(t * B, (t + 1) * B), 'int32');
    const r = sgdStep(w, b, x, y, emulation, { aggregation });
    if (w !== w0) [...w, ...b].forEach((u) => u.dispose());
    [x, y, r.logits, r.loss].forEach((u) => u.dispose());
    w = r.w;
    b = r.b;
  }
  return { w, b };
}

/** Restarts the learners whose episode is over (fresh `initState` rows for them; SGD-trained weights if asked). */
function restartFinished(learners: Learners, config: ModelConfig, stage: NetworkStage, seed: number, emulation: Emulation, stream: NetworkStream): void {
  const P = stage.population;
  const B = stage.innerBatch;
  const done: number[] = [];
  for (let p = 0; p < P; p++) if (learners.steps[p]! >= stage.episodeLength) done.push(p);
  if (done.length === 0) return;
  let fresh = initState(config, { population: P, innerBatch: B, seed: Rng.fromSeed(seed, 0x4c524e, learners.restarts).int(0, 2 ** 31) });
  if (stage.initWeights.kind === 'sgd' && stream.warm) {
    const maxSteps = stage.initWeights.maxSteps;
    const rng = Rng.fromSeed(seed, 0x534744, learners.restarts);
    const rows = readWeights(fresh, emulation);
    const perLayer = config.layers.map(() => ({ w: [] as tf.Tensor[], b: [] as tf.Tensor[] }));
    for (let p = 0; p < P; p++) {
      const w0 = rows.w.map((t) => tf.tidy(() => tf.squeeze(tf.slice(t, [p * B], [1]), [0])));
      const b0 = rows.b.map((t) => tf.tidy(() => tf.squeeze(tf.slice(t, [p * B], [1]), [0])));
      const n = done.includes(p) ? rng.int(0, maxSteps + 1) : 0;
      const r = n > 0 ? sgdWeights(w0, b0, stream.warm(learners.restarts * P + p), n, B, emulation, config.aggregation as Aggregation) : { w: w0, b: b0 };
      r.w.forEach((t, l) => perLayer[l]!.w.push(tf.tidy(() => tf.broadcastTo(tf.expandDims(t, 0), [B, ...t.shape]))));
      r.b.forEach((t, l) => perLayer[l]!.b.push(tf.tidy(() => tf.broadcastTo(tf.expandDims(t, 0), [B, ...t.shape]))));
      if (r.w !== w0) [...w0, ...b0].forEach((t) => t.dispose());
      [...r.w, ...r.b].forEach((t) => t.dispose());
    }
    const weights = { w: perLayer.map((l) => tf.concat(l.w, 0)), b: perLayer.map((l) => tf.concat(l.b, 0)) };
    perLayer.forEach((l) => [...l.w, ...l.b].forEach((t) => t.dispose()));
    const written = writeWeights(fresh, weights, emulation);
    disposeState(fresh, written);
    fresh = written;
    [...rows.w, ...rows.b, ...weights.w, ...weights.b].forEach((t) => t.dispose());
  }
  learners.restarts += 1;
  const maskArr = new Float32Array(P * B);
  for (const p of done) {
    maskArr.fill(1, p * B, (p + 1) * B);
    learners.steps[p] = 0;
  }
  const old = learners.state;
  const layers = old.layers.map((l, k) =>
    tf.tidy(() => {
      const m = tf.reshape(tf.tensor1d(maskArr), [P * B, 1, 1, 1]).toBool();
      return { ...l, h: tf.where(m, fresh.layers[k]!.h, l.h), c: tf.where(m, fresh.layers[k]!.c, l.c) };
    }),
  );
  learners.state = { ...old, layers };
  disposeState(fresh);
  disposeState(old, learners.state);
}

/** Reads per-layer sums into metrics (one read-back) and disposes them. */
async function readNetworkMetrics(loss: number, out: WindowOut): Promise<NetworkMetrics> {
  const keys: (keyof LayerSums)[] = ['fwdErr', 'fwdTgt', 'bwdErr', 'bwdTgt', 'updWErr', 'updWTgt', 'updBErr', 'updBTgt', 'hold', 'zero', 'zeroCount'];
  const flat = tf.stack([out.ce, out.gtCe, out.acc, ...out.sums.flatMap((s) => keys.map((k) => s[k]))]);
  const v = await flat.data();
  flat.dispose();
  out.ce.dispose();
  out.gtCe.dispose();
  out.acc.dispose();
  for (const s of out.sums) for (const k of keys) s[k].dispose();
  const layers = out.sums.map((_, l) => {
    const g = (k: keyof LayerSums): number => v[3 + l * keys.length + keys.indexOf(k)]!;
    const rel = (a: keyof LayerSums, b: keyof LayerSums): number => Math.sqrt(g(a) / Math.max(g(b), 1e-30));
    return {
      fwdRel: rel('fwdErr', 'fwdTgt'),
      bwdRel: rel('bwdErr', 'bwdTgt'),
      updWRel: rel('updWErr', 'updWTgt'),
      updBRel: rel('updBErr', 'updBTgt'),
      holdRel: Math.sqrt(g('hold') / Math.max(g('updWTgt') + g('updBTgt'), 1e-30)),
      zeroRms: Math.sqrt(g('zero') / Math.max(g('zeroCount'), 1)),
    };
  });
  return { loss, ce: v[0]!, gtCe: v[1]!, acc: v[2]!, layers };
}

/** One training iteration of a network stage: one window of every learner, one Adam step. */
export async function networkIteration(
  flatVar: tf.Variable,
  apply: (grad: tf.Tensor) => number,
  learners: Learners,
  stream: NetworkStream,
  it: number,
  config: ModelConfig,
  emulation: Emulation,
  stage: NetworkStage,
  seed: number,
  rehearsal?: { readonly pool: SubRnnPool; readonly config: ModelConfig },
): Promise<NetworkMetrics & { gradNorm: number; rehearsal?: number }> {
  restartFinished(learners, config, stage, seed, emulation, stream);
  const reh = rehearsal && stage.rehearsal.weight > 0 ? prepareRehearsal(rehearsal.pool, rehearsal.config, stage, emulation, seed, it) : null;
  const K = stage.window;
  const E = stage.population * stage.innerBatch;
  const D = config.layers[0]!.in;
  const data = stream.window(it);
  const xs = tf.tensor3d(data.x, [K, E, D]);
  const ys = tf.tensor2d(data.y, [K, E], 'int32');
  let out: WindowOut | null = null;
  let lossValue = NaN;
  let rehOut: { h: tf.Tensor; c: tf.Tensor; loss: tf.Tensor } | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const r = networkWindowLoss(flatVar, config, emulation, { teacher: stage.teacher, targets: stage.targets, loss: stage.loss, normalize: stage.normalize }, learners.state, xs, ys);
    out = r.out;
    if (!reh) return r.loss;
    const q = subRnnWindowLoss(flatVar, reh.config, emulation, stage.loss, reh.inputs);
    for (const k of Object.keys(q.sums) as (keyof typeof q.sums)[]) q.sums[k].dispose();
    rehOut = { h: q.h, c: q.c, loss: tf.keep(tf.mul(q.loss, 1)) };
    return tf.add(r.loss, tf.mul(q.loss, stage.rehearsal.weight)) as tf.Scalar;
  }, [flatVar]);
  lossValue = (await value.data())[0]!;
  const g = grads[flatVar.name]!;
  const gradNorm = apply(g);
  g.dispose();
  value.dispose();
  xs.dispose();
  ys.dispose();
  const o = out as unknown as WindowOut;
  const old = learners.state;
  learners.state = o.state;
  disposeState(old, learners.state);
  for (let p = 0; p < stage.population; p++) learners.steps[p] = learners.steps[p]! + K;
  const m = await readNetworkMetrics(lossValue, o);
  let rehLoss: number | undefined;
  if (reh) {
    Object.values(reh.inputs).forEach((t) => t.dispose());
    const ro = rehOut as unknown as { h: tf.Tensor; c: tf.Tensor; loss: tf.Tensor };
    reh.pool.h.set(await ro.h.data());
    reh.pool.c.set(await ro.c.data());
    rehLoss = (await ro.loss.data())[0]!;
    [ro.h, ro.c, ro.loss].forEach((t) => t.dispose());
    for (let r = 0; r < reh.pool.age.length; r++) reh.pool.age[r] = reh.pool.age[r]! + stage.rehearsal.window;
  }
  if (!Number.isFinite(m.loss) || !Number.isFinite(gradNorm)) {
    throw new CloneError('NOT_FINITE', `network stage '${stage.name}' iteration ${it}: loss ${m.loss}, gradient norm ${gradNorm}`);
  }
  return { ...m, gradNorm, ...(rehLoss !== undefined ? { rehearsal: rehLoss } : {}) };
}

/** Redraws rows of the rehearsal pool and draws one window of random data (as a sub-RNN stage iteration). */
function prepareRehearsal(
  pool: SubRnnPool,
  config: ModelConfig,
  stage: NetworkStage,
  emulation: Emulation,
  seed: number,
  it: number,
): { pool: SubRnnPool; config: ModelConfig; inputs: { h: tf.Tensor; c: tf.Tensor; x: tf.Tensor; e: tf.Tensor; mask: tf.Tensor } } {
  const sub = SubRnnStageSchema.parse({
    kind: 'subrnn',
    name: `${stage.name}/rehearsal`,
    iterations: 1,
    batch: stage.rehearsal.batch,
    window: stage.rehearsal.window,
    data: stage.rehearsal.data,
  });
  const rng = Rng.fromSeed(seed, 0x524548, it);
  const N = pool.age.length;
  for (let r = 0; r < N; r++) if (pool.age[r]! < 0 || rng.float() < sub.resetFraction) initPoolRow(pool, r, rng, config, sub, emulation);
  const win = drawWindow(rng, pool, sub);
  const K = sub.window;
  const H = config.slowSize;
  return {
    pool,
    config,
    inputs: {
      h: tf.tensor2d(pool.h, [N, H]),
      c: tf.tensor2d(pool.c, [N, H]),
      x: tf.tensor2d(win.x, [K, N]),
      e: tf.tensor2d(win.e, [K, N]),
      mask: tf.tensor2d(win.mask, [K, N]),
    },
  };
}

/** Frees the learners' tensors. */
export function disposeLearners(learners: Learners): void {
  for (const t of stateTensors(learners.state)) if (!t.isDisposed) t.dispose();
}
