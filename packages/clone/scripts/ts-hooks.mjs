// Module hooks (copied from packages/core/scripts) that let the scripts in this folder import the package sources
// (like the jest tests do), without a build: `.ts` files are transformed with @swc/core (a workspace
// devDependency), `./x.js` imports inside them resolve to `./x.ts`, and `__dirname` is defined as in the
// tsup bundle. Register with `await import('./register-ts.mjs')` or `node --import ./scripts/register-ts.mjs`.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

let swc;

export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent !== undefined && parent.endsWith('.ts') && /^\.\.?\//.test(specifier) && specifier.endsWith('.js')) {
    const url = new URL(`${specifier.slice(0, -3)}.ts`, parent);
    if (existsSync(fileURLToPath(url))) return { url: url.href, format: 'module', shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  swc ??= (await import('@swc/core')).default;
  const filename = fileURLToPath(url);
  const src = await readFile(filename, 'utf8');
  let { code } = await swc.transform(src, {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  });
  if (/\b__dirname\b/.test(src)) {
    code =
      "import { fileURLToPath as __vsmlF } from 'node:url'; import { dirname as __vsmlD } from 'node:path';\n" +
      'const __dirname = __vsmlD(__vsmlF(import.meta.url));\n' +
      code;
  }
  return { format: 'module', source: code, shortCircuit: true };
}
