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

// ---- parameter block of one V_M -----------------------------------------------------------
// Float offsets depend on H (slowSize) and M (msgSize); the wrapper (src/engine/params.ts) writes them into the
// config block (C_O*, bytes). With G = 4H gate columns:
//   WH  [H][G]  recurrent rows, gate-scaled, x 1/2 (acts on h2)     at 0
//   WFM [M][G]  forward-message rows, gate-scaled                    at C_OWFM
//   WBM [M][G]  backward-message rows, gate-scaled                   at C_OWBM
//   BZ  [G]     (bias + gate offset) * gate scale                     at C_OBZ
//   WF  [H][M]  forward messenger x 1/2, BF [M]                       at C_OWF, C_OBF
//   WB  [H][M]  backward messenger x 1/2, BB [M]                      at C_OWB, C_OBB
//   LN  [4][M]  layer norm: fwd scale, fwd offset, bwd scale, bwd offset (with layerNorm)  at C_OLN

// ---- config block (i32 words) ----------------------------------------------------------
const C_L = 0;
const C_P = 1; // rows E = P·B (population × inner batch)
const C_MT = 2;
const C_OUTIDX = 3;
const C_FEEDLABEL = 4;
const C_D = 5;
const C_C = 6;
const C_AGGSUM = 7;
const C_BOUND = 8; // f32
const C_PARAMS = 9;
const C_PSTRIDE = 10; // bytes between the V_M of consecutive members (0: one V_M for all)
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
const C_H = 26; // slowSize (multiple of 4)
const C_M = 27; // msgSize
const C_B = 28; // inner batch B (rows p·B .. p·B+B−1 belong to member p)
const C_NMERGE = 29; // dims of h and c merged over the B rows before each forward tick (0: none)
const C_ZEROSTALE = 30; // every forward tick sees zero backward messages
const C_ERRSCALE = 31; // f32: injected error = errScale · (softmax − onehot)
const C_OWFM = 32; // parameter block offsets (bytes)
const C_OWBM = 33;
const C_OBZ = 34;
const C_OWF = 35;
const C_OBF = 36;
const C_OWB = 37;
const C_OBB = 38;
const C_OLN = 39;
const C_HS = 40; // bytes per row / column of the h-sum scratch (max(H, M) floats, 16-byte multiple)
const C_MERGEBUF = 41; // scratch of the merge (MERGE_CHUNK sub-LSTMs × H floats)
const C_LNTMP = 42; // scratch of the layer norm (M floats)
const C_SHAREFIRST = 43; // all rows of a member equal after the merge and no backward messages in forward ticks: firstGates
const C_ZEROROW = 44; // 4H zero floats
const C_CLIPV = 48; // 4 x v128 (words 48..63): lo, hi, 2 lo, 2 hi splatted
const C_LAYERS = 64; // each layer: LW words: in, out, h, c, fwdIn, bwdIn, predict: mean h, mean c, work h+c, fwdIn, G0, -
const LW = 12;

const MERGE_CHUNK: i32 = 64; // sub-LSTMs per merge chunk

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
// h, c: state of R consecutive sub-LSTMs (a, b0..b0+R-1), H floats each (h stored as 2h).
// row: rowC[a] (4H), col: colC[b0] (R x 4H), W: Wh (H x 4H), g: scratch (R x 4H).
// H is a parameter of the inlined bodies: the H = 16 and H = 32 entry points pass a constant, so that the
// optimiser folds every H-dependent address (the other sizes run the same code with H from the config).

// Compile-time state sizes: sizeof<S16>() = 64 bytes = 16 floats, sizeof<S32>() = 128; SDyn (0): H from the config.
// (A load's immediate offset must be a compile-time constant; the size of a type parameter is one.)
@unmanaged class S16 { a: v128; b: v128; c: v128; d: v128 }
@unmanaged class S32 { a: v128; b: v128; c: v128; d: v128; e: v128; f: v128; g: v128; h: v128 }
@unmanaged class SDyn {}

/** Gate q (1..3) of a unit group: q·SB bytes after p, as an immediate offset when S fixes SB. */
@inline function loadGate<S>(p: usize, q: usize, SB: usize): v128 {
  if (offsetof<S>() == 0) return v128.load(p + q * SB);
  if (q == 1) return v128.load(p, offsetof<S>());
  if (q == 2) return v128.load(p, 2 * offsetof<S>());
  return v128.load(p, 3 * offsetof<S>());
}

/** splat of the float SB bytes after p (the same unit of the next sub-LSTM), as an immediate offset when S fixes it. */
@inline function splatNext<S>(p: usize, SB: usize): v128 {
  if (offsetof<S>() == 0) return v128.load32_splat(p + SB);
  return v128.load32_splat(p, offsetof<S>());
}

