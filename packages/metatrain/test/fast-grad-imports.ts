export { parseModelConfig as parseModelConfigForTest } from '@vsml/core';
export { TaskFamily, segmentedValueAndGrad, vsmlModel, createFastGradEngine, fastGradUnsupported } from '../src/index.js';
export { metaRnnModel, createMetaRnnGradEngine } from '../src/index.js';
