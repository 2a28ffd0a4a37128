import { Rng } from '@vsml/rng';
import {
  type ArrayDataset,
  clearDatasetMemo,
  compilePreprocess,
  drawWithoutReplacement,
  EpisodeSampler,
  evaluationSet,
  fromArrays,
  loadDataset,
  openEpisodeSampler,
} from '../src/index.js';
import { thrown, tinySet } from './helpers.js';

beforeEach(clearDatasetMemo);

/** 200 images of 4×4, 5 classes, pixel values unique enough to identify an image. */
function tiny(): ArrayDataset {
  const { images, labels } = tinySet(200, 4, 4, 5);
  return fromArrays({ name: 'tiny', rows: 4, cols: 4, images, labels });
}

const eq = (a: ArrayLike<number>, b: ArrayLike<number>) => expect(Array.from(a)).toEqual(Array.from(b));

describe('drawWithoutReplacement', () => {
  test('distinct within a pass; passes when k > n', () => {
    const rng = Rng.fromSeed(1);
    const a = drawWithoutReplacement(rng, 1000, 300);
    expect(new Set(a).size).toBe(300);
    for (const v of a) expect(v >= 0 && v < 1000).toBe(true);
    const b = drawWithoutReplacement(Rng.fromSeed(2), 20, 50);
    const counts = new Array(20).fill(0);
    for (const v of b) counts[v]++;
    for (const c of counts) expect(c === 2 || c === 3).toBe(true);
    expect(new Set(b.subarray(0, 20)).size).toBe(20);
    expect(new Set(b.subarray(20, 40)).size).toBe(20);
  });
});

