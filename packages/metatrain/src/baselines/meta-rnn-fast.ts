/**
 * A fast meta-gradient engine for the Meta RNN: the same function as `metaRnnModel`'s tfjs segment runner (the
 * reference; a test compares them), with the matrix products in WebAssembly SIMD (`gemmAcc`, `outerAcc`, `gemmBT`
 * of `assembly/grad.ts`) and the element-wise LSTM, soft clip, softmax and cross-entropy in float64 JavaScript.
 * Plain BPTT over the episode: the tape holds, per step and micro tick, the LSTM input state and gates
 * (≈ T·MT·P·(6H)·4 bytes: 20 MB for T = 100, P = 16, H = 128), so memory is linear in T but small.
 *
 * Per step (u = [x, err, lab], W = [W_u; W_h] = lstm.w, b = lstm.b, gates i|g|f|o, forget bias +1):
 *   G_in = u·W_u + b;  per micro tick: G = G_in + h·W_h; c = σ(G_f + 1)·c + σ(G_i)·tanh(G_g); h = σ(G_o)·tanh(c)
 *   ŷ = B·tanh((h·W_o + b_o)/B);  err = softmax(ŷ) − onehot, lab = onehot (fed at the next step)
 */
import { MetatrainError } from '../errors.js';
import type { GradientEngine, ValueAndGrad } from '../estimators/full-grad.js';
import type { EpisodeBatch } from '../metatest.js';
import type { MetaModel, MetaParams } from '../model.js';
import { instantiateGradWasm, type GradExports } from '../wasm.js';
import { metaRnnLayout, type MetaRnnOptions } from './meta-rnn.js';

const sig = (x: number): number => 1 / (1 + Math.exp(-x));

/** The WASM gradient engine for a `metaRnnModel` (a drop-in {@link GradientEngine} for `fullGradEstimator`). */
export function createMetaRnnGradEngine(model: MetaModel): GradientEngine {
  if (model.kind !== 'meta-rnn' || !('options' in model)) throw new MetatrainError('UNSUPPORTED', 'createMetaRnnGradEngine: Meta RNN models only');
  const o = (model as MetaModel & { options: Required<MetaRnnOptions> }).options;
  if ((4 * o.hidden) % 8 !== 0) throw new MetatrainError('UNSUPPORTED', 'createMetaRnnGradEngine: 4·hidden must be a multiple of 8');
  const ex = instantiateGradWasm();
  return (theta, batch, seeds) => {
    void seeds; // the Meta RNN starts from zeros
    return Promise.resolve(run(ex, o, theta, batch));
  };
}

