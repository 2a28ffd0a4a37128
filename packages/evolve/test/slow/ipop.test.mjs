// cmaes.md §3.4: IPOP-CMA-ES on 10-D Rastrigin, x0 ~ U[-4, 4]^10 per restart, σ0 = 2, target 1e-8, at most 9
// restarts with λ doubling. The references solved every run; so must we (21 seeds).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { minimize } from '../../dist/index.js';
import { quantile, rastrigin } from './functions.mjs';

test('IPOP solves 10-D Rastrigin in 21 of 21 seeded runs', async () => {
  const results = [];
  for (let seed = 1; seed <= 21; seed++) {
    const r = await minimize(rastrigin, {
      x0: ({ rng }) => Float64Array.from({ length: 10 }, () => rng.uniform(-4, 4)),
      sigma0: 2,
      seed,
      ftarget: 1e-8,
      restarts: 9,
    });
    results.push(r);
  }
  const evals = results.map((r) => r.evaluations);
  const lambdas = results.map((r) => r.runs.at(-1).popSize);
  const hist = {};
  for (const l of lambdas) hist[l] = (hist[l] ?? 0) + 1;
  console.log(
    `IPOP 10-D Rastrigin: ${results.filter((r) => r.success).length}/21 solved; evaluations median ${quantile(evals, 0.5)} ` +
      `[10 %: ${Math.round(quantile(evals, 0.1))}, 90 %: ${Math.round(quantile(evals, 0.9))}]; λ of the solving run: ${JSON.stringify(hist)}`,
  );
  assert.equal(results.filter((r) => r.success).length, 21);
});
