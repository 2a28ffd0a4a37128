// Mutation testing of evolve's numerics (`pnpm mutation evolve`; see stryker.base.mjs).
import base from '../../stryker.base.mjs';

export default { ...base, mutate: ['src/optim.ts', 'src/strategies/openai-es.ts', 'src/strategies/cmaes.ts', 'src/strategies/covariance.ts', 'src/shaping.ts'] };
