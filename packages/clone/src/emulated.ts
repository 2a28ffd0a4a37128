/**
 * The ground truth: the neural network the sub-RNNs emulate, as a real tfjs network, and the targets of cloning.
 *
 * A VSML dense layer ℓ with fan-in I and fan-out O aggregates its sub-RNNs' forward messages over a (mean: α = 1/I,
 * sum: α = 1) and its backward messages over b (mean: β = 1/O, sum: β = 1). A sub-RNN that stores w_ab, b_ab and
 * computes the clone's rule (Eq. 13/14) therefore makes the layer compute
 *
 *     y_b   = α · Σ_a ( tanh(x_a)·w_ab + b_ab )                    (forward tick; x = the layer's input messages)
 *     e'_a  = β · Σ_b e_b · w_ab · (1 − tanh² x_a)                  (reverse tick; e = the layer's incoming errors)
 *     Δw_ab = −η · e_b · tanh(x_a),   Δb_ab = −η_b · e_b             (reverse tick; stored state changes)
 *
 * Stacking layers and injecting e = ∂CE/∂logits = softmax − onehot at the last layer gives exactly backpropagation on
 * the network f(x) = layers of the first line, up to constant factors per layer (L = number of layers):
 *
 *     e (entering layer ℓ at its output) = Π_{k>ℓ} (β_k/α_k) · ∂CE/∂y_ℓ
 *     e' (leaving layer ℓ at its input)  = Π_{k≥ℓ} (β_k/α_k) · ∂CE/∂x_ℓ
 *     Δw_ℓ = −λ_ℓ · ∂CE/∂w_ℓ,  λ_ℓ = (η/α_ℓ) · Π_{k>ℓ} (β_k/α_k)    (same with η_b for the biases)
 *
 * i.e. plain SGD with a per-layer learning rate λ_ℓ (mean aggregation, 784→10: λ = 784·η; 784→32→10: λ_0 = η·784·32/10,
 * λ_1 = 32·η). {@link networkTargets} computes every target with `tf.grad` of the real network and these constants;
 * the tests check them against the per-sub-RNN closed form ({@link subRnnTargets}).
 */
import { tf } from '@vsml/core';
import type { Emulation } from './config.js';
import { CloneError } from './errors.js';

/** Message aggregation of the VSML layers. */
export type Aggregation = 'mean' | 'sum';

/** Per-layer constants of the emulated network (see the module comment). */
export interface LayerConstants {
  /** α_ℓ: forward aggregation factor */
  readonly alpha: readonly number[];
  /** β_ℓ: backward aggregation factor */
  readonly beta: readonly number[];
  /** Π_{k≥ℓ} β_k/α_k: VSML error at the input of layer ℓ per unit of ∂CE/∂x_ℓ */
  readonly errorIn: readonly number[];
  /** Π_{k>ℓ} β_k/α_k: VSML error entering layer ℓ at its output per unit of ∂CE/∂y_ℓ */
  readonly errorOut: readonly number[];
  /** λ_ℓ: SGD learning rate of the weights of layer ℓ equivalent to the rule */
  readonly lr: readonly number[];
  /** learning rate of the biases of layer ℓ */
  readonly biasLr: readonly number[];
}

/** The constants of a network with layer sizes `[D, ...hidden, C]`. */
export function layerConstants(sizes: readonly number[], emulation: Pick<Emulation, 'eta' | 'biasEta'>, aggregation: Aggregation = 'mean'): LayerConstants {
  const L = sizes.length - 1;
  if (L < 1) throw new CloneError('BAD_ARGUMENT', `layerConstants: need sizes [D, ..., C], got [${sizes.join(',')}]`);
  const alpha = Array.from({ length: L }, (_, l) => (aggregation === 'mean' ? 1 / sizes[l]! : 1));
  const beta = Array.from({ length: L }, (_, l) => (aggregation === 'mean' ? 1 / sizes[l + 1]! : 1));
  const errorOut = new Array<number>(L);
  const errorIn = new Array<number>(L);
  let acc = 1;
  for (let l = L - 1; l >= 0; l--) {
    errorOut[l] = acc;
    acc *= beta[l]! / alpha[l]!;
    errorIn[l] = acc;
  }
  const etaB = emulation.biasEta ?? emulation.eta;
  return {
    alpha,
    beta,
    errorIn,
    errorOut,
    lr: alpha.map((a, l) => (emulation.eta / a) * errorOut[l]!),
    biasLr: alpha.map((a, l) => (etaB / a) * errorOut[l]!),
  };
}

/** The per-sub-RNN targets of Eq. 13/14 (closed form), elementwise on tensors of one shape. */
export interface SubRnnTargets {
  /** forward message slot 0: tanh(x)·w + b */
  readonly y: tf.Tensor;
  /** backward message slot 0: e·w·(1 − tanh²x) */
  readonly eBack: tf.Tensor;
  /** Δw = −η·e·tanh(x) (full units) */
  readonly dw: tf.Tensor;
  /** Δb = −η_b·e (full units) */
  readonly db: tf.Tensor;
}

