/**
 * Presets are data files (`apps/bench/presets/<name>.json`): `quick` for this kind of 2-core machine, `paper` for
 * the paper's settings on a GPU backend. A preset is merged with `--config <file>` (deep merge, the file wins) and
 * validated; unknown keys and wrong types are errors that name the key path.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { MetaTestConfigSchema, OuterConfigSchema, TaskFamilyConfigSchema } from '@vsml/metatrain';

/** A learner a meta-test can run: `vsml` (a V_M checkpoint), `meta-rnn` (a Meta RNN checkpoint) or a baseline. */
export const LearnerNameSchema = z.string().regex(/^(vsml|meta-rnn|(adam|sgd)-(mlp|linear)(@[\d.e-]+)?)$/, {
  message: "expected vsml, meta-rnn, adam-mlp, adam-linear, sgd-mlp, sgd-linear (optionally @<lr>)",
});

const EstimatorSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('full-grad'),
    /** `wasm`: the fast meta-gradient engine; `tfjs`: tf.grad through core's episode runner */
    engine: z.enum(['wasm', 'tfjs']).default('wasm'),
    /** segment length for recomputation (tfjs engine) */
    segmentSteps: z.number().int().positive().default(25),
  }),
  z.strictObject({
    kind: z.literal('es'),
    pairs: z.number().int().positive(),
    sigma: z.number().positive().default(0.05),
    shaping: z.enum(['none', 'centeredRank']).default('none'),
    engine: z.enum(['wasm', 'tfjs']).default('wasm'),
    /** evaluate the population in worker threads */
    workers: z.boolean().default(false),
    threads: z.number().int().positive().default(2),
  }),
  z.strictObject({
    kind: z.literal('cma'),
    popSize: z.number().int().positive(),
    sigma0: z.number().positive().default(0.05),
    episodes: z.number().int().positive().default(1),
    engine: z.enum(['wasm', 'tfjs']).default('wasm'),
  }),
]);

export const MetatrainSectionSchema = z.strictObject({
  /** learner name in results */
  name: z.string().default('vsml-scratch'),
  /** model description: `{kind: 'vsml', config: {...core ModelConfig}}` or `{kind: 'meta-rnn', inputDim, numClasses, ...}` */
  model: z.record(z.string(), z.unknown()),
  estimator: EstimatorSchema,
  tasks: TaskFamilyConfigSchema,
  outer: OuterConfigSchema,
  /** meta-tests run periodically during training */
  metaTests: z.array(MetaTestConfigSchema).default([]),
});

/** One meta-test suite: learners × datasets on equally preprocessed streams. */
export const MetatestSuiteSchema = z.strictObject({
  name: z.string(),
  datasets: z.array(z.string()).min(1),
  preprocess: z.record(z.string(), z.unknown()).default({}),
  learners: z.array(LearnerNameSchema).min(1),
  steps: z.number().int().positive(),
  seeds: z.array(z.number().int().nonnegative()).min(5).default([1, 2, 3, 4, 5]),
  testEvery: z.number().int().positive().nullable().default(null),
  testCount: z.number().int().positive().default(1000),
  /** the Meta RNN has a fixed output size: pad the class count to this (null: the dataset's) */
  metaRnnPadClasses: z.number().int().positive().nullable().default(null),
});

export const MetatestSectionSchema = z.strictObject({ suites: z.array(MetatestSuiteSchema).min(1) });

/**
 * Cloning, its meta-test and improving: one of @vsml/clone's presets (`base`) with `overrides` merged over it (the
 * library validates the result: curriculum, model, emulation, `metatest`, `improve`), and named meta-test suites
 * (`vsml metatest --clone <vm> --suite <name>`), each a set of overrides of the preset's `metatest` spec.
 */
export const CloneSectionSchema = z.strictObject({
  base: z.enum(['quick', 'paper']).default('quick'),
  overrides: z.record(z.string(), z.unknown()).default({}),
  suites: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
});

export const PresetSchema = z.strictObject({
  description: z.string().default(''),
  metatrain: MetatrainSectionSchema.optional(),
  metarnn: MetatrainSectionSchema.optional(),
  metatest: MetatestSectionSchema.optional(),
  clone: CloneSectionSchema.optional(),
});
export type Preset = z.output<typeof PresetSchema>;
export type MetatrainSection = z.output<typeof MetatrainSectionSchema>;
export type MetatestSuite = z.output<typeof MetatestSuiteSchema>;

/** Where the preset data files live (next to dist/ in the package, or next to src/ in the repository). */
export function presetDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [path.resolve(here, '../presets'), path.resolve(here, '../../presets')]) {
    if (fs.existsSync(dir)) return dir;
  }
  throw new Error(`preset directory not found next to ${here}`);
}

export function presetNames(): string[] {
  return fs
    .readdirSync(presetDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Deep merge of plain objects; arrays and scalars of `over` replace those of `base`. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Validates a merged preset, turning the first problem into a message with its key path. */
export function parsePreset(raw: unknown, where: string): Preset {
  const r = PresetSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.slice(0, 5).map((i) => {
      const key = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
      return `  ${key || '(root)'}: ${i.message}`;
    });
    throw new Error(`invalid configuration (${where}):\n${lines.join('\n')}`);
  }
  return r.data;
}

/** Loads `--preset` (a shipped name, default `quick`, or a `.json` file) merged with `--config <file>`. */
export function loadPreset(opts: { preset?: string; config?: string }): { preset: Preset; raw: unknown; source: string } {
  const name = opts.preset ?? 'quick';
  // a name is a shipped preset; a path to a .json file is a preset of your own
  const isFile = name.endsWith('.json');
  const file = isFile ? name : path.join(presetDir(), `${name}.json`);
  if (!fs.existsSync(file)) {
    throw new Error(isFile ? `preset file ${name} not found` : `unknown preset '${name}' (available: ${presetNames().join(', ')}, or a path to a .json file)`);
  }
  let raw = readJsonFile(file, 'preset');
  let source = `preset ${name}`;
  if (opts.config) {
    raw = deepMerge(raw, readJsonFile(opts.config, 'config file'));
    source += ` + ${opts.config}`;
  }
  return { preset: parsePreset(raw, source), raw, source };
}
