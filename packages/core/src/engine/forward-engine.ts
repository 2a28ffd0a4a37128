/**
 * The forward engine: VSML episodes (forward only, no gradients) on the CPU in a fused WebAssembly SIMD kernel
 * (`assembly/engine.ts`). Plain typed arrays in and out, no tfjs. The tfjs implementation stays the reference and
 * the differentiable path; this engine computes the same function (to float rounding) much faster.
 *
 * Memory: each engine owns one WebAssembly instance and its linear memory, sized once at creation. The state of
 * layer `l` is `h, c: [P, in, out, H]` (stored as 2h and c), its incoming messages `fwdIn [P, in, M]` (not for
 * layer 0, whose input is x in slot 0) and `bwdIn [P, out, M]` (for the last layer: slot 0 the previous error,
 * slot 1 the previous label when `feedLabel`).
 */
import { Rng } from '@vsml/rng';
import { parseModelConfig, type ModelConfig, type ModelConfigInput } from '../config.js';
import { VsmlError } from '../errors.js';
import { paramLayout, rnnGroups, type RnnGroup } from '../layout.js';
import { ENGINE_H, ENGINE_M, FUSED_GROUP_BYTES, FUSED_GROUP_FLOATS, fuseGroup, type EngineGroupParams } from './params.js';
import { instantiateEngine, resolveSimdVariant, type EngineExports, type SimdMode, type SimdVariant } from './wasm.js';

/** Engine-only options (everything else is the model config, validated by `parseModelConfig`). */
export interface ForwardEngineOnlyOptions {
  /** P: independent episodes run side by side (population members, seeds, ...). */
  population: number;
  /** true: every member has its own V_M (evolution strategies); false (default): one V_M shared by all. */
  perMemberParams?: boolean;
  /** `auto` (default, or `$VSML_ENGINE_SIMD`): relaxed-SIMD FMA when available, else plain SIMD. */
  simd?: SimdMode;
  /** Memory for one segment of inputs/outputs (episodes are processed in segments of steps); default 8 MiB. */
  segmentBytes?: number;
}

/** Options of {@link createForwardEngine}: a model config (flat) plus the engine options. */
export type ForwardEngineOptions = ModelConfigInput & ForwardEngineOnlyOptions;

/** What {@link ForwardEngine.runEpisode} returns. */
export interface EngineEpisodeResult {
  /** per-step logits (after the tanh bound) `[T, P, C]` */
  logits: Float32Array;
  /** per-step cross-entropy `[T, P]` of the prediction made before the label was seen */
  loss: Float32Array;
  /** per-step correctness `[T, P]` (argmax of the logits, first maximum, equals the label) */
  correct: Uint8Array;
  /** mean of `loss` */
  meanLoss: number;
  /** mean of `correct` */
  accuracy: number;
  /** per member: mean loss over the steps `[P]` (e.g. ES fitness) */
  memberLoss: Float64Array;
  /** per member: mean correctness over the steps `[P]` */
  memberAccuracy: Float64Array;
}

/** Option values the engine does not implement; they throw `VsmlError('BAD_CONFIG')` at creation. */
export const ENGINE_UNSUPPORTED = ['slowSize != 16', 'msgSize != 8', 'inner batch > 1'] as const;

const ENGINE_KEYS = ['population', 'perMemberParams', 'simd', 'segmentBytes'] as const;

// config block, i32 words (see assembly/engine.ts)
const C_WORDS_HEAD = 48;
const C_LAYER_WORDS = 8;

function align(n: number, a = 64): number {
  return Math.ceil(n / a) * a;
}

/** Creates a forward engine (synchronous; compiles the WebAssembly module once per thread). */
export function createForwardEngine(options: ForwardEngineOptions): ForwardEngine {
  return new ForwardEngine(options);
}

/** A VSML forward engine for one model config and population size; see {@link createForwardEngine}. */
export class ForwardEngine {
  /** the validated model config */
  readonly config: ModelConfig;
  /** P */
  readonly population: number;
  /** whether each member has its own V_M */
  readonly perMemberParams: boolean;
  /** which build runs */
  readonly simd: SimdVariant;
  /** steps per segment */
  readonly segmentSteps: number;

