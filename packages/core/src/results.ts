/**
 * The meta-test result format every learner is reported in (VSML from scratch, cloned backprop, the Meta RNN,
 * online SGD/Adam). It lives in core because both `@vsml/metatrain` and `@vsml/clone` write it and the CLI's report
 * reads it; one schema, validated where it is read.
 */
import { z } from 'zod';

const Stat = z.strictObject({ mean: z.number(), std: z.number() });

/** One meta-test result: one learner on one dataset, mean ± std over seeds. */
export const MetaTestResultSchema = z.strictObject({
  kind: z.literal('vsml-metatest'),
  version: z.literal(1),
  /** machine name of the learner, e.g. `vsml-scratch`, `adam-mlp` */
  learner: z.string(),
  /** what a person reads in plots and tables */
  label: z.string(),
  dataset: z.string(),
  steps: z.number().int().positive(),
  seeds: z.array(z.number().int()),
  /** online (prequential) accuracy: mean correctness over steps 0..t, per step t, mean/std over seeds */
  onlineAccuracy: z.strictObject({ mean: z.array(z.number()), std: z.array(z.number()) }),
  /** held-out test accuracy at some steps, for learners that can predict without learning */
  testAccuracy: z.strictObject({ steps: z.array(z.number()), mean: z.array(z.number()), std: z.array(z.number()) }).nullable(),
  /** named scalars, e.g. `online@100`, `online@500`, `last100`, `final`, `test` */
  summary: z.record(z.string(), Stat),
  vmCount: z.number().int().nullable(),
  vlCount: z.number().int().nullable(),
  /** the command that produced this result */
  command: z.string(),
});
/** One meta-test result (one learner on one dataset). */
export type MetaTestResult = z.infer<typeof MetaTestResultSchema>;
