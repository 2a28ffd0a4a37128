// Meta-gradient kernels of @vsml/metatrain: forward (with an optional tape) and backward of the sub-LSTM micro
// ticks of one dense VSML layer, in WebAssembly SIMD (AssemblyScript, plain f32x4, no relaxed SIMD).
//
// The TypeScript driver (src/estimators/fast-grad.ts) owns the memory layout and everything outside the sub-LSTMs
// (messages, logits, softmax, error injection, parameter-gradient assembly). H = 16 (4 v128), gates 64 wide in the
// official order i | g | f | o; the ±5 gate offsets and the bias are folded into colC by the driver.
//
// Per sub-LSTM s = (p, a, b) (index (p·I + a)·C + b), per micro tick m (same inputs each micro tick):
//   z = rowC[p,a] + colC[p,b] + h·Wh                      (Wh: [16][64])
//   i = σ(z_i), g = tanh(z_g), f = σ(z_f), o = σ(z_o)      (σ(x) = (1 + tanh(x/2))/2)
//   c' = f·c + i·g,  h' = o·tanh(c')
// Forward also sums h' of the last micro tick over a into hsum[p,b] (the messenger is applied by the driver).
//
// Tape entry per (micro tick, sub-LSTM), 112 floats (448 bytes): h_prev | c_prev | i | g | f | o | tanh(c').
// Tape layout per step: [MT][NS][112] with NS = P·I·C.

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
], 16);

@inline function K(i: usize): v128 {
  return v128.load(KTAB + (i << 4));
}

@inline function fma(a: v128, b: v128, c: v128): v128 {
  return f32x4.add(f32x4.mul(a, b), c);
}

/** tanh, rational minimax on [-7.9, 7.9] (|err| < 4e-7), clamped outside. */
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

@inline function vsig(x: v128): v128 {
  const half = K(13);
  return fma(vtanh(f32x4.mul(x, half)), half, half);
}

/** First free byte after the static data. */
export function heapBase(): usize {
  return __heap_base;
}

/** Elementwise tanh of n floats (n multiple of 4), for tests. */
export function tanhTest(ptr: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    const q = ptr + (<usize>i << 2);
    v128.store(q, vtanh(v128.load(q)));
  }
}

/** z[64] = row[64] + col[64] + h[16]·W[16][64] */
@inline function gates(z: usize, row: usize, col: usize, h: usize, W: usize): void {
  for (let q: usize = 0; q < 256; q += 64) {
    let a0 = f32x4.add(v128.load(row + q), v128.load(col + q));
    let a1 = f32x4.add(v128.load(row + q, 16), v128.load(col + q, 16));
    let a2 = f32x4.add(v128.load(row + q, 32), v128.load(col + q, 32));
    let a3 = f32x4.add(v128.load(row + q, 48), v128.load(col + q, 48));
    let wk = W + q;
    for (let k: usize = 0; k < 64; k += 4) {
      const s = v128.load32_splat(h + k);
      a0 = fma(s, v128.load(wk), a0);
      a1 = fma(s, v128.load(wk, 16), a1);
      a2 = fma(s, v128.load(wk, 32), a2);
      a3 = fma(s, v128.load(wk, 48), a3);
      wk += 256;
    }
    v128.store(z + q, a0);
    v128.store(z + q, a1, 16);
    v128.store(z + q, a2, 32);
    v128.store(z + q, a3, 48);
  }
}

/**
 * One step of all sub-LSTMs: MT micro ticks each. h, c: [P][I][C][16] (updated in place); rowC: [P][I][64];
 * colC: [P][C][64]; W: Wh [16][64]; hsum: [P][C][16] (overwritten: Σ_a h of the last micro tick); tape: 0 or the
 * step's tape ([MT][NS][112]); z: 256-byte scratch.
 */
