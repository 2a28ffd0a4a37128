/**
 * Checkpoints: one self-describing JSON file per checkpoint, written atomically (temporary file in the same
 * directory, fsync, rename).
 *
 * ```json
 * { "format": "vsml-checkpoint", "version": 1, "kind": "vm" | "train",
 *   "model": { ...ModelConfig },
 *   "params": { "lstm.w": { "shape": [32, 64], "dtype": "float32", "encoding": "base64", "data": "..." },
 *               "lstm.b": { "shape": [64], "dtype": "float32", "encoding": "array", "data": [0, ...] }, ... },
 *   "optimizer": null | { ...plain JSON },  "rng": null | RngState,  "step": 0,
 *   "provenance": { "command": "...", "seed": 1, "commit": "abc123", "createdAt": "2026-...", ... } }
 * ```
 * `kind: 'vm'` holds what meta-testing, cloning and improving need (V_M and its config); `kind: 'train'` also
 * the optimiser / strategy state, the generator state and the step. Base64 data is little-endian float32.
 * Typed arrays anywhere in `optimizer` are stored as `{"$typed": "float32"|"float64"|"int32", "data": base64}`
 * and come back as typed arrays.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { RngState } from '@vsml/rng';
import { z } from 'zod';
import { ModelConfigSchema, formatIssues, parseModelConfig, type ModelConfig } from './config.js';
import { VsmlError, fmtShape, isVsmlError } from './errors.js';
import { paramLayout } from './layout.js';
import { orderedParamNames, paramValues, type NamedArray, type ParamSet, type ParamValues } from './params.js';

/** The `format` field of every checkpoint file. */
export const CHECKPOINT_FORMAT = 'vsml-checkpoint';
/** The checkpoint format version this package writes and reads. */
export const CHECKPOINT_VERSION = 1;

/** `vm`: V_M and config only; `train`: also optimiser state, generator state and step. */
export type CheckpointKind = 'vm' | 'train';

/** How a checkpoint was made. */
export interface Provenance {
  /** the command line or function that wrote it */
  readonly command: string;
  readonly seed?: number | null;
  /** source commit (git) of the code that wrote it */
  readonly commit?: string | null;
  /** ISO time; filled in by `saveCheckpoint` when absent */
  readonly createdAt?: string;
  readonly [key: string]: unknown;
}

/** A checkpoint in memory. */
export interface Checkpoint {
  readonly kind: CheckpointKind;
  readonly model: ModelConfig;
  /** V_M by name (layout shapes) */
  readonly params: ParamValues;
  /** optimiser / strategy state, plain JSON (typed arrays allowed) */
  readonly optimizer?: unknown;
  /** generator state (`rng.state()`) */
  readonly rng?: RngState | null;
  readonly step?: number;
  readonly provenance: Provenance;
}

/** What `saveCheckpoint` accepts: params as tensors or values. */
export type CheckpointInput = Omit<Checkpoint, 'params'> & { readonly params: ParamSet | ParamValues };

/** Options of {@link saveCheckpoint}. */
export interface SaveCheckpointOptions {
  /** `base64` (default, compact and exact) or `array` (readable JSON numbers, exact for float32 values) */
  readonly encoding?: 'base64' | 'array';
}

const ParamEntrySchema = z.strictObject({
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.literal('float32'),
  encoding: z.enum(['base64', 'array']),
  data: z.union([z.string(), z.array(z.number())]),
});

const FileSchema = z.strictObject({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.number().int(),
  kind: z.enum(['vm', 'train']),
  model: z.unknown(),
  params: z.record(z.string(), z.unknown()),
  optimizer: z.unknown().optional(),
  rng: z
    .strictObject({ kind: z.literal('xoroshiro128plus'), words: z.array(z.number().int()).length(4), spare: z.number().nullable() })
    .nullable()
    .optional(),
  step: z.number().int().nonnegative().optional(),
  provenance: z.looseObject({
    command: z.string(),
    seed: z.number().nullable().optional(),
    commit: z.string().nullable().optional(),
    createdAt: z.string(),
  }),
});

function isParamValues(p: ParamSet | ParamValues): p is ParamValues {
  const first = Object.values(p)[0];
  return first !== undefined && !(first instanceof tf.Tensor);
}

