/**
 * Backend selection: the only module of the VSML packages that loads a TensorFlow.js backend.
 *
 * Order for `auto`: native TensorFlow (`@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`: optional peer
 * dependencies, e.g. `npm i @tensorflow/tfjs-node-gpu`) when the package is installed **and** its native binding
 * file exists, else WebAssembly (`@tensorflow/tfjs-backend-wasm`, SIMD), else the plain JavaScript `cpu` backend.
 * A native package whose install script did not run (no `lib/napi-v*\/tfjs_binding.node`) is skipped without being
 * imported, so a half-installed optional peer neither crashes nor prints warnings (design/stack.md §3).
 *
 * A forced backend (`{backend: 'wasm'}` or `VSML_BACKEND=wasm`) never falls back silently: if it cannot be
 * loaded, `initBackend` throws `VsmlError('BACKEND_UNAVAILABLE')` listing why.
 */
import * as tf from '@tensorflow/tfjs-core';
// What VSML needs of TensorFlow.js besides tfjs-core, registered once on import (the `@tensorflow/tfjs` umbrella
// used to do this, together with layers, converter, data and webgl, which VSML never uses):
// - the `cpu` backend, the last fallback below (the wasm backend is imported on demand by `tryWasm`);
// - the gradient of every kernel: tfjs-core alone registers none (`tf.grad` fails with "gradient function not
//   found"). tfjs-core ships them only as extension-less ES modules that Node cannot load, so the build bundles
//   them into dist/ (tsup.config.ts, `noExternal`), as the umbrella does; the jest preset maps this import to the
//   umbrella (a dev dependency of this package only);
// - the chained tensor methods (`t.mul(u)`, `t.sum()`, ...), also extension-less ES modules, bundled the same way.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { VsmlError } from './errors.js';

/** A backend VSML can run on: `tensorflow` = native TensorFlow through tfjs-node(-gpu). */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
/** What a caller may ask for. */
export type BackendRequest = 'auto' | BackendName;

/** The native packages, in order of preference. */
export const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';

/** One candidate that was considered. */
export interface BackendAttempt {
  readonly backend: BackendName;
  /** the package that provides it (null for cpu) */
  readonly package: string | null;
  readonly ok: boolean;
  /** why it was skipped or failed, or 'selected' */
  readonly reason: string;
}

/** What `initBackend` selected. */
export interface BackendInfo {
  readonly name: BackendName;
  readonly requested: BackendRequest;
  /** where the request came from */
  readonly source: 'option' | 'env' | 'default';
  /** package providing the backend (`@tensorflow/tfjs-node-gpu`, ..., null for cpu) */
  readonly package: string | null;
  /** true when the native GPU package was loaded */
  readonly gpu: boolean;
  /** wasm only: whether the SIMD binary is used */
  readonly simd: boolean | null;
  /** wasm only: number of threads (always 1 in Node) */
  readonly threads: number | null;
  /** version of @tensorflow/tfjs-core */
  readonly tfjsVersion: string;
  /** every candidate considered, in order */
  readonly attempts: readonly BackendAttempt[];
}

/**
 * How `initBackend` inspects and loads packages. Tests inject fakes; the default uses Node's resolution
 * (`createRequire`), the file system and dynamic `import()`.
 */
export interface BackendProbe {
  /** directory holding `<id>/package.json`, or null if the package is not installed */
  resolvePackageDir(id: string): string | null;
  /** whether a native package directory contains its binding (`lib/napi-v<N>/tfjs_binding.node`) */
  hasNativeBinding(packageDir: string): boolean;
  /** imports a module for its side effect (registering a backend); may throw */
  importModule(id: string): Promise<unknown>;
  /** whether a backend factory named `name` is registered with tfjs */
  isRegistered(name: string): boolean;
  /** activates a registered backend; resolves false if it fails to initialise */
  setBackend(name: string): Promise<boolean>;
}

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /** `auto` (default), or force one backend; overrides the `VSML_BACKEND` environment variable */
  backend?: BackendRequest;
  /** injected package inspection / loading (tests) */
  probe?: BackendProbe;
  /** environment to read `VSML_BACKEND` from (default `process.env`) */
  env?: Record<string, string | undefined>;
}

