/**
 * The clone's step on core's forward engine (WebAssembly SIMD, typed arrays, no tfjs): the engine options that make
 * `createForwardEngine` compute {@link cloneStep} of loop.ts (merging before every forward tick, zero backward
 * messages in forward ticks = CHANGE 1, per-row error `errorScale·(softmax − onehot)` = CHANGE 2). The tick, the
 * error injection and the merge rule live in core's engine; this file only chooses its options.
 */
import { createForwardEngine, type ForwardEngine, type ModelConfig } from '@vsml/core';
import { CloneError } from './errors.js';

/** Where the clone's steps run: `wasm` (core's forward engine, default) or `tfjs` (`cloneStep`, the reference, GPU). */
export type CloneEngine = 'wasm' | 'tfjs';

/** Checks a {@link CloneEngine} value (e.g. from a command line). @throws CloneError BAD_ARGUMENT */
export function parseCloneEngine(v: unknown, where: string): CloneEngine {
  if (v === undefined) return 'wasm';
  if (v !== 'wasm' && v !== 'tfjs') throw new CloneError('BAD_ARGUMENT', `${where}: engine must be 'wasm' or 'tfjs', got '${String(v)}'`);
  return v;
}

function clonePopulation(config: ModelConfig, population: number, innerBatch: number, errorScale: number, perMemberParams: boolean, where: string): ForwardEngine {
  if (!config.backwardPass) throw new CloneError('BAD_ARGUMENT', `${where}: the clone step needs backwardPass`);
  return createForwardEngine({ ...config, population, innerBatch, perMemberParams, zeroStaleBackward: true, perRowError: true, errorScale });
}

/**
 * Core's forward engine set up to run {@link cloneStep} (one learner, inner batch B): merging before every forward
 * tick, zero backward messages in forward ticks (CHANGE 1), error `errorScale·(softmax − onehot)` per row (CHANGE 2).
 * The state is core's `initState` (seed `stateSeed`). Use `runEpisode(x [T,B,D], y [T,B])` for steps and
 * `predict(x)` for {@link predictLogits}.
 * @throws CloneError BAD_ARGUMENT without `backwardPass`
 */
export function createCloneEngine(config: ModelConfig, vm: Float32Array, innerBatch: number, errorScale: number, stateSeed: number): ForwardEngine {
  const e = clonePopulation(config, 1, innerBatch, errorScale, false, 'createCloneEngine');
  e.setParamsFlat(vm);
  e.initState(stateSeed);
  return e;
}

/**
 * Core's forward engine for P learners running the clone's step side by side, each with its own V_M
 * (`perMemberParams`; set them with `setPopulationParamsFlat`) and its own B rows (merged per member). Rows are
 * member-major: `runEpisode(x [T, P, B, D], y [T, P, B])`. Members never interact, so a member's numbers do not
 * depend on P or on the other members.
 * @throws CloneError BAD_ARGUMENT without `backwardPass`
 */
export function createClonePopulationEngine(config: ModelConfig, population: number, innerBatch: number, errorScale: number): ForwardEngine {
  return clonePopulation(config, population, innerBatch, errorScale, true, 'createClonePopulationEngine');
}

/**
 * Bytes of engine memory one member of {@link createClonePopulationEngine} needs for its B rows (LSTM states and
 * incoming messages of every layer; the kernel's state stride rounds H up to a multiple of 4).
 */
export function cloneMemberBytes(config: ModelConfig, innerBatch: number): number {
  const H = Math.ceil(config.slowSize / 4) * 4;
  const M = config.msgSize;
  return innerBatch * config.layers.reduce((a, l) => a + 4 * (2 * l.in * l.out * H + l.in * M + l.out * M), 0);
}
