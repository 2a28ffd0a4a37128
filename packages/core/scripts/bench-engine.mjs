#!/usr/bin/env node
// Forward-throughput benchmark of the WebAssembly forward engine, back to back with the numpy reference.
//
//   node packages/core/scripts/bench-engine.mjs --config paper|small [options]
//
// Shapes as ../shared/peer/bench_numpy.py: paper = A 784, B 10, P 1 and 16, 100 steps; small = A 16, B 4,
// P 128, 200 steps; 2 micro ticks. Metric: sub-LSTM ticks per second = A·B·P·microTicks·steps / wall time,
// one thread. Prints JSON lines on stdout:
//   {"bench":"vsml-engine", ...,"results":[{"impl":"engine","P":..,"sub_lstm_ticks_per_s":..}, ...]}
//   {"bench":"numpy", ...}                      (the reference's own line, unchanged)
//   {"bench":"ratio","round":r,"ratios":[{"P":..,"ratio":engine/numpy,"ratio_cpu":..}, ...]}
//     (ratio: wall time, the metric of the issue; ratio_cpu: per CPU-second of each process)
//   {"bench":"summary","median_ratio":{...}}    (after all rounds)
// Rounds alternate the order (engine first, then numpy first, ...). Machines are shared and noisy: only
// ratios measured back to back count; take the median over rounds.
//
// Options:
//   --rounds N       back-to-back rounds (default 3)
//   --repeats N      timed runs per measurement, median reported (default 3; numpy gets the same)
//   --simd MODE      auto | relaxed | baseline (default auto)
//   --P n [n...]     override the population sizes; --steps n overrides the steps
//   --no-numpy       engine only
//   --numpy PATH     the reference script (default: ../shared/peer/bench_numpy.py next to the repo)
//   --python EXE     python interpreter (default python3)
//   --profile        instead: per-phase time of the engine (profiling build, see assembly/engine.ts)
//   --source FILE    with --profile: build this AssemblyScript file instead of assembly/engine.ts (experiments)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = resolve(here, '..');
const repoRoot = resolve(pkgDir, '../..');

const CONFIGS = {
  paper: { A: 784, B: 10, Ps: [1, 16], steps: 100 },
  small: { A: 16, B: 4, Ps: [128], steps: 200 },
};

function parseArgs(argv) {
  const o = { rounds: 3, repeats: 3, simd: 'auto', numpy: true, profile: false, python: 'python3', seed: 0, mt: 2 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`bench-engine: ${a} needs a value`);
      return argv[++i];
    };
    if (a === '--config') o.config = next();
    else if (a === '--rounds') o.rounds = Number(next());
    else if (a === '--repeats') o.repeats = Number(next());
    else if (a === '--simd') o.simd = next();
    else if (a === '--steps') o.steps = Number(next());
    else if (a === '--micro-ticks') o.mt = Number(next());
    else if (a === '--seed') o.seed = Number(next());
    else if (a === '--P') {
      o.Ps = [];
      while (i + 1 < argv.length && /^\d+$/.test(argv[i + 1])) o.Ps.push(Number(argv[++i]));
    } else if (a === '--no-numpy') o.numpy = false;
    else if (a === '--numpy') o.numpyScript = next();
    else if (a === '--python') o.python = next();
    else if (a === '--profile') o.profile = true;
    else if (a === '--source') o.source = resolve(next());
    else if (a === '--help' || a === '-h') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0]);
      process.exit(0);
    } else throw new Error(`bench-engine: unknown argument ${a}`);
  }
  if (!CONFIGS[o.config]) throw new Error('bench-engine: --config paper|small is required');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const cfg = CONFIGS[opts.config];
const Ps = opts.Ps ?? cfg.Ps;
const T = opts.steps ?? cfg.steps;
const { A, B } = cfg;

const loadavg = () => os.loadavg().map((v) => Number(v.toFixed(2)));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
};
const rnd = (x) => (typeof x === 'number' && !Number.isInteger(x) ? Number(x.toPrecision(4)) : x);
const rounded = (o) => JSON.parse(JSON.stringify(o, (_k, v) => rnd(v)));

let profileDir;
if (opts.profile) {
  // a profiling build of the same source: phase timers around each part of the layer tick
  profileDir = mkdtempSync(join(os.tmpdir(), 'vsml-engine-profile-'));
  const asc = (await import('assemblyscript/asc')).default;
  for (const [file, feats] of [
    ['vsml-engine.simd.wasm', ['simd']],
    ['vsml-engine.relaxed.wasm', ['simd', 'relaxed-simd']],
  ]) {
    const { error, stderr } = await asc.main([
      opts.source ?? join(pkgDir, 'assembly/engine.ts'), '--outFile', join(profileDir, file), '-O3', '--noAssert',
      '--runtime', 'stub', '--use', 'ENGINE_PROFILE=1', ...feats.flatMap((f) => ['--enable', f]),
    ]);
    if (error) throw new Error(`profiling build failed: ${stderr.toString()}`);
  }
  process.env.VSML_ENGINE_WASM_DIR = profileDir;
  // phases and tiles timed in process CPU time: time slices lost to other processes do not count
  process.env.VSML_ENGINE_PROFILE_CLOCK = 'cpu';
}
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

