/** CmaEs behaviour: run lengths (10-D), invariances, robustness, checkpoints, termination, options. */
import { Rng } from '@vsml/rng';

import type { CmaEsOptions } from '../src/index.js';
import { CmaEs, EvolveError, rankOrder, STOP_REASONS } from '../src/index.js';
import type { Fn } from './helpers.js';
import { cigar, ellipsoid, median, randomRotation, rosenbrock, rotated, runLength, sphere } from './helpers.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(EvolveError.is(e)).toBe(true);
    return (e as EvolveError).code;
  }
  return undefined;
}

function run(es: CmaEs, f: Fn, generations: number): void {
  for (let g = 0; g < generations; g++) {
    const xs = es.ask();
    es.tell(xs, xs.map(f));
  }
}

describe('run lengths, 10-D, 21 seeds (the 20-D cases and 31 seeds are in test:slow)', () => {
  // cmaes 0.13.1 column of cmaes.md §3.3: median [10–90 %]
  const cases: [string, Fn, number, number, number, number][] = [
    ['sphere', sphere, 1, 1, 1275, 1447],
    ['ellipsoid', ellipsoid, 1, 1, 3787, 4403],
    ['rosenbrock', rosenbrock, 0, 0.5, 4623, 5764],
    ['cigar', cigar, 1, 1, 3746, 4309],
  ];
  it.each(cases)('%s: median evaluations to f < 1e-8 inside the reference band', (_name, f, x0, sigma0, lo, hi) => {
    const lengths = Array.from({ length: 21 }, (_, i) => runLength(f, { n: 10, x0, sigma0, seed: i + 1 }));
    const ok = lengths.filter((v): v is number => v !== null);
    expect(ok.length).toBeGreaterThanOrEqual(20);
    const med = median(ok);
    expect(med).toBeGreaterThanOrEqual(lo);
    expect(med).toBeLessThanOrEqual(hi);
  });
});

describe('invariances (cmaes.md §3.6 item 4)', () => {
  it('monotone transforms of f (3f + 7, exp f) give bit-identical runs', () => {
    const fs: Fn[] = [sphere, (x) => 3 * sphere(x) + 7, (x) => Math.exp(sphere(x))];
    const states = fs.map((f) => {
      const es = new CmaEs({ x0: new Float64Array(10).fill(1), sigma0: 1, seed: 5 });
      run(es, f, 100);
      return es.state;
    });
    for (const s of states.slice(1)) {
      expect(s.mean).toEqual(states[0]!.mean);
      expect(s.sigma).toBe(states[0]!.sigma);
      expect(s.C).toEqual(states[0]!.C);
    }
  });

  it('a rotated ellipsoid costs < 2× the unrotated one in full mode (pycma test.py)', () => {
    const R = randomRotation(10, 99);
    const seeds = [1, 2, 3, 4, 5];
    const plain = median(seeds.map((seed) => runLength(ellipsoid, { n: 10, x0: 1, sigma0: 1, seed })!));
    const rot = median(seeds.map((seed) => runLength(rotated(ellipsoid, R), { n: 10, x0: 1, sigma0: 1, seed })!));
    expect(rot).toBeLessThan(2 * plain);
    expect(rot).toBeGreaterThan(plain / 2);
  });
});

