/**
 * `vsml bench tick --config clone`: one step of the clone's meta-test exactly as `metaTestClone` runs it (784→10,
 * slow 32, msg 8, inner batch 64 merged, clip, forward tick + reverse tick; see @vsml/clone loop.ts) on the forward
 * engine (`wasm`) and on tfjs (`cloneStep`), interleaved over rounds; one JSON line per engine (median seconds per
 * step, sub-LSTM ticks per second = 784·10·64·micro_ticks·2 ticks per step) and one with the ratio, each with the
 * load average.
 *
 * `vsml bench tick --config paper|small`: forward throughput of the VSML RNN in sub-LSTM ticks per second, in the
 * form of `bench_numpy.py` (design peer benchmark): the same shapes (paper: A = 784, B = 10, P = 1 and 16, 100 steps;
 * small: A = 16, B = 4, P = 128, 200 steps), 2 micro ticks, the official default model, N(0,1) inputs. One JSON line
 * per shape; `sub_lstm_ticks = A·B·P·micro_ticks·steps`, divided by the median wall time of the timed runs.
 * The timed run is a full `runEpisode` (ticks, logits, loss, error feedback), the initial state is built outside.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import type { Command } from 'commander';
import { Rng } from '@vsml/rng';
import {
  createForwardEngine,
  defaultModelConfig,
  disposeParams,
  disposeState,
  flattenParams,
  initParams,
  initState,
  prepareModel,
  disposePreparedModel,
  runEpisode,
  tf,
  type VlState,
  type KernelName,
  type ModelConfig,
  type ParamSet,
} from '@vsml/core';
import { cloneModelConfig, cloneStep, createCloneEngine, tidy, MetaTestSchema } from '@vsml/clone';
import { BACKEND_HELP, positiveInt, setupBackend, stdout, type Out } from './common.js';
import { registerCloneBenches } from './bench-clone.js';

/** The shapes of `bench_numpy.py` (bench_common.CONFIGS). */
export const TICK_CONFIGS = {
  paper: { A: 784, B: 10, Ps: [1, 16], steps: 100 },
  small: { A: 16, B: 4, Ps: [128], steps: 200 },
} as const;

/** Nominal multiply-adds per sub-LSTM per micro tick (gate matmul 32×64 + two 16×8 messengers), as bench_numpy. */
const MACS_PER_SUBTICK = 32 * 64 + 2 * 16 * 8;

/** Which implementation is timed: the WebAssembly forward engine, or the tfjs episode runner. */
export type TickEngine = 'wasm' | 'tfjs';

/** The clone's meta-test step (App. D): MNIST 784→10, inner batch 64; the model is the clone preset's. */
export const CLONE_TICK_SHAPE = { D: 784, C: 10, innerBatch: 64 } as const;

export interface TickBenchOptions {
  config: keyof typeof TICK_CONFIGS | 'clone';
  /** default `wasm` (the fast forward engine); `tfjs` times `runEpisode` on the chosen backend */
  engine?: TickEngine;
  /** path of the numpy peer's `bench_numpy.py`: run it for the same config right after and print the ratios */
  numpy?: string;
  backend?: string;
  kernel?: KernelName;
  /** override the population sizes */
  P?: number[];
  steps?: number;
  microTicks?: number;
  repeats?: number;
  seed?: number;
  /** clone only: the engines to time (default both, interleaved) */
  engines?: TickEngine[];
  /** clone only: other sizes (tests) */
  cloneShape?: { D: number; C: number; innerBatch: number };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : 0.5 * (s[n / 2 - 1]! + s[n / 2]!);
}

const round = (x: number): number => Number(x.toPrecision(4));

