#!/usr/bin/env node
/**
 * The packages as an npm user gets them (issue 21). Needs built packages (`pnpm build`; `pnpm test:pack` builds
 * first). Steps:
 *  1. `pnpm -r pack` every package into a temporary folder outside the workspace; check each tarball's files
 *     (no workspace: ranges, no dev scripts/sources/tests, README + CHANGELOG + LICENSE, `sideEffects` paths exist)
 *     and that @vsml/core declares tfjs-node(-gpu) only as optional peers.
 *  2. `npm install` @vsml/core (+ @vsml/rng) alone into a fresh folder: its size, and no installed package has an
 *     install script (nothing downloads; no tfjs-node*).
 *  3. `npm install` every tarball into another fresh folder and use it: the `vsml` bin through npm's link and
 *     through `npx`; per library a CommonJS script, an ES module script and a strict `tsc --noEmit` (strict,
 *     module/moduleResolution nodenext, no skipLibCheck) of a .cts and a .mts consumer.
 * Prints one line per check and ends with `pack test: PASS` or `pack test: FAIL`; the exit code follows.
 * Options: --keep (keep the temporary folder), --dir <path> (use this folder; it must not exist or be empty).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const keep = args.includes('--keep');
const dirArg = args.includes('--dir') ? args[args.indexOf('--dir') + 1] : undefined;
const started = Date.now();

/** The library packages (every one ships ESM + CJS + types) and the CLI app. */
const LIBS = ['rng', 'datasets', 'evolve', 'core', 'clone', 'metatrain'];
const APP = 'bench';

let failures = 0;
let passes = 0;
function check(ok, what, detail = '') {
  if (ok) passes++;
  else failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ` — ${detail}` : ''}`);
  return ok;
}
function section(title) {
  console.log(`\n## ${title} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/** Environment for npm/npx/node children: without the npm_* variables pnpm sets for its scripts. */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD' && k !== 'PNPM_SCRIPT_SRC_DIR') env[k] = v;
  return { ...env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false', ...extra };
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: cleanEnv(opts.env), cwd: opts.cwd, timeout: opts.timeout ?? 600_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
const tail = (s, n = 15) => s.trim().split('\n').slice(-n).join('\n');

/** pnpm: the one running this script (pnpm test:pack), else `pnpm` on the PATH, else the pinned one through npx. */
function pnpm(argv, cwd) {
  const exec = process.env.npm_execpath;
  if (exec && /pnpm/.test(path.basename(exec))) return run(process.execPath, [exec, ...argv], { cwd });
  const direct = run('pnpm', ['--version'], { cwd });
  if (direct.status === 0 && direct.stdout.trim() === '10.34.9') return run('pnpm', argv, { cwd });
  return run('npx', ['-y', 'pnpm@10.34.9', ...argv], { cwd });
}

function duMB(dir) {
  const r = run('du', ['-sm', dir]);
  return r.status === 0 ? Number(r.stdout.split(/\s/)[0]) : NaN;
}

function listTar(tgz) {
  const r = run('tar', ['tzf', tgz]);
  return r.stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
}
function readTarJson(tgz, file) {
  const r = run('tar', ['xzOf', tgz, `package/${file}`]);
  return JSON.parse(r.stdout);
}

/** Every package directory under node_modules (scoped ones included, nested ones too). */
function installedPackages(nodeModules) {
  const out = [];
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.')) continue;
      const p = path.join(dir, name);
      if (name.startsWith('@')) {
        for (const sub of readdirSync(p)) visit(path.join(p, sub));
      } else visit(p);
    }
  };
  const visit = (p) => {
    const pj = path.join(p, 'package.json');
    if (existsSync(pj)) {
      try {
        out.push({ dir: p, json: JSON.parse(readFileSync(pj, 'utf8')) });
      } catch {
        // not a package
      }
    }
    walk(path.join(p, 'node_modules'));
  };
  walk(nodeModules);
  return out;
}

const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'];
function installScripts(pkg) {
  const s = pkg.json.scripts ?? {};
  const found = INSTALL_SCRIPTS.filter((k) => typeof s[k] === 'string');
  // npm runs `node-gyp rebuild` for a package with a binding.gyp and no install script of its own
  if (!found.length && existsSync(path.join(pkg.dir, 'binding.gyp'))) found.push('install (binding.gyp)');
  return found;
}

