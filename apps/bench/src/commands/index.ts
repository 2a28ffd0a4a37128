import type { Command } from 'commander';

/** Every command registers itself on the program; the order is the order of `vsml --help`. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [];
