// The commands of issue 2, run in-process (no build needed): trace end to end on a tiny hand-computed file,
// info, demo and a very short tick benchmark.
import fs, { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildProgram } from '../src/program.js';
import { runTrace } from '../src/commands/trace.js';
import { collectInfo } from '../src/commands/info.js';
import { runDemo, runMainJob, shippedCheckpoints } from '../src/commands/demo.js';
import { runTickBench } from '../src/commands/bench.js';
import { runImproveGenBench, runMetatestWorkersBench } from '../src/commands/bench-clone.js';
import { bufferOut } from '../src/commands/common.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vsml-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sig = (z: number): number => 1 / (1 + Math.exp(-z));

describe('vsml trace', () => {
  it('replays a tiny trace and prints {"logits": [T][P][B]} matching a hand computation', async () => {
    // H = 1, M = 2, one 2→2 layer, zero LSTM weights: i = σ(−5), f = σ(5), g = 0, o = ½, so each micro tick
    // multiplies c by σ(5); h = ½ tanh(c); logit_b = 100 tanh((mean_a 2 h_ab + 0.25) / 100)
    const c0 = [
      [[0.5], [-1]],
      [[2], [0.1]],
    ];
    const trace = {
      model: { slowSize: 1, msgSize: 2 },
      params: { 'lstm.w': Array.from({ length: 5 }, () => [0, 0, 0, 0]), 'lstm.b': [0, 0, 0, 0], 'fwd.w': [[0, 2]], 'fwd.b': [0, 0.25], 'bwd.w': [[0, 0]], 'bwd.b': [0, 0] },
      initialState: { layers: [{ c: [c0] }] },
      inputs: [[[1, -1]], [[0.5, 0.5]]],
      labels: [[0], [1]],
    };
    const file = path.join(dir, 'tiny.json');
    writeFileSync(file, JSON.stringify(trace));
    const out = bufferOut();
    await runTrace(file, { backend: 'wasm' }, out);
    const got = JSON.parse(out.text()) as { logits: number[][][] };
    const want = [1, 2].map((t) => [
      [0, 1].map((b) => {
        const m = [0, 1].reduce((s, a) => s + 2 * 0.5 * Math.tanh(sig(5) ** (2 * t) * c0[a]![b]![0]!), 0) / 2;
        return 100 * Math.tanh((m + 0.25) / 100);
      }),
    ]);
    expect(got.logits.length).toBe(2);
    got.logits.flat(2).forEach((v, i) => expect(Math.abs(v - want.flat(2)[i]!)).toBeLessThan(1e-5));
  });

  it('reports a bad trace as a VsmlError', async () => {
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, '{"params": {}}');
    await expect(runTrace(file, { backend: 'wasm' }, bufferOut())).rejects.toMatchObject({ name: 'VsmlError', code: 'TRACE_INVALID' });
    await expect(runTrace(path.join(dir, 'missing.json'), {}, bufferOut())).rejects.toMatchObject({ code: 'TRACE_INVALID' });
  });
});

