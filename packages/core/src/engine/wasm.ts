/**
 * Finds, compiles and caches the engine's WebAssembly module (built from `assembly/engine.ts` by
 * `scripts/build-wasm.mjs`; nothing compiled is committed).
 *
 * Where the `.wasm` files are looked for, in order:
 * 1. `$VSML_ENGINE_WASM_DIR` when set;
 * 2. next to this module's bundle (`dist/`: the published package; the build script copies them there);
 * 3. `assembly/build/` of the package, seen from `src/engine/` (tests run the TypeScript sources) or from `dist/`.
 * If nothing is found and the package's build script is present (a source checkout), it is run once, synchronously.
 *
 * Two variants are built from the same source: `relaxed` uses relaxed-SIMD fused multiply-add
 * (`f32x4.relaxed_madd`), `baseline` plain SIMD (multiply, then add). Node 20's V8 has relaxed SIMD behind
 * `--experimental-wasm-relaxed-simd`; in mode `auto` (the default) the engine enables that V8 flag at run time
 * when the module does not validate without it, and falls back to `baseline` if it still does not.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { VsmlError } from '../errors.js';

/** Which build of the kernel runs: with relaxed-SIMD FMA, or plain SIMD. */
export type SimdVariant = 'relaxed' | 'baseline';
/** What the caller asks for; `auto` = relaxed when the runtime supports it (enabling it on Node 20), else baseline. */
export type SimdMode = 'auto' | SimdVariant;

/** File names of the two builds (in `assembly/build/` and `dist/`). */
export const WASM_FILE_NAMES: Readonly<Record<SimdVariant, string>> = {
  relaxed: 'vsml-engine.relaxed.wasm',
  baseline: 'vsml-engine.simd.wasm',
};

// The WebAssembly global as far as used here (the project's lib/@types do not declare it).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
/** A compiled module (opaque; can be posted to worker threads). */
export type WasmModule = object;
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: object };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Exports of the engine module (see assembly/engine.ts). */
export interface EngineExports {
  readonly memory: WasmMemory;
  heapBase(): number;
  tanhTest(ptr: number, n: number): void;
  runSegment(cfg: number, steps: number): void;
  /** logits of N inputs from member p's row-mean state, forward ticks only, nothing written back */
  predict(cfg: number, member: number, n: number): void;
  mergeMember(cfg: number, member: number): void;
  /** profiling build only (scripts/bench-engine.mjs --profile): milliseconds per phase */
  profileRead(phase: number): number;
  profileReset(): void;
  benchTile(cfg: number, mode: number, iters: number): void;
}

// import.meta.url works in every layout: native ESM (dist/index.js, jest ESM mode), tsup's CJS shim
// (dist/index.cjs) and swc's CommonJS rewrite under jest.
function moduleDir(): string {
  return dirname(fileURLToPath(import.meta.url));
}

function candidateDirs(): string[] {
  const here = moduleDir();
  const dirs: string[] = [];
  const env = process.env['VSML_ENGINE_WASM_DIR'];
  if (env !== undefined && env !== '') dirs.push(resolve(env));
  dirs.push(here, resolve(here, '../../assembly/build'), resolve(here, '../assembly/build'));
  return dirs;
}

function findBuildScript(): string | undefined {
  const here = moduleDir();
  for (const p of [resolve(here, '../../scripts/build-wasm.mjs'), resolve(here, '../scripts/build-wasm.mjs')]) {
    if (existsSync(p)) return p;
  }
  return undefined;
}

let builtOnce = false;

