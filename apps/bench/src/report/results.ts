/**
 * The files a report is built from. `metatest` writes one {@link MetaTestResult} per (learner, dataset) into a
 * run directory's `results/` folder; training commands write `metrics.jsonl`. Both are validated when read, so a
 * report never draws from a malformed file silently.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readMetrics, type MetricRecord } from '../runs/metrics.js';

const Stat = z.object({ mean: z.number(), std: z.number() });

/** Mean ± std over seeds of a per-step curve. */
const Curve = z.object({ mean: z.array(z.number()), std: z.array(z.number()) });

export const MetaTestResultSchema = z.object({
  kind: z.literal('vsml-metatest'),
  version: z.literal(1),
  /** machine name of the learner, e.g. `vsml-scratch`, `adam-mlp` */
  learner: z.string(),
  /** what a person reads in plots and tables */
  label: z.string(),
  dataset: z.string(),
  steps: z.number().int().positive(),
  seeds: z.array(z.number().int()),
  /** online (prequential) accuracy: mean correctness over steps 0..t, per step t */
  onlineAccuracy: Curve,
  /** held-out test accuracy measured at some steps, when the learner can predict without learning */
  testAccuracy: z.object({ steps: z.array(z.number()), mean: z.array(z.number()), std: z.array(z.number()) }).nullable(),
  /** named scalars, e.g. `online@100`, `online@500`, `final`, `test` */
  summary: z.record(z.string(), Stat),
  vmCount: z.number().int().nullable(),
  vlCount: z.number().int().nullable(),
  /** the command that produced this result */
  command: z.string(),
});
export type MetaTestResult = z.infer<typeof MetaTestResultSchema>;

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