function run(ex: GradExports, o: Required<MetaRnnOptions>, theta: MetaParams, batch: EpisodeBatch): ValueAndGrad {
  const { inputDim: D, numClasses: C, hidden: H, microTicks: MT, tanhBound: Bd } = o;
  const { steps: T, population: P } = batch;
  if (batch.dim !== D || batch.numClasses !== C) {
    throw new MetatrainError('UNSUPPORTED', `Meta RNN engine: built for D = ${D}, C = ${C}; batch has D = ${batch.dim}, C = ${batch.numClasses}`);
  }
  const G4 = 4 * H;
  const Din = D + 2 * C;
  const layout = metaRnnLayout(D, C, H);
  const [sW, sB, sOW, sOB] = layout as [(typeof layout)[0], (typeof layout)[0], (typeof layout)[0], (typeof layout)[0]];
  if (theta.length !== sOB.offset + sOB.size) throw new MetatrainError('SHAPE_MISMATCH', `Meta RNN engine: θ has ${theta.length} entries`);

  // ---- memory ----
  let top = ex.heapBase();
  const alloc = (floats: number): number => {
    top = Math.ceil(top / 64) * 64;
    const p = top;
    top += floats * 4;
    return p;
  };
  const pW = alloc((Din + H) * G4); // lstm.w: rows W_u (Din) then W_h (H)
  const pDW = alloc((Din + H) * G4);
  const pU = alloc(T * P * Din); // inputs u per step
  const pGin = alloc(P * G4);
  const pG = alloc(P * G4);
  const pHprev = alloc(T * MT * P * H); // h before each micro tick
  const pDG = alloc(P * G4);
  const pDGin = alloc(P * G4);
  const pDh = alloc(P * H);
  const pDu = alloc(P * C);
  const need = top - ex.memory.buffer.byteLength;
  if (need > 0) ex.memory.grow(Math.ceil(need / 65536));
  const buf = ex.memory.buffer;
  const f32 = (p: number, n: number): Float32Array => new Float32Array(buf, p, n);
  const W = f32(pW, (Din + H) * G4);
  W.set(theta.subarray(sW.offset, sW.offset + sW.size));
  const dW = f32(pDW, (Din + H) * G4);
  dW.fill(0);
  const U = f32(pU, T * P * Din);
  const Gin = f32(pGin, P * G4);
  const G = f32(pG, P * G4);
  const Hprev = f32(pHprev, T * MT * P * H);
  const dG = f32(pDG, P * G4);
  const dGin = f32(pDGin, P * G4);
  const dhW = f32(pDh, P * H);
  const du = f32(pDu, P * C);
  const pWh = pW + Din * G4 * 4;
  const pDWh = pDW + Din * G4 * 4;
  const bias = theta.subarray(sB.offset, sB.offset + sB.size);
  const Wo = theta.subarray(sOW.offset, sOW.offset + sOW.size); // [H, C]
  const bo = theta.subarray(sOB.offset, sOB.offset + sOB.size);

  // tape (float64, JS side): gates and c per step and micro tick
  const gi = new Float64Array(T * MT * P * H);
  const gg = new Float64Array(T * MT * P * H);
  const gf = new Float64Array(T * MT * P * H);
  const go = new Float64Array(T * MT * P * H);
  const cPrev = new Float64Array(T * MT * P * H);
  const tcA = new Float64Array(T * MT * P * H);
  const hLast = new Float64Array(T * P * H);
  const soft = new Float64Array(T * P * C);
  const yPre = new Float64Array(T * P * C);
  const h = new Float64Array(P * H);
  const c = new Float64Array(P * H);
  const err = new Float64Array(P * C);
  const lab = new Float64Array(P * C);
  let lossSum = 0;
  let correctSum = 0;

  // ---- forward ----
  for (let t = 0; t < T; t++) {
    for (let p = 0; p < P; p++) {
      const u = (t * P + p) * Din;
      for (let d = 0; d < D; d++) U[u + d] = batch.x[(t * P + p) * D + d]!;
      for (let k = 0; k < C; k++) {
        U[u + D + k] = err[p * C + k]!;
        U[u + D + C + k] = lab[p * C + k]!;
      }
      for (let j = 0; j < G4; j++) Gin[p * G4 + j] = bias[j]!;
    }
    ex.gemmAcc(pU + t * P * Din * 4, pW, pGin, P, Din, G4);
    for (let m = 0; m < MT; m++) {
      const r = (t * MT + m) * P * H;
      for (let i = 0; i < P * H; i++) Hprev[r + i] = h[i]!;
      G.set(Gin);
      ex.gemmAcc(pHprev + r * 4, pWh, pG, P, H, G4);
      for (let p = 0; p < P; p++) {
        for (let k = 0; k < H; k++) {
          const q = p * G4;
          const i_ = sig(G[q + k]!);
          const g_ = Math.tanh(G[q + H + k]!);
          const f_ = sig(G[q + 2 * H + k]! + 1);
          const o_ = sig(G[q + 3 * H + k]!);
          const e = r + p * H + k;
          cPrev[e] = c[p * H + k]!;
          const cn = f_ * c[p * H + k]! + i_ * g_;
          const tc = Math.tanh(cn);
          gi[e] = i_;
          gg[e] = g_;
          gf[e] = f_;
          go[e] = o_;
          tcA[e] = tc;
          c[p * H + k] = cn;
          h[p * H + k] = o_ * tc;
        }
      }
    }
    for (let p = 0; p < P; p++) {
      const q = (t * P + p) * C;
      for (let k = 0; k < H; k++) hLast[(t * P + p) * H + k] = h[p * H + k]!;
      let mx = -Infinity;
      for (let b = 0; b < C; b++) {
        let y = bo[b]!;
        for (let k = 0; k < H; k++) y += h[p * H + k]! * Wo[k * C + b]!;
        yPre[q + b] = y;
        const lg = Bd ? Bd * Math.tanh(y / Bd) : y;
        soft[q + b] = lg;
        if (lg > mx) mx = lg;
      }
      let z = 0;
      let arg = 0;
      for (let b = 0; b < C; b++) {
        if (soft[q + b]! > soft[q + arg]!) arg = b;
        z += Math.exp(soft[q + b]! - mx);
      }
      const yl = batch.y[t * P + p]!;
      lossSum += Math.log(z) + mx - soft[q + yl]!;
      if (arg === yl) correctSum++;
      for (let b = 0; b < C; b++) {
        const s = Math.exp(soft[q + b]! - mx) / z;
        soft[q + b] = s;
        err[p * C + b] = s - (b === yl ? 1 : 0);
        lab[p * C + b] = b === yl ? 1 : 0;
      }
    }
  }

  // ---- backward ----
  const scale = 1 / (T * P);
  const gWo = new Float64Array(H * C);
  const gbo = new Float64Array(C);
  const gb = new Float64Array(G4);
  const dh = new Float64Array(P * H);
  const dc = new Float64Array(P * H);
  const dErr = new Float64Array(P * C);
  for (let t = T - 1; t >= 0; t--) {
    for (let p = 0; p < P; p++) {
      const q = (t * P + p) * C;
      const yl = batch.y[t * P + p]!;
      let sv = 0;
      for (let b = 0; b < C; b++) sv += soft[q + b]! * dErr[p * C + b]!;
      for (let b = 0; b < C; b++) {
        const sb = soft[q + b]!;
        let dy = (sb - (b === yl ? 1 : 0)) * scale + sb * (dErr[p * C + b]! - sv);
        if (Bd) {
          const th = Math.tanh(yPre[q + b]! / Bd);
          dy *= 1 - th * th;
        }
        gbo[b] = gbo[b]! + dy;
        for (let k = 0; k < H; k++) {
          gWo[k * C + b] = gWo[k * C + b]! + dy * hLast[(t * P + p) * H + k]!;
          dh[p * H + k] = dh[p * H + k]! + dy * Wo[k * C + b]!;
        }
      }
    }
    dGin.fill(0);
    for (let m = MT - 1; m >= 0; m--) {
      const r = (t * MT + m) * P * H;
      for (let p = 0; p < P; p++) {
        for (let k = 0; k < H; k++) {
          const e = r + p * H + k;
          const i_ = gi[e]!;
          const g_ = gg[e]!;
          const f_ = gf[e]!;
          const o_ = go[e]!;
          const tc = tcA[e]!;
          const dhv = dh[p * H + k]!;
          const dcn = dc[p * H + k]! + dhv * o_ * (1 - tc * tc);
          const q = p * G4;
          dG[q + k] = dcn * g_ * i_ * (1 - i_);
          dG[q + H + k] = dcn * i_ * (1 - g_ * g_);
          dG[q + 2 * H + k] = dcn * cPrev[e]! * f_ * (1 - f_);
          dG[q + 3 * H + k] = dhv * tc * o_ * (1 - o_);
          dc[p * H + k] = dcn * f_;
        }
      }
      for (let i = 0; i < P * G4; i++) dGin[i] = dGin[i]! + dG[i]!;
      ex.outerAcc(pHprev + r * 4, pDG, pDWh, P, H, G4);
      ex.gemmBT(pDG, pWh, pDh, P, H, G4);
      for (let i = 0; i < P * H; i++) dh[i] = dhW[i]!;
    }
    ex.outerAcc(pU + t * P * Din * 4, pDGin, pDW, P, Din, G4);
    for (let p = 0; p < P; p++) for (let j = 0; j < G4; j++) gb[j] = gb[j]! + dGin[p * G4 + j]!;
    ex.gemmBT(pDGin, pW + D * G4 * 4, pDu, P, C, G4);
    for (let i = 0; i < P * C; i++) dErr[i] = du[i]!;
  }

  const grad = new Float32Array(theta.length);
  grad.set(dW, sW.offset);
  grad.set(gb, sB.offset);
  grad.set(gWo, sOW.offset);
  grad.set(gbo, sOB.offset);
  return { loss: lossSum * scale, accuracy: correctSum * scale, grad };
}
