// The forward engine with the options the clone needs: slow sizes other than 16 (32, 12 on the generic path, 6 and
// 10 padded to a multiple of 4),
// message sizes other than 8, an inner batch with state merging (fraction 1 and 0.5 and one that is not a
// multiple of 4), state clip, outputIdx 0, backwardPass with the clone's two changes (zero stale backward messages,
// per-row scaled error), per-member V_M, and predict. Checked against the independent float64 loop of
// helpers/reference.ts and against the tfjs episode runner (official semantics), to 1e-5 relative.
import { Rng } from '@vsml/rng';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend.js';
import { parseModelConfig, type ModelConfig, type ModelConfigInput } from '../src/config.js';
import { runEpisode } from '../src/episode.js';
import { paramLayout } from '../src/layout.js';
import { disposeParams, unflattenParams } from '../src/params.js';
import { disposeState, initState } from '../src/state.js';
import { createForwardEngine, type ForwardEngineOptions } from '../src/engine/index.js';
import { referenceEpisode, type Named, type RefOptions } from './helpers/reference.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

/** Random V_M large enough that every gate and message matters; gate biases work against the ±5 offsets. */
function randomFlat(config: ModelConfig, rng: Rng): { flat: Float32Array; named: Named } {
  const specs = paramLayout(config);
  const H = config.slowSize;
  const flat = new Float32Array(specs.reduce((a, s) => a + s.size, 0));
  const named: Named = {};
  for (const s of specs) {
    const v = flat.subarray(s.offset, s.offset + s.size);
    rng.fillNormal(v, 0, s.base.endsWith('.w') ? 0.4 / Math.sqrt(H / 16) : 0.3);
    if (s.base.endsWith('Norm.scale')) for (let j = 0; j < v.length; j++) v[j] = 1 + v[j]!;
    if (s.base === 'lstm.b') {
      for (let j = 0; j < H; j++) {
        v[j] = v[j]! + 4;
        v[2 * H + j] = v[2 * H + j]! - 3;
      }
    }
    named[s.name] = v;
  }
  return { flat, named };
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}

interface Case {
  model: ModelConfigInput;
  P: number;
  B: number;
  T: number;
  perMember?: boolean;
  clone?: RefOptions;
}

const CLONE: RefOptions = { zeroStaleBackward: true, errorScale: 0.7, perRowError: true };

const cases: [string, Case][] = [
  [
    'the clone: slow 32, msg 8, B=4, merge 1, clip ±4, outputIdx 0, backwardPass, stacked [6,5,3], per-member V_M',
    {
      model: {
        layers: [{ in: 6, out: 5 }, { in: 5, out: 3 }],
        slowSize: 32,
        innerBatchMerge: 1,
        stateClip: [-4, 4],
        outputIdx: 0,
        backwardPass: true,
      },
      P: 2,
      B: 4,
      T: 5,
      perMember: true,
      clone: CLONE,
    },
  ],
  [
    'slow 32, B=4, merge 0.5, official semantics, stacked [6,5,3]',
    { model: { layers: [{ in: 6, out: 5 }, { in: 5, out: 3 }], slowSize: 32, innerBatchMerge: 0.5 }, P: 2, B: 4, T: 5 },
  ],
  [
    'slow 32, B=4, merge 0.5, backwardPass (official: stale backward messages, error / B), feedLabel',
    {
      model: { layers: [{ in: 6, out: 5 }, { in: 5, out: 3 }], slowSize: 32, innerBatchMerge: 0.5, backwardPass: true, feedLabel: true },
      P: 1,
      B: 4,
      T: 4,
    },
  ],
  [
    'generic path: slow 12, msg 5, B=3, merge 0.3 (3 dims), clip, 3 micro ticks',
    {
      model: { layers: [{ in: 5, out: 3 }, { in: 3, out: 4 }], slowSize: 12, msgSize: 5, innerBatchMerge: 0.3, stateClip: [-1, 1.5], microTicks: 3 },
      P: 2,
      B: 3,
      T: 3,
    },
  ],
  [
    'slow 32, merge 0.3 (9 dims: a vector tail), layer norm with msg 4, backwardPass, clone semantics',
    {
      model: { layers: [{ in: 4, out: 5 }, { in: 5, out: 2 }], slowSize: 32, msgSize: 4, outputIdx: 0, innerBatchMerge: 0.3, layerNorm: true, backwardPass: true },
      P: 1,
      B: 3,
      T: 4,
      clone: CLONE,
    },
  ],
  [
    'padded: slow 6 (run as 8), msg 3, B=2, merge 0.5, stacked',
    { model: { layers: [{ in: 5, out: 3 }, { in: 3, out: 2 }], slowSize: 6, msgSize: 3, innerBatchMerge: 0.5 }, P: 2, B: 2, T: 4 },
  ],
  [
    'padded: slow 10 (run as 12), clip, backwardPass, clone semantics',
    { model: { layers: [{ in: 4, out: 3 }, { in: 3, out: 2 }], slowSize: 10, innerBatchMerge: 1, stateClip: [-4, 4], outputIdx: 0, backwardPass: true }, P: 1, B: 3, T: 4, clone: CLONE },
  ],
  [
    'slow 16, B=3, merge 1, clone semantics (the H = 16 tiles from the shared first micro tick)',
    { model: { layers: [{ in: 5, out: 4 }, { in: 4, out: 3 }], innerBatchMerge: 1, backwardPass: true, outputIdx: 0 }, P: 2, B: 3, T: 4, clone: CLONE },
  ],
  ['slow 16, B=2, merge 1 (the H = 16 tiles with an inner batch)', { model: { layers: [{ in: 7, out: 4 }], innerBatchMerge: 1 }, P: 2, B: 2, T: 6 }],
];

