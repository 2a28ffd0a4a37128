/**
 * Trace replay: runs the model on a JSON trace and returns the logits, for checking numerics against independent
 * implementations (the `vsml trace` command prints the result).
 *
 * ```json
 * { "model": { "layers": [{"in": 4, "out": 3}], "slowSize": 16, ... },        every key optional (official defaults)
 *   "params": { "lstm.w": [[...]], "lstm.b": [...], "fwd.w": ..., ... },       names and shapes as in layout.ts
 *   "initialState": { "layers": [ { "c": [P][in][out][slow], "h": (optional, default 0) } ] },
 *   "inputs": [T][P][A],
 *   "labels": [T][P] }
 * ```
 * → `{ "logits": [T][P][B] }`. When `model.layers` is absent, the layer sizes are read from the shapes of
 * `initialState.layers[k].c`. Incoming messages start at 0; the error fed at step 0 is 0.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { formatIssues, parseModelConfig, type ModelConfig } from './config.js';
import { VsmlError, isVsmlError } from './errors.js';
import { runEpisode } from './episode.js';
import type { KernelName } from './kernels/dense-tick.js';
import { paramLayout } from './layout.js';
import type { ParamSet } from './params.js';
import { disposeState, stateFromArrays, type VlState } from './state.js';

const nested = z.array(z.unknown());

/** Shape check of the trace file (numbers are checked when the tensors are built). */
export const TraceSchema = z.strictObject({
  model: z.record(z.string(), z.unknown()).optional(),
  params: z.record(z.string(), z.union([nested, z.number()])),
  initialState: z.strictObject({
    layers: z.array(z.strictObject({ c: nested, h: nested.optional() })).min(1),
  }),
  inputs: z.array(z.array(z.array(z.number()))),
  labels: z.array(z.array(z.number().int().nonnegative())),
});

/** A trace file. */
export type Trace = z.infer<typeof TraceSchema>;

function traceError(msg: string, cause?: unknown): VsmlError {
  return new VsmlError('TRACE_INVALID', `trace: ${msg}`, cause === undefined ? undefined : { cause });
}

function dims(v: unknown, depth: number): number[] {
  const out: number[] = [];
  let cur: unknown = v;
  for (let k = 0; k < depth; k++) {
    if (!Array.isArray(cur) || cur.length === 0) return out;
    out.push(cur.length);
    cur = cur[0];
  }
  return out;
}

/** The model config of a trace (layers inferred from the initial state when absent). */
export function traceModelConfig(trace: Trace): ModelConfig {
  const model: Record<string, unknown> = { ...(trace.model ?? {}) };
  if (model['layers'] === undefined) {
    model['layers'] = trace.initialState.layers.map((l, k) => {
      const d = dims(l.c, 3);
      if (d.length < 3) throw traceError(`initialState.layers[${k}].c must be [P][in][out][slow]`);
      return { in: d[1], out: d[2] };
    });
  }
  try {
    return parseModelConfig(model, 'trace.model');
  } catch (e) {
    if (isVsmlError(e)) throw traceError(e.message.replace(/^invalid model config:/, 'invalid model:'), e);
    throw e;
  }
}

/**
 * Replays a trace (object or JSON text) on the current backend and returns the logits `[T][P][B]`.
 * @throws VsmlError `TRACE_INVALID` saying which field is wrong
 */
export async function replayTrace(input: unknown, opts: { kernel?: KernelName } = {}): Promise<{ logits: number[][][] }> {
  let json = input;
  if (typeof input === 'string') {
    try {
      json = JSON.parse(input);
    } catch (e) {
      throw traceError(`not valid JSON: ${e instanceof Error ? e.message : String(e)}`, e);
    }
  }
  const r = TraceSchema.safeParse(json);
  if (!r.success) throw traceError(`invalid file:\n  ${formatIssues(r.error.issues, '').join('\n  ')}`);
  const trace = r.data;
  const config = traceModelConfig(trace);
  const T = trace.inputs.length;
  const P = trace.inputs[0]?.length ?? 0;
  const A = config.layers[0]!.in;
  if (T === 0 || P === 0) throw traceError('inputs must be [T][P][A] with T, P ≥ 1');
  trace.inputs.forEach((row, t) => {
    if (row.length !== P) throw traceError(`inputs[${t}] has ${row.length} entries, expected P = ${P}`);
    row.forEach((x, p) => {
      if (x.length !== A) throw traceError(`inputs[${t}][${p}] has ${x.length} entries, expected A = ${A}`);
    });
  });
  if (trace.labels.length !== T || trace.labels.some((l) => l.length !== P)) throw traceError(`labels must be [T][P] = [${T}][${P}]`);
  const C = config.layers[config.layers.length - 1]!.out;
  const labels = trace.labels.flat();
  const badLabel = labels.find((l) => l >= C);
  if (badLabel !== undefined) throw traceError(`label ${badLabel} is not a class index in [0, ${C})`);

  const layout = paramLayout(config);
  const names = new Set(layout.map((s) => s.name));
  for (const n of Object.keys(trace.params)) if (!names.has(n)) throw traceError(`unknown parameter '${n}' (expected ${[...names].join(', ')})`);
  const params: ParamSet = {};
  let state: VlState | null = null;
  try {
    for (const spec of layout) {
      const v = trace.params[spec.name];
      if (v === undefined) throw traceError(`missing parameter '${spec.name}' [${spec.shape.join(',')}]`);
      let t: tf.Tensor;
      try {
        t = tf.tensor(v as number[], undefined, 'float32');
      } catch (e) {
        throw traceError(`parameter '${spec.name}' is not a numeric array: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, e);
      }
      params[spec.name] = t;
      if (t.rank !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
        throw traceError(`parameter '${spec.name}' has shape [${t.shape.join(',')}], expected [${spec.shape.join(',')}]`);
      }
    }
    try {
      state = stateFromArrays(
        config,
        trace.initialState.layers.map((l) => ({ c: l.c as tf.TensorLike, ...(l.h ? { h: l.h as tf.TensorLike } : {}) })),
        { population: P },
      );
    } catch (e) {
      if (isVsmlError(e)) throw traceError(e.message, e);
      throw e;
    }
    const inputs = new Float32Array(T * P * A);
    trace.inputs.forEach((row, t) => row.forEach((x, p) => inputs.set(x, (t * P + p) * A)));
    const res = runEpisode(params, config, { inputs, labels, steps: T, population: P }, { initialState: state, ...(opts.kernel ? { kernel: opts.kernel } : {}) });
    try {
      return { logits: (await res.logits.array()) as number[][][] };
    } finally {
      tf.dispose([res.logits, res.loss, res.correct]);
    }
  } finally {
    for (const t of Object.values(params)) t.dispose();
    if (state) disposeState(state);
  }
}
