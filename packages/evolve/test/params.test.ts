/**
 * Strategy parameters (cmaes.md §1.3, §2.1, §3.6 item 1): the golden table at its printed precision, the numpy
 * reference (scripts/cmaes_reference.py → test/data/cmaes-golden.json) to 1e-10 relative, and the weight invariants.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { cmaesParams, defaultMaxIter, defaultPopSize, sumWeights } from '../src/index.js';

// cmaes.md §1.3, verbatim: n, λ, μ, μ_eff, c_1, c_μ, c_σ, d_σ, c_c, w_1, w_λ, Σw
const TABLE = `
10 | 10 | 5 | 3.16730 | 0.0152838 | 0.0201543 | 0.284429 | 1.28443 | 0.294990 | 0.456273 | −0.586222 | −0.758341
10 | 16 | 8 | 4.84091 | 0.0150908 | 0.0409496 | 0.344788 | 1.34479 | 0.299575 | 0.328436 | −0.293757 | −0.368522
10 | 64 | 32 | 17.6217 | 0.0137635 | 0.194014 | 0.601492 | 2.05999 | 0.328809 | 0.116657 | −0.0226611 | +0.591666
20 | 12 | 6 | 3.72946 | 0.00437235 | 0.0081914 | 0.199428 | 1.19943 | 0.171767 | 0.402403 | −0.431924 | −0.533774
20 | 128 | 64 | 34.1787 | 0.00409946 | 0.124312 | 0.611346 | 2.12526 | 0.208219 | 0.0677524 | −0.00977851 | +0.649435
3000 | 28 | 14 | 8.10586 | 2.2203e-7 | 1.38243e-6 | 0.00335397 | 1.00335 | 0.00133245 | 0.218354 | −0.145187 | −0.160608
3000 | 16 | 8 | 4.84091 | 2.2203e-7 | 6.76317e-7 | 0.00227285 | 1.00227 | 0.00133209 | 0.328436 | −0.285121 | −0.328292
3000 | 128 | 64 | 34.1787 | 2.22029e-7 | 7.14776e-6 | 0.0119041 | 1.0119 | 0.00133534 | 0.0677524 | −0.02876 | −0.0310627`;

/** Half a unit in the last printed digit, relative to the value (e.g. '0.0152838' → 0.5e-7 / 0.0152838). */
function printedTolerance(text: string): number {
  const t = text.replace('−', '-').replace('+', '');
  const [mant, exp] = t.toLowerCase().split('e') as [string, string | undefined];
  const decimals = (mant.split('.')[1] ?? '').length;
  return (0.5 * 10 ** (-decimals + Number(exp ?? 0))) / Math.abs(Number(t));
}

const rows = TABLE.trim()
  .split('\n')
  .map((line) => line.split('|').map((c) => c.trim()));

describe('golden parameters of cmaes.md §1.3 (full mode, tutorial set, active weights)', () => {
  it.each(rows.map((r) => [r[0], r[1], r] as const))('n=%s λ=%s at the printed precision', (_n, _l, r) => {
    const n = Number(r[0]);
    const lambda = Number(r[1]);
    const p = cmaesParams(n, { popSize: lambda });
    expect(p.mu).toBe(Number(r[2]));
    const got = [p.muEff, p.c1, p.cMu, p.cSigma, p.dSigma, p.cC, p.weights[0]!, p.weights[lambda - 1]!, sumWeights(p)];
    got.forEach((v, i) => {
      const text = r[i + 3]!;
      const want = Number(text.replace('−', '-'));
      expect(Math.abs(v - want) / Math.abs(want)).toBeLessThanOrEqual(printedTolerance(text) * 1.0001);
    });
  });

  it('E‖N(0,I)‖ matches 3.08473 (n=10), 4.41677 (n=20), 54.7677 (n=3000)', () => {
    expect(cmaesParams(10).chiN).toBeCloseTo(3.08473, 5);
    expect(cmaesParams(20).chiN).toBeCloseTo(4.41677, 5);
    expect(cmaesParams(3000).chiN).toBeCloseTo(54.7677, 4);
  });
});

interface GoldenRow {
  n: number;
  popSize: number;
  diagonal: boolean;
  mu: number;
  muEff: number;
  c1: number;
  cMu: number;
  cSigma: number;
  dSigma: number;
  cC: number;
  chiN: number;
  weights: number[];
  sumWeights: number;
}
const golden = JSON.parse(readFileSync(join(__dirname, 'data', 'cmaes-golden.json'), 'utf8')) as { rows: GoldenRow[] };

