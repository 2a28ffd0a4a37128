// replayTrace reproduces the independent float64 literal loop (test/helpers/reference.ts) to 1e-4 on random cases.
import { Rng } from '@vsml/rng';
import { parseModelConfig, paramLayout, replayTrace, isVsmlError, type ModelConfigInput } from '../src/index.js';
import { referenceEpisode } from './helpers/reference.js';
import { useBackend } from './helpers/setup.js';

useBackend('wasm');

/** Reshapes a flat array into nested arrays of `shape`. */
function nest(flat: ArrayLike<number>, shape: readonly number[]): unknown {
  if (shape.length === 0) return flat[0];
  const [n, ...rest] = shape;
  const size = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: n! }, (_, i) => nest(Array.prototype.slice.call(flat, i * size, (i + 1) * size), rest));
}

function randomTrace(model: ModelConfigInput, T: number, P: number, seed: number, withH = false) {
  const config = parseModelConfig(model);
  const rng = Rng.fromSeed(seed);
  const named: Record<string, Float64Array> = {};
  const params: Record<string, unknown> = {};
  for (const s of paramLayout(config)) {
    const v = new Float64Array(s.size).map(() => Math.fround(rng.normal() * 0.5 + (s.base === 'lstm.b' ? 1 : 0)));
    named[s.name] = v;
    params[s.name] = nest(v, s.shape);
  }
  const H = config.slowSize;
  const c = config.layers.map((l) => new Float64Array(P * l.in * l.out * H).map(() => Math.fround(rng.normal() * 0.3)));
  const h = config.layers.map((l) => new Float64Array(P * l.in * l.out * H).map(() => (withH ? Math.fround(rng.uniform(-0.5, 0.5)) : 0)));
  const D = config.layers[0]!.in;
  const C = config.layers[config.layers.length - 1]!.out;
  const x = new Float64Array(T * P * D).map(() => Math.fround(rng.normal()));
  const y = Array.from({ length: T * P }, () => rng.int(0, C));
  const trace = {
    model,
    params,
    initialState: { layers: config.layers.map((l, k) => ({ c: nest(c[k]!, [P, l.in, l.out, H]), ...(withH ? { h: nest(h[k]!, [P, l.in, l.out, H]) } : {}) })) },
    inputs: nest(x, [T, P, D]),
    labels: nest(y, [T, P]),
  };
  const ref = referenceEpisode(config, P, 1, () => named, { c, h }, x, y);
  return { trace, ref, C };
}

const cases: [string, ModelConfigInput, boolean][] = [
  ['official sizes, one 6→4 layer', { layers: [{ in: 6, out: 4 }] }, false],
  ['feedLabel, 3 micro ticks, given h', { layers: [{ in: 5, out: 3 }], feedLabel: true, microTicks: 3 }, true],
  ['two layers, layer norm, backward pass', { layers: [{ in: 5, out: 4 }, { in: 4, out: 3 }], layerNorm: true, backwardPass: true }, false],
  ['small sizes, sum aggregation, tanh bound 3, output slot 0', { layers: [{ in: 4, out: 2 }], slowSize: 3, msgSize: 2, aggregation: 'sum', tanhBound: 3, outputIdx: 0 }, false],
];

describe('replayTrace', () => {
  it.each(cases)('%s: logits equal the literal loop to 1e-4', async (_n, model, withH) => {
    const { trace, ref, C } = randomTrace(model, 6, 2, _n.length, withH);
    const out = await replayTrace(JSON.stringify(trace));
    expect(out.logits.length).toBe(6);
    expect(out.logits[0]!.length).toBe(2);
    expect(out.logits[0]![0]!.length).toBe(C);
    const flat = out.logits.flat(2);
    expect(flat.length).toBe(ref.logits.length);
    expect(flat.length).toBeGreaterThan(0);
    let max = 0;
    flat.forEach((v, i) => (max = Math.max(max, Math.abs(v - ref.logits[i]!))));
    expect(max).toBeLessThan(1e-4);
  });

  it('infers the layer sizes from the initial state when model.layers is absent', async () => {
    const { trace, ref } = randomTrace({ layers: [{ in: 3, out: 2 }], slowSize: 4, msgSize: 3 }, 3, 1, 9);
    const out = await replayTrace({ ...trace, model: { slowSize: 4, msgSize: 3 } });
    const flat = out.logits.flat(2);
    expect(flat.length).toBe(3 * 1 * 2);
    expect(flat.length).toBe(ref.logits.length);
    expect(Math.max(...flat.map((v, i) => Math.abs(v - ref.logits[i]!)))).toBeLessThan(1e-4);
  });

  it('rejects malformed traces with TRACE_INVALID naming the field', async () => {
    const { trace } = randomTrace({ layers: [{ in: 3, out: 2 }], slowSize: 4, msgSize: 3 }, 2, 1, 3);
    const bad = async (t: unknown, re: RegExp): Promise<void> => {
      const e = await replayTrace(t).catch((x) => x);
      expect(isVsmlError(e)).toBe(true);
      expect(e.code).toBe('TRACE_INVALID');
      expect(e.message).toMatch(re);
    };
    await bad('{"model": ', /not valid JSON/);
    await bad({ ...trace, extra: 1 }, /extra: unknown key/);
    const p = { ...(trace.params as Record<string, unknown>) };
    delete p['fwd.b'];
    await bad({ ...trace, params: p }, /missing parameter 'fwd.b'/);
    await bad({ ...trace, params: { ...trace.params, 'lstm.b': [1, 2] } }, /'lstm.b' has shape \[2\], expected \[16\]/);
    await bad({ ...trace, labels: [[5], [0]] }, /label 5/);
    await bad({ ...trace, inputs: [[[1, 2]], [[1, 2]]] }, /inputs\[0\]\[0\] has 2 entries, expected A = 3/);
    await bad({ ...trace, model: { ...trace.model, foo: 1 } }, /trace.model.foo: unknown key/);
    await bad({ ...trace, initialState: { layers: [{ c: [[[[0]]]] }] } }, /initialState.layers\[0\].c has shape \[1,1,1,1\], expected \[1,3,2,4\]/);
  });
});
