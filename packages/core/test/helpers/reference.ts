/**
 * A literal float64 reference of the VSML RNN, written for the tests from design/vsml-method.md §2 (not from the
 * package's sources): plain loops over steps, rows, layers, micro ticks and every sub-RNN (a, b).
 *
 * - sub-RNN: z = [fwdIn[a] (M), bwdIn[b] (M), h_ab (H)], G = z·lstm.w + lstm.b, gates i, g, f, o;
 *   i = σ(G_i − 5), f = σ(G_f + 5), g = tanh(G_g), o = σ(G_o); c = f·c + i·g; h = o·tanh(c); then the optional
 *   state clip of both h and c.
 * - messages per sub-RNN: fwd = h·fwd.w + fwd.b, bwd = h·bwd.w + bwd.b (each layer-normed when layerNorm),
 *   fwdOut[b] = mean_a (sum_a), bwdOut[a] = mean_b (sum_b); the last micro tick's messages are kept.
 * - tick: layer 0 reads [x_a, 0, ...], the last layer reads [err_b, lab_b, 0, ...]; forward order 0..L−1,
 *   reverse order L−1..0; outputs go to the neighbours' incoming messages; logits = bound·tanh(fwdOut[b][outputIdx]/bound).
 * - step: merge the first floor(H·innerBatchMerge) dims of h and c over each member's B rows (B > 1);
 *   forward tick; CE; err = (softmax − onehot)/B, lab = feedLabel ? onehot : 0; reverse tick when backwardPass
 *   (then err = lab = 0).
 * - `opts` (the clone's changes): zeroStaleBackward zeros every layer's backward messages before a forward tick;
 *   errorScale / perRowError: err = errorScale·(softmax − onehot), not divided by B with perRowError.
 */
import type { ModelConfig } from '../../src/config.js';

export type Named = Record<string, ArrayLike<number>>;

export interface RefInit {
  /** per layer, [E, I, O, H] */
  c: ArrayLike<number>[];
  /** per layer, [E, I, O, H] (default 0) */
  h?: ArrayLike<number>[];
}

/** The clone's deliberate changes (packages/clone/src/loop.ts); the defaults are the official semantics. */
export interface RefOptions {
  /** CHANGE 1: every forward tick sees zero backward messages */
  zeroStaleBackward?: boolean;
  /** the injected error is errorScale·(softmax − onehot), divided by B unless perRowError (CHANGE 2) */
  errorScale?: number;
  perRowError?: boolean;
  /**
   * inject these errors [T, E, C] (as recorded in `errors` of an earlier run) instead of the ones computed from this
   * run's logits: the loss with the fed-back error held constant (finite differences of it = stopErrorGradient)
   */
  fixedErrors?: ArrayLike<number>;
}

export interface RefResult {
  /** [T, E, C] */
  logits: Float64Array;
  /** [T, E] */
  loss: Float64Array;
  /** [T, E] */
  correct: Uint8Array;
  /** [T, E, C]: the error computed at each step (what the next tick is fed unless `fixedErrors`) */
  errors: Float64Array;
  /** final state per layer [E, I, O, H] */
  h: Float64Array[];
  c: Float64Array[];
}

const sig = (z: number): number => 1 / (1 + Math.exp(-z));

function prefixFor(config: ModelConfig, layer: number, reverse: boolean): string {
  return (config.layerwiseRnns ? `layers.${layer}.` : '') + (reverse && config.separateBackwardRnn ? 'reverse.' : '');
}

/**
 * @param paramsOf parameters of member p (rows e = p·B .. p·B+B−1 use member floor(e/B))
 * @param x inputs [T, E, D]
 * @param y labels [T, E]
 */