/** Runs the benchmark and writes one JSON line per population size. */
export async function runTickBench(opts: TickBenchOptions, out: Out = stdout): Promise<Record<string, unknown>[]> {
  if (opts.config === 'clone') return runCloneTickBench(opts, out);
  const shape = TICK_CONFIGS[opts.config];
  if (!shape) throw new Error(`--config must be paper or small, got '${String(opts.config)}'`);
  const engine = opts.engine ?? 'wasm';
  // the tfjs backend is only needed for tfjs timing (V_M init uses tfjs too, on any backend)
  const backend = await setupBackend(opts.backend);
  const A = shape.A;
  const B = shape.B;
  const T = opts.steps ?? shape.steps;
  const mt = opts.microTicks ?? 2;
  const repeats = opts.repeats ?? 3;
  const seed = opts.seed ?? 0;
  const kernel = opts.kernel ?? 'fused';
  const config = defaultModelConfig({ layers: [{ in: A, out: B }], microTicks: mt });
  const params = initParams(config, seed);
  const records: Record<string, unknown>[] = [];
  try {
    for (const P of opts.P ?? shape.Ps) {
      const rng = Rng.fromSeed(seed + 1, P);
      const x = rng.fillNormal(new Float32Array(T * P * A));
      const y = new Int32Array(T * P).map(() => rng.int(0, B));
      const { run, dispose, impl } = await episodeRunner(engine, config, params, P, x, y, T, seed + 1, kernel);
      await run(); // warm-up
      const wall: number[] = [];
      const cpu: number[] = [];
      for (let k = 0; k < repeats; k++) {
        const c0 = process.cpuUsage();
        const w0 = performance.now();
        await run();
        const w = (performance.now() - w0) / 1000;
        const c = process.cpuUsage(c0);
        wall.push(w);
        cpu.push((c.user + c.system) / 1e6);
      }
      dispose();
      const ticks = A * B * P * mt * T;
      const w = median(wall);
      const c = median(cpu);
      const rec = {
        bench: engine === 'wasm' ? 'vsml-engine' : 'tfjs',
        backend: engine === 'wasm' ? 'wasm-engine' : backend.name,
        config: opts.config,
        impl,
        P,
        A,
        B,
        micro_ticks: mt,
        steps: T,
        sub_lstm_ticks: ticks,
        wall_s_median: round(w),
        wall_s_runs: wall.map(round),
        cpu_s_median: round(c),
        sub_lstm_ticks_per_s: round(ticks / w),
        sub_lstm_ticks_per_s_best: round(ticks / Math.min(...wall)),
        sub_lstm_ticks_per_cpu_s: round(ticks / c),
        ns_per_sub_lstm_tick: round((w / ticks) * 1e9),
        steps_per_s: round(T / w),
        gflops_nominal: round((2 * MACS_PER_SUBTICK * ticks) / w / 1e9),
      };
      records.push(rec);
      out.write(`${JSON.stringify(rec)}\n`);
    }
  } finally {
    disposeParams(params);
  }
  if (opts.numpy) records.push(...compareWithNumpy(opts.numpy, opts.config, records, out));
  return records;
}

const loadavg = (): number[] => os.loadavg().map((v) => Number(v.toFixed(2)));

/**
 * The clone's meta-test step on both engines, interleaved: per round one `steps`-step run of each engine, after one
 * warm-up step each. Both start from core's `initState` and see the same data.
 */
