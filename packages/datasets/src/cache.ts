/**
 * The binary dataset cache: one self-describing file per converted dataset, holding uint8 labels and images of
 * every split, with a length check and a CRC-32 per array. Written atomically (temporary file, then rename).
 *
 * Layout: bytes 0..7 magic `VSMLDSC1`; bytes 8..11 the JSON header length J (uint32 LE); the JSON header
 * (UTF-8, padded with spaces so that the payload starts at a multiple of 8); the payload (per split: labels,
 * then images). The header holds the source key, the shape, the class count, payload offsets (relative to the
 * payload start), the payload length and the CRC-32 of every array.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import type { CacheReport, Split } from './dataset.js';
import { DatasetError } from './errors.js';

const MAGIC = 'VSMLDSC1';
const FORMAT_VERSION = 1;
const PREAMBLE = 12;
const MAX_HEADER = 1 << 20;

/** The VSML cache root: `$VSML_CACHE_DIR`, else the platform's user cache folder + `/vsml`. */
export function vsmlCacheRoot(): string {
  const env = process.env['VSML_CACHE_DIR'];
  if (env) return env;
  if (process.platform === 'win32') return join(process.env['LOCALAPPDATA'] || join(homedir(), 'AppData', 'Local'), 'vsml', 'Cache');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'vsml');
  return join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'vsml');
}

/** The directory of the dataset caches: `<vsmlCacheRoot()>/datasets` (e.g. `~/.cache/vsml/datasets`). */
export function defaultCacheDir(): string {
  return join(vsmlCacheRoot(), 'datasets');
}

