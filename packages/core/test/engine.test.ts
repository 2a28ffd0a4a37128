// The forward engine (WebAssembly SIMD) against a literal float64 per-sub-RNN loop written here from
// design/vsml-method.md §2: gate order i,g,f,o with −5 / +5 on the input / forget gate, h = σ(o)·tanh(c),
// messengers per sub-RNN then the mean, x in forward slot 0, error (+ label) in the last layer's backward slots
// 0 (1), logits = slot outputIdx of the last layer's forward message with the tanh bound, micro ticks with the same
// incoming messages, forward messages crossing the stack in a forward tick and backward messages one layer per tick.
import { Rng } from '@vsml/rng';
import { parseModelConfig, type ModelConfig, type ModelConfigInput } from '../src/config.js';
import { groupFor, paramLayout } from '../src/layout.js';
import { createForwardEngine, type ForwardEngineOptions } from '../src/engine/index.js';

const H = 16;
const M = 8;

type Named = Record<string, Float32Array>;

function randomParams(config: ModelConfig, rng: Rng): { named: Named; flat: Float32Array } {
  const specs = paramLayout(config);
  const flat = new Float32Array(specs.reduce((a, s) => a + s.size, 0));
  const named: Named = {};
  for (const s of specs) {
    const v = flat.subarray(s.offset, s.offset + s.size);
    // larger than the official init so that every gate and message matters; the input and forget gate
    // biases (+4, −3) work against the ±5 offsets so that the cell state moves; layer-norm scales around 1
    const std = s.base.endsWith('.w') ? 0.45 : 0.3;
    rng.fillNormal(v, 0, std);
    if (s.base.endsWith('Norm.scale')) for (let j = 0; j < v.length; j++) v[j] = 1 + v[j]!;
    if (s.base === 'lstm.b') {
      for (let j = 0; j < H; j++) {
        v[j] = v[j]! + 4;
        v[2 * H + j] = v[2 * H + j]! - 3;
      }
    }
    named[s.name] = v;
  }
  return { named, flat };
}

/** In place: (y − mean) / sqrt(var + 1e-5) · scale + offset over the M entries (Haiku LayerNorm). */
function layerNorm(y: Float64Array, scale: Float32Array, offset: Float32Array): void {
  const mu = y.reduce((a, v) => a + v, 0) / y.length;
  const v = y.reduce((a, x) => a + (x - mu) ** 2, 0) / y.length;
  const inv = 1 / Math.sqrt(v + 1e-5);
  for (let j = 0; j < y.length; j++) y[j] = (y[j]! - mu) * inv * scale[j]! + offset[j]!;
}

interface RefResult {
  logits: Float64Array;
  loss: Float64Array;
  correct: Uint8Array;
  h: Float64Array[]; // per layer [P,in,out,H]
  c: Float64Array[];
  bwdIn: Float64Array[]; // per layer [P,out,M]
  fwdIn: Float64Array[]; // per layer [P,in,M] (layer 0: last x in slot 0)
}

