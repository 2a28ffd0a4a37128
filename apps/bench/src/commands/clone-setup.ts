/**
 * What `vsml clone`, `vsml improve` and `vsml metatest --clone` share: the bench preset's `clone` section resolved
 * into a validated @vsml/clone preset, a named clone meta-test suite, and loading a cloned `V_M` checkpoint.
 */
import * as clone from '@vsml/clone';
import { loadCheckpoint } from '@vsml/core';
import { deepMerge, type Preset } from '../config/presets.js';

/** The clone preset of a bench preset: `clone.base` (the library's quick or paper preset) with `clone.overrides`. */
export function resolveClonePreset(preset: Preset, source: string, seed?: number): clone.ClonePreset {
  const section = preset.clone;
  if (!section) throw new Error(`${source} has no 'clone' section`);
  const merged = deepMerge(structuredClone(clone.CLONE_PRESETS[section.base]), section.overrides) as Record<string, unknown>;
  if (seed !== undefined) merged['seed'] = seed;
  return clone.parseClonePreset(merged);
}

/** The meta-test spec of clone suite `name`: the clone preset's `metatest` with the suite's overrides. */
export function cloneSuiteSpec(preset: Preset, source: string, name: string, base: clone.ClonePreset): clone.MetaTestSpec {
  const suites = preset.clone?.suites ?? {};
  const over = suites[name];
  if (!over) throw new Error(`no clone meta-test suite '${name}' in ${source} (available: ${Object.keys(suites).join(', ') || 'none'})`);
  return clone.parseWith(clone.MetaTestSchema, deepMerge(structuredClone(base.metatest), over), `clone.suites.${name}`);
}

/** A cloned V_M checkpoint: the flat vector and the model options (core's config without the layer sizes). */
export async function loadClonedVm(file: string): Promise<{ vm: Float32Array; model: Record<string, unknown>; provenance: Record<string, unknown> }> {
  const ck = await loadCheckpoint(file);
  const { layers: _layers, ...model } = ck.model as unknown as Record<string, unknown>;
  return { vm: clone.vmFromCheckpoint(ck), model, provenance: (ck.provenance ?? {}) as Record<string, unknown> };
}
