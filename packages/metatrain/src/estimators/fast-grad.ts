/**
 * A fast meta-gradient engine for the common VSML configuration (one dense layer, H = 16, no layer norm, no
 * backward pass, mean aggregation, no state clip): hand-derived back-propagation through time with the sub-LSTM
 * micro ticks in WebAssembly SIMD (`assembly/grad.ts`) and everything else (input/error injection, messenger,
 * logits, softmax, cross-entropy, parameter-gradient assembly) in float64 JavaScript here.
 *
 * It computes the same function and gradient as the tfjs path (`segmentedValueAndGrad` over core's `runEpisode`,
 * the reference; a test compares them), including the gradient through the fed-back error `softmax − onehot`
 * (unless `stopErrorGradient`). Memory is bounded the same way: segment recomputation (forward pass keeping the
 * state at segment starts and taping the last segment; then per segment, last to first, a taped forward (except
 * for the last) and the backward); tape ≈ MT·P·I·C·448 bytes per step of a segment. With one segment (the default
 * when the tape fits in `maxTapeBytes`) it is plain BPTT: one forward, one backward.
 *
 * Derivation (per member p, step t; σ, tanh as in core; B = tanh bound; o = outputIdx; I = fan-in):
 *   z_ab = x_a·W[0] + err_b·W[M] + lab_b·W[M+1] + b + offsets + h_ab·Wh      (per micro tick, same inputs)
 *   ŷ_b = B·tanh(y_b/B),  y_b = mean_a(h_ab)·fwd.w[:, o] + fwd.b[o]
 *   L = mean_{t,p} CE(ŷ, label);  err_t = softmax(ŷ_t) − onehot  (fed at t+1)
 *   ∂L/∂ŷ_t = (softmax − onehot)/(T·P) + J_softmax · ∂L/∂err_t,  J = diag(s) − s·sᵀ
 *   ∂L/∂err_{t−1,b} = Σ_{a,m} ∂L/∂z_ab · W[M]
 * The LSTM backward is the standard one (assembly/grad.ts).
 */
import { initState, paramLayout, stateTensors, type ModelConfig } from '@vsml/core';
import { MetatrainError } from '../errors.js';
import type { EpisodeBatch } from '../metatest.js';
import type { MetaModel, MetaParams } from '../model.js';
import { sizedConfig } from '../vsml.js';
import { instantiateGradWasm, type GradExports } from '../wasm.js';
import type { GradientEngine, ValueAndGrad } from './full-grad.js';

/** Why the fast engine cannot run a config, or null when it can. */
export function fastGradUnsupported(config: ModelConfig): string | null {
  if (config.layers.length !== 1) return 'only one dense layer';
  if (config.slowSize !== 16) return 'slowSize must be 16';
  if (config.msgSize < 2) return 'msgSize must be ≥ 2';
  if (config.layerNorm) return 'no layer norm';
  if (config.backwardPass) return 'no backward pass';
  if (config.stateClip !== null) return 'no state clip';
  if (config.aggregation !== 'mean') return 'mean aggregation only';
  return null;
}

/** Options of {@link createFastGradEngine}. */
export interface FastGradOptions {
  /** steps per recomputation segment (default: as many as fit in `maxTapeBytes`) */
  readonly segmentSteps?: number;
  /** tape budget in bytes (default 512 MiB) */
  readonly maxTapeBytes?: number;
  /** treat the fed-back error as a constant (default: the model's setting) */
  readonly stopErrorGradient?: boolean;
}

const OFFSETS = [-5, 0, 5, 0]; // i, g, f, o

/**
 * The WASM gradient engine for a VSML model (a drop-in {@link GradientEngine} for `fullGradEstimator`).
 * @throws MetatrainError `UNSUPPORTED` for configs outside its scope (see {@link fastGradUnsupported})
 */
export function createFastGradEngine(model: MetaModel, opts: FastGradOptions = {}): GradientEngine {
  if (model.kind !== 'vsml' || !('config' in model)) throw new MetatrainError('UNSUPPORTED', 'fast gradient engine: VSML models only');
  const base = (model as MetaModel & { config: ModelConfig }).config;
  const why = fastGradUnsupported(base);
  if (why !== null) throw new MetatrainError('UNSUPPORTED', `fast gradient engine: ${why}`);
  const desc = model.describe();
  const stopErr = opts.stopErrorGradient ?? Boolean(desc['stopErrorGradient']);
  const ex = instantiateGradWasm();
  return (theta, batch, seeds) => Promise.resolve(run(ex, base, theta, batch, seeds, stopErr, opts));
}

