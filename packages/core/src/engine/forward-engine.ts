/**
 * The forward engine: VSML episodes (forward only, no gradients) on the CPU in a fused WebAssembly SIMD kernel
 * (`assembly/engine.ts`). Plain typed arrays in and out, no tfjs. The tfjs implementation stays the reference and
 * the differentiable path; this engine computes the same function (to float rounding) much faster.
 *
 * Rows: P members (independent episodes) × B inner-batch rows = E rows, member-major (row e = p·B + r belongs to
 * member p). Memory: each engine owns one WebAssembly instance and its linear memory, sized once at creation. The
 * state of layer `l` is `h, c: [E, in, out, H]` (stored as 2h and c), its incoming messages `fwdIn [E, in, M]` (not
 * for layer 0, whose input is x in slot 0) and `bwdIn [E, out, M]` (for the last layer: slot 0 the previous error,
 * slot 1 the previous label when `feedLabel`).
 */
import { Rng } from '@vsml/rng';
import { parseModelConfig, type ModelConfig, type ModelConfigInput } from '../config.js';
import { VsmlError } from '../errors.js';
import { paramLayout, rnnGroups, type RnnGroup } from '../layout.js';
import { fusedLayout, fuseGroup, type EngineGroupParams, type FusedLayout } from './params.js';
import { instantiateEngine, resolveSimdVariant, type EngineExports, type SimdMode, type SimdVariant } from './wasm.js';

/** Engine-only options (everything else is the model config, validated by `parseModelConfig`). */
export interface ForwardEngineOnlyOptions {
  /** P: independent episodes run side by side (population members, seeds, ...). */
  population: number;
  /**
   * B: rows per member (default 1). Before every forward tick the first `floor(H·innerBatchMerge)` dims of h and c
   * are replaced by their mean over the member's B rows (the model config's `innerBatchMerge`).
   */
  innerBatch?: number;
  /** true: every member has its own V_M (evolution strategies); false (default): one V_M shared by all. */
  perMemberParams?: boolean;
  /**
   * true: every forward tick sees zero backward messages (the clone's CHANGE 1, meant for `backwardPass`); false
   * (default, official): a layer keeps the backward message it last received.
   */
  zeroStaleBackward?: boolean;
  /** the injected error is `errorScale · (softmax − onehot)`, divided by B unless `perRowError` (default 1) */
  errorScale?: number;
  /**
   * true: the error is not divided by B (the clone's CHANGE 2); false (default, official): it is, i.e. the
   * gradient of the mean over the inner batch of the cross-entropy.
   */
  perRowError?: boolean;
  /** `auto` (default, or `$VSML_ENGINE_SIMD`): relaxed-SIMD FMA when available, else plain SIMD. */
  simd?: SimdMode;
  /** Memory for one segment of inputs/outputs (episodes are processed in segments of steps); default 8 MiB. */
  segmentBytes?: number;
}

/** Options of {@link createForwardEngine}: a model config (flat) plus the engine options. */
export type ForwardEngineOptions = ModelConfigInput & ForwardEngineOnlyOptions;

/** What {@link ForwardEngine.runEpisode} returns. */
export interface EngineEpisodeResult {
  /** per-step logits (after the tanh bound) `[T, E, C]` (E = P·B rows) */
  logits: Float32Array;
  /** per-step cross-entropy `[T, E]` of the prediction made before the label was seen */
  loss: Float32Array;
  /** per-step correctness `[T, E]` (argmax of the logits, first maximum, equals the label) */
  correct: Uint8Array;
  /** mean of `loss` */
  meanLoss: number;
  /** mean of `correct` */
  accuracy: number;
  /** per member: mean loss over the steps and rows `[P]` (e.g. ES fitness) */
  memberLoss: Float64Array;
  /** per member: mean correctness over the steps and rows `[P]` */
  memberAccuracy: Float64Array;
}

/** Option values the engine does not implement; they throw `VsmlError('BAD_CONFIG')` at creation. */
export const ENGINE_UNSUPPORTED = ['layerNorm with msgSize not a multiple of 4'] as const;

const ENGINE_KEYS = [
  'population',
  'innerBatch',
  'perMemberParams',
  'zeroStaleBackward',
  'errorScale',
  'perRowError',
  'simd',
  'segmentBytes',
] as const;

