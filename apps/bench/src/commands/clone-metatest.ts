/**
 * The clone's meta-test inside a run directory (`vsml metatest --clone`, `vsml improve --metatest`): the cloned V_M
 * learns online purely by unrolling (inner batch with state averaging, state clipping) next to real SGD on the same
 * emulated network; results go to `results/` in the report schema, with progress and a printed summary.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as clone from '@vsml/clone';
import { writeJsonAtomic, type RunDir } from '../runs/run-dir.js';
import { createProgress } from '../runs/progress.js';
import type { Out } from './common.js';

export interface CloneMetatestOptions {
  vm: Float32Array;
  model: Record<string, unknown>;
  emulation: clone.Emulation;
  spec: clone.MetaTestSpec;
  learner: { name: string; label: string };
  command: string;
  run: RunDir;
  quiet?: boolean | undefined;
  /** prefix of the result files (e.g. the suite name) */
  prefix?: string;
  /** where the clone's steps run (default `wasm`) */
  engine?: clone.CloneEngine;
  /** worker threads for the (dataset, seed) runs (default 1) */
  workers?: number;
}

const pct = (s: { mean: number; std: number } | undefined): string => (s ? `${(100 * s.mean).toFixed(1)} ± ${(100 * s.std).toFixed(1)}` : '–');

/** Runs the clone meta-test; returns the results (also written to `results/`). */
export async function runCloneMetatest(o: CloneMetatestOptions, out: Out): Promise<clone.MetaTestResult[]> {
  const s = o.spec;
  const total = s.datasets.length * s.seeds.length * s.steps;
  out.write(
    `meta-test of ${o.learner.label}: ${s.datasets.join(', ')}, layers [D, ${s.hidden.join(', ')}${s.hidden.length ? ', ' : ''}C], ` +
      `${s.steps} steps of inner batch ${s.innerBatch}, seeds ${s.seeds.join(',')}, preprocess ${JSON.stringify(s.preprocess)}\n`,
  );
  const progress = createProgress(`metatest ${o.learner.name}`, total, o.quiet ? { quiet: true } : {});
  let done = 0;
  const { results } = await clone.metaTestClone({
    vm: o.vm,
    model: o.model,
    emulation: o.emulation,
    spec: s,
    learner: o.learner,
    command: o.command,
    ...(o.engine ? { engine: o.engine } : {}),
    ...(o.workers ? { workers: o.workers } : {}),
    onProgress: (p) => {
      const di = s.datasets.indexOf(p.dataset), si = s.seeds.indexOf(p.seed);
      // with workers, runs finish in any order: count finished runs
      done = o.workers && o.workers > 1 ? done + s.steps : (di * s.seeds.length + si) * s.steps + p.step;
      progress.update(done, p.testAccuracy !== undefined ? { dataset: p.dataset, seed: p.seed, test: p.testAccuracy, sgd: p.sgdTestAccuracy ?? NaN } : { dataset: p.dataset, seed: p.seed });
    },
  });
  progress.stop();
  fs.mkdirSync(o.run.file('results'), { recursive: true });
  for (const r of results) {
    // one plot per (dataset, suite): a clone suite's streams (inner batch, input size) are part of the task
    const named = o.prefix ? { ...r, dataset: `${r.dataset} clone-${o.prefix}` } : r;
    writeJsonAtomic(path.join(o.run.file('results'), `${o.prefix ? `${o.prefix}-` : ''}${r.learner}-${r.dataset}.json`), named);
    out.write(`${r.label} on ${r.dataset}: test accuracy ${pct(r.summary['test'])} after ${s.steps} steps, online ${pct(r.summary['final'])}\n`);
  }
  return results;
}
