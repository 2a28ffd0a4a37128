// Test functions (cmaes.md §3.1) and statistics for the slow suite, which runs under plain `node --test` against the
// built package (dist/), so it measures the shipped code at full speed.
import { CmaEs } from '../../dist/index.js';

export const sphere = (x) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
};
export const ellipsoid = (x) => {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += 10 ** ((6 * i) / (n - 1)) * x[i] * x[i];
  return s;
};
export const cigar = (x) => {
  let s = x[0] * x[0];
  for (let i = 1; i < x.length; i++) s += 1e6 * x[i] * x[i];
  return s;
};
export const rosenbrock = (x) => {
  let s = 0;
  for (let i = 0; i < x.length - 1; i++) {
    const a = x[i] * x[i] - x[i + 1];
    const b = x[i] - 1;
    s += 100 * a * a + b * b;
  }
  return s;
};
export const rastrigin = (x) => {
  let s = 10 * x.length;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i] - 10 * Math.cos(2 * Math.PI * x[i]);
  return s;
};

/** p-quantile with linear interpolation (numpy's default). */
export function quantile(a, p) {
  const s = [...a].sort((x, y) => x - y);
  const h = (s.length - 1) * p;
  const lo = Math.floor(h);
  return s[lo] + (h - lo) * ((s[Math.min(lo + 1, s.length - 1)] ?? s[lo]) - s[lo]);
}

/** Evaluations until the first f < target, counted in sampling order (cmaes.md §3.3); null if the run stopped first. */
export function runLength(f, { n, x0, sigma0, seed, diagonal = false, popSize }, target = 1e-8, budget = 1e7) {
  const es = new CmaEs({ x0: new Float64Array(n).fill(x0), sigma0, seed, diagonal, ...(popSize ? { popSize } : {}) });
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
