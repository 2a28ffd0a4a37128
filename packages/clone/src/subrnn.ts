/**
 * Cloning on independent sub-RNNs with random data (Eq. 13/14 per sub-RNN; Table 1 "random data std 2").
 *
 * Every row is one sub-RNN (a, b) in the situation of a meta-test step of its layer (see `loop.ts`):
 *   forward tick: `microTicks` LSTM steps with forward message [x, 0, …] and backward message 0;
 *       target: forward message [tanh(x)·w + b, 0, …]; the stored w, b must not change (`hold`);
 *   reverse tick: `microTicks` LSTM steps with forward message [x, 0, …] and backward message [e, 0, …];
 *       target: backward message [e·w·(1 − tanh²x), 0, …]; the stored w, b change by Δw = −η·e·tanh x,
 *       Δb = −η_b·e (stored units: divided by `scale`).
 * w and b are what the row stores at the start of the step (`scale · s[wDim]`, `scale · s[bDim]`, read with zero
 * gradient): targets are local to the state the sub-RNN actually has, so drift is penalised by `hold` and `update`
 * instead of compounding. A pool of rows persists between iterations (truncated BPTT over `window` steps); a fraction
 * is re-initialised per iteration with freshly drawn w, b and the other dims as `initState` draws them.
 */
import { tf, lstmCellStep, messengers, randomCellDims, rnnParams, unflattenParams, type ModelConfig } from '@vsml/core';
import { Rng } from '@vsml/rng';
import type { Emulation, LossWeights, SubRnnStage } from './config.js';
import { subRnnTargets } from './emulated.js';
import { CloneError } from './errors.js';
import { mergeRows, stopGradient } from './loop.js';

/** The persistent pool of sub-RNNs of a sub-RNN stage (plain data, goes into checkpoints). */
export interface SubRnnPool {
  /** N rows × H: LSTM hidden state */
  readonly h: Float32Array;
  /** N rows × H: LSTM cell state */
  readonly c: Float32Array;
  /** steps each row has lived since its (re)initialisation; −1 = never initialised */
  readonly age: Int32Array;
}

/** The cloning errors of one window (relative errors = RMS(prediction − target) / RMS(target)); per layer in network stages. */
export interface CloneErrorMetrics {
  /** forward message slot 0 vs tanh(x)·w + b */
  readonly fwdRel: number;
  /** backward message slot 0 vs e·w·(1 − tanh²x) */
  readonly bwdRel: number;
  /** Δw of the step vs −η·e·tanh x */
  readonly updWRel: number;
  /** Δb of the step vs −η_b·e */
  readonly updBRel: number;
  /** change of w, b during the forward tick, relative to the RMS of the update targets */
  readonly holdRel: number;
  /** RMS of the message slots that must be 0 */
  readonly zeroRms: number;
}

/** Metrics of one iteration of a sub-RNN stage. */
export interface SubRnnMetrics extends CloneErrorMetrics {
  readonly loss: number;
  /** RMS of the stored w in full units (where the pool is) */
  readonly wRms: number;
}

/** An empty pool of `n` sub-RNNs with state size `H` (every row is initialised at the first iteration). */
export function emptyPool(n: number, H: number): SubRnnPool {
  return { h: new Float32Array(n * H), c: new Float32Array(n * H), age: new Int32Array(n).fill(-1) };
}

/** Re-initialises row `r` of the pool: h = 0, c as `initState` (σ = 1/sqrt(I)), stored w, b drawn fresh. */
export function initPoolRow(pool: SubRnnPool, r: number, rng: Rng, config: ModelConfig, stage: SubRnnStage, emulation: Emulation): void {
  const H = config.slowSize;
  const nRand = randomCellDims(config);
  const [lo, hi] = stage.data.fanIn;
  const fanIn = Math.exp(Math.log(lo) + (Math.log(hi) - Math.log(lo)) * rng.float());
  const std = 1 / Math.sqrt(fanIn);
  const o = r * H;
  for (let j = 0; j < H; j++) {
    pool.h[o + j] = 0;
    pool.c[o + j] = j < nRand ? std * rng.truncatedNormal(2) : 0;
  }
  const target = emulation.component === 'c' ? pool.c : pool.h;
  const clip = config.stateClip;
  const lim = (v: number): number => (clip ? Math.min(clip[1], Math.max(clip[0], v)) : v);
  // log-uniform σ (no draw when the range is one value, so fixed-σ runs keep their random sequence)
  const logU = (r: readonly [number, number]): number => (r[0] === r[1] ? r[0] : Math.exp(Math.log(r[0]) + (Math.log(r[1]) - Math.log(r[0])) * rng.float()));
  target[o + emulation.wDim] = lim(logU(stage.data.wStd) * rng.normal());
  target[o + emulation.bDim] = lim(logU(stage.data.bStd) * rng.normal());
  pool.age[r] = 0;
}

