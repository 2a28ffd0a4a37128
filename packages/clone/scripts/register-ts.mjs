// Registers ./ts-hooks.mjs (TypeScript sources importable from scripts and worker threads).
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
