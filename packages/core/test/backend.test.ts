// Backend selection with injected package resolution: native (gpu, then cpu package) only when the binding file
// exists, else wasm, else cpu; forced backends fail loudly; plus the real selection on this machine.
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf, initBackend, nativeBindingExists, parseBackendRequest, defaultBackendProbe, isVsmlError, type BackendProbe } from '../src/index.js';

interface FakeSpec {
  installed?: string[];
  bindings?: string[];
  importFails?: string[];
  /** what importing a package registers */
  registers?: Record<string, string>;
  setBackendFails?: string[];
}

function fakeProbe(spec: FakeSpec): BackendProbe & { imported: string[]; activated: string[] } {
  const registered = new Set<string>(['cpu']);
  const imported: string[] = [];
  const activated: string[] = [];
  return {
    imported,
    activated,
    resolvePackageDir: (id) => ((spec.installed ?? []).includes(id) ? `/fake/${id}` : null),
    hasNativeBinding: (dir) => (spec.bindings ?? []).some((id) => dir === `/fake/${id}`),
    importModule: async (id) => {
      imported.push(id);
      if ((spec.importFails ?? []).includes(id)) throw new Error(`cannot load ${id}: libtensorflow.so missing`);
      const reg = spec.registers?.[id] ?? (id.includes('tfjs-node') ? 'tensorflow' : id.includes('wasm') ? 'wasm' : undefined);
      if (reg) registered.add(reg);
      return {};
    },
    isRegistered: (name) => registered.has(name),
    setBackend: async (name) => {
      if ((spec.setBackendFails ?? []).includes(name)) return false;
      activated.push(name);
      return true;
    },
  };
}

const GPU = '@tensorflow/tfjs-node-gpu';
const NODE = '@tensorflow/tfjs-node';
const WASM = '@tensorflow/tfjs-backend-wasm';

describe('initBackend fallback logic (injected probe)', () => {
  it('auto: native packages installed without their binding are skipped without being imported → wasm', async () => {
    const p = fakeProbe({ installed: [GPU, NODE, WASM] });
    const info = await initBackend({ probe: p, env: {} });
    expect(info.name).toBe('wasm');
    expect(p.imported).toEqual([WASM]);
    expect(info.attempts.map((a) => [a.package, a.ok])).toEqual([
      [GPU, false],
      [NODE, false],
      [WASM, true],
    ]);
    expect(info.attempts[0]!.reason).toMatch(/without its native binding/);
    expect(info.source).toBe('default');
  });

  it('auto: not installed at all → wasm, reason "not installed"', async () => {
    const info = await initBackend({ probe: fakeProbe({ installed: [WASM] }), env: {} });
    expect(info.name).toBe('wasm');
    expect(info.attempts[0]!.reason).toBe('not installed');
  });

  it('auto: the gpu package fails to import → tfjs-node with a binding is used', async () => {
    const p = fakeProbe({ installed: [GPU, NODE, WASM], bindings: [GPU, NODE], importFails: [GPU] });
    const info = await initBackend({ probe: p, env: {} });
    expect(info.name).toBe('tensorflow');
    expect(info.package).toBe(NODE);
    expect(info.gpu).toBe(false);
    expect(info.attempts[0]!.reason).toMatch(/import failed: cannot load/);
  });

  it('auto: the gpu package works → tensorflow with gpu', async () => {
    const info = await initBackend({ probe: fakeProbe({ installed: [GPU, WASM], bindings: [GPU] }), env: {} });
    expect(info).toMatchObject({ name: 'tensorflow', package: GPU, gpu: true });
  });

  it('auto: wasm cannot initialise → cpu', async () => {
    const p = fakeProbe({ installed: [WASM], setBackendFails: ['wasm'] });
    const info = await initBackend({ probe: p, env: {} });
    expect(info.name).toBe('cpu');
    expect(p.activated).toEqual(['cpu']);
  });

  it('forcing an unavailable backend throws BACKEND_UNAVAILABLE listing the reasons (no silent fallback)', async () => {
    const p = fakeProbe({ installed: [NODE, WASM] });
    await expect(initBackend({ backend: 'tensorflow', probe: p, env: {} })).rejects.toMatchObject({
      name: 'VsmlError',
      code: 'BACKEND_UNAVAILABLE',
    });
    await initBackend({ backend: 'tensorflow', probe: p, env: {} }).catch((e) => {
      expect(e.message).toMatch(/backend 'tensorflow' is not available: @tensorflow\/tfjs-node-gpu: not installed; @tensorflow\/tfjs-node: installed without its native binding/);
    });
    await expect(initBackend({ backend: 'wasm', probe: fakeProbe({ installed: [WASM], setBackendFails: ['wasm'] }), env: {} })).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
    });
  });

  it('VSML_BACKEND forces a backend; the option overrides it; unknown names are rejected', async () => {
    const info = await initBackend({ probe: fakeProbe({ installed: [WASM] }), env: { VSML_BACKEND: 'cpu' } });
    expect(info).toMatchObject({ name: 'cpu', requested: 'cpu', source: 'env' });
    const env = await initBackend({ probe: fakeProbe({ installed: [WASM] }), env: { VSML_BACKEND: 'native' } }).catch((e) => e);
    expect(env.code).toBe('BACKEND_UNAVAILABLE');
    expect(env.message).toMatch(/from VSML_BACKEND/);
    const opt = await initBackend({ backend: 'wasm', probe: fakeProbe({ installed: [WASM] }), env: { VSML_BACKEND: 'cpu' } });
    expect(opt).toMatchObject({ name: 'wasm', source: 'option' });
    await expect(initBackend({ probe: fakeProbe({}), env: { VSML_BACKEND: 'webgpu' } })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    expect(parseBackendRequest(' WASM ')).toBe('wasm');
    expect(() => parseBackendRequest('gpu')).toThrow(/unknown backend 'gpu'/);
  });
});