export function referenceEpisode(
  config: ModelConfig,
  P: number,
  B: number,
  paramsOf: (member: number) => Named,
  init: RefInit,
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  opts: RefOptions = {},
): RefResult {
  const L = config.layers.length;
  const H = config.slowSize;
  const M = config.msgSize;
  const K = 2 * M + H;
  const E = P * B;
  const D = config.layers[0]!.in;
  const C = config.layers[L - 1]!.out;
  const T = y.length / E;
  const h = config.layers.map((l, k) => {
    const a = new Float64Array(E * l.in * l.out * H);
    const src = init.h?.[k];
    if (src) for (let i = 0; i < a.length; i++) a[i] = src[i]!;
    return a;
  });
  const c = config.layers.map((l, k) => Float64Array.from(init.c[k]!));
  const fwdIn = config.layers.map((l) => new Float64Array(E * l.in * M));
  const bwdIn = config.layers.map((l) => new Float64Array(E * l.out * M));
  const err = new Float64Array(E * C);
  const lab = new Float64Array(E * C);
  const out: RefResult = { logits: new Float64Array(T * E * C), loss: new Float64Array(T * E), correct: new Uint8Array(T * E), errors: new Float64Array(T * E * C), h, c };
  const clip = (v: number): number => (config.stateClip ? Math.min(config.stateClip[1], Math.max(config.stateClip[0], v)) : v);
  const norm = (v: Float64Array, scale: ArrayLike<number>, offset: ArrayLike<number>): void => {
    let mean = 0;
    for (let j = 0; j < M; j++) mean += v[j]!;
    mean /= M;
    let vr = 0;
    for (let j = 0; j < M; j++) vr += (v[j]! - mean) ** 2;
    vr /= M;
    const inv = 1 / Math.sqrt(vr + 1e-5);
    for (let j = 0; j < M; j++) v[j] = scale[j]! * (v[j]! - mean) * inv + offset[j]!;
  };

  /** runs one layer of row e; returns [fwdOut (O×M), bwdOut (I×M)] of the last micro tick */
  const runLayer = (e: number, l: number, reverse: boolean): [Float64Array, Float64Array] => {
    const { in: I, out: O } = config.layers[l]!;
    const prm = paramsOf(Math.floor(e / B));
    const pre = prefixFor(config, l, reverse);
    const W = prm[`${pre}lstm.w`]!;
    const bias = prm[`${pre}lstm.b`]!;
    const fW = prm[`${pre}fwd.w`]!;
    const fB = prm[`${pre}fwd.b`]!;
    const bW = prm[`${pre}bwd.w`]!;
    const bB = prm[`${pre}bwd.b`]!;
    const z = new Float64Array(K);
    const G = new Float64Array(4 * H);
    const fo = new Float64Array(M);
    const bo = new Float64Array(M);
    let fwdOut: Float64Array = new Float64Array(O * M);
    let bwdOut: Float64Array = new Float64Array(I * M);
    for (let mt = 0; mt < config.microTicks; mt++) {
      fwdOut = new Float64Array(O * M);
      bwdOut = new Float64Array(I * M);
      for (let a = 0; a < I; a++) {
        for (let b = 0; b < O; b++) {
          const base = ((e * I + a) * O + b) * H;
          for (let j = 0; j < M; j++) {
            z[j] = fwdIn[l]![(e * I + a) * M + j]!;
            z[M + j] = bwdIn[l]![(e * O + b) * M + j]!;
          }
          for (let j = 0; j < H; j++) z[2 * M + j] = h[l]![base + j]!;
          for (let q = 0; q < 4 * H; q++) {
            let s = bias[q]!;
            for (let k = 0; k < K; k++) s += z[k]! * W[k * 4 * H + q]!;
            G[q] = s;
          }
          for (let j = 0; j < H; j++) {
            const ig = sig(G[j]! - 5);
            const gg = Math.tanh(G[H + j]!);
            const fg = sig(G[2 * H + j]! + 5);
            const og = sig(G[3 * H + j]!);
            const cn = fg * c[l]![base + j]! + ig * gg;
            c[l]![base + j] = clip(cn);
            h[l]![base + j] = clip(og * Math.tanh(cn));
          }
          for (let m = 0; m < M; m++) {
            let sf = fB[m]!;
            let sb = bB[m]!;
            for (let j = 0; j < H; j++) {
              sf += h[l]![base + j]! * fW[j * M + m]!;
              sb += h[l]![base + j]! * bW[j * M + m]!;
            }
            fo[m] = sf;
            bo[m] = sb;
          }
          if (config.layerNorm) {
            norm(fo, prm[`${pre}fwdNorm.scale`]!, prm[`${pre}fwdNorm.offset`]!);
            norm(bo, prm[`${pre}bwdNorm.scale`]!, prm[`${pre}bwdNorm.offset`]!);
          }
          const fa = config.aggregation === 'mean' ? 1 / I : 1;
          const ba = config.aggregation === 'mean' ? 1 / O : 1;
          for (let m = 0; m < M; m++) {
            fwdOut[b * M + m] = fwdOut[b * M + m]! + fo[m]! * fa;
            bwdOut[a * M + m] = bwdOut[a * M + m]! + bo[m]! * ba;
          }
        }
      }
    }
    return [fwdOut, bwdOut];
  };

  /** one tick of row e; returns the last layer's forward output */
  const tick = (e: number, t: number, reverse: boolean, errIn: Float64Array, labIn: Float64Array): Float64Array => {
    fwdIn[0]!.fill(0, e * D * M, (e + 1) * D * M);
    for (let a = 0; a < D; a++) fwdIn[0]![(e * D + a) * M] = x[(t * E + e) * D + a]!;
    bwdIn[L - 1]!.fill(0, e * C * M, (e + 1) * C * M);
    for (let b = 0; b < C; b++) {
      bwdIn[L - 1]![(e * C + b) * M] = errIn[e * C + b]!;
      bwdIn[L - 1]![(e * C + b) * M + 1] = labIn[e * C + b]!;
    }
    if (!reverse && opts.zeroStaleBackward) {
      for (let l = 0; l < L; l++) {
        const O = config.layers[l]!.out;
        bwdIn[l]!.fill(0, e * O * M, (e + 1) * O * M);
      }
    }
    let last: Float64Array = new Float64Array(C * M);
    const order = [...Array(L).keys()];
    if (reverse) order.reverse();
    for (const l of order) {
      const [fOut, bOut] = runLayer(e, l, reverse);
      const { in: I, out: O } = config.layers[l]!;
      if (l > 0) bwdIn[l - 1]!.set(bOut, e * I * M);
      if (l < L - 1) fwdIn[l + 1]!.set(fOut, e * O * M);
      else last = fOut;
    }
    return last;
  };

  const nMerge = Math.floor(H * config.innerBatchMerge);
  for (let t = 0; t < T; t++) {
    if (B > 1 && nMerge > 0) {
      for (let l = 0; l < L; l++) {
        const per = config.layers[l]!.in * config.layers[l]!.out;
        for (const s of [h[l]!, c[l]!]) {
          for (let p = 0; p < P; p++) {
            for (let ab = 0; ab < per; ab++) {
              for (let j = 0; j < nMerge; j++) {
                let mean = 0;
                for (let b = 0; b < B; b++) mean += s[((p * B + b) * per + ab) * H + j]!;
                mean /= B;
                for (let b = 0; b < B; b++) s[((p * B + b) * per + ab) * H + j] = mean;
              }
            }
          }
        }
      }
    }
    const newErr = new Float64Array(E * C);
    const newLab = new Float64Array(E * C);
    for (let e = 0; e < E; e++) {
      const last = tick(e, t, false, err, lab);
      const logits = new Float64Array(C);
      for (let b = 0; b < C; b++) {
        const v = last[b * M + config.outputIdx]!;
        logits[b] = config.tanhBound ? config.tanhBound * Math.tanh(v / config.tanhBound) : v;
      }
      const label = y[t * E + e]!;
      const mx = Math.max(...logits);
      let se = 0;
      for (let b = 0; b < C; b++) se += Math.exp(logits[b]! - mx);
      out.loss[t * E + e] = -(logits[label]! - mx - Math.log(se));
      let arg = 0;
      for (let b = 1; b < C; b++) if (logits[b]! > logits[arg]!) arg = b;
      out.correct[t * E + e] = arg === label ? 1 : 0;
      for (let b = 0; b < C; b++) {
        out.logits[(t * E + e) * C + b] = logits[b]!;
        newErr[e * C + b] = ((opts.errorScale ?? 1) * (Math.exp(logits[b]! - mx) / se - (b === label ? 1 : 0))) / (opts.perRowError ? 1 : B);
        newLab[e * C + b] = config.feedLabel && b === label ? 1 : 0;
      }
    }
    out.errors.set(newErr, t * E * C);
    if (opts.fixedErrors) for (let i = 0; i < E * C; i++) newErr[i] = opts.fixedErrors[t * E * C + i]!;
    if (config.backwardPass) {
      for (let e = 0; e < E; e++) tick(e, t, true, newErr, newLab);
      err.fill(0);
      lab.fill(0);
    } else {
      err.set(newErr);
      lab.set(newLab);
    }
  }
  return out;
}
