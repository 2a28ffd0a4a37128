import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evalClone, runClone } from '../src/commands/clone.js';
import { runImprove } from '../src/commands/improve.js';
import { runMetatest } from '../src/commands/metatest.js';
import { runReproduce } from '../src/commands/reproduce.js';
import { bufferOut } from '../src/commands/common.js';
import { readMetrics } from '../src/runs/metrics.js';

/** A clone preset small enough for seconds: tiny sub-RNNs, a few iterations, 7×7 MNIST meta-tests. */
const tinyClone = {
  base: 'quick',
  overrides: {
    name: 'tiny',
    model: { slowSize: 6, msgSize: 3 },
    curriculum: [
      { kind: 'subrnn', name: 'random', iterations: 6, batch: 32, window: 2, logEvery: 1, checkpointEvery: 1, optimizer: { lr: 1e-2 } },
      {
        kind: 'network',
        name: 'deep',
        iterations: 2,
        hidden: [3],
        data: { dataset: 'gaussian', dim: 5, classes: 3 },
        innerBatch: 2,
        population: 2,
        window: 2,
        episodeLength: 4,
        teacher: { errors: true },
        logEvery: 1,
      },
    ],
    metatest: { datasets: ['mnist', 'fashion_mnist'], preprocess: { resize: [7, 7] }, steps: 4, innerBatch: 2, seeds: [1], evalEvery: 2, evalCount: 20 },
    improve: { generations: 3, popSize: 4, steps: 4, innerBatch: 2, preprocess: { resize: [7, 7] }, fitnessWindow: 1 },
  },
  suites: { demo: { steps: 4, seeds: [1], evalEvery: 2, evalCount: 20 }, deep: { hidden: [3], datasets: ['mnist'], steps: 4, seeds: [1], evalEvery: 2, evalCount: 20 } },
};

function tmpConfig(extra: Record<string, unknown> = {}): { dir: string; config: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsml-clone-cli-'));
  const config = path.join(dir, 'tiny.json');
  fs.writeFileSync(config, JSON.stringify({ clone: tinyClone, ...extra }));
  return { dir, config };
}

const paramsOf = (file: string) => (JSON.parse(fs.readFileSync(file, 'utf8')) as { params: unknown }).params;

describe('vsml clone', () => {
  it('runs the curriculum, writes per-stage V_M, vm.json with provenance, metrics and a report', async () => {
    const { dir, config } = tmpConfig();
    const out = bufferOut();
    const run = await runClone({ config, out: path.join(dir, 'c'), quiet: true, commandLine: 'vsml clone test' }, out);
    for (const f of ['vm-random.json', 'vm-deep.json', 'vm.json', 'checkpoint.json', 'report.html', 'config.json']) expect(fs.existsSync(path.join(run, f))).toBe(true);
    expect(paramsOf(path.join(run, 'vm.json'))).toEqual(paramsOf(path.join(run, 'vm-deep.json')));
    const prov = (JSON.parse(fs.readFileSync(path.join(run, 'vm.json'), 'utf8')) as { provenance: Record<string, unknown> }).provenance;
    expect(prov['command']).toBe('vsml clone test');
    expect(typeof prov['commit']).toBe('string');
    const metrics = readMetrics(path.join(run, 'metrics.jsonl'));
    expect(metrics.filter((m) => m['stage'] === 'random')).toHaveLength(6);
    expect(metrics.filter((m) => m['stage'] === 'deep')).toHaveLength(2);
    expect(metrics.every((m) => Number.isFinite(m['loss']))).toBe(true);
    expect(fs.readFileSync(path.join(run, 'report.html'), 'utf8')).toContain('cloning errors');
  });

  it('a run stopped mid-stage and resumed ends with the same V_M and metrics as an uninterrupted run', async () => {
    const { dir, config } = tmpConfig();
    const straight = await runClone({ config, stages: ['random'], out: path.join(dir, 'straight'), quiet: true, commandLine: 't' }, bufferOut());
    const ac = new AbortController();
    const out = bufferOut();
    const broken = path.join(dir, 'broken');
    await runClone({ config, stages: ['random'], out: broken, quiet: true, commandLine: 't', signal: ac.signal, onStep: (s) => s === 3 && ac.abort() }, out);
    expect(out.text()).toMatch(/--resume/);
    expect(fs.existsSync(path.join(broken, 'vm.json'))).toBe(false);
    expect(readMetrics(path.join(broken, 'metrics.jsonl'))).toHaveLength(3);
    expect((JSON.parse(fs.readFileSync(path.join(broken, 'run.json'), 'utf8')) as { status: string }).status).toBe('interrupted');
    await runClone({ resume: broken, quiet: true, commandLine: 't' }, bufferOut());
    expect(paramsOf(path.join(broken, 'vm.json'))).toEqual(paramsOf(path.join(straight, 'vm.json')));
    const losses = (d: string) => readMetrics(path.join(d, 'metrics.jsonl')).map((m) => [m.step, m['loss']]);
    expect(losses(broken)).toEqual(losses(straight));
  });

  it('--eval prints the cloning errors of a V_M without training, and --plot draws its weight update', async () => {
    const { dir, config } = tmpConfig();
    const c = await runClone({ config, stages: ['random'], out: path.join(dir, 'c'), quiet: true, commandLine: 't' }, bufferOut());
    const out = bufferOut();
    const plot = path.join(dir, 'dw.svg');
    const r = await evalClone({ config, eval: path.join(c, 'vm.json'), plot }, out);
    expect(out.text()).toMatch(/relative errors: forward [\d.]+ %, backward [\d.]+ %, bias update [\d.]+ %, weight update [\d.]+ %/);
    const json = JSON.parse(out.text().split('\n').find((l) => l.startsWith('{'))!) as Record<string, number>;
    expect(json['updWRel']).toBeCloseTo(r.updWRel, 10);
    expect(r.updWResidualRel).toBeLessThanOrEqual(r.updWRel + 1e-9);
    expect(fs.readFileSync(plot, 'utf8')).toMatch(/^<svg/);
    // no run directory is written
    expect(fs.readdirSync(dir).sort()).toEqual(['c', 'dw.svg', 'tiny.json']);
    // a clone made without the update circuit (one reverse-tick LSTM) is checked with the same preset
    const noCircuit = path.join(dir, 'no-circuit.json');
    fs.writeFileSync(noCircuit, JSON.stringify({ clone: { ...tinyClone, overrides: { ...tinyClone.overrides, model: { slowSize: 6, msgSize: 3, separateBackwardRnn: false }, init: { updateCircuit: false } } } }));
    const old = await runClone({ config: noCircuit, stages: ['random'], out: path.join(dir, 'old'), quiet: true, commandLine: 't' }, bufferOut());
    const r2 = await evalClone({ config, eval: path.join(old, 'vm.json') }, bufferOut());
    expect(r2.updWRel).toBeGreaterThan(r.updWRel);
  });

  it('rejects an unknown stage and an unknown clone key with its path', async () => {
    const { dir, config } = tmpConfig();
    await expect(runClone({ config, stages: ['nope'], out: path.join(dir, 'x'), quiet: true }, bufferOut())).rejects.toThrow(/unknown stage nope/);
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ clone: { ...tinyClone, extra: 1 } }));
    await expect(runClone({ config: bad, out: path.join(dir, 'y'), quiet: true }, bufferOut())).rejects.toThrow(/clone/);
  });
});