/**
 * Forward only: the mean per-step loss of each member's episode (no tape, no backward), e.g. for ES units.
 * @throws MetatrainError `UNSUPPORTED` as {@link createFastGradEngine}
 */
export function createFastForward(model: MetaModel): (theta: MetaParams, batch: EpisodeBatch, seeds: readonly number[]) => Float64Array {
  if (model.kind !== 'vsml' || !('config' in model)) throw new MetatrainError('UNSUPPORTED', 'fast forward: VSML models only');
  const base = (model as MetaModel & { config: ModelConfig }).config;
  const why = fastGradUnsupported(base);
  if (why !== null) throw new MetatrainError('UNSUPPORTED', `fast forward: ${why}`);
  const ex = instantiateGradWasm();
  return (theta, batch, seeds) => {
    const out = new Float64Array(batch.population);
    run(ex, base, theta, batch, seeds, true, { segmentSteps: batch.steps, maxTapeBytes: 0 }, out);
    return out;
  };
}

function run(
  ex: GradExports,
  base: ModelConfig,
  theta: MetaParams,
  batch: EpisodeBatch,
  seeds: readonly number[],
  stopErr: boolean,
  opts: FastGradOptions,
  forwardOnly: Float64Array | null = null,
): ValueAndGrad {
  const { steps: T, population: P, dim: I, numClasses: C } = batch;
  const cfg = sizedConfig(base, I, C);
  const M = cfg.msgSize;
  const MT = cfg.microTicks;
  const oi = cfg.outputIdx;
  const Bd = cfg.tanhBound ?? 0;
  const feedLabel = cfg.feedLabel;
  const layout = new Map(paramLayout(cfg).map((s) => [s.name, s]));
  if (theta.length !== [...layout.values()].reduce((a, s) => a + s.size, 0)) {
    throw new MetatrainError('SHAPE_MISMATCH', `fast gradient engine: θ has ${theta.length} entries`);
  }
  const oW = layout.get('lstm.w')!.offset;
  const oB = layout.get('lstm.b')!.offset;
  const oFW = layout.get('fwd.w')!.offset;
  const oFB = layout.get('fwd.b')!.offset;
  const row = (r: number): Float32Array => theta.subarray(oW + r * 64, oW + (r + 1) * 64);
  const Wx = row(0);
  const We = row(M);
  const Wl = row(M + 1);
  const biasOff = new Float32Array(64);
  for (let j = 0; j < 64; j++) biasOff[j] = theta[oB + j]! + OFFSETS[j >> 4]!;
  const wo = new Float64Array(16);
  for (let k = 0; k < 16; k++) wo[k] = theta[oFW + k * M + oi]!;
  const bo = theta[oFB + oi]!;

  const NS = P * I * C;
  const tapeStep = MT * NS * 448;
  const S = Math.max(1, Math.min(T, opts.segmentSteps ?? Math.floor((opts.maxTapeBytes ?? 512 * 2 ** 20) / tapeStep)));

  // ---- memory ----
  let top = ex.heapBase();
  const alloc = (floats: number): number => {
    top = Math.ceil(top / 64) * 64;
    const p = top;
    top += floats * 4;
    return p;
  };
  const pWh = alloc(1024);
  const pWT = alloc(1024);
  const pH = alloc(NS * 16);
  const pC = alloc(NS * 16);
  const pRow = alloc(P * I * 64);
  const pCol = alloc(P * C * 64);
  const pHsum = alloc(P * C * 16);
  const pZ = alloc(64);
  const pDh = alloc(NS * 16);
  const pDc = alloc(NS * 16);
  const pDout = alloc(P * C * 16);
  const pDrow = alloc(P * I * 64);
  const pDcol = alloc(P * C * 64);
  const pDW = alloc(1024);
  const pScr = alloc(C * MT * 80);
  const pTape = alloc(forwardOnly ? 0 : (S * tapeStep) / 4);
  const need = top - ex.memory.buffer.byteLength;
  if (need > 0) ex.memory.grow(Math.ceil(need / 65536));
  const buf = ex.memory.buffer;
  const f32 = (p: number, n: number): Float32Array => new Float32Array(buf, p, n);
  const Wh = f32(pWh, 1024);
  const WT = f32(pWT, 1024);
  for (let k = 0; k < 16; k++) {
    for (let j = 0; j < 64; j++) {
      const w = theta[oW + (2 * M + k) * 64 + j]!;
      Wh[k * 64 + j] = w;
      WT[j * 16 + k] = w;
    }
  }
  const h = f32(pH, NS * 16);
  const c = f32(pC, NS * 16);
  const rowC = f32(pRow, P * I * 64);
  const colC = f32(pCol, P * C * 64);
  const hsum = f32(pHsum, P * C * 16);
  const dh = f32(pDh, NS * 16);
  const dc = f32(pDc, NS * 16);
  const dout = f32(pDout, P * C * 16);
  const drow = f32(pDrow, P * I * 64);
  const dcol = f32(pDcol, P * C * 64);
  const dW = f32(pDW, 1024);

  // ---- initial state: core's initState (exactly the tfjs path's) ----
  const st = initState(cfg, { population: P, seed: 0, memberKeys: seeds });
  c.set(st.layers[0]!.c.dataSync() as Float32Array);
  h.fill(0);
  for (const t of stateTensors(st)) t.dispose();

  // ---- per-step records of the first forward pass ----
  const eprev = new Float64Array((T + 1) * P * C); // error fed at step t
  const lprev = new Float64Array((T + 1) * P * C); // label fed at step t
  const soft = new Float64Array(T * P * C);
  const yPre = new Float64Array(T * P * C);
  const hsumAll = new Float32Array(T * P * C * 16);
  const x = batch.x;
  const labels = batch.y;

  const prepare = (t: number): void => {
    for (let p = 0; p < P; p++) {
      for (let a = 0; a < I; a++) {
        const xv = x[(t * P + p) * I + a]!;
        const o = (p * I + a) * 64;
        for (let j = 0; j < 64; j++) rowC[o + j] = xv * Wx[j]!;
      }
      for (let b = 0; b < C; b++) {
        const e = eprev[(t * P + p) * C + b]!;
        const l = lprev[(t * P + p) * C + b]!;
        const o = (p * C + b) * 64;
        for (let j = 0; j < 64; j++) colC[o + j] = e * We[j]! + l * Wl[j]! + biasOff[j]!;
      }
    }
  };

  const nSeg = Math.ceil(T / S);
  const lastStart = (nSeg - 1) * S; // the last segment is taped in the first pass (its backward comes first)
  const snapH: Float32Array[] = [];
  const snapC: Float32Array[] = [];
  let lossSum = 0;
  let correctSum = 0;
  for (let t = 0; t < T; t++) {
    if (t % S === 0 && t < lastStart) {
      snapH.push(Float32Array.from(h));
      snapC.push(Float32Array.from(c));
    }
    prepare(t);
    ex.fwdStep(P, I, C, MT, pH, pC, pRow, pCol, pWh, pHsum, t >= lastStart && !forwardOnly ? pTape + (t - lastStart) * tapeStep : 0, pZ);
    hsumAll.set(hsum, t * P * C * 16);
    for (let p = 0; p < P; p++) {
      const q = (t * P + p) * C;
      let mx = -Infinity;
      for (let b = 0; b < C; b++) {
        let y = bo;
        const hb = (p * C + b) * 16;
        for (let k = 0; k < 16; k++) y += (hsum[hb + k]! / I) * wo[k]!;
        yPre[q + b] = y;
        const lg = Bd ? Bd * Math.tanh(y / Bd) : y;
        soft[q + b] = lg;
        mx = Math.max(mx, lg);
      }
      let z = 0;
      let arg = 0;
      for (let b = 0; b < C; b++) {
        if (soft[q + b]! > soft[q + arg]!) arg = b;
        z += Math.exp(soft[q + b]! - mx);
      }
      const lab = labels[t * P + p]!;
      const l = Math.log(z) + mx - soft[q + lab]!;
      lossSum += l;
      if (forwardOnly) forwardOnly[p] = forwardOnly[p]! + l / T;
      if (arg === lab) correctSum++;
      const nq = ((t + 1) * P + p) * C;
      for (let b = 0; b < C; b++) {
        const s = Math.exp(soft[q + b]! - mx) / z;
        soft[q + b] = s;
        eprev[nq + b] = s - (b === lab ? 1 : 0);
        lprev[nq + b] = feedLabel && b === lab ? 1 : 0;
      }
    }
  }

  const scale = 1 / (T * P);
  if (forwardOnly) return { loss: lossSum * scale, accuracy: correctSum * scale, grad: new Float32Array(0) };

  // ---- backward over segments ----
  dh.fill(0);
  dc.fill(0);
  dW.fill(0);
  const dErr = new Float64Array(P * C);
  const gWx = new Float64Array(64);
  const gWe = new Float64Array(64);
  const gWl = new Float64Array(64);
  const gB = new Float64Array(64);
  const gWo = new Float64Array(16);
  let gBo = 0;
  for (let s = nSeg - 1; s >= 0; s--) {
    const t0 = s * S;
    const t1 = Math.min(T, t0 + S);
    if (s < nSeg - 1) {
      h.set(snapH[s]!);
      c.set(snapC[s]!);
      for (let t = t0; t < t1; t++) {
        prepare(t);
        ex.fwdStep(P, I, C, MT, pH, pC, pRow, pCol, pWh, pHsum, pTape + (t - t0) * tapeStep, pZ);
      }
    }
    for (let t = t1 - 1; t >= t0; t--) {
      for (let p = 0; p < P; p++) {
        const q = (t * P + p) * C;
        const lab = labels[t * P + p]!;
        let sv = 0;
        if (!stopErr) for (let b = 0; b < C; b++) sv += soft[q + b]! * dErr[p * C + b]!;
        for (let b = 0; b < C; b++) {
          const sb = soft[q + b]!;
          let g = (sb - (b === lab ? 1 : 0)) * scale;
          if (!stopErr) g += sb * (dErr[p * C + b]! - sv);
          let dy = g;
          if (Bd) {
            const th = Math.tanh(yPre[q + b]! / Bd);
            dy *= 1 - th * th;
          }
          gBo += dy;
          const hb = (q + b) * 16;
          const ob = (p * C + b) * 16;
          for (let k = 0; k < 16; k++) {
            gWo[k] = gWo[k]! + (dy * hsumAll[hb + k]!) / I;
            dout[ob + k] = (dy * wo[k]!) / I;
          }
        }
      }
      ex.bwdStep(P, I, C, MT, pTape + (t - t0) * tapeStep, pDh, pDc, pDout, pWT, pDW, pDrow, pDcol, pScr);
      for (let p = 0; p < P; p++) {
        for (let a = 0; a < I; a++) {
          const xv = x[(t * P + p) * I + a]!;
          if (xv === 0) continue;
          const o = (p * I + a) * 64;
          for (let j = 0; j < 64; j++) gWx[j] = gWx[j]! + xv * drow[o + j]!;
        }
        for (let b = 0; b < C; b++) {
          const e = eprev[(t * P + p) * C + b]!;
          const l = lprev[(t * P + p) * C + b]!;
          const o = (p * C + b) * 64;
          let de = 0;
          for (let j = 0; j < 64; j++) {
            const d = dcol[o + j]!;
            gWe[j] = gWe[j]! + e * d;
            gWl[j] = gWl[j]! + l * d;
            gB[j] = gB[j]! + d;
            de += d * We[j]!;
          }
          dErr[p * C + b] = stopErr ? 0 : de;
        }
      }
    }
  }

  // ---- assemble the flat gradient in layout order ----
  const grad = new Float32Array(theta.length);
  for (let j = 0; j < 64; j++) {
    grad[oW + j] = gWx[j]!;
    grad[oW + M * 64 + j] = gWe[j]!;
    if (feedLabel) grad[oW + (M + 1) * 64 + j] = gWl[j]!;
    grad[oB + j] = gB[j]!;
  }
  for (let k = 0; k < 16; k++) for (let j = 0; j < 64; j++) grad[oW + (2 * M + k) * 64 + j] = dW[k * 64 + j]!;
  for (let k = 0; k < 16; k++) grad[oFW + k * M + oi] = gWo[k]!;
  grad[oFB + oi] = gBo;
  return { loss: lossSum * scale, accuracy: correctSum * scale, grad };
}
