#!/usr/bin/env node
// Builds the meta-gradient kernels (assembly/grad.ts) with AssemblyScript (a devDependency) into
// assembly/build/vsml-grad.wasm (plain SIMD). Skips the compile when the output is newer than the sources.
//
//   node scripts/build-wasm.mjs           build if stale
//   node scripts/build-wasm.mjs --force   always rebuild
//   node scripts/build-wasm.mjs --dist    also copy the .wasm into dist/ (after tsup, which cleans dist/)
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(pkgDir, 'assembly', 'grad.ts');
const outDir = join(pkgDir, 'assembly', 'build');
const out = join(outDir, 'vsml-grad.wasm');
const args = new Set(process.argv.slice(2));

const stale = () =>
  !existsSync(out) || statSync(out).mtimeMs < Math.max(statSync(src).mtimeMs, statSync(fileURLToPath(import.meta.url)).mtimeMs);

if (args.has('--force') || stale()) {
  const asc = (await import('assemblyscript/asc')).default;
  mkdirSync(outDir, { recursive: true });
  const t0 = Date.now();
  const { error, stderr } = await asc.main([src, '--outFile', out, '-O3', '--noAssert', '--runtime', 'stub', '--enable', 'simd'], {});
  if (error) throw new Error(`build-wasm: asc failed:\n${stderr.toString()}\n${error.message}`);
  console.log(`build-wasm: built ${out} in ${Date.now() - t0} ms`);
}
if (args.has('--dist')) {
  mkdirSync(join(pkgDir, 'dist'), { recursive: true });
  copyFileSync(out, join(pkgDir, 'dist', 'vsml-grad.wasm'));
}
