import { Rng } from '../src/index.js';

describe('Rng', () => {
  it('is deterministic for a seed and differs across seeds and keys', () => {
    const a = Rng.fromSeed(42), b = Rng.fromSeed(42), c = Rng.fromSeed(43), d = Rng.fromSeed(42, 1);
    const xa = [a.float(), a.float(), a.float()];
    expect([b.float(), b.float(), b.float()]).toEqual(xa);
    expect(c.float()).not.toEqual(xa[0]);
    expect(d.float()).not.toEqual(xa[0]);
  });

  it('small seeds give well-spread first outputs', () => {
    const firsts = Array.from({ length: 200 }, (_, s) => Rng.fromSeed(s).float());
    const mean = firsts.reduce((x, y) => x + y, 0) / firsts.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.08);
    expect(Math.max(...firsts)).toBeLessThan(1);
  });

  it('round-trips its state (including the cached normal)', () => {
    const r = Rng.fromSeed(7);
    r.normal(); // leaves a spare
    const s = JSON.parse(JSON.stringify(r.state()));
    const r2 = Rng.fromState(s);
    for (let i = 0; i < 10; i++) expect(r2.normal()).toBe(r.normal());
    expect(() => Rng.fromState({ kind: 'x', words: [] } as never)).toThrow(/xoroshiro128plus/);
  });

  it('draws normals with the right moments and truncated normals inside the bound', () => {
    const r = Rng.fromSeed(1);
    const n = 200000;
    const z = r.fillNormal(new Float64Array(n));
    const mean = z.reduce((x, y) => x + y, 0) / n;
    const varc = z.reduce((x, y) => x + (y - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(varc - 1)).toBeLessThan(0.015);
    const t = r.fillTruncatedNormal(new Float64Array(n), 0.5);
    expect(t.every((v) => Math.abs(v) <= 1.0)).toBe(true);
    const tstd = Math.sqrt(t.reduce((x, y) => x + y * y, 0) / n);
    // std of N(0,1) truncated to [-2, 2] is 0.8796; times 0.5
    expect(tstd).toBeCloseTo(0.5 * 0.8796, 2);
  });

  it('ints are in range and roughly uniform; permutations are permutations', () => {
    const r = Rng.fromSeed(3);
    const counts = new Array(5).fill(0);
    for (let i = 0; i < 50000; i++) counts[r.int(0, 5)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(400);
    const p = Array.from(r.permutation(100)).sort((x, y) => x - y);
    expect(p).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(() => r.int(3, 3)).toThrow(RangeError);
  });

  it('rejects non-integer seeds', () => {
    expect(() => Rng.fromSeed(1.5)).toThrow(/safe integer/);
    expect(() => Rng.fromSeed(NaN)).toThrow(/safe integer/);
  });

  it('jumped streams are independent of the parent', () => {
    const r = Rng.fromSeed(9);
    const j = r.jumped();
    expect(j.float()).not.toBe(r.clone().float());
  });
});