/** Float32Array → base64 (little-endian). */
export function float32ToBase64(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** base64 (little-endian) → Float32Array; null when the byte length is not a multiple of 4. */
export function base64ToFloat32(s: string): Float32Array | null {
  const buf = Buffer.from(s, 'base64');
  if (buf.byteLength % 4 !== 0) return null;
  const out = new Float32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

const TYPED_TAG = '$typed';

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Float32Array || value instanceof Float64Array || value instanceof Int32Array) {
    const kind = value instanceof Float32Array ? 'float32' : value instanceof Float64Array ? 'float64' : 'int32';
    return { [TYPED_TAG]: kind, data: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  }
  return value;
}

/** Turns the `{$typed, data}` objects written by {@link writeTypedJsonAtomic} back into typed arrays (deeply). */
export function reviveTyped(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reviveTyped);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const tag = o[TYPED_TAG];
    if (typeof tag === 'string' && typeof o['data'] === 'string' && Object.keys(o).length === 2) {
      const buf = Buffer.from(o['data'], 'base64');
      const Ctor = tag === 'float64' ? Float64Array : tag === 'int32' ? Int32Array : tag === 'float32' ? Float32Array : null;
      if (Ctor && buf.byteLength % Ctor.BYTES_PER_ELEMENT === 0) {
        const out = new Ctor(buf.byteLength / Ctor.BYTES_PER_ELEMENT);
        new Uint8Array(out.buffer).set(buf);
        return out;
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = reviveTyped(v);
    return out;
  }
  return value;
}

/** The JSON object of a checkpoint (what `saveCheckpoint` writes, before stringifying). */
export function encodeCheckpoint(ckpt: CheckpointInput, opts: SaveCheckpointOptions = {}): Record<string, unknown> {
  const model = parseModelConfig(ckpt.model, 'checkpoint.model');
  const values = isParamValues(ckpt.params) ? ckpt.params : paramValues(ckpt.params);
  const params: Record<string, unknown> = {};
  const encoding = opts.encoding ?? 'base64';
  for (const name of orderedParamNames(Object.keys(values))) {
    const v = values[name]!;
    params[name] = {
      shape: [...v.shape],
      dtype: 'float32',
      encoding,
      data: encoding === 'base64' ? float32ToBase64(v.data) : Array.from(v.data),
    };
  }
  // validate before writing anything
  decodeParams(model, params, 'checkpoint');
  return {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    kind: ckpt.kind,
    model,
    params,
    optimizer: ckpt.optimizer ?? null,
    rng: ckpt.rng ?? null,
    step: ckpt.step ?? 0,
    provenance: { ...ckpt.provenance, createdAt: ckpt.provenance.createdAt ?? new Date().toISOString() },
  };
}

function decodeParams(model: ModelConfig, raw: Record<string, unknown>, where: string): ParamValues {
  const layout = paramLayout(model);
  const names = new Set(layout.map((s) => s.name));
  for (const name of Object.keys(raw)) {
    if (!names.has(name)) {
      throw new VsmlError('CHECKPOINT_PARAMS', `${where}: unknown parameter '${name}' for its model config (expected ${[...names].join(', ')})`);
    }
  }
  const out: ParamValues = {};
  for (const spec of layout) {
    const entry = raw[spec.name];
    if (entry === undefined) throw new VsmlError('CHECKPOINT_PARAMS', `${where}: missing parameter '${spec.name}' ${fmtShape(spec.shape)}`);
    const r = ParamEntrySchema.safeParse(entry);
    if (!r.success) {
      throw new VsmlError('CHECKPOINT_PARAMS', `${where}: parameter '${spec.name}' is malformed: ${formatIssues(r.error.issues, `params['${spec.name}']`).join('; ')}`);
    }
    const e = r.data;
    if (e.shape.length !== spec.shape.length || e.shape.some((d, i) => d !== spec.shape[i])) {
      throw new VsmlError('CHECKPOINT_PARAMS', `${where}: parameter '${spec.name}' has shape ${fmtShape(e.shape)}, expected ${fmtShape(spec.shape)}`);
    }
    let data: Float32Array | null;
    if (e.encoding === 'base64') data = typeof e.data === 'string' ? base64ToFloat32(e.data) : null;
    else data = Array.isArray(e.data) ? Float32Array.from(e.data) : null;
    if (data === null || data.length !== spec.size) {
      throw new VsmlError(
        'CHECKPOINT_PARAMS',
        `${where}: parameter '${spec.name}' has ${data === null ? 'undecodable' : `${data.length} values of`} data, expected ${spec.size} (${e.encoding})`,
      );
    }
    out[spec.name] = { shape: [...spec.shape], data } satisfies NamedArray;
  }
  return out;
}

/**
 * Validates a parsed checkpoint object.
 * @param where file name for messages
 * @param expectKind reject a checkpoint of another kind
 */
export function decodeCheckpoint(json: unknown, where = 'checkpoint', expectKind?: CheckpointKind): Checkpoint {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new VsmlError('CHECKPOINT_INVALID', `${where}: not a checkpoint (expected a JSON object)`);
  }
  const o = json as Record<string, unknown>;
  if (o['format'] !== CHECKPOINT_FORMAT) {
    throw new VsmlError('CHECKPOINT_INVALID', `${where}: not a VSML checkpoint (format ${JSON.stringify(o['format'])}, expected '${CHECKPOINT_FORMAT}')`);
  }
  if (o['version'] !== CHECKPOINT_VERSION) {
    throw new VsmlError(
      'CHECKPOINT_VERSION',
      `${where}: checkpoint format version ${JSON.stringify(o['version'])} is not supported (this @vsml/core reads version ${CHECKPOINT_VERSION})`,
      { details: { version: o['version'] } },
    );
  }
  const r = FileSchema.safeParse(json);
  if (!r.success) {
    const lines = formatIssues(r.error.issues, '');
    throw new VsmlError('CHECKPOINT_INVALID', `${where}: invalid checkpoint:\n  ${lines.join('\n  ')}`, { details: { issues: lines } });
  }
  const f = r.data;
  if (expectKind && f.kind !== expectKind) {
    throw new VsmlError('CHECKPOINT_KIND', `${where}: expected a '${expectKind}' checkpoint, found '${f.kind}'`, { details: { expected: expectKind, found: f.kind } });
  }
  const m = ModelConfigSchema.safeParse(f.model);
  if (!m.success) {
    const lines = formatIssues(m.error.issues, 'model');
    throw new VsmlError('CHECKPOINT_INVALID', `${where}: invalid model config:\n  ${lines.join('\n  ')}`, { details: { issues: lines } });
  }
  const params = decodeParams(m.data, f.params, where);
  return {
    kind: f.kind,
    model: m.data,
    params,
    optimizer: f.optimizer === undefined || f.optimizer === null ? null : reviveTyped(f.optimizer),
    rng: (f.rng ?? null) as RngState | null,
    step: f.step ?? 0,
    provenance: f.provenance as Provenance,
  };
}

