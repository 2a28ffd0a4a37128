// VSML forward engine: the fused forward tick in WebAssembly SIMD (AssemblyScript).
//
// Everything here works on raw linear memory laid out by the TypeScript wrapper
// (src/engine/forward-engine.ts); see that file for the memory map. No managed
// objects, no allocation: the wrapper owns the layout, this module only computes.
//
// Algebra (exactly the official forward tick, re-associated; see assembly/README.md):
//  * one sub-LSTM = (a, b) of a dense layer; its gate pre-activation is
//      z = fwdIn[a] @ W[0:8] + bwdIn[b] @ W[8:16] + h @ W[16:32] + bias
//    The first two terms are the same for a whole row a / column b: they are computed
//    once per step (rowC[a], colC[b], the bias and the ±5 gate offsets folded into colC),
//    only for the message slots that can be non-zero. Per sub-LSTM and micro tick only
//    the recurrent part h @ Wh (16 x 64) remains.
//  * sigmoid(z) = (1 + tanh(z / 2)) / 2: the 1/2 is folded into the i, f, o columns, so
//    every gate is one tanh; the hidden state is kept as h2 = 2 h (Wh and the messengers
//    are halved to match): c' = s_f c + s_i t_g with s = (1 + t) / 2, h2 = (1 + t_o) tanh(c').
//  * messengers after the means (they are linear, layer norm off):
//      mean_a(h Wf + bf) = (sum_a h2) (Wf / 2) / in + bf,
//    computed once per step from the last micro tick's h only where the message is used.
//  * a sub-LSTM runs all its micro ticks back to back (the incoming messages are the
//    same for every micro tick and sub-LSTMs only interact through the means).

// ---- parameter block of one V_M (float offsets; bytes = 4x) --------------------------
const P_WH: usize = 0; // [16][64] recurrent rows, gate-scaled, x 1/2 (acts on h2)
const P_WFM: usize = 1024 * 4; // [8][64]  forward-message rows, gate-scaled
const P_WBM: usize = 1536 * 4; // [8][64]  backward-message rows, gate-scaled
const P_BZ: usize = 2048 * 4; // [64]     (bias + gate offset) * gate scale
const P_WF: usize = 2112 * 4; // [16][8]  forward messenger x 1/2
const P_BF: usize = 2240 * 4; // [8]
const P_WB: usize = 2248 * 4; // [16][8]  backward messenger x 1/2
const P_BB: usize = 2376 * 4; // [8]
const P_LN: usize = 2384 * 4; // [4][8] layer norm: fwd scale, fwd offset, bwd scale, bwd offset (with layerNorm)

// ---- config block (i32 words) ----------------------------------------------------------
const C_L = 0;
const C_P = 1;
const C_MT = 2;
const C_OUTIDX = 3;
const C_FEEDLABEL = 4;
const C_D = 5;
const C_C = 6;
const C_AGGSUM = 7;
const C_BOUND = 8; // f32
const C_PARAMS = 9;
const C_PSTRIDE = 10;
const C_X = 11;
const C_Y = 12;
const C_LOGITS = 13;
const C_LOSS = 14;
const C_CORRECT = 15;
const C_ROWC = 16;
const C_COLC = 17;
const C_HSUMA = 18;
const C_HSUMB = 19;
const C_GATES = 20;
const C_LSTRIDE = 21; // bytes between the parameter groups of consecutive layers (0: one group for all layers)
const C_REVOFF = 22; // bytes from a forward group to the group used by the reverse tick (0: the same)
const C_BACKWARD = 23; // backwardPass: a reverse tick after each forward tick
const C_CLIPON = 24; // stateClip on: h and c clipped after every micro tick
const C_LAYERNORM = 25; // layerNorm: messengers + layer norm per sub-RNN (last micro tick), then the mean
const C_CLIPV = 32; // 4 x v128 (words 32..47): lo, hi, 2 lo, 2 hi splatted
const C_LAYERS = 48; // each layer: 8 words: in, out, h, c, fwdIn, bwdIn, -, -

