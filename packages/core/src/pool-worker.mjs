// Worker-thread entry of @vsml/core's WorkerPool (plain ESM, loaded by piscina; shipped as-is in dist next to the
// bundles). Imports the task module once per thread, calls its export on one task and always *returns*: a throw
// becomes plain error data {name, code, message, details?}, so the pool never loses a thread to a task's error.

const cache = new Map();

async function load(moduleUrl, exportName) {
  const key = `${moduleUrl}#${exportName}`;
  let fn = cache.get(key);
  if (fn === undefined) {
    const mod = await import(moduleUrl);
    fn = mod[exportName];
    // a CommonJS module imported from ESM exposes module.exports as `default`
    if (typeof fn !== 'function' && mod.default !== null && typeof mod.default === 'object') fn = mod.default[exportName];
    if (typeof fn !== 'function') throw new Error(`module has no function export '${exportName}'`);
    cache.set(key, fn);
  }
  return fn;
}

function report(e, fallbackCode) {
  const isObj = typeof e === 'object' && e !== null;
  const out = {
    name: isObj && typeof e.name === 'string' ? e.name : 'Error',
    code: isObj && typeof e.code === 'string' ? e.code : fallbackCode,
    message: isObj && typeof e.message === 'string' ? e.message : String(e),
  };
  if (isObj && typeof e.details === 'object' && e.details !== null) {
    try {
      out.details = structuredClone(e.details);
    } catch {
      // details that cannot cross threads are dropped
    }
  }
  return out;
}

/** {moduleUrl, exportName, task} → {ok: true, value} | {ok: false, error} */
export default async function run({ moduleUrl, exportName, task }) {
  let fn;
  try {
    fn = await load(moduleUrl, exportName);
  } catch (e) {
    return { ok: false, error: { name: 'VsmlError', code: 'WORKER_FAILED', message: `cannot load '${exportName}' from ${moduleUrl}: ${report(e, '').message}` } };
  }
  try {
    return { ok: true, value: await fn(task) };
  } catch (e) {
    return { ok: false, error: report(e, 'WORKER_FAILED') };
  }
}