await import('./register-ts.mjs');
const { createForwardEngine } = await import('../src/engine/index.ts');
const { Rng } = await import('../../rng/src/index.ts');

/** Engine, parameters (official init), initial state and data for one shape. */
function setup(P) {
  const engine = createForwardEngine({ layers: [{ in: A, out: B }], microTicks: opts.mt, population: P, simd: opts.simd });
  const rng = Rng.fromSeed(opts.seed, P);
  const tn = (n, std) => rng.fillTruncatedNormal(new Float32Array(n), std);
  engine.setParams({
    'lstm.w': tn(32 * 64, 1 / Math.sqrt(32)),
    'lstm.b': new Float32Array(64),
    'fwd.w': tn(16 * 8, 1 / 4),
    'fwd.b': new Float32Array(8),
    'bwd.w': tn(16 * 8, 1 / 4),
    'bwd.b': new Float32Array(8),
  });
  const c0 = new Float32Array(P * A * B * 16);
  for (let s = 0; s < P * A * B; s++) for (let j = 0; j < 8; j++) c0[s * 16 + j] = rng.truncatedNormal() / Math.sqrt(A);
  const x = rng.fillNormal(new Float32Array(T * P * A));
  const y = Int32Array.from({ length: T * P }, () => rng.int(0, B));
  const run = () => {
    engine.setState(0, c0);
    engine.resetMessages();
    return engine.runEpisode(x, y);
  };
  return { engine, run };
}

function benchEngine() {
  const out = {
    bench: 'vsml-engine', config: opts.config, A, B, Ps, steps: T, micro_ticks: opts.mt, simd: null,
    node: process.version, cpu: os.cpus()[0]?.model, ncpu: os.cpus().length, loadavg_start: loadavg(), results: [],
  };
  for (const P of Ps) {
    const { engine, run } = setup(P);
    out.simd = engine.simd;
    run(); // warm-up (and WebAssembly tier-up)
    const wall = [];
    const cpu = [];
    for (let r = 0; r < opts.repeats; r++) {
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      run();
      const w1 = performance.now();
      const c1 = process.cpuUsage(c0);
      wall.push((w1 - w0) / 1000);
      cpu.push((c1.user + c1.system) / 1e6);
    }
    const ticks = A * B * P * opts.mt * T;
    const w = median(wall);
    out.results.push({
      impl: 'engine', P, A, B, micro_ticks: opts.mt, steps: T, sub_lstm_ticks: ticks,
      wall_s_median: w, wall_s_runs: wall, cpu_s_median: median(cpu),
      sub_lstm_ticks_per_s: ticks / w, sub_lstm_ticks_per_s_best: ticks / Math.min(...wall),
      sub_lstm_ticks_per_cpu_s: ticks / median(cpu), ns_per_sub_lstm_tick: (w / ticks) * 1e9, steps_per_s: T / w,
      gflops_nominal: (2 * 2304 * ticks) / w / 1e9,
    });
  }
  out.loadavg_end = loadavg();
  return out;
}

