// Mutation testing of core's engine and episode code (`pnpm mutation core`; see stryker.base.mjs).
import base from '../../stryker.base.mjs';

export default { ...base, mutate: ['src/engine/**/*.ts', 'src/episode.ts', 'src/state.ts'] };
