/**
 * V_M → the engine's fused parameter block (one per sub-RNN group), see assembly/engine.ts.
 *
 * Block layout (float32 offsets from {@link fusedLayout}), G = 4H gate columns in the stored order i, g, f, o:
 *
 * | offset | size    | content                                                                  |
 * |--------|---------|--------------------------------------------------------------------------|
 * | 0      | H × G   | `lstm.w` rows 2M..2M+H−1 (hidden) × gate scale × 1/2 (the state keeps 2h)  |
 * | wfm    | M × G   | `lstm.w` rows 0..M−1 (forward message) × gate scale                      |
 * | wbm    | M × G   | `lstm.w` rows M..2M−1 (backward message) × gate scale                    |
 * | bz     | G       | (`lstm.b` + gate offset) × gate scale                                    |
 * | wf, bf | H × M, M| `fwd.w` × 1/2, `fwd.b`                                                   |
 * | wb, bb | H × M, M| `bwd.w` × 1/2, `bwd.b`                                                   |
 * | ln     | 4 × M   | `fwdNorm.scale`, `fwdNorm.offset`, `bwdNorm.scale`, `bwdNorm.offset` (layer norm)   |
 *
 * For H = 16, M = 8: 0, 1024, 1536, 2048, 2112, 2240, 2248, 2376, 2384 (2,416 floats).
 * Gate scale 1/2 for i, f, o (sigmoid(z) = (1 + tanh(z/2)) / 2) and 1 for g; gate offsets −5 (i), +5 (f).
 */
import { VsmlError } from '../errors.js';

const GATE_SCALE = [0.5, 1, 0.5, 0.5]; // i, g, f, o
const GATE_OFFSET = [-5, 0, 5, 0];

/** Float offsets of the fused block of one group for slow size H and message size M (see the module comment). */
export interface FusedLayout {
  readonly H: number;
  readonly M: number;
  readonly wfm: number;
  readonly wbm: number;
  readonly bz: number;
  readonly wf: number;
  readonly bf: number;
  readonly wb: number;
  readonly bb: number;
  readonly ln: number;
  /** floats of one block, rounded up to 16 (64-byte aligned groups) */
  readonly floats: number;
  /** bytes of one block */
  readonly bytes: number;
}

/** The fused block layout for the kernel's slow size H (a multiple of 4) and message size M. */
export function fusedLayout(H: number, M: number): FusedLayout {
  const G = 4 * H;
  const wfm = H * G;
  const wbm = wfm + M * G;
  const bz = wbm + M * G;
  const wf = bz + G;
  const bf = wf + H * M;
  const wb = bf + M;
  const bb = wb + H * M;
  const ln = bb + M;
  const floats = Math.ceil((ln + 4 * M) / 16) * 16;
  return { H, M, wfm, wbm, bz, wf, bf, wb, bb, ln, floats, bytes: floats * 4 };
}

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

/** Expected sizes of the six tensors. */
function groupParamSizes(H: number, M: number): [Exclude<keyof EngineGroupParams, (typeof NORM_NAMES)[number]>, number][] {
  return [
    ['lstm.w', (2 * M + H) * 4 * H],
    ['lstm.b', 4 * H],
    ['fwd.w', H * M],
    ['fwd.b', M],
    ['bwd.w', H * M],
    ['bwd.b', M],
  ];
}

/**
 * Writes the fused block of one group into `out` at float offset `at` (layer-norm params when `layerNorm`).
 * `H` is the model's slow size; the block's `lay.H` may be larger (rounded up to a multiple of 4): the extra units
 * keep zero weights (`out` must be zero there).
 */
export function fuseGroup(g: EngineGroupParams, out: Float32Array, at: number, where: string, lay: FusedLayout, H: number, layerNorm = false): void {
  const M = lay.M;
  const Hk = lay.H;
  for (const [name, size] of groupParamSizes(H, M)) {
    const v = g[name];
    if (v === undefined || v === null || typeof v.length !== 'number') {
      throw new VsmlError('BAD_ARGUMENT', `${where}: parameter '${name}' is missing`);
    }
    if (v.length !== size) {
      throw new VsmlError('SHAPE_MISMATCH', `${where}: parameter '${name}' has ${v.length} entries, expected ${size}`);
    }
  }
  const G = 4 * H;
  const Gk = 4 * Hk;
  const w = g['lstm.w'];
  const b = g['lstm.b'];
  for (let col = 0; col < G; col++) {
    const q = Math.floor(col / H);
    const kc = q * Hk + (col - q * H); // the column in the kernel's [4][Hk] gate layout
    const sc = GATE_SCALE[q]!;
    for (let k = 0; k < H; k++) out[at + k * Gk + kc] = w[(2 * M + k) * G + col]! * sc * 0.5;
    for (let s = 0; s < M; s++) {
      out[at + lay.wfm + s * Gk + kc] = w[s * G + col]! * sc;
      out[at + lay.wbm + s * Gk + kc] = w[(M + s) * G + col]! * sc;
    }
    out[at + lay.bz + kc] = (b[col]! + GATE_OFFSET[q]!) * sc;
  }
  const fw = g['fwd.w'];
  const bw = g['bwd.w'];
  for (let i = 0; i < H * M; i++) {
    out[at + lay.wf + i] = fw[i]! * 0.5; // rows k < H of [Hk][M]: the same flat index
    out[at + lay.wb + i] = bw[i]! * 0.5;
  }
  for (let j = 0; j < M; j++) {
    out[at + lay.bf + j] = g['fwd.b'][j]!;
    out[at + lay.bb + j] = g['bwd.b'][j]!;
  }
  if (layerNorm) {
    NORM_NAMES.forEach((name, i) => {
      const v = g[name];
      if (v === undefined || v === null || typeof v.length !== 'number') {
        throw new VsmlError('BAD_ARGUMENT', `${where}: parameter '${name}' is missing (layerNorm is on)`);
      }
      if (v.length !== M) throw new VsmlError('SHAPE_MISMATCH', `${where}: parameter '${name}' has ${v.length} entries, expected ${M}`);
      for (let j = 0; j < M; j++) out[at + lay.ln + i * M + j] = v[j]!;
    });
  }
}