describe('golden parameters from the numpy reference, to 1e-10 relative', () => {
  it.each(golden.rows.map((g) => [g.diagonal ? 'sep' : 'full', g.n, g.popSize, g] as const))('%s n=%i λ=%i', (_m, _n, _l, g) => {
    const p = cmaesParams(g.n, { popSize: g.popSize, diagonal: g.diagonal });
    const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
    expect(p.mu).toBe(g.mu);
    for (const k of ['muEff', 'c1', 'cMu', 'cSigma', 'dSigma', 'cC', 'chiN'] as const) {
      expect(rel(p[k], g[k])).toBeLessThan(1e-10);
    }
    expect(rel(sumWeights(p), g.sumWeights)).toBeLessThan(1e-10);
    p.weights.forEach((w, i) => expect(rel(w, g.weights[i]!)).toBeLessThan(1e-10));
  });
});

describe('weight invariants (cmaes.md §3.6 item 1)', () => {
  it.each([
    [10, 10],
    [10, 16],
    [10, 64],
    [20, 128],
    [3000, 28],
    [7, 11],
  ])('n=%i λ=%i: Σw⁺ = 1, weights decrease, α⁻ respected', (n, lambda) => {
    const p = cmaesParams(n, { popSize: lambda });
    const pos = p.weights.slice(0, p.mu);
    const neg = p.weights.slice(p.mu);
    expect(pos.reduce((s, w) => s + w, 0)).toBeCloseTo(1, 14);
    for (let i = 1; i < lambda; i++) expect(p.weights[i]!).toBeLessThanOrEqual(p.weights[i - 1]!);
    expect(neg.every((w) => w <= 0)).toBe(true);
    const alphaMu = 1 + p.c1 / p.cMu;
    const alphaMuEff = 1 + (2 * p.muEffMinus) / (p.muEff + 2);
    const alphaPosDef = (1 - p.c1 - p.cMu) / (n * p.cMu);
    const negSum = -neg.reduce((s, w) => s + w, 0);
    expect(negSum).toBeCloseTo(Math.min(alphaMu, alphaMuEff, alphaPosDef), 12);
  });

  it('n=10, λ=10: α⁻_μ binds, so c_1 + c_μ Σw = 0 (no decay of C)', () => {
    const p = cmaesParams(10, { popSize: 10 });
    expect(p.c1 + p.cMu * sumWeights(p)).toBeCloseTo(0, 15);
  });

  it('n=10, λ=64: α⁻_posdef binds (Σw > 0)', () => {
    const p = cmaesParams(10, { popSize: 64 });
    const negSum = -p.weights.slice(p.mu).reduce((s, w) => s + w, 0);
    expect(negSum).toBeCloseTo((1 - p.c1 - p.cMu) / (10 * p.cMu), 12);
    expect(sumWeights(p)).toBeGreaterThan(0);
  });

  it('active: false gives zero negative weights', () => {
    const p = cmaesParams(10, { popSize: 10, active: false });
    expect(p.weights.slice(p.mu).every((w) => w === 0)).toBe(true);
  });
});

describe('defaults', () => {
  it('λ = 4 + ⌊3 ln n⌋, maxiter = 100 + 150 (n+3)²/√λ, lazy gap 1/(10 n (c_1 + c_μ))', () => {
    expect([2, 10, 20, 100, 3000].map(defaultPopSize)).toEqual([6, 10, 12, 17, 28]);
    expect(defaultMaxIter(10, 10)).toBeCloseTo(100 + (150 * 169) / Math.sqrt(10), 10);
    const p = cmaesParams(3000);
    expect(p.lazyGap).toBeCloseTo(1 / (10 * 3000 * (p.c1 + p.cMu)), 12);
    expect(p.lazyGap).toBeGreaterThan(15); // ~20 generations at n = 3000, λ = 28 (cmaes.md §2.2)
    expect(cmaesParams(10).lazyGap).toBeLessThan(1);
  });

  it('sep rates at n = 3000, λ = 28 match cmaes.md §2.1 (pycma: 3.22e-4 / 2.01e-3 / 0.0183)', () => {
    const p = cmaesParams(3000, { popSize: 28, diagonal: true });
    expect(p.c1).toBeCloseTo(3.22e-4, 6);
    expect(p.cMu).toBeCloseTo(2.01e-3, 5);
    expect(p.cC).toBeCloseTo(0.0183, 4);
    // c_σ, d_σ and the weights are the full-mode ones
    const full = cmaesParams(3000, { popSize: 28 });
    expect(p.cSigma).toBe(full.cSigma);
    expect(p.dSigma).toBe(full.dSigma);
    expect(p.weights.slice(0, p.mu)).toEqual(full.weights.slice(0, full.mu));
  });
});
