import { libraryConfig } from '../../tsup.library';

export default libraryConfig({ copy: ['es-worker.mjs'] });
