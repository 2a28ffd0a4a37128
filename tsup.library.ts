/**
 * The one tsup setup of every library package: dual ESM + CJS with type declarations, Node 20, tfjs kept external.
 * A package's `tsup.config.ts` only states what differs (files copied next to the bundles).
 */
import { copyFileSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';

export function libraryConfig(opts: { copy?: string[]; noExternal?: (string | RegExp)[] } = {}) {
  const options: Options = {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    platform: 'node',
    target: 'node20',
    shims: true,
    clean: true,
    sourcemap: true,
  };
  if (opts.noExternal?.length) options.noExternal = opts.noExternal;
  // plain-ESM worker entries ship as they are, next to the bundles
  if (opts.copy?.length) options.onSuccess = async () => opts.copy!.forEach((f) => copyFileSync(`src/${f}`, `dist/${f}`));
  return defineConfig(options);
}
