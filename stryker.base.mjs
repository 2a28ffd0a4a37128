// Shared StrykerJS settings for `pnpm mutation` (scripts/mutation.mjs): the jest runner on each package's own
// jest.config.cjs (tests import the TypeScript sources, so mutants need no build). In place: the sandbox copy of one
// package cannot reach the shared jest preset and pnpm's per-package node_modules; Stryker restores every file when
// it ends (also on Ctrl-C). Worker-thread tests load the built dist/ and so never see a mutant.
import { fileURLToPath } from 'node:url';

/** `pnpm mutation --tests <glob>`: only these test files (relative to the package) */
const tests = process.env['VSML_MUTATION_TESTS'];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  // resolved here (the repository root): under pnpm, Stryker cannot see the runner from its own location
  plugins: [fileURLToPath(import.meta.resolve('@stryker-mutator/jest-runner'))],
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.cjs',
    enableFindRelatedTests: false,
    ...(tests ? { config: { testMatch: tests.split(',').map((t) => `<rootDir>/${t}`) } } : {}),
  },
  coverageAnalysis: 'perTest',
  inPlace: true,
  concurrency: 1,
  timeoutMS: 60000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 80, low: 60, break: null },
};
