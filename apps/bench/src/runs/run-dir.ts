/**
 * Run directories: every command writes `runs/<timestamp>-<command>-<name>/` holding the resolved config
 * (`config.json`), how it was made (`run.json`), metrics as JSON lines (`metrics.jsonl`), checkpoints and, on
 * completion, the report. A killed run can be resumed from its directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { provenance, type Provenance } from './provenance.js';

export interface RunInfo extends Provenance {
  name: string;
  seed: number;
  backend?: string;
  status: 'running' | 'completed' | 'failed';
  resumedAt?: string[];
}

export interface RunDir {
  dir: string;
  info: RunInfo;
  /** path of a file inside the run directory */
  file(name: string): string;
}

function timestamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Writes JSON atomically (temporary file, then rename), so a crash never leaves half a file. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic.sync(file, JSON.stringify(value, null, 2) + '\n');
}

/** Reads a JSON file, naming the file in the error if it is missing or corrupt. */
export function readJson<T = unknown>(file: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message})`);
  }
}

/** Creates a fresh run directory and records config and provenance. */
export function createRunDir(opts: {
  command: string;
  name?: string;
  root?: string;
  seed: number;
  config: unknown;
  backend?: string;
  out?: string;
}): RunDir {
  const name = (opts.name ?? 'run').replace(/[^A-Za-z0-9_.-]+/g, '-');
  const dir = opts.out ?? path.join(opts.root ?? 'runs', `${timestamp()}-${opts.command}-${name}`);
  if (fs.existsSync(path.join(dir, 'run.json'))) {
    throw new Error(`${dir} already holds a run; pass --resume ${dir} to continue it or choose another --out`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const info: RunInfo = {
    ...provenance(opts.command),
    name,
    seed: opts.seed,
    ...(opts.backend !== undefined ? { backend: opts.backend } : {}),
    status: 'running',
  };
  writeJsonAtomic(path.join(dir, 'config.json'), opts.config);
  writeJsonAtomic(path.join(dir, 'run.json'), info);
  return { dir, info, file: (f) => path.join(dir, f) };
}

/** Opens an existing run directory for `--resume`, checking that it belongs to `command`. */
export function openRunDir(dir: string, command: string): RunDir & { config: unknown } {
  const info = readJson<RunInfo>(path.join(dir, 'run.json'));
  if (info.command !== command) {
    throw new Error(`${dir} is a '${info.command}' run; it cannot be resumed by '${command}'`);
  }
  const config = readJson(path.join(dir, 'config.json'));
  info.resumedAt = [...(info.resumedAt ?? []), new Date().toISOString()];
  info.status = 'running';
  writeJsonAtomic(path.join(dir, 'run.json'), info);
  return { dir, info, config, file: (f) => path.join(dir, f) };
}

/** Marks a run as finished (or failed). */
export function finishRun(run: RunDir, status: 'completed' | 'failed'): void {
  run.info.status = status;
  writeJsonAtomic(run.file('run.json'), run.info);
}
