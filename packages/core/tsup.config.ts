import { libraryConfig } from '../../tsup.library';

// tfjs-core's gradients exist only as extension-less ES modules (`dist/register_all_gradients.js` and the files
// it imports), which Node cannot load: bundle them (as the `@tensorflow/tfjs` umbrella does). Everything else of
// tfjs stays external.
export default libraryConfig({ noExternal: [/^@tensorflow\/tfjs-core\/dist\//], copy: ['pool-worker.mjs'] });
