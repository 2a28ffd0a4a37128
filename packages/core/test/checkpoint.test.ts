import { mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Rng } from '@vsml/rng';
import {
  tf,
  parseModelConfig,
  initParams,
  disposeParams,
  flattenParams,
  paramsFromValues,
  saveCheckpoint,
  loadCheckpoint,
  CHECKPOINT_FORMAT,
  isVsmlError,
  type CheckpointInput,
} from '../src/index.js';
import { useBackend } from './helpers/setup.js';

useBackend('wasm');

const dir = mkdtempSync(path.join(tmpdir(), 'vsml-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = parseModelConfig({ layers: [{ in: 784, out: 10 }], layerNorm: true });

async function rejects(p: Promise<unknown>, code: string, msg: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(isVsmlError(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    expect((e as Error).message).toMatch(msg);
    return;
  }
  throw new Error(`expected a ${code} rejection`);
}

describe('checkpoints', () => {
  it('round-trips V_M, config, optimiser state (with typed arrays), rng state, step and provenance', async () => {
    const params = initParams(config, 1);
    const rng = Rng.fromSeed(5);
    rng.normal();
    const m = new Float32Array([1.5, -2, 3e-8]);
    const ckpt: CheckpointInput = {
      kind: 'train',
      model: config,
      params,
      optimizer: { name: 'adam', t: 3, m, v: new Float64Array([0.1, 1e-300]), nested: [{ a: 1 }] },
      rng: rng.state(),
      step: 42,
      provenance: { command: 'vsml metatrain --x', seed: 7, commit: 'abc123', extra: 'kept' },
    };
    for (const encoding of ['base64', 'array'] as const) {
      const file = path.join(dir, `rt-${encoding}.json`);
      await saveCheckpoint(file, ckpt, { encoding });
      const back = await loadCheckpoint(file, { kind: 'train' });
      expect(back.model).toEqual(config);
      expect(Array.from(flattenParams(paramsFromValues(back.params)))).toEqual(Array.from(flattenParams(params)));
      const opt = back.optimizer as { m: Float32Array; v: Float64Array; t: number; nested: unknown };
      expect(opt.m).toBeInstanceOf(Float32Array);
      expect(Array.from(opt.m)).toEqual(Array.from(m));
      expect(opt.v).toBeInstanceOf(Float64Array);
      expect(opt.v[1]).toBe(1e-300);
      expect(opt.nested).toEqual([{ a: 1 }]);
      expect(Rng.fromState(back.rng!).normal()).toBe(rng.clone().normal());
      expect(back.step).toBe(42);
      expect(back.provenance).toMatchObject({ command: 'vsml metatrain --x', seed: 7, commit: 'abc123', extra: 'kept' });
      expect(typeof back.provenance.createdAt).toBe('string');
      const json = JSON.parse(readFileSync(file, 'utf8'));
      expect(json.format).toBe(CHECKPOINT_FORMAT);
      expect(json.version).toBe(1);
      expect(json.params['lstm.w'].shape).toEqual([32, 64]);
    }
    // the atomic write leaves no temporary files
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    disposeParams(params);
  });

  it('a vm checkpoint loads as vm and is rejected where a train checkpoint is expected', async () => {
    const params = initParams(config, 2);
    const file = path.join(dir, 'vm.json');
    await saveCheckpoint(file, { kind: 'vm', model: config, params, provenance: { command: 'test' } });
    expect((await loadCheckpoint(file)).kind).toBe('vm');
    await rejects(loadCheckpoint(file, { kind: 'train' }), 'CHECKPOINT_KIND', /expected a 'train' checkpoint, found 'vm'/);
    disposeParams(params);
  });

  describe('rejects bad files with a clear VsmlError', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let good: any;
    beforeAll(async () => {
      const params = initParams(config, 3);
      const file = path.join(dir, 'good.json');
      await saveCheckpoint(file, { kind: 'vm', model: config, params, provenance: { command: 'test' } });
      good = JSON.parse(readFileSync(file, 'utf8'));
      disposeParams(params);
    });
    const write = (name: string, content: string): string => {
      const f = path.join(dir, name);
      writeFileSync(f, content);
      return f;
    };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const variant = (name: string, edit: (j: any) => void): string => {
      const j = structuredClone(good);
      edit(j);
      return write(name, JSON.stringify(j));
    };

    it('unknown version', async () => {
      await rejects(loadCheckpoint(variant('v2.json', (j) => (j.version = 2))), 'CHECKPOINT_VERSION', /version 2 is not supported .*reads version 1/);
    });
    it('not a checkpoint', async () => {
      await rejects(loadCheckpoint(variant('fmt.json', (j) => (j.format = 'other'))), 'CHECKPOINT_INVALID', /not a VSML checkpoint/);
      await rejects(loadCheckpoint(write('arr.json', '[1,2]')), 'CHECKPOINT_INVALID', /expected a JSON object/);
    });
    it('truncated JSON', async () => {
      const text = JSON.stringify(good);
      await rejects(loadCheckpoint(write('trunc.json', text.slice(0, text.length / 2))), 'CHECKPOINT_INVALID', /not valid JSON/);
    });
    it('missing file', async () => {
      await rejects(loadCheckpoint(path.join(dir, 'nope.json')), 'CHECKPOINT_INVALID', /cannot read checkpoint/);
    });
    it('missing parameter', async () => {
      await rejects(loadCheckpoint(variant('miss.json', (j) => delete j.params['bwd.b'])), 'CHECKPOINT_PARAMS', /missing parameter 'bwd.b' \[8\]/);
    });
    it('unknown parameter', async () => {
      await rejects(loadCheckpoint(variant('unk.json', (j) => (j.params['foo.w'] = j.params['fwd.w']))), 'CHECKPOINT_PARAMS', /unknown parameter 'foo.w'/);
    });
    it('wrong shape', async () => {
      await rejects(
        loadCheckpoint(variant('shape.json', (j) => (j.params['lstm.w'].shape = [64, 32]))),
        'CHECKPOINT_PARAMS',
        /'lstm.w' has shape \[64,32\], expected \[32,64\]/,
      );
    });
    it('data that does not match its shape', async () => {
      await rejects(
        loadCheckpoint(variant('data.json', (j) => (j.params['fwd.b'].data = Buffer.from(new Float32Array(7).buffer).toString('base64')))),
        'CHECKPOINT_PARAMS',
        /'fwd.b' has 7 values of data, expected 8/,
      );
    });
    it('params that do not match the model config (layer norm switched off)', async () => {
      await rejects(loadCheckpoint(variant('ln.json', (j) => (j.model.layerNorm = false))), 'CHECKPOINT_PARAMS', /unknown parameter 'fwdNorm.scale'/);
    });
    it('invalid model config, with the key path', async () => {
      await rejects(loadCheckpoint(variant('cfg.json', (j) => (j.model.layers[0].width = 3))), 'CHECKPOINT_INVALID', /model.layers\[0\].width: unknown key/);
    });
  });

  it('refuses to write parameters that do not fit the config', async () => {
    const before = tf.memory().numTensors;
    const params = initParams(parseModelConfig({}), 1);
    await rejects(saveCheckpoint(path.join(dir, 'bad.json'), { kind: 'vm', model: config, params, provenance: { command: 't' } }), 'CHECKPOINT_PARAMS', /missing parameter 'fwdNorm.scale'/);
    disposeParams(params);
    expect(tf.memory().numTensors).toBe(before);
  });
});
