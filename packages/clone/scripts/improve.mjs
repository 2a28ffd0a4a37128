#!/usr/bin/env node
// Improves a cloned V_M with sep-CMA-ES (fitness: loss after a long unrolled episode on MNIST), resumable.
//
//   node packages/clone/scripts/improve.mjs --vm <checkpoint> --out <dir> [--preset quick|paper|file.json]
//        [--spec '{"generations":10,...}'] [--resume <dir>/improve-train.json]
//
// Writes <out>/improve.jsonl (one record per generation), <out>/improve-train.json (resumable), <out>/vm-improved.json
// (kind `vm`, the final CMA-ES mean) and <out>/vm-best.json (best candidate seen).
import path from 'node:path';
import { appendJsonl, deepMerge, gitCommit, load, parseArgs, resolvePreset } from './lib.mjs';

const args = parseArgs();
if (!args.vm || !args.out) throw new Error('usage: improve.mjs --vm <checkpoint> --out <dir> [--preset quick] [--spec {...}] [--resume ckpt]');
const { clone, core, backend } = await load();
const preset = clone.parseClonePreset(resolvePreset(clone, args.preset ?? 'quick', args.set));
const vm = clone.vmFromCheckpoint(await core.loadCheckpoint(String(args.vm)));
const spec = deepMerge(preset.improve, args.spec ?? {});
let stop = false;
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { console.log(`${sig}: checkpoint and stop`); stop = true; });
const resume = args.resume ? await core.loadCheckpoint(String(args.resume), { kind: 'train' }) : undefined;
const command = `node packages/clone/scripts/improve.mjs ${process.argv.slice(2).map((a) => (/\s|[{}"]/.test(a) ? `'${a}'` : a)).join(' ')}`;
console.log(`backend ${backend}; improve ${args.vm}; spec ${JSON.stringify(spec)}`);
const r = await clone.improveClone({
  vm,
  model: preset.model,
  emulation: preset.emulation,
  spec,
  ...(resume ? { resume } : {}),
  provenance: { command, commit: await gitCommit() },
  onGeneration: (g) => {
    appendJsonl(path.join(args.out, 'improve.jsonl'), g);
    console.log(`gen ${g.generation}: baseline ${g.baseline.toFixed(4)} mean ${g.meanFitness.toFixed(4)} best ${g.best.toFixed(4)} median ${g.median.toFixed(4)} sigma ${g.sigma.toFixed(4)} ${(g.elapsedMs / 1000).toFixed(0)}s`);
  },
  onCheckpoint: (c) => core.saveCheckpoint(path.join(args.out, 'improve-train.json'), c),
  shouldStop: () => stop,
});
const prov = { command, commit: await gitCommit(), seed: spec.seed ?? null };
await core.saveCheckpoint(path.join(args.out, 'vm-improved.json'), clone.vmCheckpoint(r.vm, r.model, { ...prov, which: 'cma-mean' }));
await core.saveCheckpoint(path.join(args.out, 'vm-best.json'), clone.vmCheckpoint(r.best, r.model, { ...prov, which: 'best-candidate', fitness: r.bestFitness }));
console.log(r.stopped ? 'stopped (resume with --resume improve-train.json)' : 'done');