function benchNumpy() {
  const script = opts.numpyScript ?? resolve(repoRoot, '../shared/peer/bench_numpy.py');
  if (!existsSync(script)) throw new Error(`bench-engine: numpy reference not found at ${script} (use --numpy PATH or --no-numpy)`);
  const args = [script, '--config', opts.config, '--impl', 'fused', '--no-ceiling', '--repeats', String(opts.repeats)];
  if (opts.Ps) args.push('--P', ...Ps.map(String));
  if (opts.steps) args.push('--steps', String(T));
  if (opts.mt !== 2) args.push('--micro-ticks', String(opts.mt));
  const r = spawnSync(opts.python, args, { encoding: 'utf8', cwd: dirname(script) });
  if (r.status !== 0) throw new Error(`bench-engine: ${opts.python} ${script} failed:\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop();
  return { line, data: JSON.parse(line) };
}

function profile() {
  const out = { bench: 'vsml-engine-profile', config: opts.config, A, B, steps: T, micro_ticks: opts.mt, loadavg_start: loadavg(), results: [] };
  const names = ['messages_in', 'sub_lstm', 'messages_out', 'head'];
  for (const P of Ps) {
    const { engine, run } = setup(P);
    const { exports: ex, cfg: cfgPtr } = engine.internals();
    run();
    // the fastest of 3 profiled runs (the machine is shared: the fastest run is the least disturbed)
    let total = Infinity;
    let wallMs = Infinity;
    let phases;
    for (let r = 0; r < 3; r++) {
      ex.profileReset();
      const w0 = performance.now();
      const t0 = cpuNow();
      run();
      const dt = cpuNow() - t0;
      if (dt < total) {
        total = dt;
        wallMs = performance.now() - w0;
        phases = Object.fromEntries(names.map((n, i) => [n, ex.profileRead(i)]));
      }
    }
    phases.js_io_other = total - names.reduce((a, n) => a + phases[n], 0);
    // the sub-LSTM tile in isolation (2 sub-LSTMs, all micro ticks, data in L1)
    const tileNs = (mode) => {
      let iters = 1000;
      for (;;) {
        const s = cpuNow();
        ex.benchTile(cfgPtr, mode, iters);
        const dt = cpuNow() - s;
        if (dt > 60) return ((dt / iters) * 1e6) / (2 * opts.mt); // ns per sub-LSTM micro tick
        iters *= 4;
      }
    };
    engine.setState(0, new Float32Array(P * A * B * 16).fill(0.01));
    tileNs(0);
    const best = (mode) => Math.min(...[0, 1, 2, 3, 4].map(() => tileNs(mode)));
    const full = best(0);
    const gemm = best(1);
    const gemmTanh = best(2);
    const subTicks = A * B * P * opts.mt * T;
    const tileMs = (full * subTicks) / 1e6;
    out.results.push({
      P,
      clock: 'process CPU time',
      total_ms: total,
      wall_ms: wallMs,
      ns_per_sub_lstm_tick: (total * 1e6) / subTicks,
      phases_ms: phases,
      tile_isolated_ns_per_sub_tick: { gemm, gate_tanh: gemmTanh - gemm, state_update: full - gemmTanh, total: full },
      sub_lstm_split_ms: {
        gemm: (gemm * subTicks) / 1e6,
        gate_tanh: ((gemmTanh - gemm) * subTicks) / 1e6,
        state_update: ((full - gemmTanh) * subTicks) / 1e6,
        sums_loops_memory: phases.sub_lstm - tileMs,
      },
    });
  }
  out.simd = createForwardEngine({ layers: [{ in: 2, out: 2 }], population: 1, simd: opts.simd }).simd;
  out.loadavg_end = loadavg();
  return out;
}

if (opts.profile) {
  try {
    console.log(JSON.stringify(rounded(profile())));
  } finally {
    rmSync(profileDir, { recursive: true, force: true });
  }
} else {
  const ratios = new Map(Ps.map((P) => [P, []]));
  const cpuRatios = new Map(Ps.map((P) => [P, []]));
  const engTicks = new Map(Ps.map((P) => [P, []]));
  const npTicks = new Map(Ps.map((P) => [P, []]));
  for (let round = 0; round < (opts.numpy ? opts.rounds : 1); round++) {
    let eng;
    let np;
    const doEngine = () => {
      eng = benchEngine();
      console.log(JSON.stringify(rounded(eng)));
    };
    const doNumpy = () => {
      np = benchNumpy();
      console.log(np.line);
    };
    if (!opts.numpy) doEngine();
    else if (round % 2 === 0) {
      doEngine();
      doNumpy();
    } else {
      doNumpy();
      doEngine();
    }
    if (!opts.numpy) break;
    const rs = Ps.map((P) => {
      const er = eng.results.find((r) => r.P === P);
      const nr = np.data.results.find((r) => r.P === P && r.impl === 'fused');
      const e = er.sub_lstm_ticks_per_s;
      const n = nr.sub_lstm_ticks_per_s;
      // per CPU-second as well: less sensitive to other processes taking time slices
      const eCpu = er.sub_lstm_ticks_per_cpu_s;
      const nCpu = nr.sub_lstm_ticks_per_cpu_s;
      ratios.get(P).push(e / n);
      cpuRatios.get(P).push(eCpu / nCpu);
      engTicks.get(P).push(e);
      npTicks.get(P).push(n);
      return { P, engine_ticks_per_s: e, numpy_ticks_per_s: n, ratio: e / n, ratio_cpu: eCpu / nCpu };
    });
    console.log(JSON.stringify(rounded({ bench: 'ratio', config: opts.config, round, simd: eng.simd, ratios: rs, loadavg: loadavg() })));
  }
  if (opts.numpy) {
    const med = (m) => Object.fromEntries(Ps.map((P) => [P, median(m.get(P))]));
    console.log(
      JSON.stringify(
        rounded({
          bench: 'summary', config: opts.config, rounds: opts.rounds, median_ratio: med(ratios),
          median_ratio_cpu: med(cpuRatios),
          engine_median_ticks_per_s: med(engTicks), numpy_median_ticks_per_s: med(npTicks), loadavg: loadavg(),
        }),
      ),
    );
  }
}
