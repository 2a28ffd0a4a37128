// Mutation testing of the cloning losses, curriculum, Adam and improve (`pnpm mutation clone`; see stryker.base.mjs).
import base from '../../stryker.base.mjs';

export default { ...base, mutate: ['src/adam.ts', 'src/subrnn.ts', 'src/network.ts', 'src/curriculum.ts', 'src/improve.ts'] };