function setup(k: Case, seed: number) {
  const config = parseModelConfig(k.model);
  const rng = Rng.fromSeed(seed);
  const members = Array.from({ length: k.perMember ? k.P : 1 }, () => randomFlat(config, rng));
  const E = k.P * k.B;
  const D = config.layers[0]!.in;
  const C = config.layers[config.layers.length - 1]!.out;
  const H = config.slowSize;
  // a random state that differs between rows (merging must matter)
  const c0 = config.layers.map((l) => rng.fillNormal(new Float32Array(E * l.in * l.out * H), 0, 0.5));
  const h0 = config.layers.map((l) => rng.fillUniform(new Float32Array(E * l.in * l.out * H), -0.4, 0.4));
  const x = rng.fillNormal(new Float32Array(k.T * E * D));
  const y = Int32Array.from({ length: k.T * E }, () => rng.int(0, C));
  return { config, members, c0, h0, x, y, E, C };
}

function engineFor(k: Case, members: { flat: Float32Array }[]) {
  const opts: ForwardEngineOptions = { ...k.model, population: k.P, innerBatch: k.B, perMemberParams: k.perMember ?? false, ...(k.clone ?? {}) };
  const e = createForwardEngine(opts);
  if (k.perMember) members.forEach((m, p) => e.setParamsFlat(m.flat, p));
  else e.setParamsFlat(members[0]!.flat);
  return e;
}

