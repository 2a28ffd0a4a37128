// Worker-thread entry of @vsml/evolve's PopulationEvaluator (plain ESM, loaded by piscina; shipped as-is in dist).
// Imports the user's module once per thread, calls its export on one candidate, and always *returns* a result: a
// throw becomes plain error data {name, code, message}, so the pool never loses a thread to a fitness error.

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

/** task: {moduleUrl, exportName, x, info} → {ok: true, f} | {ok: false, error} */
export default async function evaluate(task) {
  const { moduleUrl, exportName, x, info } = task;
  let fn;
  try {
    fn = await load(moduleUrl, exportName);
  } catch (e) {
    return {
      ok: false,
      error: { name: 'EvolveError', code: 'WORKER_MODULE', message: `cannot load '${exportName}' from ${moduleUrl}: ${report(e, '').message}` },
    };
  }
  try {
    const f = await fn(x, info);
    if (typeof f !== 'number') {
      return {
        ok: false,
        error: { name: 'EvolveError', code: 'WORKER_BAD_RESULT', message: `'${exportName}' returned ${typeof f}, expected a number` },
      };
    }
    return { ok: true, f };
  } catch (e) {
    return { ok: false, error: report(e, 'WORKER_THREW') };
  }
}