describe('robustness (cmaes.md §3.6 item 5)', () => {
  it('ranks NaN, +∞ and −∞ worst (stable among themselves)', () => {
    expect(rankOrder([3, NaN, -Infinity, 1, Infinity, 2])).toEqual([3, 5, 0, 1, 2, 4]);
  });

  it('NaN/±∞ fitness is ranked worst, counted, and never corrupts the state', () => {
    const es = new CmaEs({ x0: new Float64Array(8).fill(1), sigma0: 1, seed: 3 });
    const bad = [NaN, Infinity, -Infinity];
    let told = 0;
    while (es.generation < 2000 && (es.best?.f ?? Infinity) > 1e-10) {
      const xs = es.ask();
      const fs = xs.map((x, k) => (k % 3 === 1 ? bad[(es.generation + k) % 3]! : sphere(x)));
      told += fs.filter((v) => !Number.isFinite(v)).length;
      es.tell(xs, fs);
    }
    expect(es.best!.f).toBeLessThanOrEqual(1e-10);
    expect(es.nonFiniteEvaluations).toBe(told);
    const s = es.state;
    expect([s.sigma, ...s.mean, ...s.C, ...s.pSigma, ...s.pC].every(Number.isFinite)).toBe(true);
  });

  it('a generation with no finite fitness leaves the distribution unchanged', () => {
    const es = new CmaEs({ x0: new Float64Array(5).fill(1), sigma0: 1, seed: 3 });
    run(es, sphere, 3);
    const before = JSON.stringify({ m: [...es.state.mean], s: es.sigma, C: [...es.state.C], p: [...es.state.pSigma] });
    const xs = es.ask();
    es.tell(xs, xs.map(() => NaN));
    expect(JSON.stringify({ m: [...es.state.mean], s: es.sigma, C: [...es.state.C], p: [...es.state.pSigma] })).toBe(before);
    expect(es.generation).toBe(4);
    expect(es.state.skipped).toBe(1);
    expect(es.evaluations).toBe(4 * es.popSize);
  });

  it('an all-equal (flat) population is handled and reported as tolflatfitness', () => {
    for (const diagonal of [false, true]) {
      const es = new CmaEs({ x0: new Float64Array(6).fill(0), sigma0: 1, seed: 2, diagonal });
      run(es, () => 42, 20);
      const s = es.state;
      expect([s.sigma, ...s.mean, ...s.C].every(Number.isFinite)).toBe(true);
      expect(es.stop()).toContain('tolflatfitness');
    }
  });

  it.each([16, 64, 128])('custom λ = %i: weights recomputed, 10-D sphere solved', (popSize) => {
    const es = new CmaEs({ x0: new Float64Array(10).fill(1), sigma0: 1, seed: 1, popSize });
    expect(es.popSize).toBe(popSize);
    expect(es.params.weights).toHaveLength(popSize);
    while (!es.stop() && (es.best?.f ?? Infinity) > 1e-8) run(es, sphere, 1);
    expect(es.best!.f).toBeLessThanOrEqual(1e-8);
  });

  it('sep-CMA solves a separable 100-D ellipsoid (cmaes.md §3.6 item 3)', () => {
    const evals = runLength(ellipsoid, { n: 100, x0: 1, sigma0: 1, seed: 1, diagonal: true }, 1e-8, 3e5);
    expect(evals).not.toBeNull();
    // full CMA needs ~1e6 evaluations here (C has to learn 100 variances at c_μ ≈ 6e-4)
    expect(evals!).toBeLessThan(1.5e5);
  });

  it('full mode at n = 100 refreshes the eigendecomposition every ⌈lazy gap⌉ generations', () => {
    const es = new CmaEs({ x0: new Float64Array(100).fill(1), sigma0: 1, seed: 1 });
    const gap = es.params.lazyGap;
    expect(gap).toBeGreaterThan(1);
    const refreshed: number[] = [];
    for (let g = 0; g < 8; g++) {
      const before = es.state.eigenGeneration;
      run(es, sphere, 1);
      if (es.state.eigenGeneration !== before) refreshed.push(es.generation);
    }
    const step = Math.ceil(gap);
    expect(refreshed).toEqual(Array.from({ length: Math.floor(8 / step) }, (_, i) => (i + 1) * step));
  });
});

