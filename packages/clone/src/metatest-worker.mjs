// Worker-thread entry of metaTestClone({ workers }) (plain ESM, shipped next to the built bundle in dist/; loaded by
// core's WorkerPool). Initialises this thread's tfjs backend once (the caller's, from the task) and runs one
// (dataset, seed) task of the meta-test.
import { initBackend } from '@vsml/core';
import { runMetaTestTask as run } from './index.js';

let ready = null;

export async function runMetaTestTask(task) {
  ready ??= initBackend({ backend: task.backend });
  await ready;
  return run(task);
}
