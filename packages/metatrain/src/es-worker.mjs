// Worker-thread entry of @vsml/metatrain's WorkerEvaluator (plain ESM, shipped next to the built bundle in dist/).
// Loaded by @vsml/evolve's piscina pool: `unitLoss(x, info)` gets one candidate V_M (Float64Array) and its unit seed,
// rebuilds the model and the task family from `info.context` once per thread, initialises this thread's tfjs
// backend once, and returns the unit's mean episode loss.
import { initBackend } from '@vsml/core';
import { FastEvaluator, TaskFamily, evaluateUnits, modelFromDescription } from './index.js';

let ready = null;
let readyKey = null;

async function setup(context) {
  const key = JSON.stringify(context);
  if (ready === null || readyKey !== key) {
    readyKey = key;
    ready = (async () => {
      await initBackend({ backend: context.backend ?? 'wasm' });
      const model = modelFromDescription(context.model);
      const tasks = new TaskFamily(context.tasks);
      return { model, tasks, fast: context.engine === 'wasm' ? new FastEvaluator(model, tasks) : null };
    })();
  }
  return ready;
}

export async function unitLoss(x, info) {
  const { model, tasks, fast } = await setup(info.context);
  const unit = { vmFlat: Float32Array.from(x), seed: info.seed };
  const losses = fast ? await fast.evaluate([unit]) : await evaluateUnits(model, tasks, [unit]);
  return losses[0];
}
