/**
 * `buildReport(runDirs, outDir)`: reads one or more run directories and writes `report.html` (self-contained)
 * and every plot as an SVG file under `plots/`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { readJson, readRunInfo } from '../runs/run-dir.js';
import type { MetricRecord } from '../runs/metrics.js';
import { learningCurveSpec, renderSvg, testAccuracySpec, trainingCurveSpec } from './charts.js';
import { reportHtml, resultsTableHtml, type ReportSection, type ResultRow } from './html.js';
import { readResults, readRunMetrics, type MetaTestResult } from './results.js';

/** Accuracies as percentages, losses as they are. */
const fmtStat = (key: string, s: { mean: number; std: number } | undefined) =>
  !s ? '–' : /loss/i.test(key) ? `${s.mean.toFixed(3)} ± ${s.std.toFixed(3)}` : `${(100 * s.mean).toFixed(1)} ± ${(100 * s.std).toFixed(1)}`;

/** Groups of training metrics plotted together (same scale). */
const METRIC_GROUPS: { title: string; match: RegExp; log: boolean }[] = [
  { title: 'losses', match: /loss/i, log: false },
  { title: 'errors', match: /error|err$/i, log: true },
  { title: 'accuracies', match: /acc/i, log: false },
  { title: 'cloning errors relative to the targets', match: /^(fwdRel|bwdRel|updWRel|updBRel|holdRel)$/, log: true },
  { title: 'network stages: per-layer errors relative to the targets', match: /^l\d+\.(fwdRel|bwdRel|updWRel)$/, log: true },
  { title: 'CMA-ES fitness (cross-entropy at the end of the episode)', match: /^(baseline|meanFitness|best|median)$/, log: false },
];

function numericFields(records: readonly MetricRecord[]): string[] {
  const fields = new Set<string>();
  for (const r of records) for (const [k, v] of Object.entries(r)) if (k !== 'step' && typeof v === 'number') fields.add(k);
  return [...fields];
}

export interface ReportOutput {
  html: string;
  svgs: string[];
  rows: number;
}

export async function buildReport(runDirs: readonly string[], outDir: string, title = 'VSML report'): Promise<ReportOutput> {
  const results: MetaTestResult[] = [];
  const sections: ReportSection[] = [];
  const provenance: string[] = [];
  const plotFiles: string[] = [];
  fs.mkdirSync(path.join(outDir, 'plots'), { recursive: true });
  let plotIndex = 0;
  const addPlot = async (spec: TopLevelSpec | null, name: string, into: string[]) => {
    if (!spec) return;
    const svg = await renderSvg(spec);
    const file = path.join(outDir, 'plots', `${String(++plotIndex).padStart(2, '0')}-${name.replace(/[^A-Za-z0-9_-]+/g, '-')}.svg`);
    fs.writeFileSync(file, svg);
    plotFiles.push(file);
    into.push(svg);
  };

  for (const dir of runDirs) {
    const runFile = path.join(dir, 'run.json');
    // a run left at `running` by a killed process is reported (and recorded) as `interrupted`
    const info: Record<string, unknown> = fs.existsSync(runFile) ? { ...readRunInfo(dir) } : {};
    provenance.push(`${dir}\n${JSON.stringify(info, null, 2)}`);
    results.push(...readResults(dir));
    const metrics = readRunMetrics(dir);
    if (metrics.length > 0) {
      const plots: string[] = [];
      const fields = numericFields(metrics);
      for (const g of METRIC_GROUPS) {
        const chosen = fields.filter((f) => g.match.test(f));
        await addPlot(trainingCurveSpec(`${path.basename(dir)}: ${g.title}`, metrics, chosen, g.log), `${path.basename(dir)}-${g.title}`, plots);
      }
      const st = info['status'] !== undefined && info['status'] !== 'completed' ? `, ${String(info['status'])}` : '';
      sections.push({ title: `Training: ${path.basename(dir)} (${String(info['command'] ?? '?')}${st})`, plots });
    }
  }

  const datasets = [...new Set(results.map((r) => r.dataset))];
  for (const ds of datasets) {
    const plots: string[] = [];
    await addPlot(learningCurveSpec(results, ds), `online-${ds}`, plots);
    await addPlot(testAccuracySpec(results, ds), `test-${ds}`, plots);
    sections.unshift({ title: `Meta-test on ${ds}`, plots });
  }

  const columns = [...new Set(results.flatMap((r) => Object.keys(r.summary)))];
  const rows: ResultRow[] = results.map((r) => ({
    learner: r.label,
    dataset: r.dataset,
    vm: r.vmCount,
    vl: r.vlCount,
    cells: Object.fromEntries(columns.map((c) => [c, fmtStat(c, r.summary[c])])),
    command: r.command,
  }));
  const html = reportHtml({
    title,
    subtitle: `Built ${new Date().toISOString()} from ${runDirs.length} run director${runDirs.length === 1 ? 'y' : 'ies'}. Accuracies in %, losses in nats, mean ± std over seeds.`,
    table: resultsTableHtml(rows, columns),
    sections,
    provenance: provenance.join('\n\n'),
  });
  fs.writeFileSync(path.join(outDir, 'report.html'), html);
  return { html, svgs: plotFiles, rows: rows.length };
}
