import '../register-ts.mjs';
const core = await import('@vsml/core');
const { tf } = core;
const cfgm = await import('/work/main/packages/clone/src/config.ts');
const sub = await import('/work/main/packages/clone/src/subrnn.ts');
const { FlatAdam } = await import('/work/main/packages/clone/src/adam.ts');
const { Rng } = await import('@vsml/rng');
await core.initBackend({ backend: 'wasm' });
const args = JSON.parse(process.argv[2] || '{}');
const H = args.H ?? 32;
const config = cfgm.cloneModelConfig({ slowSize: H, microTicks: args.mt ?? 2 }, [1, 1]);
const emulation = cfgm.parseWith(cfgm.EmulationSchema, args.emu ?? { eta: 1 }, 'emu');
const stage = cfgm.parseWith(cfgm.SubRnnStageSchema, { kind: 'subrnn', name: 's', iterations: args.it ?? 300, batch: args.N ?? 1024, window: args.K ?? 2, optimizer: { lr: args.lr ?? 5e-3, gradClip: args.clip ?? null }, data: args.data ?? {}, loss: args.loss ?? {} , resetFraction: args.reset ?? 0.1}, 'stage');
const flat = tf.variable(tf.tensor1d(core.initParamVector(config, 1)));
const adam = new FlatAdam(flat, stage.optimizer);
const pool = sub.emptyPool(stage.batch, H);
const t0 = performance.now();
for (let it = 0; it < stage.iterations; it++) {
  const rng = Rng.fromSeed(1, 0, it);
  const m = await sub.subRnnIteration(flat, (g) => adam.apply(g), pool, rng, config, emulation, stage);
  if (it % (args.log ?? 25) === 0 || it === stage.iterations - 1) {
    console.log(it, ((performance.now() - t0) / 1000).toFixed(0) + 's', Object.entries(m).map(([k, v]) => `${k} ${v.toPrecision(3)}`).join(' '), 'tensors', tf.memory().numTensors);
  }
}
if (args.save) { const fs = await import('node:fs'); fs.writeFileSync(args.save, JSON.stringify(Array.from(flat.dataSync()))); }
