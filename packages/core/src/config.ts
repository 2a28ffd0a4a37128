/**
 * The model config: one strict zod schema whose defaults are those of the official code
 * (`configs/default.yaml` of louiskirsch/vsml-neurips2021; see design/vsml-method.md §2.6 and §5.1).
 * Every experiment config embeds it. Unknown keys are errors (reported with their key path).
 */
import { z } from 'zod';
import { VsmlError } from './errors.js';

const posInt = z.number().int().positive();

/** One dense VSML layer: `in` input neurons (axis A) × `out` output neurons (axis B) sub-RNNs. */
export const LayerSpecSchema = z.strictObject({
  /** fan-in I: number of input neurons (forward messages in) */
  in: posInt,
  /** fan-out O: number of output neurons (backward messages in) */
  out: posInt,
});

/** The VSML model config (strict; defaults = official code). */
export const ModelConfigSchema = z
  .strictObject({
    /** Stacked dense layers; `layers[k].out` must equal `layers[k+1].in`. Default one layer 784→10 (MNIST). */
    layers: z.array(LayerSpecSchema).min(1).default(() => [{ in: 784, out: 10 }]),
    /** LSTM hidden ("slow") size H of every sub-RNN (`slow_size`). */
    slowSize: posInt.default(16),
    /** Message size M (`msg_size`); at least 2 (slot 0 input/error, slot 1 label). */
    msgSize: z.number().int().min(2).default(8),
    /** LSTM steps per layer per tick, all with the same incoming messages (`num_micro_ticks`). */
    microTicks: posInt.default(2),
    /** Forward-message slot of the last layer read as the logit (`output_idx`, 0-based). */
    outputIdx: z.number().int().nonnegative().default(1),
    /** Soft output clip `b·tanh(y/b)` (`tanh_bound`); 0 or null switches it off. */
    tanhBound: z.number().nonnegative().nullable().default(100),
    /** Put the one-hot label of the previous step in backward-message slot 1 (`feed_label`). */
    feedLabel: z.boolean().default(false),
    /** After each forward tick run a reverse-order tick with the fresh error (`backward_pass`). */
    backwardPass: z.boolean().default(false),
    /** The reverse tick uses its own sub-RNN parameters (`separate_backward_rnn`; needs `backwardPass`). */
    separateBackwardRnn: z.boolean().default(false),
    /** Separate sub-RNN parameters per layer (`layerwise_rnns`); otherwise one V_M for all layers. */
    layerwiseRnns: z.boolean().default(false),
    /** Layer-normalise each sub-RNN's forward and backward message over its M entries (`layer_norm`). */
    layerNorm: z.boolean().default(false),
    /** Fraction of cell-state dims drawn at random in the initial state (`init_rand_proportion`). */
    initRandProportion: z.number().min(0).max(1).default(0.5),
    /**
     * Clip the LSTM state to [lo, hi] after every micro tick (workshop App. D used [-4, 4]); null = off. Both h and c
     * are clipped after the step (h = o·tanh(c) is computed from the unclipped c).
     */
    stateClip: z.tuple([z.number(), z.number()]).nullable().default(null),
    /** How messages of a layer's sub-RNNs are combined: `mean` (official code) or `sum` (workshop paper, Eq. 3). */
    aggregation: z.enum(['mean', 'sum']).default('mean'),
    /**
     * Inner batch > 1 only: before each forward tick, the first `floor(H·innerBatchMerge)` dims of h and c are
     * replaced by their mean over the inner batch (official `_merge_layer_states`: 0.5). 0 = no merging,
     * 1 = average the whole state (workshop App. D).
     */
    innerBatchMerge: z.number().min(0).max(1).default(0.5),
  })
  .superRefine((c, ctx) => {
    for (let k = 0; k + 1 < c.layers.length; k++) {
      const a = c.layers[k]!;
      const b = c.layers[k + 1]!;
      if (a.out !== b.in) {
        ctx.addIssue({
          code: 'custom',
          path: ['layers', k + 1, 'in'],
          message: `must equal layers[${k}].out = ${a.out} (layers are stacked), got ${b.in}`,
        });
      }
    }
    if (c.outputIdx >= c.msgSize) {
      ctx.addIssue({ code: 'custom', path: ['outputIdx'], message: `must be < msgSize = ${c.msgSize}, got ${c.outputIdx}` });
    }
    if (c.separateBackwardRnn && !c.backwardPass) {
      ctx.addIssue({
        code: 'custom',
        path: ['separateBackwardRnn'],
        message: 'needs backwardPass: true (the separate RNN only runs in the reverse tick)',
      });
    }
    if (c.stateClip && !(c.stateClip[0] < c.stateClip[1])) {
      ctx.addIssue({ code: 'custom', path: ['stateClip'], message: `needs lo < hi, got [${c.stateClip.join(', ')}]` });
    }
  });

