import {
  compilePreprocess,
  evaluationSet,
  fromArrays,
  glorotProjection,
  parsePreprocessSpec,
  pixelPermutation,
  resizeBilinear,
} from '../src/index.js';
import { thrown, tinySet } from './helpers.js';

const src = (rows: number, cols: number, numClasses = 10) => ({ rows, cols, numClasses, stats: { mean: 0, std: 1 }, pixelScale: 1 });

describe('spec validation', () => {
  test('defaults', () => {
    expect(parsePreprocessSpec({})).toEqual({
      classes: null,
      resize: null,
      normalization: 'dataset',
      stats: null,
      padInput: null,
      padClasses: null,
      permute: null,
      project: null,
    });
    expect(parsePreprocessSpec({ project: {} }).project).toEqual({ dim: null, seed: 0 });
  });

  test('bad specs are INVALID_CONFIG errors that say what is wrong', () => {
    const bad = (spec: unknown) => thrown(() => parsePreprocessSpec(spec));
    expect(bad({ resise: [7, 7] })).toMatchObject({ name: 'DatasetError', code: 'INVALID_CONFIG' });
    expect(bad({ resise: [7, 7] }).message).toContain('resise');
    expect(bad({ resize: [0, 7] }).code).toBe('INVALID_CONFIG');
    expect(bad({ classes: [1, 1] }).message).toContain('classes must not repeat');
    expect(bad({ normalization: 'standard' }).code).toBe('INVALID_CONFIG');
    expect(bad({ stats: { mean: 0, std: 0 } }).code).toBe('INVALID_CONFIG');
    expect(bad({ project: { dim: 10, sead: 1 } }).code).toBe('INVALID_CONFIG');
  });

  test('specs that do not fit the dataset', () => {
    expect(thrown(() => compilePreprocess(src(28, 28), { classes: [3, 10] })).message).toContain('class 10 is outside 0..9');
    expect(thrown(() => compilePreprocess(src(28, 28), { padInput: [27, 28] })).message).toContain('smaller than the 28×28 image');
    expect(thrown(() => compilePreprocess(src(28, 28), { classes: [1, 2, 3], padClasses: 2 })).message).toContain('padClasses 2');
    expect(compilePreprocess(src(28, 28), { padClasses: 5 }, { labelCount: 5 }).numClasses).toBe(5);
  });
});

describe('resize (TF2 bilinear, half-pixel centres)', () => {
  test('2×2 → 4×4 upsampling gives the TF values', () => {
    const out = resizeBilinear([0, 1, 2, 3], 2, 2, 4, 4);
    expect(Array.from(out)).toEqual([0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]);
  });

  test('28 → 14 averages 2×2 blocks; 28 → 7 averages the middle 2×2 of each 4×4 block', () => {
    const img = Float32Array.from({ length: 784 }, (_, i) => (i * 31) % 97);
    const at = (r: number, c: number) => img[r * 28 + c]!;
    const r14 = resizeBilinear(img, 28, 28, 14, 14);
    for (const [i, j] of [[0, 0], [5, 9], [13, 13]] as const) {
      expect(r14[i * 14 + j]).toBeCloseTo((at(2 * i, 2 * j) + at(2 * i + 1, 2 * j) + at(2 * i, 2 * j + 1) + at(2 * i + 1, 2 * j + 1)) / 4, 4);
    }
    const r7 = resizeBilinear(img, 28, 28, 7, 7);
    for (const [i, j] of [[0, 0], [3, 6], [6, 6]] as const) {
      const r = 4 * i + 1;
      const c = 4 * j + 1;
      expect(r7[i * 7 + j]).toBeCloseTo((at(r, c) + at(r + 1, c) + at(r, c + 1) + at(r + 1, c + 1)) / 4, 4);
    }
  });

  test('a constant image stays constant; identity size is the identity', () => {
    expect(Array.from(resizeBilinear(new Array(35).fill(3), 5, 7, 3, 9))).toEqual(new Array(27).fill(3));
    const img = Array.from({ length: 12 }, (_, i) => i);
    expect(Array.from(resizeBilinear(img, 3, 4, 3, 4))).toEqual(img);
  });
});

describe('normalisation', () => {
  const u8 = Uint8Array.from({ length: 16 }, (_, i) => i * 17); // 0..255
  const source = { rows: 4, cols: 4, numClasses: 2, stats: { mean: 0.13066, std: 0.30811 } }; // uint8 (pixelScale 1/255)
  const run = (spec: object, s: object = source) => {
    const p = compilePreprocess(s as typeof source, spec);
    const out = new Float32Array(p.dim);
    p.apply(u8, 0, out, 0);
    return out;
  };
  test('dataset (default), stats override, none, perImage', () => {
    expect(run({})[15]).toBeCloseTo((1 - 0.13066) / 0.30811, 5);
    expect(run({})[0]).toBeCloseTo(-0.13066 / 0.30811, 5);
    expect(run({ stats: { mean: 0.5, std: 0.5 } })[15]).toBeCloseTo(1, 6);
    expect(Array.from(run({ normalization: 'none' })).map((v) => Math.round(v * 255))).toEqual(Array.from(u8));
    const z = run({ normalization: 'perImage' });
    const mean = z.reduce((a, b) => a + b, 0) / z.length;
    const std = Math.sqrt(z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length);
    expect(mean).toBeCloseTo(0, 5);
    expect(std).toBeCloseTo(1, 5);
    // a constant image: std clamps to 1/sqrt(N), no division by zero
    const p = compilePreprocess(source, { normalization: 'perImage' });
    const out = new Float32Array(16);
    p.apply(new Uint8Array(16).fill(9), 0, out, 0);
    for (const v of out) expect(Math.abs(v)).toBeLessThan(1e-6);
  });
});