/** Whether `dir/lib/napi-v<N>/tfjs_binding.node` exists for some N. */
export function nativeBindingExists(dir: string): boolean {
  const lib = path.join(dir, 'lib');
  if (!existsSync(lib)) return false;
  try {
    return readdirSync(lib).some((d) => /^napi-v\d+$/.test(d) && existsSync(path.join(lib, d, 'tfjs_binding.node')));
  } catch {
    return false;
  }
}

/** The default probe: Node module resolution relative to this package, real imports, the real tfjs engine. */
export function defaultBackendProbe(): BackendProbe {
  const require = createRequire(import.meta.url);
  return {
    resolvePackageDir(id) {
      try {
        return path.dirname(require.resolve(`${id}/package.json`));
      } catch {
        return null;
      }
    },
    hasNativeBinding: nativeBindingExists,
    importModule: (id) => import(id),
    isRegistered: (name) => tf.findBackendFactory(name) != null,
    setBackend: (name) => tf.setBackend(name),
  };
}

/** Parses a backend name as accepted by the option, `VSML_BACKEND` and `--backend` (`native`/`node` = tensorflow). */
export function parseBackendRequest(value: string, where = 'backend'): BackendRequest {
  const v = value.trim().toLowerCase();
  if (v === 'auto' || v === 'tensorflow' || v === 'wasm' || v === 'cpu') return v;
  if (v === 'native' || v === 'node') return 'tensorflow';
  throw new VsmlError('BAD_ARGUMENT', `${where}: unknown backend '${value}' (expected auto, tensorflow, wasm or cpu)`);
}

let current: BackendInfo | null = null;
let pending: Promise<BackendInfo> | null = null;

/** The backend selected by the last `initBackend`, or null. */
export function currentBackend(): BackendInfo | null {
  return current;
}

