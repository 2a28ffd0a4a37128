import { copyFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  platform: 'node',
  target: 'node20',
  shims: true,
  clean: true,
  sourcemap: true,
  // the worker-thread entry of WorkerEvaluator is plain ESM and ships next to the bundles
  onSuccess: async () => copyFileSync('src/es-worker.mjs', 'dist/es-worker.mjs'),
});