function findWasm(variant: SimdVariant): string {
  const name = WASM_FILE_NAMES[variant];
  const look = (): string | undefined => candidateDirs().map((d) => join(d, name)).find((p) => existsSync(p));
  let found = look();
  if (found === undefined && !builtOnce) {
    const script = findBuildScript();
    if (script !== undefined) {
      builtOnce = true;
      const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
      if (r.status !== 0) {
        throw new VsmlError('BACKEND_UNAVAILABLE', `building the engine's WebAssembly with ${script} failed: ${r.stderr || r.stdout}`);
      }
      found = look();
    }
  }
  if (found === undefined) {
    throw new VsmlError(
      'BACKEND_UNAVAILABLE',
      `engine WebAssembly '${name}' not found (looked in ${candidateDirs().join(', ')}); ` +
        `build it with 'pnpm --filter @vsml/core build:wasm'`,
    );
  }
  return found;
}

const bytesCache = new Map<SimdVariant, Uint8Array>();
const moduleCache = new Map<SimdVariant, WasmModule>();

/** The raw bytes of one build (for sending to worker threads or for inspection). */
export function engineWasmBytes(variant: SimdVariant): Uint8Array {
  let b = bytesCache.get(variant);
  if (b === undefined) {
    b = new Uint8Array(readFileSync(findWasm(variant)));
    bytesCache.set(variant, b);
  }
  return b;
}

let relaxedState: boolean | undefined;

/** Whether the relaxed-SIMD build can run here (in `auto`/`relaxed` mode this may enable the V8 flag once). */
export function relaxedSimdAvailable(enableFlag = true): boolean {
  if (relaxedState !== undefined) return relaxedState;
  const bytes = engineWasmBytes('relaxed');
  let ok = WA.validate(bytes);
  if (!ok && enableFlag) {
    try {
      setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // ignore: validation below decides
    }
    ok = WA.validate(bytes);
  }
  relaxedState = ok;
  return ok;
}

/** Resolves a mode (argument, else `$VSML_ENGINE_SIMD`, else `auto`) to the build that will run. */
export function resolveSimdVariant(mode?: SimdMode): SimdVariant {
  const env = process.env['VSML_ENGINE_SIMD'];
  const m: string = mode ?? (env !== undefined && env !== '' ? env : 'auto');
  if (m === 'baseline') return 'baseline';
  if (m === 'relaxed') {
    if (!relaxedSimdAvailable()) {
      throw new VsmlError('BACKEND_UNAVAILABLE', 'relaxed SIMD was requested but this runtime does not support it');
    }
    return 'relaxed';
  }
  if (m === 'auto') return relaxedSimdAvailable() ? 'relaxed' : 'baseline';
  throw new VsmlError('BAD_ARGUMENT', `simd mode must be 'auto', 'relaxed' or 'baseline', got '${m}'`);
}

/** The compiled module of one build (compiled once per thread, synchronously). */
export function engineModule(variant: SimdVariant): WasmModule {
  let m = moduleCache.get(variant);
  if (m === undefined) {
    try {
      m = new WA.Module(engineWasmBytes(variant));
    } catch (e) {
      if (e instanceof VsmlError) throw e;
      throw new VsmlError('BACKEND_UNAVAILABLE', `compiling the engine's WebAssembly (${variant}) failed: ${String(e)}`, {
        cause: e,
      });
    }
    moduleCache.set(variant, m);
  }
  return m;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** A fresh instance (own linear memory) of one build. */
export function instantiateEngine(variant: SimdVariant): EngineExports {
  const inst = new WA.Instance(engineModule(variant), {
    env: {
      // imported only by the profiling build (scripts/bench-engine.mjs --profile): milliseconds of wall time, or
      // of process CPU time with VSML_ENGINE_PROFILE_CLOCK=cpu (robust to other processes on a shared machine)
      now: process.env['VSML_ENGINE_PROFILE_CLOCK'] === 'cpu' ? cpuMs : (): number => performance.now(),
      abort: (_msg: number, _file: number, line: number, col: number): never => {
        throw new VsmlError('BACKEND_UNAVAILABLE', `engine WebAssembly aborted at ${line}:${col}`);
      },
    },
  });
  return inst.exports as unknown as EngineExports;
}
