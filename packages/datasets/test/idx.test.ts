import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { clearDatasetMemo, datasetInfo, encodeIdx, findIdxFiles, loadDataset, parseIdx, readIdxDims, readIdxFile } from '../src/index.js';
import { cleanupTempDirs, tempDir, thrown, writeIdxDir } from './helpers.js';

afterAll(cleanupTempDirs);
beforeEach(clearDatasetMemo);

describe('IDX parse / encode', () => {
  test('round trip, zero-copy view', () => {
    const data = Uint8Array.from({ length: 24 }, (_, i) => i * 10);
    const bytes = encodeIdx([2, 3, 4], data);
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0, 0, 8, 3]);
    const parsed = parseIdx(bytes, 'mem', 3);
    expect(parsed.dims).toEqual([2, 3, 4]);
    expect(Array.from(parsed.data)).toEqual(Array.from(data));
    expect(parsed.data.buffer).toBe(bytes.buffer);
  });

  test('bad inputs name the file and what is wrong', () => {
    const good = encodeIdx([2, 2, 2], new Uint8Array(8));
    const bad = (b: Uint8Array, dims?: number) => thrown(() => parseIdx(b, 'x.idx', dims));

    expect(bad(good.subarray(0, 3))).toMatchObject({ name: 'DatasetError', code: 'TRUNCATED', file: 'x.idx' });
    const magic = good.slice();
    magic[0] = 0x50;
    const e1 = bad(magic);
    expect(e1).toMatchObject({ code: 'BAD_MAGIC', file: 'x.idx' });
    expect(e1.message).toMatch(/x\.idx: not an IDX file \(magic 0x50 0x00 0x08 0x03/);
    const unknownType = good.slice();
    unknownType[2] = 0x42;
    expect(bad(unknownType).code).toBe('BAD_MAGIC');
    const float = good.slice();
    float[2] = 0x0d;
    expect(bad(float)).toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    expect(bad(float).message).toContain('float32');
    expect(bad(good, 1)).toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    expect(bad(good, 1).message).toContain('3 dimensions, expected 1');
    expect(bad(good.subarray(0, 10))).toMatchObject({ code: 'TRUNCATED' });
    expect(bad(good.subarray(0, 10)).message).toContain('16-byte IDX header');
    const e2 = bad(good.subarray(0, good.length - 3));
    expect(e2).toMatchObject({ code: 'TRUNCATED' });
    expect(e2.message).toContain('header says 2×2×2 = 8 data bytes but only 5');
    const longer = new Uint8Array(good.length + 4);
    longer.set(good);
    expect(bad(longer)).toMatchObject({ code: 'SIZE_MISMATCH' });
    expect(bad(longer).message).toContain('4 bytes more');
  });
});

describe('IDX files on disk', () => {
  test('plain and gzip files read the same; dims without loading', () => {
    const dir = tempDir();
    const data = Uint8Array.from({ length: 60 }, (_, i) => (i * 37) % 256);
    const bytes = encodeIdx([5, 3, 4], data);
    writeFileSync(join(dir, 'a'), bytes);
    writeFileSync(join(dir, 'a.gz'), gzipSync(bytes));
    writeFileSync(join(dir, 'gz-without-extension'), gzipSync(bytes));
    for (const f of ['a', 'a.gz', 'gz-without-extension']) {
      const r = readIdxFile(join(dir, f), 3);
      expect(r.dims).toEqual([5, 3, 4]);
      expect(Buffer.from(r.data).equals(Buffer.from(data))).toBe(true);
      expect(readIdxDims(join(dir, f), 3)).toEqual([5, 3, 4]);
    }
  });

  test('missing, unreadable, corrupt gzip', () => {
    const dir = tempDir();
    expect(thrown(() => readIdxFile(join(dir, 'nope')))).toMatchObject({ code: 'NOT_FOUND', file: join(dir, 'nope') });
    mkdirSync(join(dir, 'isdir'));
    expect(thrown(() => readIdxFile(join(dir, 'isdir')))).toMatchObject({ code: 'UNREADABLE', file: join(dir, 'isdir') });
    const gz = gzipSync(encodeIdx([100], new Uint8Array(100)));
    writeFileSync(join(dir, 'cut.gz'), gz.subarray(0, gz.length - 8));
    const e = thrown(() => readIdxFile(join(dir, 'cut.gz')));
    expect(e).toMatchObject({ code: 'BAD_GZIP', file: join(dir, 'cut.gz') });
    expect(e.message).toContain('cut.gz: corrupt or truncated gzip');
  });

  test('findIdxFiles: standard names, .gz, prefixes, plain over gz, ambiguity, missing', () => {
    const plain = tempDir();
    writeIdxDir(plain);
    expect(findIdxFiles(plain).test.images).toBe(join(plain, 't10k-images-idx3-ubyte'));
    writeIdxDir(plain, { gzip: true });
    expect(findIdxFiles(plain).train.labels).toBe(join(plain, 'train-labels-idx1-ubyte'));

    const gz = tempDir();
    writeIdxDir(gz, { gzip: true, prefix: 'emnist-digits-' });
    expect(findIdxFiles(gz).train.images).toBe(join(gz, 'emnist-digits-train-images-idx3-ubyte.gz'));
    writeIdxDir(gz, { gzip: true, prefix: 'emnist-letters-' });
    const amb = thrown(() => findIdxFiles(gz));
    expect(amb).toMatchObject({ code: 'INVALID_CONFIG', file: gz });
    expect(amb.message).toContain('several train images files');

    const partial = tempDir();
    writeFileSync(join(partial, 'train-images-idx3-ubyte'), encodeIdx([1, 1, 1], new Uint8Array(1)));
    const miss = thrown(() => findIdxFiles(partial));
    expect(miss).toMatchObject({ code: 'NOT_FOUND', file: partial });
    expect(miss.message).toContain('no train labels file (expected train-labels-idx1-ubyte[.gz])');

    expect(thrown(() => findIdxFiles(join(partial, 'absent')))).toMatchObject({ code: 'NOT_FOUND' });
    expect(thrown(() => findIdxFiles(join(partial, 'train-images-idx3-ubyte'))).message).toContain('not a directory');
  });
});

