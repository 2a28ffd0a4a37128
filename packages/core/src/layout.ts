/**
 * The V_M layout: parameter names, shapes, gate order and the order of the flat vector. This file is the
 * contract read by checkpoints, the flat vector of black-box optimisers (`@vsml/evolve`), trace files and tests.
 *
 * Symbols: H = `slowSize` (16), M = `msgSize` (8), K = 2M + H (32) = LSTM input incl. recurrent hidden.
 *
 * One sub-RNN parameter group (official `models.SubRNN`: `recurrent.CustomLSTM` + two messenger `Linear`s):
 *
 * | name             | shape      | meaning                                                              | init                    |
 * |------------------|------------|----------------------------------------------------------------------|-------------------------|
 * | `lstm.w`         | [K, 4H]    | rows: forward message (M), backward message (M), hidden h (H);        | trunc. normal σ=1/√K    |
 * |                  |            | columns: gates i, g, f, o (H each)                                   |                         |
 * | `lstm.b`         | [4H]       | gate bias, same column order (the ±5 offsets are constants, not here) | 0                       |
 * | `fwd.w`          | [H, M]     | forward messenger: `fwdOut = h·fwd.w + fwd.b`                         | trunc. normal σ=1/√H    |
 * | `fwd.b`          | [M]        |                                                                      | 0                       |
 * | `bwd.w`          | [H, M]     | backward messenger: `bwdOut = h·bwd.w + bwd.b`                        | trunc. normal σ=1/√H    |
 * | `bwd.b`          | [M]        |                                                                      | 0                       |
 * | `fwdNorm.scale`  | [M]        | layer norm of the forward message (only when `layerNorm`)            | 1                       |
 * | `fwdNorm.offset` | [M]        |                                                                      | 0                       |
 * | `bwdNorm.scale`  | [M]        | layer norm of the backward message (only when `layerNorm`)           | 1                       |
 * | `bwdNorm.offset` | [M]        |                                                                      | 0                       |
 *
 * Truncated normal = standard normal cut at ±2 times σ, **no** variance rescaling (Haiku semantics).
 *
 * Groups and prefixes: by default one group without prefix, shared by all layers and both tick directions.
 * `layerwiseRnns` gives one group per layer, prefixed `layers.<k>.`; `separateBackwardRnn` adds the group(s)
 * used by the reverse tick, prefixed `reverse.` (or `layers.<k>.reverse.`).
 *
 * Flat order (`flattenParams`): all forward groups (layer order), then all reverse groups; inside a group the
 * names in the table order; each tensor row-major. So the leading entries of a model with a separate backward RNN
 * are the vector of the same model without it.
 */
import type { ModelConfig } from './config.js';

/** Gate column order inside `lstm.w` / `lstm.b` (Haiku LSTM order). */
export const GATE_ORDER = ['i', 'g', 'f', 'o'] as const;
/** A gate name. */
export type Gate = (typeof GATE_ORDER)[number];
/** Constant pre-activation offsets of the custom LSTM (forget gate open, input gate closed). */
export const GATE_OFFSETS: Readonly<Record<Gate, number>> = { i: -5, g: 0, f: 5, o: 0 };
/** Layer-norm epsilon (Haiku default). */
export const LAYER_NORM_EPS = 1e-5;

/** Parameter names of one sub-RNN group, in flat order. */
export const RNN_PARAM_NAMES = [
  'lstm.w',
  'lstm.b',
  'fwd.w',
  'fwd.b',
  'bwd.w',
  'bwd.b',
  'fwdNorm.scale',
  'fwdNorm.offset',
  'bwdNorm.scale',
  'bwdNorm.offset',
] as const;
/** A parameter name without group prefix. */
export type RnnParamName = (typeof RNN_PARAM_NAMES)[number];

/** Tick direction a group serves. */
export type Direction = 'forward' | 'reverse';

/** One sub-RNN parameter group. */
export interface RnnGroup {
  /** prefix of its parameter names ('' for the shared forward group) */
  readonly prefix: string;
  /** the layer it belongs to, or null when shared by all layers */
  readonly layer: number | null;
  readonly direction: Direction;
}

