// The CLI's tests run as native ES modules: its report renderer uses vega / vega-lite, which ship ESM only and
// cannot be require()d inside jest's CommonJS module system on Node 20.
const base = require('../../jest.preset.cjs')(__dirname);

module.exports = {
  ...base,
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.tsx?$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
    ],
  },
};
