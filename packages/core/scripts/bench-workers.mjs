#!/usr/bin/env node
// Population evaluation with the forward engine in worker threads: 1 worker vs 2 workers on the same tasks.
//
//   node packages/core/scripts/bench-workers.mjs [--config small|paper] [--tasks N] [--rounds R] [--workers 1,2]
//
// A task is one chunk of an ES population: P members, each with its own V_M, initial state and episode
// (small: 16→4, P 16, 200 steps; paper: 784→10, P 1, 100 steps). Tasks go to the workers through a queue. Every
// worker warms up (compile + WebAssembly tier-up) before the clock starts. Prints one JSON line per measurement
// and a summary with the median speed-up of 2 workers over 1 across rounds (the order alternates per round).
//
// The machine is shared: besides the load average, each line reports how many cores *other* processes used
// during the measurement (from /proc/stat minus this process's CPU time), so a speed-up below 2 can be read
// against the CPU that was actually free.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';

const SHAPES = {
  small: { A: 16, B: 4, P: 16, T: 200, tasks: 16 },
  paper: { A: 784, B: 10, P: 1, T: 100, tasks: 8 },
};

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const config = arg('--config', 'small');
const shape = SHAPES[config];
if (!shape) throw new Error('bench-workers: --config small|paper');
const nTasks = Number(arg('--tasks', shape.tasks));
const rounds = Number(arg('--rounds', 3));
const counts = arg('--workers', '1,2').split(',').map(Number);
const simd = arg('--simd', 'auto');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
};
const r4 = (x) => Number(x.toPrecision(4));

/** Busy and total jiffies of the whole machine (all CPUs), from /proc/stat. */
function machineTicks() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}
const HZ = 100; // USER_HZ on Linux

async function startWorkers(n) {
  const ws = [];
  for (let i = 0; i < n; i++) {
    const w = new Worker(new URL('./engine-worker.mjs', import.meta.url));
    const ready = await new Promise((res, rej) => {
      w.once('message', res);
      w.once('error', rej);
    });
    ws.push({ w, simd: ready.simd });
  }
  return ws;
}

function runTask(w, task) {
  return new Promise((res, rej) => {
    const on = (m) => {
      if (m.id !== task.id) return;
      w.off('message', on);
      if (m.error) rej(new Error(m.error));
      else res(m);
    };
    w.on('message', on);
    w.postMessage(task);
  });
}

async function measure(pool, nWorkers) {
  const ws = pool.slice(0, nWorkers);
  const base = { A: shape.A, B: shape.B, P: shape.P, T: shape.T, simd };
  // warm-up: two tasks per worker (compile, tier-up, memory)
  for (let k = 0; k < 2; k++) await Promise.all(ws.map(({ w }, i) => runTask(w, { ...base, id: -1 - i, seed: 1000 + i })));
  const queue = Array.from({ length: nTasks }, (_, i) => ({ ...base, id: i, seed: i }));
  const losses = new Array(nTasks);
  let engineMs = 0;
  let engineCpu = 0;
  const m0 = machineTicks();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    ws.map(async ({ w }) => {
      for (let task = queue.shift(); task !== undefined; task = queue.shift()) {
        const r = await runTask(w, task);
        losses[task.id] = r.meanLoss;
        engineMs += r.engineMs;
        engineCpu += r.engineCpuS;
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  const m1 = machineTicks();
  const ownCpu = (cu.user + cu.system) / 1e6;
  const machineBusy = m0 && m1 ? (m1.busy - m0.busy) / HZ : null;
  const subTicks = shape.A * shape.B * shape.P * 2 * shape.T * nTasks;
  return {
    workers: nWorkers,
    simd: ws[0].simd,
    wall_s: wall,
    sub_lstm_ticks_per_s: subTicks / wall,
    own_cpu_s: ownCpu,
    own_cores_used: ownCpu / wall,
    other_cores_used: machineBusy === null ? null : Math.max(0, machineBusy - ownCpu) / wall,
    engine_s_sum: engineMs / 1000,
    // thread CPU time of the episodes (/proc/thread-self/stat): ticks per CPU-second shows whether two workers
    // slow each other down (shared caches, memory bandwidth, clock) independently of how much CPU the OS gave us
    engine_thread_cpu_s: engineCpu,
    sub_lstm_ticks_per_thread_cpu_s: subTicks / engineCpu,
    loadavg: os.loadavg().map((v) => Number(v.toFixed(2))),
    checksum: losses.reduce((a, b) => a + b, 0),
  };
}

// One pool for the whole run (Node 20: starting a worker after terminating one that imported TypeScript
// through the module hooks of ./register-ts.mjs crashes the process, so workers are never restarted).
const pool = await startWorkers(Math.max(...counts));
const speedups = [];
const cpuEff = [];
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? counts : [...counts].reverse();
  const res = {};
  for (const n of order) {
    res[n] = await measure(pool, n);
    console.log(JSON.stringify({ bench: 'workers', config, round: r, tasks: nTasks, ...shape, ...res[n], wall_s: r4(res[n].wall_s) }));
  }
  if (res[1] && res[2]) {
    if (Math.abs(res[1].checksum - res[2].checksum) > 1e-9 * Math.abs(res[1].checksum)) {
      throw new Error('bench-workers: 1 and 2 workers computed different losses');
    }
    speedups.push(res[1].wall_s / res[2].wall_s);
    cpuEff.push(res[2].sub_lstm_ticks_per_thread_cpu_s / res[1].sub_lstm_ticks_per_thread_cpu_s);
  }
}
await Promise.all(pool.map(({ w }) => w.terminate()));
console.log(
  JSON.stringify({
    bench: 'workers-summary',
    config,
    rounds,
    speedup_2_over_1: speedups.map(r4),
    median_speedup: speedups.length ? r4(median(speedups)) : null,
    // per-thread efficiency with 2 workers relative to 1: ~1 means the two workers do not slow each other down,
    // so on two otherwise idle cores the speed-up is about 2 × this
    cpu_efficiency_2_over_1: cpuEff.map(r4),
    median_cpu_efficiency: cpuEff.length ? r4(median(cpuEff)) : null,
    ncpu: os.cpus().length,
    loadavg: os.loadavg().map((v) => Number(v.toFixed(2))),
  }),
);
