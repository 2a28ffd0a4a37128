/**
 * V_M of a clone as a flat Float32Array (layout order of `@vsml/core`) and its checkpoints (core format, kind `vm`).
 */
import {
  disposeParams,
  flattenParams,
  paramValues,
  paramsFromValues,
  unflattenParams,
  type Checkpoint,
  type CheckpointInput,
  type ModelConfig,
  type Provenance,
} from '@vsml/core';
import { CloneError } from './errors.js';

/** The flat V_M of a checkpoint (any kind), validated against `config` (default: the checkpoint's own model). */
export function vmFromCheckpoint(ckpt: Pick<Checkpoint, 'params' | 'model'>, config: ModelConfig = ckpt.model): Float32Array {
  const ps = paramsFromValues(ckpt.params);
  try {
    return flattenParams(ps, config);
  } catch (e) {
    throw new CloneError('CHECKPOINT_MISMATCH', `V_M of the checkpoint does not fit the model: ${(e as Error).message}`, { cause: e });
  } finally {
    disposeParams(ps);
  }
}

/** A `vm` checkpoint (for `saveCheckpoint` of `@vsml/core`) holding the flat V_M with its model config. */
export function vmCheckpoint(vm: Float32Array, config: ModelConfig, provenance: Provenance): CheckpointInput {
  const ps = unflattenParams(config, vm);
  try {
    return { kind: 'vm', model: config, params: paramValues(ps), provenance };
  } finally {
    disposeParams(ps);
  }
}
