import {
  tf,
  parseModelConfig,
  runEpisode,
  stateFromArrays,
  disposeState,
  disposeParams,
  initParams,
  initState,
  type ModelConfigInput,
} from '../src/index.js';
import { referenceEpisode } from './helpers/reference.js';
import { maxAbsDiff, randomCells, randomData, randomNamed, randomStacked, toParamSet, useBackend } from './helpers/setup.js';

useBackend('wasm');

const H = 4;
const M = 3;
const base: ModelConfigInput = { slowSize: H, msgSize: M, layers: [{ in: 3, out: 2 }] };

const cases: [string, ModelConfigInput, { P?: number; B?: number; T?: number; stacked?: boolean }][] = [
  ['default options, one layer', {}, {}],
  ['official sizes H=16 M=8', { slowSize: 16, msgSize: 8, layers: [{ in: 5, out: 3 }] }, {}],
  ['three micro ticks, outputIdx 2, tanh bound 2', { microTicks: 3, outputIdx: 2, tanhBound: 2 }, {}],
  ['no tanh bound, sum aggregation', { tanhBound: null, aggregation: 'sum' }, {}],
  ['feedLabel', { feedLabel: true }, {}],
  ['two layers (backward messages one layer per tick)', { layers: [{ in: 3, out: 4 }, { in: 4, out: 2 }], feedLabel: true }, {}],
  [
    'three layers, backward pass, separate backward RNN, layerwise',
    { layers: [{ in: 3, out: 4 }, { in: 4, out: 3 }, { in: 3, out: 2 }], backwardPass: true, separateBackwardRnn: true, layerwiseRnns: true },
    { P: 2 },
  ],
  ['layer norm, two layers, backward pass', { layerNorm: true, backwardPass: true, layers: [{ in: 3, out: 3 }, { in: 3, out: 2 }] }, {}],
  ['layer norm with sum aggregation', { layerNorm: true, aggregation: 'sum' }, {}],
  ['state clip', { stateClip: [-0.3, 0.4] }, {}],
  ['inner batch 3 with merging', { feedLabel: true }, { P: 2, B: 3 }],
  ['inner batch, whole-state merging', { innerBatchMerge: 1 }, { P: 1, B: 2 }],
  ['inner batch without merging', { innerBatchMerge: 0 }, { P: 1, B: 2 }],
  ['per-member V_M (P = 3)', { layers: [{ in: 3, out: 4 }, { in: 4, out: 2 }], layerNorm: true }, { P: 3, stacked: true }],
  ['per-member V_M with inner batch', {}, { P: 2, B: 2, stacked: true }],
];

describe('runEpisode vs the literal float64 loop', () => {
  for (const [name, over, o] of cases) {
    for (const kernel of ['fused', 'reference'] as const) {
      it(`${name} [${kernel}]`, () => {
        const config = parseModelConfig({ ...base, ...over });
        const P = o.P ?? 2;
        const B = o.B ?? 1;
        const T = o.T ?? 5;
        const E = P * B;
        const seed = name.length * 31 + 7;
        const { x, y } = randomData(config, T, E, seed);
        const cells = randomCells(config, E, seed);
        let params;
        let member: (p: number) => Record<string, ArrayLike<number>>;
        if (o.stacked) {
          const s = randomStacked(config, P, seed);
          params = toParamSet(config, s.stacked, P);
          member = s.member;
        } else {
          const named = randomNamed(config, seed);
          params = toParamSet(config, named);
          member = () => named;
        }
        const ref = referenceEpisode(config, P, B, member, { c: cells }, x, y);
        const state = stateFromArrays(config, cells.map((c) => ({ c })), { population: P, innerBatch: B });
        const r = runEpisode(params, config, { inputs: x, labels: y, steps: T, population: P, innerBatch: B }, { initialState: state, kernel, returnState: true });
        const C = config.layers[config.layers.length - 1]!.out;
        expect(r.logits.shape).toEqual(B > 1 ? [T, P, B, C] : [T, P, C]);
        expect(r.loss.shape).toEqual(B > 1 ? [T, P, B] : [T, P]);
        const logits = r.logits.dataSync();
        expect(maxAbsDiff(logits, ref.logits)).toBeLessThan(1e-4);
        expect(maxAbsDiff(r.loss.dataSync(), ref.loss)).toBeLessThan(1e-4);
        expect(Array.from(r.correct.dataSync())).toEqual(Array.from(ref.correct));
        // final state
        r.state!.layers.forEach((l, k) => {
          expect(maxAbsDiff(l.c.dataSync(), ref.c[k]!)).toBeLessThan(1e-4);
          expect(maxAbsDiff(l.h.dataSync(), ref.h[k]!)).toBeLessThan(1e-4);
        });
        // the logits are not trivially small
        expect(Math.max(...Array.from(logits).map(Math.abs))).toBeGreaterThan(1e-2);
        tf.dispose([r.logits, r.loss, r.correct, r.finalError!]);
        disposeState(r.state!);
        disposeState(state);
        disposeParams(params);
      });
    }
  }
});