// CRC-32 (IEEE); zlib.crc32 exists from Node 20.15 / 22.2, a table fallback covers older 20.x.
let crcTable: Uint32Array | null = null;
function crc32Fallback(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** CRC-32 (IEEE 802.3) of `data`, as an unsigned integer. */
export function crc32(data: Uint8Array): number {
  const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  return native ? native(data) >>> 0 : crc32Fallback(data);
}

/** One split in a cache: uint8 labels `[n]` and images `[n, rows, cols]`. */
export interface CachedSplit {
  readonly labels: Uint8Array;
  readonly images: Uint8Array;
}

/** What a cache file holds. */
export interface CacheContent {
  /** identifies the source and conversion; a cache with another key is stale and rebuilt */
  readonly key: string;
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
  readonly numClasses: number;
  readonly splits: Readonly<Record<Split, CachedSplit>>;
  /** free-form provenance (JSON) */
  readonly info?: Record<string, unknown>;
}

interface SplitEntry {
  count: number;
  labelsOffset: number;
  imagesOffset: number;
  labelsCrc32: number;
  imagesCrc32: number;
}

interface Header {
  format: string;
  version: number;
  key: string;
  name: string;
  rows: number;
  cols: number;
  numClasses: number;
  payloadBytes: number;
  splits: Record<Split, SplitEntry>;
  info?: Record<string, unknown>;
}

/** The result of reading one split from a cache file. */
export type CacheRead =
  | { readonly status: 'ok'; readonly data: CachedSplit; readonly header: Header }
  | { readonly status: 'missing' }
  | { readonly status: 'invalid'; readonly reason: string };

class Invalid extends Error {}

function readFully(fd: number, out: Uint8Array, position: number): void {
  let done = 0;
  while (done < out.length) {
    const n = readSync(fd, out, done, out.length - done, position + done);
    if (n === 0) throw new Invalid(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
}

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Reads one split from a cache file and verifies it (magic, header, key, length, CRC-32, label range).
 * A missing file gives `missing`; any content problem gives `invalid` with the reason.
 * @throws DatasetError CACHE_UNREADABLE when the path exists but cannot be read as a file
 */
export function readCacheSplit(file: string, key: string, split: Split): CacheRead {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { status: 'missing' };
    throw new DatasetError('CACHE_UNREADABLE', `${file}: cannot open dataset cache (${code ?? String(e)}); delete it or set VSML_CACHE_DIR`, {
      file,
      cause: e,
    });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new DatasetError('CACHE_UNREADABLE', `${file}: dataset cache path is not a regular file; delete it or set VSML_CACHE_DIR`, { file });
    const size = st.size;
    if (size < PREAMBLE) throw new Invalid(`truncated: ${size} bytes, shorter than the ${PREAMBLE}-byte preamble`);
    const pre = new Uint8Array(PREAMBLE);
    readFully(fd, pre, 0);
    const magic = Buffer.from(pre.subarray(0, 8)).toString('latin1');
    if (magic !== MAGIC) throw new Invalid(`wrong magic ${JSON.stringify(magic)} (expected ${MAGIC})`);
    const jsonBytes = new DataView(pre.buffer).getUint32(8, true);
    if (jsonBytes > MAX_HEADER || PREAMBLE + jsonBytes > size) throw new Invalid(`header length ${jsonBytes} does not fit the ${size}-byte file (truncated?)`);
    const jsonBuf = new Uint8Array(jsonBytes);
    readFully(fd, jsonBuf, PREAMBLE);
    let header: Header;
    try {
      header = JSON.parse(Buffer.from(jsonBuf).toString('utf8')) as Header;
    } catch {
      throw new Invalid('header is not valid JSON');
    }
    if (header?.format !== 'vsml-dataset-cache' || header.version !== FORMAT_VERSION) {
      throw new Invalid(`unknown cache format ${JSON.stringify(header?.format)} version ${JSON.stringify(header?.version)}`);
    }
    if (header.key !== key) throw new Invalid(`stale: made from ${JSON.stringify(header.key)}, expected ${JSON.stringify(key)}`);
    const dataStart = align8(PREAMBLE + jsonBytes);
    if (!isUint(header.payloadBytes) || dataStart + header.payloadBytes !== size) {
      throw new Invalid(`length mismatch: header says ${dataStart}+${header.payloadBytes} bytes, file has ${size} (truncated or appended to)`);
    }
    const { rows, cols, numClasses } = header;
    if (!isUint(rows) || !isUint(cols) || !isUint(numClasses) || numClasses < 1 || numClasses > 256) throw new Invalid('bad shape in header');
    const entry = header.splits?.[split];
    if (!entry || ![entry.count, entry.labelsOffset, entry.imagesOffset, entry.labelsCrc32, entry.imagesCrc32].every(isUint)) {
      throw new Invalid(`no valid entry for split ${split}`);
    }
    const imageBytes = entry.count * rows * cols;
    if (entry.labelsOffset + entry.count > header.payloadBytes || entry.imagesOffset + imageBytes > header.payloadBytes) {
      throw new Invalid(`split ${split} lies outside the payload`);
    }
    const labels = new Uint8Array(entry.count);
    const images = new Uint8Array(imageBytes);
    readFully(fd, labels, dataStart + entry.labelsOffset);
    readFully(fd, images, dataStart + entry.imagesOffset);
    if (crc32(labels) !== entry.labelsCrc32) throw new Invalid(`checksum mismatch in ${split} labels`);
    if (crc32(images) !== entry.imagesCrc32) throw new Invalid(`checksum mismatch in ${split} images`);
    for (let i = 0; i < labels.length; i++) if (labels[i]! >= numClasses) throw new Invalid(`${split} label ${labels[i]} ≥ ${numClasses} classes`);
    return { status: 'ok', data: { labels, images }, header };
  } catch (e) {
    if (e instanceof Invalid) return { status: 'invalid', reason: e.message };
    if (e instanceof DatasetError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new DatasetError('CACHE_UNREADABLE', `${file}: cannot read dataset cache (${code ?? String(e)}); delete it or set VSML_CACHE_DIR`, {
      file,
      cause: e,
    });
  } finally {
    closeSync(fd);
  }
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8;
let tmpCounter = 0;

/**
 * Writes a cache file atomically: a unique temporary file in the same directory, then a rename over `file`.
 * @throws DatasetError CACHE_WRITE_FAILED
 */
export function writeCache(file: string, content: CacheContent): void {
  const splits: Partial<Record<Split, SplitEntry>> = {};
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const split of ['train', 'test'] as const) {
    const s = content.splits[split];
    if (s.images.length !== s.labels.length * content.rows * content.cols) {
      throw new DatasetError('CACHE_WRITE_FAILED', `${file}: ${split} images do not match its ${s.labels.length} labels`);
    }
    splits[split] = {
      count: s.labels.length,
      labelsOffset: offset,
      imagesOffset: offset + s.labels.length,
      labelsCrc32: crc32(s.labels),
      imagesCrc32: crc32(s.images),
    };
    parts.push(s.labels, s.images);
    offset += s.labels.length + s.images.length;
  }
  const header: Header = {
    format: 'vsml-dataset-cache',
    version: FORMAT_VERSION,
    key: content.key,
    name: content.name,
    rows: content.rows,
    cols: content.cols,
    numClasses: content.numClasses,
    payloadBytes: offset,
    splits: splits as Record<Split, SplitEntry>,
    ...(content.info === undefined ? {} : { info: content.info }),
  };
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = align8(PREAMBLE + json.length) - PREAMBLE;
  json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const pre = Buffer.alloc(PREAMBLE);
  pre.write(MAGIC, 0, 'latin1');
  pre.writeUInt32LE(json.length, 8);

  const tmp = `${file}.${process.pid}-${threadId}-${++tmpCounter}.tmp`;
  let fd: number | null = null;
  try {
    mkdirSync(dirname(file), { recursive: true });
    fd = openSync(tmp, 'w');
    for (const buf of [pre, json, ...parts]) {
      let done = 0;
      while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
    }
    closeSync(fd);
    fd = null;
    renameSync(tmp, file);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing to remove */
    }
    const code = (e as NodeJS.ErrnoException).code;
    throw new DatasetError('CACHE_WRITE_FAILED', `${file}: cannot write dataset cache (${code ?? String(e)})`, { file, cause: e });
  }
}

/** How {@link loadOrBuild} uses the cache. */
export type CacheMode = 'use' | 'rebuild' | 'off';

/** The result of {@link loadOrBuild}: the requested split, the other split if it was built, and a report. */
export interface LoadOrBuildResult {
  readonly data: CachedSplit;
  readonly built: CacheContent | null;
  readonly report: CacheReport;
}

/**
 * Returns one split from a valid cache, or builds the content, writes the cache (atomically) and returns the
 * split from memory. An invalid cache (any failed check) is rebuilt, never used; its reason is in the report.
 * A write failure is passed to `onWarning` (the data are still returned, report status `write-failed`).
 */
export function loadOrBuild(
  file: string,
  key: string,
  split: Split,
  build: () => CacheContent,
  mode: CacheMode,
  onWarning: (message: string) => void,
): LoadOrBuildResult {
  const t0 = performance.now();
  let status: CacheReport['status'] = 'built';
  let reason: string | undefined;
  if (mode === 'use') {
    const r = readCacheSplit(file, key, split);
    if (r.status === 'ok') return { data: r.data, built: null, report: { file, status: 'hit', ms: performance.now() - t0 } };
    if (r.status === 'invalid') {
      status = 'rebuilt';
      reason = r.reason;
    }
  } else if (mode === 'rebuild') {
    status = 'rebuilt';
    reason = 'rebuild requested';
  } else {
    status = 'disabled';
  }
  const content = build();
  if (content.key !== key) throw new Error(`internal: built cache key ${content.key} ≠ ${key}`);
  if (mode !== 'off') {
    try {
      writeCache(file, content);
    } catch (e) {
      status = 'write-failed';
      reason = (e as Error).message;
      onWarning(`@vsml/datasets: ${reason}; using the converted data without a cache`);
    }
  }
  const report: CacheReport = { file: mode === 'off' ? null : file, status, ...(reason === undefined ? {} : { reason }), ms: performance.now() - t0 };
  return { data: content.splits[split], built: content, report };
}