describe('EpisodeSampler', () => {
  test('shapes, labels match the dataset, no replacement within an episode, determinism', () => {
    const ds = tiny();
    const cfg = { population: 4, length: 30, seed: 7, preprocess: { normalization: 'none' as const } };
    const s1 = new EpisodeSampler(ds, cfg);
    const e = s1.next();
    expect(e.shape).toEqual([30, 4, 16]);
    expect(e.x.length).toBe(30 * 4 * 16);
    expect(e.y).toBeInstanceOf(Int32Array);
    expect(e.meta).toMatchObject({ episode: 0, seed: 7, dataset: 'tiny', split: 'train', length: 30, population: 4, batch: 1, dim: 16, numClasses: 5 });
    const pre = compilePreprocess(ds, cfg.preprocess);
    const one = new Float32Array(16);
    for (let p = 0; p < 4; p++) {
      const idx: number[] = [];
      for (let t = 0; t < 30; t++) {
        const i = e.meta.indices[t * 4 + p]!;
        idx.push(i);
        expect(e.y[t * 4 + p]).toBe(ds.labels[i]);
        pre.apply(ds.images, i * 16, one, 0);
        eq(e.x.subarray((t * 4 + p) * 16, (t * 4 + p + 1) * 16), one);
      }
      expect(new Set(idx).size).toBe(30); // without replacement
    }
    // members have their own streams
    expect(Array.from({ length: 30 }, (_, t) => e.meta.indices[t * 4])).not.toEqual(Array.from({ length: 30 }, (_, t) => e.meta.indices[t * 4 + 1]));
    // same seed → same episodes; random access equals the sequence; other seed differs
    const s2 = new EpisodeSampler(ds, cfg);
    eq(s2.next().x, e.x);
    const e1 = s1.next();
    expect(e1.meta.episode).toBe(1);
    eq(s2.episode(1).x, e1.x);
    eq(new EpisodeSampler(ds, cfg).episode(1).y, e1.y);
    expect(Array.from(new EpisodeSampler(ds, { ...cfg, seed: 8 }).episode(0).meta.indices)).not.toEqual(Array.from(e.meta.indices));
    expect(Array.from(e1.meta.indices)).not.toEqual(Array.from(e.meta.indices));
    // seek / state
    s2.seek(5);
    expect(s2.state()).toEqual({ episode: 5 });
    eq(s2.next().y, s1.episode(5).y);
    // reuse of output arrays
    const reuse = s1.next(e);
    expect(reuse.x).toBe(e.x);
    eq(reuse.x, s2.episode(2).x);
  });

  test('member(k, m) equals the slice of episode(k)', () => {
    const ds = tiny();
    const s = new EpisodeSampler(ds, { population: 3, length: 10, batch: 2, seed: 1 });
    const e = s.episode(4);
    const m = s.member(4, 2);
    expect(m.x.length).toBe(10 * 2 * 16);
    for (let t = 0; t < 10; t++) {
      for (let b = 0; b < 2; b++) {
        const pos = (t * 3 + 2) * 2 + b;
        eq(m.x.subarray((t * 2 + b) * 16, (t * 2 + b + 1) * 16), e.x.subarray(pos * 16, (pos + 1) * 16));
        expect(m.y[t * 2 + b]).toBe(e.y[pos]);
      }
    }
  });

  test('batched mode [T, P, B, D]: T·B distinct examples per member', () => {
    const s = new EpisodeSampler(tiny(), { population: 2, length: 25, batch: 4, seed: 3 });
    const e = s.next();
    expect(e.shape).toEqual([25, 2, 4, 16]);
    expect(e.y.length).toBe(25 * 2 * 4);
    for (let p = 0; p < 2; p++) {
      const idx = new Set<number>();
      for (let t = 0; t < 25; t++) for (let b = 0; b < 4; b++) idx.add(e.meta.indices[(t * 2 + p) * 4 + b]!);
      expect(idx.size).toBe(100);
    }
  });

  test('antithetic pairs share a stream; pairs differ; odd P is an error', () => {
    const s = new EpisodeSampler(tiny(), { population: 6, length: 12, seed: 2, antithetic: true });
    const e = s.next();
    expect(Array.from(e.meta.streams)).toEqual([0, 0, 1, 1, 2, 2]);
    const col = (p: number) => Array.from({ length: 12 }, (_, t) => e.meta.indices[t * 6 + p]);
    expect(col(1)).toEqual(col(0));
    expect(col(3)).toEqual(col(2));
    expect(col(2)).not.toEqual(col(0));
    for (let t = 0; t < 12; t++) eq(e.x.subarray((t * 6 + 5) * 16, (t * 6 + 6) * 16), e.x.subarray((t * 6 + 4) * 16, (t * 6 + 5) * 16));
    eq(s.member(0, 5).x, s.member(0, 4).x);
    expect(thrown(() => new EpisodeSampler(tiny(), { population: 5, length: 3, antithetic: true }))).toMatchObject({ code: 'INVALID_CONFIG' });
  });

  test('fixed class subset via preprocess.classes', () => {
    const ds = tiny();
    const e = new EpisodeSampler(ds, { population: 3, length: 40, preprocess: { classes: [4, 1] } }).next();
    expect(e.meta.numClasses).toBe(2);
    for (let i = 0; i < e.y.length; i++) expect([4, 1][e.y[i]!]).toBe(ds.labels[e.meta.indices[i]!]);
    expect(e.meta.classes[0]).toEqual([4, 1]);
  });

  test('task sampler: k classes in [min, max] per stream, relabelled 0..k−1; shared mode; padding', () => {
    const ds = tiny();
    const s = new EpisodeSampler(ds, { population: 8, length: 20, seed: 11, task: { minClasses: 2, maxClasses: 4 } });
    expect(s.numClasses).toBe(4);
    const seenK = new Set<number>();
    for (let k = 0; k < 5; k++) {
      const e = s.next();
      for (let p = 0; p < 8; p++) {
        const classes = e.meta.classes[p]!;
        expect(classes.length).toBe(e.meta.classCounts[p]);
        expect(classes.length).toBeGreaterThanOrEqual(2);
        expect(classes.length).toBeLessThanOrEqual(4);
        expect(new Set(classes).size).toBe(classes.length);
        seenK.add(classes.length);
        const idx = new Set<number>();
        for (let t = 0; t < 20; t++) {
          const i = t * 8 + p;
          expect(e.y[i]).toBeLessThan(classes.length);
          expect(classes[e.y[i]!]).toBe(ds.labels[e.meta.indices[i]!]);
          idx.add(e.meta.indices[i]!);
        }
        expect(idx.size).toBe(20);
      }
    }
    expect([...seenK].sort()).toEqual([2, 3, 4]);
    const shared = new EpisodeSampler(ds, { population: 4, length: 5, seed: 11, task: { minClasses: 3, maxClasses: 3, shared: true } }).next();
    expect(new Set(shared.meta.classes.map((c) => c!.join()))).toHaveProperty('size', 1);
    const padded = new EpisodeSampler(ds, { population: 1, length: 5, task: { minClasses: 2, maxClasses: 3 }, preprocess: { padClasses: 10 } });
    expect(padded.numClasses).toBe(10);
    expect(thrown(() => new EpisodeSampler(ds, { population: 1, length: 5, task: { minClasses: 2, maxClasses: 6 } })).message).toContain(
      'task.maxClasses 6 exceeds the 5 available classes',
    );
    expect(thrown(() => new EpisodeSampler(ds, { population: 1, length: 5, task: { minClasses: 3, maxClasses: 2 } })).message).toContain(
      'minClasses must be ≤ maxClasses',
    );
  });

  test('config errors', () => {
    const ds = tiny();
    expect(thrown(() => new EpisodeSampler(ds, { population: 0, length: 5 }))).toMatchObject({ code: 'INVALID_CONFIG' });
    expect(thrown(() => new EpisodeSampler(ds, { population: 1, length: 5, extra: 1 } as never)).message).toContain('extra');
    expect(thrown(() => new EpisodeSampler(ds, { population: 1, length: 1 }).episode(-1))).toMatchObject({ code: 'OUT_OF_RANGE' });
    expect(thrown(() => openEpisodeSampler({ dataset: 'random', population: 1, length: 1, popultion: 2 } as never)).message).toContain('popultion');
    expect(thrown(() => openEpisodeSampler({ dataset: 'random', split: 'valid' as never, population: 1, length: 1 })).code).toBe('INVALID_CONFIG');
  });

  test('evaluation set: first N in stored order, deterministic, offset, too many', () => {
    const ds = tiny();
    const ev = evaluationSet(ds, { resize: [2, 2] }, { count: 50 });
    expect(ev.x.length).toBe(50 * 4);
    eq(ev.indices, Array.from({ length: 50 }, (_, i) => i));
    eq(ev.y, Array.from(ds.labels.subarray(0, 50)));
    eq(evaluationSet(ds, { resize: [2, 2] }, { count: 50 }).x, ev.x);
    eq(evaluationSet(ds, {}, { count: 10, offset: 100 }).indices, Array.from({ length: 10 }, (_, i) => 100 + i));
    expect(thrown(() => evaluationSet(ds, {}, { count: 201 }))).toMatchObject({ code: 'OUT_OF_RANGE' });
  });
});

