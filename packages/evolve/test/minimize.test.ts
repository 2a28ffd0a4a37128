/** minimize(): IPOP restarts (λ doubling), progress callback, budgets, async objectives. */
import type { MinimizeProgress } from '../src/index.js';
import { minimize } from '../src/index.js';
import { rastrigin, sphere } from './helpers.js';

/** cmaes.md §3.4 protocol: x0 ~ U[-4, 4]^n per restart, σ0 = 2, target 1e-8, at most 9 restarts. */
const rastriginProtocol = (seed: number) =>
  minimize(rastrigin, {
    x0: ({ rng }) => Float64Array.from({ length: 10 }, () => rng.uniform(-4, 4)),
    sigma0: 2,
    seed,
    ftarget: 1e-8,
    restarts: 9,
  });

describe('IPOP', () => {
  it.each([1, 2, 3])('solves 10-D Rastrigin (seed %i); λ doubles at every restart', async (seed) => {
    const r = await rastriginProtocol(seed);
    expect(r.success).toBe(true);
    expect(r.f).toBeLessThanOrEqual(1e-8);
    expect(r.stop).toEqual(['ftarget']);
    r.runs.forEach((run, i) => expect(run.popSize).toBe(10 * 2 ** i));
    expect(r.runs.reduce((s, run) => s + run.evaluations, 0)).toBe(r.evaluations);
    expect(r.runs.length).toBeGreaterThan(1); // the default-λ run alone practically never solves it
  });

  it('reports progress after every generation and stops when the callback returns false', async () => {
    const seen: MinimizeProgress[] = [];
    const r = await minimize(rastrigin, {
      x0: new Float64Array(5).fill(3),
      sigma0: 1,
      seed: 1,
      onProgress: (p) => {
        seen.push(p);
        return p.evaluations < 500;
      },
    });
    expect(r.stop).toEqual(['callback']);
    expect(seen.at(-1)!.evaluations).toBeGreaterThanOrEqual(500);
    expect(seen.every((p, i) => i === 0 || p.evaluations > seen[i - 1]!.evaluations)).toBe(true);
    expect(seen.every((p) => p.best <= p.runBest)).toBe(true);
  });

  it('restarts: 0 makes a single run; maxfevals caps the total (checked after each generation)', async () => {
    const single = await minimize(rastrigin, { x0: new Float64Array(4).fill(3), sigma0: 0.1, seed: 2, restarts: 0 });
    expect(single.runs).toHaveLength(1);
    expect(single.stop).toEqual(['restarts']);
    const capped = await minimize(rastrigin, { x0: new Float64Array(4).fill(3), sigma0: 0.1, seed: 2, maxfevals: 1000 });
    expect(capped.stop).toContain('maxfevals');
    expect(capped.evaluations).toBeGreaterThanOrEqual(1000);
    expect(capped.evaluations).toBeLessThan(1000 + capped.runs.at(-1)!.popSize);
  });

  it('accepts async objectives and sep mode; same seed, same result', async () => {
    const opts = { x0: [2, 2, 2, 2, 2], sigma0: 1, seed: 7, ftarget: 1e-10, diagonal: true } as const;
    const a = await minimize(async (x) => sphere(x), opts);
    const b = await minimize(sphere, opts);
    expect(a.success).toBe(true);
    expect(a.best!.x).toEqual(b.best!.x);
    expect(a.evaluations).toBe(b.evaluations);
  });
});
