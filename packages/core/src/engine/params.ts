/**
 * V_M → the engine's fused parameter block (one per sub-RNN group), see assembly/engine.ts.
 *
 * Block layout (float32 offsets), H = 16, M = 8, gate columns in the stored order i, g, f, o:
 *
 * | offset | size    | content                                                                  |
 * |--------|---------|--------------------------------------------------------------------------|
 * | 0      | 16 × 64 | `lstm.w` rows 16..31 (hidden) × gate scale × 1/2 (the state keeps 2h)      |
 * | 1024   | 8 × 64  | `lstm.w` rows 0..7 (forward message) × gate scale                        |
 * | 1536   | 8 × 64  | `lstm.w` rows 8..15 (backward message) × gate scale                      |
 * | 2048   | 64      | (`lstm.b` + gate offset) × gate scale                                    |
 * | 2112   | 16 × 8  | `fwd.w` × 1/2                                                            |
 * | 2240   | 8       | `fwd.b`                                                                  |
 * | 2248   | 16 × 8  | `bwd.w` × 1/2                                                            |
 * | 2376   | 8       | `bwd.b`                                                                  |
 * | 2384   | 4 × 8   | `fwdNorm.scale`, `fwdNorm.offset`, `bwdNorm.scale`, `bwdNorm.offset` (layer norm)   |
 *
 * Gate scale 1/2 for i, f, o (sigmoid(z) = (1 + tanh(z/2)) / 2) and 1 for g; gate offsets −5 (i), +5 (f).
 */
import { VsmlError } from '../errors.js';

/** Slow size and message size the kernel is compiled for. */
export const ENGINE_H = 16;
export const ENGINE_M = 8;
/** Floats in one fused group block (= |V_M| of one group with layer norm, 2,416; 2,384 are used without). */
export const FUSED_GROUP_FLOATS = 2416;
/** Bytes of one fused group block. */
export const FUSED_GROUP_BYTES = FUSED_GROUP_FLOATS * 4;

const GATE_SCALE = [0.5, 1, 0.5, 0.5]; // i, g, f, o
const GATE_OFFSET = [-5, 0, 5, 0];

/** The six tensors of one sub-RNN group, row-major, in the documented layouts (see layout.ts). */
export interface EngineGroupParams {
  'lstm.w': ArrayLike<number>;
  'lstm.b': ArrayLike<number>;
  'fwd.w': ArrayLike<number>;
  'fwd.b': ArrayLike<number>;
  'bwd.w': ArrayLike<number>;
  'bwd.b': ArrayLike<number>;
  /** layer norm only */
  'fwdNorm.scale'?: ArrayLike<number>;
  'fwdNorm.offset'?: ArrayLike<number>;
  'bwdNorm.scale'?: ArrayLike<number>;
  'bwdNorm.offset'?: ArrayLike<number>;
}

const NORM_NAMES = ['fwdNorm.scale', 'fwdNorm.offset', 'bwdNorm.scale', 'bwdNorm.offset'] as const;

/** Expected sizes of the six tensors (H = 16, M = 8). */
export const GROUP_PARAM_SIZES: Readonly<Record<Exclude<keyof EngineGroupParams, (typeof NORM_NAMES)[number]>, number>> = {
  'lstm.w': (2 * ENGINE_M + ENGINE_H) * 4 * ENGINE_H,
  'lstm.b': 4 * ENGINE_H,
  'fwd.w': ENGINE_H * ENGINE_M,
  'fwd.b': ENGINE_M,
  'bwd.w': ENGINE_H * ENGINE_M,
  'bwd.b': ENGINE_M,
};

/** Writes the fused block of one group into `out` at float offset `at` (layer-norm params when `layerNorm`). */
export function fuseGroup(g: EngineGroupParams, out: Float32Array, at: number, where: string, layerNorm = false): void {
  for (const [name, size] of Object.entries(GROUP_PARAM_SIZES) as [keyof typeof GROUP_PARAM_SIZES, number][]) {
    const v = g[name];
    if (v === undefined || v === null || typeof v.length !== 'number') {
      throw new VsmlError('BAD_ARGUMENT', `${where}: parameter '${name}' is missing`);
    }
    if (v.length !== size) {
      throw new VsmlError('SHAPE_MISMATCH', `${where}: parameter '${name}' has ${v.length} entries, expected ${size}`);
    }
  }
  const H = ENGINE_H;
  const M = ENGINE_M;
  const G = 4 * H;
  const w = g['lstm.w'];
  const b = g['lstm.b'];
  for (let col = 0; col < G; col++) {
    const q = Math.floor(col / H);
    const sc = GATE_SCALE[q]!;
    for (let k = 0; k < H; k++) out[at + k * G + col] = w[(2 * M + k) * G + col]! * sc * 0.5;
    for (let s = 0; s < M; s++) {
      out[at + 1024 + s * G + col] = w[s * G + col]! * sc;
      out[at + 1536 + s * G + col] = w[(M + s) * G + col]! * sc;
    }
    out[at + 2048 + col] = (b[col]! + GATE_OFFSET[q]!) * sc;
  }
  const fw = g['fwd.w'];
  const bw = g['bwd.w'];
  for (let i = 0; i < H * M; i++) {
    out[at + 2112 + i] = fw[i]! * 0.5;
    out[at + 2248 + i] = bw[i]! * 0.5;
  }
  for (let j = 0; j < M; j++) {
    out[at + 2240 + j] = g['fwd.b'][j]!;
    out[at + 2376 + j] = g['bwd.b'][j]!;
  }
  if (layerNorm) {
    NORM_NAMES.forEach((name, i) => {
      const v = g[name];
      if (v === undefined || v === null || typeof v.length !== 'number') {
        throw new VsmlError('BAD_ARGUMENT', `${where}: parameter '${name}' is missing (layerNorm is on)`);
      }
      if (v.length !== M) throw new VsmlError('SHAPE_MISMATCH', `${where}: parameter '${name}' has ${v.length} entries, expected ${M}`);
      for (let j = 0; j < M; j++) out[at + 2384 + i * M + j] = v[j]!;
    });
  }
}