describe('synthetic tasks through the sampler', () => {
  test('random: 20 fixed Gaussian images, random labels, cycled in passes', () => {
    const ds = loadDataset('random', { synthetic: { seed: 3 } });
    if (ds.kind !== 'array') throw new Error('array expected');
    expect(ds).toMatchObject({ size: 20, rows: 28, cols: 28, numClasses: 10, stats: { mean: 0, std: 1 }, pixelScale: 1 });
    let s = 0;
    let s2 = 0;
    for (const v of ds.images) {
      s += v;
      s2 += v * v;
    }
    expect(s / ds.images.length).toBeCloseTo(0, 1);
    expect(Math.sqrt(s2 / ds.images.length)).toBeCloseTo(1, 1);
    for (const l of ds.labels) expect(l).toBeLessThan(10);
    const test = loadDataset('random', { synthetic: { seed: 3 }, split: 'test' });
    if (test.kind !== 'array') throw new Error('array expected');
    eq(test.images, ds.images); // memorisation: the same images in both splits
    const e = new EpisodeSampler(ds, { population: 2, length: 50 }).next();
    const counts = new Array(20).fill(0);
    for (let t = 0; t < 50; t++) counts[e.meta.indices[t * 2]!]++;
    for (const c of counts) expect(c === 2 || c === 3).toBe(true);
    // dataset normalisation with (0, 1) leaves the floats unchanged
    const i0 = e.meta.indices[0]!;
    eq(e.x.subarray(0, 784), ds.images.subarray(i0 * 784, (i0 + 1) * 784));
    const other = loadDataset('random', { synthetic: { seed: 4 } });
    if (other.kind !== 'array') throw new Error('array expected');
    expect(other.images[0]).not.toBe(ds.images[0]);
  });

  test('sum: fresh truncated-normal images, label = [pixel sum ≥ 0], both classes, deterministic', () => {
    const ds = loadDataset('sum');
    expect(ds).toMatchObject({ kind: 'generated', numClasses: 2, rows: 28, cols: 28 });
    const s = new EpisodeSampler(ds, { population: 3, length: 40, seed: 5 });
    const e = s.next();
    expect(e.shape).toEqual([40, 3, 784]);
    let ones = 0;
    for (let i = 0; i < 120; i++) {
      const img = e.x.subarray(i * 784, (i + 1) * 784);
      let sum = 0;
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of img) {
        sum += v;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      expect(hi - lo).toBeLessThanOrEqual(4);
      expect(e.y[i]).toBe(sum >= 0 ? 1 : 0);
      ones += e.y[i]!;
      expect(e.meta.indices[i]).toBe(-1);
    }
    expect(ones).toBeGreaterThan(30);
    expect(ones).toBeLessThan(90);
    eq(new EpisodeSampler(ds, { population: 3, length: 40, seed: 5 }).next().x, e.x);
    const testStream = new EpisodeSampler(loadDataset('sum', { split: 'test' }), { population: 3, length: 40, seed: 5 }).next();
    expect(testStream.x[0]).not.toBe(e.x[0]); // same seed, other split → other examples
    eq(s.member(0, 1).y, Array.from({ length: 40 }, (_, t) => e.y[t * 3 + 1]!));
    expect(thrown(() => new EpisodeSampler(ds, { population: 1, length: 5, task: { minClasses: 2, maxClasses: 2 } }))).toMatchObject({ code: 'INVALID_CONFIG' });
    const ev = evaluationSet(ds, { resize: [7, 7] }, { count: 10, seed: 1 });
    expect(ev.x.length).toBe(490);
    eq(evaluationSet(ds, { resize: [7, 7] }, { count: 10, seed: 1 }).x, ev.x);
  });
});