async function runCloneTickBench(opts: TickBenchOptions, out: Out): Promise<Record<string, unknown>[]> {
  const backend = await setupBackend(opts.backend);
  const { D, C, innerBatch: B } = opts.cloneShape ?? CLONE_TICK_SHAPE;
  const engines = opts.engines ?? ['wasm', 'tfjs'];
  const T = opts.steps ?? 1;
  const rounds = opts.repeats ?? 3;
  const seed = opts.seed ?? 0;
  const spec = MetaTestSchema.parse({}); // the meta-test defaults: errorScale, chunkRows
  const config = cloneModelConfig(opts.microTicks ? { microTicks: opts.microTicks } : {}, [D, C]);
  const params = initParams(config, seed);
  const vm = flattenParams(params, config);
  const rng = Rng.fromSeed(seed + 1, 0xc10e);
  const x = rng.fillUniform(new Float32Array((T + 1) * B * D), 0, 1);
  const y = new Int32Array((T + 1) * B).map(() => rng.int(0, C));
  const stateSeed = seed + 2;
  const runners = new Map<TickEngine, { step: (t: number) => Promise<void>; dispose: () => void; impl: string }>();
  const records: Record<string, unknown>[] = [];
  try {
    for (const engine of engines) {
      if (engine === 'wasm') {
        const e = createCloneEngine(config, vm, B, spec.errorScale, stateSeed);
        runners.set('wasm', {
          impl: `vsml-engine fused-simd-${e.simd}`,
          step: async (t) => void e.runEpisode(x.subarray(t * B * D, (t + 1) * B * D), y.subarray(t * B, (t + 1) * B)),
          dispose: () => {},
        });
      } else {
        const model = prepareModel(params, config);
        let state: VlState = initState(config, { population: 1, innerBatch: B, seed: stateSeed });
        runners.set('tfjs', {
          impl: `cloneStep on tfjs-${backend.name} (chunkRows ${spec.chunkRows})`,
          step: async (t) => {
            const prev = state;
            const r = tidy(() => {
              const xs = tf.tensor2d(x.subarray(t * B * D, (t + 1) * B * D), [B, D]);
              const ys = tf.tensor1d(y.subarray(t * B, (t + 1) * B), 'int32');
              const s = cloneStep(model, prev, xs, ys, { errorScale: spec.errorScale, chunkRows: spec.chunkRows });
              return { state: s.state, logits: s.logits };
            });
            state = r.state;
            disposeState(prev, state);
            await r.logits.data(); // wait for the backend
            r.logits.dispose();
          },
          dispose: () => {
            disposeState(state);
            disposePreparedModel(model);
          },
        });
      }
    }
    for (const r of runners.values()) await r.step(T); // warm-up on the spare step of data
    const times = new Map<TickEngine, number[]>(engines.map((e) => [e, []]));
    for (let k = 0; k < rounds; k++) {
      for (const [engine, r] of runners) {
        const w0 = performance.now();
        for (let t = 0; t < T; t++) await r.step(t);
        times.get(engine)!.push((performance.now() - w0) / 1000 / T);
      }
    }
    const ticksPerStep = D * C * B * config.microTicks * 2; // forward + reverse tick
    const perStep = new Map<TickEngine, number>();
    for (const [engine, r] of runners) {
      const s = median(times.get(engine)!);
      perStep.set(engine, s);
      const rec = {
        bench: 'clone-step',
        config: 'clone',
        engine,
        impl: r.impl,
        D,
        C,
        slow_size: config.slowSize,
        msg_size: config.msgSize,
        inner_batch: B,
        micro_ticks: config.microTicks,
        steps_per_round: T,
        rounds,
        seconds_per_step: round(s),
        seconds_per_step_runs: times.get(engine)!.map(round),
        sub_lstm_ticks_per_s: round(ticksPerStep / s),
        loadavg: loadavg(),
      };
      records.push(rec);
      out.write(`${JSON.stringify(rec)}\n`);
    }
    if (perStep.has('wasm') && perStep.has('tfjs')) {
      const rec = { bench: 'ratio', config: 'clone', wasm_over_tfjs: round(perStep.get('tfjs')! / perStep.get('wasm')!), loadavg: loadavg() };
      records.push(rec);
      out.write(`${JSON.stringify(rec)}\n`);
    }
  } finally {
    for (const r of runners.values()) r.dispose();
    disposeParams(params);
  }
  return records;
}

/** Builds the timed closure for one population size; state and data are prepared outside the timer. */
async function episodeRunner(
  engine: TickEngine,
  config: ModelConfig,
  params: ParamSet,
  P: number,
  x: Float32Array,
  y: Int32Array,
  T: number,
  stateSeed: number,
  kernel: KernelName,
): Promise<{ run: () => Promise<void>; dispose: () => void; impl: string }> {
  if (engine === 'wasm') {
    const e = createForwardEngine({ ...config, population: P });
    e.setParamsFlat(flattenParams(params, config));
    e.initState(stateSeed);
    const c0 = e.getState(0).c;
    return {
      impl: `fused-simd-${e.simd}`,
      run: async () => {
        e.setState(0, c0);
        e.resetMessages();
        e.runEpisode(x, y);
      },
      dispose: () => {},
    };
  }
  const state = initState(config, { population: P, seed: stateSeed });
  return {
    impl: kernel,
    run: async () => {
      const r = runEpisode(params, config, { inputs: x, labels: y, steps: T, population: P }, { initialState: state, kernel });
      await r.logits.data();
      tf.dispose([r.logits, r.loss, r.correct]);
    },
    dispose: () => disposeState(state),
  };
}