export function fwdStep(
  P: i32, I: i32, C: i32, MT: i32,
  h: usize, c: usize, rowC: usize, colC: usize, W: usize, hsum: usize, tape: usize, z: usize,
): void {
  const NS = <usize>(P * I * C);
  memory.fill(hsum, 0, <usize>(P * C) << 6);
  for (let p = 0; p < P; p++) {
    for (let a = 0; a < I; a++) {
      const row = rowC + (<usize>(p * I + a) << 8);
      for (let b = 0; b < C; b++) {
        const s = <usize>((p * I + a) * C + b);
        const col = colC + (<usize>(p * C + b) << 8);
        const hs = h + (s << 6);
        const cs = c + (s << 6);
        for (let m = 0; m < MT; m++) {
          const e = tape == 0 ? 0 : tape + (<usize>m * NS + s) * 448;
          if (tape != 0) {
            memory.copy(e, hs, 64);
            memory.copy(e + 64, cs, 64);
          }
          gates(z, row, col, hs, W);
          for (let v: usize = 0; v < 64; v += 16) {
            const gi = vsig(v128.load(z + v));
            const gg = vtanh(v128.load(z + v, 64));
            const gf = vsig(v128.load(z + v, 128));
            const go = vsig(v128.load(z + v, 192));
            const cn = fma(gf, v128.load(cs + v), f32x4.mul(gi, gg));
            const tc = vtanh(cn);
            const hn = f32x4.mul(go, tc);
            v128.store(cs + v, cn);
            v128.store(hs + v, hn);
            if (tape != 0) {
              v128.store(e + v, gi, 128);
              v128.store(e + v, gg, 192);
              v128.store(e + v, gf, 256);
              v128.store(e + v, go, 320);
              v128.store(e + v, tc, 384);
            }
          }
        }
        const hb = hsum + (<usize>(p * C + b) << 6);
        for (let v: usize = 0; v < 64; v += 16) v128.store(hb + v, f32x4.add(v128.load(hb + v), v128.load(hs + v)));
      }
    }
  }
}

/**
 * Backward of one step (reverse of fwdStep), from its tape.
 * dh, dc: [P][I][C][16] carried gradients w.r.t. the state after this step (in: from the next step; out: w.r.t. the
 * state before this step). dout: [P][C][16] gradient w.r.t. h of the last micro tick (same for every a).
 * Outputs: drow [P][I][64] = Σ_{b,m} dz (overwritten), dcol [P][C][64] = Σ_{a,m} dz (overwritten), dW [16][64] += Σ h_prev ⊗ dz.
 * WT: Wh transposed [64][16]. scratch: (C·MT)·(64+16) floats.
 */