// ---- tanh (rational minimax, |err| < 4e-7) -------------------------------------------
// Constants live in a static data segment, each splatted to 4 lanes (one 16-byte load each; V8
// materialises v128 immediates with several instructions).
const KTAB: usize = memory.data<f32>([
  7.90531110763549805, 7.90531110763549805, 7.90531110763549805, 7.90531110763549805,
  -7.90531110763549805, -7.90531110763549805, -7.90531110763549805, -7.90531110763549805,
  -2.76076847742355e-16, -2.76076847742355e-16, -2.76076847742355e-16, -2.76076847742355e-16,
  2.00018790482477e-13, 2.00018790482477e-13, 2.00018790482477e-13, 2.00018790482477e-13,
  -8.60467152213735e-11, -8.60467152213735e-11, -8.60467152213735e-11, -8.60467152213735e-11,
  5.12229709037114e-8, 5.12229709037114e-8, 5.12229709037114e-8, 5.12229709037114e-8,
  1.48572235717979e-5, 1.48572235717979e-5, 1.48572235717979e-5, 1.48572235717979e-5,
  6.37261928875436e-4, 6.37261928875436e-4, 6.37261928875436e-4, 6.37261928875436e-4,
  4.89352455891786e-3, 4.89352455891786e-3, 4.89352455891786e-3, 4.89352455891786e-3,
  1.19825839466702e-6, 1.19825839466702e-6, 1.19825839466702e-6, 1.19825839466702e-6,
  1.18534705686654e-4, 1.18534705686654e-4, 1.18534705686654e-4, 1.18534705686654e-4,
  2.268434632439e-3, 2.268434632439e-3, 2.268434632439e-3, 2.268434632439e-3,
  4.89352518554385e-3, 4.89352518554385e-3, 4.89352518554385e-3, 4.89352518554385e-3,
  0.5, 0.5, 0.5, 0.5,
  1.0, 1.0, 1.0, 1.0,
  0.125, 0.125, 0.125, 0.125,
  1e-5, 1e-5, 1e-5, 1e-5,
], 16);

@inline function K(i: usize): v128 {
  return v128.load(KTAB + (i << 4));
}

@inline function fma(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

@inline function vtanh(x0: v128): v128 {
  const x = f32x4.pmax(f32x4.pmin(x0, K(0)), K(1));
  const x2 = f32x4.mul(x, x);
  let p = fma(x2, K(2), K(3));
  let q = fma(x2, K(9), K(10));
  p = fma(x2, p, K(4));
  q = fma(x2, q, K(11));
  p = fma(x2, p, K(5));
  q = fma(x2, q, K(12));
  p = fma(x2, p, K(6));
  p = fma(x2, p, K(7));
  p = fma(x2, p, K(8));
  return f32x4.div(f32x4.mul(x, p), q);
}

const K_HALF = 13;
const K_ONE = 14;
const K_EIGHTH = 15;
const K_LNEPS = 16; // layer-norm epsilon (Haiku default)

/** First free byte after the module's static data. */
export function heapBase(): usize {
  return __heap_base;
}

// ---- profiling (only in the build made by scripts/bench-engine.mjs --profile) -------------
// `asc --use ENGINE_PROFILE=1` defines ENGINE_PROFILE; otherwise every profiling statement is
// removed at compile time and the module has no imports.
// @ts-ignore: defined on the asc command line
const PROFILE: bool = isDefined(ENGINE_PROFILE);
@external("env", "now")
declare function now(): f64;
const PROF: usize = memory.data(8 * 8, 8); // f64 seconds-accumulators per phase

@inline function profStart(): f64 {
  if (PROFILE) return now();
  return 0;
}

@inline function profStop(phase: i32, t0: f64): f64 {
  if (PROFILE) {
    const t = now();
    const p = PROF + (<usize>phase << 3);
    store<f64>(p, load<f64>(p) + (t - t0));
    return t;
  }
  return 0;
}

/** Profiling build: accumulated milliseconds of a phase (0 messages in, 1 sub-LSTMs, 2 messages out, 3 head). */
export function profileRead(phase: i32): f64 {
  return load<f64>(PROF + (<usize>phase << 3));
}

export function profileReset(): void {
  memory.fill(PROF, 0, 64);
}

export function tanhTest(ptr: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    const p = ptr + (<usize>i << 2);
    v128.store(p, vtanh(v128.load(p)));
  }
}

