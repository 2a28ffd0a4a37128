/**
 * `vsml`: the command line that composes the VSML packages. It holds no numerics of its own:
 * each command lives in `src/commands/<name>.ts` and registers itself on the program.
 * The executable entry is `src/cli.ts` (the package's `bin`), which only calls {@link main}.
 */
import { Command } from 'commander';
import { benchVersion } from './commands/info.js';
import { commands } from './commands/index.js';
import { toUserMessage } from './errors.js';

export function buildProgram(): Command {
  const program = new Command('vsml')
    .description('Variable Shared Meta Learning (VSML) on TensorFlow.js')
    .version(benchVersion() ?? '0.0.0', '-V, --version', 'print the version of vsml')
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/** Runs the command line on `argv` (`process.argv` form); sets `process.exitCode`, never exits the process. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // commander signals --help / --version / usage errors through exitOverride
    const code = (err as { code?: string; exitCode?: number }).code;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      process.exitCode = (err as { exitCode?: number }).exitCode ?? 1;
      return;
    }
    process.stderr.write(`vsml: ${toUserMessage(err)}\n`);
    process.exitCode = 1;
  }
}