describe('on MNIST', () => {
  test('meta-training style stream: 7×7 inputs, 2–5 classes per task, T = 100, P = 16', () => {
    const sampler = openEpisodeSampler({
      dataset: 'mnist',
      split: 'train',
      population: 16,
      length: 100,
      seed: 42,
      antithetic: true,
      preprocess: { resize: [7, 7] },
      task: { minClasses: 2, maxClasses: 5 },
    });
    const e = sampler.next();
    expect(e.shape).toEqual([100, 16, 49]);
    expect(e.meta.numClasses).toBe(5);
    for (let p = 0; p < 16; p++) expect(new Set(Array.from({ length: 100 }, (_, t) => e.meta.indices[t * 16 + p])).size).toBe(100);
    expect(e.x.every((v) => Number.isFinite(v))).toBe(true);
    const again = openEpisodeSampler({
      dataset: 'mnist',
      population: 16,
      length: 100,
      seed: 42,
      antithetic: true,
      preprocess: { resize: [7, 7] },
      task: { minClasses: 2, maxClasses: 5 },
    });
    eq(again.next().x, e.x);
    // meta-test style held-out set: first 1,000 test images, preprocessed
    const ev = evaluationSet(loadDataset('mnist', { split: 'test' }), { resize: [7, 7] }, { count: 1000 });
    expect(ev.x.length).toBe(49_000);
    expect(ev.y[0]).toBe(7); // the first MNIST test digit is a 7
  });
});
