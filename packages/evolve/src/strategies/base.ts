/**
 * What every strategy shares (evosax `algorithms/base.py` in spirit): the ask/tell interface, the best-so-far
 * record (which never takes a non-finite fitness), and the checks on what `tell` receives.
 */
import { EvolveError } from '../errors.js';

/** The best candidate seen so far. */
export interface Best {
  readonly x: Float64Array;
  readonly f: number;
  /** generation (0-based) in which it was evaluated */
  readonly generation: number;
}

/** A source of standard normal numbers (an `Rng`, or an injected stream in tests). */
export type NormalSource = () => number;

/** The public shape shared by {@link CmaEs} and {@link OpenAiEs}: minimisation by ask/tell. */
export interface AskTellOptimizer {
  /** problem dimension */
  readonly dimension: number;
  /** candidates per generation */
  readonly popSize: number;
  /** the next population (λ candidates) */
  ask(): Float64Array[];
  /** fitness of the population returned by the last `ask()`, in the same order (smaller is better) */
  tell(xs: readonly Float64Array[], fitness: readonly number[]): void;
  /** termination reasons (pycma names), or null to go on */
  stop(): string[] | null;
  /** a copy of the current mean / centre of the search distribution */
  readonly mean: Float64Array;
  /** completed generations (`tell` calls) */
  readonly generation: number;
  /** fitness evaluations told so far */
  readonly evaluations: number;
  /** the best finite fitness seen, or null before any */
  readonly best: Best | null;
  /** full state as plain JSON data (includes the random generator) */
  toJSON(): unknown;
}

/** Throws `INVALID_POPULATION` unless `xs`/`fitness` are λ vectors of length n with finite entries. */
export function checkPopulation(
  where: string,
  xs: readonly Float64Array[],
  fitness: ArrayLike<number>,
  n: number,
  lambda: number,
): void {
  if (!Array.isArray(xs) || xs.length !== lambda) {
    throw new EvolveError('INVALID_POPULATION', `${where}: expected ${lambda} candidates, got ${xs?.length}`);
  }
  if (fitness?.length !== lambda) {
    throw new EvolveError('INVALID_POPULATION', `${where}: expected ${lambda} fitness values, got ${fitness?.length}`);
  }
  for (let k = 0; k < lambda; k++) {
    const x = xs[k]!;
    if (x?.length !== n) {
      throw new EvolveError('INVALID_POPULATION', `${where}: candidate ${k} has length ${x?.length}, expected ${n}`);
    }
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(x[i]!)) {
        throw new EvolveError('INVALID_POPULATION', `${where}: candidate ${k} has a non-finite entry at ${i}`);
      }
    }
    if (typeof fitness[k] !== 'number') {
      throw new EvolveError('INVALID_POPULATION', `${where}: fitness ${k} is not a number (${typeof fitness[k]})`);
    }
  }
}

/** The better of `best` and the best finite candidate of this generation (`order` from `rankOrder`). */
export function updateBest(
  best: Best | null,
  xs: readonly Float64Array[],
  fitness: ArrayLike<number>,
  order: readonly number[],
  generation: number,
): Best | null {
  const i = order[0];
  if (i === undefined) return best;
  const f = fitness[i]!;
  if (!Number.isFinite(f) || (best !== null && !(f < best.f))) return best;
  return { x: Float64Array.from(xs[i]!), f, generation };
}
