import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildReport } from '../src/report/build.js';
import { MetricsLog } from '../src/runs/metrics.js';

function fakeResult(learner: string, dataset: string, base: number) {
  const T = 50;
  const mean = Array.from({ length: T }, (_, t) => Math.min(1, base + t / 100));
  return {
    kind: 'vsml-metatest', version: 1, learner, label: learner.toUpperCase(), dataset, steps: T, seeds: [0, 1, 2],
    onlineAccuracy: { mean, std: mean.map(() => 0.05) },
    testAccuracy: learner === 'sgd' ? { steps: [10, 50], mean: [0.3, 0.6], std: [0.02, 0.03] } : null,
    summary: { 'online@50': { mean: mean[T - 1]!, std: 0.05 } },
    vmCount: learner === 'vsml' ? 2384 : null, vlCount: 250880, command: `vsml metatest --learner ${learner}`,
  };
}

describe('report', () => {
  it('renders curves, tables and training plots from run directories', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vsml-report-'));
    const run = path.join(root, 'run1');
    fs.mkdirSync(path.join(run, 'results'), { recursive: true });
    fs.writeFileSync(path.join(run, 'run.json'), JSON.stringify({ command: 'metatest', seed: 1 }));
    for (const [l, d, b] of [['vsml', 'mnist', 0.3], ['sgd', 'mnist', 0.1], ['vsml', 'fashion_mnist', 0.2]] as const) {
      fs.writeFileSync(path.join(run, 'results', `${l}-${d}.json`), JSON.stringify(fakeResult(l, d, b)));
    }
    const log = MetricsLog.open(path.join(run, 'metrics.jsonl'));
    for (let s = 1; s <= 20; s++) log.append({ step: s, loss: 2 / s, forwardError: 1 / s });
    const out = path.join(root, 'report');
    const rep = await buildReport([run], out);
    expect(rep.rows).toBe(3);
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('<table>');
    expect(html).toContain('vsml metatest --learner sgd');
    expect(html).toContain('2,384');
    expect(html).toMatch(/Meta-test on mnist[\s\S]*<svg/);
    // online curves for 2 datasets + one test-accuracy plot + training loss and error plots
    expect(rep.svgs.length).toBe(5);
    for (const f of rep.svgs) expect(fs.readFileSync(f, 'utf8').startsWith('<svg')).toBe(true);
  });

  it('rejects a malformed result file, naming it and the field', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vsml-report-'));
    fs.mkdirSync(path.join(root, 'results'), { recursive: true });
    const bad = { ...fakeResult('vsml', 'mnist', 0.2), steps: -3 };
    fs.writeFileSync(path.join(root, 'results', 'bad.json'), JSON.stringify(bad));
    await expect(buildReport([root], path.join(root, 'out'))).rejects.toThrow(/bad\.json: steps/);
  });
});
