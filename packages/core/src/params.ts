/**
 * V_M parameter sets: initialisation (official Haiku inits), flattening to and from one Float32Array (the vector
 * black-box optimisers work on), validation against the layout, and per-population stacking.
 *
 * A `ParamSet` maps full names (see `layout.ts`) to tensors. Shared parameters have the layout shapes;
 * per-member parameters (P different V_M, e.g. for evolution strategies) have a leading dimension P on every tensor.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@vsml/rng';
import type { ModelConfig } from './config.js';
import { VsmlError, fmtShape } from './errors.js';
import { RNN_PARAM_NAMES, groupFor, paramLayout, type Direction, type ParamSpec, type RnnParamName } from './layout.js';

/** Named V_M tensors (shared: layout shapes; per member: a leading dimension P). Alias: MetaParams. */
export type ParamSet = Record<string, tf.Tensor>;
/** A float32 array with its shape (row-major). */
export interface NamedArray {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}
/** Named V_M values as plain typed arrays (no tensors, no backend needed). */
export type ParamValues = Record<string, NamedArray>;

/** The tensors of one sub-RNN group, by role. Layer-norm entries are present only with `layerNorm`. */
export interface RnnParams {
  /** `lstm.w` [2M+H, 4H] (or [P, 2M+H, 4H]) */
  readonly lstmW: tf.Tensor;
  /** `lstm.b` [4H] */
  readonly lstmB: tf.Tensor;
  /** `fwd.w` [H, M] */
  readonly fwdW: tf.Tensor;
  /** `fwd.b` [M] */
  readonly fwdB: tf.Tensor;
  /** `bwd.w` [H, M] */
  readonly bwdW: tf.Tensor;
  /** `bwd.b` [M] */
  readonly bwdB: tf.Tensor;
  readonly fwdNorm?: { readonly scale: tf.Tensor; readonly offset: tf.Tensor };
  readonly bwdNorm?: { readonly scale: tf.Tensor; readonly offset: tf.Tensor };
}

/** Fills the flat V_M vector with the official initialisation; parameter k draws from `Rng.fromSeed(seed, 0x564d, k)`. */
export function initParamVector(config: ModelConfig, seed: number): Float32Array {
  const layout = paramLayout(config);
  const total = layout.reduce((a, s) => a + s.size, 0);
  const out = new Float32Array(total);
  layout.forEach((spec, k) => {
    const view = out.subarray(spec.offset, spec.offset + spec.size);
    if (spec.init.kind === 'truncatedNormal') Rng.fromSeed(seed, 0x564d, k).fillTruncatedNormal(view, spec.init.std);
    else if (spec.init.kind === 'ones') view.fill(1);
  });
  return out;
}

/**
 * Initialises V_M as the official code: `lstm.w` and messenger weights truncated normal (±2σ, no rescaling) with
 * σ = 1/sqrt(fan-in), biases and layer-norm offsets 0, layer-norm scales 1. Same seed → same numbers.
 */
export function initParams(config: ModelConfig, seed: number): ParamSet {
  return unflattenParams(config, initParamVector(config, seed));
}

/** Layout spec by name. */
function specMap(config: ModelConfig): Map<string, ParamSpec> {
  return new Map(paramLayout(config).map((s) => [s.name, s]));
}

const NAME_RE = /^(?:layers\.(\d+)\.)?(reverse\.)?(.+)$/;

/** Sort key of a full parameter name in flat order (forward groups, then reverse; by layer; by role). */
function nameKey(name: string): [number, number, number] {
  const m = NAME_RE.exec(name);
  const base = m?.[3] ?? name;
  const idx = (RNN_PARAM_NAMES as readonly string[]).indexOf(base);
  return [m?.[2] ? 1 : 0, m?.[1] !== undefined ? Number(m[1]) : -1, idx < 0 ? 1e9 : idx];
}

/** Names in flat order. */
export function orderedParamNames(names: Iterable<string>): string[] {
  return [...names].sort((a, b) => {
    const ka = nameKey(a);
    const kb = nameKey(b);
    return ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2] || (a < b ? -1 : a > b ? 1 : 0);
  });
}