describe('padding, permutation, projection, classes', () => {
  test('padInput places the image top-left and zero-fills (after normalisation); padClasses', () => {
    const img = Float32Array.from({ length: 6 }, (_, i) => i + 1); // 2×3
    const p = compilePreprocess({ ...src(2, 3), stats: { mean: 1, std: 2 } }, { padInput: [3, 4], padClasses: 62 });
    expect(p.outputShape).toEqual([3, 4]);
    expect(p.dim).toBe(12);
    expect(p.numClasses).toBe(62);
    const out = new Float32Array(12);
    p.apply(img, 0, out, 0);
    expect(Array.from(out)).toEqual([0, 0.5, 1, 0, 1.5, 2, 2.5, 0, 0, 0, 0, 0]);
  });

  test('permutation: seeded, a bijection, out[k] = in[perm[k]], invertible', () => {
    const perm = pixelPermutation(784, 5);
    expect(Array.from(perm).sort((a, b) => a - b)).toEqual(Array.from({ length: 784 }, (_, i) => i));
    expect(Array.from(pixelPermutation(784, 5))).toEqual(Array.from(perm));
    expect(Array.from(pixelPermutation(784, 6))).not.toEqual(Array.from(perm));
    const img = Float32Array.from({ length: 784 }, (_, i) => i);
    const p = compilePreprocess(src(28, 28), { normalization: 'none', permute: { seed: 5 } });
    const out = new Float32Array(784);
    p.apply(img, 0, out, 0);
    for (let k = 0; k < 784; k++) expect(out[k]).toBe(perm[k]);
    const inverse = new Float32Array(784);
    for (let k = 0; k < 784; k++) inverse[perm[k]!] = out[k]!;
    expect(Array.from(inverse)).toEqual(Array.from(img));
  });

  test('projection: Glorot-uniform scale, seeded, shape, equals x·M', () => {
    const m = glorotProjection(784, 784, 1);
    const limit = Math.sqrt(6 / (2 * 784));
    expect(limit).toBeCloseTo(0.0619, 4);
    let maxAbs = 0;
    let s2 = 0;
    for (const v of m) {
      maxAbs = Math.max(maxAbs, Math.abs(v));
      s2 += v * v;
    }
    expect(maxAbs).toBeLessThanOrEqual(limit);
    expect(maxAbs).toBeGreaterThan(limit * 0.999);
    expect(Math.sqrt(s2 / m.length)).toBeCloseTo(limit / Math.sqrt(3), 3);
    expect(glorotProjection(784, 784, 1)).toBe(m); // memoised
    expect(glorotProjection(784, 784, 2)[0]).not.toBe(m[0]);

    const p = compilePreprocess(src(4, 5), { normalization: 'none', project: { dim: 7, seed: 3 } });
    expect(p.outputShape).toEqual([7]);
    expect(p.dim).toBe(7);
    const img = Float32Array.from({ length: 20 }, (_, i) => Math.sin(i));
    const out = new Float32Array(7);
    p.apply(img, 0, out, 0);
    const w = glorotProjection(20, 7, 3);
    for (let j = 0; j < 7; j++) {
      let e = 0;
      for (let i = 0; i < 20; i++) e += img[i]! * w[i * 7 + j]!;
      expect(out[j]).toBeCloseTo(e, 5);
    }
    expect(compilePreprocess(src(28, 28), { project: {} }).dim).toBe(784);
  });

  test('composition: resize → normalise → pad → permute → project equals the steps done by hand', () => {
    const img = Uint8Array.from({ length: 64 }, (_, i) => (i * 53) % 256); // 8×8 uint8
    const stats = { mean: 0.2, std: 0.4 };
    const spec = { resize: [4, 4] as [number, number], padInput: [5, 5] as [number, number], permute: { seed: 9 }, project: { dim: 6, seed: 4 } };
    const p = compilePreprocess({ rows: 8, cols: 8, numClasses: 3, stats }, spec);
    const out = new Float32Array(6);
    p.apply(img, 0, out, 0);
    const resized = resizeBilinear(Array.from(img, (v) => v / 255), 8, 8, 4, 4);
    const padded = new Float32Array(25);
    for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) padded[r * 5 + c] = (resized[r * 4 + c]! - 0.2) / 0.4;
    const perm = pixelPermutation(25, 9);
    const permuted = Array.from(perm, (q) => padded[q]!);
    const w = glorotProjection(25, 6, 4);
    for (let j = 0; j < 6; j++) {
      let e = 0;
      for (let i = 0; i < 25; i++) e += permuted[i]! * w[i * 6 + j]!;
      expect(out[j]).toBeCloseTo(e, 5);
    }
  });

  test('class subset with relabelling ([3, 7, 9] → 0, 1, 2)', () => {
    const { images, labels } = tinySet(100, 2, 2, 10);
    const ds = fromArrays({ name: 'tiny', rows: 2, cols: 2, images, labels });
    const p = compilePreprocess(ds, { classes: [3, 7, 9] });
    expect(p.numClasses).toBe(3);
    expect(p.classes).toEqual([3, 7, 9]);
    expect(Array.from(p.labelMap)).toEqual([-1, -1, -1, 0, -1, -1, -1, 1, -1, 2]);
    const ev = evaluationSet(ds, { classes: [3, 7, 9] }, { count: 12 });
    expect(ev.numClasses).toBe(3);
    for (let i = 0; i < 12; i++) expect([3, 7, 9][ev.y[i]!]).toBe(labels[ev.indices[i]!]);
    expect(Array.from(ev.indices.subarray(0, 4))).toEqual([3, 7, 9, 13]);
    // preprocessed like the batch helper
    expect(Array.from(ev.x)).toEqual(Array.from(p.batch(images, ev.indices)));
  });
});