// config block, i32 words (see assembly/engine.ts)
const C_WORDS_HEAD = 64;
const C_LAYER_WORDS = 12;
const C_CLIPV = 48;
const MERGE_CHUNK = 64; // = MERGE_CHUNK in engine.ts

function align(n: number, a = 64): number {
  return Math.ceil(n / a) * a;
}

/** Creates a forward engine (synchronous; compiles the WebAssembly module once per thread). */
export function createForwardEngine(options: ForwardEngineOptions): ForwardEngine {
  return new ForwardEngine(options);
}

interface LayerPtrs {
  h: number;
  c: number;
  fwdIn: number;
  bwdIn: number;
}

/** A VSML forward engine for one model config, population and inner batch; see {@link createForwardEngine}. */
export class ForwardEngine {
  /** the validated model config */
  readonly config: ModelConfig;
  /** P */
  readonly population: number;
  /** B, rows per member */
  readonly innerBatch: number;
  /** E = P·B rows */
  readonly rows: number;
  /** whether each member has its own V_M */
  readonly perMemberParams: boolean;
  /** whether forward ticks see zero backward messages */
  readonly zeroStaleBackward: boolean;
  /** the factor of (softmax − onehot) in the injected error (errorScale, / B unless perRowError) */
  readonly errorFactor: number;
  /** which build runs */
  readonly simd: SimdVariant;
  /** steps per segment */
  readonly segmentSteps: number;

  private readonly ex: EngineExports;
  private readonly f32: Float32Array;
  private readonly i32: Int32Array;
  private readonly groups: RnnGroup[];
  private readonly fused: FusedLayout;
  private readonly groupBytes: number; // per member
  private readonly cfg: number;
  private readonly params: number;
  private readonly layerPtrs: LayerPtrs[] = [];
  private readonly io: { x: number; y: number; logits: number; loss: number; correct: number };
  private readonly H: number;
  /** H rounded up to a multiple of 4: the kernel's state stride (the extra units have zero weights and stay 0) */
  private readonly Hk: number;
  private readonly M: number;
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
    const B = options.innerBatch ?? 1;
    if (!Number.isInteger(B) || B < 1) {
      throw new VsmlError('BAD_ARGUMENT', `createForwardEngine: innerBatch must be a positive integer, got ${String(B)}`);
    }
    const errorScale = options.errorScale ?? 1;
    if (!Number.isFinite(errorScale)) {
      throw new VsmlError('BAD_ARGUMENT', `createForwardEngine: errorScale must be a finite number, got ${String(errorScale)}`);
    }
    const H0 = config.slowSize;
    // the kernel works on groups of 4 units (SIMD lanes): other slow sizes run padded with units whose weights are
    // zero (their g gate is tanh(0) = 0, so c and h of those units stay 0 and never reach a real unit or message)
    const H = Math.ceil(H0 / 4) * 4;
    const M = config.msgSize;
    if (config.layerNorm && M % 4 !== 0) {
      throw new VsmlError('BAD_CONFIG', `forward engine: layerNorm needs msgSize a multiple of 4, got ${M}`);
    }
    this.config = config;
    this.population = P;
    this.innerBatch = B;
    const E = P * B;
    this.rows = E;
    this.H = H0;
    this.Hk = H;
    this.M = M;
    this.perMemberParams = options.perMemberParams ?? false;
    this.zeroStaleBackward = options.zeroStaleBackward ?? false;
    this.errorFactor = options.perRowError ? errorScale : errorScale / B;
    this.simd = resolveSimdVariant(options.simd);
    this.groups = rnnGroups(config);
    this.fused = fusedLayout(H, M);
    this.groupBytes = this.groups.length * this.fused.bytes;
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
    const perStep = E * (D + C + 3) * 4;
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
    const predictPtrs: { mh: number; mc: number; work: number; fwdIn: number; g0: number }[] = [];
    for (const l of layers) {
      const sub = l.in * l.out * H * 4;
      this.layerPtrs.push({
        h: alloc(E * sub),
        c: alloc(E * sub),
        fwdIn: alloc(E * l.in * M * 4),
        bwdIn: alloc(E * l.out * M * 4),
      });
      predictPtrs.push({ mh: alloc(sub), mc: alloc(sub), work: alloc(2 * sub), fwdIn: alloc(l.in * M * 4), g0: alloc(4 * sub) });
    }
    const HS = align(Math.max(H, M) * 4, 16);
    const rowC = alloc(maxIn * 16 * H);
    const colC = alloc(maxOut * 16 * H);
    const hsA = alloc(maxOut * HS);
    const hsB = alloc(maxIn * HS);
    const gates = alloc(2 * 16 * H);
    const mergeBuf = alloc(MERGE_CHUNK * H * 4);
    const lnTmp = alloc(M * 4);
    const zeroRow = alloc(16 * H);
    this.io = {
      x: alloc(Ts * E * D * 4),
      y: alloc(Ts * E * 4),
      logits: alloc(Ts * E * C * 4),
      loss: alloc(Ts * E * 4),
      correct: alloc(Ts * E * 4),
    };
    const have = ex.memory.buffer.byteLength;
    if (top > have) {
      try {
        ex.memory.grow(Math.ceil((top - have) / 65536));
      } catch (e) {
        throw new VsmlError(
          'BAD_ARGUMENT',
          `createForwardEngine: needs ${(top / 2 ** 20).toFixed(0)} MiB of WebAssembly memory for ${E} rows ` +
            `(states of all rows and layers); split the population over several engines`,
          { cause: e },
        );
      }
    }
    this.f32 = new Float32Array(ex.memory.buffer);
    this.i32 = new Int32Array(ex.memory.buffer);

