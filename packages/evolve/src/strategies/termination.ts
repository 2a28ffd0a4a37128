/**
 * Termination criteria of CMA-ES under pycma's names and defaults (cmaes.md §3.6 item 6). `stop()` returns the
 * names of all criteria that hold; none of them changes the state.
 */
import type { CmaesParams } from './cmaes-params.js';
import { defaultMaxIter } from './cmaes-params.js';
import type { CovarianceState } from './covariance.js';

/** The reasons `stop()` can return. */
export const STOP_REASONS = [
  'ftarget',
  'maxfevals',
  'maxiter',
  'tolfun',
  'tolfunhist',
  'tolx',
  'tolconditioncov',
  'tolstagnation',
  'tolflatfitness',
  'tolfacupx',
  'tolupsigma',
  'noeffectaxis',
  'noeffectcoord',
] as const;

/** A termination reason (pycma's option name). */
export type StopReason = (typeof STOP_REASONS)[number];

/** Termination settings; every field is optional in the constructor options and has pycma's default. */
export interface TerminationOptions {
  /** stop when the best f ≤ ftarget (default −∞: off) */
  readonly ftarget: number;
  /** stop after this many evaluations (default ∞) */
  readonly maxfevals: number;
  /** stop after this many generations (default 100 + 150 (n+3)²/√λ) */
  readonly maxiter: number;
  /** range of f over the current population and the recent best history below this (default 1e-11) */
  readonly tolfun: number;
  /** range of the recent best-of-generation history below this (default 1e-12) */
  readonly tolfunhist: number;
  /** all σ√C_ii and σ|p_c,i| below this (default 1e-11) */
  readonly tolx: number;
  /** condition number of C above this (default 1e14) */
  readonly tolconditioncov: number;
  /** no improvement of the median and best f over this many iterations, roughly (default 100 + 100 n^1.5/λ) */
  readonly tolstagnation: number;
  /** generations in a row with flat fitness (best = the ⌈λ/4⌉-th best) (default 1) */
  readonly tolflatfitness: number;
  /** σ·max√C_ii grew by this factor over σ0: σ0 far too small (default 1e3) */
  readonly tolfacupx: number;
  /** σ/max(D) grew by this factor over σ0 (default 1e20) */
  readonly tolupsigma: number;
  /** check that adding 0.1σ D_i b_i (one principal axis per generation) changes the mean (default true) */
  readonly noeffectaxis: boolean;
  /** check that adding 0.2σ√C_ii changes every coordinate of the mean (default true) */
  readonly noeffectcoord: boolean;
}

/** Resolves user settings against the defaults for dimension n and population size λ. */
export function terminationDefaults(n: number, lambda: number, user: Partial<TerminationOptions> = {}): TerminationOptions {
  return {
    ftarget: -Infinity,
    maxfevals: Infinity,
    maxiter: defaultMaxIter(n, lambda),
    tolfun: 1e-11,
    tolfunhist: 1e-12,
    tolx: 1e-11,
    tolconditioncov: 1e14,
    tolstagnation: Math.floor(100 + (100 * n ** 1.5) / lambda),
    tolflatfitness: 1,
    tolfacupx: 1e3,
    tolupsigma: 1e20,
    noeffectaxis: true,
    noeffectcoord: true,
    ...user,
  };
}

/** The fitness records the criteria read (plain data, oldest entries first). */
export interface FitnessHistory {
  /** best finite f of each of the last 10 + ⌈30n/λ⌉ generations (tolfun, tolfunhist) */
  best: number[];
  /** best finite f per generation for tolstagnation (at most 120 + 30n/λ + 0.2·generation entries) */
  stagBest: number[];
  /** median f per generation for tolstagnation */
  stagMedian: number[];
  /** f_worst − f_best of the last population (NaN when it had a non-finite value, or before the first one) */
  range: number;
  /** best − the ⌈0.1 + λ/4⌉-th best of the last population was 0 this many generations in a row */
  flat: number;
}

export function initHistory(): FitnessHistory {
  return { best: [], stagBest: [], stagMedian: [], range: NaN, flat: 0 };
}

