import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CacheContent, crc32, defaultCacheDir, loadOrBuild, readCacheSplit, writeCache } from '../src/cache.js';
import { cleanupTempDirs, tempDir, thrown, tinySet } from './helpers.js';

afterAll(cleanupTempDirs);

const KEY = 'test-source@1|rule-v1';
function content(key = KEY): CacheContent {
  return {
    key,
    name: 'tiny',
    rows: 4,
    cols: 3,
    numClasses: 5,
    splits: { train: tinySet(25, 4, 3, 5), test: tinySet(7, 4, 3, 5) },
    info: { note: 'test' },
  };
}

describe('binary cache', () => {
  test('crc32 matches the IEEE check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  test('write then read each split; atomic write leaves no temporary file', () => {
    const dir = tempDir();
    const file = join(dir, 'sub', 'tiny.vsmlds');
    const c = content();
    writeCache(file, c);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['tiny.vsmlds']);
    expect(readFileSync(file).subarray(0, 8).toString('latin1')).toBe('VSMLDSC1');
    for (const split of ['train', 'test'] as const) {
      const r = readCacheSplit(file, KEY, split);
      if (r.status !== 'ok') throw new Error(JSON.stringify(r));
      expect(Buffer.from(r.data.images).equals(Buffer.from(c.splits[split].images))).toBe(true);
      expect(Buffer.from(r.data.labels).equals(Buffer.from(c.splits[split].labels))).toBe(true);
    }
    expect(readCacheSplit(join(dir, 'absent'), KEY, 'train')).toEqual({ status: 'missing' });
  });

  test('every kind of bad cache is detected, never used', () => {
    const dir = tempDir();
    const file = join(dir, 'c.vsmlds');
    writeCache(file, content());
    const good = readFileSync(file);
    const check = (bytes: Uint8Array, pattern: RegExp, key = KEY) => {
      writeFileSync(file, bytes);
      const r = readCacheSplit(file, key, 'train');
      expect(r.status).toBe('invalid');
      if (r.status === 'invalid') expect(r.reason).toMatch(pattern);
    };
    check(good.subarray(0, 5), /truncated: 5 bytes/);
    check(good.subarray(0, good.length - 1), /length mismatch/);
    check(Buffer.concat([good, Buffer.from([0])]), /length mismatch/);
    const magic = Buffer.from(good);
    magic[0] = 0x58;
    check(magic, /wrong magic/);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 0xff; // last byte: test images
    writeFileSync(file, flipped);
    expect(readCacheSplit(file, KEY, 'train').status).toBe('ok'); // the train split itself is intact
    const r = readCacheSplit(file, KEY, 'test');
    expect(r).toEqual({ status: 'invalid', reason: 'checksum mismatch in test images' });
    const badJson = Buffer.from(good);
    badJson[12] = 0x21; // '{' → '!'
    check(badJson, /not valid JSON/);
    check(good, /stale: made from/, 'other-source@2');
  });

  test('a cache path that cannot be read as a file is an error naming it', () => {
    const dir = tempDir();
    const file = join(dir, 'c.vsmlds');
    mkdirSync(file);
    const e = thrown(() => readCacheSplit(file, KEY, 'train'));
    expect(e).toMatchObject({ name: 'DatasetError', code: 'CACHE_UNREADABLE', file });
    expect(e.message).toContain(file);
    expect(thrown(() => loadOrBuild(file, KEY, 'train', () => content(), 'use', () => {}))).toMatchObject({ code: 'CACHE_UNREADABLE' });
  });

  test('loadOrBuild: built, hit, rebuilt after corruption, rebuild on request, off, write failure warns', () => {
    const dir = tempDir();
    const file = join(dir, 'c.vsmlds');
    let builds = 0;
    const build = () => {
      builds++;
      return content();
    };
    const warn = jest.fn();
    const r1 = loadOrBuild(file, KEY, 'test', build, 'use', warn);
    expect(r1.report.status).toBe('built');
    expect(r1.built?.splits.train.labels.length).toBe(25);
    const r2 = loadOrBuild(file, KEY, 'test', build, 'use', warn);
    expect(r2.report.status).toBe('hit');
    expect(r2.built).toBeNull();
    expect(Buffer.from(r2.data.images).equals(Buffer.from(r1.data.images))).toBe(true);
    expect(builds).toBe(1);

    writeFileSync(file, readFileSync(file).subarray(0, 500));
    const r3 = loadOrBuild(file, KEY, 'train', build, 'use', warn);
    expect(r3.report).toMatchObject({ status: 'rebuilt', file });
    expect(r3.report.reason).toMatch(/length mismatch/);
    expect(builds).toBe(2);
    expect(readCacheSplit(file, KEY, 'train').status).toBe('ok');

    expect(loadOrBuild(file, KEY, 'train', build, 'rebuild', warn).report.status).toBe('rebuilt');
    expect(loadOrBuild(file, KEY, 'train', build, 'off', warn).report).toMatchObject({ status: 'disabled', file: null });
    expect(warn).not.toHaveBeenCalled();

    // the cache "directory" is a file: writing fails, the data are still returned, with a warning
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'x');
    const r4 = loadOrBuild(join(blocker, 'c.vsmlds'), KEY, 'train', build, 'use', warn);
    expect(r4.report.status).toBe('write-failed');
    expect(r4.data.labels.length).toBe(25);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toContain(join(blocker, 'c.vsmlds'));
  });

  test('cache location: VSML_CACHE_DIR, else the user cache folder', () => {
    const saved = process.env['VSML_CACHE_DIR'];
    try {
      process.env['VSML_CACHE_DIR'] = '/some/where';
      expect(defaultCacheDir()).toBe(join('/some/where', 'datasets'));
      delete process.env['VSML_CACHE_DIR'];
      expect(defaultCacheDir()).toMatch(/vsml[/\\](Cache[/\\])?datasets$/);
    } finally {
      if (saved === undefined) delete process.env['VSML_CACHE_DIR'];
      else process.env['VSML_CACHE_DIR'] = saved;
    }
  });
});
