/** OpenAI-ES: gradient estimate, optimiser, shaping, robustness, seeds, checkpoints. */
import { Rng } from '@vsml/rng';

import { EvolveError, OPENAI_ES_VSML, OpenAiEs } from '../src/index.js';
import { sphere } from './helpers.js';

function quadratic(n: number, seed: number): { f: (x: Float64Array) => number; grad: (x: Float64Array) => Float64Array } {
  const rng = Rng.fromSeed(seed);
  const a = Float64Array.from({ length: n }, () => 0.5 + 2 * rng.float()); // A = diag(a)
  const b = rng.fillNormal(new Float64Array(n));
  return {
    f: (x) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += 0.5 * a[i]! * x[i]! * x[i]! + b[i]! * x[i]!;
      return s;
    },
    grad: (x) => Float64Array.from(x, (v, i) => a[i]! * v + b[i]!),
  };
}

const norm = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));

describe('gradient estimate', () => {
  it('raw differences: E[ĝ] = ∇f for a quadratic (20,000 pairs, within 4 standard errors per coordinate)', () => {
    const n = 10;
    const { f, grad } = quadratic(n, 1);
    const x0 = Rng.fromSeed(2).fillNormal(new Float64Array(n));
    const pairs = 20000;
    const es = new OpenAiEs({ x0, seed: 3, pairs, sigma: 0.05 });
    const xs = es.ask();
    es.tell(xs, xs.map(f));
    const g = es.gradient!;
    const truth = grad(x0);
    const gn2 = truth.reduce((s, v) => s + v * v, 0);
    for (let i = 0; i < n; i++) {
      // ĝ_i = mean ε_i εᵀ∇f: variance (∇f_i² + ‖∇f‖²)/pairs
      const se = Math.sqrt((truth[i]! ** 2 + gn2) / pairs);
      expect(Math.abs(g[i]! - truth[i]!)).toBeLessThan(4 * se);
    }
    expect(norm(g.map((v, i) => v - truth[i]!)) / norm(truth)).toBeLessThan(0.05);
  });

  it('centred ranks: ĝ points along ∇f', () => {
    const n = 10;
    const { f, grad } = quadratic(n, 4);
    const x0 = Rng.fromSeed(5).fillNormal(new Float64Array(n));
    const es = new OpenAiEs({ x0, seed: 6, pairs: 5000, shaping: 'centeredRank' });
    const xs = es.ask();
    es.tell(xs, xs.map(f));
    const g = es.gradient!;
    const t = grad(x0);
    const cos = g.reduce((s, v, i) => s + v * t[i]!, 0) / (norm(g) * norm(t));
    expect(cos).toBeGreaterThan(0.97);
  });

  it('one Adam step matches the optax formula (injected noise ε = e_1, linear f)', () => {
    const c = [3, -2, 0.5];
    const stream = [1, 0, 0];
    let k = 0;
    const es = new OpenAiEs({ x0: [0, 0, 0], seed: 1, pairs: 1, sigma: 0.1, lr: 0.01, normalSource: () => stream[k++ % 3]! });
    const f = (x: Float64Array): number => c[0]! * x[0]! + c[1]! * x[1]! + c[2]! * x[2]!;
    const xs = es.ask();
    expect(Array.from(xs[0]!)).toEqual([0.1, 0, 0]);
    expect(Array.from(xs[1]!)).toEqual([-0.1, 0, 0]);
    es.tell(xs, xs.map(f));
    // ĝ = ε (f⁺ − f⁻)/(2σ) = (3, 0, 0); m̂ = g, v̂ = g², step = lr g/(|g| + ε)
    expect(es.gradient![0]).toBeCloseTo(3, 12);
    expect(es.mean[0]).toBeCloseTo(-0.01 * (3 / (3 + 1e-8)), 15);
    expect(es.mean[1]).toBe(0);
  });
});

describe('optimisation', () => {
  it('minimises a 100-D sphere with the VSML setting (σ 0.05, Adam lr 0.025, no shaping)', () => {
    const es = new OpenAiEs({ ...OPENAI_ES_VSML, pairs: 50, x0: new Float64Array(100).fill(1), seed: 1 });
    expect(sphere(es.mean)).toBe(100);
    for (let g = 0; g < 300; g++) {
      const xs = es.ask();
      es.tell(xs, xs.map(sphere));
    }
    expect(sphere(es.mean)).toBeLessThan(1e-6); // measured: 14 after 50 generations, 5e-5 after 200, 4e-9 after 300
  });

  it('centred-rank shaping and SGD also descend', () => {
    const es = new OpenAiEs({ x0: new Float64Array(20).fill(1), seed: 2, pairs: 20, shaping: 'centeredRank', optimizer: 'sgd', lr: 0.005, momentum: 0.5 });
    for (let g = 0; g < 300; g++) {
      const xs = es.ask();
      es.tell(xs, xs.map(sphere));
    }
    expect(sphere(es.mean)).toBeLessThan(1e-3);
  });

  it('weight decay adds wd·θ to the gradient; clipping caps its norm', () => {
    const decay = new OpenAiEs({ x0: [2, -4], seed: 1, pairs: 2, optimizer: 'sgd', lr: 0.1, weightDecay: 0.5 });
    const xs = decay.ask();
    decay.tell(xs, xs.map(() => 1)); // flat f: ĝ = 0, so the step is −lr·wd·θ
    expect(Array.from(decay.mean)).toEqual([2 * 0.95, -4 * 0.95]);

    const clip = new OpenAiEs({ x0: [0, 0, 0], seed: 1, pairs: 4, optimizer: 'sgd', lr: 0.1, clipGradNorm: 1 });
    const ys = clip.ask();
    clip.tell(ys, ys.map((x) => 1000 * x[0]!));
    expect(norm(clip.gradient!)).toBeGreaterThan(100);
    expect(norm(clip.mean)).toBeCloseTo(0.1, 12);
  });
});

