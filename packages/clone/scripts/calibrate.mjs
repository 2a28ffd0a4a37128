#!/usr/bin/env node
// Measures a clone's update gain on the MNIST train split and prints the error scale that restores its learning rate.
//
//   node packages/clone/scripts/calibrate.mjs --vm <checkpoint> [--preset quick] [--opts '{"steps":60,"innerBatch":16,"hidden":[32],"preprocess":{...}}'] [--out file.json]
import { load, parseArgs, resolvePreset, writeJson } from './lib.mjs';

const args = parseArgs();
if (!args.vm) throw new Error('usage: calibrate.mjs --vm <checkpoint> [--preset quick] [--opts {...}] [--out file.json]');
const { clone, core } = await load();
const preset = clone.parseClonePreset(resolvePreset(clone, args.preset ?? 'quick', args.set));
const vm = clone.vmFromCheckpoint(await core.loadCheckpoint(String(args.vm)));
const t0 = Date.now();
const cal = clone.calibrateClone({ vm, model: preset.model, emulation: preset.emulation, ...(args.opts ?? {}) });
for (const r of cal.rounds) console.log(`errorScale ${r.errorScale.toFixed(3)}: gain ${r.gain.toFixed(3)} rate ${r.rate.toFixed(3)} relError ${r.relError.toFixed(3)}`);
console.log(`recommended errorScale ${cal.errorScale.toFixed(3)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
if (args.out) writeJson(String(args.out), { vm: args.vm, opts: args.opts ?? {}, ...cal });