// ---- the sub-LSTM micro ticks ----------------------------------------------------------
// h, c: state of R consecutive sub-LSTMs (a, b0..b0+R-1), 16 floats each (h stored as 2h).
// row: rowC[a] (64), col: colC[b0] (R x 64), W: Wh (16 x 64), g: scratch (R x 64).

// With `clip` (stateClip), h and c are clipped after the update, h computed from the unclipped c;
// cl points to the splatted bounds (lo, hi, 2 lo, 2 hi).
@inline function combine(h: usize, c: usize, g: usize, clip: bool, cl: usize): void {
  const half = K(K_HALF);
  for (let v: usize = 0; v < 64; v += 16) {
    const ti = v128.load(g + v);
    const tg = v128.load(g + v, 64);
    const tf = v128.load(g + v, 128);
    const to = v128.load(g + v, 192);
    const si = fma(ti, half, half);
    const sf = fma(tf, half, half);
    const cn = fma(sf, v128.load(c + v), f32x4.mul(si, tg));
    const hn = f32x4.mul(f32x4.add(to, K(K_ONE)), vtanh(cn));
    if (clip) {
      v128.store(c + v, f32x4.pmax(f32x4.pmin(cn, v128.load(cl, 16)), v128.load(cl)));
      v128.store(h + v, f32x4.pmax(f32x4.pmin(hn, v128.load(cl, 48)), v128.load(cl, 32)));
    } else {
      v128.store(c + v, cn);
      v128.store(h + v, hn);
    }
  }
}

@inline function tile2x(
  h: usize, c: usize, row: usize, col: usize, W: usize, g: usize, mt: i32,
  doTanh: bool, doCombine: bool, clip: bool, cl: usize,
): void {
  for (let m = 0; m < mt; m++) {
    for (let q: usize = 0; q < 256; q += 64) {
      const rq = row + q;
      const cq = col + q;
      const r0 = v128.load(rq);
      const r1 = v128.load(rq, 16);
      const r2 = v128.load(rq, 32);
      const r3 = v128.load(rq, 48);
      let a0 = f32x4.add(r0, v128.load(cq));
      let a1 = f32x4.add(r1, v128.load(cq, 16));
      let a2 = f32x4.add(r2, v128.load(cq, 32));
      let a3 = f32x4.add(r3, v128.load(cq, 48));
      let b0 = f32x4.add(r0, v128.load(cq, 256));
      let b1 = f32x4.add(r1, v128.load(cq, 272));
      let b2 = f32x4.add(r2, v128.load(cq, 288));
      let b3 = f32x4.add(r3, v128.load(cq, 304));
      let wk = W + q;
      for (let k: usize = 0; k < 64; k += 4) {
        const sa = v128.load32_splat(h + k);
        const sb = v128.load32_splat(h + k, 64);
        const w0 = v128.load(wk);
        const w1 = v128.load(wk, 16);
        const w2 = v128.load(wk, 32);
        const w3 = v128.load(wk, 48);
        a0 = fma(sa, w0, a0);
        b0 = fma(sb, w0, b0);
        a1 = fma(sa, w1, a1);
        b1 = fma(sb, w1, b1);
        a2 = fma(sa, w2, a2);
        b2 = fma(sb, w2, b2);
        a3 = fma(sa, w3, a3);
        b3 = fma(sb, w3, b3);
        wk += 256;
      }
      const gq = g + q;
      if (doTanh) {
        v128.store(gq, vtanh(a0));
        v128.store(gq, vtanh(a1), 16);
        v128.store(gq, vtanh(a2), 32);
        v128.store(gq, vtanh(a3), 48);
        v128.store(gq, vtanh(b0), 256);
        v128.store(gq, vtanh(b1), 272);
        v128.store(gq, vtanh(b2), 288);
        v128.store(gq, vtanh(b3), 304);
      } else {
        v128.store(gq, a0);
        v128.store(gq, a1, 16);
        v128.store(gq, a2, 32);
        v128.store(gq, a3, 48);
        v128.store(gq, b0, 256);
        v128.store(gq, b1, 272);
        v128.store(gq, b2, 288);
        v128.store(gq, b3, 304);
      }
    }
    if (doCombine) {
      combine(h, c, g, clip, cl);
      combine(h + 64, c + 64, g + 256, clip, cl);
    }
  }
}