/** Literal float64 reference: a loop over members, steps, layers, micro ticks and every sub-RNN (a, b). */
function reference(
  config: ModelConfig,
  P: number,
  paramsOf: (member: number) => Named,
  c0: Float32Array[],
  x: Float32Array,
  y: Int32Array,
): RefResult {
  const layers = config.layers;
  const L = layers.length;
  const D = layers[0]!.in;
  const C = layers[L - 1]!.out;
  const T = y.length / P;
  const sig = (z: number): number => 1 / (1 + Math.exp(-z));
  const lim = config.stateClip;
  const clip = (v: number): number => (lim ? Math.min(lim[1], Math.max(lim[0], v)) : v);
  const out: RefResult = {
    logits: new Float64Array(T * P * C),
    loss: new Float64Array(T * P),
    correct: new Uint8Array(T * P),
    h: layers.map((l) => new Float64Array(P * l.in * l.out * H)),
    c: layers.map((l) => new Float64Array(P * l.in * l.out * H)),
    bwdIn: layers.map((l) => new Float64Array(P * l.out * M)),
    fwdIn: layers.map((l) => new Float64Array(P * l.in * M)),
  };
  for (let p = 0; p < P; p++) {
    const prm = paramsOf(p);
    const get = (l: number, dir: 'forward' | 'reverse', n: string): Float32Array => prm[groupFor(config, l, dir).prefix + n]!;
    const h = layers.map((l) => new Float64Array(l.in * l.out * H));
    const c = layers.map((l, k) => Float64Array.from(c0[k]!.subarray(p * l.in * l.out * H, (p + 1) * l.in * l.out * H)));
    const fin = layers.map((l) => new Float64Array(l.in * M));
    const bin = layers.map((l) => new Float64Array(l.out * M));
    const err = new Float64Array(C);
    const lab = new Float64Array(C);
    const logits = new Float64Array(C);

    const layerTick = (l: number, dir: 'forward' | 'reverse'): void => {
      const { in: I, out: O } = layers[l]!;
      const W = get(l, dir, 'lstm.w');
      const bias = get(l, dir, 'lstm.b');
      const fw = get(l, dir, 'fwd.w');
      const fb = get(l, dir, 'fwd.b');
      const bw = get(l, dir, 'bwd.w');
      const bb = get(l, dir, 'bwd.b');
      const fwdOut = new Float64Array(O * M);
      const bwdOut = new Float64Array(I * M);
      const scaleA = config.aggregation === 'sum' ? 1 : 1 / I;
      const scaleB = config.aggregation === 'sum' ? 1 : 1 / O;
      for (let m = 0; m < config.microTicks; m++) {
        fwdOut.fill(0);
        bwdOut.fill(0);
        for (let a = 0; a < I; a++) {
          for (let b = 0; b < O; b++) {
            const s = (a * O + b) * H;
            const z = new Float64Array(4 * H);
            const u = [...fin[l]!.subarray(a * M, a * M + M), ...bin[l]!.subarray(b * M, b * M + M), ...h[l]!.subarray(s, s + H)];
            for (let j = 0; j < 4 * H; j++) {
              let acc = bias[j]!;
              for (let k = 0; k < 2 * M + H; k++) acc += u[k]! * W[k * 4 * H + j]!;
              z[j] = acc;
            }
            for (let j = 0; j < H; j++) {
              const ig = sig(z[j]! - 5);
              const gg = Math.tanh(z[H + j]!);
              const fg = sig(z[2 * H + j]! + 5);
              const og = sig(z[3 * H + j]!);
              const cn = fg * c[l]![s + j]! + ig * gg;
              const hn = og * Math.tanh(cn);
              // stateClip: both clipped after the update, h from the unclipped c
              c[l]![s + j] = clip(cn);
              h[l]![s + j] = clip(hn);
            }
            const fo = new Float64Array(M);
            const bo = new Float64Array(M);
            for (let j = 0; j < M; j++) {
              fo[j] = fb[j]!;
              bo[j] = bb[j]!;
              for (let k = 0; k < H; k++) {
                fo[j] = fo[j]! + h[l]![s + k]! * fw[k * M + j]!;
                bo[j] = bo[j]! + h[l]![s + k]! * bw[k * M + j]!;
              }
            }
            if (config.layerNorm) {
              layerNorm(fo, get(l, dir, 'fwdNorm.scale'), get(l, dir, 'fwdNorm.offset'));
              layerNorm(bo, get(l, dir, 'bwdNorm.scale'), get(l, dir, 'bwdNorm.offset'));
            }
            for (let j = 0; j < M; j++) {
              fwdOut[b * M + j] = fwdOut[b * M + j]! + fo[j]! * scaleA;
              bwdOut[a * M + j] = bwdOut[a * M + j]! + bo[j]! * scaleB;
            }
          }
        }
      }
      if (l > 0) bin[l - 1]!.set(bwdOut);
      if (l < L - 1) fin[l + 1]!.set(fwdOut);
      else if (dir === 'forward') {
        for (let b = 0; b < O; b++) {
          const v = fwdOut[b * M + config.outputIdx]!;
          logits[b] = config.tanhBound ? Math.tanh(v / config.tanhBound) * config.tanhBound : v;
        }
      }
    };

    for (let t = 0; t < T; t++) {
      const inject = (): void => {
        fin[0]!.fill(0);
        for (let a = 0; a < D; a++) fin[0]![a * M] = x[(t * P + p) * D + a]!;
        bin[L - 1]!.fill(0);
        for (let b = 0; b < C; b++) {
          bin[L - 1]![b * M] = err[b]!;
          bin[L - 1]![b * M + 1] = lab[b]!;
        }
      };
      inject();
      for (let l = 0; l < L; l++) layerTick(l, 'forward');
      const yt = y[t * P + p]!;
      const mx = Math.max(...logits);
      let se = 0;
      for (let b = 0; b < C; b++) se += Math.exp(logits[b]! - mx);
      const lse = Math.log(se) + mx;
      const idx = t * P + p;
      out.loss[idx] = lse - logits[yt]!;
      out.correct[idx] = logits.indexOf(mx) === yt ? 1 : 0;
      out.logits.set(logits, idx * C);
      for (let b = 0; b < C; b++) {
        err[b] = Math.exp(logits[b]! - lse) - (b === yt ? 1 : 0);
        lab[b] = config.feedLabel && b === yt ? 1 : 0;
      }
      if (config.backwardPass) {
        inject();
        for (let l = L - 1; l >= 0; l--) layerTick(l, 'reverse');
        err.fill(0);
        lab.fill(0);
      }
    }
    // the incoming messages the next tick would see
    bin[L - 1]!.fill(0);
    for (let b = 0; b < C; b++) {
      bin[L - 1]![b * M] = err[b]!;
      bin[L - 1]![b * M + 1] = lab[b]!;
    }
    layers.forEach((l, k) => {
      const n = l.in * l.out * H;
      out.h[k]!.set(h[k]!, p * n);
      out.c[k]!.set(c[k]!, p * n);
      out.bwdIn[k]!.set(bin[k]!, p * l.out * M);
      out.fwdIn[k]!.set(fin[k]!, p * l.in * M);
    });
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}

interface Case {
  model: ModelConfigInput;
  P: number;
  T: number;
  perMember?: boolean;
  seed: number;
  simd?: 'relaxed' | 'baseline';
  segmentBytes?: number;
}

function runCase(k: Case): { ref: RefResult; got: ReturnType<typeof runEngine> } {
  const config = parseModelConfig(k.model);
  const rng = Rng.fromSeed(k.seed);
  const members = Array.from({ length: k.perMember ? k.P : 1 }, () => randomParams(config, rng));
  const D = config.layers[0]!.in;
  const C = config.layers[config.layers.length - 1]!.out;
  const c0 = config.layers.map((l) => rng.fillNormal(new Float32Array(k.P * l.in * l.out * H), 0, 0.5));
  const x = rng.fillNormal(new Float32Array(k.T * k.P * D));
  const y = Int32Array.from({ length: k.T * k.P }, () => rng.int(0, C));
  const ref = reference(config, k.P, (p) => members[k.perMember ? p : 0]!.named, c0, x, y);
  const opts: ForwardEngineOptions = { ...k.model, population: k.P, perMemberParams: k.perMember ?? false };
  if (k.simd !== undefined) opts.simd = k.simd;
  if (k.segmentBytes !== undefined) opts.segmentBytes = k.segmentBytes;
  const got = runEngine(opts, members, c0, x, y);
  return { ref, got };
}

function runEngine(
  opts: ForwardEngineOptions,
  members: { named: Named; flat: Float32Array }[],
  c0: Float32Array[],
  x: Float32Array,
  y: Int32Array,
) {
  const engine = createForwardEngine(opts);
  if (opts.perMemberParams) members.forEach((m, p) => engine.setParams(m.named, p));
  else engine.setParams(members[0]!.named);
  c0.forEach((c, l) => engine.setState(l, c));
  const res = engine.runEpisode(x, y);
  return { engine, res };
}

function expectMatches(ref: RefResult, got: ReturnType<typeof runEngine>, tol = 1e-5): void {
  const { engine, res } = got;
  expect(maxAbsDiff(res.logits, ref.logits)).toBeLessThan(tol);
  expect(maxAbsDiff(res.loss, ref.loss)).toBeLessThan(tol);
  expect(Array.from(res.correct)).toEqual(Array.from(ref.correct));
  engine.config.layers.forEach((_, l) => {
    const s = engine.getState(l);
    expect(maxAbsDiff(s.c, ref.c[l]!)).toBeLessThan(tol);
    expect(maxAbsDiff(s.h, ref.h[l]!)).toBeLessThan(tol);
    const m = engine.getMessages(l);
    expect(maxAbsDiff(m.bwdIn, ref.bwdIn[l]!)).toBeLessThan(tol);
    if (l > 0) expect(maxAbsDiff(m.fwdIn!, ref.fwdIn[l]!)).toBeLessThan(tol);
  });
}

describe('forward engine == literal float64 loop (1e-5)', () => {
  test.each(['relaxed', 'baseline'] as const)('one layer 5→3, P=2, default options (%s)', (simd) => {
    const { ref, got } = runCase({ model: { layers: [{ in: 5, out: 3 }] }, P: 2, T: 7, seed: 1, simd });
    expect(got.engine.simd).toBe(simd);
    expectMatches(ref, got);
  });

  test('stacked 6→4→3 (even and odd fan-out), P=2', () => {
    const { ref, got } = runCase({ model: { layers: [{ in: 6, out: 4 }, { in: 4, out: 3 }] }, P: 2, T: 6, seed: 2 });
    expectMatches(ref, got);
  });

  test('three layers, feedLabel, sum aggregation, 3 micro ticks, outputIdx 0, no tanh bound', () => {
    const model: ModelConfigInput = {
      layers: [{ in: 3, out: 5 }, { in: 5, out: 2 }, { in: 2, out: 3 }],
      feedLabel: true,
      aggregation: 'sum',
      microTicks: 3,
      outputIdx: 0,
      tanhBound: null,
    };
    // (sum aggregation amplifies float32 rounding through the stack: even a literal float32 loop is 1e-5 off
    // after 5 steps here, so 3 steps; the same holds with layer norm)
    const { ref, got } = runCase({ model, P: 2, T: 3, seed: 3 });
    expectMatches(ref, got);
  });

  test('backwardPass with separateBackwardRnn and layerwiseRnns, one micro tick', () => {
    const model: ModelConfigInput = {
      layers: [{ in: 4, out: 3 }, { in: 3, out: 2 }],
      backwardPass: true,
      separateBackwardRnn: true,
      layerwiseRnns: true,
      microTicks: 1,
      feedLabel: true,
    };
    const { ref, got } = runCase({ model, P: 2, T: 5, seed: 4 });
    expectMatches(ref, got);
  });

  test('backwardPass with one shared V_M', () => {
    const model: ModelConfigInput = { layers: [{ in: 4, out: 3 }, { in: 3, out: 2 }], backwardPass: true };
    const { ref, got } = runCase({ model, P: 1, T: 4, seed: 5 });
    expectMatches(ref, got);
  });

  test('per-member V_M (population of 3) and small segments', () => {
    const { ref, got } = runCase({
      model: { layers: [{ in: 4, out: 2 }] },
      P: 3,
      T: 9,
      perMember: true,
      seed: 6,
      segmentBytes: 64, // one step per segment
    });
    expect(got.engine.segmentSteps).toBe(1);
    expectMatches(ref, got);
  });

  test('layerNorm, one layer, sum aggregation', () => {
    const { ref, got } = runCase({ model: { layers: [{ in: 6, out: 3 }], layerNorm: true, aggregation: 'sum' }, P: 2, T: 6, seed: 9 });
    expectMatches(ref, got);
  });

  test('layerNorm with three layers, backwardPass and a separate backward RNN', () => {
    const model: ModelConfigInput = {
      layers: [{ in: 4, out: 5 }, { in: 5, out: 3 }, { in: 3, out: 2 }],
      layerNorm: true,
      backwardPass: true,
      separateBackwardRnn: true,
    };
    const { ref, got } = runCase({ model, P: 2, T: 4, seed: 10 });
    expectMatches(ref, got);
  });

  test('stateClip (h and c clipped after every micro tick), two layers', () => {
    const model: ModelConfigInput = { layers: [{ in: 4, out: 3 }, { in: 3, out: 3 }], stateClip: [-0.3, 0.4] };
    const { ref, got } = runCase({ model, P: 2, T: 5, seed: 8 });
    expectMatches(ref, got);
  });

  test('paper shape 784→10 for a few steps (long mean over a)', () => {
    const { ref, got } = runCase({ model: { layers: [{ in: 784, out: 10 }] }, P: 1, T: 3, seed: 7 });
    expectMatches(ref, got);
  });
});

describe('forward engine API', () => {
  const model: ModelConfigInput = { layers: [{ in: 4, out: 3 }, { in: 3, out: 2 }] };
  const config = parseModelConfig(model);

  function setup(rng: Rng, P: number, T: number) {
    const prm = randomParams(config, rng);
    const c0 = config.layers.map((l) => rng.fillNormal(new Float32Array(P * l.in * l.out * H), 0, 0.5));
    const h0 = config.layers.map((l) => rng.fillUniform(new Float32Array(P * l.in * l.out * H), -0.5, 0.5));
    const x = rng.fillNormal(new Float32Array(T * P * 4));
    const y = Int32Array.from({ length: T * P }, () => rng.int(0, 2));
    return { prm, c0, h0, x, y };
  }

  test('an episode run in two calls equals one call; flat params equal named params', () => {
    const rng = Rng.fromSeed(11);
    const P = 2;
    const T = 8;
    const { prm, c0, h0, x, y } = setup(rng, P, T);
    const a = createForwardEngine({ ...model, population: P });
    a.setParams(prm.named);
    const b = createForwardEngine({ ...model, population: P });
    b.setParamsFlat(prm.flat);
    for (const e of [a, b]) c0.forEach((c, l) => e.setState(l, c, h0[l]));
    const whole = a.runEpisode(x, y);
    const half = (T / 2) * P;
    const r1 = b.runEpisode(x.subarray(0, half * 4), y.subarray(0, half));
    const r2 = b.runEpisode(x.subarray(half * 4), y.subarray(half));
    expect(Array.from(r1.logits).concat(Array.from(r2.logits))).toEqual(Array.from(whole.logits));
    expect(whole.meanLoss).toBeCloseTo((r1.meanLoss + r2.meanLoss) / 2, 5);
    for (let p = 0; p < P; p++) {
      let l = 0;
      for (let t = 0; t < T; t++) l += whole.loss[t * P + p]!;
      expect(whole.memberLoss[p]).toBeCloseTo(l / T, 6);
    }
  });

  test('state and messages round-trip; resetMessages clears the error', () => {
    const rng = Rng.fromSeed(12);
    const { prm, c0, h0, x, y } = setup(rng, 2, 3);
    const e = createForwardEngine({ ...model, population: 2 });
    e.setParams(prm.named);
    e.setState(1, c0[1]!, h0[1]!);
    const s = e.getState(1);
    expect(Array.from(s.c)).toEqual(Array.from(c0[1]!));
    expect(maxAbsDiff(s.h, h0[1]!)).toBe(0);
    c0.forEach((c, l) => e.setState(l, c));
    e.runEpisode(x, y);
    expect(e.getMessages(1).bwdIn.some((v) => v !== 0)).toBe(true);
    e.resetMessages();
    expect(e.getMessages(1).bwdIn.every((v) => v === 0)).toBe(true);
    expect(e.getMessages(1).fwdIn!.every((v) => v === 0)).toBe(true);
    // one member's state
    const c1 = new Float32Array(3 * 2 * H).fill(0.25);
    e.setState(1, c1, undefined, 1);
    expect(Array.from(e.getState(1).c.subarray(3 * 2 * H))).toEqual(Array.from(c1));
  });

  test('setPopulationParamsFlat equals per-member setParams', () => {
    const rng = Rng.fromSeed(13);
    const P = 3;
    const members = [0, 1, 2].map(() => randomParams(config, rng));
    const { c0, x, y } = setup(rng, P, 4);
    const a = createForwardEngine({ ...model, population: P, perMemberParams: true });
    const b = createForwardEngine({ ...model, population: P, perMemberParams: true });
    members.forEach((m, p) => a.setParams(m.named, p));
    const mat = new Float32Array(P * b.paramCount);
    members.forEach((m, p) => mat.set(m.flat, p * b.paramCount));
    b.setPopulationParamsFlat(mat);
    for (const e of [a, b]) c0.forEach((c, l) => e.setState(l, c));
    expect(Array.from(b.runEpisode(x, y).logits)).toEqual(Array.from(a.runEpisode(x, y).logits));
  });

  test('clear errors for unsupported options and bad arguments', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return (e as { name: string; code: string }).name + ':' + (e as { code: string }).code;
      }
      return undefined;
    };
    expect(code(() => createForwardEngine({ ...model, population: 1, layerNorm: true, msgSize: 6 }))).toBe('VsmlError:BAD_CONFIG');
    expect(code(() => createForwardEngine({ ...model, population: 0 }))).toBe('VsmlError:BAD_ARGUMENT');
    expect(code(() => createForwardEngine({ ...model, population: 1, bogus: 1 } as ForwardEngineOptions))).toBe(
      'VsmlError:BAD_CONFIG',
    );
    const e = createForwardEngine({ ...model, population: 2 });
    expect(code(() => e.runEpisode(new Float32Array(8), new Int32Array(2)))).toBe('VsmlError:BAD_ARGUMENT'); // no params
    const prm = randomParams(config, Rng.fromSeed(1));
    expect(code(() => e.setParams({ ...prm.named, 'lstm.b': new Float32Array(3) }))).toBe('VsmlError:SHAPE_MISMATCH');
    e.setParams(prm.named);
    expect(code(() => e.setParams(prm.named, 0))).toBe('VsmlError:BAD_ARGUMENT'); // shared V_M
    expect(code(() => e.runEpisode(new Float32Array(7), new Int32Array(2)))).toBe('VsmlError:SHAPE_MISMATCH');
    expect(code(() => e.runEpisode(new Float32Array(8), Int32Array.from([0, 2])))).toBe('VsmlError:BAD_ARGUMENT');
    expect(code(() => e.setState(0, new Float32Array(5)))).toBe('VsmlError:SHAPE_MISMATCH');
    expect(code(() => e.getState(2))).toBe('VsmlError:BAD_ARGUMENT');
  });
});
