/**
 * The Meta RNN baseline (Hochreiter, Younger & Conwell 2001; official `MetaRNN`): one LSTM that reads
 * `[x_t, previous error, previous label]` and outputs logits; everything it learns within an episode lives in its
 * LSTM state (|V_L| = 2H), all its weights are meta-parameters (|V_M| = O(H²)).
 *
 * As the official code (design/vsml-method.md §4, `model.meta_rnn`): Haiku LSTM with H = 128 units (gate order
 * i, g, f, o; forget bias +1 added in the forward pass; weights truncated normal σ = 1/sqrt(fan_in) on
 * `concat(input, h)`, bias 0), `microTicks` = 2 LSTM steps per datum with the same input, a linear read-out to C
 * logits (Haiku init), soft clip `b·tanh(y/b)` with b = 100; the error `softmax − onehot` and the one-hot label of
 * step t are fed with x_{t+1}. Initial LSTM state zeros.
 *
 * It cannot change its input or output size: it is built for D inputs and C classes (tasks with fewer classes are
 * padded to C, as the official `pad.yaml`), and is compared with VSML on equally preprocessed inputs.
 *
 * Flat θ layout: `lstm.w [(D+2C+H), 4H]`, `lstm.b [4H]`, `out.w [H, C]`, `out.b [C]`, each row-major.
 */
import { tf } from '@vsml/core';
import { Rng } from '@vsml/rng';
import { MetatrainError } from '../errors.js';
import { checkBatch, type EpisodeBatch, type Learner, type LearnerRun, type RunEpisodesOptions } from '../metatest.js';
import type { Carry, MetaModel, MetaParams, SegmentOut } from '../model.js';

/** Options of {@link metaRnnModel}. */
export interface MetaRnnOptions {
  /** D: input size (fixed) */
  readonly inputDim: number;
  /** C: number of classes (fixed; tasks with fewer are padded) */
  readonly numClasses: number;
  /** H: LSTM units (official 128) */
  readonly hidden?: number;
  /** LSTM steps per datum (official 2) */
  readonly microTicks?: number;
  /** soft output clip (official 100; 0 = off) */
  readonly tanhBound?: number;
}

/** Offsets and sizes of the flat θ. */
export function metaRnnLayout(D: number, C: number, H: number): { name: string; shape: number[]; offset: number; size: number; std: number }[] {
  const Din = D + 2 * C;
  const specs = [
    { name: 'lstm.w', shape: [Din + H, 4 * H], std: 1 / Math.sqrt(Din + H) },
    { name: 'lstm.b', shape: [4 * H], std: 0 },
    { name: 'out.w', shape: [H, C], std: 1 / Math.sqrt(H) },
    { name: 'out.b', shape: [C], std: 0 },
  ];
  let offset = 0;
  return specs.map((s) => {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const r = { ...s, offset, size };
    offset += size;
    return r;
  });
}

function bound(y: tf.Tensor, b: number): tf.Tensor {
  return b > 0 ? tf.mul(tf.tanh(tf.div(y, b)), b) : y;
}