function tile2(h: usize, c: usize, row: usize, col: usize, W: usize, g: usize, mt: i32): void {
  tile2x(h, c, row, col, W, g, mt, true, true, false, 0);
}

function tile2clip(h: usize, c: usize, row: usize, col: usize, W: usize, g: usize, mt: i32, cl: usize): void {
  tile2x(h, c, row, col, W, g, mt, true, true, true, cl);
}

/**
 * Profiling build only: runs `iters` times the first tile (2 sub-LSTMs of member 0, layer 0) in
 * isolation (data in L1): mode 0 = everything, 1 = the gate GEMM only, 2 = GEMM + gate tanh.
 */
export function benchTile(cfg: usize, mode: i32, iters: i32): void {
  if (PROFILE) {
    const ld = cfg + (<usize>C_LAYERS << 2);
    const h = <usize>load<i32>(ld, 8);
    const c = <usize>load<i32>(ld, 12);
    const row = <usize>cfgI(cfg, C_ROWC);
    const col = <usize>cfgI(cfg, C_COLC);
    const W = <usize>cfgI(cfg, C_PARAMS) + P_WH;
    const g = <usize>cfgI(cfg, C_GATES);
    const mt = cfgI(cfg, C_MT);
    if (mode == 0) {
      for (let i = 0; i < iters; i++) tile2x(h, c, row, col, W, g, mt, true, true, false, 0);
    } else if (mode == 1) {
      for (let i = 0; i < iters; i++) tile2x(h, c, row, col, W, g, mt, false, false, false, 0);
    } else {
      for (let i = 0; i < iters; i++) tile2x(h, c, row, col, W, g, mt, true, false, false, 0);
    }
  }
}

function tile1(h: usize, c: usize, row: usize, col: usize, W: usize, g: usize, mt: i32, clip: bool, cl: usize): void {
  for (let m = 0; m < mt; m++) {
    for (let q: usize = 0; q < 256; q += 64) {
      const rq = row + q;
      const cq = col + q;
      let a0 = f32x4.add(v128.load(rq), v128.load(cq));
      let a1 = f32x4.add(v128.load(rq, 16), v128.load(cq, 16));
      let a2 = f32x4.add(v128.load(rq, 32), v128.load(cq, 32));
      let a3 = f32x4.add(v128.load(rq, 48), v128.load(cq, 48));
      let wk = W + q;
      for (let k: usize = 0; k < 64; k += 4) {
        const sa = v128.load32_splat(h + k);
        a0 = fma(sa, v128.load(wk), a0);
        a1 = fma(sa, v128.load(wk, 16), a1);
        a2 = fma(sa, v128.load(wk, 32), a2);
        a3 = fma(sa, v128.load(wk, 48), a3);
        wk += 256;
      }
      const gq = g + q;
      v128.store(gq, vtanh(a0));
      v128.store(gq, vtanh(a1), 16);
      v128.store(gq, vtanh(a2), 32);
      v128.store(gq, vtanh(a3), 48);
    }
    if (clip) combine(h, c, g, true, cl);
    else combine(h, c, g, false, 0);
  }
}

