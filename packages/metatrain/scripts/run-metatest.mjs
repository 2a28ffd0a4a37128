#!/usr/bin/env node
// Meta-tests learners on datasets (from the built package; build first) and prints tables of online accuracy.
//
//   node packages/metatrain/scripts/run-metatest.mjs <config.json>
//
// Config (JSON):
// {
//   "outDir": "packages/metatrain/runs/metatest",
//   "backend": "wasm",
//   "steps": 500, "seeds": [1, 2, 3, 4, 5], "testEvery": 100, "testCount": 1000,
//   "suites": [ { "name": "7x7", "preprocess": {"resize": [7, 7]}, "datasets": ["mnist", "fashion_mnist"],
//                 "learners": ["vsml", "metarnn", "adam-mlp", ...], "steps"?: 100 } ],
//   "vsml": "packages/metatrain/runs/vsml-grad/checkpoint.vm.json",
//   "metarnn": "packages/metatrain/runs/metarnn-grad/checkpoint.vm.json",
//   "sweep": {"sgd": [0.01, 0.03, 0.1, 0.3], "adam": [0.001, 0.003, 0.01]}   // extra lrs for the MLP baselines
// }
// Learner names: vsml, metarnn, adam-mlp, adam-linear, sgd-mlp, sgd-linear (official lrs) and, with `sweep`,
// adam-mlp@<lr>, sgd-mlp@<lr>. Writes <outDir>/<suite>/<learner>-<dataset>.json (the report's result JSON) and
// <outDir>/summary.md.
import { mkdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initBackend } from '@vsml/core';
import * as mt from '../dist/index.js';

const file = process.argv[2];
if (!file) {
  console.error('usage: run-metatest.mjs <config.json>');
  process.exit(2);
}
const cfg = JSON.parse(readFileSync(file, 'utf8'));
const outDir = resolve(cfg.outDir);
mkdirSync(outDir, { recursive: true });
await initBackend({ backend: cfg.backend ?? 'wasm' });
const command = `node packages/metatrain/scripts/run-metatest.mjs ${file}`;

async function learnerFor(name) {
  if (name === 'vsml') return mt.vsmlLearnerFromCheckpoint(cfg.vsml, { name: 'vsml-scratch', label: 'VSML (meta-trained from scratch)' });
  if (name === 'metarnn') {
    const ck = await mt.loadMetatrainTheta(cfg.metarnn);
    const model = mt.modelFromDescription(ck.model);
    return model.learner(ck.theta, { name: 'meta-rnn', label: 'Meta RNN (LSTM 128)' });
  }
  const m = /^(adam|sgd)-(mlp|linear)(?:@([\d.e-]+))?$/.exec(name);
  if (!m) throw new Error(`unknown learner ${name}`);
  const lr = m[3] ? Number(m[3]) : undefined;
  return mt.onlineLearner({
    optimizer: m[1],
    model: m[2],
    ...(lr !== undefined ? { lr, name } : {}),
  });
}

const pct = (s) => (s ? `${(100 * s.mean).toFixed(1)} ± ${(100 * s.std).toFixed(1)}` : '—');
const lines = [];
for (const suite of cfg.suites) {
  const steps = suite.steps ?? cfg.steps;
  const seeds = suite.seeds ?? cfg.seeds;
  const names = [...suite.learners];
  for (const opt of suite.sweep ? Object.keys(cfg.sweep ?? {}) : []) for (const lr of cfg.sweep[opt]) names.push(`${opt}-mlp@${lr}`);
  mkdirSync(join(outDir, suite.name), { recursive: true });
  lines.push(`\n### ${suite.name}: ${JSON.stringify(suite.preprocess)}, ${steps} steps, seeds ${seeds.join(',')}\n`);
  lines.push(`| learner | ${suite.datasets.map((d) => `${d} @100 | ${d} @${steps} | ${d} last100 | ${d} test`).join(' | ')} | |V_M| | |V_L| |`);
  lines.push(`|---|${suite.datasets.map(() => '---|---|---|---').join('|')}|---|---|`);
  for (const name of names) {
    const learner = await learnerFor(name);
    const cells = [];
    let counts = ['', ''];
    for (const dataset of suite.datasets) {
      const pre = { ...suite.preprocess, ...(name === 'metarnn' && suite.metaRnnPadClasses ? { padClasses: suite.metaRnnPadClasses } : {}) };
      const t0 = Date.now();
      let r;
      try {
        r = await mt.metaTest({ learner, dataset, preprocess: pre, steps, seeds, testEvery: cfg.testEvery ?? null, testCount: cfg.testCount ?? 1000, command });
      } catch (e) {
        if (e?.code === 'UNSUPPORTED') {
          cells.push('n/a', 'n/a', 'n/a', 'n/a');
          continue;
        }
        throw e;
      }
      writeFileSync(join(outDir, suite.name, `${learner.name}-${dataset}.json`), JSON.stringify(r));
      const s = r.summary;
      cells.push(pct(s['online@100']), pct(s[`online@${steps}`] ?? s.online), pct(s.last100), pct(s.test));
      counts = [r.vmCount ?? '—', r.vlCount ?? '—'];
      console.log(`${suite.name} ${learner.name} ${dataset}: @100 ${pct(s['online@100'])} @${steps} ${pct(s.online)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
    lines.push(`| ${learner.label} | ${cells.join(' | ')} | ${counts[0]} | ${counts[1]} |`);
  }
}
const md = lines.join('\n') + '\n';
appendFileSync(join(outDir, 'summary.md'), md);
console.log(md);