function npmInstall(dir, specs, what) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ name: `vsml-pack-test-${path.basename(dir)}`, private: true }, null, 2)}\n`);
  const t0 = Date.now();
  const r = run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...specs], { cwd: dir });
  const secs = (Date.now() - t0) / 1000;
  check(r.status === 0, `npm install ${what}`, r.status === 0 ? `${secs.toFixed(1)} s` : tail(r.out));
  return r.status === 0;
}

// --- the smoke scripts: one body, CommonJS and ESM headers ---
const SMOKE = {
  rng: {
    names: ['Rng'],
    body: `
const a = Rng.fromSeed(42, 1), b = Rng.fromState(JSON.parse(JSON.stringify(a.state())));
const xs = [a.float(), a.normal(), a.int(0, 10)], ys = [b.float(), b.normal(), b.int(0, 10)];
if (JSON.stringify(xs) !== JSON.stringify(ys)) throw new Error('state round trip differs');
if (Rng.fromSeed(1).permutation(5).length !== 5) throw new Error('permutation');`,
  },
  datasets: {
    names: ['loadDataset', 'evaluationSet', 'DatasetError'],
    body: `
const test = evaluationSet(loadDataset('mnist', { split: 'test' }), { resize: [7, 7] }, { count: 10 });
if (test.x.length !== 490 || test.y.length !== 10) throw new Error('evaluationSet sizes ' + test.x.length + ' ' + test.y.length);`,
  },
  evolve: {
    names: ['CmaEs'],
    body: `
const sphere = (x) => x.reduce((s, v) => s + v * v, 0);
const es = new CmaEs({ x0: new Float64Array(4).fill(1), sigma0: 0.5, seed: 1 });
for (let g = 0; g < 30; g++) { const xs = es.ask(); es.tell(xs, xs.map(sphere)); }
if (!(es.best.f < 0.1)) throw new Error('CMA-ES did not improve: ' + es.best.f);`,
  },
  core: {
    names: ['initBackend', 'defaultModelConfig', 'countVM', 'countVL', 'initParams', 'runEpisode', 'episodeLoss', 'paramValueAndGrads', 'tf'],
    // the README example: an episode and its meta-gradient (needs the gradients core registers); the loss is the
    // one the @tensorflow/tfjs umbrella build gave (1.3851312 on cpu and wasm)
    body: `
const info = await initBackend();
if (!['tensorflow', 'wasm', 'cpu'].includes(info.name)) throw new Error('backend ' + info.name);
const config = defaultModelConfig({ layers: [{ in: 16, out: 4 }] });
if (countVM(config) !== 2384 || countVL(config) !== 2048) throw new Error('sizes ' + countVM(config) + ' ' + countVL(config));
const g = tf.grad((x) => tf.tanh(x).mul(x).sum())(tf.tensor1d([0.5, -1, 2]));
const d = Array.from(g.dataSync());
if (Math.abs(d[0] - 0.855341) > 1e-4) throw new Error('gradient ' + d);
const { Rng } = require_or_import_rng;
const params = initParams(config, 42);
const T = 50, P = 8, rng = Rng.fromSeed(0);
const inputs = rng.fillNormal(new Float32Array(T * P * 16));
const labels = new Int32Array(T * P).map(() => rng.int(0, 4));
const data = { inputs, labels, steps: T, population: P };
const { value, grads } = paramValueAndGrads(params, (p) => episodeLoss(p, config, data, { seed: 1 }));
const loss = value.dataSync()[0], gw = tf.norm(grads['lstm.w']).dataSync()[0];
if (Math.abs(loss - 1.3851312) > 1e-4 || !(gw > 0)) throw new Error('meta-gradient: loss ' + loss + ', |grad lstm.w| ' + gw);
console.log('backend', info.name, 'loss', loss);`,
  },
  clone: {
    names: ['parseClonePreset', 'QUICK_PRESET', 'CloneError'],
    body: `
const preset = parseClonePreset(QUICK_PRESET);
if (!preset || typeof preset !== 'object' || !preset.model) throw new Error('preset');`,
  },
  metatrain: {
    names: ['vsmlModel', 'TaskFamily', 'MetatrainError'],
    body: `
const model = vsmlModel({ config: {} });
if (!model || typeof model.learner !== 'function') throw new Error('vsmlModel');
if (typeof TaskFamily !== 'function') throw new Error('TaskFamily');`,
  },
};

/** Typed consumers (strict, nodenext, no skipLibCheck): the README calls with their types. */
const TYPED = {
  rng: `import { Rng, type RngState } from '@vsml/rng';
