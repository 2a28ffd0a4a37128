/** Shared test helpers: backend set-up, random parameters and data with our own generator. */
import { Rng } from '@vsml/rng';
import { tf, initBackend, paramLayout, type ModelConfig, type ParamSet, type BackendName } from '../../src/index.js';
import type { Named } from './reference.js';

/** Selects `name` for the test file (wasm by default: ~50× faster than cpu). */
export function useBackend(name: BackendName = 'wasm'): void {
  beforeAll(async () => {
    await initBackend({ backend: name });
  });
}

/**
 * Random V_M, larger than the official init so that every gate and message matters: weights N(0, 0.5²),
 * biases N(0, 0.5²) with +4 on the input-gate and −3 on the forget-gate columns (opens the gates against the
 * ±5 offsets), layer-norm scales around 1.
 */
export function randomNamed(config: ModelConfig, seed: number): Record<string, Float32Array> {
  const rng = Rng.fromSeed(seed, 77);
  const H = config.slowSize;
  const out: Record<string, Float32Array> = {};
  for (const s of paramLayout(config)) {
    const v = new Float32Array(s.size);
    rng.fillNormal(v, 0, 0.5);
    if (s.base === 'lstm.b') {
      for (let j = 0; j < H; j++) {
        v[j] = v[j]! + 4;
        v[2 * H + j] = v[2 * H + j]! - 3;
      }
    }
    if (s.base.endsWith('Norm.scale')) for (let j = 0; j < v.length; j++) v[j] = 1 + 0.3 * v[j]!;
    out[s.name] = v;
  }
  return out;
}

/** Tensors from named arrays (layout shapes; with `population`, arrays are [P, ...] member-major). */
export function toParamSet(config: ModelConfig, named: Record<string, Float32Array>, population?: number): ParamSet {
  const ps: ParamSet = {};
  for (const s of paramLayout(config)) ps[s.name] = tf.tensor(named[s.name]!, population === undefined ? [...s.shape] : [population, ...s.shape]);
  return ps;
}

/** P independent random parameter sets, stacked member-major, plus an accessor per member. */
export function randomStacked(config: ModelConfig, P: number, seed: number): { stacked: Record<string, Float32Array>; member: (p: number) => Named } {
  const sets = Array.from({ length: P }, (_, p) => randomNamed(config, seed + 1000 * p));
  const stacked: Record<string, Float32Array> = {};
  for (const s of paramLayout(config)) {
    const a = new Float32Array(P * s.size);
    sets.forEach((set, p) => a.set(set[s.name]!, p * s.size));
    stacked[s.name] = a;
  }
  return { stacked, member: (p) => sets[p]! };
}

/** Random initial cell states per layer, [E, I, O, H], N(0, 0.5²). */
export function randomCells(config: ModelConfig, E: number, seed: number): Float32Array[] {
  const rng = Rng.fromSeed(seed, 78);
  return config.layers.map((l) => rng.fillNormal(new Float32Array(E * l.in * l.out * config.slowSize), 0, 0.5));
}

/** Random inputs [T, E, D] ~ N(0,1) and labels [T, E]. */
export function randomData(config: ModelConfig, T: number, E: number, seed: number): { x: Float32Array; y: Int32Array } {
  const rng = Rng.fromSeed(seed, 79);
  const D = config.layers[0]!.in;
  const C = config.layers[config.layers.length - 1]!.out;
  const x = rng.fillNormal(new Float32Array(T * E * D));
  const y = new Int32Array(T * E);
  for (let i = 0; i < y.length; i++) y[i] = rng.int(0, C);
  return { x, y };
}

/** Largest absolute difference. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
