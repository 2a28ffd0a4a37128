// dev diagnostic: how well does a clone's reverse tick produce Δw = −η·e·tanh(x) on the random cloning data? Bins the
// error by |w|, |e|, |x| and prints the mean error per x bin (the part that survives averaging over a batch).
//   CLONE_SRC=1 node packages/clone/scripts/dev/analyze-update.mjs <vm checkpoint> [warm-up steps]
import '../register-ts.mjs';
const clone = await import('../../src/index.ts');
const core = await import('@vsml/core');
const { Rng } = await import('@vsml/rng');
const { tf } = core;
await core.initBackend({ backend: 'wasm' });
const [file, warm] = [process.argv[2], Number(process.argv[3] ?? 20)];
const ckpt = await core.loadCheckpoint(file);
const preset = clone.parseClonePreset(clone.QUICK_PRESET);
const config = clone.cloneModelConfig(preset.model, [1, 1]);
const vm = clone.vmFromCheckpoint(ckpt, clone.cloneModelConfig(preset.model, [784, 10]));
const stage = clone.parseWith(clone.SubRnnStageSchema, { ...preset.curriculum[0], batch: 8192 }, 's');
const emu = preset.emulation;
const N = 8192, H = config.slowSize;
const pool = clone.emptyPool(N, H);
const rng = Rng.fromSeed(7);
for (let r = 0; r < N; r++) clone.initPoolRow(pool, r, rng, config, stage, emu);
const flat = tf.tensor1d(vm);
// warm the pool up: run `warm` steps
let h = tf.tensor2d(pool.h, [N, H]), c = tf.tensor2d(pool.c, [N, H]);
for (let k = 0; k < warm; k++) {
  const win = clone.drawWindow(rng, pool, { ...stage, window: 1 });
  const r = clone.subRnnWindowLoss(flat, config, emu, stage.loss, { h, c, x: tf.tensor2d(win.x, [1, N]), e: tf.tensor2d(win.e, [1, N]), mask: tf.tensor2d(win.mask, [1, N]) });
  h = r.h; c = r.c;
}
// one analysed step
const win = clone.drawWindow(rng, pool, { ...stage, window: 1 });
const params = core.unflattenParams(config, flat);
const rnn = core.rnnParams(params, config, 0, 'forward');
const M = config.msgSize;
const pad = (v) => tf.pad(tf.reshape(v, [N, 1]), [[0, 0], [0, M - 1]]);
const x = tf.tensor1d(win.x), e = tf.tensor1d(win.e);
const w0 = Float32Array.from(tf.slice(c, [0, 0], [N, 1]).dataSync(), (v) => v * 20);
let hh = h, cc = c;
const clip = (t) => tf.clipByValue(t, -4, 4);
for (let m = 0; m < 2; m++) { const s = core.lstmCellStep(rnn, pad(x), tf.zeros([N, M]), hh, cc); hh = clip(s.h); cc = clip(s.c); }
const w1 = Float32Array.from(tf.slice(cc, [0, 0], [N, 1]).dataSync(), (v) => v * 20);
for (let m = 0; m < 2; m++) { const s = core.lstmCellStep(rnn, pad(x), pad(e), hh, cc); hh = clip(s.h); cc = clip(s.c); }
const w2 = Float32Array.from(tf.slice(cc, [0, 0], [N, 1]).dataSync(), (v) => v * 20);
const xs = win.x, es = win.e;
const rows = [];
for (let i = 0; i < N; i++) rows.push({ w: w0[i], x: xs[i], e: es[i], pred: w2[i] - w0[i], hold: w1[i] - w0[i], tgt: -emu.eta * es[i] * Math.tanh(xs[i]) });
function report(name, key, edges) {
  console.log(`-- by ${name}`);
  for (let b = 0; b + 1 < edges.length; b++) {
    const sel = rows.filter((r) => Math.abs(key(r)) >= edges[b] && Math.abs(key(r)) < edges[b + 1]);
    if (!sel.length) continue;
    const se = sel.reduce((a, r) => a + (r.pred - r.tgt) ** 2, 0), st = sel.reduce((a, r) => a + r.tgt ** 2, 0);
    const sxy = sel.reduce((a, r) => a + r.pred * r.tgt, 0);
    const hold = Math.sqrt(sel.reduce((a, r) => a + r.hold ** 2, 0) / sel.length);
    console.log(`${name} [${edges[b]}, ${edges[b + 1]}): n ${sel.length} rel ${Math.sqrt(se / st).toFixed(3)} gain ${(sxy / st).toFixed(3)} rmsTgt ${Math.sqrt(st / sel.length).toFixed(4)} rmsErr ${Math.sqrt(se / sel.length).toFixed(4)} holdRms ${hold.toFixed(4)}`);
  }
}
report('|w|', (r) => r.w, [0, 2, 5, 10, 20, 40, 100]);
report('|e|', (r) => r.e, [0, 1e-9, 0.03, 0.1, 0.3, 1, 3, 10]);
report('|x|', (r) => r.x, [0, 0.5, 1, 2, 4, 10]);
// systematic part: mean error per x bin (this is what averaging over a batch keeps)
console.log('-- mean (pred - tgt) by x (all e), and for e = 0');
const xe = [-5, -2, -1, -0.5, -0.3, 0, 0.3, 0.5, 1, 2, 3, 5];
for (let b = 0; b + 1 < xe.length; b++) {
  const sel = rows.filter((r) => r.x >= xe[b] && r.x < xe[b + 1]);
  const z = sel.filter((r) => r.e === 0);
  const m = (a, f) => a.reduce((s, r) => s + f(r), 0) / Math.max(a.length, 1);
  console.log(`x [${xe[b]}, ${xe[b + 1]}): n ${sel.length} meanErr ${m(sel, (r) => r.pred - r.tgt).toFixed(4)} meanHold ${m(sel, (r) => r.hold).toFixed(4)} | e=0: n ${z.length} meanPred ${m(z, (r) => r.pred).toFixed(4)}`);
}