/** Random inputs and errors of one iteration: x, e `[K, N]`, and the loss mask `[K, N]` (rows past warm-up). */
export function drawWindow(
  rng: Rng,
  pool: SubRnnPool,
  stage: SubRnnStage,
): { x: Float32Array; e: Float32Array; mask: Float32Array } {
  const K = stage.window;
  const N = pool.age.length;
  const x = new Float32Array(K * N);
  const e = new Float32Array(K * N);
  const mask = new Float32Array(K * N);
  const [lo, hi] = stage.data.errStd;
  const llo = Math.log(lo);
  const lhi = Math.log(hi);
  for (let k = 0; k < K; k++) {
    for (let r = 0; r < N; r++) {
      const i = k * N + r;
      x[i] = stage.data.xStd * rng.normal();
      const zero = rng.float() < stage.data.errZero;
      const s = Math.exp(llo + (lhi - llo) * rng.float());
      e[i] = zero ? 0 : s * rng.normal();
      mask[i] = pool.age[r]! + k >= stage.warmup ? 1 : 0;
    }
  }
  return { x, e, mask };
}

/** Smooth L1 (Huber, δ = 1) elementwise: 0.5·min(|d|,1)² + (|d| − min(|d|,1)). */
export function smoothL1(d: tf.Tensor): tf.Tensor {
  const a = tf.abs(d);
  const q = tf.minimum(a, 1);
  return tf.add(tf.mul(tf.square(q), 0.5), tf.sub(a, q));
}
const huber = smoothL1;

/** Squared errors and squared targets of every cloned quantity, summed over a window (sub-RNN and network stages). */
export interface ErrorSums {
  fwdErr: tf.Tensor;
  fwdTgt: tf.Tensor;
  bwdErr: tf.Tensor;
  bwdTgt: tf.Tensor;
  updWErr: tf.Tensor;
  updWTgt: tf.Tensor;
  updBErr: tf.Tensor;
  updBTgt: tf.Tensor;
  hold: tf.Tensor;
  zero: tf.Tensor;
  zeroCount: tf.Tensor;
}

/** Sums accumulated over a window, turned into {@link SubRnnMetrics} after one read-back. */
interface Sums extends ErrorSums {
  loss: tf.Tensor;
  wSq: tf.Tensor;
  count: tf.Tensor;
}

/**
 * The loss of one iteration as a function of the flat V_M (differentiable), plus the final pool state and metric sums
 * (kept, for the caller to read and dispose).
 */
