/**
 * A seeded, serialisable random generator: every random draw in the VSML packages comes
 * from one of these, so that the same seed gives the same numbers on every machine.
 *
 * The bit source is pure-rand's xoroshiro128+; we only add seed mixing (its own integer
 * seeding gives correlated first outputs for small seeds), the continuous distributions
 * the project needs, and a plain-data state for checkpoints.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';

/** Plain-data generator state (JSON-safe), for checkpoints and worker messages. */
export interface RngState {
  readonly kind: 'xoroshiro128plus';
  /** four signed 32-bit words */
  readonly words: readonly number[];
  /** a cached second Box–Muller normal, or null */
  readonly spare: number | null;
}

/** splitmix32 finaliser: a bijective 32-bit mixer (good avalanche) used for seeding. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}

/** Turns a seed and an optional path of keys into four well-mixed state words. */
function seedWords(seed: number, keys: readonly number[]): number[] {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`Rng: seed must be a safe integer, got ${seed}`);
  let h = mix32(seed | 0) ^ mix32((Math.floor(seed / 0x100000000) | 0) ^ 0x5bd1e995);
  for (const k of keys) {
    if (!Number.isSafeInteger(k)) throw new RangeError(`Rng: key must be a safe integer, got ${k}`);
    h = mix32(h ^ mix32(k | 0) ^ Math.imul(Math.floor(k / 0x100000000) | 0, 0x27d4eb2d));
  }
  const words = [mix32(h ^ 1), mix32(h ^ 2), mix32(h ^ 3), mix32(h ^ 4)];
  // the all-zero state is a fixed point of xoroshiro
  return words.some((w) => w !== 0) ? words : [1, 0, 0, 0];
}

/** Seeded pseudo-random generator (mutable: each draw advances it). */
export class Rng {
  private spare: number | null;

  private constructor(private readonly gen: JumpableRandomGenerator, spare: number | null) {
    this.spare = spare;
  }

  /** A generator for `seed`; `keys` derive independent child streams, e.g. `(seed, member, episode)`. */
  static fromSeed(seed: number, ...keys: number[]): Rng {
    return new Rng(xoroshiro128plusFromState(seedWords(seed, keys)), null);
  }

  /** Restores a generator saved with {@link Rng.state}. */
  static fromState(state: RngState): Rng {
    if (state?.kind !== 'xoroshiro128plus' || !Array.isArray(state.words) || state.words.length !== 4) {
      throw new TypeError('Rng.fromState: not a xoroshiro128plus state {kind, words[4], spare}');
    }
    return new Rng(xoroshiro128plusFromState(state.words.map((w) => w | 0)), state.spare ?? null);
  }

  /** The current state as plain data; `Rng.fromState(r.state())` continues identically. */
  state(): RngState {
    return { kind: 'xoroshiro128plus', words: [...this.gen.getState()], spare: this.spare };
  }

  toJSON(): RngState {
    return this.state();
  }

  /** An independent copy at the same position. */
  clone(): Rng {
    return new Rng(this.gen.clone(), this.spare);
  }

  /** A child stream 2^64 draws ahead of this one (this generator is not advanced). */
  jumped(): Rng {
    const g = this.gen.clone();
    g.jump();
    return new Rng(g, null);
  }

  /** A fresh integer seed drawn from this stream (for handing to another component). */
  seed(): number {
    return this.uint32();
  }

  /** Uniform integer in [0, 2^32). */
  uint32(): number {
    return this.gen.next() >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  float(): number {
    return uniformFloat64(this.gen);
  }

  /** Uniform double in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [lo, hi) (unbiased). */
  int(lo: number, hi: number): number {
    const n = hi - lo;
    if (!(n >= 1) || !Number.isSafeInteger(n)) throw new RangeError(`Rng.int: empty or invalid range [${lo}, ${hi})`);
    return lo + Math.floor(this.float() * n);
  }

  /** Standard normal (Box–Muller, polar-free form; the second value is cached in the state). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = this.float();
    while (u === 0) u = this.float();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Standard normal conditioned on |z| <= bound (rejection; Haiku/JAX `truncated_normal(-b, b)`). */
  truncatedNormal(bound = 2): number {
    if (!(bound > 0)) throw new RangeError(`Rng.truncatedNormal: bound must be > 0, got ${bound}`);
    for (;;) {
      const z = this.normal();
      if (Math.abs(z) <= bound) return z;
    }
  }

  /** Fills `out` with N(mean, std²) draws and returns it. */
  fillNormal<T extends Float32Array | Float64Array>(out: T, mean = 0, std = 1): T {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /**
   * Fills `out` with `std · z`, z a standard normal truncated to [−bound, bound]. No variance
   * correction (the result's std is ≈ 0.88·std for bound 2), matching Haiku's TruncatedNormal.
   */
  fillTruncatedNormal<T extends Float32Array | Float64Array>(out: T, std: number, bound = 2): T {
    for (let i = 0; i < out.length; i++) out[i] = std * this.truncatedNormal(bound);
    return out;
  }

  /** Fills `out` with U[lo, hi) draws and returns it. */
  fillUniform<T extends Float32Array | Float64Array>(out: T, lo = 0, hi = 1): T {
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * this.float();
    return out;
  }

  /** Shuffles `arr` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: any }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = Math.floor(this.float() * (i + 1));
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}
