// The Meta RNN baseline against an independent float64 loop written from its specification (module comment of
// src/baselines/meta-rnn.ts: Haiku LSTM, gate order i, g, f, o, forget bias +1, microTicks LSTM steps per datum,
// linear read-out, soft clip b·tanh(y/b), the error softmax − onehot and the one-hot label of step t fed with x_{t+1},
// zero initial state): the per-member losses, and the meta-gradient against float64 central differences.
import { tf } from '@vsml/core';
import { Rng } from '@vsml/rng';
import { metaRnnLayout, metaRnnModel, type EpisodeBatch } from '../src/index.js';
import { useBackend } from './helpers.js';

useBackend('cpu');

const D = 3;
const C = 3;
const H = 4;
const T = 5;
const P = 2;
const MICRO = 2;
const BOUND = 3; // small, so that the soft clip is active

/** Per-member loss sums over the episode, float64. */
function reference(theta: ArrayLike<number>, b: EpisodeBatch): Float64Array {
  const L = Object.fromEntries(metaRnnLayout(D, C, H).map((s) => [s.name, s]));
  const at = (name: string, i: number): number => theta[L[name]!.offset + i]!;
  const sig = (z: number): number => 1 / (1 + Math.exp(-z));
  const out = new Float64Array(P);
  for (let p = 0; p < P; p++) {
    let h = new Float64Array(H);
    let c = new Float64Array(H);
    let err = new Float64Array(C);
    let lab = new Float64Array(C);
    for (let t = 0; t < T; t++) {
      // input row: [x_t (D), err (C), lab (C)] then h (H); lstm.w is [(D + 2C + H), 4H] row-major
      const inp = [...Array.from(b.x.subarray((t * P + p) * D, (t * P + p + 1) * D)), ...err, ...lab];
      for (let m = 0; m < MICRO; m++) {
        const row = [...inp, ...h];
        const g = new Float64Array(4 * H);
        for (let j = 0; j < 4 * H; j++) {
          let s = at('lstm.b', j);
          for (let r = 0; r < row.length; r++) s += row[r]! * at('lstm.w', r * 4 * H + j);
          g[j] = s;
        }
        const c2 = new Float64Array(H);
        const h2 = new Float64Array(H);
        for (let k = 0; k < H; k++) {
          const i = sig(g[k]!);
          const gg = Math.tanh(g[H + k]!);
          const f = sig(g[2 * H + k]! + 1);
          const o = sig(g[3 * H + k]!);
          c2[k] = f * c[k]! + i * gg;
          h2[k] = o * Math.tanh(c2[k]!);
        }
        c = c2;
        h = h2;
      }
      const logits = new Float64Array(C);
      for (let k = 0; k < C; k++) {
        let s = at('out.b', k);
        for (let j = 0; j < H; j++) s += h[j]! * at('out.w', j * C + k);
        logits[k] = BOUND * Math.tanh(s / BOUND);
      }
      const y = b.y[t * P + p]!;
      const mx = Math.max(...logits);
      const lse = mx + Math.log(logits.reduce((a, v) => a + Math.exp(v - mx), 0));
      out[p] = out[p]! + lse - logits[y]!;
      err = logits.map((v, k) => Math.exp(v - lse) - (k === y ? 1 : 0));
      lab = logits.map((_, k) => (k === y ? 1 : 0));
    }
  }
  return out;
}

describe('Meta RNN against a float64 loop', () => {
  const model = metaRnnModel({ inputDim: D, numClasses: C, hidden: H, microTicks: MICRO, tanhBound: BOUND });
  const rng = Rng.fromSeed(21);
  const batch: EpisodeBatch = {
    x: rng.fillNormal(new Float32Array(T * P * D)),
    y: Int32Array.from({ length: T * P }, () => rng.int(0, C)),
    steps: T,
    population: P,
    dim: D,
    numClasses: C,
  };
  // 2× the initialisation plus nonzero biases: saturating gates and an active clip
  const theta = model.initVector(4).map((v) => 2 * v);
  for (const s of metaRnnLayout(D, C, H)) if (s.name.endsWith('.b')) for (let i = 0; i < s.size; i++) theta[s.offset + i] = rng.normal() * 0.5;

  const tfLoss = (th: tf.Tensor): { total: tf.Scalar; member: tf.Tensor } => {
    const carry = model.initCarry(batch, [0, 1]);
    const r = model.segment(th, batch, carry, 0, T);
    tf.dispose(carry as tf.Tensor[]);
    tf.dispose(r.carry as tf.Tensor[]);
    r.correctSum.dispose();
    return { total: r.lossSum as tf.Scalar, member: r.memberLoss };
  };

  it('per-member episode losses equal the float64 loop (1e-5 relative)', () => {
    const before = tf.memory().numTensors;
    const th = tf.tensor1d(theta);
    const { total, member } = tfLoss(th);
    const got = member.dataSync();
    const want = reference(theta, batch);
    for (let p = 0; p < P; p++) expect(Math.abs(got[p]! - want[p]!)).toBeLessThan(1e-5 * (1 + want[p]!));
    expect(total.dataSync()[0]).toBeCloseTo(want[0]! + want[1]!, 4);
    tf.dispose([th, total, member]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the meta-gradient equals float64 central differences, coordinate by coordinate', () => {
    const th = tf.tensor1d(theta);
    const g = tf.grad((x: tf.Tensor) => tfLoss(x).total)(th);
    const grad = g.dataSync();
    tf.dispose([th, g]);
    const base = Float64Array.from(theta);
    const total = (v: Float64Array): number => reference(v, batch).reduce((a, x) => a + x, 0);
    const h = 1e-6;
    const r = Rng.fromSeed(22);
    for (const s of metaRnnLayout(D, C, H)) {
      for (let n = 0; n < 4; n++) {
        const i = s.offset + r.int(0, s.size);
        const plus = Float64Array.from(base);
        const minus = Float64Array.from(base);
        plus[i] = plus[i]! + h;
        minus[i] = minus[i]! - h;
        const numeric = (total(plus) - total(minus)) / (2 * h);
        expect({ name: s.name, i, ok: Math.abs(numeric - grad[i]!) < 1e-4 + 2e-3 * Math.abs(numeric) }).toEqual({ name: s.name, i, ok: true });
      }
    }
  });
});
