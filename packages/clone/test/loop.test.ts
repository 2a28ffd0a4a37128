import {
  tf,
  disposeState,
  errorInjection,
  forwardTick,
  initState,
  prepareModel,
  disposePreparedModel,
  reverseTick,
  unflattenParams,
  stateTensors,
  type VlState,
} from '@vsml/core';
import { Rng } from '@vsml/rng';
import { mergeInnerBatch } from '@vsml/core';
import { cloneModelConfig, cloneStep, mergeRows, predictLogits, readWeights, tidy, writeWeights } from '../src/index.js';
import { maxDiff, randomVm, useBackend } from './helpers.js';

useBackend();

const model = { slowSize: 4, msgSize: 3, microTicks: 2, stateClip: null };
const sizes = [3, 4, 2];

function data(E: number, D: number, C: number, seed: number): { x: tf.Tensor; y: tf.Tensor } {
  const rng = Rng.fromSeed(seed);
  const y = new Int32Array(E);
  for (let i = 0; i < E; i++) y[i] = rng.int(0, C);
  return { x: tf.tensor2d(rng.fillNormal(new Float32Array(E * D)), [E, D]), y: tf.tensor1d(y, 'int32') };
}

test.each([0.5, 1, 0.25])('mergeRows = core mergeInnerBatch (fraction %s) and is differentiable', (f) => {
  tf.tidy(() => {
    const x = tf.randomNormal([2 * 3, 2, 2, 4], 0, 1, 'float32', 1);
    expect(maxDiff(mergeRows(x, 2, 3, f), mergeInnerBatch(x, 2, 3, f))).toBeLessThan(1e-6);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(mergeRows(t, 2, 3, f))))(x);
    expect(g.shape).toEqual(x.shape);
  });
});