/**
 * Selects and initialises the TensorFlow.js backend (see the module comment for the order). Safe to call
 * repeatedly: the same request returns the cached result. Prints nothing on the way (the cpu backend's
 * "install tfjs-node" banner is silenced).
 * @throws VsmlError `BACKEND_UNAVAILABLE` when a forced backend cannot be loaded, `BAD_ARGUMENT` for an unknown name
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendInfo> {
  const env = opts.env ?? process.env;
  let requested: BackendRequest = 'auto';
  let source: BackendInfo['source'] = 'default';
  if (opts.backend !== undefined) {
    requested = parseBackendRequest(opts.backend, 'initBackend({backend})');
    source = 'option';
  } else if (env['VSML_BACKEND'] !== undefined && env['VSML_BACKEND'] !== '') {
    requested = parseBackendRequest(env['VSML_BACKEND'], 'VSML_BACKEND');
    source = 'env';
  }
  const probe = opts.probe;
  if (!probe && current && (current.requested === requested || current.name === requested) && tf.getBackend() === current.name) {
    return current;
  }
  // serialise concurrent calls
  while (pending) await pending.catch(() => undefined);
  const run = selectBackend(requested, source, probe ?? defaultBackendProbe(), probe === undefined);
  pending = run;
  try {
    const info = await run;
    if (!probe) current = info;
    return info;
  } finally {
    pending = null;
  }
}

async function selectBackend(
  requested: BackendRequest,
  source: BackendInfo['source'],
  probe: BackendProbe,
  real: boolean,
): Promise<BackendInfo> {
  const attempts: BackendAttempt[] = [];
  const base = { requested, source, tfjsVersion: tf.version_core };

  if (requested === 'auto' || requested === 'tensorflow') {
    for (const pkg of NATIVE_PACKAGES) {
      const r = await tryNative(pkg, probe, real);
      attempts.push({ backend: 'tensorflow', package: pkg, ok: r.ok, reason: r.reason });
      if (r.ok) {
        return { ...base, name: 'tensorflow', package: pkg, gpu: pkg.endsWith('-gpu'), simd: null, threads: null, attempts };
      }
    }
    if (requested === 'tensorflow') throw unavailable(requested, source, attempts);
  }

  if (requested === 'auto' || requested === 'wasm') {
    const r = await tryWasm(probe);
    attempts.push({ backend: 'wasm', package: WASM_PACKAGE, ok: r.ok, reason: r.reason });
    if (r.ok) {
      let simd: boolean | null = null;
      let threads: number | null = null;
      if (real) {
        simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
        const mod = r.module as { getThreadsCount?: () => number } | undefined;
        threads = typeof mod?.getThreadsCount === 'function' ? mod.getThreadsCount() : 1;
      }
      return { ...base, name: 'wasm', package: WASM_PACKAGE, gpu: false, simd, threads, attempts };
    }
    if (requested === 'wasm') throw unavailable(requested, source, attempts);
  }

  // cpu: always registered (tfjs-setup.ts imports @tensorflow/tfjs-backend-cpu)
  let ok = false;
  let reason = 'selected';
  try {
    ok = await quietly(() => probe.setBackend('cpu'));
    if (!ok) reason = 'setBackend(cpu) returned false';
    else if (real) await quietly(async () => tf.tensor1d([0]).dispose()); // first write prints the tfjs-node banner
  } catch (e) {
    reason = `failed: ${errorText(e)}`;
  }
  attempts.push({ backend: 'cpu', package: null, ok, reason });
  if (!ok) throw unavailable(requested, source, attempts);
  return { ...base, name: 'cpu', package: null, gpu: false, simd: null, threads: null, attempts };
}

async function tryNative(pkg: string, probe: BackendProbe, real: boolean): Promise<{ ok: boolean; reason: string }> {
  const dir = probe.resolvePackageDir(pkg);
  if (dir === null) return { ok: false, reason: 'not installed' };
  if (!probe.hasNativeBinding(dir)) return { ok: false, reason: `installed without its native binding (no lib/napi-v*/tfjs_binding.node in ${dir})` };
  try {
    if (real && process.env['TF_CPP_MIN_LOG_LEVEL'] === undefined) process.env['TF_CPP_MIN_LOG_LEVEL'] = '2';
    if (!probe.isRegistered('tensorflow')) await probe.importModule(pkg);
  } catch (e) {
    return { ok: false, reason: `import failed: ${errorText(e)}` };
  }
  if (!probe.isRegistered('tensorflow')) return { ok: false, reason: 'imported but no "tensorflow" backend registered (tfjs version mismatch?)' };
  try {
    if (!(await quietly(() => probe.setBackend('tensorflow')))) return { ok: false, reason: 'setBackend(tensorflow) returned false' };
  } catch (e) {
    return { ok: false, reason: `initialisation failed: ${errorText(e)}` };
  }
  return { ok: true, reason: 'selected' };
}

async function tryWasm(probe: BackendProbe): Promise<{ ok: boolean; reason: string; module?: unknown }> {
  if (probe.resolvePackageDir(WASM_PACKAGE) === null) return { ok: false, reason: 'not installed' };
  let module: unknown;
  try {
    module = await probe.importModule(WASM_PACKAGE); // cached by the module system after the first time
  } catch (e) {
    return { ok: false, reason: `import failed: ${errorText(e)}` };
  }
  if (!probe.isRegistered('wasm')) return { ok: false, reason: 'imported but no "wasm" backend registered' };
  try {
    if (!(await quietly(() => probe.setBackend('wasm')))) return { ok: false, reason: 'setBackend(wasm) returned false (initialisation failed)' };
  } catch (e) {
    return { ok: false, reason: `initialisation failed: ${errorText(e)}` };
  }
  return { ok: true, reason: 'selected', module };
}

function unavailable(requested: BackendRequest, source: BackendInfo['source'], attempts: BackendAttempt[]): VsmlError {
  const how = source === 'env' ? ` (from VSML_BACKEND)` : '';
  const lines = attempts.map((a) => `${a.package ?? a.backend}: ${a.reason}`);
  const hint =
    requested === 'tensorflow'
      ? '; to use it, `npm i @tensorflow/tfjs-node-gpu` (or @tensorflow/tfjs-node) in your project; in the VSML workspace, allow the package build in pnpm-workspace.yaml and run `pnpm -r rebuild @tensorflow/tfjs-node-gpu` (see README, "GPU backend")'
      : '';
  return new VsmlError('BACKEND_UNAVAILABLE', `backend '${requested}'${how} is not available: ${lines.join('; ')}${hint}`, {
    details: { requested, attempts },
  });
}

/** Runs `f` with tfjs warnings silenced (tfjs logs through console.warn unless PROD is set). */
async function quietly<T>(f: () => Promise<T> | T): Promise<T> {
  const env = tf.env();
  const prev = env.getBool('PROD');
  if (!prev) env.set('PROD', true);
  try {
    return await f();
  } finally {
    if (!prev) env.set('PROD', false);
  }
}

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.slice(0, 300);
}