    // ---- config block (word numbers: C_* in engine.ts) ----
    const w = this.cfg >>> 2;
    const i32 = this.i32;
    i32[w + 0] = L;
    i32[w + 1] = E;
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
    i32[w + 21] = config.layerwiseRnns ? this.fused.bytes : 0;
    i32[w + 22] = config.separateBackwardRnn ? nFwd * this.fused.bytes : 0;
    i32[w + 23] = config.backwardPass ? 1 : 0;
    i32[w + 25] = config.layerNorm ? 1 : 0;
    i32[w + 26] = H;
    i32[w + 27] = M;
    i32[w + 28] = B;
    i32[w + 29] = B > 1 ? Math.floor(H0 * config.innerBatchMerge) : 0;
    i32[w + 30] = this.zeroStaleBackward ? 1 : 0;
    this.f32[w + 31] = this.errorFactor;
    const f = this.fused;
    [f.wfm, f.wbm, f.bz, f.wf, f.bf, f.wb, f.bb, f.ln].forEach((o, k) => (i32[w + 32 + k] = o * 4));
    i32[w + 40] = HS;
    i32[w + 41] = mergeBuf;
    i32[w + 42] = lnTmp;
    // the rows of a member are equal after a whole-state merge, and forward ticks see no backward messages: their
    // first micro tick shares everything but the forward-message part (computed once per step: firstGates)
    i32[w + 43] = B > 1 && Math.floor(H0 * config.innerBatchMerge) >= H0 && this.zeroStaleBackward ? 1 : 0;
    i32[w + 44] = zeroRow;
    if (config.stateClip !== null) {
      const [lo, hi] = config.stateClip;
      i32[w + 24] = 1;
      const v = w + C_CLIPV;
      this.f32.fill(lo, v, v + 4);
      this.f32.fill(hi, v + 4, v + 8);
      this.f32.fill(2 * lo, v + 8, v + 12);
      this.f32.fill(2 * hi, v + 12, v + 16);
    }
    layers.forEach((l, k) => {
      const o = w + C_WORDS_HEAD + C_LAYER_WORDS * k;
      const p = this.layerPtrs[k]!;
      const q = predictPtrs[k]!;
      i32[o] = l.in;
      i32[o + 1] = l.out;
      i32[o + 2] = p.h;
      i32[o + 3] = p.c;
      i32[o + 4] = p.fwdIn;
      i32[o + 5] = p.bwdIn;
      i32[o + 6] = q.mh;
      i32[o + 7] = q.mc;
      i32[o + 8] = q.work;
      i32[o + 9] = q.fwdIn;
      i32[o + 10] = q.g0;
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
    const n = this.fused.floats;
    const scratch = new Float32Array(this.groups.length * n);
    this.groups.forEach((g, gi) => fuseGroup(get(g), scratch, gi * n, `${where} (group '${g.prefix}')`, this.fused, this.H, this.config.layerNorm));
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

  private checkMember(member: number, where: string): void {
    if (!Number.isInteger(member) || member < 0 || member >= this.population) {
      throw new VsmlError('BAD_ARGUMENT', `${where}: member must be in [0, ${this.population}), got ${member}`);
    }
  }

  /**
   * Sets the LSTM state of a layer: `c` and optionally `h` as `[E, in, out, H]` (E = P·B rows; h defaults to 0),
   * or of one member's B rows (`[B, in, out, H]`) when `member` is given.
   */
  setState(layer: number, c: ArrayLike<number>, h?: ArrayLike<number>, member?: number): void {
    const l = this.layerIndex(layer, 'setState');
    const B = this.innerBatch;
    const H = this.H;
    const Hk = this.Hk;
    const subs = l.in * l.out;
    if (member !== undefined) this.checkMember(member, 'setState');
    const rows = member === undefined ? this.rows : B;
    const n = rows * subs * H;
    const shape = `[${rows},${l.in},${l.out},${H}]`;
    if (c.length !== n) throw new VsmlError('SHAPE_MISMATCH', `setState: c has ${c.length} entries, expected ${shape}`);
    if (h !== undefined && h.length !== n) {
      throw new VsmlError('SHAPE_MISMATCH', `setState: h has ${h.length} entries, expected ${shape}`);
    }
    const p = this.layerPtrs[layer]!;
    const at = member === undefined ? 0 : member * B * subs * Hk;
    const cs = this.f32.subarray((p.c >>> 2) + at, (p.c >>> 2) + at + rows * subs * Hk);
    const hs = this.f32.subarray((p.h >>> 2) + at, (p.h >>> 2) + at + rows * subs * Hk);
    if (Hk === H) cs.set(c);
    else for (let s = 0, k = 0; s < rows * subs; s++) for (let j = 0; j < Hk; j++) cs[s * Hk + j] = j < H ? c[k++]! : 0;
    if (h === undefined) hs.fill(0);
    else for (let s = 0, k = 0; s < rows * subs; s++) for (let j = 0; j < Hk; j++) hs[s * Hk + j] = j < H ? 2 * h[k++]! : 0;
  }

  /**
   * A fresh initial state, the same numbers as `initState` of state.ts (official init): h = 0, the first
   * floor(H·initRandProportion) dims of c truncated normal (±2σ, σ = 1/sqrt(in)) drawn from
   * `Rng.fromSeed(seed, 0x564c, memberKey(p), layer)` in [a][b][dim] order, the rest 0, the same for the B rows of
   * a member; messages 0.
   * @param memberKeys key of each member's stream (default p; equal keys give equal states, e.g. antithetic pairs)
   */
  initState(seed: number, memberKeys?: readonly number[]): void {
    const P = this.population;
    const B = this.innerBatch;
    const H = this.Hk;
    if (memberKeys !== undefined && memberKeys.length !== P) {
      throw new VsmlError('BAD_ARGUMENT', `initState: memberKeys has ${memberKeys.length} entries, population is ${P}`);
    }
    const nRand = Math.floor(this.H * this.config.initRandProportion);
    this.config.layers.forEach((l, k) => {
      const per = l.in * l.out * H;
      const p0 = this.layerPtrs[k]!;
      const c = this.f32.subarray(p0.c >>> 2, (p0.c >>> 2) + this.rows * per);
      c.fill(0);
      this.f32.fill(0, p0.h >>> 2, (p0.h >>> 2) + this.rows * per);
      const std = 1 / Math.sqrt(l.in);
      if (nRand > 0) {
        for (let p = 0; p < P; p++) {
          const rng = Rng.fromSeed(seed, 0x564c, memberKeys?.[p] ?? p, k);
          const base = p * B * per;
          for (let ab = 0; ab < l.in * l.out; ab++) {
            for (let j = 0; j < nRand; j++) c[base + ab * H + j] = std * rng.truncatedNormal(2);
          }
          for (let r = 1; r < B; r++) c.copyWithin(base + r * per, base, base + per);
        }
      }
    });
    this.resetMessages();
  }

  /** Copies of a layer's LSTM state `h, c: [E, in, out, H]` (E = P·B rows). */
  getState(layer: number): { h: Float32Array; c: Float32Array } {
    const l = this.layerIndex(layer, 'getState');
    const H = this.H;
    const Hk = this.Hk;
    const subs = this.rows * l.in * l.out;
    const p = this.layerPtrs[layer]!;
    const cs = this.f32.subarray(p.c >>> 2, (p.c >>> 2) + subs * Hk);
    const hs = this.f32.subarray(p.h >>> 2, (p.h >>> 2) + subs * Hk);
    const c = new Float32Array(subs * H);
    const h = new Float32Array(subs * H);
    for (let s = 0; s < subs; s++) {
      for (let j = 0; j < H; j++) {
        c[s * H + j] = cs[s * Hk + j]!;
        h[s * H + j] = 0.5 * hs[s * Hk + j]!;
      }
    }
    return { h, c };
  }

  /**
   * Copies of a layer's incoming messages: `bwdIn [E, out, M]` and, except for layer 0 (whose input is x),
   * `fwdIn [E, in, M]`.
   */
  getMessages(layer: number): { fwdIn?: Float32Array; bwdIn: Float32Array } {
    const l = this.layerIndex(layer, 'getMessages');
    const p = this.layerPtrs[layer]!;
    const M = this.M;
    const bwdIn = this.f32.slice(p.bwdIn >>> 2, (p.bwdIn >>> 2) + this.rows * l.out * M);
    if (layer === 0) return { bwdIn };
    return { fwdIn: this.f32.slice(p.fwdIn >>> 2, (p.fwdIn >>> 2) + this.rows * l.in * M), bwdIn };
  }

  /** Sets a layer's incoming messages (shapes as in {@link getMessages}; layer 0 has no `fwdIn`). */
  setMessages(layer: number, m: { fwdIn?: ArrayLike<number>; bwdIn?: ArrayLike<number> }): void {
    const l = this.layerIndex(layer, 'setMessages');
    const p = this.layerPtrs[layer]!;
    const M = this.M;
    const E = this.rows;
    if (m.bwdIn !== undefined) {
      const n = E * l.out * M;
      if (m.bwdIn.length !== n) {
        throw new VsmlError('SHAPE_MISMATCH', `setMessages: bwdIn has ${m.bwdIn.length} entries, expected [${E},${l.out},${M}]`);
      }
      this.f32.set(m.bwdIn, p.bwdIn >>> 2);
    }
    if (m.fwdIn !== undefined) {
      if (layer === 0) throw new VsmlError('BAD_ARGUMENT', 'setMessages: layer 0 has no fwdIn (its input is x)');
      const n = E * l.in * M;
      if (m.fwdIn.length !== n) {
        throw new VsmlError('SHAPE_MISMATCH', `setMessages: fwdIn has ${m.fwdIn.length} entries, expected [${E},${l.in},${M}]`);
      }
      this.f32.set(m.fwdIn, p.fwdIn >>> 2);
    }
  }

  /** Zeros every layer's incoming messages (and so the error fed back): the start of an episode. */
  resetMessages(): void {
    this.config.layers.forEach((l, k) => {
      const p = this.layerPtrs[k]!;
      this.f32.fill(0, p.fwdIn >>> 2, (p.fwdIn >>> 2) + this.rows * l.in * this.M);
      this.f32.fill(0, p.bwdIn >>> 2, (p.bwdIn >>> 2) + this.rows * l.out * this.M);
    });
  }

  private checkParams(where: string): void {
    if (this.paramsSet.includes(false)) {
      throw new VsmlError('BAD_ARGUMENT', `${where}: V_M not set for every member (call setParams first)`);
    }
  }

  /**
   * Runs T steps for all E = P·B rows from the current state (state and messages carry over to the next call).
   * @param x inputs `[T, P, B, D]` (row-major; `[T, P, D]` for B = 1)
   * @param y labels `[T, P, B]` in `[0, C)`
   */
  runEpisode(x: Float32Array, y: ArrayLike<number>): EngineEpisodeResult {
    const P = this.population;
    const E = this.rows;
    const D = this.D;
    const C = this.C;
    this.checkParams('runEpisode');
    if (y.length % E !== 0) throw new VsmlError('SHAPE_MISMATCH', `runEpisode: y has ${y.length} entries, not [T, P·B=${E}]`);
    const T = y.length / E;
    if (x.length !== T * E * D) {
      throw new VsmlError('SHAPE_MISMATCH', `runEpisode: x has ${x.length} entries, expected [T=${T}, P·B=${E}, D=${D}]`);
    }
    for (let i = 0; i < y.length; i++) {
      const v = y[i]!;
      if (!Number.isInteger(v) || v < 0 || v >= C) {
        throw new VsmlError('BAD_ARGUMENT', `runEpisode: label y[${i}] = ${v} is not an integer in [0, ${C})`);
      }
    }
    const logits = new Float32Array(T * E * C);
    const loss = new Float32Array(T * E);
    const correct = new Uint8Array(T * E);
    const io = this.io;
    for (let t0 = 0; t0 < T; t0 += this.segmentSteps) {
      const n = Math.min(this.segmentSteps, T - t0);
      this.f32.set(x.subarray(t0 * E * D, (t0 + n) * E * D), io.x >>> 2);
      const yo = io.y >>> 2;
      for (let i = 0; i < n * E; i++) this.i32[yo + i] = y[t0 * E + i]!;
      this.ex.runSegment(this.cfg, n);
      logits.set(this.f32.subarray(io.logits >>> 2, (io.logits >>> 2) + n * E * C), t0 * E * C);
      loss.set(this.f32.subarray(io.loss >>> 2, (io.loss >>> 2) + n * E), t0 * E);
      const co = io.correct >>> 2;
      for (let i = 0; i < n * E; i++) correct[t0 * E + i] = this.i32[co + i]!;
    }
    let sl = 0;
    let sc = 0;
    const B = this.innerBatch;
    const memberLoss = new Float64Array(P);
    const memberAccuracy = new Float64Array(P);
    for (let t = 0; t < T; t++) {
      for (let e = 0; e < E; e++) {
        const p = Math.floor(e / B);
        const l = loss[t * E + e]!;
        const c = correct[t * E + e]!;
        memberLoss[p] = memberLoss[p]! + l;
        memberAccuracy[p] = memberAccuracy[p]! + c;
        sl += l;
        sc += c;
      }
    }
    for (let p = 0; p < P; p++) {
      memberLoss[p] = T > 0 ? memberLoss[p]! / (T * B) : NaN;
      memberAccuracy[p] = T > 0 ? memberAccuracy[p]! / (T * B) : NaN;
    }
    return {
      logits,
      loss,
      correct,
      meanLoss: T > 0 ? sl / (T * E) : NaN,
      accuracy: T > 0 ? sc / (T * E) : NaN,
      memberLoss,
      memberAccuracy,
    };
  }

  /**
   * Predictions without learning (held-out test accuracy): member `member`'s state averaged over its B rows (all
   * dims of h and c: the merged network) runs one forward tick per input with zero backward messages; nothing is
   * written back, the state and messages are unchanged.
   * @param x inputs `[N, D]`
   * @returns logits `[N, C]` (after the tanh bound)
   */
  predict(x: Float32Array, member = 0): Float32Array {
    const D = this.D;
    const C = this.C;
    this.checkParams('predict');
    this.checkMember(member, 'predict');
    if (x.length % D !== 0) throw new VsmlError('SHAPE_MISMATCH', `predict: x has ${x.length} entries, not [N, D=${D}]`);
    const N = x.length / D;
    const out = new Float32Array(N * C);
    const cap = this.segmentSteps * this.rows; // inputs per call that fit the segment buffers
    const io = this.io;
    for (let n0 = 0; n0 < N; n0 += cap) {
      const n = Math.min(cap, N - n0);
      this.f32.set(x.subarray(n0 * D, (n0 + n) * D), io.x >>> 2);
      this.ex.predict(this.cfg, member, n);
      out.set(this.f32.subarray(io.logits >>> 2, (io.logits >>> 2) + n * C), n0 * C);
    }
    return out;
  }
}
