/**
 * `vsml report <run-dir...>`: renders one or more run directories into one self-contained HTML page with its
 * plots as SVG files (learning curves with mean ± std bands, training curves, the results table).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildReport } from '../report/build.js';
import { readRunInfo } from '../runs/run-dir.js';
import { stdout, type Out } from './common.js';

export async function runReport(dirs: string[], opts: { out?: string; title?: string }, out: Out = stdout): Promise<string> {
  if (dirs.length === 0) throw new Error('vsml report: name at least one run directory');
  const outDir = opts.out ?? (dirs.length === 1 ? dirs[0]! : path.join('runs', 'report'));
  const rep = await buildReport(dirs, outDir, opts.title ?? 'VSML report');
  for (const d of dirs) {
    if (!fs.existsSync(path.join(d, 'run.json'))) continue;
    const info = readRunInfo(d);
    if (info.status === 'interrupted') out.write(`${d}: interrupted (continue with: vsml ${info.command} --resume ${d})\n`);
    else if (info.status !== 'completed') out.write(`${d}: ${info.status}${info.error ? ` (${info.error})` : ''}\n`);
  }
  const file = path.join(outDir, 'report.html');
  out.write(`report: ${file} (${rep.rows} result rows, ${rep.svgs.length} plots in ${path.join(outDir, 'plots')})\n`);
  return file;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('render run directories into one HTML report with SVG plots')
    .argument('<run-dirs...>', 'run directories (runs/<timestamp>-<command>-<name>)')
    .option('--out <dir>', 'where report.html and plots/ go (default: the run directory, or runs/report for several)')
    .option('--title <text>', 'page title')
    .action(async (dirs: string[], o: { out?: string; title?: string }) => {
      await runReport(dirs, o);
    });
}
