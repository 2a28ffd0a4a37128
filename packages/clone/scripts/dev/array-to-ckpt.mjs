// dev: converts a raw JSON array V_M (exp-subrnn.mjs --save) into a `vm` checkpoint of the quick preset's model.
import '../register-ts.mjs';
const clone = await import('../../src/index.ts');
const core = await import('@vsml/core');
const fs = await import('node:fs');
const [src, dst, H] = process.argv.slice(2);
const config = clone.cloneModelConfig({ slowSize: Number(H ?? 32) }, [784, 10]);
const vm = Float32Array.from(JSON.parse(fs.readFileSync(src, 'utf8')));
await core.saveCheckpoint(dst, clone.vmCheckpoint(vm, config, { command: `array-to-ckpt ${src}` }));
