/**
 * Kill tests of the README's promise: a run killed with SIGKILL (no handler, no checkpoint on the way out) at a
 * point inside a stage, between checkpoints or in the middle of a checkpoint write, then `--resume`d, ends with
 * every output file's parameters and the metrics (minus wall-clock fields) bit for bit equal to an uninterrupted
 * run of the same command. One chain per command and stage kind; each chain kills the run several times.
 *
 * The built CLI (`apps/bench/dist/cli.js`; the package's test script builds it) runs as a child process. The kills
 * come from the test hooks `VSML_TEST_KILL_AT_STEP=<n>` (SIGKILL right after step n is logged; apps/bench
 * `testKillHook`) and `VSML_TEST_KILL_IN_WRITE=<file>:<n>` (SIGKILL in the n-th atomic write of that file, after the
 * temporary file is flushed and before the rename; @vsml/core `writeTypedJsonAtomic`).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');

/** Clone preset: a random-data stage (6 iterations) and a network stage (5 iterations, learners restart inside it). */
const tinyClone = {
  base: 'quick',
  overrides: {
    name: 'tiny',
    model: { slowSize: 6, msgSize: 3 },
    curriculum: [
      { kind: 'subrnn', name: 'random', iterations: 6, batch: 32, window: 2, logEvery: 1, checkpointEvery: 2, optimizer: { lr: 1e-2 } },
      {
        kind: 'network',
        name: 'deep',
        iterations: 5,
        hidden: [3],
        data: { dataset: 'gaussian', dim: 5, classes: 3 },
        innerBatch: 2,
        population: 2,
        window: 2,
        episodeLength: 4,
        teacher: { errors: true },
        initWeights: { kind: 'sgd', maxSteps: 3 },
        rehearsal: { weight: 0.5, batch: 16 },
        logEvery: 1,
        checkpointEvery: 2,
      },
    ],
    metatest: { datasets: ['mnist'], preprocess: { resize: [7, 7] }, steps: 4, innerBatch: 2, seeds: [1], evalEvery: 2, evalCount: 20 },
    // seed 2: the best candidate of the run is in generation 1, before the resume point of the improve chain
    improve: { seed: 2, generations: 4, popSize: 4, steps: 4, innerBatch: 2, preprocess: { resize: [7, 7] }, fitnessWindow: 1, checkpointEvery: 2 },
  },
  suites: { improve: { steps: 4, seeds: [1], evalEvery: 2, evalCount: 20 } },
};

const metatrainConfig = (estimator: Record<string, unknown>) => ({
  metatrain: {
    tasks: { length: 8, episodes: 2, minClasses: 2, maxClasses: 3 },
    outer: { steps: 6, checkpointEvery: 2, metaTestEvery: null },
    metaTests: [],
    estimator,
  },
});

