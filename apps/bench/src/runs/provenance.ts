/** Where a result came from: the git commit, the package versions, the machine and the command line. */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Provenance {
  command: string;
  argv: string[];
  commit: string;
  dirty: boolean | null;
  versions: Record<string, string>;
  node: string;
  platform: string;
  cpus: number;
  createdAt: string;
}

/** The directory of this module: inside the checkout the CLI was built from, wherever the user runs it. */
const MODULE_DIR = path.dirname(fileURLToPath(import.meta.url));

/** The current git commit (`unknown` outside a checkout) and whether the tree has uncommitted changes. */
export function gitCommit(cwd = MODULE_DIR): { commit: string; dirty: boolean | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    let dirty: boolean | null = null;
    try {
      dirty =
        execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
          .toString()
          .trim().length > 0;
    } catch {
      dirty = null;
    }
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: null };
  }
}

const require_ = createRequire(import.meta.url);

/** Versions of the packages that make up a result (those that cannot be resolved are left out). */
export function packageVersions(names: readonly string[] = DEFAULT_PACKAGES): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    try {
      const pj = require_(`${name}/package.json`) as { version?: string };
      if (pj.version) out[name] = pj.version;
    } catch {
      // not installed beside the CLI: nothing to record
    }
  }
  return out;
}

const DEFAULT_PACKAGES = [
  '@vsml/core',
  '@vsml/datasets',
  '@vsml/evolve',
  '@vsml/clone',
  '@vsml/metatrain',
  '@vsml/rng',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-wasm',
] as const;

/** Everything a run directory records about how it was made. */
export function provenance(command: string, argv: string[] = process.argv.slice(2)): Provenance {
  const { commit, dirty } = gitCommit();
  return {
    command,
    argv,
    commit,
    dirty,
    versions: packageVersions(),
    node: process.version,
    platform: `${os.platform()}-${os.arch()}`,
    cpus: os.cpus().length,
    createdAt: new Date().toISOString(),
  };
}
