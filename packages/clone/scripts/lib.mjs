// Shared helpers of the clone scripts: argument parsing, loading the library (dist by default, TypeScript sources
// with CLONE_SRC=1), the backend, JSON-lines logs and atomic JSON files.
import { mkdirSync, renameSync, writeFileSync, appendFileSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';

/** `--key value` pairs (values parsed as JSON when possible) and `--flag` booleans. */
export function parseArgs(argv = process.argv.slice(2)) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[key] = true;
    else {
      i++;
      try {
        out[key] = JSON.parse(next);
      } catch {
        out[key] = next;
      }
    }
  }
  return out;
}

/** The library and core (dist unless CLONE_SRC=1), with the backend initialised. */
export async function load() {
  if (process.env.CLONE_SRC === '1') await import('./register-ts.mjs');
  const clone = process.env.CLONE_SRC === '1' ? await import('../src/index.ts') : await import('../dist/index.js');
  const core = await import('@vsml/core');
  const info = await core.initBackend({ backend: process.env.VSML_BACKEND ?? 'auto' });
  return { clone, core, backend: info.name };
}

/** Writes JSON atomically. */
export function writeJson(file, value) {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v) : v), 1));
  renameSync(tmp, file);
}


/** A preset by name (`quick`, `paper`) or from a JSON file, with `--set` overrides merged deeply. */
export function resolvePreset(clone, name, overrides) {
  const base = clone.CLONE_PRESETS[name] ?? (existsSync(name) ? JSON.parse(readFileSync(name, 'utf8')) : null);
  if (!base) throw new Error(`unknown preset ${name}`);
  return deepMerge(JSON.parse(JSON.stringify(base)), overrides ?? {});
}

export function deepMerge(a, b) {
  if (Array.isArray(b) || typeof b !== 'object' || b === null) return b;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in out && typeof out[k] === 'object' && !Array.isArray(out[k]) ? deepMerge(out[k], v) : v;
  return out;
}

