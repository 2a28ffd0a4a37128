// Worker thread of scripts/bench-workers.mjs: evaluates population chunks with its own forward engine
// (each worker thread compiles and instantiates its own WebAssembly module and memory).
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

/** CPU seconds of this thread (Linux: /proc/thread-self/stat utime + stime, 10 ms resolution), or NaN. */
function threadCpuS() {
  try {
    const s = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

await import('./register-ts.mjs');
const { createForwardEngine } = await import('../src/engine/index.ts');
const { Rng } = await import('../../rng/src/index.ts');

const engines = new Map();

function evaluate({ A, B, P, T, seed, simd }) {
  const key = `${A}x${B}x${P}`;
  let engine = engines.get(key);
  if (engine === undefined) {
    engine = createForwardEngine({ layers: [{ in: A, out: B }], population: P, perMemberParams: true, simd });
    engines.set(key, engine);
  }
  // ES-style: every member its own V_M (official init), its own initial state and episode
  const rng = Rng.fromSeed(seed);
  const n = engine.paramCount;
  const vm = new Float32Array(P * n);
  rng.fillTruncatedNormal(vm, 1 / Math.sqrt(32));
  engine.setPopulationParamsFlat(vm);
  const c0 = new Float32Array(P * A * B * 16);
  for (let s = 0; s < P * A * B; s++) for (let j = 0; j < 8; j++) c0[s * 16 + j] = rng.truncatedNormal() / Math.sqrt(A);
  engine.setState(0, c0);
  engine.resetMessages();
  const x = rng.fillNormal(new Float32Array(T * P * A));
  const y = Int32Array.from({ length: T * P }, () => rng.int(0, B));
  const cpu0 = threadCpuS();
  const t0 = performance.now();
  const r = engine.runEpisode(x, y);
  return { meanLoss: r.meanLoss, engineMs: performance.now() - t0, engineCpuS: threadCpuS() - cpu0 };
}

parentPort.on('message', (task) => {
  try {
    parentPort.postMessage({ id: task.id, ...evaluate(task) });
  } catch (e) {
    parentPort.postMessage({ id: task.id, error: String(e?.stack ?? e) });
  }
});
parentPort.postMessage({ ready: true, simd: createForwardEngine({ layers: [{ in: 2, out: 2 }], population: 1 }).simd });