let root = '';
beforeAll(() => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build apps/bench first (its test script runs tsup)`);
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'vsml-kill-'));
  fs.writeFileSync(path.join(root, 'clone.json'), JSON.stringify({ clone: tinyClone }));
  fs.writeFileSync(path.join(root, 'grad.json'), JSON.stringify(metatrainConfig({ kind: 'full-grad' })));
  fs.writeFileSync(path.join(root, 'es.json'), JSON.stringify(metatrainConfig({ kind: 'es', pairs: 2, workers: false })));
  fs.writeFileSync(path.join(root, 'cma.json'), JSON.stringify(metatrainConfig({ kind: 'cma', popSize: 4 })));
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Runs the CLI in `root` with the kill hooks of `env` (and none inherited). */
function vsml(args: string[], env: Record<string, string> = {}): Promise<Exit> {
  const base = { ...process.env };
  delete base['VSML_TEST_KILL_AT_STEP'];
  delete base['VSML_TEST_KILL_IN_WRITE'];
  delete base['NODE_OPTIONS'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: root, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

async function completes(args: string[]): Promise<void> {
  const r = await vsml(args);
  if (r.code !== 0) throw new Error(`vsml ${args.join(' ')} exited with ${r.code ?? r.signal}:\n${r.output}`);
}

async function killed(args: string[], env: Record<string, string>): Promise<void> {
  const r = await vsml(args, env);
  if (r.signal !== 'SIGKILL') throw new Error(`vsml ${args.join(' ')} with ${JSON.stringify(env)} was not killed (exit ${r.code}):\n${r.output}`);
}

const readJson = (f: string): Record<string, unknown> => JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;

/** The parameters of every checkpoint file (vm*.json, checkpoint*.json) of a run directory. */
function paramFiles(dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fs.readdirSync(dir).sort()) {
    if (!/^(vm.*|checkpoint.*)\.json$/.test(f)) continue;
    out[f] = readJson(path.join(dir, f))['params'];
  }
  return out;
}

/** Fields that measure wall-clock time (or name the run directory) and differ between any two runs. */
const WALL_CLOCK = new Set(['seconds', 'elapsedSeconds', 'elapsedMs', 'secondsPerStep', 'path']);

function metrics(dir: string): Record<string, unknown>[] {
  return fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => Object.fromEntries(Object.entries(JSON.parse(l) as Record<string, unknown>).filter(([k]) => !WALL_CLOCK.has(k))));
}

function expectSameRun(broken: string, straight: string): void {
  const want = paramFiles(path.join(root, straight));
  expect(Object.keys(want).length).toBeGreaterThan(0);
  const got = paramFiles(path.join(root, broken));
  expect(Object.keys(got)).toEqual(Object.keys(want));
  for (const f of Object.keys(want)) expect([f, got[f]]).toEqual([f, want[f]]);
  expect(metrics(path.join(root, broken))).toEqual(metrics(path.join(root, straight)));
  expect(readJson(path.join(root, broken, 'run.json'))['status']).toBe('completed');
}

const status = (dir: string): unknown => readJson(path.join(root, dir, 'run.json'))['status'];

describe('kill -9 and --resume: same result as an uninterrupted run', () => {
  for (const method of ['grad', 'es', 'cma'] as const) {
    it(`vsml metatrain --method ${method}: killed between checkpoints and in a checkpoint write`, async () => {
      const args = ['metatrain', '--config', `${method}.json`, '--seed', '2'];
      await completes([...args, '--out', `mt-${method}`]);
      const b = `mt-${method}-killed`;
      if (method === 'grad') {
        // in the write of the first checkpoint: no checkpoint yet, the resumed run starts over (metrics cut back)
        await killed([...args, '--out', b], { VSML_TEST_KILL_IN_WRITE: 'checkpoint.json:1' });
        expect(fs.existsSync(path.join(root, b, 'checkpoint.json'))).toBe(false);
        await killed(['metatrain', '--resume', b], { VSML_TEST_KILL_AT_STEP: '3' });
      } else {
        // step 3: after the checkpoint of step 2, before the one of step 4
        await killed([...args, '--out', b], { VSML_TEST_KILL_AT_STEP: '3' });
      }
      expect(status(b)).toBe('running'); // what kill -9 leaves; the next start finds the process gone
      if (method === 'cma') {
        // resumed at step 2, killed while writing the V_M file of the final checkpoint (its train file is written)
        await killed(['metatrain', '--resume', b], { VSML_TEST_KILL_IN_WRITE: 'checkpoint.vm.json:2' });
      } else {
        // resumed at step 2, killed while writing the checkpoint of step 4
        await killed(['metatrain', '--resume', b], { VSML_TEST_KILL_IN_WRITE: 'checkpoint.json:1' });
      }
      await completes(['metatrain', '--resume', b]);
      expectSameRun(b, `mt-${method}`);
    }, 60_000);
  }

  it('vsml clone: killed in the random-data stage and in the network stage, between checkpoints and in checkpoint writes', async () => {
    const args = ['clone', '--config', 'clone.json'];
    await completes([...args, '--out', 'clone']);
    const b = 'clone-killed';
    // random stage (steps 1-6, checkpoints at 2, 4, 6): in the write of step 4's checkpoint
    await killed([...args, '--out', b], { VSML_TEST_KILL_IN_WRITE: 'checkpoint.json:2' });
    // from step 2: after step 5 (checkpoint of step 4 written)
    await killed(['clone', '--resume', b], { VSML_TEST_KILL_AT_STEP: '5' });
    // from step 4: writes 6 (end of random), 8 (network iteration 2), then dies writing 10 (network iteration 4)
    await killed(['clone', '--resume', b], { VSML_TEST_KILL_IN_WRITE: 'checkpoint.json:3' });
    // from step 8 (inside the network stage, learners mid-episode): after step 9
    await killed(['clone', '--resume', b], { VSML_TEST_KILL_AT_STEP: '9' });
    await completes(['clone', '--resume', b]);
    expectSameRun(b, 'clone');
  }, 90_000);

  it('vsml improve: killed between checkpoints and in a checkpoint write (vm-best.json too); run status on the way', async () => {
    const vm = path.join(root, 'clone', 'vm-random.json');
    if (!fs.existsSync(vm)) await completes(['clone', '--config', 'clone.json', '--out', 'clone']);
    const args = ['improve', '--config', 'clone.json', '--vm', vm];
    await completes([...args, '--out', 'improve']);
    const b = 'improve-killed';
    // generation 1: before the first checkpoint (the resumed run starts over, its metrics cut back)
    await killed([...args, '--out', b], { VSML_TEST_KILL_AT_STEP: '1' });
    // generation 3: after the checkpoint of generation 2
    await killed(['improve', '--resume', b], { VSML_TEST_KILL_AT_STEP: '3' });
    expect(status(b)).toBe('running');
    const report = await vsml(['report', b]);
    expect(report.output).toMatch(/interrupted \(continue with: vsml improve --resume/);
    expect(status(b)).toBe('interrupted');
    // resumed at generation 2, killed while writing the final checkpoint
    await killed(['improve', '--resume', b], { VSML_TEST_KILL_IN_WRITE: 'checkpoint.json:1' });
    await completes(['improve', '--resume', b]);
    expectSameRun(b, 'improve');
  }, 60_000);

  it('SIGTERM: the run checkpoints, exits 0 with status interrupted, and resumes to the uninterrupted result', async () => {
    const args = ['metatrain', '--config', 'grad.json', '--seed', '4', '--steps', '16'];
    await completes([...args, '--out', 'term-straight']);
    const b = 'term';
    const exit = await new Promise<Exit>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args, '--out', b], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const log = path.join(root, b, 'metrics.jsonl');
      const poll = setInterval(() => {
        if (fs.existsSync(log) && fs.readFileSync(log, 'utf8').split('\n').length > 4) {
          clearInterval(poll);
          child.kill('SIGTERM');
        }
      }, 20);
      child.on('error', reject);
      child.on('close', (code, signal) => (clearInterval(poll), resolve({ code, signal, output })));
    });
    expect(exit.code).toBe(0);
    expect(exit.output).toMatch(/continue with: vsml metatrain --resume/);
    expect(status(b)).toBe('interrupted');
    await completes(['metatrain', '--resume', b]);
    expectSameRun(b, 'term-straight');
  }, 60_000);

  it('vsml reproduce: killed inside its clone stage and inside its improve stage, run again', async () => {
    const args = ['reproduce', '--preset', 'clone.json', '--only', 'clone,improve', '--out', 'rep'];
    // inside the clone stage's network stage, after step 9
    await killed(args, { VSML_TEST_KILL_AT_STEP: '9' });
    // the clone stage resumes and completes; the improve stage is killed after generation 3
    await killed(args, { VSML_TEST_KILL_AT_STEP: '3' });
    expect(status('rep/clone')).toBe('completed');
    await completes(args);
    // same V_M, metrics and outputs as `vsml clone` / `vsml improve` with the same preset, uninterrupted
    if (!fs.existsSync(path.join(root, 'clone', 'vm.json'))) await completes(['clone', '--config', 'clone.json', '--out', 'clone']);
    expectSameRun('rep/clone', 'clone');
    if (!fs.existsSync(path.join(root, 'improve', 'vm.json'))) {
      await completes(['improve', '--config', 'clone.json', '--vm', path.join(root, 'clone', 'vm-random.json'), '--out', 'improve']);
    }
    expectSameRun('rep/improve', 'improve');
  }, 90_000);
});
