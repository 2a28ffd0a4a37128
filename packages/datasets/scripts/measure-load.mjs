#!/usr/bin/env node
// Measures dataset load times and memory, each case in a fresh Node process, plus episode-sampler throughput.
// Needs a build first:  pnpm --filter @vsml/datasets build && node packages/datasets/scripts/measure-load.mjs
// Uses a temporary cache directory (removed afterwards) unless --cache-dir <dir> is given.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const mb = (b) => Math.round((b / 2 ** 20) * 10) / 10;

async function child(kind, cacheDir) {
  const d = await import(join(here, '..', 'dist', 'index.js'));
  const mem0 = process.memoryUsage();
  const out = { case: kind };
  const time = (fn) => {
    const t = performance.now();
    const r = fn();
    return [r, Math.round(performance.now() - t)];
  };
  if (kind === 'mnist' || kind.startsWith('fashion')) {
    const name = kind === 'mnist' ? 'mnist' : 'fashion_mnist';
    const [train, msTrain] = time(() => d.loadDataset(name, { split: 'train', cacheDir }));
    const [test, msTest] = time(() => d.loadDataset(name, { split: 'test', cacheDir }));
    Object.assign(out, { msTrain, msTest, sizes: [train.size, test.size], cache: train.cache?.status ?? 'n/a' });
  } else if (kind === 'sampler') {
    d.loadDataset('mnist');
    const rows = [];
    for (const [label, cfg] of [
      ['raw 784, P=64, T=500', { dataset: 'mnist', population: 64, length: 500 }],
      ['7x7 tasks 2-5 cls, P=128, T=100, antithetic', { dataset: 'mnist', population: 128, length: 100, antithetic: true, preprocess: { resize: [7, 7] }, task: { minClasses: 2, maxClasses: 5 } }],
      ['14x14, P=32, T=500, B=4', { dataset: 'mnist', population: 32, length: 500, batch: 4, preprocess: { resize: [14, 14] } }],
      ['projection 784->784, P=8, T=100', { dataset: 'mnist', population: 8, length: 100, preprocess: { project: {} } }],
    ]) {
      const s = d.openEpisodeSampler(cfg);
      s.next(); // warm-up
      const n = 3;
      const [, ms] = time(() => {
        for (let i = 0; i < n; i++) s.next();
      });
      const examples = cfg.population * cfg.length * (cfg.batch ?? 1);
      rows.push({ label, msPerEpisode: Math.round(ms / n), examplesPerSec: Math.round((examples * n) / (ms / 1000)) });
    }
    out.rows = rows;
  }
  const mem = process.memoryUsage();
  out.memory = { rssMB: mb(mem.rss), rssDeltaMB: mb(mem.rss - mem0.rss), heapUsedMB: mb(mem.heapUsed), arrayBuffersMB: mb(mem.arrayBuffers) };
  process.stdout.write(JSON.stringify(out));
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1], args[2]);
  const given = args[0] === '--cache-dir' ? args[1] : undefined;
  const cacheDir = given ?? mkdtempSync(join(tmpdir(), 'vsml-measure-'));
  const run = (kind) => JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', kind, cacheDir], { encoding: 'utf8' }));
  try {
    console.log(`node ${process.version}, cache dir ${cacheDir}${given ? '' : ' (temporary)'}`);
    for (const kind of ['mnist', 'fashion-first', 'fashion-cached', 'fashion-cached']) {
      const r = run(kind);
      console.log(
        `${kind.padEnd(15)} train ${String(r.msTrain).padStart(5)} ms, test ${String(r.msTest).padStart(4)} ms (cache: ${r.cache}); ` +
          `RSS ${r.memory.rssMB} MB (+${r.memory.rssDeltaMB}), heap ${r.memory.heapUsedMB} MB, array buffers ${r.memory.arrayBuffersMB} MB`,
      );
    }
    const s = run('sampler');
    for (const row of s.rows) console.log(`sampler ${row.label.padEnd(45)} ${String(row.msPerEpisode).padStart(5)} ms/episode, ${row.examplesPerSec} examples/s`);
  } finally {
    if (!given) rmSync(cacheDir, { recursive: true, force: true });
  }
}

await main();
