/**
 * `vsml trace <file.json>`: replays a trace file (format: packages/core/README.md, "Trace format") and prints
 * `{"logits": [T][P][B]}` as JSON, for checking the numerics against independent implementations.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { replayTrace, VsmlError, type KernelName } from '@vsml/core';
import { BACKEND_HELP, setupBackend, stdout, type Out } from './common.js';

export interface TraceOptions {
  backend?: string;
  kernel?: KernelName;
}

/** Reads, replays and prints one trace. */
export async function runTrace(file: string, opts: TraceOptions = {}, out: Out = stdout): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new VsmlError('TRACE_INVALID', `cannot read trace ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  await setupBackend(opts.backend);
  const result = await replayTrace(text, opts.kernel ? { kernel: opts.kernel } : {});
  out.write(`${JSON.stringify(result)}\n`);
}

export function registerTrace(program: Command): void {
  program
    .command('trace')
    .description('replay a JSON trace {model, params, initialState, inputs, labels} and print {"logits": [T][P][B]}')
    .argument('<file>', 'trace file (.json)')
    .option('--backend <name>', BACKEND_HELP)
    .option('--kernel <name>', 'dense tick kernel: fused | reference', 'fused')
    .action(async (file: string, o: { backend?: string; kernel: string }) => {
      if (o.kernel !== 'fused' && o.kernel !== 'reference') throw new Error(`--kernel must be fused or reference, got '${o.kernel}'`);
      await runTrace(file, { ...(o.backend ? { backend: o.backend } : {}), kernel: o.kernel });
    });
}
