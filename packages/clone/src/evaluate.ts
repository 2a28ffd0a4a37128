/**
 * Checking a clone without training it: the cloning errors of a V_M on fresh random sub-RNN situations (the random
 * stage's data), plus what the relative error of the weight update is made of (`vsml clone --eval`).
 *
 * A clone whose Δw is `g·target + noise` has relative error² = (1 − g)² + noise²/target². Least squares puts the gain
 * of a noisy predictor below 1 (attenuation: `g = var(signal) / (var(signal) + var(noise))` when the noise sits inside
 * its estimate of the product), so the gain and the correlation tell a biased rule from an imprecise one:
 * `updWGain` is the least-squares slope of the clone's Δw on the target Δw, `updWCorr` their correlation, and
 * `updWResidualRel` = sqrt(1 − corr²) the relative error left after the best rescaling (what an `errorScale` can fix
 * is the rest).
 */
import { tf } from '@vsml/core';
import { Rng } from '@vsml/rng';
import { cloneModelConfig, parseClonePreset, type ClonePreset, type ClonePresetInput, type SubRnnStage } from './config.js';
import { CloneError } from './errors.js';
import { drawWindow, emptyPool, initPoolRow, readSubRnnMetrics, subRnnWindowLoss, type SubRnnMetrics } from './subrnn.js';

/** Options of {@link evaluateSubRnnClone}. */
export interface EvaluateOptions {
  /** the flat V_M (layout order of the preset's model) */
  readonly vm: Float32Array;
  /** the preset whose model, emulation and random stage define the situations */
  readonly preset: ClonePreset | ClonePresetInput;
  /** name of the sub-RNN stage whose data to use (default: the preset's first sub-RNN stage) */
  readonly stage?: string;
  /** sub-RNNs evaluated side by side (default 8,192) */
  readonly rows?: number;
  /** steps every sub-RNN runs before it is measured, so that it holds the state a trained-on row has (default 20) */
  readonly warmup?: number;
  /** measured steps (default 4) */
  readonly steps?: number;
  /** seed of the situations (default 7) */
  readonly seed?: number;
  /** keep this many (target, clone) Δw pairs for plots (default 2,000) */
  readonly samples?: number;
}

/** Errors of the Δw clone in one bin of an input's magnitude. */
export interface UpdateBin {
  readonly lo: number;
  readonly hi: number;
  readonly n: number;
  readonly rel: number;
  readonly gain: number;
}

/** What {@link evaluateSubRnnClone} returns. */
export interface CloneEvaluation extends SubRnnMetrics {
  readonly rows: number;
  readonly steps: number;
  /** least-squares slope of the clone's Δw on the target Δw (1: unbiased on average) */
  readonly updWGain: number;
  /** correlation of the clone's Δw with the target Δw */
  readonly updWCorr: number;
  /** relative error of Δw after the best global rescaling, sqrt(1 − corr²) */
  readonly updWResidualRel: number;
  /** Δw errors binned by |e|, |x| and |w| */
  readonly bins: { readonly e: UpdateBin[]; readonly x: UpdateBin[]; readonly w: UpdateBin[] };
  /** (target, clone) Δw pairs in full units with their x, e, w, for plots */
  readonly samples: { target: number[]; clone: number[]; x: number[]; e: number[]; w: number[] };
}

const E_EDGES = [1e-9, 0.03, 0.1, 0.3, 1, Infinity];
const X_EDGES = [0, 0.5, 1, 2, 4, Infinity];
const W_EDGES = [0, 2, 5, 10, 20, Infinity];

function bins(key: Float32Array, tgt: Float32Array, pred: Float32Array, edges: readonly number[]): UpdateBin[] {
  const out: UpdateBin[] = [];
  for (let b = 0; b + 1 < edges.length; b++) {
    let n = 0, se = 0, st = 0, sxy = 0;
    for (let i = 0; i < key.length; i++) {
      const k = Math.abs(key[i]!);
      if (k < edges[b]! || k >= edges[b + 1]!) continue;
      const t = tgt[i]!, p = pred[i]!;
      n++;
      se += (p - t) ** 2;
      st += t * t;
      sxy += p * t;
    }
    if (n > 0) out.push({ lo: edges[b]!, hi: edges[b + 1]!, n, rel: Math.sqrt(se / Math.max(st, 1e-30)), gain: sxy / Math.max(st, 1e-30) });
  }
  return out;
}

/**
 * The cloning errors of `vm` on fresh random sub-RNN situations: `rows` sub-RNNs are initialised as the random stage
 * initialises them, run `warmup` steps, then `steps` measured steps (forward tick + reverse tick each). No training.
 * Needs an initialised tfjs backend.
 * @throws CloneError BAD_ARGUMENT (no such sub-RNN stage), SHAPE_MISMATCH (V_M does not fit the preset's model)
 */
