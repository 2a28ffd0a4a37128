/**
 * Online SGD / Adam baselines (official `SGD` model, design/vsml-method.md §4): a linear model or a one-hidden-layer
 * MLP (official: 160 tanh units), batch size 1, trained by real tfjs gradients. At step t it predicts x_t with its
 * current weights (the prediction that is scored), then takes one optimiser step on CE(f(x_t), y_t).
 * Logits are soft-clipped `b·tanh(y/b)` with b = 100 as the official model.
 *
 * Official settings: SGD lr 0.01, Adam lr 1e-3 (β 0.9 / 0.999, ε 1e-8, optax defaults). Weights: Haiku `Linear`
 * init, truncated normal σ = 1/sqrt(fan_in), biases 0. The official code draws the initialisation from one fixed
 * key for every episode; here member p's weights come from `Rng.fromSeed(initSeed ?? seeds[p], ...)`:
 * by default different per seed (so std over seeds includes the initialisation), or one fixed `initSeed` for all.
 *
 * P episodes run side by side as P independent models stacked along a leading axis (batched matmuls); the loss
 * differentiated is the sum over members, so each member's gradient is its own, and Adam/SGD are elementwise.
 * Held-out accuracy: the current weights predict the held-out set without learning from it.
 */
import { tf } from '@vsml/core';
import { Rng } from '@vsml/rng';
import { MetatrainError } from '../errors.js';
import { checkBatch, type EpisodeBatch, type Learner, type LearnerRun, type RunEpisodesOptions } from '../metatest.js';

/** Options of {@link onlineLearner}. */
export interface OnlineLearnerOptions {
  /** `linear` or `mlp` (one hidden layer) */
  readonly model: 'linear' | 'mlp';
  /** `sgd` (official lr 0.01) or `adam` (official lr 1e-3) */
  readonly optimizer: 'sgd' | 'adam';
  /** learning rate (default: the official one of the optimiser) */
  readonly lr?: number;
  /** hidden units of the MLP (official 160) */
  readonly hidden?: number;
  /** soft output clip (official 100; 0 = off) */
  readonly tanhBound?: number;
  /** one initialisation seed for every episode (official: a fixed key); default: the episode's seed */
  readonly initSeed?: number;
  readonly name?: string;
  readonly label?: string;
}

/** Official learning rates. */
export const OFFICIAL_LR = { sgd: 0.01, adam: 1e-3 } as const;

