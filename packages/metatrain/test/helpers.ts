// Shared test helpers: a tiny VSML model config and tiny MNIST-derived tasks (2×2 inputs, 2–3 classes).
import { initBackend } from '@vsml/core';
import type { TaskFamilyConfigInput } from '../src/index.js';

/** Selects a tfjs backend once per test file. */
export function useBackend(name: 'cpu' | 'wasm' = 'cpu'): void {
  beforeAll(async () => {
    await initBackend({ backend: name });
  });
}

/** A small VSML config (V_M of the real size would also work; smaller H/M keeps the tests fast). */
export const TINY_VSML = { layers: [{ in: 4, out: 2 }], slowSize: 4, msgSize: 3 };

/** Tiny tasks: MNIST train, 2×2 inputs, 2–3 classes. */
export function tinyTasks(over: Partial<TaskFamilyConfigInput> = {}): TaskFamilyConfigInput {
  return {
    sources: [{ dataset: 'mnist', split: 'train', preprocess: { resize: [2, 2] } }],
    minClasses: 2,
    maxClasses: 3,
    length: 8,
    episodes: 3,
    seed: 7,
    ...over,
  };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
