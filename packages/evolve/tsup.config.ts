import { libraryConfig } from '../../tsup.library';

export default libraryConfig({ copy: ['eval-worker.mjs'] });
