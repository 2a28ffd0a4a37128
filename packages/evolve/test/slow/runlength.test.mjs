// cmaes.md §3.3: evaluations to f < 1e-8, seeds 1..31, x0 = 1, σ0 = 1 (Rosenbrock x0 = 0, σ0 = 0.5), default λ, full
// mode (tutorial parameters, active weights). The median over successful runs must lie in the 10–90 % band of the
// cmaes 0.13.1 column (the tutorial parameter set).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { cigar, ellipsoid, quantile, rosenbrock, runLength, sphere } from './functions.mjs';

const SEEDS = Array.from({ length: 31 }, (_, i) => i + 1);
const CASES = [
  // name, f, n, x0, σ0, reference median, 10 %, 90 %, reference successes
  ['sphere', sphere, 10, 1, 1, 1353, 1275, 1447, 31],
  ['sphere', sphere, 20, 1, 1, 2618, 2511, 2763, 31],
  ['ellipsoid', ellipsoid, 10, 1, 1, 4122, 3787, 4403, 31],
  ['ellipsoid', ellipsoid, 20, 1, 1, 13106, 12830, 13659, 31],
  ['rosenbrock', rosenbrock, 10, 0, 0.5, 5057, 4623, 5764, 31],
  ['rosenbrock', rosenbrock, 20, 0, 0.5, 17109, 15764, 18261, 28],
  ['cigar', cigar, 10, 1, 1, 3995, 3746, 4309, 31],
  ['cigar', cigar, 20, 1, 1, 8141, 7902, 8355, 31],
];

const rows = [];
for (const [name, f, n, x0, sigma0, refMed, lo, hi, refOk] of CASES) {
  test(`${name} ${n}-D: median run length inside the reference band [${lo}, ${hi}]`, () => {
    const ok = SEEDS.map((seed) => runLength(f, { n, x0, sigma0, seed })).filter((v) => v !== null);
    const med = quantile(ok, 0.5);
    rows.push(
      `| ${name} | ${n} | ${med} [${Math.round(quantile(ok, 0.1))}–${Math.round(quantile(ok, 0.9))}], ${ok.length}/31 | ` +
        `${refMed} [${lo}–${hi}], ${refOk}/31 | ${med >= lo && med <= hi ? 'yes' : 'NO'} |`,
    );
    assert.ok(ok.length >= Math.min(refOk, 31) - 3, `only ${ok.length}/31 runs reached the target`);
    assert.ok(med >= lo && med <= hi, `median ${med} outside [${lo}, ${hi}]`);
  });
}

test('summary', () => {
  console.log(['| function | n | ours: median [10–90 %], successes | cmaes 0.13.1 ref | inside |', '|---|---|---|---|---|', ...rows].join('\n'));
});