describe('idx:<dir> datasets', () => {
  test('loads both splits (plain and gzip identical), infers classes, default MNIST stats', () => {
    const a = tempDir();
    const b = tempDir();
    const src = writeIdxDir(a, { nTrain: 40, nTest: 12, rows: 6, cols: 5, numClasses: 4 });
    writeIdxDir(b, { nTrain: 40, nTest: 12, rows: 6, cols: 5, numClasses: 4, gzip: true });
    for (const dir of [a, b]) {
      const train = loadDataset(`idx:${dir}`);
      const test = loadDataset(`idx:${dir}`, { split: 'test' });
      expect(train).toMatchObject({ kind: 'array', split: 'train', size: 40, rows: 6, cols: 5, numClasses: 4, name: `idx:${dir}` });
      expect(test).toMatchObject({ split: 'test', size: 12, numClasses: 4 });
      if (train.kind !== 'array' || test.kind !== 'array') throw new Error('array expected');
      expect(Buffer.from(train.images).equals(Buffer.from(src.train.images))).toBe(true);
      expect(Buffer.from(test.labels).equals(Buffer.from(src.test.labels))).toBe(true);
      expect(train.stats).toEqual({ mean: 0.13066, std: 0.30811 });
      expect(train.pixelScale).toBeCloseTo(1 / 255);
    }
    expect(loadDataset(`idx:${a}`, { numClasses: 10 }).numClasses).toBe(10);
    expect(loadDataset(`idx:${a}`, { stats: { mean: 0.5, std: 0.25 } }).stats).toEqual({ mean: 0.5, std: 0.25 });
    expect(datasetInfo(`idx:${b}`)).toMatchObject({ rows: 6, cols: 5, numClasses: 4, sizes: { train: 40, test: 12 } });
  });

  test('bad directories: label/image count mismatch, train/test shape mismatch, labels over numClasses, truncated file', () => {
    const dir = tempDir();
    writeIdxDir(dir, { nTrain: 20 });
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), encodeIdx([19], new Uint8Array(19)));
    const e1 = thrown(() => loadDataset(`idx:${dir}`));
    expect(e1).toMatchObject({ code: 'SIZE_MISMATCH', file: join(dir, 'train-labels-idx1-ubyte') });
    expect(e1.message).toContain('19 labels but');

    const dir2 = tempDir();
    writeIdxDir(dir2, { rows: 6, cols: 5 });
    writeFileSync(join(dir2, 't10k-images-idx3-ubyte'), encodeIdx([10, 5, 5], new Uint8Array(250)));
    const e2 = thrown(() => loadDataset(`idx:${dir2}`));
    expect(e2).toMatchObject({ code: 'SIZE_MISMATCH', file: join(dir2, 't10k-images-idx3-ubyte') });
    expect(e2.message).toContain('5×5');

    const dir3 = tempDir();
    writeIdxDir(dir3, { numClasses: 5 });
    expect(thrown(() => loadDataset(`idx:${dir3}`, { numClasses: 3 }))).toMatchObject({ code: 'BAD_DATA', file: dir3 });

    const dir4 = tempDir();
    writeIdxDir(dir4);
    const f = join(dir4, 'train-images-idx3-ubyte');
    writeFileSync(f, readFileSync(f).subarray(0, 100));
    const e4 = thrown(() => loadDataset(`idx:${dir4}`));
    expect(e4).toMatchObject({ code: 'TRUNCATED', file: f });
    expect(e4.message).toContain(f);

    const dir5 = tempDir();
    writeIdxDir(dir5, { gzip: true });
    const g = join(dir5, 't10k-labels-idx1-ubyte.gz');
    writeFileSync(g, gzipSync(Buffer.from('P5\n28 28\n255\n')));
    const e6 = thrown(() => loadDataset(`idx:${dir5}`, { split: 'test' }));
    expect(e6).toMatchObject({ code: 'BAD_MAGIC', file: g });
    expect(e6.message).toContain(`${g}: not an IDX file`);

    const e5 = thrown(() => loadDataset(`idx:${join(dir4, 'missing')}`));
    expect(e5).toMatchObject({ code: 'NOT_FOUND', file: join(dir4, 'missing') });
    expect(e5.message).toContain('dataset directory not found');
  });
});
