/** @vsml/rng: seeded, serialisable random numbers shared by every VSML package. */
export { Rng } from './rng.js';
export type { RngState } from './rng.js';