export function subRnnWindowLoss(
  flat: tf.Tensor,
  config: ModelConfig,
  emulation: Emulation,
  weights: LossWeights,
  data: { h: tf.Tensor; c: tf.Tensor; x: tf.Tensor; e: tf.Tensor; mask: tf.Tensor },
  groupSize = 1,
): { loss: tf.Scalar; h: tf.Tensor; c: tf.Tensor; sums: Sums } {
  const params = unflattenParams(config, flat);
  const rnnF = rnnParams(params, config, 0, 'forward');
  const rnnR = rnnParams(params, config, 0, 'reverse');
  const [K, N] = data.x.shape as [number, number];
  const M = config.msgSize;
  const H = config.slowSize;
  const clip = (t: tf.Tensor): tf.Tensor => (config.stateClip ? tf.clipByValue(t, config.stateClip[0], config.stateClip[1]) : t);
  const etaB = emulation.biasEta || emulation.eta;
  const slot = (t: tf.Tensor, d: number): tf.Tensor => tf.reshape(tf.slice(t, [0, d], [N, 1]), [N]);
  const stored = (s: { h: tf.Tensor; c: tf.Tensor }): [tf.Tensor, tf.Tensor] => {
    const t = emulation.component === 'c' ? s.c : s.h;
    return [slot(t, emulation.wDim), slot(t, emulation.bDim)];
  };
  const zerosN = tf.zeros([N, M]);
  const pad = (v: tf.Tensor): tf.Tensor => tf.pad(tf.reshape(v, [N, 1]), [[0, 0], [0, M - 1]]);
  const rest = (m: tf.Tensor): tf.Tensor => tf.slice(m, [0, 1], [N, M - 1]);
  const first = (m: tf.Tensor): tf.Tensor => tf.reshape(tf.slice(m, [0, 0], [N, 1]), [N]);
  let h = data.h;
  let c = data.c;
  const z = tf.scalar(0);
  const sums: Sums = {
    loss: z, fwdErr: z, fwdTgt: z, bwdErr: z, bwdTgt: z, updWErr: z, updWTgt: z, updBErr: z, updBTgt: z,
    hold: z, zero: z, zeroCount: z, wSq: z, count: z,
  };
  const add = (k: keyof Sums, v: tf.Tensor): void => {
    sums[k] = tf.add(sums[k], v);
  };
  let total: tf.Tensor = tf.scalar(0);
  for (let k = 0; k < K; k++) {
    const x = tf.reshape(tf.slice(data.x, [k, 0], [1, N]), [N]);
    const e = tf.reshape(tf.slice(data.e, [k, 0], [1, N]), [N]);
    const mask = tf.reshape(tf.slice(data.mask, [k, 0], [1, N]), [N]);
    if (groupSize > 1) {
      // state averaging over each group of rows, as over the inner batch at meta-test
      h = tf.reshape(mergeRows(tf.reshape(h, [N, 1, 1, H]), N / groupSize, groupSize, 1), [N, H]);
      c = tf.reshape(mergeRows(tf.reshape(c, [N, 1, 1, H]), N / groupSize, groupSize, 1), [N, H]);
    }
    const [w0s, b0s] = stored({ h, c }).map((t) => stopGradient(t)) as [tf.Tensor, tf.Tensor];
    const w0 = tf.mul(w0s, emulation.scale);
    const b0 = tf.mul(b0s, emulation.scale);
    const tg = subRnnTargets(x, e, w0, b0, emulation);
    const fin = pad(x);
    // forward tick
    for (let m = 0; m < config.microTicks; m++) {
      const s = lstmCellStep(rnnF, fin, zerosN, h, c);
      h = clip(s.h);
      c = clip(s.c);
    }
    const fm = messengers(rnnF, h).fwd;
    const [w1s, b1s] = stored({ h, c });
    // reverse tick
    const bin = pad(e);
    for (let m = 0; m < config.microTicks; m++) {
      const s = lstmCellStep(rnnR, fin, bin, h, c);
      h = clip(s.h);
      c = clip(s.c);
    }
    const bm = messengers(rnnR, h).bwd;
    const [w2s, b2s] = stored({ h, c });
    // errors (the stored values enter with zero gradient only through the targets; their changes are differentiable)
    const dFwd = tf.sub(first(fm), tg.y);
    const dBwd = tf.sub(first(bm), tg.eBack);
    const sc = emulation.scale;
    const dW = tf.sub(tf.mul(tf.sub(w2s, w0s), sc / emulation.eta), tf.div(tg.dw, emulation.eta));
    const dB = tf.sub(tf.mul(tf.sub(b2s, b0s), sc / etaB), tf.div(tg.db, etaB));
    const hW = tf.mul(tf.sub(w1s, w0s), sc / emulation.eta);
    const hB = tf.mul(tf.sub(b1s, b0s), sc / etaB);
    const zf = rest(fm);
    const zb = rest(bm);
    const msum = (t: tf.Tensor): tf.Tensor => tf.sum(tf.mul(t, mask));
    const msum2 = (t: tf.Tensor): tf.Tensor => tf.sum(tf.mul(tf.sum(t, -1), mask));
    const lossK = tf.addN([
      tf.mul(msum(huber(dFwd)), weights.fwd),
      tf.mul(msum(huber(dBwd)), weights.bwd),
      tf.mul(tf.add(msum(huber(dW)), msum(huber(dB))), weights.update),
      tf.mul(tf.add(msum(huber(hW)), msum(huber(hB))), weights.hold),
      tf.mul(tf.add(msum2(huber(zf)), msum2(huber(zb))), weights.zeroSlots),
    ]);
    total = tf.add(total, lossK);
    if (groupSize > 1 && weights.groupUpdate > 0) {
      // the group-mean update error (what survives averaging over a batch), counted once per row like the others
      const gm = (t: tf.Tensor): tf.Tensor => tf.mean(tf.reshape(tf.mul(t, mask), [N / groupSize, groupSize]), 1);
      const g = tf.add(tf.sum(huber(gm(dW))), tf.sum(huber(gm(dB))));
      total = tf.add(total, tf.mul(g, weights.groupUpdate * groupSize));
    }
    add('fwdErr', msum(tf.square(dFwd)));
    add('fwdTgt', msum(tf.square(tg.y)));
    add('bwdErr', msum(tf.square(dBwd)));
    add('bwdTgt', msum(tf.square(tg.eBack)));
    add('updWErr', msum(tf.square(dW)));
    add('updWTgt', msum(tf.square(tf.div(tg.dw, emulation.eta))));
    add('updBErr', msum(tf.square(dB)));
    add('updBTgt', msum(tf.square(tf.div(tg.db, etaB))));
    add('hold', tf.add(msum(tf.square(hW)), msum(tf.square(hB))));
    add('zero', tf.add(msum2(tf.square(zf)), msum2(tf.square(zb))));
    add('zeroCount', tf.mul(tf.sum(mask), 2 * (M - 1)));
    add('wSq', msum(tf.square(w0)));
    add('count', tf.sum(mask));
    void H;
  }
  const count = tf.maximum(sums.count, 1);
  const loss = tf.div(total, count) as tf.Scalar;
  sums.loss = tf.mul(loss, 1);
  for (const key of Object.keys(sums) as (keyof Sums)[]) tf.keep(sums[key]);
  return { loss, h: tf.keep(h), c: tf.keep(c), sums };
}

