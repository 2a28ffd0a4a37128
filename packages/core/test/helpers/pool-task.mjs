// A task module for test/pool.test.ts (plain ESM: worker threads load it without the TypeScript transform).
import { threadId } from 'node:worker_threads';

export async function square(t) {
  if (t.fail) throw Object.assign(new Error(`task ${t.i} fails`), { name: 'CloneError', code: 'BAD_ARGUMENT', details: { i: t.i } });
  // later tasks finish first: results must still come back in task order
  await new Promise((r) => setTimeout(r, 5 * (10 - t.i)));
  return { i: t.i, v: t.i * t.i, data: Float32Array.from([t.i, 0.5]), thread: threadId };
}