describe('checkpoints', () => {
  it.each([
    ['full', { x0: new Float64Array(5).fill(0.7), sigma0: 0.5, seed: 11, popSize: 7 }],
    ['sep', { x0: new Float64Array(7).fill(-1), sigma0: 2, seed: 12, popSize: 9, diagonal: true }],
  ] as [string, CmaEsOptions][])('%s: checkpoint → JSON text → restore continues bit-identically', (_m, options) => {
    const a = new CmaEs(options);
    run(a, rosenbrock, 30);
    const text = JSON.stringify(a);
    const b = CmaEs.fromJSON(JSON.parse(text));
    expect(JSON.stringify(b)).toBe(text);
    for (let g = 0; g < 30; g++) {
      const xa = a.ask();
      const xb = b.ask();
      expect(xb).toEqual(xa);
      a.tell(xa, xa.map(rosenbrock));
      b.tell(xb, xb.map(rosenbrock));
    }
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(b.stop()).toEqual(a.stop());
    expect(CmaEs.fromJSON(JSON.stringify(a)).best).toEqual(a.best);
  });

  it('the odd-count Box–Muller spare is part of the generator state', () => {
    const a = new CmaEs({ x0: [0, 0, 0], sigma0: 1, seed: 1, popSize: 3 }); // 9 normals per generation
    run(a, sphere, 1);
    expect(a.state.rng.spare).not.toBeNull();
    expect(CmaEs.fromJSON(a.toJSON()).ask()).toEqual(a.ask());
  });

  it('rejects foreign or broken checkpoints with INVALID_CHECKPOINT', () => {
    const good = new CmaEs({ x0: [1, 2], sigma0: 1, seed: 1 }).toJSON();
    expect(codeOf(() => CmaEs.fromJSON('not json'))).toBe('INVALID_CHECKPOINT');
    expect(codeOf(() => CmaEs.fromJSON({ ...good, format: 'other' }))).toBe('INVALID_CHECKPOINT');
    expect(codeOf(() => CmaEs.fromJSON({ ...good, version: 2 }))).toBe('INVALID_CHECKPOINT');
    expect(codeOf(() => CmaEs.fromJSON({ ...good, state: { ...good.state, pC: [1] } }))).toBe('INVALID_CHECKPOINT');
    expect(codeOf(() => CmaEs.fromJSON({ ...good, state: { ...good.state, rng: null } }))).toBe('INVALID_CHECKPOINT');
  });

  it('an instance with an injected normal stream cannot be saved (NOT_SERIALISABLE)', () => {
    const es = new CmaEs({ x0: [1, 2], sigma0: 1, seed: 1, normalSource: () => 0.5 });
    expect(codeOf(() => es.toJSON())).toBe('NOT_SERIALISABLE');
  });
});

describe('termination (pycma names)', () => {
  const stopAfter = (es: CmaEs, f: Fn, maxGen = 20000): string[] => {
    while (es.generation < maxGen) {
      run(es, f, 1);
      const s = es.stop();
      if (s) return s;
    }
    throw new Error('did not stop');
  };

  it('converging on the sphere ends with tolfun / tolx-type reasons; all names are pycma names', () => {
    const es = new CmaEs({ x0: new Float64Array(5).fill(1), sigma0: 1, seed: 1 });
    const reasons = stopAfter(es, sphere);
    expect(reasons.some((r) => ['tolfun', 'tolfunhist', 'tolx'].includes(r))).toBe(true);
    expect(reasons.every((r) => (STOP_REASONS as readonly string[]).includes(r))).toBe(true);
    expect(es.best!.f).toBeLessThan(1e-10);
  });

  it('tolfunhist when tolfun and tolx are off', () => {
    const es = new CmaEs({ x0: new Float64Array(4).fill(1), sigma0: 1, seed: 1, termination: { tolfun: 0, tolx: 0 } });
    expect(stopAfter(es, sphere)).toContain('tolfunhist');
  });

  it('maxiter, maxfevals and ftarget', () => {
    expect(stopAfter(new CmaEs({ x0: [1, 1], sigma0: 1, seed: 1, termination: { maxiter: 7 } }), sphere)).toEqual(['maxiter']);
    const es = new CmaEs({ x0: [1, 1], sigma0: 1, seed: 1, termination: { maxfevals: 30 } });
    expect(stopAfter(es, sphere)).toEqual(['maxfevals']);
    expect(es.evaluations).toBe(30);
    expect(stopAfter(new CmaEs({ x0: [1, 1], sigma0: 1, seed: 1, termination: { ftarget: 1e-3 } }), sphere)).toEqual(['ftarget']);
  });

  it('tolfacupx when σ0 is far too small on a slope', () => {
    const es = new CmaEs({ x0: [0, 0, 0], sigma0: 1e-6, seed: 1 });
    expect(stopAfter(es, (x) => x[0]!)).toContain('tolfacupx');
    const maxStd = Math.sqrt(Math.max(...[0, 4, 8].map((i) => es.state.C[i]!)));
    expect(es.sigma * maxStd).toBeGreaterThan(1e3 * 1e-6);
  });

  it('tolconditioncov when C becomes too ill-conditioned', () => {
    const es = new CmaEs({ x0: new Float64Array(6).fill(1), sigma0: 1, seed: 1, termination: { tolconditioncov: 1e4 } });
    expect(stopAfter(es, ellipsoid)).toContain('tolconditioncov');
  });

  it('noeffectcoord / noeffectaxis when σ is below the resolution of the mean', () => {
    const es = new CmaEs({ x0: new Float64Array(4).fill(1e20), sigma0: 1, seed: 1 });
    const reasons = stopAfter(es, (x) => sphere(x.map((v) => v - 1e20)));
    expect(reasons).toContain('noeffectcoord');
    expect(reasons).toContain('noeffectaxis');
  });

  it('tolstagnation on pure noise', () => {
    const noise = Rng.fromSeed(77);
    const es = new CmaEs({ x0: [0, 0], sigma0: 1, seed: 1 });
    expect(stopAfter(es, () => noise.float(), 5000)).toContain('tolstagnation');
  });
});

