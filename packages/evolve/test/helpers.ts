/** Test functions of cmaes.md §3.1 and small helpers shared by the tests. */
import { CmaEs } from '../src/index.js';
import { Rng } from '@vsml/rng';

export type Fn = (x: Float64Array) => number;

export const sphere: Fn = (x) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return s;
};

export const ellipsoid: Fn = (x) => {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += 10 ** ((6 * i) / (n - 1)) * x[i]! * x[i]!;
  return s;
};

export const cigar: Fn = (x) => {
  let s = x[0]! * x[0]!;
  for (let i = 1; i < x.length; i++) s += 1e6 * x[i]! * x[i]!;
  return s;
};

export const rosenbrock: Fn = (x) => {
  let s = 0;
  for (let i = 0; i < x.length - 1; i++) {
    const a = x[i]! * x[i]! - x[i + 1]!;
    const b = x[i]! - 1;
    s += 100 * a * a + b * b;
  }
  return s;
};

export const rastrigin: Fn = (x) => {
  let s = 10 * x.length;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]! - 10 * Math.cos(2 * Math.PI * x[i]!);
  return s;
};

/** A random orthogonal n×n matrix (Gram–Schmidt on Gaussian columns), row-major. */
export function randomRotation(n: number, seed: number): Float64Array {
  const rng = Rng.fromSeed(seed);
  const cols: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const v = rng.fillNormal(new Float64Array(n));
    for (const c of cols) {
      let d = 0;
      for (let i = 0; i < n; i++) d += c[i]! * v[i]!;
      for (let i = 0; i < n; i++) v[i] = v[i]! - d * c[i]!;
    }
    let nv = 0;
    for (let i = 0; i < n; i++) nv += v[i]! * v[i]!;
    nv = Math.sqrt(nv);
    for (let i = 0; i < n; i++) v[i] = v[i]! / nv;
    cols.push(v);
  }
  const R = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) R[i * n + j] = cols[j]![i]!;
  return R;
}

/** f(R x). */
export function rotated(f: Fn, R: Float64Array): Fn {
  return (x) => {
    const n = x.length;
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += R[i * n + j]! * x[j]!;
      y[i] = s;
    }
    return f(y);
  };
}

export function median(a: readonly number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** p-quantile by linear interpolation (numpy's default). */
export function quantile(a: readonly number[], p: number): number {
  const s = [...a].sort((x, y) => x - y);
  const h = (s.length - 1) * p;
  const lo = Math.floor(h);
  return s[lo]! + (h - lo) * ((s[Math.min(lo + 1, s.length - 1)] ?? s[lo]!) - s[lo]!);
}

/**
 * Evaluations until the first f < target (counted in sampling order, cmaes.md §3.3), or null if the run stopped or the
 * budget ran out first.
 */
export function runLength(
  f: Fn,
  options: { n: number; x0: number; sigma0: number; seed: number; diagonal?: boolean; popSize?: number },
  target = 1e-8,
  budget = 1e6,
  make: (o: ConstructorParameters<typeof CmaEs>[0]) => CmaEs = (o) => new CmaEs(o),
): number | null {
  const es = make({
    x0: new Float64Array(options.n).fill(options.x0),
    sigma0: options.sigma0,
    seed: options.seed,
    ...(options.diagonal === undefined ? {} : { diagonal: options.diagonal }),
    ...(options.popSize === undefined ? {} : { popSize: options.popSize }),
  });
  while (es.evaluations < budget) {
    const xs = es.ask();
    const fs = xs.map(f);
    const k = fs.findIndex((v) => v < target);
    if (k >= 0) return es.evaluations + k + 1;
    es.tell(xs, fs);
    if (es.stop()) return null;
  }
  return null;
}