/** One named parameter of V_M. */
export interface ParamSpec {
  /** full name, e.g. `lstm.w` or `layers.1.reverse.fwd.b` */
  readonly name: string;
  /** name inside its group */
  readonly base: RnnParamName;
  readonly group: RnnGroup;
  readonly shape: readonly number[];
  /** number of entries */
  readonly size: number;
  /** offset in the flat vector */
  readonly offset: number;
  /** initialiser: truncated normal with `std`, zeros or ones */
  readonly init: { readonly kind: 'truncatedNormal'; readonly std: number } | { readonly kind: 'zeros' } | { readonly kind: 'ones' };
}

/** The sub-RNN groups of a config, in flat order. */
export function rnnGroups(config: ModelConfig): RnnGroup[] {
  const layers: (number | null)[] = config.layerwiseRnns ? config.layers.map((_, k) => k) : [null];
  const groups: RnnGroup[] = [];
  for (const layer of layers) groups.push({ prefix: layer === null ? '' : `layers.${layer}.`, layer, direction: 'forward' });
  if (config.separateBackwardRnn) {
    for (const layer of layers) {
      groups.push({ prefix: layer === null ? 'reverse.' : `layers.${layer}.reverse.`, layer, direction: 'reverse' });
    }
  }
  return groups;
}

/** The group used by layer `layer` in a tick of direction `direction`. */
export function groupFor(config: ModelConfig, layer: number, direction: Direction): RnnGroup {
  const l = config.layerwiseRnns ? layer : null;
  const d: Direction = direction === 'reverse' && config.separateBackwardRnn ? 'reverse' : 'forward';
  const prefix = (l === null ? '' : `layers.${l}.`) + (d === 'reverse' ? 'reverse.' : '');
  return { prefix, layer: l, direction: d };
}

/** Shape and initialiser of one parameter of a group. */
function baseSpec(config: ModelConfig, base: RnnParamName): { shape: number[]; init: ParamSpec['init'] } {
  const H = config.slowSize;
  const M = config.msgSize;
  const K = 2 * M + H;
  switch (base) {
    case 'lstm.w':
      return { shape: [K, 4 * H], init: { kind: 'truncatedNormal', std: 1 / Math.sqrt(K) } };
    case 'lstm.b':
      return { shape: [4 * H], init: { kind: 'zeros' } };
    case 'fwd.w':
    case 'bwd.w':
      return { shape: [H, M], init: { kind: 'truncatedNormal', std: 1 / Math.sqrt(H) } };
    case 'fwd.b':
    case 'bwd.b':
    case 'fwdNorm.offset':
    case 'bwdNorm.offset':
      return { shape: [M], init: { kind: 'zeros' } };
    case 'fwdNorm.scale':
    case 'bwdNorm.scale':
      return { shape: [M], init: { kind: 'ones' } };
  }
}

/** The names of one group present for this config (layer-norm params only with `layerNorm`). */
export function groupParamNames(config: ModelConfig): RnnParamName[] {
  return RNN_PARAM_NAMES.filter((n) => config.layerNorm || !n.includes('Norm.'));
}

/** The full V_M layout of a config, in flat order. */
export function paramLayout(config: ModelConfig): ParamSpec[] {
  const specs: ParamSpec[] = [];
  let offset = 0;
  for (const group of rnnGroups(config)) {
    for (const base of groupParamNames(config)) {
      const { shape, init } = baseSpec(config, base);
      const size = shape.reduce((a, b) => a * b, 1);
      specs.push({ name: group.prefix + base, base, group, shape, size, offset, init });
      offset += size;
    }
  }
  return specs;
}

/** |V_M|: number of meta-parameters (2,384 for the default model, 2,416 with layer norm). */
export function countVM(config: ModelConfig): number {
  return paramLayout(config).reduce((a, s) => a + s.size, 0);
}

/**
 * |V_L|: number of learned variables of one episode, the LSTM states h and c of every sub-RNN,
 * `Σ_layers in·out·2H` (250,880 for MNIST 784→10). Incoming messages (activations) are not counted.
 */
export function countVL(config: ModelConfig): number {
  return config.layers.reduce((a, l) => a + l.in * l.out * 2 * config.slowSize, 0);
}