// ---- one layer of one population member for one step ------------------------------------

@inline function cfgI(cfg: usize, i: i32): i32 {
  return load<i32>(cfg + (<usize>i << 2));
}

/** rowC[a] = sum_{s < ns} fin[a][s] * Wm[s]  (64 wide), or x[a] * Wm[0] when xin. */
function rowContrib(dst: usize, src: usize, srcStride: usize, ns: i32, n: i32, Wm: usize, bias: usize): void {
  for (let a = 0; a < n; a++) {
    const s0 = src + <usize>a * srcStride;
    const d = dst + (<usize>a << 8);
    for (let v: usize = 0; v < 256; v += 64) {
      let z0: v128, z1: v128, z2: v128, z3: v128;
      if (bias) {
        z0 = v128.load(bias + v);
        z1 = v128.load(bias + v, 16);
        z2 = v128.load(bias + v, 32);
        z3 = v128.load(bias + v, 48);
      } else {
        z0 = f32x4.splat(0);
        z1 = z0;
        z2 = z0;
        z3 = z0;
      }
      for (let s = 0; s < ns; s++) {
        const m = v128.load32_splat(s0 + (<usize>s << 2));
        const w = Wm + (<usize>s << 8) + v;
        z0 = fma(m, v128.load(w), z0);
        z1 = fma(m, v128.load(w, 16), z1);
        z2 = fma(m, v128.load(w, 32), z2);
        z3 = fma(m, v128.load(w, 48), z3);
      }
      v128.store(d + v, z0);
      v128.store(d + v, z1, 16);
      v128.store(d + v, z2, 32);
      v128.store(d + v, z3, 48);
    }
  }
}

/**
 * out[j] = bscale * b[j] + scale * sum_k hs[k] * Wm[k][j] for j < 8; with layer norm (ln), hs already holds the
 * summed messages: out[j] = scale * hs[j].
 */
@inline function messenger(out: usize, hs: usize, Wm: usize, bm: usize, scale: f32, bscale: f32, ln: bool): void {
  if (ln) {
    for (let j: usize = 0; j < 8; j++) store<f32>(out + (j << 2), scale * load<f32>(hs + (j << 2)));
    return;
  }
  for (let j: usize = 0; j < 8; j++) {
    let acc: f32 = 0;
    for (let k: usize = 0; k < 16; k++) {
      acc += load<f32>(hs + (k << 2)) * load<f32>(Wm + (k << 5) + (j << 2));
    }
    store<f32>(out + (j << 2), bscale * load<f32>(bm + (j << 2)) + scale * acc);
  }
}

// ---- layer norm path: per-sub-RNN messages ----------------------------------------------

