#!/usr/bin/env node
// Long meta-training runs from the built package (build first: pnpm --filter @vsml/metatrain... build).
//
//   node packages/metatrain/scripts/run-metatrain.mjs <config.json>
//
// The config names a run directory; the run resumes from <runDir>/checkpoint.json when it exists (kill it at any
// time: at most `checkpointEvery` steps are lost; the metrics log is cut back to the checkpoint's step).
// Writes <runDir>/metrics.jsonl (one JSON object per line), checkpoint.json (kind 'train'), checkpoint.vm.json,
// results/<name>-<dataset>-step<N>.json for periodic meta-tests, and progress lines on stdout.
//
// Config (JSON):
// {
//   "runDir": "packages/metatrain/runs/vsml-grad",
//   "backend": "wasm",                        // tfjs backend of this process
//   "model": {"kind": "vsml", "config": {}}   // or {"kind": "meta-rnn", "inputDim": 49, "numClasses": 10}
//   "estimator": {"kind": "full-grad", "segmentSteps": 25, "engine": "tfjs" | "wasm"}
//              | {"kind": "es", "pairs": 32, "sigma": 0.05, "engine": "tfjs" | "wasm", "workers": false, "threads": 1},
//   "tasks": {...TaskFamilyConfig},
//   "outer": {...OuterConfig},
//   "metaTests": [{...MetaTestConfig}]
// }
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initBackend } from '@vsml/core';
import * as mt from '../dist/index.js';

const file = process.argv[2];
if (!file) {
  console.error('usage: run-metatrain.mjs <config.json>');
  process.exit(2);
}
const cfg = JSON.parse(readFileSync(file, 'utf8'));
const runDir = resolve(cfg.runDir);
mkdirSync(join(runDir, 'results'), { recursive: true });
writeFileSync(join(runDir, 'config.json'), JSON.stringify(cfg, null, 2));
const backend = await initBackend({ backend: cfg.backend ?? 'wasm' });
console.log(`backend ${backend.name} simd=${backend.simd}`);

const model = mt.modelFromDescription(cfg.model);
const tasks = new mt.TaskFamily(cfg.tasks);
let estimator;
const ek = cfg.estimator?.kind ?? 'full-grad';
if (ek === 'full-grad') {
  let engine;
  if (cfg.estimator.engine === 'wasm') {
    engine =
      model.kind === 'meta-rnn'
        ? mt.createMetaRnnGradEngine(model)
        : mt.createFastGradEngine(model, cfg.estimator.maxTapeBytes ? { maxTapeBytes: cfg.estimator.maxTapeBytes } : {});
  }
  estimator = mt.fullGradEstimator({ model, tasks, segmentSteps: cfg.estimator.segmentSteps ?? 25, ...(engine ? { engine } : {}) });
} else if (ek === 'es') {
  const engineKind = cfg.estimator.engine ?? 'tfjs';
  const evaluator = cfg.estimator.workers
    ? new mt.WorkerEvaluator({ model: model.describe(), tasks: cfg.tasks, threads: cfg.estimator.threads ?? 1, backend: cfg.backend ?? 'wasm', engine: engineKind })
    : engineKind === 'wasm'
      ? new mt.FastEvaluator(model, tasks)
      : new mt.InProcessEvaluator(model, tasks);
  estimator = mt.esEstimator({ evaluator, pairs: cfg.estimator.pairs, sigma: cfg.estimator.sigma ?? 0.05 });
} else throw new Error(`unknown estimator ${ek}`);

const ckpt = join(runDir, 'checkpoint.json');
const metricsFile = join(runDir, 'metrics.jsonl');
let resumeFrom;
if (existsSync(ckpt)) {
  resumeFrom = ckpt;
  const step = JSON.parse(readFileSync(ckpt, 'utf8')).step;
  // cut the log back to the checkpoint (a resumed run writes the same records again)
  if (existsSync(metricsFile)) {
    const kept = readFileSync(metricsFile, 'utf8')
      .split('\n')
      .filter((l) => {
        if (!l.trim()) return false;
        try {
          const r = JSON.parse(l);
          return typeof r.step !== 'number' || r.step <= step;
        } catch {
          return false;
        }
      });
    writeFileSync(metricsFile, kept.map((l) => l + '\n').join(''));
  }
  console.log(`resuming from ${ckpt} at step ${step}`);
}

const command = `node packages/metatrain/scripts/run-metatrain.mjs ${file}`;
let lastPrint = 0;
const fmt = (s) => (s > 3600 ? `${(s / 3600).toFixed(2)}h` : s > 60 ? `${(s / 60).toFixed(1)}m` : `${s.toFixed(0)}s`);
const ac = new AbortController();
process.on('SIGTERM', () => ac.abort());
process.on('SIGINT', () => ac.abort());
const result = await mt.metaTrain({
  model,
  estimator,
  tasks: cfg.tasks,
  config: cfg.outer,
  checkpointPath: ckpt,
  ...(resumeFrom ? { resumeFrom } : {}),
  metaTests: cfg.metaTests ?? [],
  learnerName: cfg.name ?? model.kind,
  command,
  signal: ac.signal,
  onMetrics: (r) => appendFileSync(metricsFile, JSON.stringify(r) + '\n'),
  onProgress: (p) => {
    const now = Date.now();
    if (now - lastPrint < 15000 && p.step !== p.totalSteps) return;
    lastPrint = now;
    console.log(
      `step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} avg50 ${p.lossAvg.toFixed(4)} ${p.secondsPerStep.toFixed(2)} s/step elapsed ${fmt(p.elapsedSeconds)} eta ${fmt(p.etaSeconds)}`,
    );
  },
  onCheckpoint: ({ step }) => console.log(`checkpoint at step ${step}`),
  onMetaTest: (r, step) => {
    writeFileSync(join(runDir, 'results', `${r.learner}-${r.dataset}-step${step}.json`), JSON.stringify(r));
    const s = r.summary;
    console.log(`metatest step ${step} ${r.dataset}: online@100 ${(100 * (s['online@100']?.mean ?? NaN)).toFixed(1)} online ${(100 * s.online.mean).toFixed(1)} last100 ${(100 * s.last100.mean).toFixed(1)}`);
  },
});
console.log(`stopped: ${result.stopped} at step ${result.step} after ${fmt(result.elapsedSeconds)}`);
