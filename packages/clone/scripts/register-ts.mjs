// Registers core's TypeScript module hooks (one copy, in packages/core/scripts): TypeScript sources importable
// from scripts and worker threads.
import { register } from 'node:module';

register('../../core/scripts/ts-hooks.mjs', import.meta.url);