const s: RngState = Rng.fromSeed(1).state();
export const x: number = Rng.fromState(s).normal();`,
  datasets: `import { loadDataset, evaluationSet } from '@vsml/datasets';
const test = evaluationSet(loadDataset('mnist', { split: 'test' }), { resize: [7, 7] }, { count: 10 });
export const n: number = test.y.length;`,
  evolve: `import { CmaEs } from '@vsml/evolve';
const es = new CmaEs({ x0: new Float64Array(4).fill(1), sigma0: 0.5, seed: 1 });
const xs = es.ask();
es.tell(xs, xs.map((x) => x.reduce((s, v) => s + v * v, 0)));
export const f: number | undefined = es.best?.f;`,
  core: `import { initBackend, defaultModelConfig, countVM, tf, type BackendInfo } from '@vsml/core';
export const info: Promise<BackendInfo> = initBackend();
export const vm: number = countVM(defaultModelConfig({ layers: [{ in: 16, out: 4 }] }));
const t: tf.Tensor = tf.tensor1d([1, 2]).mul(2).sum();
export const v: number = t.dataSync()[0] ?? 0;`,
  clone: `import { parseClonePreset, QUICK_PRESET } from '@vsml/clone';
export const preset = parseClonePreset(QUICK_PRESET);`,
  metatrain: `import { vsmlModel } from '@vsml/metatrain';