describe('cloneStep', () => {
  test('on a fresh state it is core forwardTick, error, reverseTick (no division by B, no stale message yet)', () => {
    const config = cloneModelConfig(model, sizes);
    const params = unflattenParams(config, randomVm(config, 1));
    const state = initState(config, { population: 1, seed: 3 });
    const { x, y } = data(1, 3, 2, 5);
    const prepared = prepareModel(params, config);
    tf.tidy(() => {
      const r = cloneStep(prepared, state, x, y, { record: true });
      const f = forwardTick(params, config, state, { x });
      expect(maxDiff(r.logits, f.logits!)).toBeLessThan(1e-5);
      const err = tf.sub(tf.softmax(f.logits!), tf.oneHot(y, 2).toFloat());
      expect(maxDiff(r.error, err)).toBeLessThan(1e-6);
      const b = reverseTick(params, config, f.state, { x, bwdInjection: errorInjection(err, null, config.msgSize) });
      for (let l = 0; l < 2; l++) {
        expect(maxDiff(r.state.layers[l]!.h, b.state.layers[l]!.h)).toBeLessThan(1e-5);
        expect(maxDiff(r.state.layers[l]!.c, b.state.layers[l]!.c)).toBeLessThan(1e-5);
      }
    });
    disposePreparedModel(prepared);
  });

  test('the next forward tick sees no stale backward message (core keeps it in layer 0)', () => {
    const config = cloneModelConfig(model, sizes);
    const params = unflattenParams(config, randomVm(config, 2));
    const state = initState(config, { population: 1, seed: 4 });
    const d1 = data(1, 3, 2, 6);
    const d2 = data(1, 3, 2, 7);
    const prepared = prepareModel(params, config);
    tf.tidy(() => {
      const s1 = cloneStep(prepared, state, d1.x, d1.y).state;
      const c2 = cloneStep(prepared, s1, d2.x, d2.y, { record: true });
      // core's way: reverse tick leaves layer 1's backward output in layer 0's incoming backward messages
      const f = forwardTick(params, config, state, { x: d1.x });
      const err = tf.sub(tf.softmax(f.logits!), tf.oneHot(d1.y, 2).toFloat());
      const b = reverseTick(params, config, f.state, { x: d1.x, bwdInjection: errorInjection(err, null, config.msgSize) });
      expect(tf.max(tf.abs(b.state.layers[0]!.bwdIn)).dataSync()[0]).toBeGreaterThan(1e-3);
      const stale = forwardTick(params, config, b.state, { x: d2.x });
      const cleared: VlState = { ...b.state, layers: b.state.layers.map((l) => ({ ...l, bwdIn: tf.zerosLike(l.bwdIn) })) };
      const clean = forwardTick(params, config, cleared, { x: d2.x });
      expect(maxDiff(c2.mid!.layers[0]!.c, clean.state.layers[0]!.c)).toBeLessThan(1e-5);
      expect(maxDiff(c2.logits, clean.logits!)).toBeLessThan(1e-5);
      expect(maxDiff(stale.state.layers[0]!.c, clean.state.layers[0]!.c)).toBeGreaterThan(1e-4);
    });
    disposePreparedModel(prepared);
  });

  test('chunked rows give the same numbers; inner batch rows are merged first', () => {
    const config = cloneModelConfig({ ...model, innerBatchMerge: 1 }, [3, 2]);
    const params = unflattenParams(config, randomVm(config, 3));
    const prepared = prepareModel(params, config);
    const s0 = initState(config, { population: 1, innerBatch: 3, seed: 5 });
    const d = data(3, 3, 2, 8);
    tf.tidy(() => {
      const a = cloneStep(prepared, s0, d.x, d.y);
      const b = cloneStep(prepared, s0, d.x, d.y, { chunkRows: 1 });
      expect(maxDiff(a.state.layers[0]!.c, b.state.layers[0]!.c)).toBeLessThan(1e-6);
      const a2 = cloneStep(prepared, a.state, d.x, d.y, { record: true });
      const start = a2.start!.layers[0]!.c;
      const rows = tf.unstack(start);
      expect(maxDiff(rows[0]!, rows[2]!)).toBe(0);
      expect(maxDiff(rows[0]!, tf.mean(a.state.layers[0]!.c, 0))).toBeLessThan(1e-6);
    });
    disposePreparedModel(prepared);
  });

  test('no tensor leak over steps; predictLogits = the forward tick from the merged state', () => {
    const config = cloneModelConfig({ ...model, stateClip: [-4, 4] }, sizes);
    const params = unflattenParams(config, randomVm(config, 4));
    const prepared = prepareModel(params, config);
    let state = initState(config, { population: 1, innerBatch: 2, seed: 6 });
    const d = data(2, 3, 2, 9);
    const before = tf.memory().numTensors;
    for (let t = 0; t < 5; t++) {
      const prev = state;
      state = tidy(() => cloneStep(prepared, prev, d.x, d.y).state);
      disposeState(prev, state);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.tidy(() => {
      const merged = { ...state, layers: state.layers.map((l) => ({ ...l, h: tf.broadcastTo(tf.mean(l.h, 0, true), l.h.shape), c: tf.broadcastTo(tf.mean(l.c, 0, true), l.c.shape) })) };
      const r = cloneStep(prepared, merged, d.x, d.y, { merge: false });
      expect(maxDiff(predictLogits(prepared, state, d.x, { chunkRows: 1 }), r.logits)).toBeLessThan(1e-5);
    });
    disposeState(state);
    disposePreparedModel(prepared);
    expect(stateTensors(state).every((t) => t.isDisposed)).toBe(true);
  });

  test('readWeights / writeWeights round trip (scale and slots)', () => {
    const config = cloneModelConfig(model, sizes);
    const s0 = initState(config, { population: 1, innerBatch: 2, seed: 7 });
    const emu = { component: 'c' as const, wDim: 0, bDim: 1, scale: 20 };
    tf.tidy(() => {
      const w = readWeights(s0, emu);
      expect(maxDiff(w.w[0]!, tf.mul(tf.squeeze(tf.slice(s0.layers[0]!.c, [0, 0, 0, 0], [-1, -1, -1, 1]), [3]), 20))).toBeLessThan(1e-6);
      const nw = { w: w.w.map((t) => tf.add(t, 1)), b: w.b.map((t) => tf.sub(t, 2)) };
      const s1 = writeWeights(s0, nw, emu);
      const back = readWeights(s1, emu);
      expect(maxDiff(back.w[1]!, nw.w[1]!)).toBeLessThan(1e-5);
      expect(maxDiff(back.b[0]!, nw.b[0]!)).toBeLessThan(1e-5);
      // other slots untouched
      expect(maxDiff(tf.slice(s1.layers[0]!.c, [0, 0, 0, 2], [-1, -1, -1, -1]), tf.slice(s0.layers[0]!.c, [0, 0, 0, 2], [-1, -1, -1, -1]))).toBe(0);
    });
    disposeState(s0);
  });
});
