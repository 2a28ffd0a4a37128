/**
 * The `vsml` executable (the package's `bin`). It always runs the command line, whatever path it is started
 * through (`node dist/cli.js`, npm's `node_modules/.bin/vsml` link, `npx vsml`); the program itself lives in
 * `program.ts`, which tests import without running anything.
 */
import { main } from './program.js';

void main(process.argv);
