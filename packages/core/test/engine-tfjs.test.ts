// The forward engine against the tfjs implementation (runEpisode of src/episode.ts, the reference path and the
// one used for gradients): same V_M, same initial state (engine.initState == initState), same data → the same
// logits, losses, correctness, final state and pending error.
// Tolerance: 1e-5 everywhere (the tfjs path computes the output bound 100·tanh(y/100) with an exact tanh).
import { Rng } from '@vsml/rng';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend.js';
import { parseModelConfig, type ModelConfigInput } from '../src/config.js';
import { runEpisode } from '../src/episode.js';
import { paramLayout } from '../src/layout.js';
import { disposeParams, unflattenParams } from '../src/params.js';
import { disposeState, initState } from '../src/state.js';
import { createForwardEngine } from '../src/engine/index.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

const H = 16;

/**
 * Random V_M (flat, P vectors member-major): the official init (truncated normal σ = 1/sqrt(fan-in), zero bias)
 * or, with `large`, N(0, 0.4²) everywhere and gate biases that work against the ±5 offsets.
 */
function randomFlat(model: ModelConfigInput, P: number, seed: number, large: boolean): Float32Array {
  const config = parseModelConfig(model);
  const specs = paramLayout(config);
  const n = specs.reduce((a, s) => a + s.size, 0);
  const rng = Rng.fromSeed(seed, 99);
  const flat = new Float32Array(P * n);
  if (!large) {
    for (let p = 0; p < P; p++) {
      for (const s of specs) {
        const v = flat.subarray(p * n + s.offset, p * n + s.offset + s.size);
        if (s.init.kind === 'truncatedNormal') rng.fillTruncatedNormal(v, s.init.std);
        else if (s.init.kind === 'ones') v.fill(1);
      }
    }
    return flat;
  }
  rng.fillNormal(flat, 0, 0.4);
  for (let p = 0; p < P; p++) {
    for (const s of specs) {
      if (!s.base.endsWith('Norm.scale')) continue;
      for (let j = 0; j < s.size; j++) flat[p * n + s.offset + j] = flat[p * n + s.offset + j]! + 1;
    }
  }
  for (let p = 0; p < P; p++) {
    for (const s of specs) {
      if (s.base !== 'lstm.b') continue;
      for (let j = 0; j < H; j++) {
        const i = p * n + s.offset + j;
        flat[i] = flat[i]! + 4; // input gate against its −5 offset
        flat[i + 2 * H] = flat[i + 2 * H]! - 3; // forget gate against its +5 offset
      }
    }
  }
  return flat;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}

interface Opts {
  P: number;
  perMember: boolean;
  T: number;
  large: boolean;
}
const cases: [string, ModelConfigInput, Opts][] = [
  ['official init: 784→10, no bound', { layers: [{ in: 784, out: 10 }], tanhBound: null }, { P: 1, perMember: false, T: 6, large: false }],
  ['official init: 784→10', { layers: [{ in: 784, out: 10 }] }, { P: 1, perMember: false, T: 6, large: false }],
  [
    'official init: stacked 30→8→4, no bound',
    { layers: [{ in: 30, out: 8 }, { in: 8, out: 4 }], tanhBound: null },
    { P: 2, perMember: true, T: 10, large: false },
  ],
  ['one layer 20→5', { layers: [{ in: 20, out: 5 }] }, { P: 2, perMember: false, T: 8, large: true }],
  ['stacked 9→6→3, feedLabel', { layers: [{ in: 9, out: 6 }, { in: 6, out: 3 }], feedLabel: true }, { P: 2, perMember: false, T: 6, large: true }],
  [
    'official init: deep 784→32→10 with layer norm (configs/deep.yaml), no bound',
    { layers: [{ in: 784, out: 32 }, { in: 32, out: 10 }], layerNorm: true, tanhBound: null },
    { P: 1, perMember: false, T: 3, large: false },
  ],
  [
    'layer norm, backward pass, per-member V_M',
    { layers: [{ in: 5, out: 4 }, { in: 4, out: 3 }], layerNorm: true, backwardPass: true },
    { P: 2, perMember: true, T: 5, large: true },
  ],
  [
    'backwardPass, separate backward RNN, layerwise, stateClip, per-member V_M',
    {
      layers: [{ in: 5, out: 4 }, { in: 4, out: 3 }],
      backwardPass: true,
      separateBackwardRnn: true,
      layerwiseRnns: true,
      stateClip: [-2, 2],
    },
    { P: 3, perMember: true, T: 5, large: true },
  ],
  [
    'sum aggregation, 3 micro ticks, outputIdx 2',
    { layers: [{ in: 6, out: 4 }], aggregation: 'sum', microTicks: 3, outputIdx: 2 },
    { P: 1, perMember: false, T: 4, large: true },
  ],
];

