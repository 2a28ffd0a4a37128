/** `vsml info`: backend, versions, and |V_M| / |V_L| of a model config. */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Command } from 'commander';
import { countVM, countVL, defaultModelConfig, parseModelConfig, tf, withLayerSizes, type ModelConfig } from '@vsml/core';
import { BACKEND_HELP, layerSizes, setupBackend, stdout, type Out } from './common.js';

export interface InfoOptions {
  backend?: string;
  /** JSON file holding a model config (or an object with a `model` key) */
  config?: string;
  layers?: number[];
}

/** This app's own version (its package.json is one or two levels above this module: dist/ or src/commands/). */
export function benchVersion(): string | null {
  const require = createRequire(import.meta.url);
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const p = require(rel) as { name?: string; version?: string };
      if (p.name === '@vsml/bench') return p.version ?? null;
    } catch {
      // try the next location
    }
  }
  return null;
}

function packageVersion(id: string): string | null {
  try {
    return (createRequire(import.meta.url)(`${id}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

/** Collects the information `vsml info` prints. */
export async function collectInfo(opts: InfoOptions = {}): Promise<Record<string, unknown>> {
  const backend = await setupBackend(opts.backend);
  let config: ModelConfig = defaultModelConfig();
  if (opts.config) {
    const json = JSON.parse(await readFile(opts.config, 'utf8')) as Record<string, unknown>;
    config = parseModelConfig(json && typeof json === 'object' && 'model' in json ? json['model'] : json, `${opts.config}: model`);
  }
  if (opts.layers) config = withLayerSizes(config, opts.layers);
  return {
    backend: {
      name: backend.name,
      package: backend.package,
      gpu: backend.gpu,
      simd: backend.simd,
      threads: backend.threads,
      attempts: backend.attempts.map((a) => `${a.package ?? a.backend}: ${a.reason}`),
    },
    versions: {
      node: process.versions.node,
      tfjs: tf.version_core,
      '@vsml/core': packageVersion('@vsml/core'),
      '@vsml/bench': benchVersion(),
    },
    model: config,
    vm: countVM(config),
    vl: countVL(config),
  };
}

export async function runInfo(opts: InfoOptions = {}, out: Out = stdout): Promise<void> {
  out.write(`${JSON.stringify(await collectInfo(opts), null, 2)}\n`);
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('print the selected backend, versions, and |V_M| / |V_L| of a model config (default: official 784→10)')
    .option('--backend <name>', BACKEND_HELP)
    .option('--config <file>', 'model config JSON (or a JSON object with a "model" key)')
    .option('--layers <sizes>', 'layer sizes, e.g. 784,10 or 784,32,10', layerSizes)
    .action(async (o: { backend?: string; config?: string; layers?: number[] }) => {
      await runInfo({ ...(o.backend ? { backend: o.backend } : {}), ...(o.config ? { config: o.config } : {}), ...(o.layers ? { layers: o.layers } : {}) });
    });
}
