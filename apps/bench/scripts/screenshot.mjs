#!/usr/bin/env node
// Opens an HTML report in headless Chromium (Debian's `chromium` package) and saves a PNG screenshot, so a person
// (or the file viewer of a coding session) can check that the report renders.
//   node apps/bench/scripts/screenshot.mjs runs/x/report.html [out.png] [width] [height]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [html, png = html.replace(/\.html$/, '.png'), width = '1400', height = '2400'] = process.argv.slice(2);
if (!html || !existsSync(html)) {
  console.error('usage: screenshot.mjs <report.html> [out.png] [width] [height]');
  process.exit(2);
}
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!chromium) {
  console.error('chromium not found: apt-get install chromium');
  process.exit(2);
}
execFileSync(chromium, [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  `--user-data-dir=${mkdtempSync(path.join(os.tmpdir(), 'vsml-chromium-'))}`,
  `--window-size=${width},${height}`, `--screenshot=${path.resolve(png)}`, pathToFileURL(path.resolve(html)).href,
], { stdio: ['ignore', 'ignore', 'pipe'] });
console.log(png);