/** The Meta RNN as a meta-trainable model (see module comment). */
export function metaRnnModel(opts: MetaRnnOptions): MetaModel & { readonly options: Required<MetaRnnOptions> } {
  const o: Required<MetaRnnOptions> = {
    inputDim: opts.inputDim,
    numClasses: opts.numClasses,
    hidden: opts.hidden ?? 128,
    microTicks: opts.microTicks ?? 2,
    tanhBound: opts.tanhBound ?? 100,
  };
  const { inputDim: D, numClasses: C, hidden: H } = o;
  const layout = metaRnnLayout(D, C, H);
  const size = layout.reduce((a, s) => a + s.size, 0);

  function check(batch: EpisodeBatch, where: string): void {
    if (batch.dim !== D || batch.numClasses !== C) {
      throw new MetatrainError('UNSUPPORTED', `${where}: the Meta RNN is built for D = ${D}, C = ${C}; the batch has D = ${batch.dim}, C = ${batch.numClasses}`);
    }
  }

  /** steps [t0, t1): per-step loss and correctness [n, P] plus the carry */
  function run(theta: tf.Tensor, batch: EpisodeBatch, carry: Carry, t0: number, t1: number): { loss: tf.Tensor; correct: tf.Tensor; pred: tf.Tensor; carry: Carry } {
    const P = batch.population;
    const n = t1 - t0;
    const Din = D + 2 * C;
    const [lw, lb, ow, ob] = layout.map((s) => tf.reshape(tf.slice(theta, [s.offset], [s.size]), s.shape));
    const Wx = tf.slice(lw!, [0, 0], [D, 4 * H]);
    const Wel = tf.slice(lw!, [D, 0], [2 * C, 4 * H]);
    const Wh = tf.slice(lw!, [Din, 0], [H, 4 * H]);
    const X = tf.tensor2d(batch.x.subarray(t0 * P * D, t1 * P * D), [n * P, D]);
    const XW = tf.reshape(tf.add(tf.matMul(X, Wx), lb!), [n, P, 4 * H]);
    const Y = tf.tensor2d(batch.y.subarray(t0 * P, t1 * P), [n, P], 'int32');
    let [h, c, err, lab] = carry as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const losses: tf.Tensor[] = [];
    const corrects: tf.Tensor[] = [];
    const preds: tf.Tensor[] = [];
    for (let t = 0; t < n; t++) {
      const xt = tf.reshape(tf.slice(XW, [t, 0, 0], [1, P, 4 * H]), [P, 4 * H]);
      const inp = tf.add(xt, tf.matMul(tf.concat([err, lab], 1), Wel));
      for (let m = 0; m < o.microTicks; m++) {
        const G = tf.add(inp, tf.matMul(h, Wh));
        const [gi, gg, gf, go] = tf.split(G, 4, 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        c = tf.add(tf.mul(tf.sigmoid(tf.add(gf, 1)), c), tf.mul(tf.sigmoid(gi), tf.tanh(gg)));
        h = tf.mul(tf.sigmoid(go), tf.tanh(c));
      }
      const logits = bound(tf.add(tf.matMul(h, ow!), ob!), o.tanhBound);
      const yt = tf.reshape(tf.slice(Y, [t, 0], [1, P]), [P]);
      const onehot = tf.oneHot(yt, C).asType('float32');
      losses.push(tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), -1)));
      const pred = tf.cast(tf.argMax(logits, -1), 'int32');
      preds.push(pred);
      corrects.push(tf.cast(tf.equal(pred, yt), 'float32'));
      err = tf.sub(tf.softmax(logits), onehot);
      lab = onehot;
    }
    return { loss: tf.stack(losses), correct: tf.stack(corrects), pred: tf.stack(preds), carry: [h, c, err, lab] };
  }

  const model: MetaModel & { readonly options: Required<MetaRnnOptions> } = {
    kind: 'meta-rnn',
    options: o,
    size,
    inputDim: D,
    perMemberTheta: false,
    describe: () => ({ kind: 'meta-rnn', ...o }),
    labelWidth: () => C,
    initVector(seed) {
      const v = new Float32Array(size);
      layout.forEach((s, k) => {
        if (s.std > 0) Rng.fromSeed(seed, 0x726e6e, k).fillTruncatedNormal(v.subarray(s.offset, s.offset + s.size), s.std);
      });
      return v;
    },
    initCarry(batch) {
      check(batch, 'metaRnn.initCarry');
      const P = batch.population;
      return [tf.zeros([P, H]), tf.zeros([P, H]), tf.zeros([P, C]), tf.zeros([P, C])];
    },
    segment(theta, batch, carry, t0, t1): SegmentOut {
      check(batch, 'metaRnn.segment');
      return tf.tidy(() => {
        const r = run(theta, batch, carry, t0, t1);
        const memberLoss = tf.sum(r.loss, 0);
        return { lossSum: tf.sum(memberLoss), memberLoss, correctSum: tf.sum(r.correct), carry: r.carry } as unknown as tf.TensorContainer;
      }) as unknown as SegmentOut;
    },
    learner(theta, lo = {}) {
      return metaRnnLearner(model, theta, lo, run);
    },
  };
  return model;
}

function metaRnnLearner(
  model: MetaModel & { readonly options: Required<MetaRnnOptions> },
  theta: MetaParams,
  lo: { name?: string; label?: string },
  run: (theta: tf.Tensor, batch: EpisodeBatch, carry: Carry, t0: number, t1: number) => { loss: tf.Tensor; correct: tf.Tensor; pred: tf.Tensor; carry: Carry },
): Learner {
  const { inputDim: D, numClasses: C, hidden: H } = model.options;
  return {
    name: lo.name ?? 'meta-rnn',
    label: lo.label ?? `Meta RNN (LSTM ${H})`,
    canPredictWithoutLearning: false,
    counts: () => ({ vm: model.size, vl: 2 * H }),
    unsupported: (dim, numClasses) =>
      dim !== D ? `built for ${D} inputs, got ${dim}` : numClasses > C ? `built for at most ${C} classes, got ${numClasses}` : null,
    async runEpisodes(batch: EpisodeBatch, o: RunEpisodesOptions): Promise<LearnerRun> {
      checkBatch(batch, 'metaRnn.runEpisodes');
      void o;
      const padded: EpisodeBatch = { ...batch, numClasses: C };
      const { steps: T, population: P } = batch;
      const correct = new Float32Array(T * P);
      const loss = new Float32Array(T * P);
      const predictions = new Int32Array(T * P);
      const thetaT = tf.tensor1d(theta);
      let carry = model.initCarry(padded, o.seeds);
      try {
        const chunk = 100;
        for (let t0 = 0; t0 < T; t0 += chunk) {
          const t1 = Math.min(T, t0 + chunk);
          const r = tf.tidy(() => run(thetaT, padded, carry, t0, t1) as unknown as tf.TensorContainer) as unknown as ReturnType<typeof run>;
          correct.set(await r.correct.data(), t0 * P);
          loss.set(await r.loss.data(), t0 * P);
          predictions.set(await r.pred.data(), t0 * P);
          r.correct.dispose();
          r.loss.dispose();
          r.pred.dispose();
          for (const x of carry) x.dispose();
          carry = r.carry;
        }
      } finally {
        thetaT.dispose();
        for (const x of carry) if (!x.isDisposed) x.dispose();
      }
      return { correct, loss, predictions };
    },
  };
}
