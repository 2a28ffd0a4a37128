import { libraryConfig } from '../../tsup.library';

export default libraryConfig({ copy: ['metatest-worker.mjs'] });
