#!/usr/bin/env node
// Runs the cloning curriculum of a preset (or some of its stages), resumable.
//
//   node packages/clone/scripts/clone.mjs --out <dir> [--preset quick|paper|file.json] [--set '{...overrides...}']
//        [--stages '["random"]'] [--init <vm checkpoint>] [--resume <dir>/train.json]
//
// Writes <out>/metrics.jsonl (one record per logEvery iterations), <out>/train.json (latest resumable checkpoint),
// <out>/vm-<stage>.json (V_M after each stage, kind `vm`) and <out>/preset.json. SIGINT/SIGTERM: checkpoint and exit.
import path from 'node:path';
import { appendJsonl, gitCommit, load, parseArgs, resolvePreset, writeJson } from './lib.mjs';

const args = parseArgs();
if (!args.out) throw new Error('usage: clone.mjs --out <dir> [--preset quick] [--set {...}] [--stages [...]] [--init ckpt] [--resume ckpt]');
const { clone, core, backend } = await load();
const preset = clone.parseClonePreset(resolvePreset(clone, args.preset ?? 'quick', args.set));
writeJson(path.join(args.out, 'preset.json'), preset);
let stop = false;
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { console.log(`${sig}: checkpoint and stop`); stop = true; });
const command = `node packages/clone/scripts/clone.mjs ${process.argv.slice(2).map((a) => (/\s|[{}"]/.test(a) ? `'${a}'` : a)).join(' ')}`;
const resume = args.resume ? await core.loadCheckpoint(String(args.resume), { kind: 'train' }) : undefined;
const initial = args.init ? clone.vmFromCheckpoint(await core.loadCheckpoint(String(args.init))) : undefined;
console.log(`backend ${backend}; preset ${preset.name}; stages ${preset.curriculum.map((s) => s.name).join(', ')}${resume ? ' (resumed)' : ''}`);
let last = 0;
const r = await clone.runCurriculum({
  preset,
  ...(resume ? { resume } : {}),
  ...(initial ? { initial } : {}),
  ...(args.stages ? { stages: args.stages } : {}),
  provenance: { command, commit: await gitCommit() },
  callbacks: {
    onMetrics: (m) => {
      appendJsonl(path.join(args.out, 'metrics.jsonl'), m);
      const keys = Object.keys(m).filter((k) => /Rel$|^loss$|^ce$|^gtCe$|^acc$/.test(k));
      console.log(`${m.stage} ${m.iteration} ${(m.elapsedMs / 1000).toFixed(0)}s ` + keys.map((k) => `${k} ${Number(m[k]).toPrecision(3)}`).join(' '));
    },
    onProgress: (p) => {
      if (Date.now() - last > 60_000) {
        last = Date.now();
        appendJsonl(path.join(args.out, 'progress.jsonl'), p);
      }
    },
    onCheckpoint: (c) => core.saveCheckpoint(path.join(args.out, 'train.json'), c),
    onStageEnd: (c, info) => core.saveCheckpoint(path.join(args.out, `vm-${info.stage}.json`), c),
    shouldStop: () => stop,
  },
});
console.log(r.stopped ? 'stopped (resume with --resume train.json)' : `done: ${r.completed.join(', ')}`);
