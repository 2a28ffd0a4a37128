/** IDX files (the MNIST file format): parse, encode, read from disk (plain or gzip), find in a directory. */
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { DatasetError } from './errors.js';

/** A parsed IDX array of unsigned bytes: `dims` (big-endian header sizes) and the row-major `data`. */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

const IDX_TYPES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

const hex = (b: number | undefined): string => `0x${(b ?? 0).toString(16).padStart(2, '0')}`;

/**
 * Checks an IDX header (magic, type, number of dimensions, header length) and returns the dimensions.
 * @throws DatasetError BAD_MAGIC, UNSUPPORTED_FORMAT or TRUNCATED, naming `file`
 */
export function parseIdxHeader(bytes: Uint8Array, file = '<buffer>', expectDims?: number): { dims: number[]; headerBytes: number } {
  if (bytes.length < 4) {
    throw new DatasetError('TRUNCATED', `${file}: ${bytes.length} bytes, shorter than the 4-byte IDX magic number`, { file });
  }
  const [b0, b1, type, ndims] = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!];
  if (b0 !== 0 || b1 !== 0 || IDX_TYPES[type] === undefined || ndims === 0) {
    throw new DatasetError(
      'BAD_MAGIC',
      `${file}: not an IDX file (magic ${hex(b0)} ${hex(b1)} ${hex(type)} ${hex(ndims)}; expected 0x00 0x00 <type> <ndims>, e.g. 0x00 0x00 0x08 0x03)`,
      { file, details: { magic: [b0, b1, type, ndims] } },
    );
  }
  if (type !== 0x08) {
    throw new DatasetError('UNSUPPORTED_FORMAT', `${file}: IDX data type ${hex(type)} (${IDX_TYPES[type]}); only unsigned bytes (0x08) are supported`, {
      file,
    });
  }
  if (expectDims !== undefined && ndims !== expectDims) {
    throw new DatasetError('UNSUPPORTED_FORMAT', `${file}: IDX array has ${ndims} dimensions, expected ${expectDims}`, {
      file,
      details: { ndims, expectDims },
    });
  }
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new DatasetError('TRUNCATED', `${file}: ${bytes.length} bytes, shorter than its ${headerBytes}-byte IDX header (${ndims} dimensions)`, {
      file,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  return { dims, headerBytes };
}

/**
 * Parses IDX bytes (unsigned-byte type 0x08 only). Zero-copy: `data` is a view into `bytes`.
 * @param file named in error messages
 * @param expectDims when given, the required number of dimensions (3 for images, 1 for labels)
 * @throws DatasetError BAD_MAGIC, UNSUPPORTED_FORMAT, TRUNCATED or SIZE_MISMATCH, naming `file`
 */
export function parseIdx(bytes: Uint8Array, file = '<buffer>', expectDims?: number): IdxArray {
  const { dims, headerBytes } = parseIdxHeader(bytes, file, expectDims);
  const count = dims.reduce((a, b) => a * b, 1);
  const have = bytes.length - headerBytes;
  const shape = dims.join('×');
  if (have < count) {
    throw new DatasetError('TRUNCATED', `${file}: truncated, header says ${shape} = ${count} data bytes but only ${have} follow the header`, {
      file,
      details: { dims, expected: count, actual: have },
    });
  }
  if (have > count) {
    throw new DatasetError('SIZE_MISMATCH', `${file}: ${have - count} bytes more than the ${shape} = ${count} data bytes its header announces`, {
      file,
      details: { dims, expected: count, actual: have },
    });
  }
  return { dims, data: bytes.subarray(headerBytes, headerBytes + count) };
}

/** Encodes an unsigned-byte IDX array (header + data); the inverse of {@link parseIdx}. */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  if (dims.length < 1 || dims.length > 255 || count !== data.length || dims.some((d) => !Number.isInteger(d) || d < 0 || d > 0xffffffff)) {
    throw new DatasetError('INVALID_CONFIG', `encodeIdx: dims [${dims.join(', ')}] do not describe ${data.length} bytes`);
  }
  const out = new Uint8Array(4 + 4 * dims.length + count);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/** Reads a file, mapping OS errors to DatasetError NOT_FOUND / UNREADABLE. */
export function readFileOrThrow(file: string, what = 'file'): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DatasetError('NOT_FOUND', `${file}: ${what} not found`, { file, cause: e });
    throw new DatasetError('UNREADABLE', `${file}: cannot read ${what} (${code ?? String(e)})`, { file, cause: e });
  }
}

