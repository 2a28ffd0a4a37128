/** The shared ask/tell loop over every registered strategy (evosax-style), restore by format, and the error class. */
import type { AskTellOptimizer, StrategyName } from '../src/index.js';
import { EVOLVE_ERROR_CODES, EvolveError, strategies, strategyFromJSON } from '../src/index.js';
import { sphere } from './helpers.js';

const make: Record<StrategyName, () => AskTellOptimizer> = {
  cmaes: () => strategies.cmaes({ x0: [1, -1, 0.5, 2], sigma0: 0.5, seed: 1 }),
  sepCmaes: () => strategies.sepCmaes({ x0: [1, -1, 0.5, 2], sigma0: 0.5, seed: 1 }),
  openaiEs: () => strategies.openaiEs({ x0: [1, -1, 0.5, 2], seed: 1, pairs: 8, sigma: 0.1, lr: 0.05 }),
};

describe.each(Object.keys(strategies) as StrategyName[])('%s', (name) => {
  it('runs the shared ask/tell loop on a 4-D sphere and improves', () => {
    const es = make[name]();
    const f0 = sphere(es.mean);
    for (let g = 0; g < 60; g++) {
      const xs = es.ask();
      expect(xs).toHaveLength(es.popSize);
      es.tell(xs, xs.map(sphere));
    }
    expect(es.generation).toBe(60);
    expect(es.evaluations).toBe(60 * es.popSize);
    expect(sphere(es.mean)).toBeLessThan(f0 / 100);
    expect(es.best!.f).toBeLessThan(f0);
  });

  it('restores through strategyFromJSON', () => {
    const es = make[name]();
    const xs = es.ask();
    es.tell(xs, xs.map(sphere));
    const copy = strategyFromJSON(JSON.stringify(es));
    expect(copy.constructor).toBe(es.constructor);
    expect(copy.ask()).toEqual(es.ask());
  });
});

describe('EvolveError', () => {
  it('has name, a typed code from the table, details, and plain-data form', () => {
    const e = new EvolveError('INVALID_OPTIONS', 'CmaEs: sigma0 must be > 0', { details: { sigma0: 0 } });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('EvolveError');
    expect(Object.keys(EVOLVE_ERROR_CODES)).toContain(e.code);
    expect(e.toJSON()).toEqual({ name: 'EvolveError', code: 'INVALID_OPTIONS', message: 'CmaEs: sigma0 must be > 0', details: { sigma0: 0 } });
    expect(EvolveError.is(JSON.parse(JSON.stringify(e)))).toBe(true);
    expect(EvolveError.is({ name: 'EvolveError', code: 'NOT_A_CODE' })).toBe(false);
    expect(EvolveError.is(new Error('x'))).toBe(false);
  });

  it('strategyFromJSON rejects unknown formats', () => {
    expect(() => strategyFromJSON({ format: 'x' })).toThrow(EvolveError);
    expect(() => strategyFromJSON('{')).toThrow(/not valid JSON/);
  });
});
