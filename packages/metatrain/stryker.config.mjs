// Mutation testing of the outer optimiser, the outer loop and the estimators (`pnpm mutation metatrain`; see
// stryker.base.mjs).
import base from '../../stryker.base.mjs';

export default { ...base, mutate: ['src/optim.ts', 'src/outer.ts', 'src/estimators/es.ts', 'src/estimators/full-grad.ts', 'src/estimators/fast-grad.ts'] };