/**
 * Reads an IDX file from disk; gzip is detected by its magic bytes (1f 8b), whatever the file name.
 * @throws DatasetError NOT_FOUND, UNREADABLE, BAD_GZIP, or a {@link parseIdx} error, naming the file
 */
export function readIdxFile(file: string, expectDims?: number): IdxArray {
  let bytes: Uint8Array = readFileOrThrow(file, 'IDX file');
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new DatasetError('BAD_GZIP', `${file}: corrupt or truncated gzip data (${(e as Error).message})`, { file, cause: e });
    }
  }
  return parseIdx(bytes, file, expectDims);
}

/**
 * Reads only the dimensions of an IDX file (plain or gzip) without loading its data; the data length is not
 * checked here ({@link readIdxFile} does that).
 * @throws DatasetError NOT_FOUND, UNREADABLE, BAD_GZIP, BAD_MAGIC, UNSUPPORTED_FORMAT, TRUNCATED
 */
export function readIdxDims(file: string, expectDims?: number): readonly number[] {
  let head: Uint8Array;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DatasetError('NOT_FOUND', `${file}: IDX file not found`, { file, cause: e });
    throw new DatasetError('UNREADABLE', `${file}: cannot read IDX file (${code ?? String(e)})`, { file, cause: e });
  }
  try {
    const buf = new Uint8Array(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    head = buf.subarray(0, n);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DatasetError('UNREADABLE', `${file}: cannot read IDX file (${code ?? String(e)})`, { file, cause: e });
  } finally {
    closeSync(fd);
  }
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    try {
      head = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch (e) {
      throw new DatasetError('BAD_GZIP', `${file}: corrupt gzip data (${(e as Error).message})`, { file, cause: e });
    }
  }
  return parseIdxHeader(head, file, expectDims).dims;
}

/** The IDX files of one split. */
export interface IdxSplitFiles {
  readonly images: string;
  readonly labels: string;
}

const IDX_NAME = /^(?:.*-)?(train|t10k|test)-(images|labels)-idx([13])-ubyte(\.gz)?$/;

/**
 * Finds the standard IDX files in `dir`: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
 * `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each optionally `.gz`; `test-` is accepted for `t10k-`
 * and a prefix such as `emnist-digits-` is allowed when only one set is present. A plain file wins over its `.gz`.
 * @throws DatasetError NOT_FOUND (directory or a file missing), UNREADABLE, INVALID_CONFIG (ambiguous names)
 */
export function findIdxFiles(dir: string): { train: IdxSplitFiles; test: IdxSplitFiles } {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new DatasetError('NOT_FOUND', `${dir}: not a directory (idx:<dir> needs a directory of IDX files)`, { file: dir });
    names = readdirSync(dir);
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DatasetError('NOT_FOUND', `${dir}: dataset directory not found`, { file: dir, cause: e });
    throw new DatasetError('UNREADABLE', `${dir}: cannot list dataset directory (${code ?? String(e)})`, { file: dir, cause: e });
  }
  const slots = new Map<string, { plain: string[]; gz: string[] }>();
  for (const name of names.sort()) {
    const m = IDX_NAME.exec(name);
    if (!m) continue;
    const split = m[1] === 'train' ? 'train' : 'test';
    const kind = m[2]!;
    if ((kind === 'images') !== (m[3] === '3')) continue;
    const key = `${split}-${kind}`;
    const slot = slots.get(key) ?? { plain: [], gz: [] };
    (m[4] ? slot.gz : slot.plain).push(name);
    slots.set(key, slot);
  }
  const pick = (split: 'train' | 'test', kind: 'images' | 'labels'): string => {
    const slot = slots.get(`${split}-${kind}`);
    const expected = `${split === 'train' ? 'train' : 't10k'}-${kind}-idx${kind === 'images' ? 3 : 1}-ubyte[.gz]`;
    if (!slot) {
      throw new DatasetError('NOT_FOUND', `${dir}: no ${split} ${kind} file (expected ${expected})`, {
        file: dir,
        details: { expected, found: names.filter((n) => IDX_NAME.test(n)) },
      });
    }
    const stems = new Set([...slot.plain, ...slot.gz.map((n) => n.slice(0, -3))]);
    if (stems.size > 1) {
      throw new DatasetError('INVALID_CONFIG', `${dir}: several ${split} ${kind} files (${[...stems].join(', ')}); point idx: at a directory holding one set`, {
        file: dir,
      });
    }
    return join(dir, slot.plain[0] ?? slot.gz[0]!);
  };
  return {
    train: { images: pick('train', 'images'), labels: pick('train', 'labels') },
    test: { images: pick('test', 'images'), labels: pick('test', 'labels') },
  };
}
