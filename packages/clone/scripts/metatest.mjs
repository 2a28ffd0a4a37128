#!/usr/bin/env node
// Meta-test a cloned V_M (a `vm` or `train` checkpoint) on MNIST / Fashion-MNIST next to SGD.
//
//   node packages/clone/scripts/metatest.mjs --vm <checkpoint.json> --out <dir> [--preset quick|paper|file.json]
//        [--spec '{"steps":500,"hidden":[32],"seeds":[1,2,3],...}']
//
// Writes <out>/results/<learner>-<dataset>.json (report schema `vsml-metatest`), <out>/runs.jsonl (per seed and
// learner: per-step correctness and loss, test accuracy), <out>/progress.jsonl. The preset supplies model,
// emulation and the meta-test spec; --spec overrides fields of the spec.
import path from 'node:path';
import { appendJsonl, load, parseArgs, resolvePreset, writeJson, deepMerge } from './lib.mjs';

const args = parseArgs();
if (!args.vm || !args.out) throw new Error('usage: metatest.mjs --vm <checkpoint> --out <dir> [--preset quick] [--spec {...}]');
const { clone, core, backend } = await load();
const preset = clone.parseClonePreset(resolvePreset(clone, args.preset ?? 'quick', args.set));
const ckpt = await core.loadCheckpoint(String(args.vm));
const vm = clone.vmFromCheckpoint(ckpt);
const spec = deepMerge(preset.metatest, args.spec ?? {});
const command = `node packages/clone/scripts/metatest.mjs ${process.argv.slice(2).map((a) => (/\s|[{}"]/.test(a) ? `'${a}'` : a)).join(' ')}`;
console.log(`backend ${backend}; meta-test ${args.vm}; spec ${JSON.stringify(spec)}`);
const t0 = Date.now();
const { results } = await clone.metaTestClone({
  vm,
  model: preset.model,
  emulation: preset.emulation,
  spec,
  command,
  onProgress: (p) => {
    appendJsonl(path.join(args.out, 'progress.jsonl'), p);
    if (p.testAccuracy !== undefined || p.step % 50 === 0) {
      console.log(`${p.dataset} seed ${p.seed} step ${p.step}/${p.steps} ${(p.elapsedMs / 1000).toFixed(0)}s` + (p.testAccuracy !== undefined ? ` test ${p.testAccuracy.toFixed(4)} sgd ${p.sgdTestAccuracy?.toFixed(4)}` : ''));
    }
  },
  onRun: (r) => appendJsonl(path.join(args.out, 'runs.jsonl'), r),
});
for (const r of results) {
  writeJson(path.join(args.out, 'results', `${r.learner}-${r.dataset}.json`), r);
  const s = r.summary;
  console.log(`${r.learner} ${r.dataset}: test ${s.test?.mean.toFixed(4)} ± ${s.test?.std.toFixed(4)}, online ${s.final.mean.toFixed(4)}, recent ${s.recent.mean.toFixed(4)}`);
}
console.log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