describe('runEpisode bookkeeping', () => {
  const config = parseModelConfig({ layers: [{ in: 6, out: 3 }, { in: 3, out: 3 }], slowSize: 8, msgSize: 4, backwardPass: true, layerNorm: true });

  it('same seed → same logits; another seed → other logits', () => {
    const params = initParams(config, 3);
    const { x, y } = randomData(config, 6, 2, 1);
    const data = { inputs: x, labels: y, steps: 6, population: 2 };
    const a = runEpisode(params, config, data, { seed: 11 });
    const b = runEpisode(params, config, data, { seed: 11 });
    const c = runEpisode(params, config, data, { seed: 12 });
    expect(Array.from(a.logits.dataSync())).toEqual(Array.from(b.logits.dataSync()));
    expect(maxAbsDiff(a.logits.dataSync(), c.logits.dataSync())).toBeGreaterThan(0);
    tf.dispose([a.logits, a.loss, a.correct, b.logits, b.loss, b.correct, c.logits, c.loss, c.correct]);
    disposeParams(params);
  });

  it('does not leak tensors across 100 steps and keeps numTensors flat per step', () => {
    const params = initParams(config, 1);
    const { x, y } = randomData(config, 100, 2, 2);
    const before = tf.memory().numTensors;
    const r = runEpisode(params, config, { inputs: x, labels: y, steps: 100, population: 2 }, { seed: 1 });
    expect(tf.memory().numTensors).toBe(before + 3);
    tf.dispose([r.logits, r.loss, r.correct]);
    // tensor inputs, returned state
    const xs = tf.tensor(x, [100, 2, 6]);
    const ys = tf.tensor(y, [100, 2], 'int32');
    const before2 = tf.memory().numTensors;
    const r2 = runEpisode(params, config, { inputs: xs, labels: ys }, { seed: 1, returnState: true });
    // logits, loss, correct, finalError + 4 tensors per layer
    expect(tf.memory().numTensors).toBe(before2 + 4 + 4 * 2);
    tf.dispose([r2.logits, r2.loss, r2.correct, r2.finalError!]);
    disposeState(r2.state!);
    expect(tf.memory().numTensors).toBe(before2);
    tf.dispose([xs, ys]);
    disposeParams(params);
    expect(tf.memory().numTensors).toBe(before - Object.keys(params).length);
  });

  it('an episode run in two chunks (state + finalError carried over) equals one run', () => {
    const params = initParams(config, 5);
    const T = 8;
    const { x, y } = randomData(config, T, 2, 3);
    const D = 6;
    const full = runEpisode(params, config, { inputs: x, labels: y, steps: T, population: 2 }, { seed: 9 });
    const s0 = initState(config, { population: 2, seed: 9 });
    const first = runEpisode(params, config, { inputs: x.subarray(0, 3 * 2 * D), labels: y.subarray(0, 6), steps: 3, population: 2 }, { initialState: s0, returnState: true });
    const second = runEpisode(
      params,
      config,
      { inputs: x.subarray(3 * 2 * D), labels: y.subarray(6), steps: T - 3, population: 2 },
      { initialState: first.state!, startError: first.finalError!, returnState: false },
    );
    const joined = tf.concat([first.logits, second.logits]);
    expect(maxAbsDiff(joined.dataSync(), full.logits.dataSync())).toBeLessThan(1e-6);
    // the caller's initial state is left alone
    expect(s0.layers[0]!.c.isDisposed).toBe(false);
    tf.dispose([full.logits, full.loss, full.correct, first.logits, first.loss, first.correct, first.finalError!, second.logits, second.loss, second.correct, joined]);
    disposeState(first.state!);
    disposeState(s0);
    disposeParams(params);
  });

  it('rejects data that does not fit the config, naming the problem', () => {
    const params = initParams(config, 1);
    expect(() => runEpisode(params, config, { inputs: new Float32Array(10), labels: [0], steps: 1, population: 1 }, { seed: 1 })).toThrow(
      /inputs have 10 entries, expected/,
    );
    expect(() => runEpisode(params, config, { inputs: new Float32Array(6), labels: [7], steps: 1, population: 1 }, { seed: 1 })).toThrow(/label 7/);
    expect(() => runEpisode(params, config, { inputs: new Float32Array(6), labels: [0], steps: 1, population: 1 })).toThrow(/opts.seed/);
    const xs = tf.zeros([2, 1, 5]);
    expect(() => runEpisode(params, config, { inputs: xs, labels: tf.zeros([2, 1]) }, { seed: 1 })).toThrow(/expected \[T,P,6\]/);
    tf.dispose(xs);
    disposeParams(params);
  });
});