describe('vsml info, demo, bench tick', () => {
  it('info gives |V_M| = 2,384 and |V_L| = 250,880 for the default model', async () => {
    const info = await collectInfo({ backend: 'wasm' });
    expect(info).toMatchObject({ vm: 2384, vl: 250880, backend: { name: 'wasm' } });
    expect((info['versions'] as Record<string, unknown>)['@vsml/bench']).toBe('0.1.0');
    const deep = await collectInfo({ backend: 'wasm', layers: [784, 32, 10] });
    expect(deep['vl']).toBe(813056);
  });

  it('demo prints one line per step', async () => {
    const out = bufferOut();
    const r = await runDemo({ steps: 5, population: 2, inputs: 6, classes: 3, backend: 'wasm' }, out);
    expect(r.accuracy.length).toBe(5);
    expect(out.text()).toMatch(/\|V_M\| = 2,384/);
    expect(out.text().split('\n').filter((l) => /^\s+\d+\s+\d\.\d{3}/.test(l)).length).toBe(5);
  });

  it('the main job meta-tests both shipped checkpoints (made by the CLI, provenance inside) and writes one report', async () => {
    const shipped = shippedCheckpoints();
    expect(shipped.vsml).not.toBeNull();
    expect(shipped.clone).not.toBeNull();
    for (const f of [shipped.vsml!, shipped.clone!]) {
      const prov = (JSON.parse(fs.readFileSync(f, 'utf8')) as { provenance: Record<string, unknown> }).provenance;
      expect(String(prov['command'])).toMatch(/^vsml (metatrain|clone) --preset quick/);
      expect(String(prov['commit'])).toMatch(/^[0-9a-f]{40}$/);
      expect(typeof prov['seed']).toBe('number');
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsml-main-'));
    const out = bufferOut();
    await runMainJob({ steps: 3, out: dir, backend: 'wasm' }, out);
    expect(out.text()).toMatch(/shipped V_M meta-trained from scratch/);
    expect(out.text()).toMatch(/shipped cloned backprop V_M/);
    expect(fs.readdirSync(path.join(dir, 'clone', 'results'))).toContain('demo-clone-mnist.json');
    expect(fs.readdirSync(path.join(dir, 'scratch', 'results'))).toContain('demo-vsml-fashion_mnist.json');
    expect(fs.readFileSync(path.join(dir, 'report.html'), 'utf8')).toContain('cloned backprop');
  }, 120_000);

  it('bench tick prints records in the form of bench_numpy.py', async () => {
    const out = bufferOut();
    const recs = await runTickBench({ config: 'small', P: [2], steps: 3, repeats: 1, backend: 'wasm' }, out);
    expect(recs[0]).toMatchObject({ P: 2, A: 16, B: 4, micro_ticks: 2, steps: 3, sub_lstm_ticks: 16 * 4 * 2 * 2 * 3 });
    expect(JSON.parse(out.text().trim())['sub_lstm_ticks_per_s']).toBeGreaterThan(0);
  });

  it('bench tick --config clone times both engines interleaved and prints the ratio and load average', async () => {
    const out = bufferOut();
    const recs = await runTickBench({ config: 'clone', steps: 1, repeats: 1, backend: 'wasm', cloneShape: { D: 8, C: 3, innerBatch: 2 } }, out);
    expect(recs.map((r) => r['engine'] ?? r['bench'])).toEqual(['wasm', 'tfjs', 'ratio']);
    expect(recs[0]).toMatchObject({ config: 'clone', slow_size: 32, msg_size: 8, inner_batch: 2, micro_ticks: 2 });
    expect(recs[0]!['seconds_per_step']).toBeGreaterThan(0);
    expect(recs[2]!['loadavg']).toHaveLength(3);
    expect(out.text().trim().split('\n')).toHaveLength(3);
  });

  it('bench improve-gen times both engines interleaved (same fitness) and prints the ratio and load average', async () => {
    const out = bufferOut();
    const recs = await runImproveGenBench({ popSize: 2, steps: 3, innerBatch: 2, D: 6, C: 3, rounds: 1, backend: 'wasm' }, out);
    expect(recs.map((r) => r['engine'] ?? r['bench'])).toEqual(['wasm', 'tfjs', 'ratio']);
    expect(recs[0]).toMatchObject({ bench: 'improve-gen', members: 4, steps: 3, inner_batch: 2 });
    expect(recs[0]!['seconds_per_generation']).toBeGreaterThan(0);
    expect(recs[2]!['fitness_max_rel_diff']).toBeLessThan(1e-4);
    expect(recs[2]!['loadavg']).toHaveLength(3);
  });

  it('bench metatest-workers compares 1 and 2 worker threads (identical results)', async () => {
    const out = bufferOut();
    const recs = await runMetatestWorkersBench({ datasets: ['random'], seeds: [1, 2], steps: 2, innerBatch: 2, evalCount: 5, preprocess: { resize: [4, 4] }, rounds: 1, backend: 'wasm' }, out);
    expect(recs.map((r) => [r['bench'], r['workers']])).toEqual([['metatest-workers', 1], ['metatest-workers', 2], ['speedup', 2]]);
    expect(recs[2]).toMatchObject({ identical_results: true, workers: 2 });
    expect(recs[0]!['seconds_per_metatest_step']).toBeGreaterThan(0);
  });

  it('registers every command of the CLI, each with --help', () => {
    const program = buildProgram();
    const names = program.commands.map((c) => c.name());
    expect(names.sort()).toEqual(['bench', 'clone', 'demo', 'improve', 'info', 'metatest', 'metatrain', 'report', 'reproduce', 'trace']);
    for (const c of program.commands) expect(c.helpInformation()).toMatch(new RegExp(`^Usage: vsml ${c.name()} `));
  });
});