describe('forward engine with an inner batch == float64 reference (1e-5)', () => {
  test.each(cases)('%s', (_name, k) => {
    const { config, members, c0, h0, x, y } = setup(k, 21);
    const ref = referenceEpisode(config, k.P, k.B, (p) => members[k.perMember ? p : 0]!.named, { c: c0, h: h0 }, x, y, k.clone ?? {});
    const e = engineFor(k, members);
    c0.forEach((c, l) => e.setState(l, c, h0[l]));
    const got = e.runEpisode(x, y);
    expect(maxRelDiff(got.logits, ref.logits)).toBeLessThan(1e-5);
    expect(maxRelDiff(got.loss, ref.loss)).toBeLessThan(1e-5);
    expect(Array.from(got.correct)).toEqual(Array.from(ref.correct));
    config.layers.forEach((_, l) => {
      const s = e.getState(l);
      expect(maxRelDiff(s.c, ref.c[l]!)).toBeLessThan(1e-5);
      expect(maxRelDiff(s.h, ref.h[l]!)).toBeLessThan(1e-5);
    });
  });

  test('predict == the reference forward tick from the row-mean state; the state is untouched', () => {
    const k = cases[0]![1];
    const { config, members, c0, h0, x, y } = setup(k, 22);
    const e = engineFor(k, members);
    c0.forEach((c, l) => e.setState(l, c, h0[l]));
    e.runEpisode(x, y);
    const before = config.layers.map((_, l) => e.getState(l));
    const N = 5;
    const D = config.layers[0]!.in;
    const xt = Rng.fromSeed(23).fillNormal(new Float32Array(N * D));
    const member = 1;
    const got = e.predict(xt, member);
    // reference: N one-row episodes of one step from the mean of member 1's rows, zero error
    const mean = before.map((s, l) => {
      const per = config.layers[l]!.in * config.layers[l]!.out * config.slowSize;
      const out = { c: new Float64Array(N * per), h: new Float64Array(N * per) };
      for (const [src, dst] of [
        [s.c, out.c],
        [s.h, out.h],
      ] as const) {
        for (let i = 0; i < per; i++) {
          let m = 0;
          for (let r = 0; r < k.B; r++) m += src[(member * k.B + r) * per + i]!;
          for (let n = 0; n < N; n++) dst[n * per + i] = m / k.B;
        }
      }
      return out;
    });
    const ref = referenceEpisode(config, N, 1, () => members[member]!.named, { c: mean.map((m) => m.c), h: mean.map((m) => m.h) }, xt, new Int32Array(N));
    expect(maxRelDiff(got, ref.logits)).toBeLessThan(1e-5);
    config.layers.forEach((_, l) => {
      const s = e.getState(l);
      expect(Array.from(s.c)).toEqual(Array.from(before[l]!.c));
      expect(Array.from(s.h)).toEqual(Array.from(before[l]!.h));
    });
  });

  test('deterministic; an episode in two calls equals one call; initState equals core initState', () => {
    const k = cases[0]![1];
    const { config, members, x, y, E } = setup(k, 24);
    const D = config.layers[0]!.in;
    const runs = [0, 1].map(() => {
      const e = engineFor(k, members);
      e.initState(77);
      return e;
    });
    const st = initState(config, { population: k.P, innerBatch: k.B, seed: 77 });
    config.layers.forEach((_, l) => expect(Array.from(runs[0]!.getState(l).c)).toEqual(Array.from(st.layers[l]!.c.dataSync())));
    disposeState(st);
    const whole = runs[0]!.runEpisode(x, y);
    const half = Math.floor(k.T / 2) * E;
    const a = runs[1]!.runEpisode(x.subarray(0, half * D), y.subarray(0, half));
    const b = runs[1]!.runEpisode(x.subarray(half * D), y.subarray(half));
    expect(Array.from(a.logits).concat(Array.from(b.logits))).toEqual(Array.from(whole.logits));
    config.layers.forEach((_, l) => expect(Array.from(runs[1]!.getState(l).c)).toEqual(Array.from(runs[0]!.getState(l).c)));
  });
});

describe('forward engine with an inner batch == tfjs runEpisode (official semantics, 1e-5)', () => {
  test.each(cases.filter(([, k]) => k.clone === undefined && !k.perMember))('%s', (_name, k) => {
    const before = tf.memory().numTensors;
    const { config, members, x, y } = setup(k, 31);
    const seed = 5;
    const params = unflattenParams(config, members[0]!.flat);
    const st = initState(config, { population: k.P, innerBatch: k.B, seed });
    const res = runEpisode(params, config, { inputs: x, labels: y, steps: k.T, population: k.P, innerBatch: k.B }, { initialState: st, returnState: true });
    const e = engineFor(k, members);
    e.initState(seed);
    const got = e.runEpisode(x, y);
    expect(maxRelDiff(got.logits, res.logits.dataSync())).toBeLessThan(1e-5);
    expect(maxRelDiff(got.loss, res.loss.dataSync())).toBeLessThan(1e-5);
    expect(Array.from(got.correct)).toEqual(Array.from(res.correct.dataSync()));
    config.layers.forEach((_, l) => {
      const s = e.getState(l);
      expect(maxRelDiff(s.c, res.state!.layers[l]!.c.dataSync())).toBeLessThan(1e-5);
      expect(maxRelDiff(s.h, res.state!.layers[l]!.h.dataSync())).toBeLessThan(1e-5);
    });
    tf.dispose([res.logits, res.loss, res.correct, res.finalError!]);
    disposeState(res.state!);
    disposeState(st);
    disposeParams(params);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('forward engine options', () => {
  test('bad inner batch, errorScale and layer norm with a message size that is not a multiple of 4 are refused', () => {
    // (any slow size runs: 1 is padded to 4)
    expect(createForwardEngine({ layers: [{ in: 2, out: 2 }], population: 1, slowSize: 1 }).getState(0).c).toHaveLength(4);
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (err) {
        return (err as { code: string }).code;
      }
      return undefined;
    };
    const layers = [{ in: 3, out: 2 }];
    expect(code(() => createForwardEngine({ layers, population: 1, innerBatch: 0 }))).toBe('BAD_ARGUMENT');
    expect(code(() => createForwardEngine({ layers, population: 1, errorScale: NaN }))).toBe('BAD_ARGUMENT');
    expect(code(() => createForwardEngine({ layers, population: 1, layerNorm: true, msgSize: 6 }))).toBe('BAD_CONFIG');
    expect(code(() => createForwardEngine({ layers, population: 1, msgSize: 6 }))).toBeUndefined();
  });
});