export function bwdStep(
  P: i32, I: i32, C: i32, MT: i32,
  tape: usize, dh: usize, dc: usize, dout: usize, WT: usize, dW: usize, drow: usize, dcol: usize, scratch: usize,
): void {
  const NS = <usize>(P * I * C);
  const n = C * MT;
  const DZ = scratch; // [n][64]
  const HP = scratch + (<usize>n << 8); // [n][16]
  const one = K(14);
  memory.fill(dcol, 0, <usize>(P * C) << 8);
  for (let p = 0; p < P; p++) {
    for (let a = 0; a < I; a++) {
      for (let b = 0; b < C; b++) {
        const s = <usize>((p * I + a) * C + b);
        const dhs = dh + (s << 6);
        const dcs = dc + (s << 6);
        const col = dcol + (<usize>(p * C + b) << 8);
        let dh0 = v128.load(dhs);
        let dh1 = v128.load(dhs, 16);
        let dh2 = v128.load(dhs, 32);
        let dh3 = v128.load(dhs, 48);
        const ob = dout + (<usize>(p * C + b) << 6);
        dh0 = f32x4.add(dh0, v128.load(ob));
        dh1 = f32x4.add(dh1, v128.load(ob, 16));
        dh2 = f32x4.add(dh2, v128.load(ob, 32));
        dh3 = f32x4.add(dh3, v128.load(ob, 48));
        v128.store(dhs, dh0);
        v128.store(dhs, dh1, 16);
        v128.store(dhs, dh2, 32);
        v128.store(dhs, dh3, 48);
        for (let m = MT - 1; m >= 0; m--) {
          const e = tape + (<usize>m * NS + s) * 448;
          const r = <usize>(b * MT + m);
          const dz = DZ + (r << 8);
          memory.copy(HP + (r << 6), e, 64);
          for (let v: usize = 0; v < 64; v += 16) {
            const gi = v128.load(e + v, 128);
            const gg = v128.load(e + v, 192);
            const gf = v128.load(e + v, 256);
            const go = v128.load(e + v, 320);
            const tc = v128.load(e + v, 384);
            const cp = v128.load(e + v, 64);
            const dhv = v128.load(dhs + v);
            const dov = f32x4.mul(dhv, tc);
            const dcn = f32x4.add(v128.load(dcs + v), f32x4.mul(f32x4.mul(dhv, go), f32x4.sub(one, f32x4.mul(tc, tc))));
            const di = f32x4.mul(dcn, gg);
            const dg = f32x4.mul(dcn, gi);
            const df = f32x4.mul(dcn, cp);
            v128.store(dcs + v, f32x4.mul(dcn, gf));
            v128.store(dz + v, f32x4.mul(di, f32x4.mul(gi, f32x4.sub(one, gi))));
            v128.store(dz + v, f32x4.mul(dg, f32x4.sub(one, f32x4.mul(gg, gg))), 64);
            v128.store(dz + v, f32x4.mul(df, f32x4.mul(gf, f32x4.sub(one, gf))), 128);
            v128.store(dz + v, f32x4.mul(dov, f32x4.mul(go, f32x4.sub(one, go))), 192);
          }
          // dh_prev = Wh · dz  (WT rows: 16 floats each)
          let a0 = f32x4.splat(0);
          let a1 = f32x4.splat(0);
          let a2 = f32x4.splat(0);
          let a3 = f32x4.splat(0);
          let wj = WT;
          for (let j: usize = 0; j < 256; j += 4) {
            const sz = v128.load32_splat(dz + j);
            a0 = fma(sz, v128.load(wj), a0);
            a1 = fma(sz, v128.load(wj, 16), a1);
            a2 = fma(sz, v128.load(wj, 32), a2);
            a3 = fma(sz, v128.load(wj, 48), a3);
            wj += 64;
          }
          v128.store(dhs, a0);
          v128.store(dhs, a1, 16);
          v128.store(dhs, a2, 32);
          v128.store(dhs, a3, 48);
          for (let v: usize = 0; v < 256; v += 16) v128.store(col + v, f32x4.add(v128.load(col + v), v128.load(dz + v)));
        }
      }
      // row sums and dW += HPᵀ · DZ over the n sub-ticks of this (p, a)
      const rowp = drow + (<usize>(p * I + a) << 8);
      for (let v: usize = 0; v < 256; v += 16) {
        let acc = f32x4.splat(0);
        for (let r: usize = 0; r < <usize>n; r++) acc = f32x4.add(acc, v128.load(DZ + (r << 8) + v));
        v128.store(rowp + v, acc);
      }
      for (let kb: usize = 0; kb < 16; kb += 4) {
        for (let qb: usize = 0; qb < 256; qb += 64) {
          const w0 = dW + ((kb + 0) << 8) + qb;
          const w1 = dW + ((kb + 1) << 8) + qb;
          const w2 = dW + ((kb + 2) << 8) + qb;
          const w3 = dW + ((kb + 3) << 8) + qb;
          let c00 = v128.load(w0), c01 = v128.load(w0, 16), c02 = v128.load(w0, 32), c03 = v128.load(w0, 48);
          let c10 = v128.load(w1), c11 = v128.load(w1, 16), c12 = v128.load(w1, 32), c13 = v128.load(w1, 48);
          let c20 = v128.load(w2), c21 = v128.load(w2, 16), c22 = v128.load(w2, 32), c23 = v128.load(w2, 48);
          let c30 = v128.load(w3), c31 = v128.load(w3, 16), c32 = v128.load(w3, 32), c33 = v128.load(w3, 48);
          for (let r: usize = 0; r < <usize>n; r++) {
            const zr = DZ + (r << 8) + qb;
            const d0 = v128.load(zr);
            const d1 = v128.load(zr, 16);
            const d2 = v128.load(zr, 32);
            const d3 = v128.load(zr, 48);
            const hr = HP + (r << 6) + (kb << 2);
            const s0 = v128.load32_splat(hr);
            const s1 = v128.load32_splat(hr, 4);
            const s2 = v128.load32_splat(hr, 8);
            const s3 = v128.load32_splat(hr, 12);
            c00 = fma(s0, d0, c00); c01 = fma(s0, d1, c01); c02 = fma(s0, d2, c02); c03 = fma(s0, d3, c03);
            c10 = fma(s1, d0, c10); c11 = fma(s1, d1, c11); c12 = fma(s1, d2, c12); c13 = fma(s1, d3, c13);
            c20 = fma(s2, d0, c20); c21 = fma(s2, d1, c21); c22 = fma(s2, d2, c22); c23 = fma(s2, d3, c23);
            c30 = fma(s3, d0, c30); c31 = fma(s3, d1, c31); c32 = fma(s3, d2, c32); c33 = fma(s3, d3, c33);
          }
          v128.store(w0, c00); v128.store(w0, c01, 16); v128.store(w0, c02, 32); v128.store(w0, c03, 48);
          v128.store(w1, c10); v128.store(w1, c11, 16); v128.store(w1, c12, 32); v128.store(w1, c13, 48);
          v128.store(w2, c20); v128.store(w2, c21, 16); v128.store(w2, c22, 32); v128.store(w2, c23, 48);
          v128.store(w3, c30); v128.store(w3, c31, 16); v128.store(w3, c32, 32); v128.store(w3, c33, 48);
        }
      }
    }
  }
}