/**
 * Checks that `params` has exactly the layout's names with the layout shapes, either all shared or all with the
 * same leading population dimension.
 * @returns the population size of per-member parameters, or null for shared parameters
 * @throws VsmlError `SHAPE_MISMATCH` naming the parameter
 */
export function checkParams(params: ParamSet, config: ModelConfig, where = 'params'): number | null {
  const specs = specMap(config);
  for (const name of Object.keys(params)) {
    if (!specs.has(name)) {
      throw new VsmlError('SHAPE_MISMATCH', `${where}: unknown parameter '${name}' for this model config (expected ${[...specs.keys()].join(', ')})`);
    }
  }
  let population: number | null | undefined;
  for (const spec of specs.values()) {
    const t = params[spec.name];
    if (!t) throw new VsmlError('SHAPE_MISMATCH', `${where}: missing parameter '${spec.name}' ${fmtShape(spec.shape)}`);
    const shape = t.shape;
    let p: number | null;
    if (shape.length === spec.shape.length && shape.every((d, i) => d === spec.shape[i])) p = null;
    else if (shape.length === spec.shape.length + 1 && shape.slice(1).every((d, i) => d === spec.shape[i])) p = shape[0]!;
    else {
      throw new VsmlError(
        'SHAPE_MISMATCH',
        `${where}: parameter '${spec.name}' has shape ${fmtShape(shape)}, expected ${fmtShape(spec.shape)} or [P,${spec.shape.join(',')}]`,
      );
    }
    if (population === undefined) population = p;
    else if (population !== p) {
      throw new VsmlError(
        'SHAPE_MISMATCH',
        `${where}: parameter '${spec.name}' ${fmtShape(shape)} disagrees with the others (all shared, or all with the same leading P = ${population})`,
      );
    }
  }
  return population ?? null;
}

/**
 * Flattens V_M into one Float32Array in layout order (see `layout.ts`). Per-member parameters give the P vectors
 * one after the other (`[P·|V_M|]`, member-major). Reads tensor data synchronously (not for hot loops).
 * @param config when given, the parameters are validated against its layout
 */
export function flattenParams(params: ParamSet, config?: ModelConfig): Float32Array {
  const names = orderedParamNames(Object.keys(params));
  const population = config ? checkParams(params, config) : null;
  let P = population ?? 1;
  if (!config) {
    // infer stacking from the first tensor: lstm.b is rank 1 when shared
    const b = names.find((n) => n.endsWith('lstm.b'));
    if (b && params[b]!.rank === 2) P = params[b]!.shape[0]!;
  }
  const parts = names.map((n) => params[n]!.dataSync() as Float32Array);
  const per = parts.reduce((a, p) => a + p.length / P, 0);
  const out = new Float32Array(per * P);
  for (let m = 0; m < P; m++) {
    let o = m * per;
    for (const part of parts) {
      const size = part.length / P;
      out.set(part.subarray(m * size, (m + 1) * size), o);
      o += size;
    }
  }
  return out;
}

/**
 * Builds named tensors from a flat vector in layout order.
 * - `Float32Array` of length |V_M| (shared) or P·|V_M| with `opts.population = P` (per member, member-major);
 * - `tf.Tensor` `[|V_M|]` or `[P, |V_M|]`: differentiable (slices and reshapes), for gradients through the vector.
 * @throws VsmlError `SHAPE_MISMATCH` when the length does not fit the layout
 */
