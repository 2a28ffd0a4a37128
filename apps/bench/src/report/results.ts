/**
 * The files a report is built from. `metatest` writes one {@link MetaTestResult} per (learner, dataset) into a
 * run directory's `results/` folder; training commands write `metrics.jsonl`. Both are validated when read, so a
 * report never draws from a malformed file silently.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MetaTestResultSchema, type MetaTestResult } from '@vsml/core';
import { readMetrics, type MetricRecord } from '../runs/metrics.js';

export { MetaTestResultSchema, type MetaTestResult };

/** Reads and validates every `results/*.json` of a run directory. */
export function readResults(runDir: string): MetaTestResult[] {
  const dir = path.join(runDir, 'results');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      const parsed = MetaTestResultSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(`${file}: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`);
      }
      return parsed.data;
    });
}

/** The training metrics of a run directory (empty when it has none). */
export function readRunMetrics(runDir: string): MetricRecord[] {
  return readMetrics(path.join(runDir, 'metrics.jsonl'));
}
