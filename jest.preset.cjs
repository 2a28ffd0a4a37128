// Shared jest settings: tests run against TypeScript sources (no build needed),
// transformed by @swc/jest to CommonJS; `@vsml/*` resolves to each package's src.
const path = require('node:path');

// @vsml/core imports tfjs-core's gradient and chained-op registrations (extension-less ES modules that the build
// bundles into dist/). CommonJS jest cannot load them: map both to the `@tensorflow/tfjs` umbrella, which registers
// the same (core's devDependency only; npm users never install it).
const tfjsUmbrella = require.resolve('@tensorflow/tfjs', { paths: [path.join(__dirname, 'packages/core')] });

/** @param {string} dir the package directory (pass __dirname) */
module.exports = function preset(dir) {
  return {
    rootDir: dir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    transform: {
      '^.+\\.tsx?$': [
        '@swc/jest',
        { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
      ],
    },
    moduleNameMapper: {
      '^@tensorflow/tfjs-core/dist/(register_all_gradients|public/chained_ops/register_all_chained_ops)(\\.js)?$': tfjsUmbrella,
      '^@vsml/(rng|core|datasets|evolve|clone|metatrain)$': path.join(__dirname, 'packages/$1/src/index.ts'),
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
    testTimeout: 120000,
  };
};
