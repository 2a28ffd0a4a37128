/**
 * `vsml`: the command line that composes the VSML packages. It holds no numerics of its own:
 * each command lives in `src/commands/<name>.ts` and registers itself on the program.
 */
import { Command } from 'commander';
import { commands } from './commands/index.js';
import { toUserMessage } from './errors.js';

export function buildProgram(): Command {
  const program = new Command('vsml')
    .description('Variable Shared Meta Learning (VSML) on TensorFlow.js')
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
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

// Run only when executed as a program, not when imported by tests.
const invokedDirectly = process.argv[1] !== undefined && /cli\.(c?js|ts)$/.test(process.argv[1]);
if (invokedDirectly) void main(process.argv);
