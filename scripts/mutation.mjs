#!/usr/bin/env node
// `pnpm mutation [package ...] [--tests <glob>] [stryker options, e.g. --mutate <file or glob>]`: StrykerJS (jest
// runner) on the numerics and training code, one package after the other (each package's stryker.config.mjs lists its
// files). Not part of `pnpm test`: a full run takes hours on 2 cores; narrow it, e.g.
// `pnpm mutation evolve --mutate src/optim.ts --tests 'test/{optim,openai-es}.test.ts'` (`--tests`: only these test
// files of the package, relative to it). Reports go to packages/<name>/reports/mutation/ (git-ignored).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ALL = ['evolve', 'core', 'clone', 'metatrain'];
const args = process.argv.slice(2);
const packages = [];
const extra = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--') continue;
  if (a === '--tests') {
    process.env['VSML_MUTATION_TESTS'] = args[++i];
    continue;
  }
  if (a.startsWith('-')) {
    extra.push(a);
    if (!a.includes('=') && i + 1 < args.length && !args[i + 1].startsWith('-')) extra.push(args[++i]);
  } else if (ALL.includes(a)) packages.push(a);
  else {
    console.error(`mutation: unknown package '${a}' (one of ${ALL.join(', ')})`);
    process.exit(2);
  }
}
const stryker = join(dirname(createRequire(import.meta.url).resolve('@stryker-mutator/core/package.json')), 'bin/stryker.js');
let failed = false;
for (const name of packages.length ? packages : ALL) {
  console.log(`\n== mutation testing @vsml/${name} ==`);
  const r = spawnSync(process.execPath, [stryker, 'run', 'stryker.config.mjs', ...extra], { cwd: join(root, 'packages', name), stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
