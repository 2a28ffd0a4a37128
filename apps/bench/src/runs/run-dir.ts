/**
 * Run directories: every command writes `runs/<timestamp>-<command>-<name>/` holding the resolved config
 * (`config.json`), how it was made (`run.json`), metrics as JSON lines (`metrics.jsonl`), checkpoints and, on
 * completion, the report. A killed run can be resumed from its directory.
 *
 * `run.json`'s `status` tells the truth: `running` while the process (`pid` on `host`) lives; `completed`;
 * `interrupted` (resumable) after Ctrl-C / SIGTERM, and for a run found at `running` whose process is gone (kill -9,
 * crash, power loss; {@link readRunInfo} notices it on the next start, `--resume` or `vsml report`); `failed` only
 * when the command threw an error.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { provenance, type Provenance } from './provenance.js';

export interface RunInfo extends Provenance {
  name: string;
  seed: number;
  backend?: string;
  status: RunStatus;
  /** process and host of the latest start (to tell a live run from one that was killed) */
  pid?: number;
  host?: string;
  resumedAt?: string[];
  /** when a run was found at `running` with its process gone, or stopped by a signal */
  interruptedAt?: string[];
  /** the message of the error that ended a `failed` run */
  error?: string;
}

/** Status of a run directory (see the module comment). */
export type RunStatus = 'running' | 'completed' | 'interrupted' | 'failed';

/** True when process `pid` exists on this host (EPERM: it exists but belongs to someone else). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True when `info` says `running` but its process is gone: recorded on this host with a pid that is not this process
 * and no longer exists, or recorded without a pid (older versions).
 */
export function isStale(info: Pick<RunInfo, 'status' | 'pid' | 'host'>): boolean {
  if (info.status !== 'running') return false;
  if (info.pid === undefined) return true;
  if (info.host !== undefined && info.host !== os.hostname()) return false; // another machine: cannot tell
  return info.pid !== process.pid && !processAlive(info.pid);
}

/**
 * Reads a run directory's `run.json`; a run found at `running` whose process is gone is marked `interrupted` (and
 * `run.json` is updated, unless `update` is false).
 */
export function readRunInfo(dir: string, opts: { update?: boolean } = {}): RunInfo {
  const file = path.join(dir, 'run.json');
  const info = readJson<RunInfo>(file);
  if (isStale(info)) {
    info.status = 'interrupted';
    info.interruptedAt = [...(info.interruptedAt ?? []), `found ${new Date().toISOString()} (process ${info.pid ?? '?'} gone)`];
    if (opts.update !== false) writeJsonAtomic(file, info);
  }
  return info;
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
    pid: process.pid,
    host: os.hostname(),
  };
  writeJsonAtomic(path.join(dir, 'config.json'), opts.config);
  writeJsonAtomic(path.join(dir, 'run.json'), info);
  return { dir, info, file: (f) => path.join(dir, f) };
}

/** Opens an existing run directory for `--resume`, checking that it belongs to `command`. */
export function openRunDir(dir: string, command: string): RunDir & { config: unknown } {
  const info = readRunInfo(dir);
  if (info.command !== command) {
    throw new Error(`${dir} is a '${info.command}' run; it cannot be resumed by '${command}'`);
  }
  if (info.status === 'running' && info.pid !== process.pid) {
    throw new Error(`${dir} is still running (process ${info.pid} on ${info.host}); stop it first (Ctrl-C or kill ${info.pid}), then --resume`);
  }
  const config = readJson(path.join(dir, 'config.json'));
  // temporary files of atomic writes that a kill left behind (the files they were to replace are intact)
  for (const f of fs.readdirSync(dir)) if (/^\..+\.tmp$/.test(f)) fs.rmSync(path.join(dir, f), { force: true });
  info.resumedAt = [...(info.resumedAt ?? []), new Date().toISOString()];
  info.status = 'running';
  info.pid = process.pid;
  info.host = os.hostname();
  delete info.error;
  writeJsonAtomic(path.join(dir, 'run.json'), info);
  return { dir, info, config, file: (f) => path.join(dir, f) };
}

/**
 * Marks a run as `completed`, `interrupted` (stopped by a signal after its checkpoint; resumable) or `failed` (an
 * error was thrown; pass it to record its message).
 */
export function finishRun(run: RunDir, status: 'completed' | 'interrupted' | 'failed', error?: unknown): void {
  run.info.status = status;
  if (status === 'interrupted') run.info.interruptedAt = [...(run.info.interruptedAt ?? []), `stopped ${new Date().toISOString()}`];
  if (status === 'failed' && error !== undefined) run.info.error = error instanceof Error ? error.message : String(error);
  writeJsonAtomic(run.file('run.json'), run.info);
}
