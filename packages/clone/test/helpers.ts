/** Shared test helpers: backend, tiny models, random V_M that make every gate and message matter. */
import { tf, initBackend, initParamVector, paramLayout, type ModelConfig } from '@vsml/core';
import { Rng } from '@vsml/rng';

/** Uses the wasm backend for the test file (fast and deterministic). */
export function useBackend(): void {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });
}

/** A random flat V_M larger than the official init (weights N(0, 0.5²); gates opened against the ±5 offsets). */
export function randomVm(config: ModelConfig, seed: number): Float32Array {
  const v = initParamVector(config, seed);
  const rng = Rng.fromSeed(seed, 99);
  const H = config.slowSize;
  for (const s of paramLayout(config)) {
    for (let i = 0; i < s.size; i++) v[s.offset + i] = 0.5 * rng.normal();
    if (s.base === 'lstm.b') {
      for (let j = 0; j < H; j++) {
        v[s.offset + j] = v[s.offset + j]! + 4;
        v[s.offset + 2 * H + j] = v[s.offset + 2 * H + j]! - 3;
      }
    }
  }
  return v;
}

/** Largest absolute difference of two tensors or arrays. */
export function maxDiff(a: tf.Tensor | ArrayLike<number>, b: tf.Tensor | ArrayLike<number>): number {
  const x = a instanceof tf.Tensor ? a.dataSync() : a;
  const y = b instanceof tf.Tensor ? b.dataSync() : b;
  expect(x.length).toBe(y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}
