/** Test helpers: temporary directories and small generated IDX sets. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from '../src/idx.js';

const dirs: string[] = [];

/** A fresh temporary directory, removed by {@link cleanupTempDirs}. */
export function tempDir(prefix = 'vsml-datasets-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function cleanupTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A tiny deterministic image set: image i has pixel p = (i * 7 + p * 3) % 256, label i % numClasses. */
export function tinySet(n: number, rows: number, cols: number, numClasses: number): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(n * rows * cols);
  for (let i = 0; i < n; i++) for (let p = 0; p < rows * cols; p++) images[i * rows * cols + p] = (i * 7 + p * 3) % 256;
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels[i] = i % numClasses;
  return { images, labels };
}

/** Writes a standard IDX directory (train: nTrain images, t10k: nTest), optionally gzipped. */
export function writeIdxDir(
  dir: string,
  opts: { nTrain?: number; nTest?: number; rows?: number; cols?: number; numClasses?: number; gzip?: boolean; prefix?: string } = {},
): { train: { images: Uint8Array; labels: Uint8Array }; test: { images: Uint8Array; labels: Uint8Array } } {
  const { nTrain = 30, nTest = 10, rows = 6, cols = 5, numClasses = 3, gzip = false, prefix = '' } = opts;
  const train = tinySet(nTrain, rows, cols, numClasses);
  const test = tinySet(nTest, rows, cols, numClasses);
  // make test differ from train
  for (let i = 0; i < test.images.length; i++) test.images[i] = 255 - test.images[i]!;
  const put = (name: string, bytes: Uint8Array) => writeFileSync(join(dir, prefix + name + (gzip ? '.gz' : '')), gzip ? gzipSync(bytes) : bytes);
  put('train-images-idx3-ubyte', encodeIdx([nTrain, rows, cols], train.images));
  put('train-labels-idx1-ubyte', encodeIdx([nTrain], train.labels));
  put('t10k-images-idx3-ubyte', encodeIdx([nTest, rows, cols], test.images));
  put('t10k-labels-idx1-ubyte', encodeIdx([nTest], test.labels));
  return { train, test };
}

/** Runs `fn` and returns the thrown error (fails the test if nothing is thrown). */
export function thrown(fn: () => unknown): { name: string; code: string; message: string; file?: string } {
  try {
    fn();
  } catch (e) {
    return e as { name: string; code: string; message: string; file?: string };
  }
  throw new Error('expected an error, nothing was thrown');
}