/** A validated model config (all defaults filled in). */
export type ModelConfig = z.output<typeof ModelConfigSchema>;
/** What a user may write: every key optional. */
export type ModelConfigInput = z.input<typeof ModelConfigSchema>;
/** One dense layer `{in, out}`. */
export type LayerSpec = z.output<typeof LayerSpecSchema>;

/** Formats zod issues as `where.path[0].key: message` lines. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], where: string): string[] {
  return issues.map((i) => {
    let path = where;
    for (const p of i.path) path += typeof p === 'number' ? `[${p}]` : path === '' ? String(p) : `.${String(p)}`;
    if (i.code === 'unrecognized_keys') {
      const keys = (i as { keys: string[] }).keys;
      return keys.map((k) => `${path === '' ? k : `${path}.${k}`}: unknown key`).join('\n');
    }
    return `${path === '' ? '(root)' : path}: ${i.message}`;
  });
}

/**
 * Parses and validates a model config (unknown keys rejected), filling in the official defaults.
 * @param input anything (e.g. parsed JSON)
 * @param where name used in error messages for the root (default `model`)
 * @throws VsmlError `BAD_CONFIG` listing every problem with its key path, e.g. `model.layers[0].foo: unknown key`
 */
export function parseModelConfig(input: unknown, where = 'model'): ModelConfig {
  const r = ModelConfigSchema.safeParse(input ?? {});
  if (!r.success) {
    const lines = formatIssues(r.error.issues, where);
    throw new VsmlError('BAD_CONFIG', `invalid model config:\n  ${lines.join('\n  ')}`, { details: { issues: lines } });
  }
  return r.data;
}

/** The official default config (one dense layer 784→10), with optional overrides. */
export function defaultModelConfig(overrides: ModelConfigInput = {}): ModelConfig {
  return parseModelConfig(overrides);
}

/**
 * The same model on other layer sizes: `sizes = [in, hidden..., out]` gives `sizes.length − 1` stacked dense
 * layers. V_M does not depend on layer sizes, so parameters carry over (unless `layerwiseRnns`, where the number
 * of layers must stay the same).
 */
export function withLayerSizes(config: ModelConfig, sizes: readonly number[]): ModelConfig {
  if (sizes.length < 2) {
    throw new VsmlError('BAD_ARGUMENT', `withLayerSizes: need at least 2 sizes [in, ..., out], got [${sizes.join(',')}]`);
  }
  const layers: LayerSpec[] = [];
  for (let k = 0; k + 1 < sizes.length; k++) layers.push({ in: sizes[k]!, out: sizes[k + 1]! });
  if (config.layerwiseRnns && layers.length !== config.layers.length) {
    throw new VsmlError(
      'BAD_ARGUMENT',
      `withLayerSizes: layerwiseRnns has one V_M per layer; cannot change ${config.layers.length} layers into ${layers.length}`,
    );
  }
  return parseModelConfig({ ...config, layers });
}

/** Number of classes C (the last layer's `out`). */
export function numClasses(config: ModelConfig): number {
  return config.layers[config.layers.length - 1]!.out;
}

/** Input size D (the first layer's `in`). */
export function inputSize(config: ModelConfig): number {
  return config.layers[0]!.in;
}
