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
  // the worker-thread entry is plain ESM and ships as-is next to the bundles
  onSuccess: async () => copyFileSync('src/eval-worker.mjs', 'dist/eval-worker.mjs'),
});