export const model = vsmlModel({ config: {} });`,
};

function writeSmoke(dir, lib) {
  const { names, body } = SMOKE[lib];
  const cjsBody = body.replace('require_or_import_rng', "require('@vsml/rng')");
  const esmBody = body.replace('require_or_import_rng', "await import('@vsml/rng')");
  const cjs = `const { ${names.join(', ')} } = require('@vsml/${lib}');\n(async () => {${cjsBody}\nconsole.log('ok @vsml/${lib} cjs');\n})().catch((e) => { console.error(e); process.exit(1); });\n`;
  const esm = `import { ${names.join(', ')} } from '@vsml/${lib}';\n${esmBody}\nconsole.log('ok @vsml/${lib} esm');\n`;
  writeFileSync(path.join(dir, `${lib}.cjs`), cjs);
  writeFileSync(path.join(dir, `${lib}.mjs`), esm);
  writeFileSync(path.join(dir, `typed-${lib}.mts`), `${TYPED[lib]}\n`);
  // the CommonJS consumer: same code; type-only the async/top-level bits stay valid in a .cts module
  writeFileSync(path.join(dir, `typed-${lib}.cts`), `${TYPED[lib]}\n`);
}

// ----------------------------------------------------------------------------------------------------------------
const tmp = dirArg ? path.resolve(dirArg) : mkdtempSync(path.join(os.tmpdir(), 'vsml-pack-'));
if (tmp.startsWith(ROOT + path.sep)) {
  console.error('pack test: the folder must be outside the workspace');
  process.exit(2);
}
mkdirSync(tmp, { recursive: true });
const tgzDir = path.join(tmp, 'tarballs');
console.log(`pack test in ${tmp}`);

try {
  section('pack');
  for (const p of [...LIBS.map((l) => `packages/${l}`), `apps/${APP}`]) {
    if (!existsSync(path.join(ROOT, p, 'dist'))) check(false, `${p}/dist exists`, 'run `pnpm build` first');
  }
  if (failures) throw new Error('not built');
  const packed = pnpm(['-r', 'pack', '--pack-destination', tgzDir], ROOT);
  check(packed.status === 0, 'pnpm -r pack', packed.status === 0 ? '' : tail(packed.out));
  const tarballs = {};
  for (const name of [...LIBS, APP]) {
    const f = existsSync(tgzDir) ? readdirSync(tgzDir).find((x) => x.startsWith(`vsml-${name}-`) && x.endsWith('.tgz')) : undefined;
    if (check(f !== undefined, `tarball of @vsml/${name}`)) tarballs[name] = path.join(tgzDir, f);
  }

  section('tarball contents');
  for (const [name, tgz] of Object.entries(tarballs)) {
    const files = listTar(tgz);
    const pj = readTarJson(tgz, 'package.json');
    const deps = { ...pj.dependencies, ...pj.optionalDependencies, ...pj.peerDependencies };
    const ws = Object.entries(deps).filter(([, v]) => String(v).startsWith('workspace:'));
    check(ws.length === 0, `@vsml/${name}: no workspace: ranges`, ws.map(([k, v]) => `${k}@${v}`).join(', '));
    const dev = files.filter((f) => /^(scripts|src|test|assembly)\//.test(f) || /(^|\/)(tsconfig[^/]*\.json|jest\.config\.cjs|tsup\.config\.ts)$/.test(f));
    check(dev.length === 0, `@vsml/${name}: ships no dev files (scripts/, src/, test/, configs)`, dev.slice(0, 5).join(', '));
    const missing = ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE'].filter((f) => !files.includes(f));
    check(missing.length === 0, `@vsml/${name}: README.md, CHANGELOG.md, LICENSE`, missing.length ? `missing ${missing.join(', ')}` : '');
    if (Array.isArray(pj.sideEffects)) {
      const rx = (glob) => new RegExp(`^${glob.replace(/^\.\//, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
      const absent = pj.sideEffects.filter((g) => !files.some((f) => rx(g).test(f)));
      check(absent.length === 0, `@vsml/${name}: every sideEffects entry names a shipped file`, absent.join(', '));
    }
    if (name !== APP) {
      const targets = [pj.main, pj.module, pj.types, pj.exports?.['.']?.import?.default, pj.exports?.['.']?.require?.default, pj.exports?.['.']?.import?.types, pj.exports?.['.']?.require?.types];
      const gone = targets.filter((t) => typeof t === 'string' && !files.includes(t.replace(/^\.\//, '')));
      check(gone.length === 0, `@vsml/${name}: main/module/types/exports exist`, gone.join(', '));
    } else {
      const bins = Object.values(pj.bin ?? {});
      check(bins.length > 0 && bins.every((b) => files.includes(String(b).replace(/^\.\//, ''))), `@vsml/${name}: bin file shipped`, bins.join(', '));
    }
    if (name === 'core') {
      const heavy = Object.keys({ ...pj.dependencies, ...pj.optionalDependencies }).filter((d) => /^@tensorflow\/tfjs-node/.test(d) || d === '@tensorflow/tfjs');
      check(heavy.length === 0, '@vsml/core: no tfjs-node* or tfjs umbrella in dependencies/optionalDependencies', heavy.join(', '));
      const peers = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];
      check(peers.every((p) => pj.peerDependencies?.[p] && pj.peerDependenciesMeta?.[p]?.optional === true), '@vsml/core: tfjs-node(-gpu) are optional peers');
    }
  }

  section('npm install @vsml/core alone');
  const coreDir = path.join(tmp, 'core-only');
  if (npmInstall(coreDir, [tarballs.core, tarballs.rng], '@vsml/core (+ @vsml/rng)')) {
    console.log(`     install size of @vsml/core: ${duMB(path.join(coreDir, 'node_modules'))} MB (du -sm node_modules)`);
    const pkgs = installedPackages(path.join(coreDir, 'node_modules'));
    const withScripts = pkgs.map((p) => ({ id: `${p.json.name}@${p.json.version}`, s: installScripts(p) })).filter((p) => p.s.length);
    check(withScripts.length === 0, `no installed package has an install script (${pkgs.length} packages)`, withScripts.map((p) => `${p.id} (${p.s.join(', ')})`).join('; '));
    const native = pkgs.filter((p) => /^@tensorflow\/tfjs-node/.test(p.json.name ?? ''));
    check(native.length === 0, 'no @tensorflow/tfjs-node* installed', native.map((p) => p.json.name).join(', '));
  }

  section('npm install everything');
  const appDir = path.join(tmp, 'all');
  if (!npmInstall(appDir, Object.values(tarballs), 'all tarballs')) throw new Error('install failed');
  console.log(`     install size of everything (CLI): ${duMB(path.join(appDir, 'node_modules'))} MB (du -sm node_modules)`);

  section('the vsml command');
  const bin = path.join(appDir, 'node_modules', '.bin', 'vsml');
  const benchVersion = readTarJson(tarballs[APP], 'package.json').version;
  const v = run(bin, ['--version'], { cwd: appDir });
  check(v.status === 0 && v.stdout.trim() === benchVersion, 'node_modules/.bin/vsml --version', `exit ${v.status}, printed '${v.out.trim().slice(0, 200)}'`);
  const info = run(bin, ['info'], { cwd: appDir, timeout: 120_000 });
  let parsed = null;
  try {
    parsed = JSON.parse(info.stdout);
  } catch {
    // reported below
  }
  check(
    info.status === 0 && parsed && ['tensorflow', 'wasm', 'cpu'].includes(parsed.backend?.name) && parsed.vm > 0 && parsed.vl > 0,
    'node_modules/.bin/vsml info prints the engine and sizes',
    parsed ? `backend ${parsed.backend?.name}, |V_M| ${parsed.vm}, |V_L| ${parsed.vl}` : `exit ${info.status}: ${tail(info.out, 5)}`,
  );
  // as a user types it (`npx --no vsml --version` would print npm's version: npm reads that --version)
  const nv = run('npx', ['vsml', '--version'], { cwd: appDir });
  check(nv.status === 0 && nv.stdout.trim() === benchVersion, 'npx vsml --version', `exit ${nv.status}, printed '${nv.out.trim().slice(0, 200)}'`);
  const help = run('npx', ['vsml', 'demo', '--help'], { cwd: appDir });
  check(help.status === 0 && /Usage: vsml demo/.test(help.stdout), 'npx vsml demo --help', `exit ${help.status}${help.status === 0 ? '' : `: ${tail(help.out, 5)}`}`);
  // (`npx vsml --help` shows npx's own help: npm reads an option right after the command name as its own)
  const h2 = run('npx', ['--no', '--', 'vsml', '--help'], { cwd: appDir });
  check(h2.status === 0 && /Usage: vsml/.test(h2.stdout) && /\binfo\b/.test(h2.stdout), 'npx -- vsml --help lists the commands', `exit ${h2.status}${h2.status === 0 ? '' : `: ${tail(h2.out, 5)}`}`);
  const bad = run(bin, ['no-such-command'], { cwd: appDir });
  check(bad.status !== 0, 'vsml <unknown command> exits non-zero', `exit ${bad.status}`);

  section('libraries: CommonJS, ES modules, strict types');
  const smokeDir = path.join(appDir, 'smoke');
  mkdirSync(smokeDir);
  for (const lib of LIBS) {
    writeSmoke(smokeDir, lib);
    for (const ext of ['cjs', 'mjs']) {
      const r = run(process.execPath, [path.join(smokeDir, `${lib}.${ext}`)], { cwd: appDir, timeout: 180_000 });
      check(r.status === 0 && r.stdout.includes(`ok @vsml/${lib}`), `@vsml/${lib} from ${ext === 'cjs' ? 'CommonJS (require)' : 'an ES module (import)'}`, r.status === 0 ? '' : tail(r.out, 8));
    }
  }
  const tsc = createRequire(path.join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
  const tsVersion = JSON.parse(readFileSync(path.join(path.dirname(tsc), '..', 'package.json'), 'utf8')).version;
  // a TypeScript consumer has @types/node; installed after the size measurement above. tsc comes from the workspace.
  const typesNodeVersion = JSON.parse(readFileSync(createRequire(path.join(ROOT, 'package.json')).resolve('@types/node/package.json'), 'utf8')).version;
  const tn = run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', `@types/node@${typesNodeVersion}`], { cwd: appDir });
  check(tn.status === 0, `npm install @types/node@${typesNodeVersion} (for the typed consumers)`, tn.status === 0 ? '' : tail(tn.out));
  for (const lib of LIBS) {
    const tsconfig = path.join(smokeDir, `tsconfig.${lib}.json`);
    writeFileSync(
      tsconfig,
      `${JSON.stringify(
        {
          // what the issue's strict consumer uses; no `types`/`skipLibCheck`: every @types package is included and checked
          compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true },
          files: [`typed-${lib}.mts`, `typed-${lib}.cts`],
        },
        null,
        2,
      )}\n`,
    );
    const r = run(process.execPath, [tsc, '-p', tsconfig], { cwd: smokeDir });
    const errors = (r.stdout.match(/error TS\d+/g) ?? []).length;
    check(r.status === 0, `@vsml/${lib}: strict tsc --noEmit (nodenext, no skipLibCheck, TypeScript ${tsVersion}), .mts and .cts consumers`, r.status === 0 ? '' : `${errors} errors:\n${tail(r.out, 12)}`);
  }
} catch (e) {
  if (failures === 0) check(false, 'pack test ran to the end', e instanceof Error ? e.message : String(e));
} finally {
  if (keep || dirArg) console.log(`\n(kept ${tmp})`);
  else rmSync(tmp, { recursive: true, force: true });
}

const secs = ((Date.now() - started) / 1000).toFixed(1);
console.log(`\npack test: ${failures === 0 ? 'PASS' : 'FAIL'} (${passes} passed, ${failures} failed, ${secs} s)`);
process.exitCode = failures === 0 ? 0 : 1;