describe('forward engine == tfjs runEpisode (1e-5)', () => {
  test.each(cases)('%s', (_name, model, { P, perMember, T, large }) => {
    const tol = 1e-5;
    const config = parseModelConfig(model);
    const D = config.layers[0]!.in;
    const C = config.layers[config.layers.length - 1]!.out;
    const flat = randomFlat(model, perMember ? P : 1, 5, large);
    const rng = Rng.fromSeed(6);
    const x = rng.fillNormal(new Float32Array(T * P * D));
    const y = Int32Array.from({ length: T * P }, () => rng.int(0, C));
    const seed = 123;

    // tfjs
    const params = perMember ? unflattenParams(config, flat, { population: P }) : unflattenParams(config, flat);
    const st = initState(config, { population: P, seed });
    const res = runEpisode(params, config, { inputs: x, labels: y, steps: T, population: P }, { initialState: st, returnState: true });
    const logits = res.logits.dataSync();
    const loss = res.loss.dataSync();
    const correct = res.correct.dataSync();
    const finalState = res.state!.layers.map((l) => ({ h: l.h.dataSync(), c: l.c.dataSync(), bwdIn: l.bwdIn.dataSync() }));
    const finalError = res.finalError!.dataSync(); // [P, C, 2]

    // engine
    const engine = createForwardEngine({ ...model, population: P, perMemberParams: perMember });
    if (perMember) engine.setPopulationParamsFlat(flat);
    else engine.setParamsFlat(flat);
    engine.initState(seed);
    const c0 = st.layers.map((l) => l.c.dataSync());
    config.layers.forEach((_, l) => expect(Array.from(engine.getState(l).c)).toEqual(Array.from(c0[l]!)));
    const got = engine.runEpisode(x, y);

    expect(maxRelDiff(got.logits, logits)).toBeLessThan(tol);
    expect(maxRelDiff(got.loss, loss)).toBeLessThan(tol);
    expect(Array.from(got.correct)).toEqual(Array.from(correct));
    config.layers.forEach((_, l) => {
      const s = engine.getState(l);
      expect(maxRelDiff(s.c, finalState[l]!.c)).toBeLessThan(tol);
      expect(maxRelDiff(s.h, finalState[l]!.h)).toBeLessThan(tol);
      if (l < config.layers.length - 1) expect(maxRelDiff(engine.getMessages(l).bwdIn, finalState[l]!.bwdIn)).toBeLessThan(tol);
    });
    const last = engine.getMessages(config.layers.length - 1).bwdIn; // [P, C, 8]: slots 0, 1 = error, label
    const pending = new Float32Array(P * C * 2);
    for (let i = 0; i < P * C; i++) {
      pending[2 * i] = last[8 * i]!;
      pending[2 * i + 1] = last[8 * i + 1]!;
    }
    expect(maxRelDiff(pending, finalError)).toBeLessThan(tol);

    tf.dispose([res.logits, res.loss, res.correct, res.finalError!]);
    disposeState(res.state!);
    disposeState(st);
    disposeParams(params);
  });
});