export function unflattenParams(config: ModelConfig, flat: Float32Array | tf.Tensor, opts: { population?: number } = {}): ParamSet {
  const layout = paramLayout(config);
  const n = layout.reduce((a, s) => a + s.size, 0);
  if (flat instanceof tf.Tensor) {
    const P = flat.rank === 2 ? flat.shape[0]! : null;
    const len = flat.shape[flat.rank - 1]!;
    if ((flat.rank !== 1 && flat.rank !== 2) || len !== n) {
      throw new VsmlError('SHAPE_MISMATCH', `unflattenParams: tensor of shape ${fmtShape(flat.shape)}, expected [${n}] or [P,${n}]`);
    }
    return tf.tidy(() => {
      const out: ParamSet = {};
      for (const s of layout) {
        out[s.name] =
          P === null
            ? tf.reshape(tf.slice(flat, [s.offset], [s.size]), [...s.shape])
            : tf.reshape(tf.slice(flat, [0, s.offset], [P, s.size]), [P, ...s.shape]);
      }
      return out;
    });
  }
  const P = opts.population;
  const expected = P === undefined ? n : P * n;
  if (flat.length !== expected) {
    throw new VsmlError(
      'SHAPE_MISMATCH',
      `unflattenParams: vector of length ${flat.length}, expected ${expected} (|V_M| = ${n}${P === undefined ? '' : ` × P = ${P}`})`,
    );
  }
  const out: ParamSet = {};
  for (const s of layout) {
    if (P === undefined) {
      out[s.name] = tf.tensor(flat.slice(s.offset, s.offset + s.size), [...s.shape], 'float32');
    } else {
      const buf = new Float32Array(P * s.size);
      for (let m = 0; m < P; m++) buf.set(flat.subarray(m * n + s.offset, m * n + s.offset + s.size), m * s.size);
      out[s.name] = tf.tensor(buf, [P, ...s.shape], 'float32');
    }
  }
  return out;
}

/** Stacks several shared parameter sets into one per-member set (leading dimension P = `sets.length`). */
export function stackParams(sets: readonly ParamSet[]): ParamSet {
  if (sets.length === 0) throw new VsmlError('BAD_ARGUMENT', 'stackParams: need at least one parameter set');
  const names = Object.keys(sets[0]!);
  return tf.tidy(() => {
    const out: ParamSet = {};
    for (const n of names) {
      out[n] = tf.stack(
        sets.map((s, i) => {
          const t = s[n];
          if (!t) throw new VsmlError('SHAPE_MISMATCH', `stackParams: set ${i} lacks parameter '${n}'`);
          return t;
        }),
      );
    }
    return out;
  });
}

/** Reads tensors into plain typed arrays (synchronous; not for hot loops). */
export function paramValues(params: ParamSet): ParamValues {
  const out: ParamValues = {};
  for (const n of orderedParamNames(Object.keys(params))) {
    const t = params[n]!;
    out[n] = { shape: [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) };
  }
  return out;
}

/** Tensors from plain typed arrays. */
export function paramsFromValues(values: ParamValues): ParamSet {
  const out: ParamSet = {};
  for (const n of orderedParamNames(Object.keys(values))) {
    const v = values[n]!;
    out[n] = tf.tensor(v.data, [...v.shape], 'float32');
  }
  return out;
}

/** Disposes every tensor of a parameter set. */
export function disposeParams(params: ParamSet): void {
  for (const t of Object.values(params)) t.dispose();
}

/** The tensors of the sub-RNN group used by `layer` in a tick of `direction` (see `groupFor`). */
export function rnnParams(params: ParamSet, config: ModelConfig, layer: number, direction: Direction): RnnParams {
  const { prefix } = groupFor(config, layer, direction);
  const get = (base: RnnParamName): tf.Tensor => {
    const t = params[prefix + base];
    if (!t) throw new VsmlError('SHAPE_MISMATCH', `params: missing parameter '${prefix + base}'`);
    return t;
  };
  const base = {
    lstmW: get('lstm.w'),
    lstmB: get('lstm.b'),
    fwdW: get('fwd.w'),
    fwdB: get('fwd.b'),
    bwdW: get('bwd.w'),
    bwdB: get('bwd.b'),
  };
  if (!config.layerNorm) return base;
  return {
    ...base,
    fwdNorm: { scale: get('fwdNorm.scale'), offset: get('fwdNorm.offset') },
    bwdNorm: { scale: get('bwdNorm.scale'), offset: get('bwdNorm.offset') },
  };
}