/** Sum of the 4 lanes, in every lane. */
@inline function hsum4(v: v128): v128 {
  const t = f32x4.add(v, f32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.add(t, f32x4.shuffle(t, t, 1, 0, 3, 2));
}

/**
 * acc[0..8] += LN(h2 (Wm/2) + bm) for one sub-RNN: the messenger output (8 = lo, hi lanes) layer-normalised
 * over its 8 entries ((y − mean) / sqrt(var + 1e-5) · scale + offset).
 */
@inline function lnMessage(hp: usize, Wm: usize, bm: usize, ln: usize, acc: usize): void {
  let lo = v128.load(bm);
  let hi = v128.load(bm, 16);
  for (let k: usize = 0; k < 64; k += 4) {
    const s = v128.load32_splat(hp + k);
    const w = Wm + (k << 3);
    lo = fma(s, v128.load(w), lo);
    hi = fma(s, v128.load(w, 16), hi);
  }
  const mu = f32x4.mul(hsum4(f32x4.add(lo, hi)), K(K_EIGHTH));
  const dl = f32x4.sub(lo, mu);
  const dh = f32x4.sub(hi, mu);
  const v = f32x4.mul(hsum4(fma(dl, dl, f32x4.mul(dh, dh))), K(K_EIGHTH));
  const inv = f32x4.div(K(K_ONE), f32x4.sqrt(f32x4.add(v, K(K_LNEPS))));
  v128.store(acc, f32x4.add(v128.load(acc), fma(f32x4.mul(dl, inv), v128.load(ln), v128.load(ln, 32))));
  v128.store(acc, f32x4.add(v128.load(acc, 16), fma(f32x4.mul(dh, inv), v128.load(ln, 16), v128.load(ln, 48))), 16);
}

function layerTick(cfg: usize, l: i32, p: i32, t: i32, rev: bool): void {
  const L = cfgI(cfg, C_L);
  const P = cfgI(cfg, C_P);
  const mt = cfgI(cfg, C_MT);
  const ld = cfg + ((<usize>(C_LAYERS + 8 * l)) << 2);
  const nin = load<i32>(ld);
  const nout = load<i32>(ld, 4);
  const sub = <usize>nin * <usize>nout;
  const hB = <usize>load<i32>(ld, 8) + <usize>p * sub * 64;
  const cB = <usize>load<i32>(ld, 12) + <usize>p * sub * 64;
  let prm = <usize>cfgI(cfg, C_PARAMS) + <usize>p * <usize>cfgI(cfg, C_PSTRIDE) + <usize>l * <usize>cfgI(cfg, C_LSTRIDE);
  if (rev) prm += <usize>cfgI(cfg, C_REVOFF);
  const rowC = <usize>cfgI(cfg, C_ROWC);
  const colC = <usize>cfgI(cfg, C_COLC);
  const hsA = <usize>cfgI(cfg, C_HSUMA);
  const hsB = <usize>cfgI(cfg, C_HSUMB);
  const gs = <usize>cfgI(cfg, C_GATES);
  const last = l == L - 1;

  let t0 = profStart();
  // per-row contributions of the incoming forward messages
  if (l == 0) {
    const D = cfgI(cfg, C_D);
    const x = <usize>cfgI(cfg, C_X) + ((<usize>t * <usize>P + <usize>p) * <usize>D << 2);
    rowContrib(rowC, x, 4, 1, nin, prm + P_WFM, 0);
  } else {
    const fin = <usize>load<i32>(ld, 16) + <usize>p * <usize>nin * 32;
    rowContrib(rowC, fin, 32, 8, nin, prm + P_WFM, 0);
  }
  // per-column contributions of the incoming backward messages + bias
  {
    const bin = <usize>load<i32>(ld, 20) + <usize>p * <usize>nout * 32;
    const nb = last ? (cfgI(cfg, C_FEEDLABEL) ? 2 : 1) : 8;
    rowContrib(colC, bin, 32, nb, nout, prm + P_WBM, prm + P_BZ);
  }
  memory.fill(hsA, 0, <usize>nout * 64);
  t0 = profStop(0, t0);

  const W = prm + P_WH;
  const needB = l > 0;
  const clip = cfgI(cfg, C_CLIPON) != 0;
  const ln = cfgI(cfg, C_LAYERNORM) != 0;
  const needF = !(last && rev); // the last layer's forward message in a reverse tick goes nowhere
  const cl = cfg + (<usize>C_CLIPV << 2);
  for (let a = 0; a < nin; a++) {
    const off = <usize>a * <usize>nout * 64;
    const h = hB + off;
    const c = cB + off;
    const row = rowC + (<usize>a << 8);
    let b = 0;
    if (clip) {
      for (; b + 2 <= nout; b += 2) {
        tile2clip(h + (<usize>b << 6), c + (<usize>b << 6), row, colC + (<usize>b << 8), W, gs, mt, cl);
      }
    } else {
      for (; b + 2 <= nout; b += 2) {
        tile2(h + (<usize>b << 6), c + (<usize>b << 6), row, colC + (<usize>b << 8), W, gs, mt);
      }
    }
    if (b < nout) {
      tile1(h + (<usize>b << 6), c + (<usize>b << 6), row, colC + (<usize>b << 8), W, gs, mt, clip, cl);
    }
    if (ln) {
      // layer norm: normalised messages per sub-RNN, summed per column (forward) and per row (backward)
      const bp = hsB + (<usize>a << 6);
      if (needB) {
        v128.store(bp, f32x4.splat(0));
        v128.store(bp, f32x4.splat(0), 16);
      }
      for (let bb = 0; bb < nout; bb++) {
        const hp = h + (<usize>bb << 6);
        if (needF) lnMessage(hp, prm + P_WF, prm + P_BF, prm + P_LN, hsA + (<usize>bb << 6));
        if (needB) lnMessage(hp, prm + P_WB, prm + P_BB, prm + P_LN + 64, bp);
      }
    } else {
      // sums of h2 over a (per column) and over b (per row)
      let s0 = f32x4.splat(0);
      let s1 = s0;
      let s2 = s0;
      let s3 = s0;
      for (let bb = 0; bb < nout; bb++) {
        const hp = h + (<usize>bb << 6);
        const ap = hsA + (<usize>bb << 6);
        const h0 = v128.load(hp);
        const h1 = v128.load(hp, 16);
        const h2 = v128.load(hp, 32);
        const h3 = v128.load(hp, 48);
        v128.store(ap, f32x4.add(v128.load(ap), h0));
        v128.store(ap, f32x4.add(v128.load(ap, 16), h1), 16);
        v128.store(ap, f32x4.add(v128.load(ap, 32), h2), 32);
        v128.store(ap, f32x4.add(v128.load(ap, 48), h3), 48);
        s0 = f32x4.add(s0, h0);
        s1 = f32x4.add(s1, h1);
        s2 = f32x4.add(s2, h2);
        s3 = f32x4.add(s3, h3);
      }
      if (needB) {
        const bp = hsB + (<usize>a << 6);
        v128.store(bp, s0);
        v128.store(bp, s1, 16);
        v128.store(bp, s2, 32);
        v128.store(bp, s3, 48);
      }
    }
  }

  t0 = profStop(1, t0);
  const aggSum = cfgI(cfg, C_AGGSUM);
  // forward messages: to the next layer, or the logits
  // mean: (sum_a h2) (Wf/2) / in + bf;  sum: (sum_a h2) (Wf/2) + in * bf
  const scaleA: f32 = aggSum ? 1.0 : 1.0 / <f32>nin;
  const biasA: f32 = aggSum ? <f32>nin : 1.0;
  if (!last) {
    const ldn = ld + 32;
    const fnext = <usize>load<i32>(ldn, 16) + <usize>p * <usize>nout * 32;
    for (let b = 0; b < nout; b++) {
      messenger(fnext + (<usize>b << 5), hsA + (<usize>b << 6), prm + P_WF, prm + P_BF, scaleA, biasA, ln);
    }
  } else if (!rev) {
    const oi = <usize>cfgI(cfg, C_OUTIDX);
    const bound = load<f32>(cfg + (<usize>C_BOUND << 2));
    const C = cfgI(cfg, C_C);
    const lg = <usize>cfgI(cfg, C_LOGITS) + ((<usize>t * <usize>P + <usize>p) * <usize>C << 2);
    const bo = biasA * load<f32>(prm + P_BF + (oi << 2));
    for (let b = 0; b < nout; b++) {
      const hs = hsA + (<usize>b << 6);
      let y: f32;
      if (ln) {
        y = scaleA * load<f32>(hs + (oi << 2));
      } else {
        let acc: f32 = 0;
        for (let k: usize = 0; k < 16; k++) {
          acc += load<f32>(hs + (k << 2)) * load<f32>(prm + P_WF + (k << 5) + (oi << 2));
        }
        y = bo + scaleA * acc;
      }
      if (bound > 0) y = <f32>(Math.tanh(<f64>y / <f64>bound) * <f64>bound);
      store<f32>(lg + (<usize>b << 2), y);
    }
  }
  // backward messages to the previous layer (the first layer's are never used)
  if (needB) {
    const scaleB: f32 = aggSum ? 1.0 : 1.0 / <f32>nout;
    const biasB: f32 = aggSum ? <f32>nout : 1.0;
    const ldp = ld - 32;
    const bprev = <usize>load<i32>(ldp, 20) + <usize>p * <usize>nin * 32;
    for (let a = 0; a < nin; a++) {
      messenger(bprev + (<usize>a << 5), hsB + (<usize>a << 6), prm + P_WB, prm + P_BB, scaleB, biasB, ln);
    }
  }
  profStop(2, t0);
}

/** Loss, correctness and the error fed back at the next step, for member p at step t. */
function head(cfg: usize, p: i32, t: i32): void {
  const L = cfgI(cfg, C_L);
  const P = cfgI(cfg, C_P);
  const C = cfgI(cfg, C_C);
  const idx = <usize>t * <usize>P + <usize>p;
  const lg = <usize>cfgI(cfg, C_LOGITS) + (idx * <usize>C << 2);
  const y = load<i32>(<usize>cfgI(cfg, C_Y) + (idx << 2));
  let mx = <f64>load<f32>(lg);
  let am = 0;
  for (let b = 1; b < C; b++) {
    const v = <f64>load<f32>(lg + (<usize>b << 2));
    if (v > mx) {
      mx = v;
      am = b;
    }
  }
  let se: f64 = 0;
  for (let b = 0; b < C; b++) se += Math.exp(<f64>load<f32>(lg + (<usize>b << 2)) - mx);
  const lse = Math.log(se) + mx;
  store<f32>(<usize>cfgI(cfg, C_LOSS) + (idx << 2), <f32>(lse - <f64>load<f32>(lg + (<usize>y << 2))));
  store<i32>(<usize>cfgI(cfg, C_CORRECT) + (idx << 2), am == y ? 1 : 0);
  const ld = cfg + ((<usize>(C_LAYERS + 8 * (L - 1))) << 2);
  const bin = <usize>load<i32>(ld, 20) + <usize>p * <usize>C * 32;
  const feed = cfgI(cfg, C_FEEDLABEL);
  for (let b = 0; b < C; b++) {
    const pr = Math.exp(<f64>load<f32>(lg + (<usize>b << 2)) - lse);
    const oh: f64 = b == y ? 1.0 : 0.0;
    store<f32>(bin + (<usize>b << 5), <f32>(pr - oh));
    if (feed) store<f32>(bin + (<usize>b << 5), <f32>oh, 4);
  }
}

/** Runs steps 0..T-1 of the current segment (x, y, logits, loss, correct are [T, P, ...]). */
export function runSegment(cfg: usize, T: i32): void {
  const L = cfgI(cfg, C_L);
  const P = cfgI(cfg, C_P);
  const backward = cfgI(cfg, C_BACKWARD);
  const C = cfgI(cfg, C_C);
  const ldLast = cfg + ((<usize>(C_LAYERS + 8 * (L - 1))) << 2);
  for (let p = 0; p < P; p++) {
    const errIn = <usize>load<i32>(ldLast, 20) + <usize>p * <usize>C * 32;
    for (let t = 0; t < T; t++) {
      for (let l = 0; l < L; l++) layerTick(cfg, l, p, t, false);
      const th = profStart();
      head(cfg, p, t);
      profStop(3, th);
      if (backward) {
        for (let l = L - 1; l >= 0; l--) layerTick(cfg, l, p, t, true);
        for (let b = 0; b < C; b++) store<u64>(errIn + (<usize>b << 5), 0); // error and label slots
      }
    }
  }
}