describe('vsml metatest --clone / vsml improve', () => {
  it('meta-tests a cloned V_M next to SGD, and improves it with CMA-ES (before/after curves, resumable)', async () => {
    const { dir, config } = tmpConfig();
    const c = await runClone({ config, stages: ['random'], out: path.join(dir, 'c'), quiet: true, commandLine: 't' }, bufferOut());
    const vm = path.join(c, 'vm.json');

    const mt = await runMetatest({ config, clone: vm, suite: ['demo', 'deep'], out: path.join(dir, 'mt'), commandLine: 't' }, bufferOut());
    expect(fs.readdirSync(path.join(mt, 'results')).sort()).toEqual([
      'deep-clone-mnist.json',
      'deep-sgd-emulated-mnist.json',
      'demo-clone-fashion_mnist.json',
      'demo-clone-mnist.json',
      'demo-sgd-emulated-fashion_mnist.json',
      'demo-sgd-emulated-mnist.json',
    ]);
    const r = JSON.parse(fs.readFileSync(path.join(mt, 'results', 'demo-clone-mnist.json'), 'utf8'));
    expect(r.onlineAccuracy.mean).toHaveLength(4);
    expect(r.dataset).toBe('mnist clone-demo');
    expect(r.testAccuracy.steps).toEqual([0, 2, 4]);
    // 2 worker threads: the same results
    const mt2 = await runMetatest({ config, clone: vm, suite: ['demo'], out: path.join(dir, 'mt2'), commandLine: 't', workers: 2 }, bufferOut());
    for (const f of fs.readdirSync(path.join(mt2, 'results'))) {
      expect(fs.readFileSync(path.join(mt2, 'results', f), 'utf8')).toBe(fs.readFileSync(path.join(mt, 'results', f), 'utf8'));
    }
    expect(fs.readdirSync(path.join(mt2, 'results'))).toHaveLength(4);

    const straight = await runImprove({ config, vm, metatest: 'demo', out: path.join(dir, 'imp'), quiet: true, commandLine: 't' }, bufferOut());
    const files = fs.readdirSync(path.join(straight, 'results')).sort();
    expect(files).toEqual(expect.arrayContaining(['clone-improved-mnist.json', 'clone-mnist.json', 'clone-improved-fashion_mnist.json']));
    const gens = readMetrics(path.join(straight, 'metrics.jsonl'));
    expect(gens.map((g) => g.step)).toEqual([1, 2, 3]);
    expect(gens.every((g) => Number.isFinite(g['baseline']) && Number.isFinite(g['meanFitness']))).toBe(true);
    expect(paramsOf(path.join(straight, 'vm.json'))).not.toEqual(paramsOf(vm));
    // vm-best.json: the lowest fitness evaluated (candidates, unchanged clone, mean), never worse than the start
    const bestCk = JSON.parse(fs.readFileSync(path.join(straight, 'vm-best.json'), 'utf8')) as { provenance: { fitness: number; which: string } };
    const evaluated = gens.flatMap((g) => [g['best'], g['baseline'], g['meanFitness']] as number[]);
    expect(bestCk.provenance.which).toBe('best-evaluated');
    expect(bestCk.provenance.fitness).toBeCloseTo(Math.min(...evaluated), 12);
    for (const g of gens) expect(bestCk.provenance.fitness).toBeLessThanOrEqual(g['baseline'] as number);

    // interrupted after the first generation, resumed: same final mean
    const ac = new AbortController();
    const broken = path.join(dir, 'imp-broken');
    const out = bufferOut();
    await runImprove({ config, vm, out: broken, quiet: true, commandLine: 't', signal: ac.signal, onStep: (g) => g === 1 && ac.abort() }, out);
    expect(out.text()).toMatch(/--resume/);
    expect(fs.existsSync(path.join(broken, 'vm.json'))).toBe(false);
    expect((JSON.parse(fs.readFileSync(path.join(broken, 'run.json'), 'utf8')) as { status: string }).status).toBe('interrupted');
    await runImprove({ resume: broken, quiet: true, commandLine: 't' }, bufferOut());
    expect(readMetrics(path.join(broken, 'metrics.jsonl')).map((g) => [g.step, g['meanFitness']])).toEqual(gens.map((g) => [g.step, g['meanFitness']]));
    expect(paramsOf(path.join(broken, 'vm.json'))).toEqual(paramsOf(path.join(straight, 'vm.json')));
    expect(paramsOf(path.join(broken, 'vm-best.json'))).toEqual(paramsOf(path.join(straight, 'vm-best.json')));
    await expect(runImprove({ resume: broken, cloneEngine: 'tfjs', quiet: true }, bufferOut())).rejects.toThrow(/runs on wasm/);

    // the tfjs reference engine: the same CMA-ES trajectory (fitness values equal to float rounding)
    const ref = await runImprove({ config, vm, out: path.join(dir, 'imp-tfjs'), quiet: true, commandLine: 't', cloneEngine: 'tfjs' }, bufferOut());
    expect(paramsOf(path.join(ref, 'vm.json'))).toEqual(paramsOf(path.join(straight, 'vm.json')));
    const refGens = readMetrics(path.join(ref, 'metrics.jsonl'));
    expect(refGens).toHaveLength(gens.length);
    refGens.forEach((g, i) => expect(g['meanFitness']).toBeCloseTo(gens[i]!['meanFitness'] as number, 4));
    await expect(runImprove({ config, vm, out: path.join(dir, 'imp-x'), quiet: true, cloneEngine: 'gpu' }, bufferOut())).rejects.toThrow(/wasm' or 'tfjs'/);
  });

  it('needs --vm, and refuses an unknown clone suite', async () => {
    const { dir, config } = tmpConfig();
    await expect(runImprove({ config, out: path.join(dir, 'x'), quiet: true }, bufferOut())).rejects.toThrow(/--vm/);
    await expect(runMetatest({ config, clone: 'whatever.json', suite: ['nope'], out: path.join(dir, 'y') }, bufferOut())).rejects.toThrow(/no clone meta-test suite 'nope'/);
  });
});

describe('vsml reproduce', () => {
  it('runs the clone stages in order, skips finished ones on a second call and builds one report', async () => {
    const { dir, config } = tmpConfig();
    const root = path.join(dir, 'rep');
    const out = bufferOut();
    await runReproduce({ preset: config, out: root, only: ['clone', 'metatest-clone'], quiet: true }, out);
    expect(out.text()).toMatch(/\[clone\] running/);
    expect(fs.existsSync(path.join(root, 'metatest-clone', 'results', 'demo-clone-mnist.json'))).toBe(true);
    expect(fs.readFileSync(path.join(root, 'report.html'), 'utf8')).toContain('<svg');
    const again = bufferOut();
    await runReproduce({ preset: config, out: root, only: ['clone'], quiet: true }, again);
    expect(again.text()).toMatch(/\[clone\] done already/);
    await expect(runReproduce({ preset: config, out: path.join(dir, 'rep2'), only: ['improve'], quiet: true }, bufferOut())).rejects.toThrow(/run the clone stage first/);
  });
});
