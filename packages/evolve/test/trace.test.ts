/**
 * Deterministic trace test (cmaes.md §3.6 item 2): the same injected N(0,1) stream is fed to the port and to the
 * standalone numpy reference in scripts/cmaes_reference.py; m, σ, C, p_σ, p_c after generations 1, 2 and 50 must agree
 * to ~1e-10 (relative to each quantity's size).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { CmaEs } from '../src/index.js';
import { ellipsoid, rosenbrock, sphere } from './helpers.js';

interface Snapshot {
  generation: number;
  mean: number[];
  sigma: number;
  C: number[];
  p_sigma: number[];
  p_c: number[];
}
interface Trace {
  name: string;
  n: number;
  popSize: number;
  diagonal: boolean;
  f: 'rosenbrock' | 'ellipsoid' | 'sphere';
  x0: number;
  sigma0: number;
  generations: number;
  /** h_σ of every generation */
  hSigma: number[];
  z: number[];
  snapshots: Snapshot[];
}

const data = JSON.parse(readFileSync(join(__dirname, 'data', 'cmaes-trace.json'), 'utf8')) as { traces: Trace[] };
const fns = { rosenbrock, ellipsoid, sphere };

function expectClose(actual: ArrayLike<number>, expected: readonly number[], what: string): void {
  expect(actual.length).toBe(expected.length);
  const scale = Math.max(...expected.map(Math.abs), 1e-300);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / scale);
  if (worst > 1e-10) throw new Error(`${what}: max relative deviation ${worst.toExponential(2)} > 1e-10`);
}

describe.each(data.traces.map((t) => [t.name, t] as const))('trace %s', (_name, t) => {
  it('matches the numpy reference after generations 1, 2 and 50 (and h_σ in every generation)', () => {
    let pos = 0;
    const es = new CmaEs({
      x0: new Float64Array(t.n).fill(t.x0),
      sigma0: t.sigma0,
      seed: 0,
      popSize: t.popSize,
      diagonal: t.diagonal,
      normalSource: () => {
        if (pos >= t.z.length) throw new Error('stream exhausted');
        return t.z[pos++]!;
      },
    });
    const f = fns[t.f];
    const snaps = new Map(t.snapshots.map((s) => [s.generation, s]));
    let checked = 0;
    for (let g = 1; g <= t.generations; g++) {
      const xs = es.ask();
      es.tell(xs, xs.map(f));
      expect(es.state.hSigma).toBe(t.hSigma[g - 1]);
      const ref = snaps.get(g);
      if (ref === undefined) continue;
      const s = es.state;
      const where = `${t.name} g=${g}`;
      expectClose(s.mean, ref.mean, `${where} mean`);
      expectClose([s.sigma], [ref.sigma], `${where} sigma`);
      expectClose(s.C, ref.C, `${where} C`);
      expectClose(s.pSigma, ref.p_sigma, `${where} p_sigma`);
      expectClose(s.pC, ref.p_c, `${where} p_c`);
      checked++;
    }
    expect(checked).toBe(3);
    expect(pos).toBe(t.z.length);
  });
});