/** Runs the numpy peer for the same config and prints ratio records (ours / numpy fused), measured back to back. */
function compareWithNumpy(script: string, config: string, ours: Record<string, unknown>[], out: Out): Record<string, unknown>[] {
  let text: string;
  try {
    text = execFileSync('python3', [script, '--config', config], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`--numpy: running python3 ${script} failed: ${(err as Error).message}`);
  }
  // bench_numpy.py prints one JSON object per run with a `results` list (fused and naive per P)
  const peer = text
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .flatMap((l) => ((JSON.parse(l) as { results?: Record<string, unknown>[] }).results ?? []));
  const fused = peer.filter((r) => r['impl'] === 'fused');
  const ratios: Record<string, unknown>[] = [];
  for (const r of ours) {
    const p = fused.find((q) => q['P'] === r['P']);
    if (!p) continue;
    const rec = {
      bench: 'ratio',
      config,
      P: r['P'],
      ours: r['sub_lstm_ticks_per_s'],
      numpy: p['sub_lstm_ticks_per_s'],
      ratio: round(Number(r['sub_lstm_ticks_per_s']) / Number(p['sub_lstm_ticks_per_s'])),
    };
    ratios.push(rec);
    out.write(`${JSON.stringify(rec)}\n`);
  }
  return ratios;
}

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('speed measurements');
  registerCloneBenches(bench);
  bench
    .command('tick')
    .description('forward sub-LSTM ticks per second on the shapes of bench_numpy.py (one JSON line per shape)')
    .requiredOption(
      '--config <name>',
      'paper (A=784, B=10, P=1 and 16, 100 steps) | small (A=16, B=4, P=128, 200 steps) | clone (the clone meta-test step: 784×10, slow 32, inner batch 64, both engines)',
    )
    .option('--backend <name>', BACKEND_HELP)
    .option('--engine <name>', 'wasm (the fast forward engine) | tfjs (runEpisode / cloneStep on --backend); default wasm, for clone both')
    .option('--kernel <name>', 'tfjs dense tick kernel: fused | reference', 'fused')
    .option('--numpy <script>', 'path of bench_numpy.py: run it right after for the same config and print the ratios')
    .option('--P <sizes...>', 'override the population sizes')
    .option('--steps <n>', 'override the steps per episode (clone: steps per round, default 1)', positiveInt('--steps'))
    .option('--micro-ticks <n>', 'micro ticks per step (default 2)', positiveInt('--micro-ticks'))
    .option('--repeats <n>', 'timed runs / rounds (the median is reported)', positiveInt('--repeats'), 3)
    .option('--seed <n>', 'seed of V_M, data and initial state', (v) => Number(v), 0)
    .action(
      async (o: { config: string; engine?: string; numpy?: string; backend?: string; kernel: string; P?: string[]; steps?: number; microTicks?: number; repeats: number; seed: number }) => {
        if (o.config !== 'paper' && o.config !== 'small' && o.config !== 'clone') throw new Error(`--config must be paper, small or clone, got '${o.config}'`);
        if (o.engine !== undefined && o.engine !== 'wasm' && o.engine !== 'tfjs') throw new Error(`--engine must be wasm or tfjs, got '${o.engine}'`);
        if (o.kernel !== 'fused' && o.kernel !== 'reference') throw new Error(`--kernel must be fused or reference, got '${o.kernel}'`);
        await runTickBench({
          config: o.config,
          ...(o.engine ? { engine: o.engine, engines: [o.engine] } : {}),
          ...(o.numpy ? { numpy: o.numpy } : {}),
          kernel: o.kernel,
          ...(o.microTicks ? { microTicks: o.microTicks } : {}),
          repeats: o.repeats,
          seed: o.seed,
          ...(o.backend ? { backend: o.backend } : {}),
          ...(o.steps ? { steps: o.steps } : {}),
          ...(o.P ? { P: o.P.map((p) => positiveInt('--P')(p)) } : {}),
        });
      },
    );
}
