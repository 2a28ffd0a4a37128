/** PopulationEvaluator: worker threads (piscina), results in order, failures reported as plain data. */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { CmaEs, evaluatePopulation, EvolveError, minimize, PopulationEvaluator } from '../src/index.js';

const FIXTURE = join(__dirname, 'fixtures', 'fitness.mjs');
const pop = (k: number, n = 3): Float64Array[] => Array.from({ length: k }, (_, i) => new Float64Array(n).fill(i));

describe('PopulationEvaluator', () => {
  let pool: PopulationEvaluator;
  beforeAll(() => {
    pool = new PopulationEvaluator({ module: FIXTURE, exportName: 'sphere', threads: 2, context: { offset: 0.5 } });
  });
  afterAll(async () => {
    await pool.close();
  });

  it('returns fitness in population order, with the context passed through', async () => {
    const xs = pop(9);
    const r = await pool.evaluate(xs);
    expect(r.errors).toEqual([]);
    expect(r.fitness).toEqual(xs.map((x) => 3 * x[0]! * x[0]! + 0.5));
    expect(pool.threads).toBe(2);
  });

  it('evaluates an ask()ed CmaEs population and drives a short run', async () => {
    const es = new CmaEs({ x0: [1, 1, 1, 1], sigma0: 0.5, seed: 1 });
    for (let g = 0; g < 15; g++) {
      const xs = es.ask();
      const { fitness } = await pool.evaluate(xs, { generation: g });
      es.tell(xs, fitness);
    }
    expect(es.best!.f).toBeLessThan(0.5 + 0.05);
  });

  it('rejects a seeds array of the wrong length', async () => {
    await expect(pool.evaluate(pop(3), { seeds: [1, 2] })).rejects.toMatchObject({ name: 'EvolveError', code: 'INVALID_OPTIONS' });
  });
});

describe('failures in workers', () => {
  it('a throwing candidate gets the failure fitness; its error comes back as plain data; the others succeed', async () => {
    const xs = pop(6);
    const r = await evaluatePopulation(xs, { module: FIXTURE, exportName: 'flaky', threads: 2, failureFitness: 1e9 });
    expect(r.fitness).toEqual([0, 1, 1e9, 3, 1e9, 5]);
    expect(r.errors).toHaveLength(2);
    expect(r.errors[0]).toEqual({
      index: 2,
      name: 'MetatrainError',
      code: 'NAN_LOSS',
      message: 'episode diverged at candidate 2',
      details: { step: 17 },
    });
    expect(r.errors[1]).toMatchObject({ index: 4, name: 'TypeError', code: 'WORKER_THREW' });
    // plain data: survives JSON
    expect(JSON.parse(JSON.stringify(r.errors))).toEqual(r.errors);
  });

  it('the default failure fitness is +∞, which the strategies rank worst', async () => {
    const r = await evaluatePopulation(pop(4), { module: FIXTURE, exportName: 'flaky', threads: 1 });
    expect(r.fitness[2]).toBe(Infinity);
  });

  it('non-number results, missing exports and missing modules are reported with EvolveError codes', async () => {
    const bad = await evaluatePopulation(pop(2), { module: FIXTURE, exportName: 'notANumber', threads: 1 });
    expect(bad.errors.map((e) => [e.name, e.code])).toEqual([
      ['EvolveError', 'WORKER_BAD_RESULT'],
      ['EvolveError', 'WORKER_BAD_RESULT'],
    ]);
    const missing = await evaluatePopulation(pop(1), { module: FIXTURE, exportName: 'nope', threads: 1 });
    expect(missing.errors[0]).toMatchObject({ index: 0, code: 'WORKER_MODULE' });
    const noModule = await evaluatePopulation(pop(1), { module: join(__dirname, 'fixtures', 'absent.mjs'), threads: 1 });
    expect(noModule.errors[0]).toMatchObject({ code: 'WORKER_MODULE' });
    expect(EvolveError.is(noModule.errors[0])).toBe(true);
  });

  it('a worker thread that dies fails only its candidate (WORKER_CRASHED); the pool replaces it', async () => {
    const pool = new PopulationEvaluator({ module: FIXTURE, exportName: 'crash', threads: 2 });
    try {
      const r = await pool.evaluate(pop(4));
      expect(r.fitness).toEqual([0, Infinity, 2, 3]);
      expect(r.errors).toEqual([expect.objectContaining({ index: 1, name: 'EvolveError', code: 'WORKER_CRASHED' })]);
      const again = await pool.evaluate([new Float64Array([5])]);
      expect(again.fitness).toEqual([5]);
    } finally {
      await pool.close();
    }
  });

  it('accepts a file URL, the default export, and per-candidate seeds', async () => {
    const r = await evaluatePopulation(pop(2, 5), { module: pathToFileURL(FIXTURE), threads: 1 });
    expect(r.fitness).toEqual([5, 5]);
    const s = await evaluatePopulation(pop(4), { module: FIXTURE, exportName: 'echoSeed', threads: 2, seeds: [7, 7, 9, 9] });
    expect(s.fitness).toEqual([7, 7, 9, 9]);
  });

  it('minimize() accepts the pool as a batch objective', async () => {
    const pool = new PopulationEvaluator({ module: FIXTURE, exportName: 'sphere', threads: 2 });
    try {
      const r = await minimize(pool, { x0: [1, 1], sigma0: 0.5, seed: 1, ftarget: 1e-6, restarts: 0 });
      expect(r.success).toBe(true);
    } finally {
      await pool.close();
    }
  });
});
