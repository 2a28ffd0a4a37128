/**
 * Training checkpoints of the outer loop.
 *
 * VSML runs use `@vsml/core`'s format (`saveCheckpoint`, kind `train`): V_M as named parameters plus, in
 * `optimizer`, this package's training state `{format: 'vsml-metatrain/train', model, tasks, estimatorName,
 * outer: {type, m, v, t}, estimator, elapsedSeconds, recentLosses}`, the outer generator state in `rng` and the step. A `vm`
 * checkpoint for meta-testing is written next to it by {@link saveVmCheckpoint}.
 *
 * Core's format validates parameters against the VSML layout, so it cannot hold the Meta RNN's weights. Models of
 * other kinds are written in a JSON file of the same shape with `format: 'vsml-metatrain-checkpoint'` and the
 * flat θ as base64 (`theta`), atomically (temporary file, fsync, rename).
 * (Core change that would remove this: accept `kind: 'train'` checkpoints with a free-form flat parameter vector.)
 */
import { promises as fs } from 'node:fs';
import { base64ToFloat32, float32ToBase64, loadCheckpoint, paramLayout, reviveTyped, saveCheckpoint, writeTypedJsonAtomic, type ModelConfig, type Provenance } from '@vsml/core';
import type { RngState } from '@vsml/rng';
import { MetatrainError } from './errors.js';
import type { MetaModel, MetaParams } from './model.js';
import { vsmlParamValues } from './vsml.js';

/** Format tag of the training state stored in `optimizer`. */
export const TRAIN_STATE_FORMAT = 'vsml-metatrain/train';
/** Format of the package's own checkpoint files (non-VSML models). */
export const METATRAIN_CHECKPOINT_FORMAT = 'vsml-metatrain-checkpoint';

/** Everything the outer loop needs to continue identically. */
export interface TrainState {
  readonly model: Record<string, unknown>;
  readonly tasks: unknown;
  readonly estimatorName: string;
  readonly outer: { readonly type: string; readonly m: Float64Array; readonly v: Float64Array; readonly t: number };
  readonly estimator: unknown;
  readonly elapsedSeconds: number;
  /** the last (up to 50) meta-losses, from which the metrics' `lossAvg` continues (absent in older checkpoints) */
  readonly recentLosses?: readonly number[];
}

/** A training checkpoint in memory. */
export interface TrainCheckpoint {
  readonly theta: MetaParams;
  readonly step: number;
  readonly rng: RngState;
  readonly state: TrainState;
  readonly provenance: Provenance;
}

function isVsml(model: MetaModel): model is MetaModel & { config: ModelConfig } {
  return model.kind === 'vsml' && 'config' in model;
}

/** Writes a training checkpoint (see module comment). */
export async function saveTrainCheckpoint(file: string, model: MetaModel, ck: TrainCheckpoint): Promise<void> {
  const optimizer = { format: TRAIN_STATE_FORMAT, ...ck.state };
  if (isVsml(model)) {
    await saveCheckpoint(file, {
      kind: 'train',
      model: model.config,
      params: vsmlParamValues(model.config, ck.theta),
      optimizer,
      rng: ck.rng,
      step: ck.step,
      provenance: ck.provenance,
    });
    return;
  }
  const json = {
    format: METATRAIN_CHECKPOINT_FORMAT,
    version: 1,
    kind: 'train',
    model: model.describe(),
    theta: float32ToBase64(ck.theta),
    optimizer,
    rng: ck.rng,
    step: ck.step,
    provenance: { ...ck.provenance, createdAt: ck.provenance.createdAt ?? new Date().toISOString() },
  };
  await writeTypedJsonAtomic(file, json);
}

/** Writes a `vm` checkpoint (V_M only, for meta-testing) of a VSML model. */
export async function saveVmCheckpoint(file: string, model: MetaModel, theta: MetaParams, step: number, provenance: Provenance): Promise<void> {
  if (isVsml(model)) {
    await saveCheckpoint(file, { kind: 'vm', model: model.config, params: vsmlParamValues(model.config, theta), step, provenance });
    return;
  }
  const json = { format: METATRAIN_CHECKPOINT_FORMAT, version: 1, kind: 'vm', model: model.describe(), theta: float32ToBase64(theta), step, provenance };
  await writeTypedJsonAtomic(file, json);
}

/** Reads a checkpoint written by {@link saveTrainCheckpoint} (either format). */
export async function loadTrainCheckpoint(file: string, model: MetaModel): Promise<TrainCheckpoint> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new MetatrainError('RESUME_MISMATCH', `cannot read checkpoint ${file}: ${(e as Error).message}`, { cause: e });
  }
  const head = JSON.parse(text) as Record<string, unknown>;
  if (head['format'] === METATRAIN_CHECKPOINT_FORMAT) {
    const theta = base64ToFloat32(String(head['theta']));
    if (theta === null || theta.length !== model.size) {
      throw new MetatrainError('RESUME_MISMATCH', `${file}: θ has ${theta?.length} entries, the model ${model.size}`);
    }
    const optimizer = reviveTyped(head['optimizer']) as TrainState & { format: string };
    return { theta, step: Number(head['step']), rng: head['rng'] as RngState, state: optimizer, provenance: head['provenance'] as Provenance };
  }
  if (!isVsml(model)) throw new MetatrainError('RESUME_MISMATCH', `${file}: a VSML checkpoint cannot resume a '${model.kind}' model`);
  const ck = await loadCheckpoint(file, { kind: 'train' });
  const theta = new Float32Array(model.size);
  for (const spec of paramLayout(model.config)) {
    const v = ck.params[spec.name];
    if (!v) throw new MetatrainError('RESUME_MISMATCH', `${file}: missing parameter ${spec.name}`);
    theta.set(v.data, spec.offset);
  }
  const state = ck.optimizer as (TrainState & { format?: string }) | null;
  if (!state || state.format !== TRAIN_STATE_FORMAT) {
    throw new MetatrainError('RESUME_MISMATCH', `${file}: not a @vsml/metatrain training checkpoint (optimizer.format ${JSON.stringify(state?.format)})`);
  }
  return { theta, step: ck.step ?? 0, rng: ck.rng!, state, provenance: ck.provenance };
}

/** θ from a checkpoint of the package's own format (kind `vm` or `train`), for non-VSML models. */
export async function loadMetatrainTheta(file: string): Promise<{ model: Record<string, unknown>; theta: MetaParams; step: number }> {
  const head = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  if (head['format'] !== METATRAIN_CHECKPOINT_FORMAT) throw new MetatrainError('BAD_ARGUMENT', `${file}: not a ${METATRAIN_CHECKPOINT_FORMAT} file`);
  const theta = base64ToFloat32(String(head['theta']));
  if (theta === null) throw new MetatrainError('BAD_ARGUMENT', `${file}: undecodable θ`);
  return { model: head['model'] as Record<string, unknown>, theta, step: Number(head['step'] ?? 0) };
}
