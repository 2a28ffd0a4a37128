/**
 * Loads the package's WebAssembly kernels (`assembly/grad.ts`, built by `scripts/build-wasm.mjs` into
 * `assembly/build/` and copied next to the bundle in `dist/`). If the file is missing in a source checkout, the
 * build script is run once.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MetatrainError } from './errors.js';

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
export interface GradExports {
  readonly memory: WasmMemory;
  heapBase(): number;
  tanhTest(ptr: number, n: number): void;
  fwdStep(P: number, I: number, C: number, MT: number, h: number, c: number, rowC: number, colC: number, W: number, hsum: number, tape: number, z: number): void;
  bwdStep(P: number, I: number, C: number, MT: number, tape: number, dh: number, dc: number, dout: number, WT: number, dW: number, drow: number, dcol: number, scratch: number): void;
  gemmAcc(A: number, B: number, out: number, P: number, K: number, N: number): void;
  outerAcc(A: number, Bm: number, out: number, P: number, K: number, N: number): void;
  gemmBT(A: number, B: number, out: number, P: number, K: number, N: number): void;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const WASM_NAME = 'vsml-grad.wasm';
let wasmModule: object | null = null;

function findWasm(): string {
  // import.meta.url works in native ESM, tsup's CJS shim and swc's CommonJS rewrite under jest
  const here = dirname(fileURLToPath(import.meta.url));
  const dirs = [here, resolve(here, '../assembly/build'), resolve(here, '../../assembly/build')];
  const look = (): string | undefined => dirs.map((d) => join(d, WASM_NAME)).find((p) => existsSync(p));
  let found = look();
  if (found === undefined) {
    const script = [resolve(here, '../scripts/build-wasm.mjs'), resolve(here, '../../scripts/build-wasm.mjs')].find((p) => existsSync(p));
    if (script !== undefined) {
      const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
      if (r.status !== 0) throw new MetatrainError('UNSUPPORTED', `building ${WASM_NAME} failed: ${r.stderr || r.stdout}`);
      found = look();
    }
  }
  if (found === undefined) {
    throw new MetatrainError('UNSUPPORTED', `${WASM_NAME} not found (looked in ${dirs.join(', ')}); run 'node packages/metatrain/scripts/build-wasm.mjs'`);
  }
  return found;
}

/** A fresh instance (own linear memory) of the kernels. */
export function instantiateGradWasm(): GradExports {
  wasmModule ??= new WA.Module(new Uint8Array(readFileSync(findWasm())));
  return new WA.Instance(wasmModule, { env: { abort: () => { throw new MetatrainError('UNSUPPORTED', `${WASM_NAME} aborted`); } } }).exports as unknown as GradExports;
}