  private readonly ex: EngineExports;
  private readonly f32: Float32Array;
  private readonly i32: Int32Array;
  private readonly groups: RnnGroup[];
  private readonly groupBytes: number; // per member
  private readonly cfg: number;
  private readonly params: number;
  private readonly layerPtrs: { h: number; c: number; fwdIn: number; bwdIn: number }[] = [];
  private readonly io: { x: number; y: number; logits: number; loss: number; correct: number };
  private readonly D: number;
  private readonly C: number;
  private paramsSet: boolean[];

  constructor(options: ForwardEngineOptions) {
    if (options === null || typeof options !== 'object') {
      throw new VsmlError('BAD_ARGUMENT', 'createForwardEngine: options must be an object');
    }
    const model: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(options)) {
      if (!(ENGINE_KEYS as readonly string[]).includes(k)) model[k] = v;
    }
    const config = parseModelConfig(model, 'engine');
    const P = options.population;
    if (!Number.isInteger(P) || P < 1) {
      throw new VsmlError('BAD_ARGUMENT', `createForwardEngine: population must be a positive integer, got ${String(P)}`);
    }
    if (config.slowSize !== ENGINE_H || config.msgSize !== ENGINE_M) {
      throw new VsmlError(
        'BAD_CONFIG',
        `forward engine: compiled for slowSize ${ENGINE_H} and msgSize ${ENGINE_M}, got ${config.slowSize} and ${config.msgSize}`,
      );
    }
    this.config = config;
    this.population = P;
    this.perMemberParams = options.perMemberParams ?? false;
    this.simd = resolveSimdVariant(options.simd);
    this.groups = rnnGroups(config);
    this.groupBytes = this.groups.length * FUSED_GROUP_BYTES;
    const layers = config.layers;
    const L = layers.length;
    const D = layers[0]!.in;
    const C = layers[L - 1]!.out;
    this.D = D;
    this.C = C;
    const maxIn = Math.max(...layers.map((l) => l.in));
    const maxOut = Math.max(...layers.map((l) => l.out));

    const segBytes = options.segmentBytes ?? 8 << 20;
    if (!(segBytes > 0)) throw new VsmlError('BAD_ARGUMENT', `createForwardEngine: segmentBytes must be > 0`);
    const perStep = P * (D + C + 3) * 4;
    this.segmentSteps = Math.max(1, Math.floor(segBytes / perStep));
    const Ts = this.segmentSteps;

    // ---- memory map ----
    const ex = instantiateEngine(this.simd);
    this.ex = ex;
    let top = align(ex.heapBase());
    const alloc = (bytes: number): number => {
      const p = top;
      top = align(top + bytes);
      return p;
    };
    this.cfg = alloc((C_WORDS_HEAD + C_LAYER_WORDS * L) * 4);
    const nSets = this.perMemberParams ? P : 1;
    this.params = alloc(nSets * this.groupBytes);
    for (const l of layers) {
      const sub = P * l.in * l.out * ENGINE_H * 4;
      this.layerPtrs.push({
        h: alloc(sub),
        c: alloc(sub),
        fwdIn: alloc(P * l.in * ENGINE_M * 4),
        bwdIn: alloc(P * l.out * ENGINE_M * 4),
      });
    }
    const rowC = alloc(maxIn * 256);
    const colC = alloc(maxOut * 256);
    const hsA = alloc(maxOut * 64);
    const hsB = alloc(maxIn * 64);
    const gates = alloc(4 * 256);
    this.io = {
      x: alloc(Ts * P * D * 4),
      y: alloc(Ts * P * 4),
      logits: alloc(Ts * P * C * 4),
      loss: alloc(Ts * P * 4),
      correct: alloc(Ts * P * 4),
    };
    const have = ex.memory.buffer.byteLength;
    if (top > have) {
      try {
        ex.memory.grow(Math.ceil((top - have) / 65536));
      } catch (e) {
        throw new VsmlError(
          'BAD_ARGUMENT',
          `createForwardEngine: needs ${(top / 2 ** 20).toFixed(0)} MiB of WebAssembly memory for population ${P} ` +
            `(states of all members and layers); split the population over several engines`,
          { cause: e },
        );
      }
    }
    this.f32 = new Float32Array(ex.memory.buffer);
    this.i32 = new Int32Array(ex.memory.buffer);