let tmpCounter = 0;
/** writes per file name in this process (for the kill-test hook) */
const writesByName = new Map<string, number>();

/**
 * Test hook (for the kill tests of apps/bench; not for users): with `VSML_TEST_KILL_IN_WRITE=<name>:<n>` in the
 * environment, the n-th atomic write (1-based, counted in this process) to a file named `<name>` kills the process with
 * SIGKILL after the temporary file is written and flushed and before the rename, i.e. a `kill -9` in the middle of
 * a checkpoint write. The previous file stays in place; a stale temporary file is left behind.
 */
function killInWriteHook(file: string): void {
  const spec = globalThis.process?.env?.['VSML_TEST_KILL_IN_WRITE'];
  if (!spec) return;
  const name = path.basename(file);
  const n = (writesByName.get(name) ?? 0) + 1;
  writesByName.set(name, n);
  const i = spec.lastIndexOf(':');
  if (spec.slice(0, i) === name && Number(spec.slice(i + 1)) === n) process.kill(process.pid, 'SIGKILL');
}

/**
 * Writes a checkpoint atomically: the JSON goes to a temporary file next to `file`, is flushed to disk, then
 * renamed over `file` (readers never see a partial file). Creates the directory if needed.
 * @throws VsmlError `CHECKPOINT_PARAMS` for parameters that do not fit the config, `CHECKPOINT_IO` on write errors
 */
export async function saveCheckpoint(file: string, ckpt: CheckpointInput, opts: SaveCheckpointOptions = {}): Promise<void> {
  const json = encodeCheckpoint(ckpt, opts);
  try {
    await writeTypedJsonAtomic(file, json);
  } catch (e) {
    throw new VsmlError('CHECKPOINT_IO', `cannot write checkpoint ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/**
 * Writes `value` as JSON atomically (temporary file next to `file`, fsync, rename; the directory is created), with
 * Float32/Float64/Int32 arrays stored as base64 `{$typed, data}` objects ({@link reviveTyped} reads them back).
 */
export async function writeTypedJsonAtomic(file: string, value: unknown): Promise<void> {
  const text = JSON.stringify(value, replacer);
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.${tmpCounter++}.tmp`);
  try {
    await fs.mkdir(dir, { recursive: true });
    const fh = await fs.open(tmp, 'w');
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    killInWriteHook(file);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}

/**
 * Reads and validates a checkpoint file.
 * @param opts.kind expected kind (`vm` or `train`); a different kind is rejected with `CHECKPOINT_KIND`
 * @throws VsmlError `CHECKPOINT_INVALID` (unreadable, truncated, not a checkpoint, bad config),
 *   `CHECKPOINT_VERSION`, `CHECKPOINT_KIND`, `CHECKPOINT_PARAMS` (missing, unknown or mis-shaped parameter)
 */
export async function loadCheckpoint(file: string, opts: { kind?: CheckpointKind } = {}): Promise<Checkpoint> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new VsmlError('CHECKPOINT_INVALID', `cannot read checkpoint ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new VsmlError('CHECKPOINT_INVALID', `${file}: not valid JSON (truncated or corrupt file?): ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
  try {
    return decodeCheckpoint(json, file, opts.kind);
  } catch (e) {
    if (isVsmlError(e)) throw e;
    throw new VsmlError('CHECKPOINT_INVALID', `${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