/** Closed-form targets of one sub-RNN for input x, error e, stored w and b (full units). */
export function subRnnTargets(x: tf.Tensor, e: tf.Tensor, w: tf.Tensor, b: tf.Tensor, emulation: Pick<Emulation, 'eta' | 'biasEta'>): SubRnnTargets {
  return tf.tidy(() => {
    const t = tf.tanh(x);
    const etaB = emulation.biasEta ?? emulation.eta;
    return {
      y: tf.add(tf.mul(t, w), b),
      eBack: tf.mul(tf.mul(e, w), tf.sub(1, tf.square(t))),
      dw: tf.mul(tf.mul(e, t), -emulation.eta),
      db: tf.mul(e, -etaB),
    };
  });
}

/** Weights of the emulated network, per row: `w[ℓ]`, `b[ℓ]` shaped `[R, I_ℓ, O_ℓ]` (full units). */
export interface NetworkWeights {
  readonly w: readonly tf.Tensor[];
  readonly b: readonly tf.Tensor[];
}

/** One layer of the emulated network: `x [R, I]` → `y [R, O]` with per-row weights `[R, I, O]`. */
export function emulatedLayer(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, aggregation: Aggregation): tf.Tensor {
  const [R, I] = x.shape as [number, number];
  const O = w.shape[2]!;
  const prod = tf.reshape(tf.matMul(tf.reshape(tf.tanh(x), [R, 1, I]), w), [R, O]);
  const y = tf.add(prod, tf.sum(b, 1));
  return aggregation === 'mean' ? tf.div(y, I) : y;
}

/** The emulated network on inputs `x [R, D]`: every layer's output `y_ℓ [R, O_ℓ]` (the last is the logits). */
export function emulatedForward(weights: NetworkWeights, x: tf.Tensor, aggregation: Aggregation = 'mean'): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  let h = x;
  for (let l = 0; l < weights.w.length; l++) {
    h = emulatedLayer(h, weights.w[l]!, weights.b[l]!, aggregation);
    out.push(h);
  }
  return out;
}

/** Everything a cloning loss needs about one step of the emulated network. */
export interface NetworkTargets {
  /** y_ℓ [R, O_ℓ]: each layer's output (the forward message slot 0 the layer must emit); last = logits */
  readonly acts: tf.Tensor[];
  /** per-row cross-entropy of the logits, [R] */
  readonly loss: tf.Tensor;
  /** error injected at the last layer, errorScale·(softmax − onehot), [R, C] */
  readonly outError: tf.Tensor;
  /** VSML error leaving layer ℓ at its input (backward message slot 0 of layer ℓ), [R, I_ℓ] */
  readonly errIn: tf.Tensor[];
  /** VSML error entering layer ℓ at its output, [R, O_ℓ] (errIn of layer ℓ+1; outError for the last) */
  readonly errOut: tf.Tensor[];
  /** Δw_ℓ, Δb_ℓ [R, I_ℓ, O_ℓ] (full units): the change of each row's stored weights in its reverse tick */
  readonly dw: tf.Tensor[];
  readonly db: tf.Tensor[];
}

/**
 * Targets from the real network by `tf.grad`: per row r, L_r = errorScale·CE(f(x_r; w_r), y_r); the targets are
 * `y_ℓ`, `errorIn_ℓ·∂L_r/∂x_ℓ`, `−λ_ℓ·∂L_r/∂w_ℓ`, `−λ^b_ℓ·∂L_r/∂b_ℓ` (constants of {@link layerConstants}).
 * @param labels class indices, int32 `[R]`
 */
