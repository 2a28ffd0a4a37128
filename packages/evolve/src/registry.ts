/**
 * One registry of the strategies by name (the keys `apps/bench` parses `--strategy` against), and a loader that
 * restores any of them from its checkpoint.
 */
import type { CmaEsOptions } from './cmaes.js';
import { CMAES_CHECKPOINT_FORMAT, CmaEs } from './cmaes.js';
import { EvolveError } from './errors.js';
import type { OpenAiEsOptions } from './openai-es.js';
import { OPENAI_ES_CHECKPOINT_FORMAT, OpenAiEs } from './openai-es.js';

/** Strategy factories by name. */
export const strategies = {
  /** full-covariance CMA-ES (tutorial parameters, active weights); for n up to ~100 */
  cmaes: (options: CmaEsOptions): CmaEs => new CmaEs({ ...options, diagonal: false }),
  /** separable CMA-ES (pycma sep rates, CSA); the mode for V_M-sized problems */
  sepCmaes: (options: Omit<CmaEsOptions, 'diagonal'>): CmaEs => new CmaEs({ ...options, diagonal: true }),
  /** OpenAI-ES with antithetic pairs and Adam (defaults: the VSML setting) */
  openaiEs: (options: OpenAiEsOptions): OpenAiEs => new OpenAiEs(options),
} as const;

/** A key of {@link strategies}. */
export type StrategyName = keyof typeof strategies;

/** Restores a {@link CmaEs} or {@link OpenAiEs} from its `toJSON()` data (object or JSON text), by its `format`. */
export function strategyFromJSON(json: unknown): CmaEs | OpenAiEs {
  const obj: unknown = typeof json === 'string' ? safeParse(json) : json;
  const format = typeof obj === 'object' && obj !== null ? (obj as { format?: unknown }).format : undefined;
  if (format === CMAES_CHECKPOINT_FORMAT) return CmaEs.fromJSON(obj);
  if (format === OPENAI_ES_CHECKPOINT_FORMAT) return OpenAiEs.fromJSON(obj);
  throw new EvolveError(
    'INVALID_CHECKPOINT',
    `strategyFromJSON: unknown checkpoint format ${JSON.stringify(format)} (expected '${CMAES_CHECKPOINT_FORMAT}' or '${OPENAI_ES_CHECKPOINT_FORMAT}')`,
  );
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new EvolveError('INVALID_CHECKPOINT', 'strategyFromJSON: not valid JSON', { cause: e });
  }
}