    // ---- config block ----
    const w = this.cfg >>> 2;
    const i32 = this.i32;
    i32[w + 0] = L;
    i32[w + 1] = P;
    i32[w + 2] = config.microTicks;
    i32[w + 3] = config.outputIdx;
    i32[w + 4] = config.feedLabel ? 1 : 0;
    i32[w + 5] = D;
    i32[w + 6] = C;
    i32[w + 7] = config.aggregation === 'sum' ? 1 : 0;
    this.f32[w + 8] = config.tanhBound ?? 0;
    i32[w + 9] = this.params;
    i32[w + 10] = this.perMemberParams ? this.groupBytes : 0;
    i32[w + 11] = this.io.x;
    i32[w + 12] = this.io.y;
    i32[w + 13] = this.io.logits;
    i32[w + 14] = this.io.loss;
    i32[w + 15] = this.io.correct;
    i32[w + 16] = rowC;
    i32[w + 17] = colC;
    i32[w + 18] = hsA;
    i32[w + 19] = hsB;
    i32[w + 20] = gates;
    const nFwd = config.layerwiseRnns ? L : 1;
    i32[w + 21] = config.layerwiseRnns ? FUSED_GROUP_BYTES : 0;
    i32[w + 22] = config.separateBackwardRnn ? nFwd * FUSED_GROUP_BYTES : 0;
    i32[w + 23] = config.backwardPass ? 1 : 0;
    i32[w + 25] = config.layerNorm ? 1 : 0;
    if (config.stateClip !== null) {
      const [lo, hi] = config.stateClip;
      i32[w + 24] = 1;
      this.f32.fill(lo, w + 32, w + 36);
      this.f32.fill(hi, w + 36, w + 40);
      this.f32.fill(2 * lo, w + 40, w + 44);
      this.f32.fill(2 * hi, w + 44, w + 48);
    }
    layers.forEach((l, k) => {
      const o = w + C_WORDS_HEAD + C_LAYER_WORDS * k;
      const p = this.layerPtrs[k]!;
      i32[o] = l.in;
      i32[o + 1] = l.out;
      i32[o + 2] = p.h;
      i32[o + 3] = p.c;
      i32[o + 4] = p.fwdIn;
      i32[o + 5] = p.bwdIn;
    });
    this.paramsSet = new Array<boolean>(nSets).fill(false);
  }

  /** |V_M| of the model (the length of a flat parameter vector). */
  get paramCount(): number {
    return paramLayout(this.config).reduce((a, s) => a + s.size, 0);
  }

  /** @internal For scripts/bench-engine.mjs: the module's exports and the config block pointer. */
  internals(): { exports: EngineExports; cfg: number } {
    return { exports: this.ex, cfg: this.cfg };
  }

  /** Bytes of linear memory used by this engine. */
  get memoryBytes(): number {
    return this.ex.memory.buffer.byteLength;
  }

  private members(member: number | undefined, where: string): number[] {
    if (member === undefined) {
      return this.perMemberParams ? Array.from({ length: this.population }, (_, i) => i) : [0];
    }
    if (!this.perMemberParams) {
      throw new VsmlError('BAD_ARGUMENT', `${where}: member given but the engine shares one V_M (perMemberParams: false)`);
    }
    if (!Number.isInteger(member) || member < 0 || member >= this.population) {
      throw new VsmlError('BAD_ARGUMENT', `${where}: member must be an integer in [0, ${this.population}), got ${member}`);
    }
    return [member];
  }

  private writeGroups(get: (g: RnnGroup) => EngineGroupParams, member: number | undefined, where: string): void {
    const sets = this.members(member, where);
    const scratch = new Float32Array(this.groups.length * FUSED_GROUP_FLOATS);
    this.groups.forEach((g, gi) =>
      fuseGroup(get(g), scratch, gi * FUSED_GROUP_FLOATS, `${where} (group '${g.prefix}')`, this.config.layerNorm),
    );
    for (const s of sets) {
      this.f32.set(scratch, (this.params + s * this.groupBytes) >>> 2);
      this.paramsSet[s] = true;
    }
  }

  /**
   * Sets V_M from named tensors (`lstm.w`, `lstm.b`, `fwd.w`, `fwd.b`, `bwd.w`, `bwd.b`, with the group prefixes
   * of layout.ts for `layerwiseRnns` / `separateBackwardRnn`), row-major in the documented layouts.
   * @param member with `perMemberParams`: only this member (default: all members)
   */
  setParams(params: Readonly<Record<string, ArrayLike<number>>>, member?: number): void {
    this.writeGroups(
      (g) => {
        const pick = (n: keyof EngineGroupParams): ArrayLike<number> => params[g.prefix + n] as ArrayLike<number>;
        const base: EngineGroupParams = {
          'lstm.w': pick('lstm.w'),
          'lstm.b': pick('lstm.b'),
          'fwd.w': pick('fwd.w'),
          'fwd.b': pick('fwd.b'),
          'bwd.w': pick('bwd.w'),
          'bwd.b': pick('bwd.b'),
        };
        if (!this.config.layerNorm) return base;
        return {
          ...base,
          'fwdNorm.scale': pick('fwdNorm.scale'),
          'fwdNorm.offset': pick('fwdNorm.offset'),
          'bwdNorm.scale': pick('bwdNorm.scale'),
          'bwdNorm.offset': pick('bwdNorm.offset'),
        };
      },
      member,
      'setParams',
    );
  }

  /**
   * Sets V_M from a flat vector in the order of `flattenParams` (layout.ts).
   * @param member with `perMemberParams`: only this member (default: all members)
   */
  setParamsFlat(flat: ArrayLike<number>, member?: number): void {
    const specs = paramLayout(this.config);
    const n = specs.reduce((a, s) => a + s.size, 0);
    if (flat.length !== n) {
      throw new VsmlError('SHAPE_MISMATCH', `setParamsFlat: vector has ${flat.length} entries, expected |V_M| = ${n}`);
    }
    const named: Record<string, ArrayLike<number>> = {};
    const f = flat instanceof Float32Array ? flat : Float32Array.from(flat);
    for (const s of specs) named[s.name] = f.subarray(s.offset, s.offset + s.size);
    this.setParams(named, member);
  }

  /** With `perMemberParams`: sets every member's V_M from `[P, |V_M|]` (row-major, flat order of layout.ts). */
  setPopulationParamsFlat(flat: Float32Array): void {
    const n = this.paramCount;
    if (!this.perMemberParams) {
      throw new VsmlError('BAD_ARGUMENT', 'setPopulationParamsFlat: needs perMemberParams: true');
    }
    if (flat.length !== n * this.population) {
      throw new VsmlError(
        'SHAPE_MISMATCH',
        `setPopulationParamsFlat: got ${flat.length} entries, expected [P=${this.population}, |V_M|=${n}]`,
      );
    }
    for (let p = 0; p < this.population; p++) this.setParamsFlat(flat.subarray(p * n, (p + 1) * n), p);
  }

  private layerIndex(layer: number, where: string): { in: number; out: number } {
    const l = this.config.layers[layer];
    if (!Number.isInteger(layer) || l === undefined) {
      throw new VsmlError('BAD_ARGUMENT', `${where}: layer must be in [0, ${this.config.layers.length}), got ${layer}`);
    }
    return l;
  }

  /**
   * Sets the LSTM state of a layer: `c` and optionally `h` as `[P, in, out, H]` (h defaults to 0), or of one
   * member (`[in, out, H]`) when `member` is given.
   */
  setState(layer: number, c: ArrayLike<number>, h?: ArrayLike<number>, member?: number): void {
    const l = this.layerIndex(layer, 'setState');
    const per = l.in * l.out * ENGINE_H;
    const n = member === undefined ? this.population * per : per;
    if (member !== undefined && (!Number.isInteger(member) || member < 0 || member >= this.population)) {
      throw new VsmlError('BAD_ARGUMENT', `setState: member must be in [0, ${this.population}), got ${member}`);
    }
    const at = member === undefined ? 0 : member * per;
    const shape = member === undefined ? `[${this.population},${l.in},${l.out},${ENGINE_H}]` : `[${l.in},${l.out},${ENGINE_H}]`;
    if (c.length !== n) throw new VsmlError('SHAPE_MISMATCH', `setState: c has ${c.length} entries, expected ${shape}`);
    if (h !== undefined && h.length !== n) {
      throw new VsmlError('SHAPE_MISMATCH', `setState: h has ${h.length} entries, expected ${shape}`);
    }
    const p = this.layerPtrs[layer]!;
    this.f32.set(c, (p.c >>> 2) + at);
    const h2 = this.f32.subarray((p.h >>> 2) + at, (p.h >>> 2) + at + n);
    if (h === undefined) h2.fill(0);
    else for (let i = 0; i < n; i++) h2[i] = 2 * h[i]!;
  }

  /**
   * A fresh initial state, the same numbers as `initState` of state.ts (official init): h = 0, the first
   * floor(H·initRandProportion) dims of c truncated normal (±2σ, σ = 1/sqrt(in)) drawn from
   * `Rng.fromSeed(seed, 0x564c, memberKey(p), layer)` in [a][b][dim] order, the rest 0; messages 0.
   * @param memberKeys key of each member's stream (default p; equal keys give equal states, e.g. antithetic pairs)
   */
  initState(seed: number, memberKeys?: readonly number[]): void {
    const P = this.population;
    if (memberKeys !== undefined && memberKeys.length !== P) {
      throw new VsmlError('BAD_ARGUMENT', `initState: memberKeys has ${memberKeys.length} entries, population is ${P}`);
    }
    const nRand = Math.floor(ENGINE_H * this.config.initRandProportion);
    this.config.layers.forEach((l, k) => {
      const per = l.in * l.out * ENGINE_H;
      const p0 = this.layerPtrs[k]!;
      const c = this.f32.subarray(p0.c >>> 2, (p0.c >>> 2) + P * per);
      c.fill(0);
      this.f32.fill(0, p0.h >>> 2, (p0.h >>> 2) + P * per);
      const std = 1 / Math.sqrt(l.in);
      if (nRand > 0) {
        for (let p = 0; p < P; p++) {
          const rng = Rng.fromSeed(seed, 0x564c, memberKeys?.[p] ?? p, k);
          const base = p * per;
          for (let ab = 0; ab < l.in * l.out; ab++) {
            for (let j = 0; j < nRand; j++) c[base + ab * ENGINE_H + j] = std * rng.truncatedNormal(2);
          }
        }
      }
    });
    this.resetMessages();
  }

  /** Copies of a layer's LSTM state `h, c: [P, in, out, H]`. */
  getState(layer: number): { h: Float32Array; c: Float32Array } {
    const l = this.layerIndex(layer, 'getState');
    const n = this.population * l.in * l.out * ENGINE_H;
    const p = this.layerPtrs[layer]!;
    const c = this.f32.slice(p.c >>> 2, (p.c >>> 2) + n);
    const h = this.f32.slice(p.h >>> 2, (p.h >>> 2) + n);
    for (let i = 0; i < n; i++) h[i] = 0.5 * h[i]!;
    return { h, c };
  }

  /**
   * Copies of a layer's incoming messages: `bwdIn [P, out, M]` and, except for layer 0 (whose input is x),
   * `fwdIn [P, in, M]`.
   */
  getMessages(layer: number): { fwdIn?: Float32Array; bwdIn: Float32Array } {
    const l = this.layerIndex(layer, 'getMessages');
    const p = this.layerPtrs[layer]!;
    const bwdIn = this.f32.slice(p.bwdIn >>> 2, (p.bwdIn >>> 2) + this.population * l.out * ENGINE_M);
    if (layer === 0) return { bwdIn };
    return { fwdIn: this.f32.slice(p.fwdIn >>> 2, (p.fwdIn >>> 2) + this.population * l.in * ENGINE_M), bwdIn };
  }

  /** Sets a layer's incoming messages (shapes as in {@link getMessages}; layer 0 has no `fwdIn`). */
  setMessages(layer: number, m: { fwdIn?: ArrayLike<number>; bwdIn?: ArrayLike<number> }): void {
    const l = this.layerIndex(layer, 'setMessages');
    const p = this.layerPtrs[layer]!;
    if (m.bwdIn !== undefined) {
      const n = this.population * l.out * ENGINE_M;
      if (m.bwdIn.length !== n) {
        throw new VsmlError('SHAPE_MISMATCH', `setMessages: bwdIn has ${m.bwdIn.length} entries, expected [${this.population},${l.out},${ENGINE_M}]`);
      }
      this.f32.set(m.bwdIn, p.bwdIn >>> 2);
    }
    if (m.fwdIn !== undefined) {
      if (layer === 0) throw new VsmlError('BAD_ARGUMENT', 'setMessages: layer 0 has no fwdIn (its input is x)');
      const n = this.population * l.in * ENGINE_M;
      if (m.fwdIn.length !== n) {
        throw new VsmlError('SHAPE_MISMATCH', `setMessages: fwdIn has ${m.fwdIn.length} entries, expected [${this.population},${l.in},${ENGINE_M}]`);
      }
      this.f32.set(m.fwdIn, p.fwdIn >>> 2);
    }
  }

  /** Zeros every layer's incoming messages (and so the error fed back): the start of an episode. */
  resetMessages(): void {
    this.config.layers.forEach((l, k) => {
      const p = this.layerPtrs[k]!;
      this.f32.fill(0, p.fwdIn >>> 2, (p.fwdIn >>> 2) + this.population * l.in * ENGINE_M);
      this.f32.fill(0, p.bwdIn >>> 2, (p.bwdIn >>> 2) + this.population * l.out * ENGINE_M);
    });
  }

  /**
   * Runs T steps for all P members from the current state (state and messages carry over to the next call).
   * @param x inputs `[T, P, D]` (row-major)
   * @param y labels `[T, P]` in `[0, C)`
   */
  runEpisode(x: Float32Array, y: ArrayLike<number>): EngineEpisodeResult {
    const P = this.population;
    const D = this.D;
    const C = this.C;
    if (this.paramsSet.includes(false)) {
      throw new VsmlError('BAD_ARGUMENT', 'runEpisode: V_M not set for every member (call setParams first)');
    }
    if (y.length % P !== 0) throw new VsmlError('SHAPE_MISMATCH', `runEpisode: y has ${y.length} entries, not [T, P=${P}]`);
    const T = y.length / P;
    if (x.length !== T * P * D) {
      throw new VsmlError('SHAPE_MISMATCH', `runEpisode: x has ${x.length} entries, expected [T=${T}, P=${P}, D=${D}]`);
    }
    for (let i = 0; i < y.length; i++) {
      const v = y[i]!;
      if (!Number.isInteger(v) || v < 0 || v >= C) {
        throw new VsmlError('BAD_ARGUMENT', `runEpisode: label y[${i}] = ${v} is not an integer in [0, ${C})`);
      }
    }
    const logits = new Float32Array(T * P * C);
    const loss = new Float32Array(T * P);
    const correct = new Uint8Array(T * P);
    const io = this.io;
    for (let t0 = 0; t0 < T; t0 += this.segmentSteps) {
      const n = Math.min(this.segmentSteps, T - t0);
      this.f32.set(x.subarray(t0 * P * D, (t0 + n) * P * D), io.x >>> 2);
      const yo = io.y >>> 2;
      for (let i = 0; i < n * P; i++) this.i32[yo + i] = y[t0 * P + i]!;
      this.ex.runSegment(this.cfg, n);
      logits.set(this.f32.subarray(io.logits >>> 2, (io.logits >>> 2) + n * P * C), t0 * P * C);
      loss.set(this.f32.subarray(io.loss >>> 2, (io.loss >>> 2) + n * P), t0 * P);
      const co = io.correct >>> 2;
      for (let i = 0; i < n * P; i++) correct[t0 * P + i] = this.i32[co + i]!;
    }
    let sl = 0;
    let sc = 0;
    const memberLoss = new Float64Array(P);
    const memberAccuracy = new Float64Array(P);
    for (let t = 0; t < T; t++) {
      for (let p = 0; p < P; p++) {
        const l = loss[t * P + p]!;
        const c = correct[t * P + p]!;
        memberLoss[p] = memberLoss[p]! + l;
        memberAccuracy[p] = memberAccuracy[p]! + c;
        sl += l;
        sc += c;
      }
    }
    for (let p = 0; p < P; p++) {
      memberLoss[p] = T > 0 ? memberLoss[p]! / T : NaN;
      memberAccuracy[p] = T > 0 ? memberAccuracy[p]! / T : NaN;
    }
    return {
      logits,
      loss,
      correct,
      meanLoss: T > 0 ? sl / (T * P) : NaN,
      accuracy: T > 0 ? sc / (T * P) : NaN,
      memberLoss,
      memberAccuracy,
    };
  }
}