export async function evaluateSubRnnClone(opts: EvaluateOptions): Promise<CloneEvaluation> {
  const preset = parseClonePreset(opts.preset);
  const stage = preset.curriculum.find((s): s is SubRnnStage => s.kind === 'subrnn' && (opts.stage === undefined || s.name === opts.stage));
  if (!stage) throw new CloneError('BAD_ARGUMENT', `evaluateSubRnnClone: the preset has no sub-RNN stage${opts.stage ? ` named '${opts.stage}'` : ''}`);
  const config = cloneModelConfig(preset.model, [1, 1]);
  const emu = preset.emulation;
  const N = opts.rows ?? 8192;
  const warmup = opts.warmup ?? 20;
  const steps = opts.steps ?? 4;
  const keep = opts.samples ?? 2000;
  const H = config.slowSize;
  const rng = Rng.fromSeed(opts.seed ?? 7, 0x657661);
  const pool = emptyPool(N, H);
  for (let r = 0; r < N; r++) initPoolRow(pool, r, rng, config, stage, emu);
  const flat = tf.tensor1d(opts.vm);
  const one = { ...stage, window: 1, warmup: 0 };
  const comp = emu.component === 'c' ? 'c' : 'h';
  const tgt = new Float32Array(N * steps);
  const pred = new Float32Array(N * steps);
  const xs = new Float32Array(N * steps);
  const es = new Float32Array(N * steps);
  const ws = new Float32Array(N * steps);
  const sums: Record<string, number> = {};
  let metrics: SubRnnMetrics | null = null;
  try {
    for (let k = 0; k < warmup + steps; k++) {
      const win = drawWindow(rng, pool, one);
      const before = Float32Array.from(pool[comp]);
      const data = { h: tf.tensor2d(pool.h, [N, H]), c: tf.tensor2d(pool.c, [N, H]), x: tf.tensor2d(win.x, [1, N]), e: tf.tensor2d(win.e, [1, N]), mask: tf.tensor2d(win.mask, [1, N]) };
      let r: ReturnType<typeof subRnnWindowLoss>;
      try {
        r = subRnnWindowLoss(flat, config, emu, stage.loss, data, stage.groupSize);
      } catch (e) {
        Object.values(data).forEach((t) => t.dispose());
        throw e;
      }
      Object.values(data).forEach((t) => t.dispose());
      r.loss.dispose();
      pool.h.set(await r.h.data());
      pool.c.set(await r.c.data());
      r.h.dispose();
      r.c.dispose();
      const m = await readSubRnnMetrics(r.sums);
      if (k < warmup) continue;
      const j = k - warmup;
      const after = pool[comp];
      for (let i = 0; i < N; i++) {
        const o = j * N + i;
        xs[o] = win.x[i]!;
        es[o] = win.e[i]!;
        ws[o] = emu.scale * before[i * H + emu.wDim]!;
        tgt[o] = -emu.eta * win.e[i]! * Math.tanh(win.x[i]!);
        pred[o] = emu.scale * (after[i * H + emu.wDim]! - before[i * H + emu.wDim]!);
      }
      // metrics: the mean over the measured steps of each relative error (squared errors of equal-size steps)
      for (const [key, v] of Object.entries(m)) sums[key] = (sums[key] ?? 0) + (key.endsWith('Rel') || key === 'zeroRms' || key === 'wRms' ? v * v : v) / steps;
      metrics = m;
    }
  } finally {
    flat.dispose();
  }
  if (!metrics) throw new CloneError('BAD_ARGUMENT', 'evaluateSubRnnClone: steps must be at least 1');
  const avg = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, k.endsWith('Rel') || k === 'zeroRms' || k === 'wRms' ? Math.sqrt(v) : v])) as unknown as SubRnnMetrics;
  let st = 0, sp = 0, sxy = 0;
  for (let i = 0; i < tgt.length; i++) {
    st += tgt[i]! * tgt[i]!;
    sp += pred[i]! * pred[i]!;
    sxy += tgt[i]! * pred[i]!;
  }
  const corr = sxy / Math.sqrt(Math.max(st * sp, 1e-30));
  const take = Math.min(keep, tgt.length);
  const pick = (a: Float32Array): number[] => Array.from(a.subarray(0, take));
  return {
    ...avg,
    rows: N,
    steps,
    updWGain: sxy / Math.max(st, 1e-30),
    updWCorr: corr,
    updWResidualRel: Math.sqrt(Math.max(0, 1 - corr * corr)),
    bins: { e: bins(es, tgt, pred, E_EDGES), x: bins(xs, tgt, pred, X_EDGES), w: bins(ws, tgt, pred, W_EDGES) },
    samples: { target: pick(tgt), clone: pick(pred), x: pick(xs), e: pick(es), w: pick(ws) },
  };
}