// ---- dense matrix kernels for the Meta RNN baseline (row-major float32; N multiple of 4) ----------------------

/** out[P×N] += A[P×K] · B[K×N] */
export function gemmAcc(A: usize, B: usize, out: usize, P: i32, K: i32, N: i32): void {
  const rowB = <usize>N << 2;
  for (let p = 0; p < P; p++) {
    const o = out + <usize>p * rowB;
    const a = A + (<usize>(p * K) << 2);
    let k = 0;
    for (; k + 1 < K; k += 2) {
      const s0 = v128.load32_splat(a + (<usize>k << 2));
      const s1 = v128.load32_splat(a + (<usize>(k + 1) << 2));
      const b0 = B + <usize>k * rowB;
      const b1 = b0 + rowB;
      for (let n: usize = 0; n < rowB; n += 16) {
        v128.store(o + n, fma(s1, v128.load(b1 + n), fma(s0, v128.load(b0 + n), v128.load(o + n))));
      }
    }
    for (; k < K; k++) {
      const s0 = v128.load32_splat(a + (<usize>k << 2));
      const b0 = B + <usize>k * rowB;
      for (let n: usize = 0; n < rowB; n += 16) v128.store(o + n, fma(s0, v128.load(b0 + n), v128.load(o + n)));
    }
  }
}

/** out[K×N] += A[P×K]ᵀ · Bm[P×N] */
export function outerAcc(A: usize, Bm: usize, out: usize, P: i32, K: i32, N: i32): void {
  const rowB = <usize>N << 2;
  for (let k = 0; k < K; k++) {
    const o = out + <usize>k * rowB;
    let p = 0;
    for (; p + 1 < P; p += 2) {
      const s0 = v128.load32_splat(A + (<usize>(p * K + k) << 2));
      const s1 = v128.load32_splat(A + (<usize>((p + 1) * K + k) << 2));
      const b0 = Bm + <usize>p * rowB;
      const b1 = b0 + rowB;
      for (let n: usize = 0; n < rowB; n += 16) {
        v128.store(o + n, fma(s1, v128.load(b1 + n), fma(s0, v128.load(b0 + n), v128.load(o + n))));
      }
    }
    for (; p < P; p++) {
      const s0 = v128.load32_splat(A + (<usize>(p * K + k) << 2));
      const b0 = Bm + <usize>p * rowB;
      for (let n: usize = 0; n < rowB; n += 16) v128.store(o + n, fma(s0, v128.load(b0 + n), v128.load(o + n)));
    }
  }
}

/** out[P×K] = A[P×N] · B[K×N]ᵀ (rows k0..k0+K−1 of B given by the pointer) */
export function gemmBT(A: usize, B: usize, out: usize, P: i32, K: i32, N: i32): void {
  const rowB = <usize>N << 2;
  for (let p = 0; p < P; p++) {
    const a = A + <usize>p * rowB;
    for (let k = 0; k < K; k++) {
      const b = B + <usize>k * rowB;
      let acc0 = f32x4.splat(0);
      let acc1 = f32x4.splat(0);
      for (let n: usize = 0; n < rowB; n += 32) {
        acc0 = fma(v128.load(a + n), v128.load(b + n), acc0);
        acc1 = fma(v128.load(a + n, 16), v128.load(b + n, 16), acc1);
      }
      const acc = f32x4.add(acc0, acc1);
      store<f32>(out + (<usize>(p * K + k) << 2),
        f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    }
  }
}
