import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveSection, runMetatrain } from '../src/commands/metatrain.js';
import { loadPreset } from '../src/config/presets.js';
import { runMetatest } from '../src/commands/metatest.js';
import { bufferOut } from '../src/commands/common.js';
import { readMetrics } from '../src/runs/metrics.js';

const tiny = {
  metatrain: {
    tasks: { length: 8, episodes: 2, minClasses: 2, maxClasses: 3 },
    outer: { steps: 6, checkpointEvery: 1, metaTestEvery: null },
    metaTests: [],
  },
  metatest: {
    suites: [{ name: '7x7', datasets: ['mnist'], preprocess: { resize: [7, 7] }, learners: ['vsml', 'sgd-linear'], steps: 12, seeds: [1, 2, 3, 4, 5] }],
  },
};

function tmpConfig(): { dir: string; config: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsml-cli-'));
  const config = path.join(dir, 'tiny.json');
  fs.writeFileSync(config, JSON.stringify(tiny));
  return { dir, config };
}

const vmOf = (dir: string) => (JSON.parse(fs.readFileSync(path.join(dir, 'vm.json'), 'utf8')) as { params: unknown }).params;

describe('vsml metatrain / metatest', () => {
  it('a run interrupted and resumed ends with the same V_M and metrics as an uninterrupted run', async () => {
    const { dir, config } = tmpConfig();
    const straight = path.join(dir, 'straight');
    await runMetatrain({ config, seed: 3, out: straight, quiet: true, commandLine: 'test' }, bufferOut());

    const broken = path.join(dir, 'broken');
    const ac = new AbortController();
    const out = bufferOut();
    await runMetatrain({ config, seed: 3, out: broken, quiet: true, commandLine: 'test', signal: ac.signal, onStep: (s) => s === 3 && ac.abort() }, out);
    expect(out.text()).toMatch(/--resume/);
    expect(fs.existsSync(path.join(broken, 'vm.json'))).toBe(false);
    expect((JSON.parse(fs.readFileSync(path.join(broken, 'run.json'), 'utf8')) as { status: string }).status).toBe('interrupted');
    await runMetatrain({ resume: broken, quiet: true, commandLine: 'test' }, bufferOut());

    expect(vmOf(broken)).toEqual(vmOf(straight));
    const losses = (d: string) => readMetrics(path.join(d, 'metrics.jsonl')).filter((r) => r['kind'] === 'train').map((r) => [r.step, r['loss'], r['lossAvg']]);
    expect(losses(broken)).toEqual(losses(straight));
    const prov = (JSON.parse(fs.readFileSync(path.join(straight, 'vm.json'), 'utf8')) as { provenance: Record<string, unknown> }).provenance;
    expect(prov['seed']).toBe(3);
    expect(typeof prov['commit']).toBe('string');
    expect(prov['command']).toBe('test');
  });

  it('meta-tests a checkpoint and a baseline on the same streams and writes results and a report', async () => {
    const { dir, config } = tmpConfig();
    const train = path.join(dir, 'train');
    await runMetatrain({ config, seed: 1, out: train, quiet: true, commandLine: 'test' }, bufferOut());
    const test = path.join(dir, 'test');
    const out = bufferOut();
    await runMetatest({ config, vsml: path.join(train, 'vm.json'), out: test, commandLine: 'test' }, out);
    const results = fs.readdirSync(path.join(test, 'results')).sort();
    expect(results).toEqual(['7x7-sgd-linear-mnist.json', '7x7-vsml-mnist.json']);
    const r = JSON.parse(fs.readFileSync(path.join(test, 'results', '7x7-vsml-mnist.json'), 'utf8'));
    expect(r.onlineAccuracy.mean).toHaveLength(12);
    expect(r.seeds).toEqual([1, 2, 3, 4, 5]);
    expect(fs.readFileSync(path.join(test, 'report.html'), 'utf8')).toContain('<svg');
  });

  it('--method es switches to the official ES settings (32 pairs, σ 0.05, Adam 0.025 without clipping)', () => {
    const section = resolveSection(loadPreset({ preset: 'quick' }).preset.metatrain!, { method: 'es' });
    expect(section.estimator).toMatchObject({ kind: 'es', pairs: 32, sigma: 0.05, shaping: 'none' });
    expect(section.outer.optimizer).toMatchObject({ type: 'adam', lr: 0.025, clipGradNorm: 0 });
    const grad = resolveSection(loadPreset({ preset: 'quick' }).preset.metatrain!, { method: 'grad' });
    expect(grad.outer.optimizer).toMatchObject({ lr: 0.001, clipGradNorm: 25 });
  });

  it('rejects unknown config keys with the key path', async () => {
    const { dir } = tmpConfig();
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ metatrain: { outer: { stepz: 3 } } }));
    await expect(runMetatrain({ config: bad, out: path.join(dir, 'x'), quiet: true }, bufferOut())).rejects.toThrow(/metatrain\.outer/);
  });
});
