/**
 * Ranking and fitness shaping shared by the strategies (minimisation: smaller is better).
 * Non-finite fitness values (NaN, +∞, −∞) always rank worst, in their original order.
 */

/** Indices of `fitness` from best to worst; NaN/±∞ last; ties keep the original order (stable). */
export function rankOrder(fitness: ArrayLike<number>): number[] {
  const idx = Array.from({ length: fitness.length }, (_, i) => i);
  return idx.sort((a, b) => {
    const fa = fitness[a]!;
    const fb = fitness[b]!;
    const oka = Number.isFinite(fa);
    const okb = Number.isFinite(fb);
    if (oka && okb) return fa < fb ? -1 : fa > fb ? 1 : a - b;
    if (oka !== okb) return oka ? -1 : 1;
    return a - b;
  });
}

/** Number of non-finite values (NaN or ±∞). */
export function countNonFinite(fitness: ArrayLike<number>): number {
  let c = 0;
  for (let i = 0; i < fitness.length; i++) if (!Number.isFinite(fitness[i]!)) c++;
  return c;
}

/**
 * Centred ranks (Salimans et al. 2017): rank r ∈ {0..N−1} (0 = best) ↦ r/(N−1) − 0.5 ∈ [−0.5, 0.5], so the best
 * candidate gets −0.5 and the worst +0.5 (the shaped value keeps the "smaller is better" sense of the fitness).
 * Equal fitness values share their average rank; non-finite values rank worst.
 */
export function centeredRanks(fitness: ArrayLike<number>): Float64Array {
  const n = fitness.length;
  const out = new Float64Array(n);
  if (n <= 1) return out;
  const order = rankOrder(fitness);
  const key = (i: number): number => (Number.isFinite(fitness[i]!) ? fitness[i]! : Infinity);
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && key(order[end]!) === key(order[start]!)) end++;
    const r = (start + end - 1) / 2; // average rank of the tie group
    for (let k = start; k < end; k++) out[order[k]!] = r / (n - 1) - 0.5;
    start = end;
  }
  return out;
}
