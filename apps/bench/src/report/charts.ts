/**
 * Vega-Lite specifications of the report's plots. Each function returns a spec; {@link renderSvg} turns it into
 * an SVG string in Node (no browser, no canvas).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { MetaTestResult } from './results.js';
import type { MetricRecord } from '../runs/metrics.js';

const WIDTH = 420;
const HEIGHT = 260;

/** Thins a long curve to at most `max` points (keeps the first and last) so SVGs stay small. */
function thin(n: number, max = 400): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const idx = new Set<number>();
  for (let k = 0; k < max; k++) idx.add(Math.round((k * (n - 1)) / (max - 1)));
  return [...idx].sort((a, b) => a - b);
}

/** Online accuracy vs step with a mean ± std band, one colour per learner, for one dataset. */
export function learningCurveSpec(results: readonly MetaTestResult[], dataset: string): TopLevelSpec {
  const values: Record<string, unknown>[] = [];
  for (const r of results.filter((x) => x.dataset === dataset)) {
    for (const i of thin(r.onlineAccuracy.mean.length)) {
      const m = r.onlineAccuracy.mean[i]!, s = r.onlineAccuracy.std[i]!;
      values.push({ learner: r.label, step: i + 1, mean: m, lo: Math.max(0, m - s), hi: Math.min(1, m + s) });
    }
  }
  const x = { field: 'step', type: 'quantitative', title: 'step (examples seen)' } as const;
  return {
    title: `Online accuracy on ${dataset} (mean ± std over seeds)`,
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    layer: [
      {
        mark: { type: 'area', opacity: 0.2 },
        encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'online accuracy', scale: { domain: [0, 1] } }, y2: { field: 'hi' }, color: { field: 'learner', type: 'nominal' } },
      },
      { mark: { type: 'line' }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color: { field: 'learner', type: 'nominal', legend: { labelLimit: 320 } } } },
    ],
  };
}

/** Held-out test accuracy vs step (learners that can predict without learning, e.g. cloned backprop, SGD). */
export function testAccuracySpec(results: readonly MetaTestResult[], dataset: string): TopLevelSpec | null {
  const values: Record<string, unknown>[] = [];
  for (const r of results.filter((x) => x.dataset === dataset && x.testAccuracy)) {
    const t = r.testAccuracy!;
    t.steps.forEach((step, i) => {
      const m = t.mean[i]!, s = t.std[i]!;
      values.push({ learner: r.label, step, mean: m, lo: Math.max(0, m - s), hi: Math.min(1, m + s) });
    });
  }
  if (values.length === 0) return null;
  const x = { field: 'step', type: 'quantitative', title: 'step' } as const;
  return {
    title: `Held-out test accuracy on ${dataset}`,
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    layer: [
      {
        mark: { type: 'area', opacity: 0.2 },
        encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'test accuracy', scale: { domain: [0, 1] } }, y2: { field: 'hi' }, color: { field: 'learner', type: 'nominal' } },
      },
      { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color: { field: 'learner', type: 'nominal' } } },
    ],
  };
}

/** Training metrics vs step: one line per chosen numeric field (e.g. meta-loss, cloning errors). */
export function trainingCurveSpec(title: string, records: readonly MetricRecord[], fields: readonly string[], logScale = false): TopLevelSpec | null {
  const values: Record<string, unknown>[] = [];
  for (const r of records) {
    if (typeof r.step !== 'number') continue;
    for (const f of fields) {
      const v = r[f];
      if (typeof v === 'number' && Number.isFinite(v) && (!logScale || v > 0)) values.push({ step: r.step, metric: f, value: v });
    }
  }
  if (values.length === 0) return null;
  return {
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: 'line' },
    encoding: {
      x: { field: 'step', type: 'quantitative' },
      y: { field: 'value', type: 'quantitative', title: fields.length === 1 ? fields[0]! : 'value', scale: logScale ? { type: 'log' } : { type: 'linear', zero: false } },
      color: { field: 'metric', type: 'nominal' },
    },
  };
}

/** The clone's weight update against the target (one point per sampled sub-RNN step), with the identity line. */
export function cloneUpdateScatterSpec(samples: { target: readonly number[]; clone: readonly number[]; x: readonly number[] }, title: string): TopLevelSpec {
  const r = (v: number): number => Number(v.toPrecision(3));
  const values = samples.target.map((t, i) => ({ target: r(t), clone: r(samples.clone[i]!), sign: samples.x[i]! < 0 ? 'x < 0' : 'x ≥ 0' }));
  const lim = Math.max(1e-6, ...samples.target.map(Math.abs));
  return {
    title: `Weight update of ${title}: clone vs target Δw`,
    width: HEIGHT + 40,
    height: HEIGHT + 40,
    layer: [
      {
        data: { values },
        mark: { type: 'point', size: 6, opacity: 0.35, filled: true },
        encoding: {
          x: { field: 'target', type: 'quantitative', title: 'target Δw = −η·e·tanh x' },
          y: { field: 'clone', type: 'quantitative', title: 'clone Δw' },
          color: { field: 'sign', type: 'nominal', title: 'input' },
        },
      },
      {
        data: { values: [{ target: -lim, clone: -lim }, { target: lim, clone: lim }] },
        mark: { type: 'line', color: 'black', strokeDash: [4, 3] },
        encoding: { x: { field: 'target', type: 'quantitative' }, y: { field: 'clone', type: 'quantitative' } },
      },
    ],
  };
}

/** Renders a Vega-Lite spec to a standalone SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // loaded on first use: every command starts ~0.4 s faster when it draws no plot (and the training commands only
  // draw at the end)
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