/** Records one generation; `sorted` is the fitness in rank order with non-finite values mapped to +∞. */
export function recordGeneration(h: FitnessHistory, p: CmaesParams, sorted: readonly number[], generation: number): void {
  const lam = sorted.length;
  const best = sorted[0]!;
  h.range = Number.isFinite(sorted[lam - 1]!) ? sorted[lam - 1]! - best : NaN;
  const flatIndex = Math.min(lam - 1, Math.ceil(0.1 + lam / 4));
  h.flat = best === sorted[flatIndex]! ? h.flat + 1 : 0;
  if (!Number.isFinite(best)) return; // nothing finite to record this generation
  h.best.push(best);
  if (h.best.length > 10 + Math.ceil((30 * p.n) / p.lambda)) h.best.shift();
  const mid = sorted[Math.floor(lam / 2)]!;
  const median = lam % 2 === 1 ? mid : (mid + sorted[lam / 2 - 1]!) / 2;
  h.stagBest.push(best);
  h.stagMedian.push(median);
  while (h.stagBest.length > 120 + (30 * p.n) / p.lambda + 0.2 * generation) {
    h.stagBest.shift();
    h.stagMedian.shift();
  }
}

function median(a: readonly number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** What the criteria read from the CMA-ES state. */
export interface StopInput {
  readonly p: CmaesParams;
  readonly opts: TerminationOptions;
  readonly mean: Float64Array;
  readonly sigma: number;
  readonly sigma0: number;
  readonly pC: Float64Array;
  readonly cov: CovarianceState;
  readonly generation: number;
  readonly evaluations: number;
  readonly bestF: number;
  readonly history: FitnessHistory;
}

/** All criteria that hold, in {@link STOP_REASONS} order. */
export function checkStop(s: StopInput): StopReason[] {
  const { p, opts, mean, sigma, sigma0, pC, cov, history: h } = s;
  const n = p.n;
  const diag = cov.B.length === 0;
  const out: StopReason[] = [];
  const cii = (i: number): number => (diag ? cov.C[i]! : cov.C[i * n + i]!);
  let maxD = 0;
  let minD = Infinity;
  for (let i = 0; i < n; i++) {
    maxD = Math.max(maxD, cov.D[i]!);
    minD = Math.min(minD, cov.D[i]!);
  }
  let maxStd = 0;
  for (let i = 0; i < n; i++) maxStd = Math.max(maxStd, Math.sqrt(cii(i)));

  if (s.bestF <= opts.ftarget) out.push('ftarget');
  if (s.evaluations >= opts.maxfevals) out.push('maxfevals');
  if (s.generation >= opts.maxiter) out.push('maxiter');
  if (s.generation > 0) {
    const hb = h.best;
    const histRange = hb.length > 0 ? Math.max(...hb) - Math.min(...hb) : NaN;
    if (h.range < opts.tolfun && histRange < opts.tolfun) out.push('tolfun');
    if (hb.length > 9 && histRange < opts.tolfunhist) out.push('tolfunhist');
    let tolx = true;
    for (let i = 0; i < n && tolx; i++) {
      tolx = sigma * Math.sqrt(cii(i)) < opts.tolx && sigma * Math.abs(pC[i]!) < opts.tolx;
    }
    if (tolx) out.push('tolx');
    if (maxD > Math.sqrt(opts.tolconditioncov) * minD) out.push('tolconditioncov');
    const len = h.stagBest.length;
    const l = Math.floor(Math.max(opts.tolstagnation / 20, len / 10));
    if (
      s.generation > n * (5 + 100 / p.lambda) &&
      len > 100 &&
      2 * l < len &&
      median(h.stagMedian.slice(len - l)) >= median(h.stagMedian.slice(0, l)) &&
      median(h.stagBest.slice(len - l)) >= median(h.stagBest.slice(0, l))
    ) {
      out.push('tolstagnation');
    }
    if (h.flat >= opts.tolflatfitness) out.push('tolflatfitness');
    if (sigma * maxStd > sigma0 * opts.tolfacupx) out.push('tolfacupx');
    if (sigma / maxD > sigma0 * opts.tolupsigma) out.push('tolupsigma');
    if (opts.noeffectaxis && !diag) {
      const a = s.generation % n;
      let same = true;
      for (let j = 0; j < n && same; j++) same = mean[j]! + 0.1 * sigma * cov.D[a]! * cov.B[j * n + a]! === mean[j]!;
      if (same) out.push('noeffectaxis');
    }
    if (opts.noeffectcoord) {
      for (let i = 0; i < n; i++) {
        if (mean[i]! + 0.2 * sigma * Math.sqrt(cii(i)) === mean[i]!) {
          out.push('noeffectcoord');
          break;
        }
      }
    }
  }
  return out;
}