describe('native binding detection', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vsml-native-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('needs lib/napi-v<N>/tfjs_binding.node', () => {
    expect(nativeBindingExists(dir)).toBe(false);
    mkdirSync(path.join(dir, 'lib', 'napi-v8'), { recursive: true });
    expect(nativeBindingExists(dir)).toBe(false);
    writeFileSync(path.join(dir, 'lib', 'napi-v8', 'tfjs_binding.node'), '');
    expect(nativeBindingExists(dir)).toBe(true);
  });
});

/** Whether a native package with its binding is installed here (then `auto` may pick it). */
function nativeHere(): boolean {
  const probe = defaultBackendProbe();
  return [GPU, NODE].some((id) => {
    const d = probe.resolvePackageDir(id);
    return d !== null && nativeBindingExists(d);
  });
}

describe('initBackend on this machine', () => {
  it('selects a working backend quietly (wasm with SIMD unless a native TensorFlow really loads)', async () => {
    const warn = jest.spyOn(console, 'warn');
    const log = jest.spyOn(console, 'log');
    const info = await initBackend({ env: {} });
    expect(info.name).toBe(nativeHere() ? 'tensorflow' : 'wasm');
    if (info.name === 'wasm') expect(info.simd).toBe(true);
    expect(tf.getBackend()).toBe(info.name);
    expect(tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0]).toBe(3);
    // forcing cpu works and prints no "install tfjs-node" banner
    const cpu = await initBackend({ backend: 'cpu', env: {} });
    expect(cpu.name).toBe('cpu');
    expect(tf.tensor([1, 2]).sum().dataSync()[0]).toBe(3);
    expect(warn).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
    warn.mockRestore();
    log.mockRestore();
    // repeated calls with the same request return the cached info
    expect(await initBackend({ backend: 'cpu', env: {} })).toBe(cpu);
  });

  it('errors are recognisable across worker boundaries', async () => {
    const e = await initBackend({ backend: 'tensorflow', probe: fakeProbe({}), env: {} }).catch((x) => x);
    expect(isVsmlError(JSON.parse(JSON.stringify(e)))).toBe(true);
  });
});
