#!/usr/bin/env node
// Builds the forward engine's WebAssembly from assembly/engine.ts with AssemblyScript (a devDependency):
//   assembly/build/vsml-engine.simd.wasm     plain SIMD (f32x4 mul + add)
//   assembly/build/vsml-engine.relaxed.wasm  relaxed SIMD (f32x4.relaxed_madd = FMA where the CPU has it)
// assembly/build/ is gitignored. Skips the compile when the outputs are newer than the sources.
//
//   node scripts/build-wasm.mjs           build if stale
//   node scripts/build-wasm.mjs --force   always rebuild
//   node scripts/build-wasm.mjs --dist    also copy the .wasm files into dist/ (after tsup, which cleans dist/)
//   node scripts/build-wasm.mjs --wat     also write .wat text next to the .wasm (for reading the code)
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const asmDir = join(pkgDir, 'assembly');
const outDir = join(asmDir, 'build');
const args = new Set(process.argv.slice(2));

const VARIANTS = [
  { file: 'vsml-engine.simd.wasm', features: ['simd'] },
  { file: 'vsml-engine.relaxed.wasm', features: ['simd', 'relaxed-simd'] },
];

function newestInput() {
  let t = statSync(fileURLToPath(import.meta.url)).mtimeMs;
  try {
    // a different compiler version rebuilds too
    t = Math.max(t, statSync(fileURLToPath(import.meta.resolve('assemblyscript/package.json'))).mtimeMs);
  } catch {
    // not installed: build() reports it
  }
  for (const f of readdirSync(asmDir)) {
    if (f.endsWith('.ts')) t = Math.max(t, statSync(join(asmDir, f)).mtimeMs);
  }
  return t;
}

function stale() {
  const t = newestInput();
  return VARIANTS.some(({ file }) => {
    const p = join(outDir, file);
    return !existsSync(p) || statSync(p).mtimeMs < t;
  });
}

async function build() {
  let asc;
  try {
    asc = (await import('assemblyscript/asc')).default;
  } catch (e) {
    throw new Error(
      `build-wasm: cannot load the 'assemblyscript' devDependency (run 'pnpm install' in the workspace): ${e}`,
    );
  }
  mkdirSync(outDir, { recursive: true });
  for (const { file, features } of VARIANTS) {
    const out = join(outDir, file);
    // written under a temporary name and renamed: a concurrent reader never sees a partial file
    const tmp = `${out}.${process.pid}.tmp`;
    const argv = [
      join(asmDir, 'engine.ts'),
      '--outFile', tmp,
      '-O3', '--noAssert', '--runtime', 'stub',
      ...features.flatMap((f) => ['--enable', f]),
    ];
    if (args.has('--wat')) argv.push('--textFile', out.replace(/\.wasm$/, '.wat'));
    const { error, stderr } = await asc.main(argv, {});
    if (error) {
      rmSync(tmp, { force: true });
      throw new Error(`build-wasm: asc failed for ${file}:\n${stderr.toString()}\n${error.message}`);
    }
    renameSync(tmp, out);
  }
}

if (args.has('--force') || stale()) {
  const t0 = Date.now();
  await build();
  console.log(`build-wasm: built ${VARIANTS.map((v) => v.file).join(', ')} in ${Date.now() - t0} ms`);
}
if (args.has('--dist')) {
  const dist = join(pkgDir, 'dist');
  mkdirSync(dist, { recursive: true });
  for (const { file } of VARIANTS) copyFileSync(join(outDir, file), join(dist, file));
}