describe('antithetic pairs and robustness', () => {
  it('pairs are θ ± σε, and each pair shares one evaluation seed', () => {
    const es = new OpenAiEs({ x0: [1, 2, 3], seed: 9, pairs: 4, sigma: 0.2 });
    const xs = es.ask();
    expect(xs).toHaveLength(8);
    for (let k = 0; k < 4; k++) {
      for (let i = 0; i < 3; i++) expect(xs[2 * k]![i]! + xs[2 * k + 1]![i]!).toBeCloseTo(2 * (i + 1), 12);
    }
    const seeds = es.candidateSeeds();
    expect(seeds).toHaveLength(8);
    for (let k = 0; k < 4; k++) expect(seeds[2 * k]).toBe(seeds[2 * k + 1]);
    expect(new Set(seeds).size).toBe(4);
    expect(new OpenAiEs({ x0: [1, 2, 3], seed: 9, pairs: 4 }).candidateSeeds()).toEqual(seeds);
    es.tell(xs, xs.map(sphere));
    expect(es.candidateSeeds()).not.toEqual(seeds);
  });

  it('pairs with a non-finite member are dropped from raw differences (and counted)', () => {
    const a = new OpenAiEs({ x0: [1, 1], seed: 3, pairs: 3 });
    const b = new OpenAiEs({ x0: [1, 1], seed: 3, pairs: 3 });
    const xs = a.ask();
    b.ask();
    const fs = xs.map(sphere);
    a.tell(xs, [fs[0]!, NaN, ...fs.slice(2)]);
    // reference: the same estimate from pairs 1 and 2 only, computed by hand
    const g = new Float64Array(2);
    for (const k of [1, 2]) {
      for (let i = 0; i < 2; i++) g[i] = g[i]! + ((fs[2 * k]! - fs[2 * k + 1]!) * (xs[2 * k]![i]! - xs[2 * k + 1]![i]!)) / (2 * 0.05);
    }
    expect(a.gradient![0]).toBeCloseTo(g[0]! / (2 * 0.05 * 2), 10);
    expect(a.state.droppedPairs).toBe(1);
    expect(a.nonFiniteEvaluations).toBe(1);
    // no usable pair: θ unchanged
    const ys = b.ask();
    b.tell(ys, ys.map(() => Infinity));
    expect(Array.from(b.mean)).toEqual([1, 1]);
  });

  it('checkpoint → JSON → restore continues bit-identically (incl. Adam moments)', () => {
    const a = new OpenAiEs({ x0: new Float64Array(7).fill(0.5), seed: 4, pairs: 3, weightDecay: 0.01, clipGradNorm: 5 });
    for (let g = 0; g < 10; g++) {
      const xs = a.ask();
      a.tell(xs, xs.map(sphere));
    }
    const text = JSON.stringify(a);
    const b = OpenAiEs.fromJSON(text);
    expect(JSON.stringify(b)).toBe(text);
    for (let g = 0; g < 10; g++) {
      const xa = a.ask();
      const xb = b.ask();
      expect(xb).toEqual(xa);
      a.tell(xa, xa.map(sphere));
      b.tell(xb, xb.map(sphere));
    }
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it('defaults are the VSML setting; bad options throw INVALID_OPTIONS', () => {
    const es = new OpenAiEs({ x0: [0], seed: 1 });
    const { n: _n, pairs: _p, momentum: _m, ...settings } = es.params;
    const { pairs: _vp, ...preset } = OPENAI_ES_VSML;
    expect(settings).toEqual(preset);
    expect(OPENAI_ES_VSML.pairs * 2).toBe(2048);
    for (const bad of [{ sigma: 0 }, { pairs: 0 }, { shaping: 'rank' }, { lr: -1 }, { beta2: 1 }, { foo: 1 }]) {
      let code: string | undefined;
      try {
        new OpenAiEs({ x0: [0], seed: 1, ...(bad as object) });
      } catch (e) {
        code = EvolveError.is(e) ? e.code : undefined;
      }
      expect(code).toBe('INVALID_OPTIONS');
    }
  });

  it('stop(): maxiter / maxfevals / ftarget', () => {
    const es = new OpenAiEs({ x0: [1, 1], seed: 1, pairs: 2, termination: { maxiter: 3, ftarget: -1 } });
    while (!es.stop()) {
      const xs = es.ask();
      es.tell(xs, xs.map(sphere));
    }
    expect(es.stop()).toEqual(['maxiter']);
    expect(es.evaluations).toBe(12);
  });
});