/** Reads the metric sums (one read-back) and disposes them. */
export async function readSubRnnMetrics(sums: Sums): Promise<SubRnnMetrics> {
  const keys = Object.keys(sums) as (keyof Sums)[];
  const stacked = tf.stack(keys.map((k) => sums[k]));
  const v = await stacked.data();
  stacked.dispose();
  for (const k of keys) sums[k].dispose();
  const g = (k: keyof Sums): number => v[keys.indexOf(k)]!;
  const rel = (a: keyof Sums, b: keyof Sums): number => Math.sqrt(g(a) / Math.max(g(b), 1e-30));
  const n = Math.max(g('count'), 1);
  return {
    loss: g('loss'),
    fwdRel: rel('fwdErr', 'fwdTgt'),
    bwdRel: rel('bwdErr', 'bwdTgt'),
    updWRel: rel('updWErr', 'updWTgt'),
    updBRel: rel('updBErr', 'updBTgt'),
    holdRel: Math.sqrt(g('hold') / Math.max(g('updWTgt') + g('updBTgt'), 1e-30)),
    zeroRms: Math.sqrt(g('zero') / Math.max(g('zeroCount'), 1)),
    wRms: Math.sqrt(g('wSq') / n),
  };
}

/** One training iteration of a sub-RNN stage: redraw rows, unroll the window, one Adam step; updates `pool` in place. */
export async function subRnnIteration(
  flatVar: tf.Variable,
  apply: (grad: tf.Tensor) => number,
  pool: SubRnnPool,
  rng: Rng,
  config: ModelConfig,
  emulation: Emulation,
  stage: SubRnnStage,
): Promise<SubRnnMetrics & { gradNorm: number }> {
  const N = pool.age.length;
  const H = config.slowSize;
  const G = stage.groupSize;
  for (let g0 = 0; g0 < N; g0 += G) {
    if (pool.age[g0]! < 0 || rng.float() < stage.resetFraction) {
      initPoolRow(pool, g0, rng, config, stage, emulation);
      // a group starts from one state (it is averaged before every step anyway)
      for (let r = g0 + 1; r < g0 + G; r++) {
        pool.h.copyWithin(r * H, g0 * H, (g0 + 1) * H);
        pool.c.copyWithin(r * H, g0 * H, (g0 + 1) * H);
        pool.age[r] = 0;
      }
    }
  }
  const win = drawWindow(rng, pool, stage);
  const K = stage.window;
  const inputs = {
    h: tf.tensor2d(pool.h, [N, H]),
    c: tf.tensor2d(pool.c, [N, H]),
    x: tf.tensor2d(win.x, [K, N]),
    e: tf.tensor2d(win.e, [K, N]),
    mask: tf.tensor2d(win.mask, [K, N]),
  };
  let out: { h: tf.Tensor; c: tf.Tensor; sums: Sums } | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const r = subRnnWindowLoss(flatVar, config, emulation, stage.loss, inputs, G);
    out = { h: r.h, c: r.c, sums: r.sums };
    return r.loss;
  }, [flatVar]);
  const g = grads[flatVar.name]!;
  const gradNorm = apply(g);
  g.dispose();
  value.dispose();
  Object.values(inputs).forEach((t) => t.dispose());
  const o = out as unknown as { h: tf.Tensor; c: tf.Tensor; sums: Sums };
  pool.h.set(await o.h.data());
  pool.c.set(await o.c.data());
  o.h.dispose();
  o.c.dispose();
  for (let r = 0; r < N; r++) pool.age[r] = pool.age[r]! + K;
  const m = await readSubRnnMetrics(o.sums);
  if (!Number.isFinite(m.loss) || !Number.isFinite(gradNorm)) {
    throw new CloneError('NOT_FINITE', `sub-RNN stage '${stage.name}': loss ${m.loss}, gradient norm ${gradNorm}`);
  }
  return { ...m, gradNorm };
}