export function networkTargets(
  weights: NetworkWeights,
  x: tf.Tensor,
  labels: tf.Tensor,
  emulation: Pick<Emulation, 'eta' | 'biasEta'>,
  opts: { aggregation?: Aggregation; errorScale?: number } = {},
): NetworkTargets {
  const aggregation = opts.aggregation ?? 'mean';
  const scale = opts.errorScale ?? 1;
  const L = weights.w.length;
  if (weights.b.length !== L || L === 0) throw new CloneError('SHAPE_MISMATCH', 'networkTargets: need as many bias as weight tensors (≥ 1)');
  const sizes = [weights.w[0]!.shape[1]!, ...weights.w.map((w) => w.shape[2]!)];
  const k = layerConstants(sizes, emulation, aggregation);
  return tf.tidy(() => {
    const C = sizes[L]!;
    const onehot = tf.oneHot(labels, C).toFloat();
    const ce = (logits: tf.Tensor): tf.Tensor => tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), -1));
    // the loss from layer ℓ's input onwards, as a function of that input and of the later parameters
    const tail = (from: number, xin: tf.Tensor, ws: readonly tf.Tensor[], bs: readonly tf.Tensor[]): tf.Tensor => {
      let h = xin;
      for (let l = from; l < L; l++) h = emulatedLayer(h, ws[l - from]!, bs[l - from]!, aggregation);
      return tf.mul(tf.sum(ce(h)), scale);
    };
    const acts = emulatedForward(weights, x, aggregation);
    const inputs = [x, ...acts.slice(0, -1)];
    const logits = acts[L - 1]!;
    const loss = ce(logits);
    const outError = tf.mul(tf.sub(tf.softmax(logits), onehot), scale);
    // ∂L/∂x_ℓ, ∂L/∂w_ℓ, ∂L/∂b_ℓ, one tf.grads per layer (L ≤ 3 in practice)
    const errIn: tf.Tensor[] = [];
    const dw: tf.Tensor[] = [];
    const db: tf.Tensor[] = [];
    for (let l = 0; l < L; l++) {
      const ws = weights.w.slice(l);
      const bs = weights.b.slice(l);
      const g = tf.grads((...args: tf.Tensor[]) => tail(l, args[0]!, args.slice(1, 1 + ws.length), args.slice(1 + ws.length)));
      const grads = g([inputs[l]!, ...ws, ...bs]);
      errIn.push(tf.mul(grads[0]!, k.errorIn[l]!));
      dw.push(tf.mul(grads[1]!, -k.lr[l]!));
      db.push(tf.mul(grads[1 + ws.length]!, -k.biasLr[l]!));
    }
    const errOut = [...errIn.slice(1), outError];
    return { acts, loss, outError, errIn, errOut, dw, db };
  });
}

/**
 * One step of real minibatch SGD on the emulated network (the baseline "what a perfect clone would do"): the rows of
 * the batch share the weights `w[ℓ] [I, O]`; the update is the mean over the batch of the per-row rule, i.e.
 * `Δw_ℓ = −λ_ℓ · mean_r ∂L_r/∂w_ℓ`, or with a fixed `lr` for every layer (`lr` given: plain SGD on the mean loss).
 * Returns the new weights (old ones are not disposed), the logits before the update and the per-row loss.
 */
export function sgdStep(
  w: readonly tf.Tensor[],
  b: readonly tf.Tensor[],
  x: tf.Tensor,
  labels: tf.Tensor,
  emulation: Pick<Emulation, 'eta' | 'biasEta'>,
  opts: { aggregation?: Aggregation; errorScale?: number; lr?: number } = {},
): { w: tf.Tensor[]; b: tf.Tensor[]; logits: tf.Tensor; loss: tf.Tensor } {
  const aggregation = opts.aggregation ?? 'mean';
  const L = w.length;
  const sizes = [w[0]!.shape[0]!, ...w.map((t) => t.shape[1]!)];
  const k = layerConstants(sizes, emulation, aggregation);
  return tf.tidy(() => {
    const R = x.shape[0]!;
    const C = sizes[L]!;
    const onehot = tf.oneHot(labels, C).toFloat();
    const f = (...args: tf.Tensor[]): tf.Tensor => {
      let h = x;
      for (let l = 0; l < L; l++) {
        const I = sizes[l]!;
        const y = tf.add(tf.matMul(tf.tanh(h), args[l]!), tf.sum(args[L + l]!, 0));
        h = aggregation === 'mean' ? tf.div(y, I) : y;
      }
      return tf.mul(tf.mean(tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(h)), -1))), opts.errorScale ?? 1);
    };
    const grads = tf.grads(f)([...w, ...b]);
    const nw = w.map((t, l) => tf.sub(t, tf.mul(grads[l]!, opts.lr ?? k.lr[l]!)));
    const nb = b.map((t, l) => tf.sub(t, tf.mul(grads[L + l]!, opts.lr ?? k.biasLr[l]!)));
    const logits = emulatedForward(
      { w: w.map((t) => tf.broadcastTo(tf.reshape(t, [1, ...t.shape]), [R, ...t.shape])), b: b.map((t) => tf.broadcastTo(tf.reshape(t, [1, ...t.shape]), [R, ...t.shape])) },
      x,
      aggregation,
    )[L - 1]!;
    const loss = tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), -1));
    return { w: nw, b: nb, logits, loss };
  });
}

/** Logits of the emulated network with shared weights `[I, O]` on `x [R, D]` (prediction without learning). */
export function emulatedPredict(w: readonly tf.Tensor[], b: readonly tf.Tensor[], x: tf.Tensor, aggregation: Aggregation = 'mean'): tf.Tensor {
  return tf.tidy(() => {
    let h = x;
    for (let l = 0; l < w.length; l++) {
      const I = w[l]!.shape[0]!;
      const y = tf.add(tf.matMul(tf.tanh(h), w[l]!), tf.sum(b[l]!, 0));
      h = aggregation === 'mean' ? tf.div(y, I) : y;
    }
    return h;
  });
}
