#!/usr/bin/env node
// Diagnostic: histogram of predicted vs true classes of the VSML and Meta RNN learners on meta-test streams
// (from the built package).   node packages/metatrain/scripts/diagnose-predictions.mjs <vsml.vm.json> <metarnn.vm.json>
import { initBackend } from '@vsml/core';
import * as mt from '../dist/index.js';

const [vsmlFile, rnnFile] = process.argv.slice(2);
await initBackend({ backend: 'wasm' });
const ck = await mt.loadMetatrainTheta(rnnFile);
const learners = [
  await mt.vsmlLearnerFromCheckpoint(vsmlFile, { name: 'vsml' }),
  mt.modelFromDescription(ck.model).learner(ck.theta, { name: 'meta-rnn' }),
];
for (const dataset of ['mnist', 'fashion_mnist']) {
  const streams = mt.metaTestStreams(mt.MetaTestConfigSchema.parse({ dataset, preprocess: { resize: [7, 7] }, steps: 500 }));
  for (const l of learners) {
    const r = await l.runEpisodes(streams, { seeds: [1, 2, 3, 4, 5] });
    const pred = new Array(10).fill(0);
    const truth = new Array(10).fill(0);
    let sameAsPrev = 0;
    for (let i = 0; i < r.predictions.length; i++) {
      pred[r.predictions[i]]++;
      truth[streams.y[i]]++;
      if (i >= 5 && r.predictions[i] === streams.y[i - 5]) sameAsPrev++;
    }
    const n = r.predictions.length;
    const fmt = (a) => a.map((v) => (100 * v / n).toFixed(0).padStart(3)).join(' ');
    console.log(`${dataset.padEnd(13)} ${l.name.padEnd(8)} predicted % per class: ${fmt(pred)} | true: ${fmt(truth)} | pred = previous label: ${(100 * sameAsPrev / (n - 5)).toFixed(1)}%`);
  }
}
