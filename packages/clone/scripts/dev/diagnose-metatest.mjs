// dev diagnostic (node packages/clone/scripts/dev/diagnose-metatest.mjs <vm checkpoint> [steps] [B] [resize]): inside a meta-test, compare the clone's merged weight change per step with the rule's target computed from
// the clone's own stored weights, inputs and errors (local): gain and relative error, for the raw change and for the
// class-dependent part (minus the mean over output neurons b, which only shifts all logits equally).
import '../register-ts.mjs';
const clone = await import('../../src/index.ts');
const core = await import('@vsml/core');
const ds = await import('@vsml/datasets');
const { tf } = core;
await core.initBackend({ backend: 'wasm' });
const [file, stepsArg, BArg, resize] = process.argv.slice(2);
const steps = Number(stepsArg ?? 100), B = Number(BArg ?? 16);
const preset = clone.parseClonePreset(clone.QUICK_PRESET);
const pre = resize ? { resize: [Number(resize), Number(resize)] } : {};
const sampler = ds.openEpisodeSampler({ dataset: 'mnist', split: 'train', population: 1, length: steps, batch: B, seed: 11, preprocess: pre });
const D = sampler.dim;
const config = clone.cloneModelConfig(preset.model, [D, 10]);
const vm = clone.vmFromCheckpoint(await core.loadCheckpoint(file), config);
const model = core.prepareModel(core.unflattenParams(config, vm), config);
let state = core.initState(config, { population: 1, innerBatch: B, seed: 5 });
const ep = sampler.episode(0);
const emu = preset.emulation;
const acc = { n: 0 };
const sums = {};
const add = (k, v) => (sums[k] = (sums[k] ?? 0) + v);
for (let t = 0; t < steps; t++) {
  const x = tf.tensor2d(ep.x.subarray(t * B * D, (t + 1) * B * D), [B, D]);
  const y = tf.tensor1d(ep.y.subarray(t * B, (t + 1) * B), 'int32');
  const prev = state;
  const out = tf.tidy(() => {
    const r = clone.cloneStep(model, prev, x, y, { record: true });
    const w0 = clone.readWeights(r.start, emu).w[0]; // [B, I, O] (rows equal)
    const merged = clone.mergeState(r.state, config);
    const w1 = clone.readWeights(merged, emu).w[0];
    const d = tf.mean(tf.sub(w1, w0), 0); // [I, O] merged change
    const t = tf.mean(tf.mul(tf.mul(tf.expandDims(tf.tanh(x), 2), tf.expandDims(r.error, 1)), -emu.eta), 0); // [I, O]
    const cd = (m) => tf.sub(m, tf.mean(m, 1, true));
    const dot = (a, b) => tf.sum(tf.mul(a, b));
    const vals = tf.stack([dot(d, t), dot(t, t), dot(tf.sub(d, t), tf.sub(d, t)), dot(cd(d), cd(t)), dot(cd(t), cd(t)), dot(tf.sub(cd(d), cd(t)), tf.sub(cd(d), cd(t))), tf.mean(tf.cast(tf.equal(tf.cast(tf.argMax(r.logits, -1), 'int32'), y), 'float32'))]);
    return { state: r.state, vals };
  });
  state = out.state;
  core.disposeState(prev, state);
  const v = out.vals.dataSync();
  out.vals.dispose();
  x.dispose(); y.dispose();
  for (const [i, k] of ['dt', 'tt', 'ee', 'cdt', 'ctt', 'cee', 'acc'].entries()) add(k, v[i]);
  if ((t + 1) % 20 === 0) {
    console.log(`steps ${t - 18}-${t + 1}: gain ${(sums.dt / sums.tt).toFixed(3)} rel ${Math.sqrt(sums.ee / sums.tt).toFixed(3)} | class-dependent: gain ${(sums.cdt / sums.ctt).toFixed(3)} rel ${Math.sqrt(sums.cee / sums.ctt).toFixed(3)} | acc ${(sums.acc / 20).toFixed(3)}`);
    for (const k of Object.keys(sums)) sums[k] = 0;
  }
}
