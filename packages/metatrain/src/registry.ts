/**
 * Rebuilding a model from its JSON description (`MetaModel.describe()`): used by worker threads and when resuming
 * or meta-testing from a checkpoint.
 */
import { metaRnnModel } from './baselines/meta-rnn.js';
import { MetatrainError } from './errors.js';
import type { MetaModel } from './model.js';
import { vsmlModel } from './vsml.js';

/** A model from `describe()` output. */
export function modelFromDescription(desc: Record<string, unknown>): MetaModel {
  if (desc['kind'] === 'vsml') {
    return vsmlModel({ config: desc['config'] as never, stopErrorGradient: Boolean(desc['stopErrorGradient']) });
  }
  if (desc['kind'] === 'meta-rnn') {
    const n = (k: string): number => desc[k] as number;
    return metaRnnModel({ inputDim: n('inputDim'), numClasses: n('numClasses'), hidden: n('hidden'), microTicks: n('microTicks'), tanhBound: n('tanhBound') });
  }
  throw new MetatrainError('BAD_CONFIG', `unknown model kind ${JSON.stringify(desc['kind'])} (expected 'vsml' or 'meta-rnn')`);
}