// With `clip` (stateClip), h and c are clipped after the update, h computed from the unclipped c;
// cl points to the splatted bounds (lo, hi, 2 lo, 2 hi).
@inline function combine<S>(h: usize, c: usize, g: usize, H: usize, clip: bool, cl: usize): void {
  const half = K(K_HALF);
  const SB = H << 2;
  for (let v: usize = 0; v < SB; v += 16) {
    const gv = g + v;
    const ti = v128.load(gv);
    const tg = loadGate<S>(gv, 1, SB);
    const tf = loadGate<S>(gv, 2, SB);
    const to = loadGate<S>(gv, 3, SB);
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

// fromG0: the first micro tick starts from g0 (colC + h·Wh of these two sub-LSTMs, shared by rows that have the
// same state and backward messages; see firstGates) instead of colC and the GEMM.
@inline function tile2x<S>(
  h: usize, c: usize, row: usize, col: usize, W: usize, g: usize, mt: i32, H: usize,
  doTanh: bool, doCombine: bool, clip: bool, cl: usize, fromG0: bool = false, g0: usize = 0,
): void {
  const SB = H << 2; // bytes of one state vector
  const GB = H << 4; // bytes of one gate row (4H floats)
  const hb = h + SB;
  const colb = col + GB;
  const gb = g + GB;
  for (let m = 0; m < mt; m++) {
    const shared = fromG0 && m == 0;
    for (let q: usize = 0; q < GB; q += 64) {
      const rq = row + q;
      const cq = shared ? g0 + q : col + q;
      const cqb = shared ? g0 + GB + q : colb + q;
      const r0 = v128.load(rq);
      const r1 = v128.load(rq, 16);
      const r2 = v128.load(rq, 32);
      const r3 = v128.load(rq, 48);
      let a0 = f32x4.add(r0, v128.load(cq));
      let a1 = f32x4.add(r1, v128.load(cq, 16));
      let a2 = f32x4.add(r2, v128.load(cq, 32));
      let a3 = f32x4.add(r3, v128.load(cq, 48));
      let b0 = f32x4.add(r0, v128.load(cqb));
      let b1 = f32x4.add(r1, v128.load(cqb, 16));
      let b2 = f32x4.add(r2, v128.load(cqb, 32));
      let b3 = f32x4.add(r3, v128.load(cqb, 48));
      let wk = W + q;
      const kEnd: usize = shared ? 0 : SB;
      for (let k: usize = 0; k < kEnd; k += 4) {
        const hk = h + k;
        const sa = v128.load32_splat(hk);
        const sb = splatNext<S>(hk, SB);
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
        wk += GB;
      }
      const gq = g + q;
      const gqb = gb + q;
      if (doTanh) {
        v128.store(gq, vtanh(a0));
        v128.store(gq, vtanh(a1), 16);
        v128.store(gq, vtanh(a2), 32);
        v128.store(gq, vtanh(a3), 48);
        v128.store(gqb, vtanh(b0));
        v128.store(gqb, vtanh(b1), 16);
        v128.store(gqb, vtanh(b2), 32);
        v128.store(gqb, vtanh(b3), 48);
      } else {
        v128.store(gq, a0);
        v128.store(gq, a1, 16);
        v128.store(gq, a2, 32);
        v128.store(gq, a3, 48);
        v128.store(gqb, b0);
        v128.store(gqb, b1, 16);
        v128.store(gqb, b2, 32);
        v128.store(gqb, b3, 48);
      }
    }
    if (doCombine) {
      combine<S>(h, c, g, H, clip, cl);
      combine<S>(hb, c + SB, gb, H, clip, cl);
    }
  }
}

// Entry points per (H, clip, first micro tick from g0): constant H = 16 / 32, any other multiple of 4 from the config.
function tile2h16(h: usize, c: usize, row: usize, col: usize, W: usize, g: usize, mt: i32): void {
  tile2x<S16>(h, c, row, col, W, g, mt, 16, true, true, false, 0);
}
function tile2h16clip(h: usize, c: usize, row: usize, col: usize, W: usize, g: usize, mt: i32, cl: usize): void {
  tile2x<S16>(h, c, row, col, W, g, mt, 16, true, true, true, cl);
}
function tile2h32(h: usize, c: usize, row: usize, col: usize, W: usize, g: usize, mt: i32): void {
  tile2x<S32>(h, c, row, col, W, g, mt, 32, true, true, false, 0);
}
function tile2h32clip(h: usize, c: usize, row: usize, col: usize, W: usize, g: usize, mt: i32, cl: usize): void {
  tile2x<S32>(h, c, row, col, W, g, mt, 32, true, true, true, cl);
}
function tile2any(h: usize, c: usize, row: usize, col: usize, W: usize, g: usize, mt: i32, H: usize, clip: bool, cl: usize): void {
  if (clip) tile2x<SDyn>(h, c, row, col, W, g, mt, H, true, true, true, cl);
  else tile2x<SDyn>(h, c, row, col, W, g, mt, H, true, true, false, 0);
}
function tile2h16g0(h: usize, c: usize, row: usize, col: usize, W: usize, g: usize, mt: i32, clip: bool, cl: usize, g0: usize): void {
  if (clip) tile2x<S16>(h, c, row, col, W, g, mt, 16, true, true, true, cl, true, g0);
  else tile2x<S16>(h, c, row, col, W, g, mt, 16, true, true, false, 0, true, g0);
}
function tile2h32g0(h: usize, c: usize, row: usize, col: usize, W: usize, g: usize, mt: i32, clip: bool, cl: usize, g0: usize): void {
  if (clip) tile2x<S32>(h, c, row, col, W, g, mt, 32, true, true, true, cl, true, g0);
  else tile2x<S32>(h, c, row, col, W, g, mt, 32, true, true, false, 0, true, g0);
}
function tile2anyg0(h: usize, c: usize, row: usize, col: usize, W: usize, g: usize, mt: i32, H: usize, clip: bool, cl: usize, g0: usize): void {
  if (clip) tile2x<SDyn>(h, c, row, col, W, g, mt, H, true, true, true, cl, true, g0);
  else tile2x<SDyn>(h, c, row, col, W, g, mt, H, true, true, false, 0, true, g0);
}
/** g = col + h·Wh of two sub-LSTMs (no tanh, no update; g and g + 16H bytes): a pair of firstGates entries. */
function tile2gemm(h: usize, col: usize, W: usize, g: usize, H: usize, zeroRow: usize): void {
  tile2x<SDyn>(h, 0, zeroRow, col, W, g, 1, H, false, false, false, 0);
}

/** Two sub-LSTMs (a, b), (a, b+1), all micro ticks (the first from g0 when g0 != 0). */
@inline function tile2(h: usize, c: usize, row: usize, col: usize, W: usize, g: usize, mt: i32, H: usize, clip: bool, cl: usize, g0: usize): void {
  if (g0) {
    if (H == 16) tile2h16g0(h, c, row, col, W, g, mt, clip, cl, g0);
    else if (H == 32) tile2h32g0(h, c, row, col, W, g, mt, clip, cl, g0);
    else tile2anyg0(h, c, row, col, W, g, mt, H, clip, cl, g0);
  } else if (H == 16) {
    if (clip) tile2h16clip(h, c, row, col, W, g, mt, cl);
    else tile2h16(h, c, row, col, W, g, mt);
  } else if (H == 32) {
    if (clip) tile2h32clip(h, c, row, col, W, g, mt, cl);
    else tile2h32(h, c, row, col, W, g, mt);
  } else {
    tile2any(h, c, row, col, W, g, mt, H, clip, cl);
  }
}

/**
 * Profiling build only: runs `iters` times the first tile (2 sub-LSTMs of member 0, layer 0) in
 * isolation (data in L1): mode 0 = everything, 1 = the gate GEMM only, 2 = GEMM + gate tanh (H = 16 only).
 */
export function benchTile(cfg: usize, mode: i32, iters: i32): void {
  if (PROFILE) {
    const ld = cfg + (<usize>C_LAYERS << 2);
    const h = <usize>load<i32>(ld, 8);
    const c = <usize>load<i32>(ld, 12);
    const row = <usize>cfgI(cfg, C_ROWC);
    const col = <usize>cfgI(cfg, C_COLC);
    const W = <usize>cfgI(cfg, C_PARAMS);
    const g = <usize>cfgI(cfg, C_GATES);
    const mt = cfgI(cfg, C_MT);
    if (mode == 0) {
      for (let i = 0; i < iters; i++) tile2x<S16>(h, c, row, col, W, g, mt, 16, true, true, false, 0);
    } else if (mode == 1) {
      for (let i = 0; i < iters; i++) tile2x<S16>(h, c, row, col, W, g, mt, 16, false, false, false, 0);
    } else {
      for (let i = 0; i < iters; i++) tile2x<S16>(h, c, row, col, W, g, mt, 16, true, false, false, 0);
    }
  }
}

/**
 * One sub-LSTM alone (the last of a row with an odd fan-out), all micro ticks (the first from g0 when g0 != 0);
 * gemmOnly: g = row + col + h·Wh, one micro tick, no tanh, no update (a firstGates entry).
 */
function tile1(h: usize, c: usize, row: usize, col: usize, W: usize, g: usize, mt: i32, H: usize, clip: bool, cl: usize, g0: usize, gemmOnly: bool): void {
  const SB = H << 2;
  const GB = H << 4;
  for (let m = 0; m < mt; m++) {
    const shared = g0 != 0 && m == 0;
    for (let q: usize = 0; q < GB; q += 64) {
      const rq = row + q;
      const cq = shared ? g0 + q : col + q;
      let a0 = f32x4.add(v128.load(rq), v128.load(cq));
      let a1 = f32x4.add(v128.load(rq, 16), v128.load(cq, 16));
      let a2 = f32x4.add(v128.load(rq, 32), v128.load(cq, 32));
      let a3 = f32x4.add(v128.load(rq, 48), v128.load(cq, 48));
      let wk = W + q;
      const kEnd: usize = shared ? 0 : SB;
      for (let k: usize = 0; k < kEnd; k += 4) {
        const sa = v128.load32_splat(h + k);
        a0 = fma(sa, v128.load(wk), a0);
        a1 = fma(sa, v128.load(wk, 16), a1);
        a2 = fma(sa, v128.load(wk, 32), a2);
        a3 = fma(sa, v128.load(wk, 48), a3);
        wk += GB;
      }
      const gq = g + q;
      if (gemmOnly) {
        v128.store(gq, a0);
        v128.store(gq, a1, 16);
        v128.store(gq, a2, 32);
        v128.store(gq, a3, 48);
      } else {
        v128.store(gq, vtanh(a0));
        v128.store(gq, vtanh(a1), 16);
        v128.store(gq, vtanh(a2), 32);
        v128.store(gq, vtanh(a3), 48);
      }
    }
    if (gemmOnly) return;
    if (clip) combine<SDyn>(h, c, g, H, true, cl);
    else combine<SDyn>(h, c, g, H, false, 0);
  }
}

// ---- one layer of one row for one tick ------------------------------------------------------

@inline function cfgI(cfg: usize, i: i32): i32 {
  return load<i32>(cfg + (<usize>i << 2));
}

@inline function cfgP(cfg: usize, i: i32): usize {
  return <usize>load<i32>(cfg + (<usize>i << 2));
}

/** Address of word `w` of layer l's block. */
@inline function layerWord(cfg: usize, l: i32, w: i32): usize {
  return cfg + (<usize>(C_LAYERS + LW * l + w) << 2);
}

/**
 * dst[a] = bias + sum_{s < ns} src[a][s] * Wm[s]  (4H wide, GB bytes), for a < n; src rows are srcStride bytes
 * apart (bias 0: no bias).
 */
function rowContrib(dst: usize, src: usize, srcStride: usize, ns: i32, n: i32, Wm: usize, bias: usize, GB: usize): void {
  for (let a = 0; a < n; a++) {
    const s0 = src + <usize>a * srcStride;
    const d = dst + <usize>a * GB;
    for (let v: usize = 0; v < GB; v += 64) {
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
        const w = Wm + <usize>s * GB + v;
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
 * out[j] = bscale * b[j] + scale * sum_k hs[k] * Wm[k][j] for j < M (Wm is [H][M]); with layer norm (ln), hs
 * already holds the summed messages: out[j] = scale * hs[j].
 */
@inline function messenger(out: usize, hs: usize, Wm: usize, bm: usize, scale: f32, bscale: f32, ln: bool, H: usize, M: usize): void {
  if (ln) {
    for (let j: usize = 0; j < M; j++) store<f32>(out + (j << 2), scale * load<f32>(hs + (j << 2)));
    return;
  }
  for (let j: usize = 0; j < M; j++) {
    let acc: f32 = 0;
    for (let k: usize = 0; k < H; k++) {
      acc += load<f32>(hs + (k << 2)) * load<f32>(Wm + ((k * M + j) << 2));
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
 * acc[0..M] += LN(h2 (Wm/2) + bm) for one sub-RNN: the messenger output layer-normalised over its M entries
 * ((y − mean) / sqrt(var + 1e-5) · scale + offset). M is a multiple of 4; tmp is M floats of scratch.
 */
@inline function lnMessage(hp: usize, Wm: usize, bm: usize, ln: usize, acc: usize, H: usize, M: usize, tmp: usize, invM: v128): void {
  const MB = M << 2;
  const SB = H << 2;
  let sum = f32x4.splat(0);
  for (let j: usize = 0; j < MB; j += 16) {
    let y = v128.load(bm + j);
    for (let k: usize = 0; k < SB; k += 4) y = fma(v128.load32_splat(hp + k), v128.load(Wm + k * M + j), y);
    v128.store(tmp + j, y);
    sum = f32x4.add(sum, y);
  }
  const mu = f32x4.mul(hsum4(sum), invM);
  let sq = f32x4.splat(0);
  for (let j: usize = 0; j < MB; j += 16) {
    const d = f32x4.sub(v128.load(tmp + j), mu);
    sq = fma(d, d, sq);
  }
  const inv = f32x4.div(K(K_ONE), f32x4.sqrt(f32x4.add(f32x4.mul(hsum4(sq), invM), K(K_LNEPS))));
  for (let j: usize = 0; j < MB; j += 16) {
    const d = f32x4.sub(v128.load(tmp + j), mu);
    v128.store(acc + j, f32x4.add(v128.load(acc + j), fma(f32x4.mul(d, inv), v128.load(ln + j), v128.load(ln + MB + j))));
  }
}

/**
 * One layer tick of one row: every sub-LSTM (a, b) runs its micro ticks, then the aggregated messages go out.
 *   h, c        the row's state of layer l ([in, out, H], h as 2h)
 *   xin         layer 0: the row's input x [D] (slot 0 of the forward message); else 0
 *   fin         layers > 0: incoming forward messages [in, M]
 *   bin, nb     incoming backward messages [out, M], of which the first nb slots can be non-zero (0: none)
 *   fnext       where the forward messages go ([out, M] of layer l+1), or 0
 *   lg          last layer: where the logits go ([C]), or 0
 *   bprev       where the backward messages go ([in, M] of layer l−1), or 0
 *   prm         the V_M group this tick uses
 *   g0          0, or the layer's firstGates ([in, out, 4H]): the first micro tick starts from it (nb must be 0)
 */
function layerTick(
  cfg: usize, l: i32, h: usize, c: usize, xin: usize, fin: usize, bin: usize, nb: i32,
  fnext: usize, lg: usize, bprev: usize, prm: usize, g0: usize,
): void {
  const mt = cfgI(cfg, C_MT);
  const H = cfgP(cfg, C_H);
  const M = cfgP(cfg, C_M);
  const SB = H << 2;
  const GB = H << 4;
  const MB = M << 2;
  const HS = cfgP(cfg, C_HS);
  const nin = load<i32>(layerWord(cfg, l, 0));
  const nout = load<i32>(layerWord(cfg, l, 1));
  const rowC = cfgP(cfg, C_ROWC);
  const colC = cfgP(cfg, C_COLC);
  const hsA = cfgP(cfg, C_HSUMA);
  const hsB = cfgP(cfg, C_HSUMB);
  const gs = cfgP(cfg, C_GATES);
  const W = prm;

  let t0 = profStart();
  // per-row contributions of the incoming forward messages (layer 0: only slot 0, x, is non-zero)
  if (xin) rowContrib(rowC, xin, 4, 1, nin, prm + cfgP(cfg, C_OWFM), 0, GB);
  else rowContrib(rowC, fin, MB, <i32>M, nin, prm + cfgP(cfg, C_OWFM), 0, GB);
  // per-column contributions of the incoming backward messages + bias
  rowContrib(colC, bin, MB, nb, nout, prm + cfgP(cfg, C_OWBM), prm + cfgP(cfg, C_OBZ), GB);
  memory.fill(hsA, 0, <usize>nout * HS);
  t0 = profStop(0, t0);

  const needB = bprev != 0;
  const needF = fnext != 0 || lg != 0;
  const clip = cfgI(cfg, C_CLIPON) != 0;
  const ln = cfgI(cfg, C_LAYERNORM) != 0;
  const cl = cfg + (<usize>C_CLIPV << 2);
  const lnTmp = cfgP(cfg, C_LNTMP);
  const invM = f32x4.splat(1.0 / <f32>M);
  const oWF = cfgP(cfg, C_OWF);
  const oBF = cfgP(cfg, C_OBF);
  const oWB = cfgP(cfg, C_OWB);
  const oBB = cfgP(cfg, C_OBB);
  const oLN = cfgP(cfg, C_OLN);
  for (let a = 0; a < nin; a++) {
    const off = <usize>a * <usize>nout * SB;
    const ha = h + off;
    const ca = c + off;
    const row = rowC + <usize>a * GB;
    const g0a: usize = g0 ? g0 + <usize>a * <usize>nout * GB : 0;
    let b = 0;
    for (; b + 2 <= nout; b += 2) {
      tile2(ha + <usize>b * SB, ca + <usize>b * SB, row, colC + <usize>b * GB, W, gs, mt, H, clip, cl, g0 ? g0a + <usize>b * GB : 0);
    }
    if (b < nout) {
      tile1(ha + <usize>b * SB, ca + <usize>b * SB, row, colC + <usize>b * GB, W, gs, mt, H, clip, cl, g0 ? g0a + <usize>b * GB : 0, false);
    }
    if (ln) {
      // layer norm: normalised messages per sub-RNN, summed per column (forward) and per row (backward)
      const bp = hsB + <usize>a * HS;
      if (needB) memory.fill(bp, 0, MB);
      for (let bb = 0; bb < nout; bb++) {
        const hp = ha + <usize>bb * SB;
        if (needF) lnMessage(hp, prm + oWF, prm + oBF, prm + oLN, hsA + <usize>bb * HS, H, M, lnTmp, invM);
        if (needB) lnMessage(hp, prm + oWB, prm + oBB, prm + oLN + (MB << 1), bp, H, M, lnTmp, invM);
      }
    } else {
      // sums of h2 over a (per column) and over b (per row); 16 units at a time when H allows (fewer loop trips)
      const bp = hsB + <usize>a * HS;
      const v16 = SB & ~(<usize>63);
      for (let v: usize = 0; v < v16; v += 64) {
        let s0 = f32x4.splat(0);
        let s1 = s0;
        let s2 = s0;
        let s3 = s0;
        for (let bb = 0; bb < nout; bb++) {
          const hp = ha + <usize>bb * SB + v;
          const ap = hsA + <usize>bb * HS + v;
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
          v128.store(bp + v, s0);
          v128.store(bp + v, s1, 16);
          v128.store(bp + v, s2, 32);
          v128.store(bp + v, s3, 48);
        }
      }
      for (let v: usize = v16; v < SB; v += 16) {
        let s = f32x4.splat(0);
        for (let bb = 0; bb < nout; bb++) {
          const hv = v128.load(ha + <usize>bb * SB + v);
          const ap = hsA + <usize>bb * HS + v;
          v128.store(ap, f32x4.add(v128.load(ap), hv));
          s = f32x4.add(s, hv);
        }
        if (needB) v128.store(bp + v, s);
      }
    }
  }

  t0 = profStop(1, t0);
  const aggSum = cfgI(cfg, C_AGGSUM);
  // forward messages: to the next layer, or the logits
  // mean: (sum_a h2) (Wf/2) / in + bf;  sum: (sum_a h2) (Wf/2) + in * bf
  const scaleA: f32 = aggSum ? 1.0 : 1.0 / <f32>nin;
  const biasA: f32 = aggSum ? <f32>nin : 1.0;
  if (fnext) {
    for (let b = 0; b < nout; b++) {
      messenger(fnext + <usize>b * MB, hsA + <usize>b * HS, prm + oWF, prm + oBF, scaleA, biasA, ln, H, M);
    }
  } else if (lg) {
    const oi = cfgP(cfg, C_OUTIDX);
    const bound = load<f32>(cfg + (<usize>C_BOUND << 2));
    const bo = biasA * load<f32>(prm + oBF + (oi << 2));
    for (let b = 0; b < nout; b++) {
      const hs = hsA + <usize>b * HS;
      let y: f32;
      if (ln) {
        y = scaleA * load<f32>(hs + (oi << 2));
      } else {
        let acc: f32 = 0;
        for (let k: usize = 0; k < H; k++) {
          acc += load<f32>(hs + (k << 2)) * load<f32>(prm + oWF + ((k * M + oi) << 2));
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
    for (let a = 0; a < nin; a++) {
      messenger(bprev + <usize>a * MB, hsB + <usize>a * HS, prm + oWB, prm + oBB, scaleB, biasB, ln, H, M);
    }
  }
  profStop(2, t0);
}

/**
 * G0[a][b] = bias (+ offsets) + h[a][b]·Wh for every sub-LSTM of layer l (state h), with no backward messages: the
 * part of the first micro tick's gate pre-activation that rows with this state share (everything but rowC[a]).
 */
function firstGates(cfg: usize, l: i32, h: usize, prm: usize, G0: usize): void {
  const H = cfgP(cfg, C_H);
  const SB = H << 2;
  const GB = H << 4;
  const nin = load<i32>(layerWord(cfg, l, 0));
  const nout = load<i32>(layerWord(cfg, l, 1));
  const colC = cfgP(cfg, C_COLC);
  const zero = cfgP(cfg, C_ZEROROW);
  rowContrib(colC, 0, 0, 0, nout, prm + cfgP(cfg, C_OWBM), prm + cfgP(cfg, C_OBZ), GB);
  for (let a = 0; a < nin; a++) {
    const off = <usize>a * <usize>nout;
    let b = 0;
    for (; b + 2 <= nout; b += 2) {
      tile2gemm(h + (off + <usize>b) * SB, colC + <usize>b * GB, prm, G0 + (off + <usize>b) * GB, H, zero);
    }
    if (b < nout) tile1(h + (off + <usize>b) * SB, 0, zero, colC + <usize>b * GB, prm, G0 + (off + <usize>b) * GB, 1, H, false, 0, 0, true);
  }
}

/** Address of the V_M group of row e for layer l (reverse tick: rev). */
@inline function groupOf(cfg: usize, e: i32, l: i32, rev: bool): usize {
  const p = e / cfgI(cfg, C_B);
  let prm = cfgP(cfg, C_PARAMS) + <usize>p * cfgP(cfg, C_PSTRIDE) + <usize>l * cfgP(cfg, C_LSTRIDE);
  if (rev) prm += cfgP(cfg, C_REVOFF);
  return prm;
}

/** Layer l of row e of the episode state, one tick (forward or reverse) at step t of the segment. */
function rowLayerTick(cfg: usize, l: i32, e: i32, t: i32, rev: bool): void {
  const L = cfgI(cfg, C_L);
  const E = cfgI(cfg, C_P);
  const H = cfgP(cfg, C_H);
  const M = cfgP(cfg, C_M);
  const nin = <usize>load<i32>(layerWord(cfg, l, 0));
  const nout = <usize>load<i32>(layerWord(cfg, l, 1));
  const sub = nin * nout * (H << 2);
  const h = <usize>load<i32>(layerWord(cfg, l, 2)) + <usize>e * sub;
  const c = <usize>load<i32>(layerWord(cfg, l, 3)) + <usize>e * sub;
  const last = l == L - 1;
  let xin: usize = 0;
  let fin: usize = 0;
  if (l == 0) {
    const D = <usize>cfgI(cfg, C_D);
    xin = cfgP(cfg, C_X) + (((<usize>t * <usize>E + <usize>e) * D) << 2);
  } else {
    fin = <usize>load<i32>(layerWord(cfg, l, 4)) + <usize>e * nin * (M << 2);
  }
  const bin = <usize>load<i32>(layerWord(cfg, l, 5)) + <usize>e * nout * (M << 2);
  let nb: i32 = last ? (cfgI(cfg, C_FEEDLABEL) ? 2 : 1) : <i32>M;
  if (!rev && cfgI(cfg, C_ZEROSTALE)) nb = 0;
  let fnext: usize = 0;
  let lg: usize = 0;
  if (!last) {
    fnext = <usize>load<i32>(layerWord(cfg, l + 1, 4)) + <usize>e * nout * (M << 2);
  } else if (!rev) {
    const C = <usize>cfgI(cfg, C_C);
    lg = cfgP(cfg, C_LOGITS) + (((<usize>t * <usize>E + <usize>e) * C) << 2);
  }
  let bprev: usize = 0;
  // (with zero stale backward messages, a forward tick's backward output would never be read)
  if (l > 0 && (rev || !cfgI(cfg, C_ZEROSTALE))) {
    bprev = <usize>load<i32>(layerWord(cfg, l - 1, 5)) + <usize>e * nin * (M << 2); // [E, out_{l-1} = in_l, M]
  }
  // forward tick with all rows merged whole: the first micro tick starts from the member's firstGates
  const g0: usize = !rev && cfgI(cfg, C_SHAREFIRST) ? <usize>load<i32>(layerWord(cfg, l, 10)) : 0;
  layerTick(cfg, l, h, c, xin, fin, bin, nb, fnext, lg, bprev, groupOf(cfg, e, l, rev), g0);
}

/** Loss, correctness and the error fed back (errScale · (softmax − onehot), + label), for row e at step t. */
function head(cfg: usize, e: i32, t: i32): void {
  const L = cfgI(cfg, C_L);
  const E = cfgI(cfg, C_P);
  const C = cfgI(cfg, C_C);
  const M = cfgP(cfg, C_M);
  const idx = <usize>t * <usize>E + <usize>e;
  const lg = cfgP(cfg, C_LOGITS) + (idx * <usize>C << 2);
  const y = load<i32>(cfgP(cfg, C_Y) + (idx << 2));
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
  store<f32>(cfgP(cfg, C_LOSS) + (idx << 2), <f32>(lse - <f64>load<f32>(lg + (<usize>y << 2))));
  store<i32>(cfgP(cfg, C_CORRECT) + (idx << 2), am == y ? 1 : 0);
  const bin = <usize>load<i32>(layerWord(cfg, L - 1, 5)) + <usize>e * <usize>C * (M << 2);
  const feed = cfgI(cfg, C_FEEDLABEL);
  const scale = <f64>load<f32>(cfg + (<usize>C_ERRSCALE << 2));
  for (let b = 0; b < C; b++) {
    const pr = Math.exp(<f64>load<f32>(lg + (<usize>b << 2)) - lse);
    const oh: f64 = b == y ? 1.0 : 0.0;
    const p = bin + <usize>b * (M << 2);
    store<f32>(p, <f32>(scale * (pr - oh)));
    if (feed) store<f32>(p, <f32>oh, 4);
  }
}

/**
 * Inner-batch merging of member p (official `_merge_layer_states`): in every layer, the first nMerge dims of h and
 * c of each sub-LSTM are replaced by their mean over the member's B rows. Chunks of MERGE_CHUNK sub-LSTMs: each
 * row's chunk is read once (sum) and written once (mean).
 */
export function mergeMember(cfg: usize, p: i32): void {
  const L = cfgI(cfg, C_L);
  const B = cfgI(cfg, C_B);
  const k = <usize>cfgI(cfg, C_NMERGE);
  const H = cfgP(cfg, C_H);
  const SB = H << 2;
  const acc = cfgP(cfg, C_MERGEBUF);
  const inv = <f32>1.0 / <f32>B;
  const vinv = f32x4.splat(inv);
  const kv = k & ~(<usize>3); // dims merged as whole vectors; the rest one by one
  for (let l = 0; l < L; l++) {
    const sub = <i32>load<i32>(layerWord(cfg, l, 0)) * load<i32>(layerWord(cfg, l, 1));
    const rowBytes = <usize>sub * SB;
    for (let w = 2; w <= 3; w++) {
      const base = <usize>load<i32>(layerWord(cfg, l, w)) + <usize>p * <usize>B * rowBytes;
      for (let ab0 = 0; ab0 < sub; ab0 += MERGE_CHUNK) {
        const n = <usize>min(MERGE_CHUNK, sub - ab0);
        const chunk = base + <usize>ab0 * SB;
        memory.fill(acc, 0, n * SB);
        for (let r = 0; r < B; r++) {
          const src = chunk + <usize>r * rowBytes;
          for (let ab: usize = 0; ab < n; ab++) {
            const s = src + ab * SB;
            const d = acc + ab * SB;
            for (let j: usize = 0; j < kv; j += 4) {
              v128.store(d + (j << 2), f32x4.add(v128.load(d + (j << 2)), v128.load(s + (j << 2))));
            }
            for (let j = kv; j < k; j++) store<f32>(d + (j << 2), load<f32>(d + (j << 2)) + load<f32>(s + (j << 2)));
          }
        }
        for (let ab: usize = 0; ab < n; ab++) {
          const d = acc + ab * SB;
          for (let j: usize = 0; j < kv; j += 4) v128.store(d + (j << 2), f32x4.mul(v128.load(d + (j << 2)), vinv));
          for (let j = kv; j < k; j++) store<f32>(d + (j << 2), load<f32>(d + (j << 2)) * inv);
        }
        for (let r = 0; r < B; r++) {
          const dst = chunk + <usize>r * rowBytes;
          if (k == H) {
            memory.copy(dst, acc, n * SB);
          } else {
            for (let ab: usize = 0; ab < n; ab++) memory.copy(dst + ab * SB, acc + ab * SB, k << 2);
          }
        }
      }
    }
  }
}

/** Runs steps 0..T-1 of the current segment (x, y, logits, loss, correct are [T, E, ...], E = P·B rows). */
export function runSegment(cfg: usize, T: i32): void {
  const L = cfgI(cfg, C_L);
  const E = cfgI(cfg, C_P);
  const B = cfgI(cfg, C_B);
  const P = E / B;
  const backward = cfgI(cfg, C_BACKWARD);
  const merge = B > 1 && cfgI(cfg, C_NMERGE) > 0;
  const C = cfgI(cfg, C_C);
  const M = cfgP(cfg, C_M);
  const binLast = <usize>load<i32>(layerWord(cfg, L - 1, 5));
  // members are independent: a member's whole segment runs before the next (its state stays in cache)
  for (let p = 0; p < P; p++) {
    for (let t = 0; t < T; t++) {
      if (merge) mergeMember(cfg, p);
      if (cfgI(cfg, C_SHAREFIRST)) {
        for (let l = 0; l < L; l++) {
          const sub = <usize>load<i32>(layerWord(cfg, l, 0)) * <usize>load<i32>(layerWord(cfg, l, 1)) * (cfgP(cfg, C_H) << 2);
          const h = <usize>load<i32>(layerWord(cfg, l, 2)) + <usize>(p * B) * sub;
          firstGates(cfg, l, h, groupOf(cfg, p * B, l, false), <usize>load<i32>(layerWord(cfg, l, 10)));
        }
      }
      for (let e = p * B; e < (p + 1) * B; e++) {
        for (let l = 0; l < L; l++) rowLayerTick(cfg, l, e, t, false);
        const th = profStart();
        head(cfg, e, t);
        profStop(3, th);
        if (backward) {
          for (let l = L - 1; l >= 0; l--) rowLayerTick(cfg, l, e, t, true);
          const errIn = binLast + <usize>e * <usize>C * (M << 2);
          for (let b = 0; b < C; b++) store<u64>(errIn + <usize>b * (M << 2), 0); // error and label slots
        }
      }
    }
  }
}

/**
 * Predictions without learning: the mean over member p's B rows of every layer's h and c (the merged network)
 * is written to the predict buffers, then each of the N inputs in the x buffer ([N, D]) runs one forward tick from
 * a copy of it, with zero backward messages; logits [N, C] go to the logits buffer. The episode state is not written.
 */
export function predict(cfg: usize, p: i32, N: i32): void {
  const L = cfgI(cfg, C_L);
  const B = cfgI(cfg, C_B);
  const H = cfgP(cfg, C_H);
  const D = <usize>cfgI(cfg, C_D);
  const C = <usize>cfgI(cfg, C_C);
  const SB = H << 2;
  const inv = f32x4.splat(<f32>1.0 / <f32>B);
  // the mean state goes to layer words 6 (h) and 7 (c); word 8: the working copy (h, then c), 9: fwdIn [in, M]
  for (let l = 0; l < L; l++) {
    const bytes = <usize>load<i32>(layerWord(cfg, l, 0)) * <usize>load<i32>(layerWord(cfg, l, 1)) * SB;
    for (let w = 0; w < 2; w++) {
      const src = <usize>load<i32>(layerWord(cfg, l, 2 + w)) + <usize>p * <usize>B * bytes;
      const dst = <usize>load<i32>(layerWord(cfg, l, 6 + w));
      memory.copy(dst, src, bytes);
      for (let r = 1; r < B; r++) {
        const s = src + <usize>r * bytes;
        for (let i: usize = 0; i < bytes; i += 16) v128.store(dst + i, f32x4.add(v128.load(dst + i), v128.load(s + i)));
      }
      if (B > 1) for (let i: usize = 0; i < bytes; i += 16) v128.store(dst + i, f32x4.mul(v128.load(dst + i), inv));
    }
    // every input starts from this state with no backward messages: the first micro tick's shared part once
    firstGates(cfg, l, <usize>load<i32>(layerWord(cfg, l, 6)), groupOf(cfg, p * B, l, false), <usize>load<i32>(layerWord(cfg, l, 10)));
  }
  const zeros = cfgP(cfg, C_MERGEBUF); // a zero backward message is never read (nb = 0)
  for (let n = 0; n < N; n++) {
    for (let l = 0; l < L; l++) {
      const nin = <usize>load<i32>(layerWord(cfg, l, 0));
      const nout = <usize>load<i32>(layerWord(cfg, l, 1));
      const bytes = nin * nout * SB;
      const mh = <usize>load<i32>(layerWord(cfg, l, 6));
      const mc = <usize>load<i32>(layerWord(cfg, l, 7));
      const wh = <usize>load<i32>(layerWord(cfg, l, 8));
      const wc = wh + bytes;
      memory.copy(wh, mh, bytes);
      memory.copy(wc, mc, bytes);
      const xin: usize = l == 0 ? cfgP(cfg, C_X) + ((<usize>n * D) << 2) : 0;
      const fin: usize = l == 0 ? 0 : <usize>load<i32>(layerWord(cfg, l, 9));
      const last = l == L - 1;
      const fnext: usize = last ? 0 : <usize>load<i32>(layerWord(cfg, l + 1, 9));
      const lg: usize = last ? cfgP(cfg, C_LOGITS) + ((<usize>n * C) << 2) : 0;
      layerTick(cfg, l, wh, wc, xin, fin, zeros, 0, fnext, lg, 0, groupOf(cfg, p * B, l, false), <usize>load<i32>(layerWord(cfg, l, 10)));
    }
  }
}