describe('options and tell() checks', () => {
  it('rejects bad options with INVALID_OPTIONS', () => {
    const ok = { x0: [1, 2], sigma0: 1, seed: 1 };
    expect(codeOf(() => new CmaEs({ ...ok, sigma0: 0 }))).toBe('INVALID_OPTIONS');
    expect(codeOf(() => new CmaEs({ ...ok, x0: [] }))).toBe('INVALID_OPTIONS');
    expect(codeOf(() => new CmaEs({ ...ok, x0: [1, NaN] }))).toBe('INVALID_OPTIONS');
    expect(codeOf(() => new CmaEs({ ...ok, seed: 1.5 }))).toBe('INVALID_OPTIONS');
    expect(codeOf(() => new CmaEs({ ...ok, popSize: 1 }))).toBe('INVALID_OPTIONS');
    expect(codeOf(() => new CmaEs({ ...ok, sigma: 1 } as unknown as CmaEsOptions))).toBe('INVALID_OPTIONS');
    expect(codeOf(() => new CmaEs({ ...ok, termination: { tolfn: 1 } as never }))).toBe('INVALID_OPTIONS');
  });

  it('rejects a population of the wrong size, dimension or with non-finite entries (INVALID_POPULATION)', () => {
    const es = new CmaEs({ x0: [1, 2, 3], sigma0: 1, seed: 1 });
    const xs = es.ask();
    expect(codeOf(() => es.tell(xs.slice(1), xs.slice(1).map(sphere)))).toBe('INVALID_POPULATION');
    expect(codeOf(() => es.tell(xs, xs.slice(1).map(sphere)))).toBe('INVALID_POPULATION');
    expect(codeOf(() => es.tell([new Float64Array(2), ...xs.slice(1)], xs.map(sphere)))).toBe('INVALID_POPULATION');
    const withNaN = xs.map((x) => Float64Array.from(x));
    withNaN[0]![1] = NaN;
    expect(codeOf(() => es.tell(withNaN, xs.map(sphere)))).toBe('INVALID_POPULATION');
    expect(es.generation).toBe(0);
  });

  it('mean is a copy; best never holds a non-finite value', () => {
    const es = new CmaEs({ x0: [1, 2], sigma0: 1, seed: 1 });
    es.mean[0] = 99;
    expect(es.mean[0]).toBe(1);
    expect(es.best).toBeNull();
    const xs = es.ask();
    es.tell(xs, xs.map(() => -Infinity));
    expect(es.best).toBeNull();
  });
});