/** The online SGD / Adam learner (see module comment). */
export function onlineLearner(opts: OnlineLearnerOptions): Learner {
  const lr = opts.lr ?? OFFICIAL_LR[opts.optimizer];
  const Hd = opts.hidden ?? 160;
  const b = opts.tanhBound ?? 100;
  const mlp = opts.model === 'mlp';
  const optName = opts.optimizer === 'adam' ? 'Adam' : 'SGD';
  const shapes = (D: number, C: number): number[][] => (mlp ? [[D, Hd], [Hd], [Hd, C], [C]] : [[D, C], [C]]);
  return {
    name: opts.name ?? `${opts.optimizer}-${opts.model}`,
    label: opts.label ?? `online ${optName} ${lr}, ${mlp ? `MLP ${Hd} tanh` : 'linear'}`,
    canPredictWithoutLearning: true,
    counts: (D, C) => ({ vm: null, vl: shapes(D, C).reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0) }),
    async runEpisodes(batch: EpisodeBatch, o: RunEpisodesOptions): Promise<LearnerRun> {
      checkBatch(batch, 'onlineLearner.runEpisodes');
      const { steps: T, population: P, dim: D, numClasses: C } = batch;
      if (o.seeds.length !== P) throw new MetatrainError('BAD_ARGUMENT', `onlineLearner: ${o.seeds.length} seeds for ${P} members`);
      // per-member initialisation (Haiku Linear: truncated normal 1/sqrt(fan_in), bias 0)
      const init = shapes(D, C).map((shape, k) => {
        const size = shape.reduce((a, s) => a * s, 1);
        const buf = new Float32Array(P * size);
        if (shape.length === 2) {
          for (let p = 0; p < P; p++) {
            Rng.fromSeed(opts.initSeed ?? o.seeds[p]!, 0x736764, k).fillTruncatedNormal(buf.subarray(p * size, (p + 1) * size), 1 / Math.sqrt(shape[0]!));
          }
        }
        return tf.tensor(buf, [P, ...shape]);
      });
      let params: tf.Tensor[] = init;
      let m: tf.Tensor[] = params.map((p) => tf.zerosLike(p));
      let v: tf.Tensor[] = params.map((p) => tf.zerosLike(p));
      const forward = (ps: tf.Tensor[], x: tf.Tensor /* [P, N, D] */): tf.Tensor => {
        let h = x;
        for (let l = 0; l < ps.length; l += 2) {
          h = tf.add(tf.matMul(h, ps[l]!), tf.expandDims(ps[l + 1]!, 1));
          if (l + 2 < ps.length) h = tf.tanh(h);
        }
        return b > 0 ? tf.mul(tf.tanh(tf.div(h, b)), b) : h; // [P, N, C]
      };
      const heldOut = o.heldOut;
      const heldX = heldOut ? tf.tensor3d(heldOut.x, [1, heldOut.count, D]) : null;
      const heldY = heldOut ? tf.tensor2d(heldOut.y, [1, heldOut.count], 'int32') : null;
      const heldAcc: tf.Tensor[] = [];
      const atSteps = new Set(heldOut?.atSteps ?? []);
      const lossList: tf.Tensor[] = [];
      const correctList: tf.Tensor[] = [];
      const b1 = 0.9;
      const b2 = 0.999;
      const eps = 1e-8;
      try {
        for (let t = 0; t < T; t++) {
          const x = tf.tensor3d(batch.x.subarray(t * P * D, (t + 1) * P * D), [P, 1, D]);
          const y = tf.tensor1d(batch.y.subarray(t * P, (t + 1) * P), 'int32');
          const step = tf.tidy(() => {
            const onehot = tf.reshape(tf.oneHot(y, C).asType('float32'), [P, 1, C]);
            const ce = (ps: tf.Tensor[]): tf.Tensor => tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(forward(ps, x))), [1, 2])); // [P]
            // predict x_t before learning from it
            const logits = tf.reshape(forward(params, x), [P, C]);
            const loss = ce(params);
            const correct = tf.cast(tf.equal(tf.cast(tf.argMax(logits, -1), 'int32'), y), 'float32');
            const grads = tf.grads((...ps: tf.Tensor[]) => tf.sum(ce(ps)))(params);
            let next: tf.Tensor[];
            let nm = m;
            let nv = v;
            if (opts.optimizer === 'sgd') {
              next = params.map((p, i) => tf.sub(p, tf.mul(grads[i]!, lr)));
            } else {
              const k = t + 1;
              const c1 = 1 - b1 ** k;
              const c2 = 1 - b2 ** k;
              nm = m.map((mi, i) => tf.add(tf.mul(mi, b1), tf.mul(grads[i]!, 1 - b1)));
              nv = v.map((vi, i) => tf.add(tf.mul(vi, b2), tf.mul(tf.square(grads[i]!), 1 - b2)));
              next = params.map((p, i) => tf.sub(p, tf.div(tf.mul(nm[i]!, lr / c1), tf.add(tf.sqrt(tf.div(nv[i]!, c2)), eps))));
            }
            let acc: tf.Tensor | null = null;
            if (heldX && heldY && atSteps.has(t)) {
              const lg = forward(next, tf.tile(heldX, [P, 1, 1]));
              acc = tf.mean(tf.cast(tf.equal(tf.cast(tf.argMax(lg, -1), 'int32'), heldY), 'float32'), 1);
            }
            return { loss, correct, next, nm, nv, acc } as unknown as tf.TensorContainer;
          }) as unknown as { loss: tf.Tensor; correct: tf.Tensor; next: tf.Tensor[]; nm: tf.Tensor[]; nv: tf.Tensor[]; acc: tf.Tensor | null };
          x.dispose();
          y.dispose();
          for (const p of params) p.dispose();
          if (step.nm !== m) for (const p of m) p.dispose();
          if (step.nv !== v) for (const p of v) p.dispose();
          params = step.next;
          m = step.nm;
          v = step.nv;
          lossList.push(step.loss);
          correctList.push(step.correct);
          if (step.acc) heldAcc.push(step.acc);
        }
        const [lossT, correctT, accT] = tf.tidy(() => [tf.stack(lossList), tf.stack(correctList), heldAcc.length > 0 ? tf.stack(heldAcc) : tf.zeros([0])]);
        const out: LearnerRun = {
          loss: Float32Array.from(await lossT!.data()),
          correct: Float32Array.from(await correctT!.data()),
          ...(heldOut ? { heldOutAccuracy: Float32Array.from(await accT!.data()) } : {}),
        };
        lossT!.dispose();
        correctT!.dispose();
        accT!.dispose();
        return out;
      } finally {
        for (const list of [params, m, v, lossList, correctList, heldAcc]) for (const x of list) if (!x.isDisposed) x.dispose();
        heldX?.dispose();
        heldY?.dispose();
      }
    },
  };
}
